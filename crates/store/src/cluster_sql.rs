//! Leases, fencing and the inbox, written once for both backends: `cluster_sql!` expands in each
//! backend's `cluster.rs`, which keeps only what really differs (row locks, and PostgreSQL's
//! notices, [`Notice`](crate::cluster::Notice)).

/// The shared cluster statements for a backend. `$fence_lock` is appended to the fence's read of
/// its leases (`" FOR SHARE"` on PostgreSQL, where a node taking a partition over must wait for
/// the old owner's transactions); `$claim_lock` to the pick of free leases (`" FOR UPDATE SKIP
/// LOCKED"`). The expansion site provides `announce(tx, notice)`, which tells the other nodes of
/// a change when the transaction commits (a no-op where one process uses the store).
macro_rules! cluster_sql {
    ($store:ty, $db:ty, $conn:ty, $row:ty, fence_lock: $fence_lock:literal, claim_lock: $claim_lock:literal) => {
        use sqlx::{QueryBuilder, Row};
        use vigil_core::instance::Instance;
        use vigil_core::time::Millis;

        use super::{ROWS_PER_STATEMENT, alert_of, decode, outbox_of};
        use crate::alerts::{AlertRow, OutboxEntry};
        use crate::cluster::{Fence, InboxRow, LeaseRow, NewInboxRow, Notice, partition_of};
        use crate::{Result, StoreError};

        /// `($1, $2, ...)` for `parts`.
        fn push_parts(q: &mut QueryBuilder<$db>, parts: &[u32]) {
            q.push("(");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(")");
        }

        /// Fails with [`StoreError::LeaseLost`] unless `fence.node` owns every partition of the
        /// fence.
        pub(super) async fn check_fence(tx: &mut $conn, fence: &Fence) -> Result<()> {
            if fence.parts.is_empty() {
                return Ok(());
            }
            let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT part FROM partition_leases WHERE owner = ");
            q.push_bind(&fence.node).push(" AND part IN ");
            push_parts(&mut q, &fence.parts);
            q.push($fence_lock);
            let held: Vec<i64> = q.build_query_scalar().fetch_all(&mut *tx).await?;
            let lost: Vec<u32> = fence.parts.iter().copied().filter(|p| !held.contains(&(*p as i64))).collect();
            if lost.is_empty() { Ok(()) } else { Err(StoreError::LeaseLost(lost)) }
        }

        /// Adds inbox messages inside a transaction, and announces them to their partitions'
        /// owners.
        pub(super) async fn insert_inbox(tx: &mut $conn, rows: &[NewInboxRow]) -> Result<()> {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("INSERT INTO inbox (part, kind, target, body, created_at) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.part as i64)
                        .push_bind(&r.kind)
                        .push_bind(&r.target)
                        .push_bind(&r.body)
                        .push_bind(r.created_at);
                });
                q.build().execute(&mut *tx).await?;
            }
            let mut parts: Vec<u32> = rows.iter().map(|r| r.part).collect();
            parts.sort_unstable();
            parts.dedup();
            for part in parts {
                announce(&mut *tx, &Notice::Inbox(part)).await?;
            }
            Ok(())
        }

        /// Deletes inbox messages inside a transaction.
        pub(super) async fn remove_inbox(tx: &mut $conn, ids: &[i64]) -> Result<()> {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new("DELETE FROM inbox WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(&mut *tx).await?;
            }
            Ok(())
        }

        /// Sets the partition of alert and outbox rows written before partitions existed
        /// (migration 0007 gave them all partition 0).
        pub(super) async fn repartition_alerts(tx: &mut $conn) -> Result<()> {
            let keys: Vec<String> = sqlx::query_scalar("SELECT dedup_key FROM alerts").fetch_all(&mut *tx).await?;
            for key in keys {
                let part = partition_of(&key) as i64;
                sqlx::query("UPDATE alerts SET part = $1 WHERE dedup_key = $2")
                    .bind(part)
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE outbox SET part = $1 WHERE dedup_key = $2")
                    .bind(part)
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        }

        fn parts_of(rows: &[$row]) -> Result<Vec<u32>> {
            rows.iter().map(|r| Ok(r.try_get::<i64, _>("part")? as u32)).collect()
        }
    };
}

pub(crate) use cluster_sql;

/// `impl $store` with the cluster methods the backends' `Store` impls call (`leases_impl` and
/// friends), over the helpers [`cluster_sql!`] expands beside them; the same arguments.
macro_rules! cluster_store_sql {
    ($store:ty, $db:ty, $conn:ty, $row:ty, fence_lock: $fence_lock:literal, claim_lock: $claim_lock:literal) => {
        impl $store {
            pub(super) async fn leases_impl(&self) -> Result<Vec<LeaseRow>> {
                let rows = sqlx::query("SELECT * FROM partition_leases ORDER BY part").fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(LeaseRow {
                            part: r.try_get::<i64, _>("part")? as u32,
                            owner: r.try_get("owner")?,
                            epoch: r.try_get("epoch")?,
                            expires_at: r.try_get("expires_at")?,
                        })
                    })
                    .collect()
            }

            pub(super) async fn acquire_leases_impl(
                &self,
                node: &str,
                max: u32,
                now: Millis,
                until: Millis,
            ) -> Result<Vec<u32>> {
                const SQL: &str = concat!(
                    "UPDATE partition_leases SET owner = $1, epoch = epoch + 1, expires_at = $2, acquired_at = $3 \
                     WHERE part IN (SELECT part FROM partition_leases WHERE owner IS NULL OR expires_at < $4 \
                                    ORDER BY owner IS NOT NULL, part LIMIT $5",
                    $claim_lock,
                    ") RETURNING part"
                );
                let rows = sqlx::query(SQL)
                    .bind(node)
                    .bind(until)
                    .bind(now)
                    .bind(now)
                    .bind(max as i64)
                    .fetch_all(&self.writer)
                    .await?;
                parts_of(&rows)
            }

            pub(super) async fn renew_leases_impl(&self, node: &str, until: Millis) -> Result<Vec<u32>> {
                let rows = sqlx::query("UPDATE partition_leases SET expires_at = $1 WHERE owner = $2 RETURNING part")
                    .bind(until)
                    .bind(node)
                    .fetch_all(&self.writer)
                    .await?;
                let mut parts = parts_of(&rows)?;
                parts.sort_unstable();
                Ok(parts)
            }

            pub(super) async fn release_leases_impl(&self, node: &str, parts: &[u32]) -> Result<()> {
                if parts.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await?;
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE owner = ");
                q.push_bind(node).push(" AND part IN ");
                push_parts(&mut q, parts);
                q.build().execute(&mut *tx).await?;
                announce(&mut tx, &Notice::Leases).await?;
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn unfinished_in_impl(&self, parts: &[u32]) -> Result<Vec<Instance>> {
                if parts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT state FROM instances WHERE status IN ('RUNNING', 'PAUSED') AND part IN ");
                push_parts(&mut q, parts);
                q.push(" ORDER BY created_at");
                let rows: Vec<String> = q.build_query_scalar().fetch_all(&self.reader).await?;
                rows.iter().map(|s| decode(s)).collect()
            }

            pub(super) async fn alerts_in_impl(&self, parts: &[u32]) -> Result<Vec<AlertRow>> {
                if parts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM alerts WHERE part IN ");
                push_parts(&mut q, parts);
                q.build().fetch_all(&self.reader).await?.iter().map(alert_of).collect()
            }

            pub(super) async fn pending_outbox_in_impl(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>> {
                if parts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT * FROM outbox WHERE status = 'pending' AND part IN ");
                push_parts(&mut q, parts);
                q.push(" ORDER BY id");
                q.build().fetch_all(&self.reader).await?.iter().map(outbox_of).collect()
            }

            pub(super) async fn put_inbox_impl(&self, rows: &[NewInboxRow]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                insert_inbox(&mut tx, rows).await?;
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn inbox_impl(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>> {
                if parts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM inbox WHERE part IN ");
                push_parts(&mut q, parts);
                q.push(" ORDER BY id LIMIT ").push_bind(limit as i64);
                let rows = q.build().fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(InboxRow {
                            id: r.try_get("id")?,
                            msg: NewInboxRow {
                                part: r.try_get::<i64, _>("part")? as u32,
                                kind: r.try_get("kind")?,
                                target: r.try_get("target")?,
                                body: r.try_get("body")?,
                                created_at: r.try_get("created_at")?,
                            },
                        })
                    })
                    .collect()
            }

            pub(super) async fn delete_inbox_impl(&self, ids: &[i64]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                remove_inbox(&mut tx, ids).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use cluster_store_sql;
