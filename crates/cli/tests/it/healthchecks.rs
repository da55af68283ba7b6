//! Healthchecks' own ping tests (`hc/api/tests/test_ping.py` and `test_ping_by_slug.py` at
//! healthchecks/healthchecks 29b5ec2), ported to HTTP in `tests/healthchecks/test_ping.py`, run
//! against `vigil serve` with one heartbeat per test (ids in Healthchecks' UUID form; slug URLs
//! with the secret `ping_key`). The ported tests must all pass; the
//! ones for features vigil lacks are listed in the script (and in the README).

use crate::support;

use std::process::Command;

use support::*;

/// Whether `python3` runs; otherwise the test is skipped visibly (or fails when
/// `VIGIL_REQUIRE_SERVICES=1`).
fn python_available() -> bool {
    let ok = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        let msg = "python3 is not installed";
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

/// The project's ping key for slug URLs (Healthchecks' tests use 22 `p`s).
const PING_KEY: &str = "pppppppppppppppppppppp";

/// A UUID for heartbeat `n` (fixed, so a failure names the same id every run).
fn id(n: usize) -> String {
    format!("{n:08x}-9850-4b27-af5d-6c9dc157ec02")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthchecks_ping_tests_pass_against_vigil() {
    if !python_available() {
        return;
    }
    const CHECKS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    let mut monitors = String::new();
    for n in 0..CHECKS {
        monitors += &format!("- name: hc-{n:02}\n  every: 1h\n  heartbeat: {{grace: 1h, id: '{}'}}\n", id(n));
    }
    monitors +=
        &format!("- name: hc-paused\n  every: 1h\n  paused: true\n  heartbeat: {{grace: 1h, id: '{}'}}\n", id(999));
    const SLUGS: usize = 16;
    for n in 0..SLUGS {
        monitors += &format!("- name: slug-{n:02}\n  every: 1h\n  heartbeat: {{grace: 1h}}\n");
    }
    std::fs::write(config.join("monitors/checks.yaml"), monitors).unwrap();
    set_secret(&db, "ping_key", PING_KEY);
    let slugs = serde_json::json!((0..SLUGS).map(|n| format!("slug-{n:02}")).collect::<Vec<_>>()).to_string();
    let (child, base) = serve_api(&db, &config, free_port(), &["--heartbeats-created-most", "2"]).await;
    let _server = KillOnDrop(child);
    let checks: Vec<serde_json::Value> =
        (0..CHECKS).map(|n| serde_json::json!({"name": format!("hc-{n:02}"), "id": id(n)})).collect();
    let script = root().join("crates/cli/tests/healthchecks/test_ping.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .env("VIGIL_URL", base)
            .env("HC_CHECKS", serde_json::Value::Array(checks).to_string())
            .env("HC_PAUSED_ID", id(999))
            .env("HC_SLUGS", slugs)
            .env("HC_PING_KEY", PING_KEY)
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "Healthchecks' ping tests failed against vigil:\n{stdout}\n{stderr}");
}
