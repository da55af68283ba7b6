//! Issue 38, accounts: people added with `vigil user`, signing in to the UI with a password and a
//! one-time code (computed here by Python's own HMAC, not vigil's), responders who may
//! acknowledge, silence and check but not define, tokens that belong to an account and never
//! outrank it (capped, disabled, expired, last use recorded), and a log that holds neither a
//! password nor a code's secret.

use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webdriver::Browser;
use support::*;

const ANA_PASSWORD: &str = "orange-kettle-violin-42";

/// `vigil user add NAME ...`, with `password` on standard input when given.
fn add_user(db: &Path, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut command = vigil(db);
    command.args(["user", "add"]).args(args);
    if password.is_some() {
        command.arg("--password-stdin");
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{}\n", password.unwrap_or_default()).as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A one-time code for base32 `secret`, `steps` steps from now, by Python's standard library.
fn python_totp(secret: &str, steps: i64) -> String {
    let script = "import base64,hmac,hashlib,struct,sys,time\n\
        key=base64.b32decode(sys.argv[1]+'='*(-len(sys.argv[1])%8))\n\
        step=int(time.time())//30+int(sys.argv[2])\n\
        mac=hmac.new(key,struct.pack('>Q',step),hashlib.sha1).digest()\n\
        o=mac[-1]&15\n\
        print('%06d'%((struct.unpack('>I',mac[o:o+4])[0]&0x7fffffff)%1000000))";
    let out = std::process::Command::new("python3").args(["-c", script, secret, &steps.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn config_dir(dir: &Path, target: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    let checks = format!(
        "- name: web\n  every: 1h\n  source:\n    http:\n      url: {target}/health\n      conditions: [\"[STATUS] == 200\"]\n"
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    config
}

/// `fields` as an `application/x-www-form-urlencoded` body.
fn encoded(fields: &[(&str, &str)]) -> String {
    let esc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect::<Vec<_>>().join("&")
}

fn client() -> reqwest::Client {
    vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn call(base: &str, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Signs in through the form; the status, the page, and the session cookie if one began.
async fn sign_in(base: &str, fields: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let res = client()
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded(fields))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let cookie = res.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    (status, res.text().await.unwrap(), cookie.filter(|c| !c.ends_with('=')))
}

async fn page(base: &str, cookie: &str, path: &str) -> (u16, String) {
    let res = client().get(format!("{base}{path}")).header("cookie", cookie).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn field<'a>(html: &'a str, before: &str) -> &'a str {
    html.split(before).nth(1).unwrap_or_else(|| panic!("no `{before}` in {html}")).split('"').next().unwrap()
}

async fn post_form(base: &str, cookie: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let (_, html) = page(base, cookie, "/ui/account").await;
    let csrf = field(&html, "name=\"csrf\" value=\"").to_string();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let res = client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded(&all))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_passwords_and_codes_and_tokens_never_outrank_their_account() {
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    let db = dir.path().join("vigil.db");

    let added = add_user(&db, &["ana", "--role", "responder", "--email", "ana@example.com"], Some(ANA_PASSWORD));
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let short = add_user(&db, &["bo", "--role", "viewer"], Some("short"));
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("at least 10"));
    assert!(add_user(&db, &["ci-bot", "--service", "--role", "editor"], None).status.success());
    let dup = add_user(&db, &["ANA", "--role", "admin"], Some(ANA_PASSWORD));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists already"), "names are case-insensitive");

    let over = run(&db, &["token", "create", "--role", "admin", "--user", "ci-bot"]);
    assert!(!over.status.success() && String::from_utf8_lossy(&over.stderr).contains("may not be `admin`"));
    let bot =
        run(&db, &["token", "create", "--role", "write", "--user", "ci-bot", "--name", "deploy", "--expires", "30d"]);
    assert!(bot.status.success(), "{}", String::from_utf8_lossy(&bot.stderr));
    let bot = String::from_utf8(bot.stdout).unwrap().trim().to_string();
    let expired = run(&db, &["token", "create", "--role", "read", "--expires", "0s"]);
    let expired = String::from_utf8(expired.stdout).unwrap().trim().to_string();
    let admin = token(&db, "admin");

    let log = dir.path().join("serve.log");
    let port = free_port();
    let mut server = KillOnDrop(
        vigil(&db)
            .args(["serve", "--config", config.to_str().unwrap(), "--auth", "on"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(dir.path().join("serve.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;

    // A service account's token: its role, capped by the account's, which follows changes.
    let (status, me) = call(&base, &bot, reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!((status, me["role"].as_str(), me["account"]["name"].as_str()), (200, Some("write"), Some("ci-bot")));
    assert_eq!(call(&base, &bot, reqwest::Method::GET, "/api/v1/users", None).await.0, 403, "accounts are an admin's");
    assert_eq!(call(&base, &expired, reqwest::Method::GET, "/api/v1/me", None).await.0, 401, "expired");
    let (status, _) =
        call(&base, &admin, reqwest::Method::PATCH, "/api/v1/users/ci-bot", Some(json!({"role": "viewer"}))).await;
    assert_eq!(status, 200);
    let (_, me) = call(&base, &bot, reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["role"], "read", "the account's new role caps its token at once");
    assert_eq!(call(&base, &bot, reqwest::Method::POST, "/api/v1/monitors/web/check", None).await.0, 403);
    let (status, made) = call(
        &base,
        &admin,
        reqwest::Method::POST,
        "/api/v1/users/ci-bot/tokens",
        Some(json!({"name": "x", "role": "write"})),
    )
    .await;
    assert_eq!(status, 400, "above the account's role: {made}");
    let disabled = run(&db, &["user", "disable", "ci-bot"]);
    assert!(disabled.status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while call(&base, &bot, reqwest::Method::GET, "/api/v1/me", None).await.0 != 401 {
        assert!(Instant::now() < deadline, "the disabled account's token still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let bot_id = bot.split('_').nth(1).unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = String::from_utf8(run(&db, &["token", "list"]).stdout).unwrap();
        let line = listed.lines().find(|l| l.starts_with(&bot_id)).unwrap().to_string();
        assert!(line.contains("user: ci-bot") && line.contains("expires"), "{line}");
        if line.contains("\tused ") {
            break;
        }
        assert!(Instant::now() < deadline, "its last use is not recorded: {line}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An account made through the API signs in; no password or hash comes back.
    let dana_password = "quartz-meadow-candle-9";
    let new = json!({"name": "Dana", "role": "viewer", "password": dana_password, "email": "dana@example.com"});
    let (status, made) = call(&base, &admin, reqwest::Method::POST, "/api/v1/users", Some(new.clone())).await;
    assert_eq!((status, made["name"].as_str()), (201, Some("dana")), "{made}");
    assert_eq!(call(&base, &admin, reqwest::Method::POST, "/api/v1/users", Some(new)).await.0, 409);
    let (_, listed) = call(&base, &admin, reqwest::Method::GET, "/api/v1/users", None).await;
    assert!(!listed.to_string().contains(dana_password) && !listed.to_string().contains("argon2"), "{listed}");
    let (status, _, cookie) = sign_in(&base, &[("name", "dana"), ("password", dana_password)]).await;
    assert_eq!((status, cookie.is_some()), (303, true), "an account made through the API signs in");

    // A person: one sentence for every wrong try, then a session.
    for (name, pw) in [("ana", "not her password"), ("nobody", ANA_PASSWORD), ("ci-bot", ANA_PASSWORD)] {
        let (status, html, cookie) = sign_in(&base, &[("name", name), ("password", pw)]).await;
        assert_eq!((status, cookie), (401, None), "{name}");
        assert!(html.contains("Wrong name, password or one-time code."), "{name}: {html}");
    }
    let (status, _, cookie) =
        sign_in(&base, &[("name", "Ana"), ("password", ANA_PASSWORD), ("next", "/ui/account")]).await;
    assert_eq!(status, 303);
    let ana = cookie.expect("a session");
    let (_, html) = page(&base, &ana, "/ui/account").await;
    assert!(html.contains("id=\"account-name\">ana<") && html.contains("id=\"account-role\">respond<"), "{html}");

    // A responder checks and silences, and may not define.
    let (status, _) = post_form(&base, &ana, "/ui/monitors/web/check", &[]).await;
    assert_eq!(status, 303, "a responder checks now");
    let (status, html) = post_form(&base, &ana, "/ui/status-pages/new", &[("text", "slug: x\n")]).await;
    assert_eq!(status, 403, "a responder does not define: {html}");
    assert!(html.contains("Your role is `respond`"), "{html}");

    // Her tokens: never above her role; shown once; used through the API.
    let (status, _) =
        post_form(&base, &ana, "/ui/account/tokens", &[("name", "cli"), ("role", "write"), ("days", "30")]).await;
    assert_eq!(status, 403);
    let (status, html) =
        post_form(&base, &ana, "/ui/account/tokens", &[("name", "cli"), ("role", "respond"), ("days", "30")]).await;
    assert_eq!(status, 200);
    let hers = html.split("id=\"new-token-value\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let (_, me) = call(&base, &hers, reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!((me["role"].as_str(), me["account"]["name"].as_str()), (Some("respond"), Some("ana")));
    assert_eq!(call(&base, &hers, reqwest::Method::POST, "/api/v1/monitors/web/check", None).await.0 / 100, 2);
    let (status, _) =
        call(&base, &hers, reqwest::Method::PUT, "/api/v1/status-pages/x", Some(json!({"slug": "x"}))).await;
    assert_eq!(status, 403);
    let (_, again) = page(&base, &ana, "/ui/account").await;
    assert!(!again.contains(&hers), "a token is shown only once");

    // A session begun with her token may not change her account.
    let (_, _, token_session) = sign_in(&base, &[("token", &hers)]).await;
    let token_session = token_session.expect("a token's session");
    let (_, html) = page(&base, &token_session, "/ui/account").await;
    assert!(html.contains("signed in with an API token"), "{html}");

    // A one-time code, set up and confirmed with the app's code, then asked for at sign-in.
    let (status, html) = post_form(&base, &ana, "/ui/account/code", &[]).await;
    assert_eq!(status, 200, "{html}");
    let secret = html.split("id=\"code-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let pending = field(&html, "name=\"pending\" value=\"").to_string();
    assert!(!pending.contains(&secret), "the pending setup is sealed");
    let (status, _) =
        post_form(&base, &ana, "/ui/account/code/confirm", &[("pending", &pending), ("code", "000000")]).await;
    assert_eq!(status, 400, "not the app's code");
    let now_code = python_totp(&secret, 0);
    let (status, _) =
        post_form(&base, &ana, "/ui/account/code/confirm", &[("pending", &pending), ("code", &now_code)]).await;
    assert_eq!(status, 303);
    let (status, _) = post_form(&base, &ana, "/ui/account/code", &[]).await;
    assert_eq!(status, 409, "a session does not replace a code set up (a stolen cookie would enrol its own)");
    let (status, html, cookie) = sign_in(&base, &[("name", "ana"), ("password", ANA_PASSWORD)]).await;
    assert_eq!((status, cookie), (401, None));
    assert!(html.contains("Enter the one-time code"), "{html}");
    let (status, _, cookie) = sign_in(&base, &[("name", "ana"), ("password", ANA_PASSWORD), ("code", &now_code)]).await;
    assert_eq!((status, cookie), (401, None), "a code used once is not taken again");

    // The browser: sign in with name, password and the app's next code, and see the account.
    let next_code = python_totp(&secret, 1);
    if let Some(browser) = Browser::start(1200, 900).await {
        browser.goto(&format!("{base}/ui/signin?next=/ui/account")).await;
        browser.type_into(&browser.find("#name").await, "ana").await;
        browser.type_into(&browser.find("#password").await, ANA_PASSWORD).await;
        browser.type_into(&browser.find("#code").await, &next_code).await;
        browser.click(&browser.find("#account-signin button[type=submit]").await).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !browser.url().await.ends_with("/ui/account") {
            assert!(Instant::now() < deadline, "still at {}: {}", browser.url().await, browser.html().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        browser.shows("Your API tokens").await;
        assert_eq!(browser.text(&browser.find("#account-role").await).await, "respond");
        assert_eq!(browser.text(&browser.find("#account-code").await).await, "set up");
        browser.quit().await;
    } else {
        assert!(std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(), "Chromium and ChromeDriver are required");
        eprintln!("SKIPPED the browser part: no Chromium or ChromeDriver");
        let (status, _, cookie) =
            sign_in(&base, &[("name", "ana"), ("password", ANA_PASSWORD), ("code", &next_code)]).await;
        assert_eq!((status, cookie.is_some()), (303, true));
    }

    // A new password ends her sessions everywhere.
    let new_password = "plum-harbour-lantern-7";
    let (status, _) =
        post_form(&base, &ana, "/ui/account/password", &[("current", "wrong one"), ("new", new_password)]).await;
    assert_eq!(status, 400);
    let (status, _) =
        post_form(&base, &ana, "/ui/account/password", &[("current", ANA_PASSWORD), ("new", new_password)]).await;
    assert_eq!(status, 303);
    let (status, _) = page(&base, &ana, "/ui/account").await;
    assert_eq!(status, 303, "ended: to the sign-in page");

    // Nothing secret in the log, in any case or encoding.
    drop(server.0.kill());
    let _ = server.0.wait();
    let logged =
        std::fs::read_to_string(&log).unwrap() + &std::fs::read_to_string(dir.path().join("serve.out")).unwrap();
    for secret_text in
        [ANA_PASSWORD, new_password, dana_password, &secret, &secret.to_lowercase(), &hers, &bot, &now_code, &next_code]
    {
        assert!(!logged.contains(secret_text), "the log holds a secret");
    }
    let bot_secret = bot.rsplit('_').next().unwrap();
    assert!(!logged.contains(bot_secret));
}

/// `vigil token create --user` counts the roles the config directory's teams give the account.
#[test]
fn a_members_token_may_have_the_role_its_team_gives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("teams")).unwrap();
    std::fs::write(
        config.join("teams/pay.yaml"),
        "name: pay\nmembers:\n  tm: editor\nowns:\n  monitors: [\"pay-*\"]\n",
    )
    .unwrap();
    let added = add_user(&db, &["tm", "--service", "--role", "none"], None);
    assert!(added.status.success(), "no role outside teams: {}", String::from_utf8_lossy(&added.stderr));
    let without = run(&db, &["token", "create", "--role", "write", "--user", "tm"]);
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(!without.status.success() && stderr.contains("--config"), "no team is known: {stderr}");
    let config = config.to_str().unwrap();
    let with = run(&db, &["token", "create", "--role", "write", "--user", "tm", "--config", config]);
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
    let over = run(&db, &["token", "create", "--role", "admin", "--user", "tm", "--config", config]);
    assert!(!over.status.success() && String::from_utf8_lossy(&over.stderr).contains("`write` at most"));
}
