//! Leases, fencing, the inbox and notifications on PostgreSQL, mirroring `sqlite/cluster.rs`.
//!
//! A fenced transaction reads the lease rows of its partitions `FOR SHARE`: a node taking a
//! partition over updates that row, so it waits for any transaction of the old owner still in
//! flight, and every later transaction of the old owner sees the new owner and writes nothing.
//! Changes are announced with `NOTIFY` on channel [`CHANNEL`], sent when the transaction commits.

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use vigil_core::instance::Instance;
use vigil_core::time::Millis;

use super::{PostgresStore, ROWS_PER_STATEMENT, alert_of, decode, outbox_of};
use crate::alerts::{AlertRow, OutboxEntry};
use crate::cluster::{CHANNEL, Fence, InboxRow, LeaseRow, NewInboxRow, Notice, partition_of};
use crate::{Result, StoreError};

fn ids(parts: &[u32]) -> Vec<i64> {
    parts.iter().map(|p| *p as i64).collect()
}

/// Fails with [`StoreError::LeaseLost`] unless `fence.node` owns every partition of the fence.
pub(super) async fn check_fence(tx: &mut PgConnection, fence: &Fence) -> Result<()> {
    if fence.parts.is_empty() {
        return Ok(());
    }
    let held: Vec<i64> =
        sqlx::query_scalar("SELECT part FROM partition_leases WHERE owner = $1 AND part = ANY($2) FOR SHARE")
            .bind(&fence.node)
            .bind(ids(&fence.parts))
            .fetch_all(&mut *tx)
            .await?;
    let lost: Vec<u32> = fence.parts.iter().copied().filter(|p| !held.contains(&(*p as i64))).collect();
    if lost.is_empty() { Ok(()) } else { Err(StoreError::LeaseLost(lost)) }
}

/// Adds inbox messages inside a transaction and notifies their partitions' owners on commit.
pub(super) async fn insert_inbox(tx: &mut PgConnection, rows: &[NewInboxRow]) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q: QueryBuilder<Postgres> =
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
        send_notice(&mut *tx, &Notice::Inbox(part)).await?;
    }
    Ok(())
}

async fn send_notice(conn: &mut PgConnection, notice: &Notice) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(notice.payload()).execute(&mut *conn).await?;
    Ok(())
}

/// Deletes inbox messages inside a transaction.
pub(super) async fn remove_inbox(tx: &mut PgConnection, ids: &[i64]) -> Result<()> {
    if !ids.is_empty() {
        sqlx::query("DELETE FROM inbox WHERE id = ANY($1)").bind(ids).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Sets the partition of alert and outbox rows written before partitions existed (migration 0007
/// gave them all partition 0).
pub(super) async fn repartition_alerts(tx: &mut PgConnection) -> Result<()> {
    let keys: Vec<String> = sqlx::query_scalar("SELECT dedup_key FROM alerts").fetch_all(&mut *tx).await?;
    for key in keys {
        let part = partition_of(&key) as i64;
        sqlx::query("UPDATE alerts SET part = $1 WHERE dedup_key = $2").bind(part).bind(&key).execute(&mut *tx).await?;
        sqlx::query("UPDATE outbox SET part = $1 WHERE dedup_key = $2").bind(part).bind(&key).execute(&mut *tx).await?;
    }
    Ok(())
}

fn parts_of(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<u32>> {
    rows.iter().map(|r| Ok(r.try_get::<i64, _>("part")? as u32)).collect()
}

impl PostgresStore {
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
        let rows = sqlx::query(
            "UPDATE partition_leases SET owner = $1, epoch = epoch + 1, expires_at = $2, acquired_at = $3 \
             WHERE part IN (SELECT part FROM partition_leases WHERE owner IS NULL OR expires_at < $3 \
                            ORDER BY owner IS NOT NULL, part LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING part",
        )
        .bind(node)
        .bind(until)
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
        sqlx::query("UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE owner = $1 AND part = ANY($2)")
            .bind(node)
            .bind(ids(parts))
            .execute(&mut *tx)
            .await?;
        send_notice(&mut tx, &Notice::Leases).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn unfinished_in_impl(&self, parts: &[u32]) -> Result<Vec<Instance>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT state FROM instances WHERE status IN ('RUNNING', 'PAUSED') AND part = ANY($1) ORDER BY created_at",
        )
        .bind(ids(parts))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|s| decode(s)).collect()
    }

    pub(super) async fn alerts_in_impl(&self, parts: &[u32]) -> Result<Vec<AlertRow>> {
        let rows =
            sqlx::query("SELECT * FROM alerts WHERE part = ANY($1)").bind(ids(parts)).fetch_all(&self.reader).await?;
        rows.iter().map(alert_of).collect()
    }

    pub(super) async fn pending_outbox_in_impl(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>> {
        let rows = sqlx::query("SELECT * FROM outbox WHERE status = 'pending' AND part = ANY($1) ORDER BY id")
            .bind(ids(parts))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(outbox_of).collect()
    }

    pub(super) async fn put_inbox_impl(&self, rows: &[NewInboxRow]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_inbox(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn inbox_impl(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>> {
        let rows = sqlx::query("SELECT * FROM inbox WHERE part = ANY($1) ORDER BY id LIMIT $2")
            .bind(ids(parts))
            .bind(limit as i64)
            .fetch_all(&self.reader)
            .await?;
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

    pub(super) async fn notify_impl(&self, notice: &Notice) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        send_notice(&mut conn, notice).await
    }

    /// Listens on [`CHANNEL`]. When the connection drops, the listener reconnects and sends
    /// [`Notice::Leases`], since notices may have been missed meanwhile.
    pub(super) async fn subscribe_impl(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Notice>> {
        let mut listener = PgListener::connect_with(&self.listen).await.ok()?;
        listener.listen(CHANNEL).await.ok()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let notice = match listener.try_recv().await {
                    Ok(Some(n)) => Notice::parse(n.payload()),
                    Ok(None) => Some(Notice::Leases),
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        Some(Notice::Leases)
                    }
                };
                if let Some(notice) = notice
                    && tx.send(notice).is_err()
                {
                    return;
                }
            }
        });
        Some(rx)
    }
}
