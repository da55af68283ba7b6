//! The background checkpointer: copies the WAL into the database file beside the writer, and keeps
//! the WAL file small.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

/// How often the WAL is checkpointed in the background.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How long the checkpointer's connection waits for a lock before giving up until the next round.
/// A truncating checkpoint holds the write lock while it waits for readers, so this bounds how long
/// it can stall the writer.
pub(super) const CHECKPOINT_BUSY_TIMEOUT: Duration = Duration::from_millis(10);

/// A WAL file larger than this is truncated as soon as a checkpoint has copied all of it, even
/// while the store is busy (bytes). Under steady load a round's frames fit well within it, so it
/// only trims what a burst (a history round, a prune, a reader holding an old snapshot) left.
const TRUNCATE_ABOVE: u64 = 4 * 1024 * 1024;

/// What one round of the loop does after its passive checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Nothing more; remember the log's frame count for the next round.
    Keep,
    /// Truncate the WAL file to zero bytes.
    Truncate,
}

/// Decides whether to truncate: only when the passive checkpoint copied every frame (so the
/// truncating one has nothing to copy and holds the writer only briefly), and either nothing new
/// came since the last round (the store is idle) or the file is larger than [`TRUNCATE_ABOVE`].
fn next(busy: i64, frames: i64, copied: i64, last_frames: i64, wal_bytes: u64) -> Next {
    let all_copied = busy == 0 && frames > 0 && frames == copied;
    if all_copied && (frames == last_frames || wal_bytes > TRUNCATE_ABOVE) { Next::Truncate } else { Next::Keep }
}

/// Checkpoints the WAL (PASSIVE: it never waits for, or blocks, the writer) until `alive` is gone,
/// truncating the file when [`next`] says so. A quiet store takes no more disk than its data, and a
/// busy one's WAL stays near what one round writes.
pub(super) async fn checkpoint_loop(pool: SqlitePool, wal: PathBuf, alive: Weak<()>) {
    let mut last_frames = -1;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if alive.upgrade().is_none() {
            pool.close().await;
            return;
        }
        // A failed checkpoint is harmless: the next one, or the writer's backstop, catches up.
        let Ok(row) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await else { continue };
        let (busy, frames, copied): (i64, i64, i64) =
            (row.try_get(0).unwrap_or(1), row.try_get(1).unwrap_or(-1), row.try_get(2).unwrap_or(-1));
        let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        match next(busy, frames, copied, last_frames, wal_bytes) {
            Next::Truncate => {
                // Busy (a reader still on an old snapshot) leaves the file for the next round.
                let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await;
                last_frames = 0;
            }
            Next::Keep => last_frames = frames,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: u64 = 1024;

    #[test]
    fn an_idle_store_is_truncated() {
        assert_eq!(next(0, 10, 10, 10, SMALL), Next::Truncate);
    }

    #[test]
    fn a_busy_store_with_a_small_wal_is_left_alone() {
        assert_eq!(next(0, 12, 12, 10, SMALL), Next::Keep);
    }

    #[test]
    fn a_busy_store_with_a_large_wal_is_truncated_once_everything_is_copied() {
        assert_eq!(next(0, 12, 12, 10, TRUNCATE_ABOVE + 1), Next::Truncate);
    }

    #[test]
    fn frames_not_yet_copied_are_never_truncated() {
        assert_eq!(next(0, 12, 11, 12, TRUNCATE_ABOVE + 1), Next::Keep);
        assert_eq!(next(1, 12, 12, 12, TRUNCATE_ABOVE + 1), Next::Keep);
        assert_eq!(next(0, 0, 0, 0, TRUNCATE_ABOVE + 1), Next::Keep);
    }
}
