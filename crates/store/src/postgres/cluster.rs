//! Leases, fencing, the inbox and notifications on PostgreSQL. The statements are shared with
//! SQLite (`crate::cluster_sql`); what differs is here.
//!
//! A fenced transaction reads the lease rows of its partitions `FOR SHARE`: a node taking a
//! partition over updates that row, so it waits for any transaction of the old owner still in
//! flight, and every later transaction of the old owner sees the new owner and writes nothing.
//! Changes are announced with `NOTIFY` on channel [`CHANNEL`], sent when the transaction commits.

use sqlx::PgConnection;
use sqlx::postgres::PgListener;

use super::PostgresStore;
use crate::cluster::CHANNEL;

crate::cluster_sql::cluster_sql!(
    PostgresStore,
    sqlx::Postgres,
    PgConnection,
    sqlx::postgres::PgRow,
    fence_lock: " FOR SHARE",
    claim_lock: " FOR UPDATE SKIP LOCKED"
);
crate::cluster_sql::cluster_store_sql!(
    PostgresStore,
    sqlx::Postgres,
    PgConnection,
    sqlx::postgres::PgRow,
    fence_lock: " FOR SHARE",
    claim_lock: " FOR UPDATE SKIP LOCKED"
);

/// Tells every node listening on [`CHANNEL`] of `notice` when the transaction commits.
async fn announce(conn: &mut PgConnection, notice: &Notice) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(notice.payload()).execute(&mut *conn).await?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn notify_impl(&self, notice: &Notice) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        announce(&mut conn, notice).await
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
