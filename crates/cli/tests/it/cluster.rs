//! `vigil cluster status`: a running node shows as alive with a recent heartbeat, a stopped one as
//! stopped, and the scheduling lag of recent fires is reported.

use crate::support;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_shows_nodes_heartbeats_and_scheduling_lag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = dir.path().join("config");
    for sub in ["workflows", "schedules"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(
        config.join("workflows/a.yaml"),
        "name: a\ntasks:\n  - {name: s, taskReferenceName: s, type: SET_VARIABLE, inputParameters: {x: 1}}\n",
    )
    .unwrap();
    let schedule = json!({"name": "tick", "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": "a"}});
    std::fs::write(config.join("schedules/tick.json"), schedule.to_string()).unwrap();
    let (child, _) = serve_api(&db, &config, free_port(), &[]).await;
    let status = async || run_async(db.clone(), vec!["cluster".into(), "status".into()]).await;
    wait_until(20, "the schedule never fired", async || {
        String::from_utf8_lossy(&status().await.stdout).contains("scheduling lag (last 5 minutes,")
    })
    .await;
    let out = status().await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(" alive").count(), 1, "{text}");
    assert!(text.contains("64 (0-63)") && text.contains("none unowned"), "the one node holds every partition: {text}");
    assert!(text.contains("scheduling lag (last 5 minutes,"), "{text}");
    stop(child);
    let text = String::from_utf8_lossy(&run(&db, &["cluster", "status"]).stdout).to_string();
    assert!(text.contains("stopped") && !text.contains(" alive"), "{text}");
}
