//! Uptime over 24 hours, 7 days and 30 days: the share of checks that were not failing, summed
//! from the hourly and daily rollups (24, 168 and 30 rows per series), so a listing of thousands
//! of monitors reads a few hundred thousand small rows at most.
//!
//! The rollups are written with the history (every `--monitor-history-flush`), so the newest
//! minutes are not counted yet.

use std::collections::BTreeMap;

use vigil_core::time::Millis;
use vigil_store::Store;

use super::record::ROLLUP_WIDTHS;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// The windows, their names and the rollup width each is summed from.
pub const WINDOWS: [(&str, Millis, Millis); 3] = [("24h", DAY, HOUR), ("7d", 7 * DAY, HOUR), ("30d", 30 * DAY, DAY)];

/// Checks and failing checks of one series (or monitor) per window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts(pub [(u64, u64); 3]);

impl Counts {
    /// The share of checks not failing per window; `None` where there were no checks.
    pub fn ratios(&self) -> [Option<f64>; 3] {
        self.0.map(|(checks, failing)| (checks > 0).then(|| (checks - failing.min(checks)) as f64 / checks as f64))
    }

    fn add(&mut self, window: usize, checks: u64, failing: u64) {
        self.0[window].0 += checks;
        self.0[window].1 += failing;
    }
}

/// Uptime counts per `(monitor, series)` of `monitor` (every monitor when empty) at `now`.
pub async fn read(
    store: &dyn Store,
    monitor: &str,
    now: Millis,
) -> vigil_store::Result<BTreeMap<(String, String), Counts>> {
    debug_assert!(WINDOWS.iter().all(|(_, _, w)| ROLLUP_WIDTHS.contains(w)));
    let mut out: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for (i, (_, window, width)) in WINDOWS.iter().enumerate() {
        let start = now - window;
        let since = start - start.rem_euclid(*width);
        for row in store.monitor_uptime(monitor, *width, since).await? {
            out.entry((row.monitor, row.series)).or_default().add(i, row.checks, row.failing);
        }
    }
    Ok(out)
}

/// The counts of each monitor, its series summed.
pub fn per_monitor(counts: &BTreeMap<(String, String), Counts>) -> BTreeMap<&str, Counts> {
    let mut out: BTreeMap<&str, Counts> = BTreeMap::new();
    for ((monitor, _), c) in counts {
        let total = out.entry(monitor.as_str()).or_default();
        for (i, (checks, failing)) in c.0.iter().enumerate() {
            total.add(i, *checks, *failing);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_skip_windows_without_checks() {
        let c = Counts([(200, 50), (0, 0), (10, 0)]);
        assert_eq!(c.ratios(), [Some(0.75), None, Some(1.0)]);
    }
}
