//! The SQLite WAL does not keep a burst's peak size: once the store is idle the background
//! checkpointer truncates it.

use std::time::{Duration, Instant};

use serde_json::json;
use vigil_core::instance::Instance;
use vigil_store::{CommitBatch, InstanceRow, SqliteStore, Store};

#[tokio::test]
async fn an_idle_store_truncates_its_wal_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let wal = dir.path().join("v.db-wal");
    let padding = "x".repeat(4_000);
    for batch in 0..20 {
        let rows = (0..500)
            .map(|n| {
                let i = Instance::new(format!("b{batch}-{n}"), "burst".into(), 1, json!({"pad": padding}), n);
                InstanceRow::from_instance(&i)
            })
            .collect();
        store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    }
    let peak = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(peak > 1_000_000, "the burst went through the WAL ({peak} bytes)");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL is still {size} bytes after the store went idle (peak {peak})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.instance("b19-499").await.unwrap().is_some(), "nothing was lost");
}
