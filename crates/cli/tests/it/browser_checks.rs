//! Browser checks through `vigil serve`, `vigil check` and `vigil validate`, in headless
//! Chromium: a failed visit's screenshot and console are kept in the store and served by the API
//! and the monitor's page; `vigil check` writes the screenshot to a file; without Chromium both
//! commands say so plainly. Skipped with a message when Chromium is missing, unless
//! `VIGIL_REQUIRE_SERVICES=1` (CI).

use crate::support;

use std::path::Path;

use axum::response::Html;
use serde_json::Value;
use support::*;

fn chromium_here() -> bool {
    match vigil_connectors::sources::browser::chromium::find() {
        Ok(_) => true,
        Err(why) => {
            assert!(
                !std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"),
                "VIGIL_REQUIRE_SERVICES=1 but {why}"
            );
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// A shop whose sign-in greets someone other than the check expects.
async fn shop() -> String {
    let page = r#"<!doctype html><title>Shop</title><form action="/home"><input id="user" name="user">
        <button id="go">Sign in</button></form><script>console.warn('old browser API used')</script>"#;
    let app = axum::Router::new()
        .route("/signin", axum::routing::get(move || async move { Html(page) }))
        .route("/home", axum::routing::get(|| async { Html("<h1>Welcome, guest</h1>") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn config(dir: &Path, base: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    let monitor = r##"name: shop
every: 1h
source:
  browser:
    url: BASE/signin
    timeout: 8s
    steps:
      - fill: {selector: "#user", text: alice}
      - click: "#go"
      - expectText: {selector: h1, contains: "Welcome, shopper"}
"##;
    std::fs::write(config.join("monitors/shop.yaml"), monitor.replace("BASE", base)).unwrap();
    config
}

#[tokio::test]
async fn a_failed_visit_keeps_its_screenshot_for_the_api_and_the_monitor_page() {
    if !chromium_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &shop().await);
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let checked: Value =
        http.post(format!("{base}/api/v1/monitors/shop/check")).send().await.unwrap().json().await.unwrap();
    let note = checked["series"][0]["note"].as_str().unwrap_or_default().to_string();
    assert_eq!(note, "step 3 (expectText `h1` to contain `Welcome, shopper`): found `Welcome, guest`", "{checked}");
    let kept: Value =
        http.get(format!("{base}/api/v1/monitors/shop/evidence")).send().await.unwrap().json().await.unwrap();
    let item = &kept["items"][0];
    assert_eq!(item["note"], note.as_str());
    assert!(item["console"].as_str().unwrap().contains("warning: old browser API used"), "{item}");
    let png = http.get(format!("{base}{}", item["screenshot"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    let page = http.get(format!("{base}/ui/monitors/shop")).send().await.unwrap().text().await.unwrap();
    let shown = format!("/ui/monitors/shop/evidence/{}", item["atMillis"]);
    assert!(page.contains("Last failed visit") && page.contains(&shown), "{page}");
    let png = http.get(format!("{base}{shown}")).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let missing = http.get(format!("{base}/api/v1/monitors/shop/evidence/1/screenshot")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn check_writes_the_screenshot_and_both_commands_say_when_chromium_is_missing() {
    if !chromium_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &shop().await);
    let db = dir.path().join("v.db");
    let (_, out) = check_async(&db, &config, "shop").await;
    let written = out.lines().find_map(|l| l.trim().strip_prefix("screenshot: ")).unwrap_or_else(|| panic!("{out}"));
    assert!(std::fs::read(written).unwrap().starts_with(b"\x89PNG"), "{out}");
    assert!(out.contains("warning: old browser API used"), "{out}");

    // A machine without Chromium: nothing on PATH, nothing named.
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let without = |args: &[&str]| {
        let out = vigil(&db).env("PATH", &empty).env_remove("VIGIL_CHROMIUM").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let plainly = "a browser check needs Chromium, and this machine has none";
    let out = without(&["check", "shop", "--config", config.to_str().unwrap()]);
    assert!(out.contains(plainly), "{out}");
    let out = without(&["validate", config.to_str().unwrap()]);
    assert!(out.contains("shop.yaml:4:3: warning: source.browser: monitor `shop` will fail on this machine"), "{out}");
    assert!(out.contains(plainly) && out.contains("ok: "), "a warning, not an error: {out}");
}
