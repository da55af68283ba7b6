//! Teams declared in the config directory's `teams/`: `vigil validate` locates a bad one; `vigil
//! serve` scopes a member's token to its team's monitors; a changed team file reaches the running
//! server with the next reload.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const PAY_TEAM: &str = "name: pay\nmembers:\n  ana: editor\nowns:\n  monitors: [\"pay-*\"]\n";

fn config_dir(dir: &std::path::Path, target: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::create_dir_all(config.join("teams")).unwrap();
    let check = |name: &str| {
        format!(
            "- name: {name}\n  every: 1h\n  source:\n    http:\n      url: {target}/health\n      conditions: [\"[STATUS] == 200\"]\n"
        )
    };
    std::fs::write(config.join("monitors/m.yaml"), check("pay-api") + &check("search-index")).unwrap();
    std::fs::write(config.join("teams/pay.yaml"), PAY_TEAM).unwrap();
    config
}

async fn get(base: &str, token: &str, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// A `write` token of ana, made by `admin` through the API (which knows her team role).
async fn editor_token(base: &str, admin: &str) -> String {
    let made = reqwest::Client::new()
        .post(format!("{base}/api/v1/users/ana/tokens"))
        .bearer_auth(admin)
        .json(&json!({"name": "ci", "role": "write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201, "a token up to her team role");
    made.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

#[test]
fn validate_locates_a_bad_team() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), "http://127.0.0.1:9");
    std::fs::write(config.join("teams/bad.yaml"), "name: search\nmembers:\n  bob: owner\nowns:\n  monitors: [\"*\"]\n")
        .unwrap();
    let out = run(&dir.path().join("v.db"), &["validate", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("teams/bad.yaml:3:") && text.contains("members.bob") && text.contains("not a role"),
        "{text}"
    );
    assert!(text.contains("owns.monitors[0]"), "{text}");
    assert!(!text.contains("pay.yaml"), "the good team is fine: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_token_sees_its_teams_monitors_and_follows_the_team_file() {
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    let db = dir.path().join("vigil.db");
    let added = run(&db, &["user", "add", "ana", "--service", "--role", "none"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let admin = token(&db, "admin");
    let port = free_port();
    let (server, base) = serve_api(&db, &config, port, &["--auth", "on"]).await;
    let server = KillOnDrop(server);

    let ana = editor_token(&base, &admin).await;
    let (status, monitors) = get(&base, &ana, "/api/v1/monitors").await;
    assert_eq!(status, 200, "{monitors}");
    let names: Vec<&str> = monitors["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pay-api"]);
    assert_eq!(get(&base, &ana, "/api/v1/monitors/search-index").await.0, 404);
    assert_eq!(get(&base, &admin, "/api/v1/monitors/search-index").await.0, 200);

    // She leaves the team in the file: the reload takes her rights away.
    std::fs::write(config.join("teams/pay.yaml"), PAY_TEAM.replace("ana", "val")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&base, &ana, "/api/v1/monitors").await.0 == 200 {
        assert!(Instant::now() < deadline, "the reloaded team file did not take her rights");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get(&base, &ana, "/api/v1/me").await.0, 401, "a token of an account with no role anywhere");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_the_config_scopes_members_by_the_published_teams_after_the_other_dies() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_teams_cluster").await else { return };
    let db = std::path::PathBuf::from(&pg.url);
    let target = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path(), &target.url);
    assert!(run(&db, &["user", "add", "ana", "--service", "--role", "none"]).status.success());
    let admin = token(&db, "admin");
    let (a, a_base) = serve_api(&db, &config, free_port(), &["--auth", "on"]).await;
    let mut a = KillOnDrop(a);
    let (_b, b_base) = serve_without_config(&db, &["--auth", "on"]).await;
    let ana = editor_token(&a_base, &admin).await;
    let _ = a.0.kill();
    let _ = a.0.wait();
    let (status, monitors) = get(&b_base, &ana, "/api/v1/monitors").await;
    assert_eq!(status, 200, "{monitors}");
    let names: Vec<&str> = monitors["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pay-api"], "the node without --config knows the teams");
    assert_eq!(get(&b_base, &ana, "/api/v1/monitors/search-index").await.0, 404);
    pg.drop_now().await;
}
