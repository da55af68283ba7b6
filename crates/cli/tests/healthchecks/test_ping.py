"""Healthchecks' own ping tests, ported to run against `vigil serve` over HTTP.

Source: healthchecks/healthchecks at 29b5ec251059034b79e0120e2ff0c3e35d7bd9f8,
hc/api/tests/test_ping.py (PingTestCase) and hc/api/tests/test_ping_by_slug.py
(PingBySlugTestCase). Each test keeps its name and checks what it checks,
where vigil can show it: the answer itself (status, body, headers), and the state the original
reads from Healthchecks' models through vigil's API instead (`GET /api/v1/monitors/NAME`:
`status`, `lastPing`, `lastStart`; `GET /api/v1/monitors/NAME/pings`: kind, exit status, run id,
method, user agent, client address, scheme, body). Each test has a fresh heartbeat of its own,
as each Healthchecks test has a fresh check. The tests of features vigil does not have are
listed in SKIPPED with the reason; the README lists the same differences.

Run by crates/cli/tests/healthchecks.rs with VIGIL_URL, HC_CHECKS (a JSON list of
{"name", "id"}), HC_SLUGS (heartbeat names for slug URLs) and HC_PING_KEY; standard library only.
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.request
import uuid

BASE = os.environ["VIGIL_URL"]
CHECKS = json.loads(os.environ["HC_CHECKS"])
SLUGS = json.loads(os.environ["HC_SLUGS"])
PING_KEY = os.environ["HC_PING_KEY"]

SKIPPED = {
    "test_it_changes_status_of_paused_check": "a paused vigil monitor is paused in its file; a ping does not resume it",
    "test_it_sets_last_duration": "vigil does not report a run's duration",
    "test_it_updates_confirmation_flag": "vigil has no confirmation-link detection",
    "test_it_requires_post": "vigil has no per-check allowed methods (every method counts)",
    "test_it_chops_long_body": "vigil's body limit is fixed at 10,000 bytes",
    "test_it_allows_unlimited_body": "vigil's body limit is fixed at 10,000 bytes",
    "test_it_handles_manual_resume_flag": "vigil has no manual resume",
    "test_it_uploads_body_to_s3": "vigil keeps bodies in its own store, not S3",
    "test_it_handles_success_filter_match": "vigil has no body keyword filters",
    "test_it_handles_success_filter_miss": "vigil has no body keyword filters",
    "test_it_handles_failure_filter_match": "vigil has no body keyword filters",
    "test_it_handles_failure_filter_miss": "vigil has no body keyword filters",
    "test_it_handles_start_filter_match": "vigil has no body keyword filters",
    "test_manual_resume_takes_precedence_over_keywords": "vigil has no manual resume nor keyword filters",
    "test_allowed_methods_takes_precedence_over_keywords": "vigil has no allowed methods nor keyword filters",
    "test_it_handles_filter_default_fail": "vigil has no body keyword filters",
    "test_it_ignores_email_filters": "vigil has no email pings",
    "test_it_handles_duplicates": "vigil's monitor names are unique: a slug names one heartbeat",
}


class Answer:
    def __init__(self, status, body, headers):
        self.status_code, self.content, self.headers = status, body, headers
        self.text = body.decode("utf-8", "replace")


def request(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return Answer(r.status, r.read(), r.headers)
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read(), e.headers)


class PingTestCase(unittest.TestCase):
    def setUp(self):
        check = CHECKS.pop()
        self.name, self.url = check["name"], "/ping/" + check["id"]

    def check(self):
        return json.loads(request("GET", "/api/v1/monitors/" + self.name).content)

    def pings(self):
        return json.loads(request("GET", "/api/v1/monitors/%s/pings" % self.name).content)["items"]

    def ping(self):
        pings = self.pings()
        self.assertEqual(len(pings), 1, pings)
        return pings[0]

    def test_it_works(self):
        r = request("GET", self.url)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text, "OK")
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "*")
        self.assertEqual(r.headers["Ping-Body-Limit"], "10000")
        check = self.check()
        self.assertEqual(check["status"], "up")
        self.assertIsNotNone(check["lastPing"])
        ping = self.ping()
        self.assertEqual(ping["scheme"], "http")
        self.assertEqual(ping["kind"], "success")
        self.assertIsNone(ping["exitStatus"])

    def test_it_clears_last_start(self):
        request("GET", self.url + "/start")
        self.assertIsNotNone(self.check()["lastStart"])
        r = request("GET", self.url)
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(self.check()["lastStart"])

    def test_post_works(self):
        r = request("POST", self.url, b"hello world", {"Content-Type": "text/plain"})
        self.assertEqual(r.status_code, 200)
        ping = self.ping()
        self.assertEqual(ping["method"], "POST")
        self.assertEqual(ping["body"], "hello world")

    def test_head_works(self):
        r = request("HEAD", self.url)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(self.pings()), 1)

    def test_it_handles_bad_uuid(self):
        self.assertEqual(request("GET", "/ping/not-uuid/").status_code, 404)

    def test_it_rejects_alternative_uuid_formats(self):
        self.assertEqual(request("GET", "/ping/07c2f54898504b27af5d6c9dc157ec02/").status_code, 404)

    def test_it_handles_missing_check(self):
        r = request("GET", "/ping/07c2f548-9850-4b27-af5d-6c9dc157ec02/")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.text, "not found")

    def test_it_handles_120_char_ua(self):
        ua = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_4) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/44.0.2403.89 Safari/537.36")
        self.assertEqual(request("GET", self.url, headers={"User-Agent": ua}).status_code, 200)
        self.assertEqual(self.ping()["userAgent"], ua)

    def test_it_truncates_long_ua(self):
        ua = "01234567890" * 30
        self.assertEqual(request("GET", self.url, headers={"User-Agent": ua}).status_code, 200)
        kept = self.ping()["userAgent"]
        self.assertEqual(len(kept), 200)
        self.assertTrue(ua.startswith(kept))

    def forwarded(self, xff, expected):
        r = request("GET", self.url, headers={"X-Forwarded-For": xff})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.ping()["remoteAddr"], expected)

    def test_it_reads_forwarded_ip(self):
        self.forwarded("1.1.1.1", "1.1.1.1")

    def test_it_reads_forwarded_ipv6_ip(self):
        self.forwarded("2001::1", "2001::1")

    def test_it_reads_first_forwarded_ip(self):
        self.forwarded("1.1.1.1, 2.2.2.2", "1.1.1.1")

    def test_it_handles_forwarded_ip_plus_port(self):
        self.forwarded("1.1.1.1:1234", "1.1.1.1")

    def test_it_handles_ipv4_mapped_ipv6_address(self):
        self.forwarded("::ffff:1.1.1.1", "::ffff:1.1.1.1")

    def test_it_reads_forwarded_protocol(self):
        r = request("GET", self.url, headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.ping()["scheme"], "https")

    def test_it_never_caches(self):
        self.assertIn("no-cache", request("GET", self.url).headers["Cache-Control"])

    def test_fail_endpoint_works(self):
        self.assertEqual(request("GET", self.url + "/fail").status_code, 200)
        self.assertEqual(self.check()["status"], "down")
        self.assertEqual(self.ping()["kind"], "fail")

    def test_start_endpoint_works(self):
        self.assertEqual(request("GET", self.url + "/start").status_code, 200)
        check = self.check()
        self.assertIsNotNone(check["lastStart"])
        self.assertIsNone(check["lastPing"])
        self.assertEqual(check["status"], "started")
        self.assertEqual(self.ping()["kind"], "start")

    def test_start_does_not_change_status_of_paused_check(self):
        # vigil: a heartbeat paused in its file (the harness pauses `hc-paused`).
        self.name, self.url = "hc-paused", "/ping/" + os.environ["HC_PAUSED_ID"]
        self.assertEqual(request("GET", self.url + "/start").status_code, 200)
        self.assertEqual(self.check()["status"], "paused")

    def test_start_sets_last_start_rid(self):
        rid = str(uuid.uuid4())
        self.assertEqual(request("GET", self.url + "/start?rid=" + rid).status_code, 200)
        self.assertIsNotNone(self.check()["lastStart"])
        self.assertEqual(self.ping()["rid"], rid)

    def test_it_accepts_uppercase_rid(self):
        rid = "04603D8B-EDF4-4E85-8F61-24BEDBCAAB59"
        self.assertEqual(request("GET", self.url + "/start?rid=" + rid).status_code, 200)
        self.assertIsNotNone(self.check()["lastStart"])
        self.assertEqual(uuid.UUID(self.ping()["rid"]), uuid.UUID(rid))

    def test_it_does_not_update_last_ping_on_rid_mismatch(self):
        a, b = str(uuid.uuid4()), str(uuid.uuid4())
        request("GET", self.url + "/start?rid=" + a)
        started = self.check()["lastStart"]
        self.assertEqual(request("GET", self.url + "?rid=" + b).status_code, 200)
        self.assertEqual(self.check()["lastStart"], started)

    def test_it_clears_last_ping_and_sets_last_duration_if_rid_matches(self):
        a = str(uuid.uuid4())
        request("GET", self.url + "/start?rid=" + a)
        self.assertEqual(request("GET", self.url + "?rid=" + a).status_code, 200)
        self.assertIsNone(self.check()["lastStart"])

    def test_it_clears_last_ping_if_rid_is_absent(self):
        request("GET", self.url + "/start?rid=" + str(uuid.uuid4()))
        self.assertEqual(request("GET", self.url).status_code, 200)
        self.assertIsNone(self.check()["lastStart"])

    def test_it_clears_last_ping_on_failure(self):
        request("GET", self.url + "/start?rid=" + str(uuid.uuid4()))
        self.assertEqual(request("GET", self.url + "/fail?rid=" + str(uuid.uuid4())).status_code, 200)
        self.assertIsNone(self.check()["lastStart"])

    def test_zero_exit_status_works(self):
        self.assertEqual(request("GET", self.url + "/0").status_code, 200)
        self.assertEqual(self.check()["status"], "up")
        ping = self.ping()
        self.assertEqual((ping["kind"], ping["exitStatus"]), ("success", 0))

    def test_nonzero_exit_status_works(self):
        self.assertEqual(request("GET", self.url + "/123").status_code, 200)
        self.assertEqual(self.check()["status"], "down")
        ping = self.ping()
        self.assertEqual((ping["kind"], ping["exitStatus"]), ("fail", 123))

    def test_it_rejects_exit_status_over_255(self):
        self.assertEqual(request("GET", self.url + "/256").status_code, 400)

    def test_it_accepts_bad_unicode(self):
        body = b"Hello \xe9 World"
        self.assertEqual(request("POST", self.url, body).status_code, 200)
        ping = self.ping()
        self.assertEqual(ping["method"], "POST")
        import base64
        self.assertEqual(base64.b64decode(ping["bodyBase64"]), body)

    def test_log_endpoint_works(self):
        self.assertEqual(request("POST", self.url + "/log", b"hello").status_code, 200)
        check = self.check()
        self.assertEqual(check["status"], "new")
        self.assertIsNone(check["lastPing"])
        ping = self.ping()
        self.assertEqual((ping["kind"], ping["body"]), ("log", "hello"))

    def test_it_saves_run_id(self):
        rid = str(uuid.uuid4())
        self.assertEqual(request("GET", self.url + "/start?rid=" + rid).status_code, 200)
        self.assertEqual(self.ping()["rid"], rid)

    def test_it_handles_invalid_rid(self):
        for rid in ["12345", "684e2e73-017e-465f-8149-d70b7c5aaa490"]:
            self.assertEqual(request("GET", self.url + "/start?rid=" + rid).status_code, 400)


class PingBySlugTestCase(PingTestCase):
    def setUp(self):
        self.name = SLUGS.pop()
        self.url = "/ping/%s/%s" % (PING_KEY, self.name)

    def test_it_works(self):
        r = request("GET", self.url)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"OK")
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "*")
        self.assertEqual(self.ping()["kind"], "success")

    def test_post_works(self):
        self.assertEqual(request("POST", self.url, b"hello world").status_code, 200)
        ping = self.ping()
        self.assertEqual((ping["method"], ping["body"]), ("POST", "hello world"))

    def test_head_works(self):
        self.assertEqual(request("HEAD", self.url).status_code, 200)
        self.assertEqual(len(self.pings()), 1)

    def test_it_never_caches(self):
        self.assertIn("no-cache", request("GET", self.url).headers["Cache-Control"])

    def test_fail_endpoint_works(self):
        self.assertEqual(request("GET", self.url + "/fail").status_code, 200)
        self.assertEqual(self.ping()["kind"], "fail")

    def test_start_endpoint_works(self):
        self.assertEqual(request("GET", self.url + "/start").status_code, 200)
        self.assertEqual(self.ping()["kind"], "start")

    def test_zero_exit_status_works(self):
        self.assertEqual(request("GET", self.url + "/0").status_code, 200)
        ping = self.ping()
        self.assertEqual((ping["kind"], ping["exitStatus"]), ("success", 0))

    def test_nonzero_exit_status_works(self):
        self.assertEqual(request("GET", self.url + "/123").status_code, 200)
        ping = self.ping()
        self.assertEqual((ping["kind"], ping["exitStatus"]), ("fail", 123))

    def test_it_handles_wrong_ping_key(self):
        self.assertEqual(request("GET", "/ping/%s/%s" % ("r" * 22, self.name)).status_code, 404)

    def test_auto_provisioning_is_off_by_default(self):
        self.assertEqual(request("GET", "/ping/%s/not-declared" % PING_KEY).status_code, 404)
        self.assertEqual(request("GET", "/api/v1/monitors/not-declared").status_code, 404)

    def test_it_auto_provisions_missing_check(self):
        r = request("GET", "/ping/%s/auto-foo?create=1" % PING_KEY)
        self.assertEqual(r.content, b"Created")
        self.assertEqual(r.status_code, 201)
        # The original reads the new check from its models: here the API.
        check = json.loads(request("GET", "/api/v1/monitors/auto-foo").content)
        self.assertEqual((check["name"], check["status"]), ("auto-foo", "up"))
        pings = json.loads(request("GET", "/api/v1/monitors/auto-foo/pings").content)["items"]
        self.assertEqual(len(pings), 1)
        # Healthchecks assigns every channel to it; vigil routes its alerts as a monitor's
        # without `notify` (the Alertmanager routing tree). A second ping finds it.
        self.assertEqual(request("GET", "/ping/%s/auto-foo?create=1" % PING_KEY).status_code, 200)
        self.assertEqual(request("DELETE", "/api/v1/monitors/auto-foo").status_code, 204)
        self.assertEqual(request("GET", "/api/v1/monitors/auto-foo").status_code, 404)

    def test_auto_provisioning_limits_check_count(self):
        # The server lets pings create 2 heartbeats (vigil serve --heartbeats-created-most 2);
        # Healthchecks allows twice the account's check limit.
        made = [request("GET", "/ping/%s/limit-%d?create=1" % (PING_KEY, n)).status_code for n in range(3)]
        self.assertEqual(made, [201, 201, 404])
        self.assertEqual(request("GET", "/api/v1/monitors/limit-2").status_code, 404)
        # A file's monitor is not removed through the API; a created one is, making room.
        self.assertEqual(request("DELETE", "/api/v1/monitors/" + self.name).status_code, 409)
        for n in range(2):
            self.assertEqual(request("DELETE", "/api/v1/monitors/limit-%d" % n).status_code, 204)

    def test_it_rejects_uppercase_slug(self):
        r = request("GET", "/ping/%s/fooFOO" % PING_KEY)
        self.assertEqual((r.status_code, r.content), (400, b"invalid url format"))


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for case in (PingTestCase, PingBySlugTestCase):
        for name in loader.getTestCaseNames(case):
            if case is PingBySlugTestCase and name not in PingBySlugTestCase.__dict__:
                continue  # the by-slug file has its own, shorter list
            suite.addTest(case(name))
    return suite


if __name__ == "__main__":
    result = unittest.TextTestRunner(verbosity=2).run(load_tests(unittest.defaultTestLoader, None, None))
    ported = result.testsRun
    print("ported %d, skipped %d (listed), failed %d, errors %d"
          % (ported, len(SKIPPED), len(result.failures), len(result.errors)))
    sys.exit(0 if result.wasSuccessful() else 1)
