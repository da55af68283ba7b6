//! Monitors' results and history, heartbeats' pings, browser checks' evidence and the live relay.
//! [`MonitorStore`] sums the traits below; a backend gets them all from one [`monitors_store!`]
//! line, whose SQL is the same on SQLite and PostgreSQL: each trait's methods are written once, in
//! the macro named after it, and expanded in each backend's module, where its row helpers are.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::{
    CheckEvidence, HeartbeatRow, MonitorBatch, MonitorHistoryRow, MonitorLiveRow, MonitorResultRow, PingRow,
    RollupScope, UptimeRow,
};

/// Monitors' latest readings, history buckets and rollups.
#[async_trait]
pub trait MonitorResultStore: Send + Sync {
    /// Writes monitor results: latest readings, closed history buckets and gone series, in one
    /// transaction.
    async fn put_monitor_results(&self, batch: &MonitorBatch) -> Result<()>;
    /// The latest reading of every series, or of `monitor`'s (`""`: every monitor's).
    async fn monitor_results(&self, monitor: &str) -> Result<Vec<MonitorResultRow>>;
    /// The latest reading of every series of `monitors`, by monitor and series.
    async fn monitor_results_of(&self, monitors: &[String]) -> Result<Vec<MonitorResultRow>>;
    /// `monitor`'s history buckets from `since` on, oldest first, at most `limit`.
    async fn monitor_history(&self, monitor: &str, since: Millis, limit: u32) -> Result<Vec<MonitorHistoryRow>>;
    /// Deletes history buckets older than `before`, at most `limit` of them; returns how many.
    async fn prune_monitor_history(&self, before: Millis, limit: u32) -> Result<u64>;
    /// One monitor's downsampled buckets of `width` from `since` on, oldest first, at most `limit`;
    /// with an empty name, every monitor's, by monitor and then oldest first.
    async fn monitor_rollups(
        &self,
        monitor: &str,
        width: Millis,
        since: Millis,
        limit: u32,
    ) -> Result<Vec<MonitorHistoryRow>>;
    /// Checks and failing checks per series in the `width` rollups from `since` on, of one
    /// monitor or (empty name) of all.
    async fn monitor_uptime(&self, monitor: &str, width: Millis, since: Millis) -> Result<Vec<UptimeRow>>;
    /// The checks and failing checks of `monitors` together (every series) per rollup bucket of
    /// `width` from `since` on, summed in the database: `(bucket, checks, failing)`, oldest first.
    async fn rollup_sums(&self, monitors: &[String], width: Millis, since: Millis) -> Result<Vec<(Millis, u64, u64)>>;
    /// Deletes up to `limit` rollups of `scope` older than `before`; returns how many.
    async fn prune_monitor_rollups(&self, scope: &RollupScope, before: Millis, limit: u32) -> Result<u64>;
}

/// Heartbeats' pings and states.
#[async_trait]
pub trait PingStore: Send + Sync {
    /// Appends pings and advances their heartbeats' states, in one transaction; returns the new
    /// states of the heartbeats the pings were for.
    async fn record_pings(&self, pings: &[PingRow], now: Millis) -> Result<Vec<HeartbeatRow>>;
    /// Heartbeat states changed at or after `since` (0: all).
    async fn heartbeats(&self, since: Millis) -> Result<Vec<HeartbeatRow>>;
    /// `monitor`'s latest pings, newest first, at most `limit`.
    async fn pings(&self, monitor: &str, limit: u32) -> Result<Vec<PingRow>>;
    /// Deletes pings received before `before`, at most `limit`; returns how many.
    async fn prune_pings(&self, before: Millis, limit: u32) -> Result<u64>;
}

/// Failed browser checks' evidence.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// Keeps a failed browser check's evidence, and forgets all but the monitor's newest
    /// [`crate::evidence::KEPT_PER_MONITOR`].
    async fn keep_check_evidence(&self, evidence: &CheckEvidence) -> Result<()>;
    /// A monitor's kept evidence, newest first, without the screenshots' bytes.
    async fn check_evidence(&self, monitor: &str, limit: u32) -> Result<Vec<CheckEvidence>>;
    /// Forgets every monitor's evidence from before `before` (a deleted monitor's goes this way);
    /// how many were forgotten.
    async fn prune_check_evidence(&self, before: Millis) -> Result<u64>;
    /// The screenshot of a monitor's evidence from `at`.
    async fn check_screenshot(&self, monitor: &str, at: Millis) -> Result<Option<Vec<u8>>>;
}

/// What a monitor's owner relays of its memory to other nodes.
#[async_trait]
pub trait MonitorLiveStore: Send + Sync {
    /// Asks the node running monitor `monitor` to relay what its memory holds of it until
    /// `until`, and returns what it relayed so far (see [`crate::monitor_live`]).
    async fn want_monitor_live(&self, monitor: &str, until: Millis) -> Result<Option<MonitorLiveRow>>;
    /// The monitors some node wants relayed at `now`.
    async fn wanted_monitor_live(&self, now: Millis) -> Result<Vec<String>>;
    /// Writes the relayed bodies `(monitor, body)`, dated `at`.
    async fn put_monitor_live(&self, rows: &[(String, String)], at: Millis) -> Result<()>;
    /// Forgets the relays nobody wanted since `before`.
    async fn forget_monitor_live(&self, before: Millis) -> Result<()>;
}

/// Monitors' results and history, heartbeats' pings, browser checks' evidence and the live relay.
pub trait MonitorStore: MonitorResultStore + PingStore + EvidenceStore + MonitorLiveStore {}

impl<S: MonitorResultStore + PingStore + EvidenceStore + MonitorLiveStore + ?Sized> MonitorStore for S {}

/// `impl MonitorResultStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! monitor_result_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::monitors::MonitorResultStore for $store {
            async fn put_monitor_results(&self, batch: &crate::MonitorBatch) -> Result<()> {
                self.put_monitor_results_impl(batch).await
            }

            async fn monitor_results(&self, monitor: &str) -> Result<Vec<crate::MonitorResultRow>> {
                self.monitor_results_impl(monitor).await
            }

            async fn monitor_results_of(&self, monitors: &[String]) -> Result<Vec<crate::MonitorResultRow>> {
                let mut out = Vec::new();
                for chunk in monitors.chunks(ROWS_PER_STATEMENT) {
                    let mut q: QueryBuilder<$db> = QueryBuilder::new(crate::monitor_results::SELECT_RESULTS_OF);
                    let mut list = q.separated(", ");
                    for m in chunk {
                        list.push_bind(m);
                    }
                    q.push(") ORDER BY monitor, series");
                    for r in q.build().fetch_all(&self.reader).await? {
                        out.push(crate::monitor_results::result_row!(r));
                    }
                }
                Ok(out)
            }

            async fn monitor_history(
                &self,
                monitor: &str,
                since: Millis,
                limit: u32,
            ) -> Result<Vec<crate::MonitorHistoryRow>> {
                self.monitor_history_impl(monitor, since, limit).await
            }

            async fn prune_monitor_history(&self, before: Millis, limit: u32) -> Result<u64> {
                self.prune_monitor_history_impl(before, limit).await
            }

            async fn monitor_rollups(
                &self,
                monitor: &str,
                width: Millis,
                since: Millis,
                limit: u32,
            ) -> Result<Vec<crate::MonitorHistoryRow>> {
                self.monitor_rollups_impl(monitor, width, since, limit).await
            }

            async fn monitor_uptime(
                &self,
                monitor: &str,
                width: Millis,
                since: Millis,
            ) -> Result<Vec<crate::UptimeRow>> {
                self.monitor_uptime_impl(monitor, width, since).await
            }

            async fn rollup_sums(
                &self,
                monitors: &[String],
                width: Millis,
                since: Millis,
            ) -> Result<Vec<(Millis, u64, u64)>> {
                let mut sums: std::collections::BTreeMap<Millis, (u64, u64)> = Default::default();
                for chunk in monitors.chunks(ROWS_PER_STATEMENT) {
                    let mut q: QueryBuilder<$db> = QueryBuilder::new(
                        "SELECT bucket, CAST(SUM(checks) AS BIGINT) AS checks, CAST(SUM(failing) AS BIGINT) AS failing \
                     FROM monitor_rollups WHERE +width = ",
                    );
                    // `+`: through the key (monitor first), not the age index over every monitor.
                    q.push_bind(width).push(" AND +bucket >= ").push_bind(since).push(" AND monitor IN (");
                    let mut list = q.separated(", ");
                    for m in chunk {
                        list.push_bind(m);
                    }
                    q.push(") GROUP BY bucket");
                    for row in q.build().fetch_all(&self.reader).await? {
                        let at: Millis = row.try_get("bucket")?;
                        let (checks, failing): (i64, i64) = (row.try_get("checks")?, row.try_get("failing")?);
                        let sum = sums.entry(at).or_default();
                        sum.0 += checks.max(0) as u64;
                        sum.1 += failing.max(0) as u64;
                    }
                }
                Ok(sums.into_iter().map(|(at, (c, f))| (at, c, f)).collect())
            }

            async fn prune_monitor_rollups(
                &self,
                scope: &crate::RollupScope,
                before: Millis,
                limit: u32,
            ) -> Result<u64> {
                self.prune_monitor_rollups_impl(scope, before, limit).await
            }
        }
    };
}

pub(crate) use monitor_result_store;

/// `impl PingStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! ping_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::monitors::PingStore for $store {
            async fn record_pings(&self, pings: &[crate::PingRow], now: Millis) -> Result<Vec<crate::HeartbeatRow>> {
                self.record_pings_impl(pings, now).await
            }

            async fn heartbeats(&self, since: Millis) -> Result<Vec<crate::HeartbeatRow>> {
                self.heartbeats_impl(since).await
            }

            async fn pings(&self, monitor: &str, limit: u32) -> Result<Vec<crate::PingRow>> {
                self.pings_impl(monitor, limit).await
            }

            async fn prune_pings(&self, before: Millis, limit: u32) -> Result<u64> {
                self.prune_pings_impl(before, limit).await
            }
        }
    };
}

pub(crate) use ping_store;

/// `impl EvidenceStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! evidence_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::monitors::EvidenceStore for $store {
            async fn keep_check_evidence(&self, e: &crate::CheckEvidence) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(crate::evidence::INSERT)
                    .bind(&e.monitor)
                    .bind(e.at)
                    .bind(&e.note)
                    .bind(&e.console)
                    .bind(&e.screenshot)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(crate::evidence::PRUNE)
                    .bind(&e.monitor)
                    .bind(crate::evidence::KEPT_PER_MONITOR)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn check_evidence(&self, monitor: &str, limit: u32) -> Result<Vec<crate::CheckEvidence>> {
                let rows = sqlx::query(crate::evidence::SELECT)
                    .bind(monitor)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::CheckEvidence {
                            monitor: r.try_get("monitor")?,
                            at: r.try_get("at")?,
                            note: r.try_get("note")?,
                            console: r.try_get("console")?,
                            screenshot: Vec::new(),
                            screenshot_bytes: r.try_get("screenshot_bytes")?,
                        })
                    })
                    .collect()
            }

            async fn prune_check_evidence(&self, before: Millis) -> Result<u64> {
                let done = sqlx::query(crate::evidence::PRUNE_OLDER).bind(before).execute(&self.writer).await?;
                Ok(done.rows_affected())
            }

            async fn check_screenshot(&self, monitor: &str, at: Millis) -> Result<Option<Vec<u8>>> {
                let row = sqlx::query(crate::evidence::SCREENSHOT)
                    .bind(monitor)
                    .bind(at)
                    .fetch_optional(&self.reader)
                    .await?;
                Ok(row.map(|r| r.try_get("screenshot")).transpose()?)
            }
        }
    };
}

pub(crate) use evidence_store;

/// `impl MonitorLiveStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! monitor_live_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::monitors::MonitorLiveStore for $store {
            async fn want_monitor_live(&self, monitor: &str, until: Millis) -> Result<Option<crate::MonitorLiveRow>> {
                let (body, written_at): (Option<String>, Option<i64>) =
                    sqlx::query_as(crate::monitor_live::WANT).bind(monitor).bind(until).fetch_one(&self.writer).await?;
                Ok(body.zip(written_at).map(|(body, written_at)| crate::MonitorLiveRow { body, written_at }))
            }

            async fn wanted_monitor_live(&self, now: Millis) -> Result<Vec<String>> {
                Ok(sqlx::query_scalar(crate::monitor_live::WANTED).bind(now).fetch_all(&self.reader).await?)
            }

            async fn put_monitor_live(&self, rows: &[(String, String)], at: Millis) -> Result<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await?;
                for (monitor, body) in rows {
                    sqlx::query(crate::monitor_live::WRITE).bind(monitor).bind(body).bind(at).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn forget_monitor_live(&self, before: Millis) -> Result<()> {
                sqlx::query(crate::monitor_live::FORGET).bind(before).execute(&self.writer).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use monitor_live_store;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! monitors_store {
    ($store:ty, $db:ty) => {
        $crate::monitors::monitor_result_store!($store, $db);
        $crate::monitors::ping_store!($store, $db);
        $crate::monitors::evidence_store!($store, $db);
        $crate::monitors::monitor_live_store!($store, $db);
    };
}

pub(crate) use monitors_store;
