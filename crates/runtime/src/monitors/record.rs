//! Monitor results in the store: the latest reading per series and a compact history.
//!
//! Nothing is written per check. [`Log`] keeps, per series, what was last written and the open
//! history bucket (a few numbers), and collects what a flush must write:
//! - a series' latest reading when its tier, note or labels change (written within a second),
//!   and once per bucket otherwise (its value and check time);
//! - a bucket when the series' first check of the next bucket arrives (or on a graceful stop);
//! - a gone series' latest reading is deleted (its history stays).
//!
//! A crash therefore loses at most the open buckets and a second of latest readings; alert
//! transitions and notices are the alert manager's and are committed before they are sent.
//! [`writer`] writes batches in order on a task of its own and prunes old buckets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use vigil_core::alert::Tier;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Memory, Reading, summary_of};

use super::bucket::{Bucket, Closed};
use vigil_core::time::{Clock, Millis};
use vigil_store::{MonitorBatch, MonitorHistoryRow, MonitorResultRow, Store};

use crate::retention::delete_in_chunks;

/// How results are kept.
#[derive(Debug, Clone, Copy)]
pub struct HistorySettings {
    /// Bucket length.
    pub bucket: Millis,
    /// How long buckets are kept.
    pub keep: Millis,
    /// How often closed buckets (and unchanged series' latest readings) are written. Each write
    /// touches about one index page per series, so writing rarely is what keeps bytes written
    /// low; a crash loses at most this much history (never an alert transition).
    pub flush: Millis,
    /// How long the downsampled buckets ([`ROLLUP_WIDTHS`]) are kept, unless a monitor's
    /// `retention.history` says otherwise.
    pub rollup_keep: Millis,
}

/// The downsampled widths: five minutes (the charts past the fine buckets), an hour (uptime over
/// 24 hours and 7 days), a day (uptime over 30 days). Each closed bucket is merged into all three,
/// so a 30-day uptime reads 30 rows per series.
pub const ROLLUP_WIDTHS: [Millis; 3] = [300_000, 3_600_000, 86_400_000];

impl Default for HistorySettings {
    /// One-minute buckets kept two days, written every ten minutes; rollups kept 90 days.
    fn default() -> Self {
        HistorySettings { bucket: 60_000, keep: 2 * 24 * 3_600_000, flush: 600_000, rollup_keep: 90 * 24 * 3_600_000 }
    }
}

/// What was last written for one series, its open bucket and the closed ones not written yet,
/// and its last reading (a few numbers: building rows waits for the flush). With its boxed key it
/// takes 160 bytes, mimalloc's 160 class (`a_series_fits_in_160_bytes`).
#[derive(Debug, Clone)]
struct Written {
    tier: Option<Tier>,
    /// Its note and labels; `None` while it has neither, as most series do.
    told: Option<Box<Told>>,
    labels_hash: u64,
    changed_at: Millis,
    open: Option<Bucket>,
    closed: Closed,
    /// The last reading's value, tier and slot, and whether the store's row is older.
    last_value: Option<f64>,
    last_tier: Option<Tier>,
    last_slot: Millis,
    stale: bool,
}

/// A series' note and labels, boxed together: most series have neither, and then nothing is
/// allocated for them (a `"{}"` per series was, and both took 32 bytes inline).
#[derive(Debug, Clone, Default)]
struct Told {
    note: Option<Box<str>>,
    /// The labels as JSON; `None` for none (`{}`).
    labels_json: Option<Box<str>>,
}

impl Written {
    fn fresh(slot: Millis) -> Written {
        Written {
            tier: None,
            told: None,
            labels_hash: 0,
            changed_at: slot,
            open: None,
            closed: Closed::default(),
            last_value: None,
            last_tier: None,
            last_slot: slot,
            stale: false,
        }
    }

    fn note(&self) -> Option<&str> {
        self.told.as_ref().and_then(|t| t.note.as_deref())
    }

    fn labels_json(&self) -> &str {
        self.told.as_ref().and_then(|t| t.labels_json.as_deref()).unwrap_or("{}")
    }

    fn set_note(&mut self, note: Option<&str>) {
        if note.is_some() || self.told.is_some() {
            self.told.get_or_insert_default().note = note.map(Box::from);
            self.tidy();
        }
    }

    fn set_labels_json(&mut self, json: &str) {
        let labels = (json != "{}").then(|| Box::from(json));
        if labels.is_some() || self.told.is_some() {
            self.told.get_or_insert_default().labels_json = labels;
            self.tidy();
        }
    }

    /// Frees the box of a series that has neither note nor labels.
    fn tidy(&mut self) {
        if self.told.as_ref().is_some_and(|t| t.note.is_none() && t.labels_json.is_none()) {
            self.told = None;
        }
    }

    fn row(&self, monitor: &str, series: &str) -> MonitorResultRow {
        MonitorResultRow {
            monitor: monitor.to_string(),
            series: series.to_string(),
            labels: self.labels_json().to_string(),
            tier: self.last_tier.map(|t| t.as_str().to_string()),
            value: self.last_value,
            note: self.note().map(str::to_string),
            checked_at: self.last_slot,
            changed_at: self.changed_at,
        }
    }
}

/// One monitor's series as the store knows them, sorted by key (most monitors have one series;
/// a sorted vector costs a fraction of a map's memory and finds a key by binary search).
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// Boxed keys: 16 bytes inline where a `String` took 24.
    series: Vec<(Box<str>, Written)>,
}

/// What the one-second flushes write, across monitors: changed latest readings, gone series (and
/// their last buckets). Closed buckets and unchanged readings wait in each [`Log`].
#[derive(Debug, Default)]
pub struct Pending {
    results: HashMap<(String, String), MonitorResultRow>,
    history: Vec<MonitorHistoryRow>,
    removed: Vec<(String, String)>,
}

impl Pending {
    /// Takes what is collected as one batch.
    pub fn take(&mut self) -> MonitorBatch {
        let mut results: Vec<MonitorResultRow> = self.results.drain().map(|(_, r)| r).collect();
        results.sort_by(|a, b| (&a.monitor, &a.series).cmp(&(&b.monitor, &b.series)));
        MonitorBatch {
            results,
            history: std::mem::take(&mut self.history),
            removed: std::mem::take(&mut self.removed),
            rollups: Vec::new(),
        }
    }

    /// Deletes a series' latest reading (a removed monitor, or one no file defines any more).
    pub fn remove(&mut self, monitor: &str, series: &str) {
        let key = (monitor.to_string(), series.to_string());
        self.results.remove(&key);
        self.removed.push(key);
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty() && self.history.is_empty() && self.removed.is_empty()
    }

    /// Buckets to write with the next flush (a removed monitor's last ones).
    pub fn keep_history(&mut self, rows: Vec<MonitorHistoryRow>) {
        self.history.extend(rows);
    }
}

/// Puts a batch's rows in index order, so the write touches each page once, and drops
/// duplicates (a multi-row upsert may not touch a row twice).
pub fn in_index_order(batch: &mut MonitorBatch) {
    batch.results.sort_by(|a, b| (&a.monitor, &a.series).cmp(&(&b.monitor, &b.series)));
    batch.results.dedup_by(|a, b| (&a.monitor, &a.series) == (&b.monitor, &b.series));
    batch.history.sort_by(|a, b| (&a.monitor, &a.series, a.bucket).cmp(&(&b.monitor, &b.series, b.bucket)));
    batch.history.dedup_by(|a, b| (&a.monitor, &a.series, a.bucket) == (&b.monitor, &b.series, b.bucket));
}

/// FNV-1a over the labels (cheaper than SipHash for a few short strings, and once per reading).
/// A separator byte no UTF-8 text holds follows each part, so `a=bc` and `ab=c` differ.
fn hash_labels(reading: &Reading) -> u64 {
    vigil_store::fnv1a_bytes(
        reading.labels.iter().flat_map(|(name, value)| name.bytes().chain([0xff]).chain(value.bytes()).chain([0xfe])),
    )
}

impl Log {
    /// Seeds from the stored latest readings, so a restart does not rewrite unchanged series.
    pub fn seed(&mut self, row: &MonitorResultRow, reading: &Reading) {
        let mut written = Written {
            tier: reading.tier,
            labels_hash: hash_labels(reading),
            changed_at: row.changed_at,
            last_value: row.value,
            last_tier: reading.tier,
            last_slot: row.checked_at,
            ..Written::fresh(row.checked_at)
        };
        written.set_note(row.note.as_deref());
        written.set_labels_json(&row.labels);
        let at = self.slot(&row.series, row.checked_at);
        self.series[at].1 = written;
    }

    /// The index of `key`'s entry, made (fresh at `slot`) if missing.
    fn slot(&mut self, key: &str, slot: Millis) -> usize {
        match self.series.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(at) => at,
            Err(at) => {
                // Most monitors have one series: room for exactly one (a vector's first growth
                // makes room for four).
                if self.series.capacity() == 0 {
                    self.series.reserve_exact(1);
                }
                self.series.insert(at, (key.into(), Written::fresh(slot)));
                at
            }
        }
    }

    /// Records one check's readings (due at `slot`) into `pending`.
    pub fn record(
        &mut self,
        settings: &HistorySettings,
        monitor: &str,
        readings: &[Reading],
        slot: Millis,
        pending: &mut Pending,
    ) {
        let start = slot - slot.rem_euclid(settings.bucket.max(1));
        for reading in readings {
            let labels_hash = hash_labels(reading);
            let at = self.slot(&reading.key, slot);
            let written = &mut self.series[at].1;
            let tier_changed = reading.tier.is_some() && written.tier != reading.tier;
            if tier_changed {
                written.changed_at = slot;
            }
            let changed = tier_changed
                || written.labels_hash != labels_hash
                || written.note().is_some() != reading.note.is_some();
            let open = written.open.get_or_insert_with(|| Bucket::new(start));
            if open.start != start {
                let closed = std::mem::replace(open, Bucket::new(start));
                // The buckets that close between two history writes.
                let between = settings.flush / settings.bucket.max(1) + 1;
                written.closed.push(&closed, between.clamp(0, 64) as usize);
                written.stale = true;
            }
            if let Some(open) = written.open.as_mut() {
                open.add(reading);
            }
            written.last_value = reading.value;
            written.last_tier = reading.tier;
            written.last_slot = slot;
            // The note is kept as it is now (the status shows it); its row is rewritten at once
            // only when a note comes or goes.
            if written.note() != reading.note.as_deref() {
                written.set_note(reading.note.as_deref());
            }
            if changed {
                if reading.tier.is_some() {
                    written.tier = reading.tier;
                }
                if written.labels_hash != labels_hash {
                    written.labels_hash = labels_hash;
                    written.set_labels_json(&serde_json::to_string(&reading.labels).unwrap_or_else(|_| "{}".into()));
                }
                written.stale = false;
                pending.results.insert((monitor.to_string(), reading.key.clone()), written.row(monitor, &reading.key));
            }
        }
        if self.series.len() > readings.len() {
            let (kept, gone): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.series).into_iter().partition(|(k, _)| readings.iter().any(|r| *r.key == **k));
            self.series = kept;
            for (key, w) in gone {
                pending.history.extend(w.closed.unpack().iter().chain(&w.open).map(|b| b.row(monitor, &key)));
                pending.remove(monitor, &key);
            }
        }
    }

    /// The last reading of each series, rebuilt from what is kept for the store (the entry keeps
    /// no copy of its readings: about 180 bytes per monitor): its labels, value, tier and note,
    /// and the summary rendered again.
    pub fn readings(&self, def: &MonitorDef, memory: &Memory) -> Vec<Reading> {
        self.series
            .iter()
            .map(|(key, w)| {
                let labels = serde_json::from_str(w.labels_json()).unwrap_or_default();
                let summary = summary_of(def, memory, key, &labels, w.last_value, w.last_tier, w.note());
                Reading {
                    key: key.to_string(),
                    labels,
                    value: w.last_value,
                    tier: w.last_tier,
                    summary,
                    note: w.note().map(str::to_string),
                }
            })
            .collect()
    }

    /// The series' keys, in order.
    /// The history not written yet: each series' closed buckets and its open one, as rows.
    pub fn unwritten(&self, monitor: &str) -> Vec<MonitorHistoryRow> {
        let mut rows = Vec::new();
        for (key, w) in &self.series {
            rows.extend(w.closed.unpack().iter().chain(&w.open).map(|b| b.row(monitor, key)));
        }
        rows.sort_by(|a, b| (&a.series, a.bucket).cmp(&(&b.series, b.bucket)));
        rows
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|(key, _)| &**key)
    }

    /// Moves the closed buckets and the latest readings the store has an older row of into
    /// `batch` (the periodic history write).
    pub fn drain(&mut self, monitor: &str, batch: &mut MonitorBatch) {
        for (key, w) in self.series.iter_mut() {
            batch.history.extend(w.closed.take().iter().map(|b| b.row(monitor, key)));
            if w.stale {
                w.stale = false;
                batch.results.push(w.row(monitor, key));
            }
        }
    }

    /// Closes every open bucket and moves everything unwritten into `batch` (a graceful stop, or
    /// the monitor was removed).
    pub fn close(&mut self, monitor: &str, batch: &mut MonitorBatch) {
        for (_, w) in self.series.iter_mut() {
            if let Some(open) = w.open.take() {
                w.closed.push(&open, 1);
                w.stale = true;
            }
        }
        self.drain(monitor, batch);
    }
}

/// Work for the writer.
pub enum WriterMsg {
    /// The monitors with a `retention.history` of their own, and how long it is.
    Keep(Vec<(String, Millis)>),
    /// Write this batch.
    Write(MonitorBatch),
    /// Write this batch, then answer (a graceful stop waits for it).
    Flush(MonitorBatch, tokio::sync::oneshot::Sender<()>),
}

/// Least time between two hand-backs of the store's cached pages after history writes (each
/// hand-back empties the cache, so its hot pages are read again).
const RELEASE_EVERY: Duration = Duration::from_secs(60);

/// How often old buckets and rollups are pruned. Every ten minutes, each prune deleted ten
/// minutes of buckets at once (100,000 rows at 10,000 monitors): the soak's WAL grew to 67 MB
/// and RSS stepped up 14 MB for the sample that caught it. Each minute, a prune is a tenth of that.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Buckets deleted per prune statement.
const PRUNE_CHUNK: u32 = 5_000;

/// Writes batches in order (each closed bucket also merged into its rollups); prunes buckets
/// older than `keep` and rollups older than their keep every minute ([`PRUNE_EVERY`]), in chunks.
pub async fn writer(
    mut rx: mpsc::UnboundedReceiver<WriterMsg>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: HistorySettings,
) {
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    let mut own_keep: Vec<(String, Millis)> = Vec::new();
    let mut released = std::time::Instant::now();
    let with_rollups = |mut batch: MonitorBatch| {
        batch.rollups = vigil_store::monitor_results::roll_up(&batch.history, &ROLLUP_WIDTHS);
        batch
    };
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(WriterMsg::Keep(keep)) => own_keep = keep,
                Some(WriterMsg::Write(batch)) => {
                    let batch = with_rollups(batch);
                    let history = !batch.history.is_empty();
                    write(&*store, batch).await;
                    if history && released.elapsed() >= RELEASE_EVERY {
                        // History writes add pages the cache would keep (about 1 MB per 10,000
                        // rows, growing toward SQLite's cap): hand them back now and then, or
                        // the resident size steps up with each history round.
                        released = std::time::Instant::now();
                        store.release_memory().await;
                    }
                }
                Some(WriterMsg::Flush(batch, done)) => {
                    write(&*store, with_rollups(batch)).await;
                    let _ = done.send(());
                }
                None => return,
            },
            _ = prune.tick() => {
                let now = clock.now();
                let mut total = delete_in_chunks(PRUNE_CHUNK, "monitor history", |n| store.prune_monitor_history(now - settings.keep, n)).await;
                let default = vigil_store::RollupScope::AllBut(own_keep.iter().map(|(m, _)| m.clone()).collect());
                if settings.rollup_keep != vigil_core::retention::FOREVER {
                    total += delete_in_chunks(PRUNE_CHUNK, "monitor history", |n| store.prune_monitor_rollups(&default, now - settings.rollup_keep, n)).await;
                }
                for (monitor, keep) in own_keep.iter().filter(|(_, k)| *k != vigil_core::retention::FOREVER) {
                    let scope = vigil_store::RollupScope::Monitor(monitor.clone());
                    total += delete_in_chunks(PRUNE_CHUNK, "monitor history", |n| store.prune_monitor_rollups(&scope, now - keep, n)).await;
                }
                metrics::counter!("vigil_monitor_history_pruned_total").increment(total);
            }
        }
    }
}

/// Rows per transaction of a write: history rounds send small batches (a few hundred rows, see
/// the shard's `history_chunk`), but a graceful stop's flush carries every open bucket at once
/// (about 140,000 rows with their rollups at 10,000 monitors), and one transaction for all of
/// them would hold the writer for its whole length.
const ROWS_PER_WRITE: usize = 5_000;

/// Writes a batch in parts of [`ROWS_PER_WRITE`] rows, each tried once more after a second; a
/// part that cannot be written is dropped with a warning (history is best effort; alert state is
/// not written here). Each part is its own transaction, so a retry never merges a rollup twice.
async fn write(store: &dyn Store, batch: MonitorBatch) {
    for part in batch.split(ROWS_PER_WRITE) {
        write_part(store, &part).await;
    }
}

async fn write_part(store: &dyn Store, part: &MonitorBatch) {
    let rows = (part.results.len() + part.history.len()) as u64;
    for attempt in 0..2 {
        match store.put_monitor_results(part).await {
            Ok(()) => {
                metrics::counter!("vigil_monitor_results_written_total").increment(rows);
                return;
            }
            Err(e) if attempt == 0 => {
                tracing::debug!(error = %e, "Writing monitor results failed; retrying.");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, rows, "Could not write monitor results; this batch of history is lost.");
                metrics::counter!("vigil_monitor_results_dropped_total").increment(rows);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn reading(key: &str, value: Option<f64>, tier: Option<Tier>) -> Reading {
        Reading {
            key: key.into(),
            labels: BTreeMap::from([("host".to_string(), key.to_string())]),
            value,
            tier,
            summary: String::new(),
            note: value.is_none().then(|| "no data".to_string()),
        }
    }

    /// The one-second flush and, with `history`, the periodic one.
    fn flush(log: &mut Log, pending: &mut Pending, history: bool) -> MonitorBatch {
        let mut batch = pending.take();
        if history {
            log.drain("disk", &mut batch);
        }
        in_index_order(&mut batch);
        batch
    }

    const SETTINGS: HistorySettings =
        HistorySettings { bucket: 60_000, keep: 3_600_000, flush: 600_000, rollup_keep: 3_600_000 };

    #[test]
    fn unchanged_checks_write_one_row_per_bucket_and_changes_at_once() {
        let (mut log, mut pending) = (Log::default(), Pending::default());
        log.record(&SETTINGS, "disk", &[reading("a", Some(10.0), Some(Tier::Ok))], 0, &mut pending);
        let first = flush(&mut log, &mut pending, false);
        assert_eq!(first.results.len(), 1, "a new series is written at once");
        for at in [10_000, 20_000, 30_000] {
            log.record(&SETTINGS, "disk", &[reading("a", Some(12.0), Some(Tier::Ok))], at, &mut pending);
        }
        assert!(flush(&mut log, &mut pending, true).is_empty(), "unchanged checks inside a bucket write nothing");
        log.record(&SETTINGS, "disk", &[reading("a", Some(90.0), Some(Tier::Warning))], 40_000, &mut pending);
        let change = flush(&mut log, &mut pending, false);
        assert_eq!(change.results[0].tier.as_deref(), Some("warning"), "a tier change goes out within a second");
        assert_eq!(change.results[0].changed_at, 40_000);
        log.record(&SETTINGS, "disk", &[reading("a", None, Some(Tier::Warning))], 50_000, &mut pending);
        let gone = flush(&mut log, &mut pending, false);
        assert_eq!(gone.results[0].note.as_deref(), Some("no data"), "a value that goes missing is written");
        log.record(&SETTINGS, "disk", &[reading("a", Some(91.0), Some(Tier::Warning))], 60_000, &mut pending);
        log.record(&SETTINGS, "disk", &[reading("a", Some(92.0), Some(Tier::Warning))], 120_000, &mut pending);
        let quiet = flush(&mut log, &mut pending, false);
        assert!(quiet.history.is_empty(), "closed buckets wait for the history write: {quiet:?}");
        let next = flush(&mut log, &mut pending, true);
        assert_eq!(next.history.len(), 2, "two buckets closed");
        let h = &next.history[0];
        assert_eq!((h.bucket, h.checks, h.failing, h.errors, h.worst), (0, 6, 2, 1, 1));
        assert_eq!((h.min, h.max, h.sum, h.last), (Some(10.0), Some(90.0), Some(136.0), Some(90.0)));
        assert_eq!(next.results.len(), 1, "the unchanged series' reading is refreshed once");
        assert_eq!(next.results[0].changed_at, 40_000, "a refresh keeps when the tier changed");
        assert_eq!((next.results[0].checked_at, next.results[0].value), (120_000, Some(92.0)));
        assert!(flush(&mut log, &mut pending, true).is_empty(), "nothing twice");
    }

    #[test]
    fn a_bucket_of_errors_has_no_values_and_one_starting_with_an_error_counts_only_the_values() {
        let (mut log, mut pending) = (Log::default(), Pending::default());
        for at in [0, 10_000] {
            log.record(&SETTINGS, "disk", &[reading("a", None, None)], at, &mut pending);
        }
        for (at, value) in [(60_000, None), (70_000, Some(-5.0)), (80_000, Some(3.0))] {
            log.record(&SETTINGS, "disk", &[reading("a", value, Some(Tier::Ok))], at, &mut pending);
        }
        let mut closing = MonitorBatch::default();
        log.close("disk", &mut closing);
        let rows: Vec<_> = closing.history.iter().map(|h| (h.checks, h.errors, h.min, h.max, h.sum, h.last)).collect();
        assert_eq!(rows, [(2, 2, None, None, None, None), (3, 1, Some(-5.0), Some(3.0), Some(-2.0), Some(3.0))]);
    }

    #[test]
    fn a_gone_series_is_removed_and_its_buckets_kept() {
        let (mut log, mut pending) = (Log::default(), Pending::default());
        let both = [reading("a", Some(1.0), Some(Tier::Ok)), reading("b", Some(2.0), Some(Tier::Ok))];
        log.record(&SETTINGS, "disk", &both, 0, &mut pending);
        flush(&mut log, &mut pending, true);
        log.record(&SETTINGS, "disk", &both[..1], 10_000, &mut pending);
        let batch = flush(&mut log, &mut pending, false);
        assert_eq!(batch.removed, [("disk".to_string(), "b".to_string())]);
        assert_eq!(batch.history.len(), 1);
        assert_eq!((batch.history[0].series.as_str(), batch.history[0].checks), ("b", 1));
        let mut closing = MonitorBatch::default();
        log.close("disk", &mut closing);
        assert_eq!(closing.history[0].checks, 2, "closing writes the open buckets");
    }

    #[test]
    fn a_kept_reading_does_not_clear_the_written_tier() {
        let (mut log, mut pending) = (Log::default(), Pending::default());
        log.record(&SETTINGS, "disk", &[reading("a", Some(97.0), Some(Tier::Critical))], 0, &mut pending);
        flush(&mut log, &mut pending, true);
        log.record(&SETTINGS, "disk", &[reading("a", None, None)], 10_000, &mut pending);
        let batch = flush(&mut log, &mut pending, false);
        assert_eq!(batch.results[0].tier, None, "the row says the check kept its tier");
        log.record(&SETTINGS, "disk", &[reading("a", Some(97.0), Some(Tier::Critical))], 20_000, &mut pending);
        let back = flush(&mut log, &mut pending, false);
        assert_eq!(back.results[0].changed_at, 0, "critical before and after: no tier change");
    }

    /// One series per monitor for most: mimalloc rounds an allocation up to its size class (…,
    /// 128, 160, 192); this keeps a series with its key in 160 (`docs/benchmarks.md`, issue 36).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_series_fits_in_160_bytes() {
        let size = std::mem::size_of::<(Box<str>, Written)>();
        assert!(size <= 160, "{size} bytes");
    }

    #[test]
    fn note_and_labels_are_boxed_only_while_a_series_has_them() {
        let (mut log, mut pending) = (Log::default(), Pending::default());
        let bare = Reading { labels: BTreeMap::new(), note: None, ..reading("a", Some(1.0), Some(Tier::Ok)) };
        log.record(&SETTINGS, "disk", std::slice::from_ref(&bare), 0, &mut pending);
        assert!(log.series[0].1.told.is_none(), "nothing boxed for a series with neither");
        assert_eq!(flush(&mut log, &mut pending, false).results[0].labels, "{}");
        log.record(&SETTINGS, "disk", &[reading("a", None, Some(Tier::Ok))], 10_000, &mut pending);
        let told = flush(&mut log, &mut pending, false);
        assert_eq!(
            (told.results[0].labels.as_str(), told.results[0].note.as_deref()),
            (r#"{"host":"a"}"#, Some("no data"))
        );
        log.record(&SETTINGS, "disk", &[bare], 20_000, &mut pending);
        let back = flush(&mut log, &mut pending, false);
        assert_eq!((back.results[0].labels.as_str(), back.results[0].note.as_deref()), ("{}", None));
        assert!(log.series[0].1.told.is_none(), "the box goes with the last of them");
    }
}
