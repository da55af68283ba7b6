//! A monitor's last checks and unwritten history on every node of a cluster.
//!
//! Only the node running a monitor holds them (in memory: [`crate::monitors::Live`]). Another
//! node showing the monitor's page asks for them through the store (`monitor_live`): it marks the
//! monitor wanted for [`WANTED_FOR`] and reads what was relayed; the node running it writes them
//! every [`EVERY`] while they are wanted. Nothing is written for a monitor nobody looks at
//! elsewhere, and nothing at all on a node that runs alone.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::time::Millis;
use vigil_store::MonitorHistoryRow;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vigil_core::time::Clock;

use crate::cluster::ownership::Ownership;
use crate::monitors::recent::Beat;
use crate::monitors::{Live, Monitors};

/// How often the running node writes what is wanted.
const EVERY: Duration = Duration::from_secs(1);
/// How long one look at a page keeps a monitor wanted (its live part asks every 2 s).
const WANTED_FOR: Millis = 30_000;
/// A relay older than this is not shown (the monitor moved, or its node stopped).
const STALE_AFTER: Millis = 10_000;
/// Relays nobody wanted for this long are deleted.
const FORGET_AFTER: Millis = 86_400_000;

/// One unwritten bucket as relayed: series, start, checks, failing, errors, worst, min, max,
/// sum, last.
type Bucket = (String, Millis, u32, u32, u32, u8, Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// The relayed body.
#[derive(Serialize, Deserialize)]
struct Body {
    beats: Vec<Beat>,
    unwritten: Vec<Bucket>,
}

fn encode(live: &Live) -> String {
    let unwritten = live
        .unwritten
        .iter()
        .map(|r| (r.series.clone(), r.bucket, r.checks, r.failing, r.errors, r.worst, r.min, r.max, r.sum, r.last))
        .collect();
    serde_json::to_string(&Body { beats: live.beats.clone(), unwritten }).expect("a relay serializes")
}

fn decode(monitor: &str, body: &str) -> Option<Live> {
    let body: Body = serde_json::from_str(body).ok()?;
    let unwritten = body
        .unwritten
        .into_iter()
        .map(|(series, bucket, checks, failing, errors, worst, min, max, sum, last)| MonitorHistoryRow {
            monitor: monitor.to_string(),
            series,
            bucket,
            checks,
            failing,
            errors,
            worst,
            min,
            max,
            sum,
            last,
        })
        .collect();
    Some(Live { beats: body.beats, unwritten })
}

/// The relay's handle: what memory holds of a monitor, from whichever node runs it.
#[derive(Clone)]
pub struct Relay {
    monitors: Monitors,
    store: Arc<dyn vigil_store::Store>,
    clock: Arc<dyn Clock>,
    ownership: Arc<Ownership>,
    stopping: Arc<AtomicBool>,
}

impl Relay {
    /// The relay of `monitors` through `store`.
    pub(crate) fn new(
        monitors: Monitors,
        store: Arc<dyn vigil_store::Store>,
        clock: Arc<dyn Clock>,
        ownership: Arc<Ownership>,
        stopping: Arc<AtomicBool>,
    ) -> Self {
        Self { monitors, store, clock, ownership, stopping }
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    /// What only memory holds of monitor `name`, from wherever it runs: here, or relayed by the
    /// node running it (empty on the first look, until that node has written it). `None` when
    /// the monitor does not exist.
    pub async fn monitor_live(&self, name: &str) -> Option<Live> {
        let here = self.monitors.live(name).await?;
        let ownership = &self.ownership;
        if ownership.solo() || ownership.owns_key(name) {
            return Some(here);
        }
        let now = self.now();
        match self.store.want_monitor_live(name, now + WANTED_FOR).await {
            Ok(Some(row)) if now - row.written_at <= STALE_AFTER => Some(decode(name, &row.body).unwrap_or_default()),
            Ok(_) => Some(Live::default()),
            Err(e) => {
                tracing::warn!(monitor = %name, error = %e, "Could not ask for a monitor's last checks from the node running it.");
                Some(Live::default())
            }
        }
    }

    /// Writes, every second until the engine stops, what other nodes want of the monitors this
    /// node runs (the server runs this; a node running alone has nothing to do).
    pub async fn relay_monitor_live_forever(self) {
        let mut forgot = self.now();
        loop {
            tokio::time::sleep(EVERY).await;
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            if self.ownership.solo() {
                continue;
            }
            if let Err(e) = self.relay_monitor_live().await {
                tracing::debug!(error = %e, "Monitors' last checks were not relayed this time.");
            }
            let now = self.now();
            if now - forgot >= 600_000 {
                forgot = now;
                let _ = self.store.forget_monitor_live(now - FORGET_AFTER).await;
            }
        }
    }

    /// Writes what is wanted of the monitors this node runs; how many it wrote.
    pub async fn relay_monitor_live(&self) -> vigil_store::Result<usize> {
        let store = &self.store;
        let wanted = store.wanted_monitor_live(self.now()).await?;
        let mut rows = Vec::new();
        for name in wanted.into_iter().filter(|n| self.ownership.owns_key(n)) {
            if let Some(live) = self.monitors.live(&name).await {
                let body = encode(&live);
                rows.push((name, body));
            }
        }
        store.put_monitor_live(&rows, self.now()).await?;
        Ok(rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitors::recent::Outcome;

    #[test]
    fn a_relay_comes_back_as_it_was_written() {
        let row = MonitorHistoryRow {
            monitor: "web".into(),
            series: "".into(),
            bucket: 60_000,
            checks: 3,
            failing: 1,
            errors: 0,
            worst: 2,
            min: Some(1.5),
            max: Some(9.0),
            sum: Some(12.0),
            last: None,
        };
        let live = Live {
            beats: vec![Beat { at: 61_000, outcome: Outcome::Critical, took_us: 1_234 }],
            unwritten: vec![row.clone()],
        };
        let back = decode("web", &encode(&live)).unwrap();
        assert_eq!((back.beats, back.unwritten), (live.beats, vec![row]));
        assert!(decode("web", "not json").is_none());
    }
}
