//! Signing in with a directory password, against a real OpenLDAP `slapd` (Debian's) started by
//! the test with its own authority's certificate: in headless Chromium through the ordinary
//! sign-in form over `ldaps://`, the account created in the team its LDAP group maps to; wrong
//! passwords, filter injection and an empty password refused; a local account of the same name
//! not taken over; then, after hot reloads of the provider's file, a certificate vigil does not
//! trust refused and StartTLS on `ldap://` taken. No log line holds a password.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::slapd::{self, SERVICE_DN, SERVICE_PASSWORD};
use support::webdriver::Browser;
use support::*;

const PEOPLE: &[slapd::Person] = &[
    ("cara", "Cara Ops", "cara-pa55word-1", &["pay-eng"]),
    ("dev", "Dev One", "dev-pa55word-1", &["search-eng"]),
    ("twin", "Twin Dir", "twin-directory-pw", &[]),
];

/// The provider's file: `url`, trusting `ca`, with StartTLS or not.
fn provider_file(url: &str, ca: &str, start_tls: bool) -> String {
    let ca: String = ca.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "name: corp\nldap:\n  url: {url}\n  startTls: {start_tls}\n  ca: |\n{ca}  bindDn: {SERVICE_DN}\n  \
         bindPassword: ${{workflow.secrets.ldap_bind}}\n  userBase: ou=people,dc=example,dc=org\n  \
         groupBase: ou=groups,dc=example,dc=org\n"
    )
}

/// Posts the sign-in form; its status.
async fn sign_in(base: &str, name: &str, password: &str) -> u16 {
    let http = vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = format!("name={name}&password={password}&next=%2Fui%2Faccount");
    let res = http
        .post(format!("{base}/ui/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// Waits until `log` has `times` lines saying the config directory was reloaded.
async fn reloaded(log: &Path, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(log).unwrap_or_default().matches("Config directory reloaded.").count() < times {
        assert!(Instant::now() < deadline, "no reload");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_with_their_directory_password() {
    let dir = tempfile::tempdir().unwrap();
    let Some(ldap) = slapd::start(&dir.path().join("slapd"), PEOPLE).await else { return };
    let Some(browser) = Browser::start(1100, 900).await else { return };
    let db = dir.path().join("v.db");
    let config = sso_config(dir.path(), &provider_file(&ldap.ldaps_url, &ldap.ca_pem, false));
    set_secret(&db, "ldap_bind", SERVICE_PASSWORD);
    let added =
        run_with_stdin(&db, &["user", "add", "twin", "--role", "read", "--password-stdin"], "twin-local-passw0rd");
    assert!(added, "a local account named twin");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("vigil.log");
    let child = vigil(&db)
        .env("RUST_LOG", "info")
        .args(["serve", "--auth", "on", "--listen", &format!("127.0.0.1:{port}"), "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _server = KillOnDrop(child);
    wait_healthy(&base).await;

    // Cara signs in with the ordinary form, over ldaps://.
    browser.goto(&format!("{base}/ui/account")).await;
    browser.type_into(&browser.wait_for("#name", Duration::from_secs(15)).await, "Cara").await;
    browser.type_into(&browser.find("#password").await, "cara-pa55word-1").await;
    browser.click(&browser.find("#account-signin button[type=submit]").await).await;
    browser.wait_for("#account-name", Duration::from_secs(15)).await;
    assert_eq!(browser.text(&browser.find("#account-name").await).await, "cara");
    assert_eq!(browser.text(&browser.find("#account-teams").await).await, "pay (write)");
    assert_eq!(browser.text(&browser.find("#account-groups").await).await, "pay-eng");
    assert!(browser.html().await.contains("Cara Ops"), "the directory's name for her");
    browser.screenshot("ldap-account").await;
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !browser.url().await.starts_with(&format!("{base}/ui/signin")) {
        assert!(Instant::now() < deadline, "signed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.quit().await;

    // Refused: a wrong password, names that would widen the search, an empty password (an
    // anonymous bind to a directory).
    assert_eq!(sign_in(&base, "cara", "wrong-password").await, 401);
    assert_eq!(sign_in(&base, "%2A", "cara-pa55word-1").await, 401, "`*`");
    assert_eq!(sign_in(&base, "cara%29%28uid%3D%2A", "cara-pa55word-1").await, 401, "`cara)(uid=*`");
    assert_eq!(sign_in(&base, "dev", "").await, 401);
    assert_eq!(sign_in(&base, "dev", "dev-pa55word-1").await, 303, "dev, into search");
    // A local account of the same name keeps its own password: the directory's is not it.
    assert_eq!(sign_in(&base, "twin", "twin-directory-pw").await, 401);
    assert_eq!(sign_in(&base, "twin", "twin-local-passw0rd").await, 303);
    let users = String::from_utf8(run(&db, &["user", "list"]).stdout).unwrap();
    assert!(users.lines().any(|l| l.contains("dev") && l.contains("ldap")), "{users}");
    assert!(users.lines().any(|l| l.contains("twin") && l.contains("local")), "{users}");

    // A certificate vigil does not trust: the directory cannot be reached.
    let reloads = |n| reloaded(&log, n);
    let untrusted = std::fs::read_to_string(dir.path().join("slapd/server.pem")).unwrap();
    let other_ca = provider_file(&ldap.ldaps_url, &untrusted, false);
    std::fs::write(config.join("identity-providers/corp.yaml"), other_ca).unwrap();
    reloads(1).await;
    assert_eq!(sign_in(&base, "dev", "dev-pa55word-1").await, 503, "an untrusted certificate");
    // StartTLS on ldap://, with the right authority.
    std::fs::write(config.join("identity-providers/corp.yaml"), provider_file(&ldap.ldap_url, &ldap.ca_pem, true))
        .unwrap();
    reloads(2).await;
    assert_eq!(sign_in(&base, "dev", "dev-pa55word-1").await, 303, "StartTLS");

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("Could not check a sign-in with a directory"), "the refusal is logged: {logs}");
    for secret in [SERVICE_PASSWORD, "cara-pa55word-1", "dev-pa55word-1", "twin-local-passw0rd"] {
        assert!(!logs.contains(secret), "a log line holds `{secret}`");
    }
}

/// Runs `vigil args` with `input` on stdin; whether it succeeded.
fn run_with_stdin(db: &Path, args: &[&str], input: &str) -> bool {
    use std::io::Write;
    let mut child =
        vigil(db).args(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait().unwrap().success()
}
