//! The SQLite WAL does not keep a burst's peak size: once the store is idle, or once a busy store's
//! WAL file has grown past a few megabytes, the background checkpointer truncates it.

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

/// The checkpointer truncates a WAL larger than this even while writes go on (4 MB).
const BUSY_LIMIT: u64 = 4 * 1024 * 1024;

#[tokio::test]
async fn a_busy_store_trims_its_wal_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let wal = dir.path().join("v.db-wal");
    let padding = "x".repeat(4_000);
    let burst = (0..2_000)
        .map(|n| {
            let i = Instance::new(format!("burst-{n}"), "burst".into(), 1, json!({"pad": padding}), n);
            InstanceRow::from_instance(&i)
        })
        .collect();
    store.commit(&CommitBatch { instances: burst, ..Default::default() }).await.unwrap();
    let peak = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(peak > BUSY_LIMIT, "the burst went through the WAL ({peak} bytes)");
    // Small commits every 20 ms, of varying size so no two checkpoints see the same log length:
    // the store never looks idle, so only the size rule can trim the file.
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0..u64::MAX {
        let rows = (0..1 + n % 7)
            .map(|k| {
                let pad = "y".repeat((n as usize * 37 + k as usize * 101) % 3_000);
                let i = Instance::new(format!("steady-{n}-{k}"), "steady".into(), 1, json!({"pad": pad}), n as i64);
                InstanceRow::from_instance(&i)
            })
            .collect();
        store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size <= BUSY_LIMIT {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL is still {size} bytes under steady writes (peak {peak})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.instance("burst-1999").await.unwrap().is_some(), "nothing was lost");
}
