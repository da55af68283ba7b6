//! Issue 37, status pages editable in the UI: pages written through the API and the web UI are
//! checked as their files would be (problems located by line), served without sign-in, kept
//! across a restart, served by every node of a cluster (also after the node that wrote one is
//! killed), and removed; a page of the config directory is not replaced.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webdriver::Browser;
use support::*;

const PAGE: &str =
    "slug: shop\ntitle: Shop status\n# written through the API\ncomponents:\n  - name: Storefront\n    monitor: web\n";

/// A config directory with monitor `web` (checking `target`) and a page `acme` of its own.
fn config_dir(dir: &std::path::Path, target: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["monitors", "status-pages"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let checks = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {target}/health\n      conditions: [\"[STATUS] == 200\"]\n"
    );
    std::fs::write(config.join("monitors/m.yaml"), checks).unwrap();
    std::fs::write(
        config.join("status-pages/acme.yaml"),
        "slug: acme\ntitle: Acme status\ncomponents:\n  - name: Website\n    monitor: web\n",
    )
    .unwrap();
    config
}

async fn put(base: &str, token: &str, slug: &str, body: &str, json: bool) -> (u16, String) {
    let http = vigil_connectors::http_client();
    let res = http
        .put(format!("{base}/api/v1/status-pages/{slug}"))
        .bearer_auth(token)
        .header("content-type", if json { "application/json" } else { "application/yaml" })
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn public(base: &str, slug: &str) -> (u16, String) {
    let res = vigil_connectors::http_client().get(format!("{base}/status/{slug}")).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Waits up to 20 s for `base` to serve page `slug` with `text` (or, with `None`, not at all).
async fn served(base: &str, slug: &str, text: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, html) = public(base, slug).await;
        let ok = match text {
            Some(t) => status == 200 && html.contains(t),
            None => status == 404,
        };
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "{base}/status/{slug}: {status} {html}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_written_through_the_api_are_checked_served_kept_and_removed() {
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let read = token(&db, "read");
    let port = free_port();
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on"]).await;
    let mut child = KillOnDrop(child);

    // Problems are located by line, and nothing is written.
    let duplicate = format!("{PAGE}  - name: Storefront\n    monitor: web\n");
    let (status, said) = put(&base, &write, "shop", &duplicate, false).await;
    assert!(status == 400 && said.contains(":7:") && said.contains("components[1].name"), "{status} {said}");
    let (status, said) = put(&base, &write, "shop", "{\"slug\": \"shop\",", true).await;
    assert!(status == 400 && said.contains("invalid JSON"), "{status} {said}");
    let (status, said) = put(&base, &write, "other", PAGE, false).await;
    assert!(status == 400 && said.contains("slug"), "the slug is the address's: {status} {said}");
    let (status, said) = put(&base, &write, "acme", &PAGE.replace("shop", "acme"), false).await;
    assert!(status == 409 && said.contains("config directory"), "{status} {said}");
    let (status, _) = put(&base, &read, "shop", PAGE, false).await;
    assert_eq!(status, 403, "writing a page needs a write token");
    assert_eq!(public(&base, "shop").await.0, 404);

    // Written: served without sign-in, listed, read back as written.
    let (status, said) = put(&base, &write, "shop", PAGE, false).await;
    assert_eq!(status, 201, "{said}");
    served(&base, "shop", Some("Storefront")).await;
    let http = vigil_connectors::http_client();
    let listed: Value =
        http.get(format!("{base}/api/v1/status-pages")).bearer_auth(&read).send().await.unwrap().json().await.unwrap();
    let sources: Vec<(String, String)> = listed["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["slug"].as_str().unwrap().to_string(), p["source"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(sources, [("acme".to_string(), "file".to_string()), ("shop".to_string(), "api".to_string())]);
    let one: Value = http
        .get(format!("{base}/api/v1/status-pages/shop"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["text"], PAGE, "kept as written, comments too");

    // Replaced as JSON; kept through a kill.
    let json_page =
        json!({"slug": "shop", "title": "Shop status", "components": [{"name": "Checkout", "monitor": "web"}]});
    let (status, said) = put(&base, &write, "shop", &json_page.to_string(), true).await;
    assert_eq!(status, 200, "{said}");
    served(&base, "shop", Some("Checkout")).await;
    // Killed (SIGKILL): what was written stays.
    let _ = child.0.kill();
    let _ = child.0.wait();
    let (child, base) = serve_api(&db, &config, port, &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    served(&base, "shop", Some("Checkout")).await;

    // Removed; a page of the config directory is not.
    let res = http.delete(format!("{base}/api/v1/status-pages/shop")).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 204);
    served(&base, "shop", None).await;
    let res = http.delete(format!("{base}/api/v1/status-pages/acme")).bearer_auth(&write).send().await.unwrap();
    assert_eq!(res.status(), 409);
    served(&base, "acme", Some("Website")).await;
}

/// Two nodes on PostgreSQL, only the first with `--config`: a page written through the second
/// is served by the first, and still after the second is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_written_on_one_node_is_served_by_every_node() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_page_editor").await else { return };
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    let db = std::path::PathBuf::from(&pg.url);
    let (first, first_base) = serve_api(&db, &config, free_port(), &["--lease-ttl", "4"]).await;
    let _first = KillOnDrop(first);
    let (mut second, second_base) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    served(&second_base, "acme", Some("Website")).await;

    let write = token(&db, "write");
    let (status, said) = put(&second_base, &write, "shop", PAGE, false).await;
    assert_eq!(status, 201, "{said}");
    served(&first_base, "shop", Some("Storefront")).await;
    let _ = second.0.kill();
    let _ = second.0.wait();
    let (status, said) = put(&first_base, &write, "shop", &PAGE.replace("Storefront", "Checkout"), false).await;
    assert_eq!(status, 200, "{said}");
    served(&first_base, "shop", Some("Checkout")).await;
}

/// Operators write a page in the web UI in headless Chromium: its problems are shown by line
/// with the text kept, then it is saved, served, edited and deleted. A read token's session can
/// do none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_write_a_page_in_the_ui() {
    let Some(browser) = Browser::start(1280, 900).await else { return };
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    let db = dir.path().join("vigil.db");
    let write = token(&db, "write");
    let read = token(&db, "read");
    let (child, base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let _child = KillOnDrop(child);
    let set_text = async |text: &str| {
        browser.script(&format!("document.querySelector('#page-text').value = {}", json!(text))).await;
    };

    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages")).await;
    browser.click(&browser.find("#new-page").await).await;
    browser.wait_for("form.page-editor", Duration::from_secs(10)).await;
    let typo = PAGE.replace("monitor: web", "monitr: web");
    set_text(&typo).await;
    browser.click(&browser.find("form.page-editor button[type=submit]").await).await;
    browser.shows("The page was not saved").await;
    browser.shows("line 6").await;
    let kept = browser.script("return document.querySelector('#page-text').value").await;
    assert_eq!(kept, json!(typo), "the text is kept");
    set_text(PAGE).await;
    browser.click(&browser.find("form.page-editor button[type=submit]").await).await;
    browser.shows("Page saved").await;
    served(&base, "shop", Some("Storefront")).await;

    browser.click(&browser.find("a[href='/ui/status-pages/shop/edit']").await).await;
    browser.wait_for("form.page-editor", Duration::from_secs(10)).await;
    let shown = browser.script("return document.querySelector('#page-text').value").await;
    assert_eq!(shown, json!(PAGE), "the page as written");
    set_text(&PAGE.replace("Shop status", "Shop, all of it")).await;
    browser.click(&browser.find("form.page-editor button[type=submit]").await).await;
    browser.shows("Page saved").await;
    served(&base, "shop", Some("Shop, all of it")).await;

    // The file's page says where it changes; a read token's session sees no way to write.
    browser.goto(&format!("{base}/ui/status-pages/acme")).await;
    browser.shows("it changes in its file").await;
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;
    browser.sign_in(&base, &read).await;
    browser.goto(&format!("{base}/ui/status-pages/shop")).await;
    browser.shows("Written in the web UI").await;
    let html = browser.html().await;
    assert!(!html.contains("/edit") && !html.contains("/delete") && !html.contains("new-page"), "{html}");
    browser.goto(&format!("{base}/ui/status-pages")).await;
    assert!(!browser.html().await.contains("new-page"));
    browser.click(&browser.find("form[action='/ui/signout'] button").await).await;
    browser.wait_for("#token", Duration::from_secs(10)).await;

    browser.sign_in(&base, &write).await;
    browser.goto(&format!("{base}/ui/status-pages/shop")).await;
    browser.click(&browser.find("form[action='/ui/status-pages/shop/delete'] button").await).await;
    browser.shows("Page deleted").await;
    served(&base, "shop", None).await;
}
