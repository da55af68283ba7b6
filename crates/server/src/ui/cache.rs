//! What the overview shows for every monitor but cannot afford to read per request: each
//! monitor's last 24 hours as 24 hourly buckets, and its uptime over 24 hours, 7 days and 30 days.
//! Both come from the rollups, which change only when monitor history is written (every few
//! minutes), so a snapshot a minute old is as fresh as the store; with 10,000 monitors it is
//! about 240,000 small rows, read in the background while the previous snapshot is served.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use vigil_core::time::Millis;
use vigil_runtime::Engine;
use vigil_runtime::monitors::uptime::{self, Counts};

use super::charts::{Bucket, slotted};

/// How old a snapshot may be before a request starts a refresh.
const FRESH: Duration = Duration::from_secs(60);
const HOUR: Millis = 3_600_000;
/// Hourly slots in a sparkline.
pub const SLOTS: usize = 24;

/// Per-monitor sparklines and uptime.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Each monitor's 24 hourly slots, oldest first.
    pub slots: HashMap<String, Vec<Option<Bucket>>>,
    /// Each monitor's uptime counts.
    pub uptime: HashMap<String, Counts>,
}

#[derive(Default)]
struct State {
    snapshot: Option<Arc<Snapshot>>,
    read_at: Option<Instant>,
    refreshing: bool,
}

/// The cache: one per UI router (so per engine).
#[derive(Default)]
pub struct Sparklines {
    state: Arc<Mutex<State>>,
}

impl Sparklines {
    /// The current snapshot. The first call reads one; later calls answer at once and start a
    /// refresh in the background when the snapshot is older than a minute.
    pub async fn get(&self, engine: &Engine) -> Arc<Snapshot> {
        let mut state = self.state.lock().await;
        let stale = state.read_at.is_none_or(|t| t.elapsed() >= FRESH);
        match state.snapshot.clone() {
            Some(snap) if !stale || state.refreshing => snap,
            Some(snap) => {
                state.refreshing = true;
                let (shared, engine) = (self.state.clone(), engine.clone());
                tokio::spawn(async move {
                    let fresh = read(&engine).await;
                    let mut state = shared.lock().await;
                    state.refreshing = false;
                    if let Some(fresh) = fresh {
                        state.snapshot = Some(Arc::new(fresh));
                        state.read_at = Some(Instant::now());
                    }
                });
                snap
            }
            None => {
                let snap = Arc::new(read(engine).await.unwrap_or_default());
                state.snapshot = Some(snap.clone());
                state.read_at = Some(Instant::now());
                snap
            }
        }
    }
}

/// Reads a snapshot from the store (`None` when the store fails; the error is logged).
async fn read(engine: &Engine) -> Option<Snapshot> {
    let now = engine.now();
    let to = now - now.rem_euclid(HOUR) + HOUR;
    let from = to - SLOTS as i64 * HOUR;
    let rows = match engine.monitor_rollups("", HOUR, from, u32::MAX).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "The UI could not read monitor rollups.");
            return None;
        }
    };
    let mut per_monitor: HashMap<String, Vec<Bucket>> = HashMap::new();
    for row in &rows {
        per_monitor.entry(row.monitor.clone()).or_default().push(Bucket::of(row));
    }
    let slots = per_monitor.into_iter().map(|(m, b)| (m, slotted(&b, from, to, SLOTS))).collect();
    let counts = engine.monitor_uptime("").await.ok()?;
    let uptime = uptime::per_monitor(&counts).into_iter().map(|(m, c)| (m.to_string(), c)).collect();
    Some(Snapshot { slots, uptime })
}
