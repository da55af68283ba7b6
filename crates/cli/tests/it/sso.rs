//! Single sign-on end to end, in headless Chromium, against a real OpenID Connect provider
//! (panva's OpenID Certified `oidc-provider`, run by Node from the npm registry's package: see
//! `support/oidc_provider.mjs`) and a two-node cluster on PostgreSQL. Only node A has
//! `--config`; the identity provider and the teams reach node B through the published copy.
//!
//! Ana signs in at node B: the provider's login and consent pages, back to vigil, her account
//! created in team `pay` (her provider group `pay-eng`). Her token and her UI see pay's monitor
//! and not search's. Her session works on node A too; signing out there ends it on B, and signs her out
//! at the provider, which then asks whoever comes next to log in again. Node A is killed, and
//! Bob signs in at B into team `search`. No log line of either node holds the client secret, a
//! session id or a JWT.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webdriver::Browser;
use support::*;

const CLIENT_SECRET: &str = "oidc-client-secret-5f1e0b9d";

/// The npm package's entry module, or `None` (skipped, with a note; a failure in CI).
fn oidc_provider_module() -> Option<String> {
    let path = std::env::var("VIGIL_OIDC_PROVIDER")
        .unwrap_or_else(|_| "/opt/vigil-test-npm/node_modules/oidc-provider/lib/index.js".to_string());
    if Path::new(&path).exists() {
        return Some(path);
    }
    let why = format!("oidc-provider is not at {path}: npm install --prefix /opt/vigil-test-npm oidc-provider@9");
    assert!(std::env::var("VIGIL_REQUIRE_SERVICES").map_or(true, |v| v != "1"), "VIGIL_REQUIRE_SERVICES=1 but {why}");
    eprintln!("SKIPPED: {why}");
    None
}

/// Starts the provider on `port` for vigil nodes at `bases`; once it listens.
async fn start_provider(port: u16, bases: &[&str]) -> Option<KillOnDrop> {
    let node = service_binary(&["/usr/bin/node", "/usr/local/bin/node"], "node")?;
    let module = oidc_provider_module()?;
    let config = json!({
        "module": module,
        "clientSecret": CLIENT_SECRET,
        "redirectUris": bases.iter().map(|b| format!("{b}/ui/sso/corp/callback")).collect::<Vec<_>>(),
        "postLogoutRedirectUris": bases.iter().map(|b| format!("{b}/ui/signin")).collect::<Vec<_>>(),
        "groups": {"ana": ["pay-eng", "staff"], "bob": ["search-eng"]},
    });
    let script = root().join("crates/cli/tests/it/support/oidc_provider.mjs");
    let child = std::process::Command::new(node)
        .arg(script)
        .args([port.to_string(), config.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start node");
    let child = KillOnDrop(child);
    let url = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = vigil_connectors::http_client();
    while http.get(&url).send().await.map_or(true, |r| !r.status().is_success()) {
        assert!(Instant::now() < deadline, "the OpenID provider did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(child)
}

fn config_dir(dir: &Path, issuer: &str) -> std::path::PathBuf {
    let corp = format!(
        "name: corp\ntitle: Sign in with Corp\noidc:\n  issuer: {issuer}\n  clientId: vigil\n  clientSecret: ${{workflow.secrets.corp_oidc}}\n  scopes: [openid, profile, email, groups]\n"
    );
    sso_config(dir, &corp)
}

/// `vigil serve` on `port` (with `config` if given), logging at `info` to `log`; once it answers.
async fn node(db: &Path, config: Option<&Path>, port: u16, log: &Path) -> KillOnDrop {
    let mut command = vigil(db);
    command.env("RUST_LOG", "info").args(["serve", "--auth", "on", "--listen", &format!("127.0.0.1:{port}")]);
    if let Some(config) = config {
        command.args(["--config", config.to_str().unwrap()]);
    }
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start vigil serve");
    let child = KillOnDrop(child);
    wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    child
}

/// Waits until the browser's address starts with `prefix` (30 s at most).
async fn wait_url(b: &Browser, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = b.url().await;
        if url.starts_with(prefix) {
            return url;
        }
        let page = b.script("return document.body ? document.body.innerText : ''").await;
        assert!(Instant::now() < deadline, "never reached {prefix}; at {url}: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// From vigil's sign-in page, through the provider's login (as `user`) and consent pages, back
/// to `node`'s account page.
async fn sign_in(b: &Browser, node: &str, idp: &str, user: &str) {
    b.goto(&format!("{node}/ui/account")).await;
    wait_url(b, &format!("{node}/ui/signin?next=")).await;
    b.click(&b.find("#providers a").await).await;
    wait_url(b, idp).await;
    let login = b.wait_for("input[name=login]", Duration::from_secs(15)).await;
    b.type_into(&login, user).await;
    b.type_into(&b.find("input[name=password]").await, "any password").await;
    b.click(&b.find("button[type=submit]").await).await;
    // The consent page, the first time this account meets this client.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !b.url().await.starts_with(node) {
        if !b.all("input[name=prompt][value=consent]").await.is_empty() {
            b.click(&b.find("button[type=submit]").await).await;
        }
        assert!(Instant::now() < deadline, "never came back to vigil: {}", b.html().await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    wait_url(b, &format!("{node}/ui/account")).await;
    b.wait_for("#account-name", Duration::from_secs(15)).await;
}

async fn get(base: &str, token: &str, path: &str) -> (u16, Value) {
    let res = vigil_connectors::http_client().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_through_a_real_openid_provider_on_a_cluster() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_sso_cluster").await else { return };
    let (a_port, b_port, idp_port) = (free_port(), free_port(), free_port());
    let (a, b) = (format!("http://127.0.0.1:{a_port}"), format!("http://127.0.0.1:{b_port}"));
    let idp = format!("http://127.0.0.1:{idp_port}");
    let Some(_provider) = start_provider(idp_port, &[&a, &b]).await else { return };
    let Some(browser) = Browser::start(1100, 900).await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &idp);
    set_secret(&db, "corp_oidc", CLIENT_SECRET);
    let (a_log, b_log) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let mut node_a = node(&db, Some(&config), a_port, &a_log).await;
    let _node_b = node(&db, None, b_port, &b_log).await;

    // Ana signs in at node B, which has no --config: the provider came from the published copy.
    sign_in(&browser, &b, &idp, "ana").await;
    assert_eq!(browser.text(&browser.find("#account-name").await).await, "ana");
    assert_eq!(browser.text(&browser.find("#account-teams").await).await, "pay (write)");
    assert_eq!(browser.text(&browser.find("#account-groups").await).await, "pay-eng, staff");
    browser.screenshot("sso-account").await;

    // A token of hers sees her team's monitor only.
    browser.type_into(&browser.find("#token-name").await, "laptop").await;
    browser.click(&browser.find("#token-form button[type=submit]").await).await;
    let shown = browser.wait_for("#new-token-value", Duration::from_secs(15)).await;
    let token = browser.text(&shown).await.trim().to_string();
    assert!(token.starts_with("vgl_"), "{token}");
    let (status, monitors) = get(&a, &token, "/api/v1/monitors").await;
    assert_eq!(status, 200, "{monitors}");
    let names: Vec<&str> = monitors["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pay-api"]);
    assert_eq!(get(&a, &token, "/api/v1/monitors/search-index").await.0, 404, "another team's monitor");
    // The UI shows her team's monitors only; pages of every team's objects are closed to her.
    browser.goto(&format!("{b}/ui/monitors")).await;
    let page = browser.html().await;
    assert!(page.contains("pay-api") && !page.contains("search-index"), "{page}");
    browser.goto(&format!("{b}/ui/cluster")).await;
    assert!(browser.html().await.contains("only in teams"), "a team-only member is refused the all-teams pages");

    // The session is the cluster's: node A knows it. Signing out there ends it everywhere, and
    // at the provider.
    let session = browser.cookies().await.into_iter().find(|(n, _)| n == "vigil_session").unwrap().1;
    browser.goto(&format!("{a}/ui/account")).await;
    assert_eq!(browser.text(&browser.find("#account-name").await).await, "ana", "node A knows the session");
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    wait_url(&browser, &idp).await;
    let yes = browser.wait_for("button[name=logout][value=yes]", Duration::from_secs(15)).await;
    browser.click(&yes).await;
    wait_url(&browser, &format!("{a}/ui/signin")).await;
    browser.goto(&format!("{b}/ui/account")).await;
    wait_url(&browser, &format!("{b}/ui/signin?next=")).await;

    // Node A dies; Bob signs in at B. The provider asks for a login again: Ana's session there
    // ended with hers here.
    let _ = node_a.0.kill();
    let _ = node_a.0.wait();
    sign_in(&browser, &b, &idp, "bob").await;
    assert_eq!(browser.text(&browser.find("#account-name").await).await, "bob");
    assert_eq!(browser.text(&browser.find("#account-teams").await).await, "search (write)");
    browser.quit().await;

    let logs = std::fs::read_to_string(&a_log).unwrap() + &std::fs::read_to_string(&b_log).unwrap();
    assert!(logs.contains("Signed in through an identity provider"), "the logs were captured: {logs}");
    for secret in [CLIENT_SECRET, session.as_str(), token.as_str(), "eyJ"] {
        assert!(!logs.contains(secret), "a log line holds `{secret}`");
    }
    pg.drop_now().await;
}

#[test]
fn validate_counts_teams_and_identity_providers() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), "https://login.example.com");
    let out = run(&dir.path().join("v.db"), &["validate", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 team(s), 1 identity provider(s)"), "{text}");
}

#[test]
fn validate_locates_a_bad_identity_provider() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), "http://idp.example.com");
    std::fs::write(
        config.join("identity-providers/other.yaml"),
        "name: other\noidc:\n  issuer: https://login.example.com\n  clientId: vigil\n  clientSecret: hunter2\nroles:\n  sre: boss\n",
    )
    .unwrap();
    let out = run(&dir.path().join("v.db"), &["validate", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("identity-providers/corp.yaml") && text.contains("oidc.issuer"), "plain http: {text}");
    assert!(text.contains("identity-providers/other.yaml:5:") && text.contains("oidc.clientSecret"), "{text}");
    assert!(text.contains("other.yaml:7:") && text.contains("roles.sre"), "{text}");
    assert!(!text.contains("hunter2"), "the written secret is not repeated: {text}");
}
