//! Routed pushed alerts are stored in their groups one row each, by an id the alert manager hands
//! out from a block it reserved. An engine started again on the same database knows each stored
//! alert's id: re-posting an alert rewrites its row, a resolved one told leaves by its id, a new
//! one gets an id of a new block (never one of the first engine's), and an emptied group leaves
//! nothing behind.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::AlertStore;

use serde_json::json;
use vigil_core::def::WorkflowSet;
use vigil_core::time::{Clock, ManualClock};
use vigil_runtime::{Engine, EngineConfig, SecretValues};
use vigil_store::SqliteStore;

const MIN: i64 = 60_000;

async fn engine(db: &std::path::Path, clock: Arc<ManualClock>) -> (Engine, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open(db).await.unwrap());
    let routes = "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1m\n  \
                  repeat_interval: 4h\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: http://127.0.0.1:9/hook\n";
    let config = EngineConfig { alertmanager_config: Some(routes.into()), ..EngineConfig::default() };
    let engine =
        Engine::start(store.clone(), clock, config, WorkflowSet::default(), SecretValues::default()).await.unwrap();
    engine.set_notifiers(Vec::new());
    (engine, store)
}

/// Posts `(instance, ends in minutes, summary)` alerts named `DiskFull`.
async fn push(engine: &Engine, clock: &ManualClock, alerts: &[(&str, i64, &str)]) {
    let body: Vec<_> = alerts
        .iter()
        .map(|(instance, ends, summary)| {
            let ends = jiff::Timestamp::from_millisecond(clock.now() + ends * MIN).unwrap().to_string();
            json!({"labels": {"alertname": "DiskFull", "instance": instance}, "annotations": {"summary": summary},
                   "endsAt": ends})
        })
        .collect();
    let (alerts, errors) = vigil_core::alertmanager::read_posted(&json!(body), clock.now(), 5 * MIN).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    engine.push_alerts(&alerts).await.unwrap();
}

/// The stored alerts of every group as (instance, summary), sorted, once they are `want`; fails
/// after 20 s.
async fn until_stored(store: &SqliteStore, want: &[(&str, &str)]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut stored: Vec<(String, String)> = store
            .group_member_alerts(100)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, _, alert)| {
                let a: serde_json::Value = serde_json::from_str(&alert).unwrap();
                (a["labels"]["instance"].as_str().unwrap().into(), a["annotations"]["summary"].as_str().unwrap().into())
            })
            .collect();
        stored.sort();
        if stored.iter().map(|(i, s)| (i.as_str(), s.as_str())).eq(want.iter().copied()) {
            return;
        }
        assert!(Instant::now() < deadline, "stored {stored:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_alerts_keep_their_ids_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let (a, store) = engine(&db, clock.clone()).await;
    push(&a, &clock, &[("db1", 600, "full"), ("db2", 600, "full")]).await;
    until_stored(&store, &[("db1", "full"), ("db2", "full")]).await;
    a.shutdown().await;
    drop(a);

    // Started again: a re-posted alert rewrites its own row; a new one takes a new id.
    let (b, store) = engine(&db, clock.clone()).await;
    push(&b, &clock, &[("db1", 600, "fuller"), ("db3", 600, "full")]).await;
    until_stored(&store, &[("db1", "fuller"), ("db2", "full"), ("db3", "full")]).await;

    // Resolved and told at the group's next flush: each leaves by its id.
    push(&b, &clock, &[("db2", 0, "full"), ("db3", 0, "full")]).await;
    clock.advance(MIN);
    until_stored(&store, &[("db1", "fuller")]).await;
    push(&b, &clock, &[("db1", 0, "fuller")]).await;
    clock.advance(MIN);
    until_stored(&store, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !store.groups_in(&(0..vigil_store::PARTITIONS).collect::<Vec<_>>()).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the emptied group is gone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.shutdown().await;
}
