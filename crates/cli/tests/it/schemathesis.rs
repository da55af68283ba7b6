//! Schemathesis (from PyPI) fuzzes the running API from its own OpenAPI document, the native API
//! and the Conductor subset: no 5xx, every status code, content type, header and body as
//! documented, and invalid input refused. Seeded, so a failure reproduces.

use crate::support;

use std::process::Command;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let candidates = on_path("st");
    let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let Some(st) = service_binary(&refs, "schemathesis (pip install schemathesis)") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::write(
        config.join("workflows/approval.yaml"),
        "name: approval\ntasks:\n  - {name: approve, taskReferenceName: approve, type: HUMAN}\n",
    )
    .unwrap();
    std::fs::write(
        config.join("workflows/quick.yaml"),
        "name: quick\ntasks:\n  - {name: one, taskReferenceName: one, type: SET_VARIABLE, inputParameters: {customStatus: done}}\n",
    )
    .unwrap();
    let (child, base) = serve_api(&dir.path().join("v.db"), &config, free_port(), &[]).await;
    let child = KillOnDrop(child);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .args(["run", &format!("{base}/api/v1/openapi.json")])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection"])
            .args(["--max-examples", "40", "--seed", "1", "--no-color"])
            // Long polls wait up to their `timeout` by design (30 s at most), and so does a
            // Durable Functions start with `timeout` (300 s at most); fuzzing them would only
            // measure waiting. Their limits and answers are covered by tests/conductor_api.rs and
            // server/tests/durable.rs.
            .args(["--exclude-path-regex", "^/api/tasks/poll|^/runtime/webhooks/durabletask/orchestrators"])
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    drop(child);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("Tested:"), "{report}");
}
