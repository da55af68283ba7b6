//! Issue 37: a public status page declared in `status-pages/`, served at `/status/{slug}` without
//! a token while the API needs one, showing its components' states and nothing of the monitors
//! behind them.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use support::webdriver::Browser;
use support::*;

/// Monitor names, URLs, labels and error text a public page must never show.
const INTERNAL: [&str; 4] = ["internal-billing-db", "secret-team-label", "/private/health", "billing down: disk"];

fn config(dir: &std::path::Path, target: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let monitors = format!(
        "- name: web\n  every: 1s\n  publicBadge: true\n  source:\n    http:\n      url: {target}/public/health\n      conditions: [\"[STATUS] == 200\"]\n\
         - name: internal-billing-db\n  every: 1s\n  labels:\n    team: secret-team-label\n  source:\n    http:\n      url: {target}/private/health\n      conditions: [\"[STATUS] == 200\"]\n"
    );
    std::fs::write(config.join("monitors/checks.yaml"), monitors).unwrap();
    let page = "slug: acme\ntitle: Acme status\ndescription: How Acme's services are doing\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    description: Invoices and payments\n    monitor: internal-billing-db\nautomatic_incidents:\n  after: 2s\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_is_public_and_shows_only_what_it_declares() {
    let billing_down = Arc::new(AtomicBool::new(false));
    let target = Recorder::start({
        let billing_down = billing_down.clone();
        move |r| {
            let down = r.path == "/private/health" && billing_down.load(Ordering::SeqCst);
            let body = if down { json!({"error": "billing down: disk full"}) } else { json!({"ok": true}) };
            Reply { status: if down { 500 } else { 200 }, body, delay: std::time::Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &target.url);

    let validated = run(&db, &["validate", config.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&validated.stdout).to_string();
    assert!(validated.status.success() && said.contains("1 status page(s)"), "{said}");

    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let api = http.get(format!("{base}/api/v1/monitors")).send().await.unwrap();
    assert_eq!(api.status(), 401, "the API needs a token");

    let page = async || {
        let answer = http.get(format!("{base}/status/acme")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "the page needs no token");
        answer.text().await.unwrap()
    };
    let mut html = String::new();
    until_async(async || {
        html = page().await;
        html.matches(">Operational<").count() == 2
    })
    .await;
    assert!(html.contains("All systems operational") && html.contains("Invoices and payments"), "{html}");

    billing_down.store(true, Ordering::SeqCst);
    until_async(async || {
        html = page().await;
        html.contains("class=\"overall b-major_outage\"")
    })
    .await;
    let billing = html.split(">Billing<").nth(1).expect("the Billing component");
    assert!(billing.starts_with("/span><span class=\"s-major_outage\">Major outage<"), "{billing}");
    for internal in INTERNAL {
        assert!(!html.contains(internal), "`{internal}` is on the public page");
    }

    // Asked again with its tag or its date, an unchanged page is a 304 without a body.
    let first = http.get(format!("{base}/status/acme")).send().await.unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let date = first.headers()["last-modified"].to_str().unwrap().to_string();
    assert_eq!(first.headers()["vary"], "Accept-Encoding");
    for (name, value) in [("if-none-match", &tag), ("if-modified-since", &date)] {
        let again = http.get(format!("{base}/status/acme")).header(name, value).send().await.unwrap();
        if again.headers().get("etag").and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
            assert_eq!(again.status(), 304, "{name}");
            assert!(again.bytes().await.unwrap().is_empty());
        } else {
            assert_eq!(again.status(), 200, "the page changed in between (a new minute): sent whole");
        }
    }
    // Gzipped for readers that take it: the same page in a fifth of the bytes or less.
    let raw = reqwest_raw(&format!("{base}/status/acme"), "gzip").await;
    assert!(raw.0.contains("content-encoding: gzip"), "{}", raw.0);
    assert!(
        raw.1 * 5 <= first.content_length().unwrap_or(0) as usize || raw.1 * 5 <= html.len(),
        "gzipped: {} bytes of {}",
        raw.1,
        html.len()
    );

    let missing = http.get(format!("{base}/status/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // Badges, without a token: Gatus' and Healthchecks' addresses, by the page's and its
    // components' keys; nothing for a monitor no page shows.
    let badge = async |path: &str| {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    };
    let (status, svg) = badge("/api/v1/endpoints/acme_billing/health/badge.svg").await;
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg") && svg.contains(">down<") && svg.contains("#e05d44"), "{svg}");
    let (_, svg) = badge("/api/v1/endpoints/acme_website/health/badge.svg").await;
    assert!(svg.contains(">up<"), "{svg}");
    let (status, svg) = badge("/api/v1/endpoints/acme_website/uptimes/24h/badge.svg").await;
    assert!(status == 200 && svg.contains("uptime 24h"), "{svg}");
    let (status, svg) = badge("/api/v1/endpoints/acme_website/response-times/7d/badge.svg").await;
    assert!(status == 200 && svg.contains("response time 7d"), "{svg}");
    assert_eq!(badge("/api/v1/endpoints/acme_website/uptimes/2h/badge.svg").await.0, 400);
    assert_eq!(
        badge("/api/v1/endpoints/internal-billing-db/health/badge.svg").await.0,
        404,
        "a monitor by its own name is not public"
    );
    assert_eq!(badge("/api/v1/endpoints/acme_website/statuses").await.0, 401, "only badges are open");
    // A monitor whose file says `publicBadge: true` has badges by its own name.
    let (status, svg) = badge("/api/v1/endpoints/web/health/badge.svg").await;
    assert!(status == 200 && svg.contains(">up<"), "{status} {svg}");
    let (status, shields) = badge("/badge/web.shields").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&shields).unwrap()["label"], "web");
    assert_eq!(badge("/badge/internal-billing-db.svg").await.0, 404, "not without the switch");
    let (_, svg) = badge("/badge/acme.svg").await;
    assert!(svg.contains("Acme status") && svg.contains(">down<"), "the page's overall state: {svg}");
    let (status, shields) = badge("/badge/acme_billing.shields").await;
    assert_eq!(status, 200);
    let shields: serde_json::Value = serde_json::from_str(&shields).unwrap();
    assert_eq!(shields, json!({"schemaVersion": 1, "label": "Billing", "message": "down", "color": "red"}));
    shields_schema_accepts(&shields);
    for internal in INTERNAL {
        assert!(!svg.contains(internal), "`{internal}` is on a badge");
    }

    // Out longer than `automatic_incidents.after`: the page opens an incident for Billing alone,
    // in its own words, and resolves it when Billing is back.
    until_async(async || {
        html = page().await;
        html.contains("Billing is unavailable")
    })
    .await;
    assert!(html.contains("We are investigating a problem with Billing."), "{html}");
    assert!(!html.contains("Website is unavailable"), "only the component that is out: {html}");
    for internal in INTERNAL {
        assert!(!html.contains(internal), "`{internal}` is in the automatic incident");
    }
    billing_down.store(false, Ordering::SeqCst);
    until_async(async || {
        html = page().await;
        html.contains("Billing is working normally again.")
    })
    .await;
    assert_eq!(html.matches("Billing is unavailable").count(), 1, "one incident for one outage: {html}");
}

/// The feeds a page announces in its head (`<link rel="alternate">` of a feed type), read by
/// Python's own HTML parser as a feed reader's discovery reads them: (type, href) in order.
fn alternate_feeds(html: &str) -> Vec<(String, String)> {
    use std::io::Write;
    let script = "import sys,json\nfrom html.parser import HTMLParser\nclass P(HTMLParser):\n  found=[]\n  \
        def handle_starttag(self,tag,attrs):\n    a=dict(attrs)\n    if tag=='link' and a.get('rel')=='alternate' \
        and a.get('type','').endswith('+xml'): self.found.append((a['type'],a['href']))\n\
        p=P(); p.feed(sys.stdin.read()); print(json.dumps(p.found))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(html.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The titles of a feed's entries, as Python's feedparser reads them, after checking it found the
/// feed well-formed (`bozo` unset); `None`, with a note, when feedparser is not installed.
fn feed_titles(text: &str) -> Option<Vec<String>> {
    let script = "import sys,json,feedparser; f=feedparser.parse(sys.stdin.read()); print(json.dumps({'bozo': f.bozo, 'why': str(f.get('bozo_exception', '')), 'version': f.version, 'titles': [e.title for e in f.entries], 'feed': f.feed.get('title')}))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if String::from_utf8_lossy(&out.stderr).contains("No module named 'feedparser'") {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(),
            "VIGIL_REQUIRE_SERVICES is set but feedparser is missing"
        );
        eprintln!("SKIPPED the feed check: pip install feedparser");
        return None;
    }
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("feedparser's answer");
    assert_eq!(parsed["bozo"], json!(false), "{parsed}: {text}");
    assert!(parsed["version"] == json!("rss20") || parsed["version"] == json!("atom10"), "{parsed}");
    assert_eq!(parsed["feed"], json!("Acme status"));
    Some(serde_json::from_value(parsed["titles"].clone()).unwrap())
}

/// shields.io's endpoint badge schema (https://shields.io/badges/endpoint-badge), checked with
/// Python's `jsonschema` when it is installed.
fn shields_schema_accepts(doc: &serde_json::Value) {
    let schema = json!({
        "type": "object", "required": ["schemaVersion", "label", "message"], "additionalProperties": false,
        "properties": {
            "schemaVersion": {"const": 1}, "label": {"type": "string"}, "message": {"type": "string"},
            "color": {"type": "string"}, "labelColor": {"type": "string"}, "isError": {"type": "boolean"},
            "namedLogo": {"type": "string"}, "logoSvg": {"type": "string"}, "logoColor": {"type": "string"},
            "logoSize": {"type": "string"}, "style": {"type": "string"}, "cacheSeconds": {"type": "integer", "minimum": 300}
        }
    });
    let script = "import json,sys,jsonschema; s,d=json.loads(sys.argv[1]),json.loads(sys.argv[2]); jsonschema.validate(d,s); bad=dict(d,schemaVersion=2)\ntry:\n jsonschema.validate(bad,s); sys.exit('a wrong schemaVersion passed')\nexcept jsonschema.ValidationError: pass";
    let out =
        std::process::Command::new("python3").args(["-c", script, &schema.to_string(), &doc.to_string()]).output();
    match out {
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named 'jsonschema'") => {
            assert!(
                std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(),
                "VIGIL_REQUIRE_SERVICES is set but jsonschema is missing"
            );
            eprintln!("SKIPPED the shields schema check: pip install jsonschema");
        }
        Ok(out) => assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => panic!("python3: {e}"),
    }
}

/// Incidents: one declared in the page's file (in its history), one opened and updated through
/// the API and the CLI with a write token (a read token may not): the page shows the open one
/// above the components with its updates newest first and its impact on the component it
/// names, its Markdown rendered safely; once resolved it moves to the past incidents and the
/// month's history lists both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_told_in_order_and_rendered_safely() {
    let target =
        Recorder::start(|_| Reply { status: 200, body: json!({"ok": true}), delay: std::time::Duration::ZERO }).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &target.url);
    let declared = "incidents:\n  - id: last-week\n    title: Slow invoices\n    impact: degraded\n    components: [Billing]\n    updates:\n      - at: 2020-01-10T10:00:00Z\n        status: investigating\n        message: Looking.\n      - at: 2020-01-10T11:00:00Z\n        status: resolved\n        message: Fixed.\n";
    let page_file = config.join("status-pages/acme.yaml");
    std::fs::write(&page_file, std::fs::read_to_string(&page_file).unwrap() + declared).unwrap();
    let write = token(&db, "write");
    let read = token(&db, "read");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let incidents = format!("{base}/api/v1/status-pages/acme/incidents");
    let post = async |url: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = http.post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap_or_default())
    };
    let open = json!({"title": "Website <b>down</b>", "impact": "partial_outage", "components": ["Website"],
        "message": "We are *looking*. <script>alert(1)</script> [x](javascript:alert(2))"});
    assert_eq!(post(&incidents, None, open.clone()).await.0, 401);
    assert_eq!(post(&incidents, Some(&read), open.clone()).await.0, 403, "a read token may not open one");
    let (status, bad) =
        post(&incidents, Some(&write), json!({"title": "x", "message": "y", "components": ["Websit"]})).await;
    assert_eq!(status, 400);
    assert!(
        bad["message"].as_str().unwrap().contains("components[0]")
            && bad["message"].as_str().unwrap().contains("did you mean `Website`"),
        "{bad}"
    );
    let (status, bad) = post(&incidents, Some(&write), json!({"title": "x", "message": "y", "status": "fixed"})).await;
    assert_eq!(status, 400, "an unknown status: {bad}");
    let (status, opened) = post(&incidents, Some(&write), open).await;
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_str().unwrap().to_string();
    let (status, _) =
        post(&format!("{incidents}/last-week/updates"), Some(&write), json!({"status": "resolved", "message": "x"}))
            .await;
    assert_eq!(status, 409, "a declared incident changes in its file");
    let (status, _) =
        post(&format!("{incidents}/nope/updates"), Some(&write), json!({"status": "resolved", "message": "x"})).await;
    assert_eq!(status, 404);

    // The CLI adds an update through the same API.
    let update = |status: &str, message: &str| {
        let args = [
            "incident",
            "update",
            "acme",
            &id,
            "--server",
            &base,
            "--token",
            &write,
            "--status",
            status,
            "--message",
            message,
        ];
        let cli = run(&db, &args);
        assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    };
    update("identified", "A bad **deploy**.");

    let page = async || http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    let mut html = String::new();
    until_async(async || {
        html = page().await;
        html.contains("Identified")
    })
    .await;
    let current = html
        .split("aria-label=\"Current incidents\"")
        .nth(1)
        .expect("a current incident")
        .split("<ul class=\"components\"")
        .next()
        .unwrap();
    assert!(current.contains("Website &lt;b&gt;down&lt;/b&gt;"), "the title is text: {current}");
    let (identified, investigating) =
        (current.find("A bad <strong>deploy</strong>").unwrap(), current.find("We are <em>looking</em>").unwrap());
    assert!(identified < investigating, "newest update first: {current}");
    assert!(!html.contains("<script>alert") && !html.contains("javascript:"), "no script reaches the page: {current}");
    assert!(current.contains("&lt;script&gt;"));
    let website = html.split(">Website<").nth(1).unwrap();
    assert!(website.starts_with("/span><span class=\"s-partial_outage\">"), "its impact shows on Website: {website}");
    assert!(html.contains("class=\"overall b-partial_outage\""));
    assert!(!html.contains("Slow invoices"), "six years ago is not recent");

    update("resolved", "Rolled back.");
    until_async(async || {
        html = page().await;
        html.contains("All systems operational")
    })
    .await;
    assert!(!html.contains("Current incidents"), "resolved: {html}");
    let past = html.split(">Past incidents<").nth(1).unwrap();
    assert!(past.contains("Rolled back.") && past.contains("i-resolved"), "{past}");
    let listed = run(&db, &["incident", "list", "acme", "--server", &base, "--token", &read]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.contains(&id) && listed.contains("resolved"), "{listed}");

    // The feeds, as Python's feedparser reads them: the incident opened above.
    for feed in ["feed.rss", "feed.atom"] {
        let text = http.get(format!("{base}/status/acme/{feed}")).send().await.unwrap().text().await.unwrap();
        let titles = feed_titles(&text);
        if let Some(titles) = titles {
            assert_eq!(titles, ["Website <b>down</b>"], "{feed}: the old declared incident is beyond 90 days: {text}");
        }
        assert!(!text.contains("<script>") && !text.contains("javascript:"), "{text}");
    }
    // Issue 61, item 12: a reader given the page's address finds both feeds in its head.
    let discovered = alternate_feeds(&page().await);
    assert_eq!(
        discovered,
        [
            ("application/atom+xml".to_string(), "/status/acme/feed.atom".to_string()),
            ("application/rss+xml".to_string(), "/status/acme/feed.rss".to_string())
        ],
        "the page's <link rel=alternate>s"
    );
    for (_, href) in &discovered {
        let text = http.get(format!("{base}{href}")).send().await.unwrap().text().await.unwrap();
        if let Some(titles) = feed_titles(&text) {
            assert_eq!(titles, ["Website <b>down</b>"], "{href}");
        }
    }
    let history = |month: &str| http.get(format!("{base}/status/acme/history/{month}")).send();
    let old = history("2020-01").await.unwrap().text().await.unwrap();
    assert!(old.contains("Slow invoices") && old.contains("Fixed."), "{old}");
    assert!(old.contains("/status/acme/history/2019-12") && old.contains("/status/acme/history/2020-02"));
    let link = html.split("/status/acme/history/").nth(1).unwrap()[..7].to_string();
    let now = history(&link).await.unwrap().text().await.unwrap();
    assert!(now.contains("Rolled back.") && !now.contains("Slow invoices"), "{now}");
    assert_eq!(history("2020-13").await.unwrap().status(), 404);
}

/// A page on its own domain (`domains:`): `/` is the page and its feed is at `/feed.rss` there,
/// while the API and the UI do not answer on it, and an unknown host name is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_answers_on_its_own_domain_and_only_it() {
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = config(dir.path(), &target.url);
    let page_file = config.join("status-pages/acme.yaml");
    std::fs::write(&page_file, std::fs::read_to_string(&page_file).unwrap() + "domains: [status.acme.test]\n").unwrap();
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let on = async |host: &str, path: &str| {
        let res = http.get(format!("{base}{path}")).header("host", host).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let (status, page) = on("status.acme.test", "/").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>Acme status</h1>"), "{page}");
    let (status, feed) = on("Status.Acme.Test:443", "/feed.rss").await;
    assert!(status == 200 && feed.contains("<rss"), "{status} {feed}");
    assert_eq!(on("status.acme.test", "/api/v1/monitors").await.0, 404, "no API on the page's domain");
    assert_eq!(on("status.acme.test", "/ui/").await.0, 404, "no UI either");
    assert_eq!(on("status.acme.test", "/status/acme").await.0, 200);
    assert_eq!(on("elsewhere.test", "/status/acme").await.0, 403, "other names are refused as before");
}

/// Scheduled maintenance: announced ahead of time, and while under way its component shows
/// "Under maintenance" though its monitor fails, and the page opens no incident for it (another
/// component's outage, in the same pass, does get one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_maintenance_is_announced_and_is_not_an_outage() {
    let target = Recorder::start(|r| {
        let down = r.path.starts_with("/down");
        Reply { status: if down { 503 } else { 200 }, body: json!({}), delay: std::time::Duration::ZERO }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let monitor = |name: &str, path: &str| http_monitor(name, &format!("{}{path}", target.url));
    let monitors = [monitor("web", "/up/web"), monitor("pay", "/down/pay"), monitor("search", "/down/search")];
    std::fs::write(config.join("monitors/m.yaml"), monitors.concat()).unwrap();
    let page = [
        "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n",
        "  - name: Payments\n    monitor: pay\n  - name: Search\n    monitor: search\n",
        "automatic_incidents:\n  after: 0s\n",
        "maintenance:\n  - title: Payment provider upgrade\n    components: [Payments]\n",
        "    starts: 2020-01-01T00:00:00Z\n    ends: 2999-01-01T00:00:00Z\n    message: Payments **may fail**.\n",
        "  - title: Website move\n    components: [Website]\n",
        "    starts: 2999-06-01T00:00:00Z\n    ends: 2999-06-01T01:00:00Z\n",
    ]
    .concat();
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let validated = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(validated.status.success(), "{}", String::from_utf8_lossy(&validated.stdout));
    let (child, base) = serve_api(&db, &config, free_port(), &[]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let mut html = String::new();
    until_async(async || {
        html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
        html.contains("Search is unavailable")
    })
    .await;
    let payments = html.split(">Payments<").nth(1).expect("the Payments component");
    assert!(payments.starts_with("/span><span class=\"s-maintenance\">Under maintenance<"), "{payments}");
    assert!(!html.contains("Payments is unavailable"), "maintenance opens no incident: {html}");
    let announced = html.split("Scheduled maintenance</h2>").nth(1).expect("the maintenance section");
    let (now, later) = (announced.find("Payment provider upgrade").unwrap(), announced.find("Website move").unwrap());
    assert!(now < later, "soonest first");
    assert!(announced.contains("In progress") && announced.contains("Scheduled ·"), "{announced}");
    assert!(announced.contains("Payments <strong>may fail</strong>."), "Markdown: {announced}");
    let website = html.split(">Website<").nth(1).unwrap();
    assert!(website.starts_with("/span><span class=\"s-operational\">"), "not under way yet: {website}");
    // The feeds carry the windows too, as feedparser reads them.
    for feed in ["feed.rss", "feed.atom"] {
        let text = http.get(format!("{base}/status/acme/{feed}")).send().await.unwrap().text().await.unwrap();
        if let Some(titles) = feed_titles(&text) {
            assert!(titles.contains(&"Maintenance: Payment provider upgrade".to_string()), "{feed}: {titles:?}");
            assert!(titles.contains(&"Maintenance: Website move".to_string()), "{feed}: {titles:?}");
        }
        assert!(text.contains("In progress") && text.contains("Payments &lt;strong&gt;may fail"), "{feed}: {text}");
    }
}

/// Three components (one up, one down, a group of two with one down) in headless Chromium on a
/// phone's width: their states, 90 bars each filling the width, nothing wider than the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_reads_on_a_phone_in_chromium() {
    let Some(browser) = Browser::start(390, 844).await else { return };
    let target = Recorder::start(|r| {
        let down = r.path.starts_with("/down");
        Reply { status: if down { 503 } else { 200 }, body: json!({}), delay: std::time::Duration::ZERO }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let monitor = |name: &str, path: &str| http_monitor(name, &format!("{}{path}", target.url));
    let monitors =
        [monitor("web", "/up/web"), monitor("pay", "/down/pay"), monitor("s1", "/up/s1"), monitor("s2", "/down/s2")];
    std::fs::write(config.join("monitors/m.yaml"), monitors.concat()).unwrap();
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Payments\n    monitor: pay\n  - name: Search\n    monitors: [s1, s2]\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);

    let states = "return [...document.querySelectorAll('.components li .row span:last-child')].map(e => e.textContent)";
    let mut shown = json!(null);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while shown != json!(["Operational", "Major outage", "Partial outage"]) {
        assert!(std::time::Instant::now() < deadline, "the states never showed: {shown}");
        browser.goto(&format!("{base}/status/acme")).await;
        shown = browser.script(states).await;
    }
    let overall = browser.text(&browser.find(".overall").await).await;
    assert_eq!(overall, "Major outage");
    let bars = browser.script("return [...document.querySelectorAll('svg.bars')].map(s => [s.querySelectorAll('rect').length, Math.round(s.getBoundingClientRect().width)])").await;
    let bars: Vec<(u64, u64)> = serde_json::from_value(bars).unwrap();
    assert_eq!(bars.len(), 3, "a bar chart per component");
    let viewport = browser.script("return [window.innerWidth, document.querySelector('main').getBoundingClientRect().width, document.querySelector('.components li').getBoundingClientRect().width]").await;
    for (count, width) in bars {
        assert_eq!(count, 90, "90 days");
        assert!((300..=390).contains(&width), "the bars fill the phone's width: {width} px ({viewport})");
    }
    // A bar's size comes from the style: drawn, not collapsed to nothing.
    let bar = browser.script("const r = document.querySelector('svg.bars rect').getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]").await;
    let bar: (u64, u64) = serde_json::from_value(bar).unwrap();
    assert!(bar.0 >= 2 && bar.1 >= 30, "a bar of {bar:?} px");
    let wide = browser.script("return document.documentElement.scrollWidth").await;
    assert!(wide.as_u64().is_some_and(|w| w <= 390), "nothing is wider than the screen: {wide}");
    // An automated accessibility check: axe-core (from the npm registry) run in the page, no
    // serious or critical violation of WCAG 2 A and AA.
    if let Some(found) = browser.serious_axe_violations(&format!("{base}/status/acme")).await {
        assert_eq!(found, json!([]), "axe-core's serious violations");
    }
    browser.screenshot("status-page-390").await;
    // A badge draws in the browser: an image of its own width, 20 px high.
    browser.goto(&format!("{base}/status/acme")).await;
    let drawn = browser
        .script(&format!(
            "const i = new Image(); return new Promise(done => {{ i.onload = () => done([i.naturalWidth, i.naturalHeight]); i.onerror = () => done([0, 0]); i.src = '{base}/api/v1/endpoints/acme_payments/health/badge.svg'; }})"
        ))
        .await;
    let drawn: (u64, u64) = serde_json::from_value(drawn).unwrap();
    assert!(drawn.0 > 60 && drawn.1 == 20, "the badge drew at {drawn:?}");
    browser.quit().await;
}

/// The head (lowercase) and body length of a GET of `url` sent with `Accept-Encoding:
/// encoding`, over a plain socket (the test's client would unzip it).
async fn reqwest_raw(url: &str, encoding: &str) -> (String, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (String::from_utf8_lossy(&answer[..split]).to_lowercase(), answer.len() - split - 4)
}

/// A monitor of `url`, every second, critical unless it answers 200.
fn http_monitor(name: &str, url: &str) -> String {
    format!(
        "- name: {name}\n  every: 1s\n  source:\n    http:\n      url: {url}\n      conditions: [\"[STATUS] == 200\"]\n"
    )
}

/// Waits up to 20 s for `done`.
async fn until_async(mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `examples/status-page` as shipped: its page is served without a token with `--auth on`, and
/// its declared incident is in the history of its month.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_example_serves_its_page_and_its_incident() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = root().join("examples/status-page");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let page = http.get(format!("{base}/status/vigil")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for component in ["API", "Scheduler", "This status page"] {
        assert!(html.contains(&format!(">{component}<")), "{component}: {html}");
    }
    assert!(!html.contains("vigil-health") && !html.contains("/healthz"), "no monitor name or URL");
    let history = http.get(format!("{base}/status/vigil/history/2026-11")).send().await.unwrap().text().await.unwrap();
    assert!(history.contains("Slow page loads") && history.contains("Pages load <strong>slowly</strong>"), "{history}");
    assert!(history.contains("href=\"https://example.com/postmortems/2026-11-20\""), "{history}");
}
