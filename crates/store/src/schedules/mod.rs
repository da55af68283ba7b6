//! Schedule fires, claimed once, and the schedules' cursors: [`FireStore`]. A backend gets it
//! from one [`schedules_store!`] line, whose SQL is the same on SQLite and PostgreSQL: the
//! methods are written once, in `fire_store!`, and expanded in each backend's module, where its
//! row helpers are.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::{Fence, FireClaim, ScheduleCursor};

/// Schedule fires and cursors.
#[async_trait]
pub trait FireStore: Send + Sync {
    /// Claims fire times and moves schedule cursors in one transaction. Returns, per claim, whether
    /// this call inserted it (false: another process already claimed that fire time).
    /// With `fence`, nothing is claimed unless the node owns the schedules' partitions.
    async fn claim_fires(
        &self,
        claims: &[FireClaim],
        cursors: &[ScheduleCursor],
        fence: Option<&Fence>,
    ) -> Result<Vec<bool>>;
    /// Persisted next fire time per schedule.
    async fn schedule_cursors(&self) -> Result<Vec<ScheduleCursor>>;
    /// Fires claimed whose instance was never committed (a crash between the two).
    async fn unstarted_fires(&self) -> Result<Vec<FireClaim>>;
    /// Fires of one schedule, newest first.
    async fn fires(&self, schedule: &str, limit: u32) -> Result<Vec<FireClaim>>;
    /// Deletes up to `limit` schedule fire records (started or skipped) executed before `before`.
    async fn prune_fires(&self, before: Millis, limit: u32) -> Result<u64>;
    /// How late each fire since `since` started (executed minus scheduled time, ms), newest first,
    /// at most 10,000.
    async fn fire_lags(&self, since: Millis) -> Result<Vec<Millis>>;
}

/// `impl FireStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! fire_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::schedules::FireStore for $store {
        async fn claim_fires(
            &self,
            claims: &[FireClaim],
            cursors: &[ScheduleCursor],
            fence: Option<&Fence>,
        ) -> Result<Vec<bool>> {
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            let mut claimed = Vec::with_capacity(claims.len());
            for chunk in claims.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO schedule_fires (schedule_name, scheduled_at, instance_id, executed_at, status) ",
                );
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(&c.schedule)
                        .push_bind(c.scheduled_at)
                        .push_bind(&c.instance_id)
                        .push_bind(c.executed_at)
                        .push_bind(c.status.as_str());
                });
                q.push(" ON CONFLICT DO NOTHING");
                let inserted = q.build().execute(&mut *tx).await?.rows_affected() as usize;
                if inserted == chunk.len() {
                    claimed.extend(std::iter::repeat_n(true, chunk.len()));
                    continue;
                }
                // Some fire times were already claimed (by an earlier run or another node): find ours.
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT instance_id FROM schedule_fires WHERE instance_id IN (");
                let mut list = q.separated(", ");
                for c in chunk {
                    list.push_bind(&c.instance_id);
                }
                q.push(")");
                let ours: std::collections::HashSet<String> = q
                    .build()
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get("instance_id"))
                    .collect::<std::result::Result<_, _>>()?;
                claimed.extend(chunk.iter().map(|c| ours.contains(&c.instance_id)));
            }
            for chunk in cursors.chunks(ROWS_PER_STATEMENT) {
                let now = claims.first().map(|c| c.executed_at).unwrap_or_default();
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("INSERT INTO schedule_state (name, next_fire_at, updated_at) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(&c.schedule).push_bind(c.next_fire_at).push_bind(now);
                });
                q.push(" ON CONFLICT (name) DO UPDATE SET next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(claimed)
        }

        async fn schedule_cursors(&self) -> Result<Vec<ScheduleCursor>> {
            let rows = sqlx::query("SELECT name, next_fire_at FROM schedule_state").fetch_all(&self.reader).await?;
            rows.iter()
                .map(|r| {
                    Ok(ScheduleCursor {
                        schedule: r.try_get("name")?,
                        next_fire_at: r.try_get::<Option<Millis>, _>("next_fire_at")?,
                    })
                })
                .collect()
        }

        async fn unstarted_fires(&self) -> Result<Vec<FireClaim>> {
            let rows = sqlx::query("SELECT * FROM schedule_fires WHERE status = 'claimed' ORDER BY scheduled_at")
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(fire_of).collect()
        }

        async fn fires(&self, schedule: &str, limit: u32) -> Result<Vec<FireClaim>> {
            let rows =
                sqlx::query("SELECT * FROM schedule_fires WHERE schedule_name = $1 ORDER BY scheduled_at DESC LIMIT $2")
                    .bind(schedule)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter().map(fire_of).collect()
        }

        async fn prune_fires(&self, before: Millis, limit: u32) -> Result<u64> {
            self.prune_fires_impl(before, limit).await
        }

        async fn fire_lags(&self, since: Millis) -> Result<Vec<Millis>> {
            Ok(sqlx::query_scalar(
                "SELECT executed_at - scheduled_at FROM schedule_fires WHERE scheduled_at >= $1 ORDER BY scheduled_at DESC LIMIT 10000",
            )
            .bind(since)
            .fetch_all(&self.reader)
            .await?)
        }
        }
    };
}

pub(crate) use fire_store;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! schedules_store {
    ($store:ty, $db:ty) => {
        $crate::schedules::fire_store!($store, $db);
    };
}

pub(crate) use schedules_store;
