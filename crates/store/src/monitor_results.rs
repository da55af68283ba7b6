//! Monitor results: the latest reading per series, and a compact history in time buckets.
//!
//! A check writes nothing by itself. The monitors actor keeps each series' latest reading and
//! the open bucket in memory and hands the store a [`MonitorBatch`] about once a second: the
//! series whose tier, error or labels changed, the buckets that closed, and the series that are
//! gone. Both backends run the same SQL (numbered placeholders work in SQLite and PostgreSQL).

use vigil_core::time::Millis;

/// The latest reading of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorResultRow {
    /// The monitor.
    pub monitor: String,
    /// The series: its alert's dedup key.
    pub series: String,
    /// Its labels, as a JSON object.
    pub labels: String,
    /// The observed tier (`ok`, `warning`, `critical`), or `None` when the reading kept the
    /// previous one (`onError: keep`).
    pub tier: Option<String>,
    /// The value compared.
    pub value: Option<f64>,
    /// Why there was no value (no data, missing, the source's error).
    pub note: Option<String>,
    /// When the check that read it was due.
    pub checked_at: Millis,
    /// When its tier last changed.
    pub changed_at: Millis,
}

/// One series' checks within one time bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorHistoryRow {
    /// The monitor.
    pub monitor: String,
    /// The series.
    pub series: String,
    /// The bucket's start.
    pub bucket: Millis,
    /// Checks in the bucket.
    pub checks: u32,
    /// Checks whose tier was warning or critical.
    pub failing: u32,
    /// Checks without a value (source errors, no data, missing).
    pub errors: u32,
    /// The worst observed tier: 0 ok, 1 warning, 2 critical.
    pub worst: u8,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Sum of the values (the mean is `sum / (checks - errors)`).
    pub sum: Option<f64>,
    /// The bucket's last value.
    pub last: Option<f64>,
}

/// A downsampled bucket: one series' checks within `width` milliseconds from `row.bucket`.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    /// The bucket's length (5 minutes, an hour, a day).
    pub width: Millis,
    /// The bucket.
    pub row: MonitorHistoryRow,
}

/// One series' checks and failing checks over a window (summed from rollups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptimeRow {
    /// The monitor.
    pub monitor: String,
    /// The series.
    pub series: String,
    /// Checks in the window.
    pub checks: u64,
    /// Of them, warning or critical.
    pub failing: u64,
}

impl MonitorHistoryRow {
    /// Adds a later bucket of the same series into this one (checks and failures add up, the
    /// worst tier and the extremes win, the later last value replaces).
    pub fn merge(&mut self, later: &MonitorHistoryRow) {
        self.checks += later.checks;
        self.failing += later.failing;
        self.errors += later.errors;
        self.worst = self.worst.max(later.worst);
        let pick = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        self.min = pick(self.min, later.min, f64::min);
        self.max = pick(self.max, later.max, f64::max);
        self.sum = pick(self.sum, later.sum, |a, b| a + b);
        self.last = later.last.or(self.last);
    }
}

/// Downsamples closed buckets into one row per series per `widths` bucket (rows of one series
/// and width in a batch are merged here; the store merges them with rows already stored).
pub fn roll_up(history: &[MonitorHistoryRow], widths: &[Millis]) -> Vec<RollupRow> {
    let mut sorted: Vec<&MonitorHistoryRow> = history.iter().collect();
    sorted.sort_by(|a, b| (&a.monitor, &a.series, a.bucket).cmp(&(&b.monitor, &b.series, b.bucket)));
    let mut out: Vec<RollupRow> = Vec::new();
    for &width in widths.iter().filter(|w| **w > 0) {
        let from = out.len();
        for h in &sorted {
            let bucket = h.bucket - h.bucket.rem_euclid(width);
            match out[from..].last_mut() {
                Some(r) if r.row.monitor == h.monitor && r.row.series == h.series && r.row.bucket == bucket => {
                    r.row.merge(h)
                }
                _ => out.push(RollupRow { width, row: MonitorHistoryRow { bucket, ..(*h).clone() } }),
            }
        }
    }
    out
}

/// What one flush writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorBatch {
    /// Latest readings to insert or replace.
    pub results: Vec<MonitorResultRow>,
    /// Closed buckets to add (a bucket written twice is replaced).
    pub history: Vec<MonitorHistoryRow>,
    /// Downsampled buckets to merge into the stored ones ([`roll_up`] of `history`).
    pub rollups: Vec<RollupRow>,
    /// Series that are gone, `(monitor, series)`: their latest reading is deleted (history stays).
    pub removed: Vec<(String, String)>,
}

impl MonitorBatch {
    /// Splits the batch into batches of at most `rows` rows each (results, then history, rollups
    /// and removals, in order), so that a large flush neither holds the one writer as one long
    /// transaction nor grows SQLite's WAL by its whole size before a checkpoint can run.
    pub fn split(self, rows: usize) -> Vec<MonitorBatch> {
        /// The part the next row goes to: the last, or a new one when the last is full.
        fn next<'a>(parts: &'a mut Vec<MonitorBatch>, room: &mut usize, rows: usize) -> &'a mut MonitorBatch {
            if *room == 0 {
                parts.push(MonitorBatch::default());
                *room = rows;
            }
            *room -= 1;
            parts.last_mut().expect("one part at least")
        }
        let rows = rows.max(1);
        let (mut parts, mut room) = (vec![MonitorBatch::default()], rows);
        for r in self.results {
            next(&mut parts, &mut room, rows).results.push(r);
        }
        for h in self.history {
            next(&mut parts, &mut room, rows).history.push(h);
        }
        for r in self.rollups {
            next(&mut parts, &mut room, rows).rollups.push(r);
        }
        for r in self.removed {
            next(&mut parts, &mut room, rows).removed.push(r);
        }
        parts.retain(|p| !p.is_empty());
        parts
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty() && self.history.is_empty() && self.removed.is_empty() && self.rollups.is_empty()
    }
}

/// Whose rollups a prune covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupScope {
    /// One monitor's (its own `retention.history`).
    Monitor(String),
    /// Every monitor's but these (the ones with their own).
    AllBut(Vec<String>),
}

/// Rows per multi-row statement (11 parameters each, far below either backend's limit).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// The latest-reading upsert's head; rows follow as `VALUES`.
pub(crate) const INSERT_RESULTS: &str =
    "INSERT INTO monitor_results (monitor, series, labels, tier, value, note, checked_at, changed_at) ";

/// The latest-reading upsert's tail.
pub(crate) const ON_CONFLICT_RESULTS: &str = " ON CONFLICT (monitor, series) DO UPDATE SET labels = excluded.labels, \
    tier = excluded.tier, value = excluded.value, note = excluded.note, checked_at = excluded.checked_at, \
    changed_at = excluded.changed_at";

/// The bucket upsert's head.
pub(crate) const INSERT_HISTORY: &str = "INSERT INTO monitor_history \
    (monitor, series, bucket, checks, failing, errors, worst, min_value, max_value, sum_value, last_value) ";

/// The bucket upsert's tail (a bucket written twice is replaced).
pub(crate) const ON_CONFLICT_HISTORY: &str = " ON CONFLICT (monitor, series, bucket) DO UPDATE SET \
    checks = excluded.checks, failing = excluded.failing, errors = excluded.errors, worst = excluded.worst, \
    min_value = excluded.min_value, max_value = excluded.max_value, sum_value = excluded.sum_value, \
    last_value = excluded.last_value";

/// The rollup upsert's head.
pub(crate) const INSERT_ROLLUP: &str = "INSERT INTO monitor_rollups \
    (monitor, series, width, bucket, checks, failing, errors, worst, min_value, max_value, sum_value, last_value) ";

/// The rollup upsert's tail: merged into the stored row, as [`MonitorHistoryRow::merge`] does (in
/// SQL both backends read alike: `CASE` and `COALESCE`, no `MIN`/`LEAST`).
pub(crate) const ON_CONFLICT_ROLLUP: &str = " ON CONFLICT (monitor, series, width, bucket) DO UPDATE SET \
    checks = monitor_rollups.checks + excluded.checks, failing = monitor_rollups.failing + excluded.failing, \
    errors = monitor_rollups.errors + excluded.errors, \
    worst = CASE WHEN excluded.worst > monitor_rollups.worst THEN excluded.worst ELSE monitor_rollups.worst END, \
    min_value = CASE WHEN monitor_rollups.min_value IS NULL OR excluded.min_value < monitor_rollups.min_value \
        THEN COALESCE(excluded.min_value, monitor_rollups.min_value) ELSE monitor_rollups.min_value END, \
    max_value = CASE WHEN monitor_rollups.max_value IS NULL OR excluded.max_value > monitor_rollups.max_value \
        THEN COALESCE(excluded.max_value, monitor_rollups.max_value) ELSE monitor_rollups.max_value END, \
    sum_value = COALESCE(monitor_rollups.sum_value + excluded.sum_value, monitor_rollups.sum_value, excluded.sum_value), \
    last_value = COALESCE(excluded.last_value, monitor_rollups.last_value)";

/// One monitor's rollups of one width since a time, oldest first.
pub(crate) const SELECT_ROLLUPS: &str = "SELECT monitor, series, bucket, checks, failing, errors, worst, \
    min_value, max_value, sum_value, last_value FROM monitor_rollups \
    WHERE monitor = $1 AND +width = $2 AND +bucket >= $3 ORDER BY bucket, series LIMIT $4";

/// Every monitor's rollups of one width since a time (`$1` is the empty name), by monitor: read
/// through the age index, for overviews of all monitors.
pub(crate) const SELECT_ALL_ROLLUPS: &str = "SELECT monitor, series, bucket, checks, failing, errors, worst, \
    min_value, max_value, sum_value, last_value FROM monitor_rollups \
    WHERE $1 = '' AND width = $2 AND bucket >= $3 ORDER BY monitor, bucket, series LIMIT $4";

/// Checks and failing checks per series of one width since a time (every monitor's when `$1`
/// is empty).
pub(crate) const SELECT_UPTIME: &str = "SELECT monitor, series, CAST(SUM(checks) AS BIGINT) AS checks, \
    CAST(SUM(failing) AS BIGINT) AS failing \
    FROM monitor_rollups WHERE monitor = $1 AND +width = $2 AND +bucket >= $3 \
    GROUP BY monitor, series ORDER BY monitor, series";

/// (In the one-monitor statements, `+width` and `+bucket` keep SQLite off the age index, which
/// it chose over the primary key and so read every monitor's rows in the window: 200 ms for
/// one monitor's uptime at 10,000 monitors.)
///
/// [`SELECT_UPTIME`] of every monitor (`$1` is the empty name). A statement of its own: with
/// `($1 = '' OR monitor = $1)` the planners scanned every rollup for one monitor too.
pub(crate) const SELECT_ALL_UPTIME: &str = "SELECT monitor, series, CAST(SUM(checks) AS BIGINT) AS checks, \
    CAST(SUM(failing) AS BIGINT) AS failing \
    FROM monitor_rollups WHERE $1 = '' AND width = $2 AND bucket >= $3 \
    GROUP BY monitor, series ORDER BY monitor, series";

/// Deletes a gone series' latest reading.
pub(crate) const DELETE_RESULT: &str = "DELETE FROM monitor_results WHERE monitor = $1 AND series = $2";

/// Every latest reading, or one monitor's.
pub(crate) const SELECT_RESULTS: &str = "SELECT monitor, series, labels, tier, value, note, checked_at, changed_at \
    FROM monitor_results WHERE ($1 = '' OR monitor = $1) ORDER BY monitor, series";

/// The latest readings of some monitors (the caller adds the names and `)`).
pub(crate) const SELECT_RESULTS_OF: &str = "SELECT monitor, series, labels, tier, value, note, checked_at, changed_at \
    FROM monitor_results WHERE monitor IN (";

/// One monitor's buckets since a time, oldest first.
pub(crate) const SELECT_HISTORY: &str = "SELECT monitor, series, bucket, checks, failing, errors, worst, \
    min_value, max_value, sum_value, last_value FROM monitor_history \
    WHERE monitor = $1 AND +bucket >= $2 ORDER BY bucket, series LIMIT $3";

/// Deletes up to `$2` buckets older than `$1`.
pub(crate) const PRUNE_HISTORY: &str = "DELETE FROM monitor_history WHERE (monitor, series, bucket) IN \
    (SELECT monitor, series, bucket FROM monitor_history WHERE bucket < $1 LIMIT $2)";

/// Reads a result row from either backend.
macro_rules! result_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        crate::monitor_results::MonitorResultRow {
            monitor: r.try_get("monitor")?,
            series: r.try_get("series")?,
            labels: r.try_get("labels")?,
            tier: r.try_get("tier")?,
            value: r.try_get("value")?,
            note: r.try_get("note")?,
            checked_at: r.try_get("checked_at")?,
            changed_at: r.try_get("changed_at")?,
        }
    }};
}

/// Reads a history row from either backend.
macro_rules! history_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        crate::monitor_results::MonitorHistoryRow {
            monitor: r.try_get("monitor")?,
            series: r.try_get("series")?,
            bucket: r.try_get("bucket")?,
            checks: r.try_get::<i64, _>("checks")? as u32,
            failing: r.try_get::<i64, _>("failing")? as u32,
            errors: r.try_get::<i64, _>("errors")? as u32,
            worst: r.try_get::<i64, _>("worst")? as u8,
            min: r.try_get("min_value")?,
            max: r.try_get("max_value")?,
            sum: r.try_get("sum_value")?,
            last: r.try_get("last_value")?,
        }
    }};
}

/// Binds a bucket's counts and values (`checks` through `last_value`), in the column order of
/// `INSERT_HISTORY` and `INSERT_ROLLUP`.
macro_rules! bind_counts {
    ($b:expr, $h:expr) => {
        $b.push_bind($h.checks as i64)
            .push_bind($h.failing as i64)
            .push_bind($h.errors as i64)
            .push_bind($h.worst as i64)
            .push_bind($h.min)
            .push_bind($h.max)
            .push_bind($h.sum)
            .push_bind($h.last)
    };
}

/// Writes a batch inside an open transaction of either backend (`$db`: `Sqlite` or `Postgres`).
/// Each statement's rows must be unique by key, which [`MonitorBatch`]'s producer keeps.
///
/// The statements are not kept prepared (`persistent(false)`): their text changes with the number
/// of rows, each count would be one more cached statement of up to 500 rows' parameters (a
/// compiled program on SQLite, the parameters' types on PostgreSQL), and a history round's
/// batches of a few hundred rows each filled the connection's cache of 100 statements with them
/// (the soak's heap grew 10 to 15 MB while a round ran). They run about once a second; preparing
/// each anew costs less than keeping them.
macro_rules! write_monitor_batch {
    ($db:ty, $tx:expr, $batch:expr) => {{
        use crate::monitor_results as m;
        use crate::monitor_results::bind_counts;
        let batch = $batch;
        for chunk in batch.results.chunks(m::ROWS_PER_STATEMENT) {
            let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(m::INSERT_RESULTS);
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.monitor)
                    .push_bind(&r.series)
                    .push_bind(&r.labels)
                    .push_bind(&r.tier)
                    .push_bind(r.value)
                    .push_bind(&r.note)
                    .push_bind(r.checked_at)
                    .push_bind(r.changed_at);
            });
            q.push(m::ON_CONFLICT_RESULTS);
            q.build().persistent(false).execute(&mut *$tx).await?;
        }
        for chunk in batch.history.chunks(m::ROWS_PER_STATEMENT) {
            let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(m::INSERT_HISTORY);
            q.push_values(chunk, |mut b, h| {
                b.push_bind(&h.monitor).push_bind(&h.series).push_bind(h.bucket);
                bind_counts!(b, h);
            });
            q.push(m::ON_CONFLICT_HISTORY);
            q.build().persistent(false).execute(&mut *$tx).await?;
        }
        for chunk in batch.rollups.chunks(m::ROWS_PER_STATEMENT) {
            let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(m::INSERT_ROLLUP);
            q.push_values(chunk, |mut b, r| {
                let h = &r.row;
                b.push_bind(&h.monitor).push_bind(&h.series).push_bind(r.width).push_bind(h.bucket);
                bind_counts!(b, h);
            });
            q.push(m::ON_CONFLICT_ROLLUP);
            q.build().persistent(false).execute(&mut *$tx).await?;
        }
        for (monitor, series) in &batch.removed {
            sqlx::query(m::DELETE_RESULT).bind(monitor).bind(series).execute(&mut *$tx).await?;
        }
    }};
}

pub(crate) use {bind_counts, history_row, result_row, write_monitor_batch};

/// The monitor-result and ping queries of both backends, written once: expands to an inherent
/// `impl $store` with `<method>_impl` functions that the backends' `Store` impls call (as
/// `leases_impl` and friends). They differ only in the database type (`$db`) and the row lock
/// taken on heartbeat states (`$lock`: `""` on SQLite, whose one writer serialises;
/// `" FOR UPDATE"` on PostgreSQL).
macro_rules! monitor_store_methods {
    ($store:ty, $db:ty, $lock:expr) => {
        impl $store {
            pub(crate) async fn put_monitor_results_impl(&self, batch: &crate::MonitorBatch) -> Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await?;
                crate::monitor_results::write_monitor_batch!($db, tx, batch);
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn monitor_results_impl(&self, monitor: &str) -> Result<Vec<crate::MonitorResultRow>> {
                let rows =
                    sqlx::query(crate::monitor_results::SELECT_RESULTS).bind(monitor).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok(crate::monitor_results::result_row!(r))).collect()
            }

            pub(crate) async fn monitor_history_impl(
                &self,
                monitor: &str,
                since: Millis,
                limit: u32,
            ) -> Result<Vec<crate::MonitorHistoryRow>> {
                let rows = sqlx::query(crate::monitor_results::SELECT_HISTORY)
                    .bind(monitor)
                    .bind(since)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(|r| Ok(crate::monitor_results::history_row!(r))).collect()
            }

            pub(crate) async fn prune_monitor_history_impl(&self, before: Millis, limit: u32) -> Result<u64> {
                let done = sqlx::query(crate::monitor_results::PRUNE_HISTORY)
                    .bind(before)
                    .bind(limit as i64)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(crate) async fn monitor_rollups_impl(
                &self,
                monitor: &str,
                width: Millis,
                since: Millis,
                limit: u32,
            ) -> Result<Vec<crate::MonitorHistoryRow>> {
                let sql = if monitor.is_empty() {
                    crate::monitor_results::SELECT_ALL_ROLLUPS
                } else {
                    crate::monitor_results::SELECT_ROLLUPS
                };
                let rows = sqlx::query(sql)
                    .bind(monitor)
                    .bind(width)
                    .bind(since)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(|r| Ok(crate::monitor_results::history_row!(r))).collect()
            }

            pub(crate) async fn monitor_uptime_impl(
                &self,
                monitor: &str,
                width: Millis,
                since: Millis,
            ) -> Result<Vec<crate::monitor_results::UptimeRow>> {
                use sqlx::Row;
                let sql = if monitor.is_empty() {
                    crate::monitor_results::SELECT_ALL_UPTIME
                } else {
                    crate::monitor_results::SELECT_UPTIME
                };
                let rows = sqlx::query(sql).bind(monitor).bind(width).bind(since).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::monitor_results::UptimeRow {
                            monitor: r.try_get("monitor")?,
                            series: r.try_get("series")?,
                            checks: r.try_get::<i64, _>("checks")? as u64,
                            failing: r.try_get::<i64, _>("failing")? as u64,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn prune_monitor_rollups_impl(
                &self,
                scope: &crate::monitor_results::RollupScope,
                before: Millis,
                limit: u32,
            ) -> Result<u64> {
                let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "DELETE FROM monitor_rollups WHERE (monitor, series, width, bucket) IN \
                     (SELECT monitor, series, width, bucket FROM monitor_rollups WHERE bucket < ",
                );
                q.push_bind(before);
                match scope {
                    crate::monitor_results::RollupScope::Monitor(name) => {
                        q.push(" AND monitor = ").push_bind(name.clone());
                    }
                    crate::monitor_results::RollupScope::AllBut(names) if !names.is_empty() => {
                        q.push(" AND monitor NOT IN (");
                        let mut list = q.separated(", ");
                        for name in names {
                            list.push_bind(name.clone());
                        }
                        q.push(")");
                    }
                    crate::monitor_results::RollupScope::AllBut(_) => {}
                }
                q.push(" LIMIT ").push_bind(limit.max(1) as i64).push(")");
                Ok(q.build().execute(&self.writer).await?.rows_affected())
            }
        }
    };
}

pub(crate) use monitor_store_methods;

/// `impl $store` with the heartbeat and settings `<method>_impl` functions, beside
/// [`monitor_store_methods!`]; the same arguments.
macro_rules! ping_store_methods {
    ($store:ty, $db:ty, $lock:expr) => {
        impl $store {
            pub(crate) async fn record_pings_impl(&self, pings: &[crate::PingRow], now: Millis) -> Result<Vec<crate::HeartbeatRow>> {
                if pings.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.writer.begin().await?;
                let states = crate::pings::write_pings!($db, tx, pings, now, $lock);
                tx.commit().await?;
                Ok(states)
            }

            pub(crate) async fn heartbeats_impl(&self, since: Millis) -> Result<Vec<crate::HeartbeatRow>> {
                let sql =
                    format!("SELECT {} FROM heartbeats WHERE updated_at >= $1 ORDER BY monitor", crate::pings::STATE_COLUMNS);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok(crate::pings::heartbeat_row!(r))).collect()
            }

            pub(crate) async fn pings_impl(&self, monitor: &str, limit: u32) -> Result<Vec<crate::PingRow>> {
                let rows = sqlx::query(
                    "SELECT monitor, kind, exit_code, rid, body, body_raw, method, user_agent, remote_addr, scheme, queue, message_id, received_at \
                     FROM pings WHERE monitor = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(monitor)
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::PingRow {
                            monitor: r.try_get("monitor")?,
                            kind: crate::pings::kind_of(r.try_get::<String, _>("kind")?.as_str()),
                            exit_code: r.try_get::<Option<i64>, _>("exit_code")?.map(|c| c as i32),
                            rid: r.try_get("rid")?,
                            body: match r.try_get::<Option<Vec<u8>>, _>("body_raw")? {
                                Some(raw) => Some(raw),
                                None => r.try_get::<Option<String>, _>("body")?.map(String::into_bytes),
                            },
                            origin: crate::PingOrigin {
                                method: r.try_get("method")?,
                                user_agent: r.try_get("user_agent")?,
                                remote_addr: r.try_get("remote_addr")?,
                                scheme: r.try_get("scheme")?,
                                queue: r.try_get("queue")?,
                                message_id: r.try_get("message_id")?,
                            },
                            received_at: r.try_get("received_at")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn prune_pings_impl(&self, before: Millis, limit: u32) -> Result<u64> {
                let done = sqlx::query("DELETE FROM pings WHERE id IN (SELECT id FROM pings WHERE received_at < $1 LIMIT $2)")
                    .bind(before)
                    .bind(limit as i64)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(crate) async fn setting_impl(&self, key: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.reader)
                    .await?)
            }
        }
    };
}

pub(crate) use ping_store_methods;

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(monitor: &str, at: Millis) -> MonitorHistoryRow {
        MonitorHistoryRow {
            monitor: monitor.into(),
            series: String::new(),
            bucket: at,
            checks: 1,
            failing: 0,
            errors: 0,
            worst: 0,
            min: Some(1.0),
            max: Some(1.0),
            sum: Some(1.0),
            last: Some(1.0),
        }
    }

    #[test]
    fn a_split_keeps_every_row_in_order_and_each_part_small() {
        let history: Vec<MonitorHistoryRow> = (0..23).map(|i| bucket(&format!("m{}", i % 3), i * 60_000)).collect();
        let rollups = roll_up(&history, &[300_000]);
        let batch = MonitorBatch {
            history: history.clone(),
            rollups: rollups.clone(),
            removed: vec![("gone".into(), String::new())],
            ..Default::default()
        };
        let total = history.len() + rollups.len() + 1;
        let parts = batch.split(10);
        assert_eq!(parts.len(), total.div_ceil(10));
        for part in &parts {
            let rows = part.results.len() + part.history.len() + part.rollups.len() + part.removed.len();
            assert!(rows <= 10 && rows > 0, "{rows}");
        }
        assert_eq!(parts.iter().flat_map(|p| p.history.clone()).collect::<Vec<_>>(), history);
        assert_eq!(parts.iter().flat_map(|p| p.rollups.clone()).collect::<Vec<_>>(), rollups);
        assert_eq!(parts.last().unwrap().removed.len(), 1);
        assert!(MonitorBatch::default().split(10).is_empty());
    }
}
