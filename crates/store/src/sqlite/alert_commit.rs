//! The alert manager's commits on SQLite in one piece: `BEGIN IMMEDIATE`, every statement of the
//! batch and `COMMIT` sent to SQLite's thread as one multi-statement query. Each `await` on a
//! statement is a hand-off to that thread and back (~60-90 µs on a busy machine); a page for a
//! new group (its header, its alert, its notification) took five, its push-to-page time 0.45 ms
//! in the commit alone. The statements are the transaction's own (`for_each_alert_statement`);
//! the outbox goes last, so the ids SQLite gave it are the last ones (AUTOINCREMENT, one writer:
//! consecutive, in order).
//!
//! sqlx runs every statement of a query string on SQLite, binding `?` parameters across them
//! (documented there as SQLite-only behaviour it means to drop; the conformance suite checks
//! every batch shape this path takes). A batch with a fence (a cluster) or inbox messages takes
//! the transaction of `commit_alerts`.

use sqlx::QueryBuilder;

use super::{ROWS_PER_STATEMENT, SqliteStore};
use crate::Result;
use crate::alerts::AlertBatch;

impl SqliteStore {
    /// Commits `batch` in one query when it holds no fence and no inbox messages; `None`
    /// otherwise. A failed statement rolls the whole batch back.
    pub(super) async fn commit_alerts_at_once(&self, batch: &AlertBatch) -> Result<Option<Vec<i64>>> {
        if batch.fence.is_some() || !batch.inbox_done.is_empty() || !batch.inbox_out.is_empty() {
            return Ok(None);
        }
        let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new("BEGIN IMMEDIATE");
        let mut statements = 0;
        super::for_each_alert_statement(batch, &mut |push| {
            q.push("; ");
            push(&mut q);
            statements += 1;
        });
        for chunk in batch.outbox.chunks(ROWS_PER_STATEMENT) {
            q.push("; ");
            super::push_outbox_rows(&mut q, chunk);
            statements += 1;
        }
        if statements == 0 {
            return Ok(Some(Vec::new()));
        }
        q.push("; COMMIT");
        let mut conn = self.writer.acquire().await?;
        match q.build().execute(&mut *conn).await {
            Ok(done) => {
                let last = done.last_insert_rowid();
                Ok(Some((last - batch.outbox.len() as i64 + 1..=last).collect()))
            }
            Err(e) => {
                // Whatever ran of it is undone; a connection that cannot say so is not reused.
                if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await
                    && !rollback.to_string().contains("no transaction is active")
                {
                    conn.close_on_drop();
                }
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlertStore, GroupRow, MemberRow};

    fn group(key: &str) -> GroupRow {
        GroupRow { group_key: key.into(), next_wake: None, updated_at: 1, state: "{}".into(), members: Vec::new() }
    }

    /// A statement failing halfway rolls back what ran before it, and leaves no transaction open
    /// on the writer: the next batch commits and readers see it.
    #[tokio::test]
    async fn a_failing_statement_undoes_the_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("v.db")).await.unwrap();
        sqlx::query("DROP TABLE alert_group_members").execute(&store.writer).await.unwrap();
        let member = MemberRow { id: 1, group_key: "g".into(), member_key: "m".into(), alert: "{}".into() };
        let broken = AlertBatch { groups: vec![group("g")], group_members: vec![member], ..Default::default() };
        assert!(store.commit_alerts(&broken).await.is_err(), "the members' table is gone");
        let headers: Vec<String> =
            sqlx::query_scalar("SELECT group_key FROM alert_groups").fetch_all(&store.reader).await.unwrap();
        assert!(headers.is_empty(), "the header written before the failure was undone");
        let fine = AlertBatch { groups: vec![group("g2")], ..Default::default() };
        store.commit_alerts(&fine).await.unwrap();
        let headers: Vec<String> =
            sqlx::query_scalar("SELECT group_key FROM alert_groups").fetch_all(&store.reader).await.unwrap();
        assert_eq!(headers, ["g2"], "committed, not held in a transaction left open");
    }
}
