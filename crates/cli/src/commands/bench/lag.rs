//! What a benchmark's check server saw: when each monitor's check arrived, as a histogram of
//! lags from its slot, and the thread the server runs on, so its CPU counts apart from vigil's.

use std::sync::{Arc, Mutex};

use vigil_core::monitor::{Cadence, MonitorDef};

/// The name of the check server's thread.
pub(crate) const PEER_THREAD: &str = "bench-peer";

/// What the check server saw while measuring: a histogram of lags (slot → arrival) in
/// milliseconds, so the harness holds a fixed few kilobytes however long it runs (a list of every
/// request grew by 16 bytes a check and showed up in the RSS it reports).
#[derive(Default)]
pub(crate) struct LagLog {
    /// Each monitor's slot offset, and the interval (ms); set before the monitors start.
    pub(crate) offsets: Vec<i64>,
    pub(crate) every_ms: i64,
    /// Counting since then, until the end of the measured window.
    pub(crate) window: Option<(i64, i64)>,
    /// `counts[ms]`: requests that arrived `ms` after their slot.
    counts: Vec<u64>,
}

impl LagLog {
    pub(crate) fn record(&mut self, n: usize, at: i64) {
        let Some((from, to)) = self.window else { return };
        let Some(offset) = self.offsets.get(n) else { return };
        if (from..to).contains(&at) && self.every_ms > 0 {
            let lag = (at - offset).rem_euclid(self.every_ms) as usize;
            if self.counts.len() <= lag {
                self.counts.resize(lag + 1, 0);
            }
            self.counts[lag] += 1;
        }
    }

    /// Expects the requests of `defs`, each every `every` seconds: lag is counted from the slot a
    /// request belongs to (the latest slot at or before it).
    pub(crate) fn expect(&mut self, defs: &[MonitorDef], every: u64) {
        self.every_ms = every as i64 * 1000;
        self.offsets = defs
            .iter()
            .map(|d| match d.cadence {
                Cadence::Every { offset, .. } => offset,
                Cadence::Cron { .. } => 0,
            })
            .collect();
    }

    /// The requests counted and the lag at fraction `p` of them, then starts counting afresh.
    pub(crate) fn take(&mut self, p: f64) -> (u64, usize) {
        let out = (self.total(), self.percentile(p));
        self.counts.clear();
        out
    }

    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The lag (ms) at fraction `p` of the requests.
    pub(crate) fn percentile(&self, p: f64) -> usize {
        let rank = ((self.total() as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (ms, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return ms;
            }
        }
        self.counts.len().saturating_sub(1)
    }
}

pub(crate) type Seen = Arc<Mutex<LagLog>>;
