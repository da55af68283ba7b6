//! The SQLite WAL does not keep a burst's peak size: once the store is idle, or once a busy store's
//! WAL file has grown past a few megabytes, the background checkpointer truncates it.

use std::path::Path;
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use serde_json::json;
use vigil_core::instance::Instance;
use vigil_store::{CommitBatch, InstanceRow, SqliteStore};

/// The checkpointer truncates a WAL larger than this even while writes go on (4 MB).
const BUSY_LIMIT: u64 = 4 * 1024 * 1024;

/// The WAL file's size (0 when it is gone).
fn wal_bytes(wal: &Path) -> u64 {
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

/// Commits instances `{prefix}-0` .. `{prefix}-{count - 1}`, each with `pad` bytes of input.
async fn commit_padded(store: &SqliteStore, prefix: &str, count: i64, pad: usize) {
    let padding = "x".repeat(pad);
    let rows = (0..count)
        .map(|n| {
            let i = Instance::new(format!("{prefix}-{n}"), "burst".into(), 1, json!({"pad": padding}), n);
            InstanceRow::from_instance(&i)
        })
        .collect();
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
}

#[tokio::test]
async fn an_idle_store_truncates_its_wal_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("v.db")).await.unwrap();
    let wal = dir.path().join("v.db-wal");
    for batch in 0..20 {
        commit_padded(&store, &format!("b{batch}"), 500, 4_000).await;
    }
    let peak = wal_bytes(&wal);
    assert!(peak > 1_000_000, "the burst went through the WAL ({peak} bytes)");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let size = wal_bytes(&wal);
        if size == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL is still {size} bytes after the store went idle (peak {peak})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.instance("b19-499").await.unwrap().is_some(), "nothing was lost");
}

#[tokio::test]
async fn a_busy_store_trims_its_wal_after_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("v.db")).await.unwrap();
    let wal = dir.path().join("v.db-wal");
    commit_padded(&store, "burst", 2_000, 4_000).await;
    let peak = wal_bytes(&wal);
    assert!(peak > BUSY_LIMIT, "the burst went through the WAL ({peak} bytes)");
    // Small commits every 20 ms, of varying size so no two checkpoints see the same log length:
    // the store never looks idle, so only the size rule can trim the file.
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0.. {
        commit_padded(&store, &format!("steady{n}"), 1 + n % 7, (n as usize * 37) % 3_000).await;
        let size = wal_bytes(&wal);
        if size <= BUSY_LIMIT {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL is still {size} bytes under steady writes (peak {peak})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.instance("burst-1999").await.unwrap().is_some(), "nothing was lost");
}
