//! Issue 37, subscribers: a reader subscribes on the status page in headless Chromium, confirms
//! by the link a real SMTP server (aiosmtpd) receives, is told of an incident's updates and
//! unsubscribes with RFC 8058's one click; a webhook subscriber receives the same updates,
//! signed as Standard Webhooks says (checked by Python's own HMAC).

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webdriver::Browser;
use support::*;

/// The letters received so far, each as its text with quoted-printable undone.
fn letters(mailbox: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(mailbox).unwrap_or_default();
    text.split("---------- MESSAGE FOLLOWS ----------")
        .skip(1)
        .map(|letter| {
            let letter = letter.split("------------ END MESSAGE ------------").next().unwrap_or_default();
            letter.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
        })
        .collect()
}

/// The first `http...` link in `letter` that contains `part`.
fn link(letter: &str, part: &str) -> String {
    letter
        .split_whitespace()
        .map(|w| w.trim_matches(['<', '>']))
        .find(|w| w.starts_with("http") && w.contains(part))
        .unwrap_or_else(|| panic!("no link with `{part}` in {letter}"))
        .to_string()
}

/// Waits up to 20 s for a letter that contains every one of `words`; the letter.
async fn letter_with(mailbox: &std::path::Path, words: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(l) = letters(mailbox).into_iter().find(|l| words.iter().all(|w| l.contains(w))) {
            return l;
        }
        assert!(Instant::now() < deadline, "no letter with {words:?}: {:?}", letters(mailbox));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Python's HMAC-SHA256 of Standard Webhooks' signed content, as `v1,<base64>`.
fn python_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let script = "import base64,hmac,hashlib,sys\n\
        secret, msg_id, ts = sys.argv[1:4]\n\
        key = base64.b64decode(secret.removeprefix('whsec_'))\n\
        body = sys.stdin.buffer.read()\n\
        mac = hmac.new(key, msg_id.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256).digest()\n\
        print('v1,' + base64.b64encode(mac).decode(), end='')";
    let mut child = Command::new("python3")
        .args(["-c", script, secret, id, timestamp])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_confirm_hear_of_updates_and_unsubscribe() {
    let dir = tempfile::tempdir().unwrap();
    let mailbox = dir.path().join("mailbox.txt");
    let Some((_smtp, smtp_port)) = smtp_capture(&mailbox).await else { return };
    let Some(browser) = Browser::start(1024, 900).await else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {}/health\n      conditions: [\"[STATUS] == 200\"]\n",
        hooks.url
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    let mail = format!(
        "name: mail\ntype: email\nhost: 127.0.0.1\nport: {smtp_port}\ntls: none\nfrom: status@example.com\nto: [ops@example.com]\n"
    );
    std::fs::write(config.join("notifiers/mail.yaml"), mail).unwrap();
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    monitor: web\nsubscribers:\n  email: mail\n  webhooks: true\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let read = token(&db, "read");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on", "--public-url", &public]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();

    // Subscribing on the page, in the browser, without JavaScript of ours.
    browser.goto(&format!("{base}/status/acme")).await;
    let field = browser.find("#subscribe-email").await;
    browser.type_into(&field, "reader@example.org").await;
    browser.click(&browser.find(".subscribe button").await).await;
    browser.shows("Check your inbox").await;

    let confirmation =
        letter_with(&mailbox, &["Confirm your subscription to Acme status", "To: reader@example.org"]).await;
    assert!(!confirmation.contains("ops@example.com"), "only the reader is written to: {confirmation}");
    let confirm = link(&confirmation, "/confirm?token=");
    assert!(confirm.starts_with(&format!("{public}/status/acme/subscriptions/")), "{confirm}");

    // A forged or another subscriber's token changes nothing.
    let forged = confirm.replace("token=", "token=AAAA");
    assert_eq!(http.post(&forged).send().await.unwrap().status(), 403);
    // Opening the link (as a mail scanner would) confirms nothing; its button does.
    let subscribers = async |token: &str| {
        let res =
            http.get(format!("{base}/api/v1/status-pages/acme/subscribers")).bearer_auth(token).send().await.unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap_or_default())
    };
    browser.goto(&confirm).await;
    assert_eq!(subscribers(&write).await.1["subscribers"][0]["confirmed_at"], Value::Null);
    browser.click(&browser.find("main form button").await).await;
    browser.shows("You are subscribed").await;
    assert_eq!(subscribers(&read).await.0, 403, "addresses are for write tokens");
    let (status, listed) = subscribers(&write).await;
    assert_eq!(status, 200);
    assert!(listed["subscribers"][0]["confirmed_at"].is_i64(), "{listed}");

    // Subscribing the same address again tells nobody anything new.
    let form = async |url: &str, body: &'static str| {
        let res = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body).send();
        res.await.unwrap().status().as_u16()
    };
    let subscribe = format!("{base}/status/acme/subscribe");
    assert_eq!(form(&subscribe, "email=reader%40example.org").await, 200);
    assert_eq!(form(&subscribe, "email=not-an-address").await, 400);

    // A webhook, added by an operator: its secret is shown once.
    let added = http
        .post(format!("{base}/api/v1/status-pages/acme/subscribers"))
        .bearer_auth(&write)
        .json(&json!({"webhook": format!("{}/hook", hooks.url), "components": ["Billing"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{added}");
    assert!(!subscribers(&write).await.1.to_string().contains(&secret), "the secret is not listed");

    // An incident: the reader gets a letter with one-click unsubscribe; the webhook a signed post.
    let incidents = format!("{base}/api/v1/status-pages/acme/incidents");
    let opened: Value = http
        .post(&incidents)
        .bearer_auth(&write)
        .json(&json!({"title": "Invoices are late", "components": ["Billing"], "message": "We are looking into it."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let update =
        letter_with(&mailbox, &["[Acme status] Invoices are late: Investigating", "We are looking into it."]).await;
    assert!(update.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{update}");
    assert_eq!(
        letters(&mailbox).iter().filter(|l| l.contains("Confirm your subscription")).count(),
        1,
        "the second subscription sent no letter (notices go in order, so it would have come first)"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooks.to("/hook").is_empty() {
        assert!(Instant::now() < deadline, "the webhook was not called");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posted = &hooks.to("/hook")[0];
    assert_eq!(posted.body["incident"]["id"], opened["id"]);
    assert_eq!(posted.body["update"]["message"], "We are looking into it.");
    let (id, timestamp) = (&posted.headers["webhook-id"], &posted.headers["webhook-timestamp"]);
    assert_eq!(posted.headers["webhook-signature"], python_signature(&secret, id, timestamp, &posted.text));
    let age = jiff::Timestamp::now().as_second() - timestamp.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "a timestamp in seconds, recent: {timestamp}");

    // RFC 8058: the mail program posts to the List-Unsubscribe address.
    let headers_link = update
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: "))
        .map(|l| l.trim().trim_matches(['<', '>']).to_string())
        .expect("a List-Unsubscribe header");
    assert_eq!(headers_link, link(&update, "/unsubscribe?token="), "the header and the text agree");
    assert_eq!(form(&headers_link, "List-Unsubscribe=One-Click").await, 200);
    let left = subscribers(&write).await.1;
    assert_eq!(left["subscribers"].as_array().unwrap().len(), 1, "only the webhook: {left}");

    // The next update reaches the webhook, and no letter goes to the reader.
    let id = opened["id"].as_str().unwrap();
    let resolved = http
        .post(format!("{incidents}/{id}/updates"))
        .bearer_auth(&write)
        .json(&json!({"status": "resolved", "message": "All invoices are out."}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooks.to("/hook").len() < 2 {
        assert!(Instant::now() < deadline, "the webhook was not told of the resolve");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hooks.to("/hook")[1].body["incident"]["resolved"], true);
    assert!(!letters(&mailbox).iter().any(|l| l.contains("All invoices are out.")), "unsubscribed");

    // The page with its form passes the accessibility check too.
    if let Some(found) = browser.serious_axe_violations(&format!("{base}/status/acme")).await {
        assert_eq!(found, json!([]), "axe-core's serious violations");
    }
    // The reader's address is nowhere on the public page.
    let public_page = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(!public_page.contains("reader@example.org"));

    // Operators see the subscribers in the UI and remove one there; a read token sees none.
    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.shows("Subscribers").await;
    let rows =
        browser.script("return [...document.querySelectorAll('#subscribers tbody tr')].map(r => r.innerText)").await;
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "only the webhook is left: {rows:?}");
    assert!(rows[0].as_str().is_some_and(|r| r.contains("webhook") && r.contains("/hook")), "{rows:?}");
    browser.click(&browser.find("#subscribers form button").await).await;
    browser.shows("Subscriber removed").await;
    browser.shows("No subscriber yet.").await;
    assert_eq!(subscribers(&write).await.1["subscribers"], json!([]), "removed in the store");
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;
    browser.sign_in(&base, &read).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.shows("Public at").await;
    assert!(!browser.html().await.contains("Subscribers"), "addresses are for write tokens");
}

/// `vigil validate` names a page's email notifier that notifiers/ does not define, at its field.
#[test]
fn validate_names_an_unknown_subscribers_notifier() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(
        config.join("monitors/m.yaml"),
        "name: web\nevery: 1m\nsource:\n  http:\n    url: http://127.0.0.1:9/\n",
    )
    .unwrap();
    std::fs::write(
        config.join("notifiers/mail.yaml"),
        "name: mail\ntype: email\nhost: 127.0.0.1\nfrom: status@example.com\nto: [ops@example.com]\n",
    )
    .unwrap();
    let page =
        "slug: acme\ntitle: Acme\ncomponents:\n  - name: Website\n    monitor: web\nsubscribers:\n  email: mial\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let out = run(&dir.path().join("vigil.db"), &["validate", config.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("acme.yaml:7") && said.contains("subscribers.email") && said.contains("did you mean `mail`"),
        "{said}"
    );
}

/// Operators open an incident and post its update from the web UI in headless Chromium; the
/// public page shows both, and a read token's session sees no form (and the server refuses its
/// post anyway).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_open_and_update_incidents_in_the_ui() {
    let Some(browser) = Browser::start(1280, 900).await else { return };
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {}/health\n      conditions: [\"[STATUS] == 200\"]\n",
        target.url
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    let page = "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n  - name: Billing\n    monitor: web\n";
    std::fs::write(config.join("status-pages/acme.yaml"), page).unwrap();
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let read = token(&db, "read");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);

    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages")).await;
    browser.click(&browser.find("table a[href='/ui/status-pages/acme']").await).await;
    browser.wait_for("form.open-incident", Duration::from_secs(10)).await;
    browser.type_into(&browser.find("#incident-title").await, "Invoices are late").await;
    browser.script("document.querySelector('#incident-impact').value = 'degraded'").await;
    browser.click(&browser.find("form.open-incident input[value='Billing']").await).await;
    browser.type_into(&browser.find("#incident-message").await, "We are *looking* into it.").await;
    browser.click(&browser.find("form.open-incident button[type=submit]").await).await;
    browser.shows("Incident opened").await;
    browser.wait_for("form.post-update", Duration::from_secs(10)).await;
    let message = browser.find("form.post-update textarea").await;
    browser.type_into(&message, "Fixed: all invoices are out.").await;
    browser.script("document.querySelector('form.post-update select[name=status]').value = 'resolved'").await;
    browser.click(&browser.find("form.post-update button[type=submit]").await).await;
    browser.shows("Update posted").await;

    let http = vigil_connectors::http_client();
    let public = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    let past = public.split("Past incidents").nth(1).expect("the past incidents");
    assert!(past.contains("Invoices are late") && past.contains("Fixed: all invoices are out."), "{public}");
    assert!(public.contains("We are <em>looking</em> into it."), "Markdown: {public}");
    let api: Value = http
        .get(format!("{base}/api/v1/status-pages/acme/incidents"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incident = &api["incidents"][0];
    assert_eq!((incident["impact"].as_str(), incident["components"].clone()), (Some("degraded"), json!(["Billing"])));

    // A read token's session sees the incidents and no form.
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;
    browser.sign_in(&base, &read).await;
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.shows("Invoices are late").await;
    let html = browser.html().await;
    assert!(html.contains("Invoices are late") && !html.contains("open-incident"), "{html}");
}

/// A webhook subscribes from the page's form: it gets its secret once, must answer a signed
/// challenge before anything else is sent to it, hears of incidents with an unsubscribe link in
/// each, and leaves by posting to it. A page whose form takes only public addresses refuses a
/// loopback URL; a page without the form refuses any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_subscribes_from_the_page_and_answers_its_challenge() {
    let hooks = Recorder::start(|r| {
        if r.path == "/hook" && r.body["type"] == "subscription.verify" {
            return Reply::json(json!({"challenge": r.body["challenge"]}));
        }
        Reply::json(json!({"ok": true}))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {}/health\n      conditions: [\"[STATUS] == 200\"]\n",
        hooks.url
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    let components = "components:\n  - name: Website\n    monitor: web\n  - name: Billing\n    monitor: web\n";
    for (slug, form) in [
        ("acme", "\nsubscribers:\n  webhook_form: any\n"),
        ("outside", "\nsubscribers:\n  webhook_form: public\n"),
        ("plain", ""),
    ] {
        let page = format!("slug: {slug}\ntitle: Acme status\n{components}{form}");
        std::fs::write(config.join(format!("status-pages/{slug}.yaml")), page).unwrap();
    }
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    // The webhooks are on this host: the operator allows them (a form's webhook may not reach
    // the host's own addresses otherwise).
    let allowed = hooks.url.trim_start_matches("http://").to_string();
    let flags = ["--auth", "on", "--public-url", &public, "--probe-allow", &allowed];
    let (child, base) = serve_api(&db, &config, port, &flags).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let form = async |slug: &str, body: String| {
        let res = http
            .post(format!("{base}/status/{slug}/subscribe"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let hook = format!("{}/hook", hooks.url);
    let lazy = format!("{}/lazy", hooks.url);
    let encoded = |url: &str| url.replace(':', "%3A").replace('/', "%2F");
    let subscribers = async || -> Vec<Value> {
        let res = http.get(format!("{base}/api/v1/status-pages/acme/subscribers")).bearer_auth(&write).send().await;
        let listed: Value = res.unwrap().json().await.unwrap();
        listed["subscribers"].as_array().cloned().unwrap_or_default()
    };

    // The page shows the form; subscribing shows the secret once.
    let html = http.get(format!("{base}/status/acme")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("subscribe-webhook"), "{html}");
    let (status, said) = form("acme", format!("webhook={}&component=Billing", encoded(&hook))).await;
    assert_eq!(status, 200, "{said}");
    let secret =
        said.split("id=\"webhook-secret\">").nth(1).and_then(|r| r.split('<').next()).expect(&said).to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");

    // The challenge, signed; answered, the subscriber is confirmed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !subscribers().await.iter().any(|s| s["address"] == hook.as_str() && s["confirmed_at"].is_i64()) {
        assert!(Instant::now() < deadline, "never confirmed: {:?} {:?}", subscribers().await, hooks.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let verify = hooks.to("/hook")[0].clone();
    assert_eq!(verify.body["type"], "subscription.verify");
    let (id, timestamp) = (&verify.headers["webhook-id"], &verify.headers["webhook-timestamp"]);
    assert_eq!(verify.headers["webhook-signature"], python_signature(&secret, id, timestamp, &verify.text));

    // Again: no secret for the same webhook. One that does not answer its challenge stays
    // unconfirmed and is told nothing more.
    let (status, said) = form("acme", format!("webhook={}", encoded(&hook))).await;
    assert!(status == 200 && !said.contains("whsec_") && said.contains("subscribed already"), "{said}");
    let (status, said) = form("acme", format!("webhook={}", encoded(&lazy))).await;
    assert!(status == 200 && said.contains("whsec_"), "{said}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooks.to("/lazy").is_empty() {
        assert!(Instant::now() < deadline, "no challenge for the lazy webhook");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An incident on Billing reaches the webhook, with its unsubscribe link.
    let opened = http
        .post(format!("{base}/api/v1/status-pages/acme/incidents"))
        .bearer_auth(&write)
        .json(&json!({"title": "Invoices are late", "components": ["Billing"], "message": "Looking."}))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooks.to("/hook").len() < 2 {
        assert!(Instant::now() < deadline, "the webhook heard of no incident");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let told = hooks.to("/hook")[1].clone();
    assert_eq!(told.body["type"], "incident.updated");
    let (id, timestamp) = (&told.headers["webhook-id"], &told.headers["webhook-timestamp"]);
    assert_eq!(told.headers["webhook-signature"], python_signature(&secret, id, timestamp, &told.text));
    let unsubscribe = told.body["unsubscribe"].as_str().expect("an unsubscribe link").to_string();
    assert!(unsubscribe.starts_with(&format!("{public}/status/acme/subscriptions/")), "{unsubscribe}");
    assert_eq!(hooks.to("/lazy").len(), 1, "the lazy webhook got only its challenge");

    // Leaving: a POST to the link.
    assert_eq!(http.post(&unsubscribe).send().await.unwrap().status(), 200);
    assert!(!subscribers().await.iter().any(|s| s["address"] == hook.as_str()), "unsubscribed");

    // Bad input: a loopback URL on a page for public addresses, a page without the form.
    let (status, said) = form("outside", format!("webhook={}", encoded(&hook))).await;
    assert!(status == 400 && said.contains("not a public address"), "{status} {said}");
    let (status, said) = form("outside", "webhook=ftp%3A%2F%2Fexample.org%2F".into()).await;
    assert_eq!(status, 400, "{said}");
    let (status, _) = form("plain", format!("webhook={}", encoded(&hook))).await;
    assert_eq!(status, 404);
    assert!(
        !http
            .get(format!("{base}/status/plain"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("subscribe-webhook")
    );
}

/// Issue 61, item 5: a page's form cannot be used to send many letters, to close the page's
/// subscriptions to everyone, or to make vigil post to its own API: each visitor subscribes at a
/// pace (429 with Retry-After), an address is asked to confirm once per period whatever the page,
/// and a webhook from an `any` form reaches no address of vigil's host unless the operator allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pages_form_sends_few_letters_and_reaches_nothing_of_vigils_host() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["status-pages", "notifiers", "monitors"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let check = "- name: web\n  every: 1h\n  source:\n    http:\n      url: http://127.0.0.1:9/\n      conditions: [\"[STATUS] == 200\"]\n";
    std::fs::write(config.join("monitors/m.yaml"), check).unwrap();
    let mail = "name: mail\ntype: email\nhost: 127.0.0.1\nport: 9\ntls: none\nfrom: status@example.com\nto: [ops@example.com]\n";
    std::fs::write(config.join("notifiers/mail.yaml"), mail).unwrap();
    for slug in ["acme", "beta"] {
        let page = format!(
            "slug: {slug}\ntitle: Status\ncomponents:\n  - name: Website\n    monitor: web\nsubscribers:\n  email: mail\n  webhook_form: any\n"
        );
        std::fs::write(config.join(format!("status-pages/{slug}.yaml")), page).unwrap();
    }
    let db = dir.path().join("vigil.db");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let (child, base) = serve_api(&db, &config, port, &["--public-url", &public]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let form = async |slug: &str, body: String| {
        let res = http
            .post(format!("{base}/status/{slug}/subscribe"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (res.status().as_u16(), retry, res.text().await.unwrap())
    };
    let encoded = |url: &str| url.replace(':', "%3A").replace('/', "%2F");
    // The same address on two pages: one letter.
    assert_eq!(form("acme", "email=victim%40example.org".into()).await.0, 200);
    assert_eq!(form("beta", "email=victim%40example.org".into()).await.0, 200, "the same answer");
    // vigil's own API (auth is off on loopback) and the link-local metadata service.
    for hook in [format!("{public}/api/v1/workflows/x/instances"), "http://169.254.169.254/latest/meta-data".into()] {
        let (status, _, said) = form("acme", format!("webhook={}", encoded(&hook))).await;
        assert_eq!(status, 400, "{hook}: {said}");
        assert!(said.contains("--probe-allow"), "{said}");
    }
    // A flood from one address.
    let mut answers = Vec::new();
    for i in 0..30 {
        answers.push(form("acme", format!("email=reader{i}%40example.org")).await);
    }
    let accepted = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(accepted, 6, "ten at once from one address, the four above included");
    let paced = answers.iter().filter(|a| a.0 == 429 && a.1.is_some()).count();
    assert_eq!(paced, 24, "the rest wait, told how long: {:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    let listed = |slug: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let res = http.get(format!("{base}/api/v1/status-pages/{slug}/subscribers")).send().await.unwrap();
            let body: Value = res.json().await.unwrap();
            body["subscribers"].as_array().cloned().unwrap_or_default()
        }
    };
    assert_eq!(listed("acme").await.len(), 7, "the victim and six readers");
    assert!(listed("beta").await.is_empty(), "the victim was asked to confirm on acme already");
    drop(_child);
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let letters = vigil_store::SubscriberStore::due_notices(&store, &["acme".into(), "beta".into()], i64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(letters.len(), 7, "one confirmation per subscriber, none for the second page");
}
