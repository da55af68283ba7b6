//! The workers' shared queue (`crate::work`) on Sqlite.

use vigil_core::time::Millis;

use super::SqliteStore;
use crate::Result;
use crate::work::WorkOffer;

impl SqliteStore {
    pub(super) async fn take_work_impl(
        &self,
        task_type: &str,
        count: u32,
        now: Millis,
        claimed_until: Millis,
    ) -> Result<Vec<WorkOffer>> {
        // One writer: the read and the hiding cannot interleave with another claim.
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query(
            "SELECT instance_id, task_id, task_type, part, visible_at, body FROM work_offers \
             WHERE task_type = ? AND visible_at <= ? ORDER BY visible_at LIMIT ?",
        )
        .bind(task_type)
        .bind(now)
        .bind(count.max(1) as i64)
        .fetch_all(&mut *tx)
        .await?;
        let offers = rows.iter().map(crate::work::offer_of).collect::<Result<Vec<_>>>()?;
        for o in &offers {
            sqlx::query("UPDATE work_offers SET visible_at = $1 WHERE instance_id = $2 AND task_id = $3")
                .bind(claimed_until)
                .bind(&o.instance_id)
                .bind(&o.task_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(offers)
    }
}
