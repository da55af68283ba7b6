//! The workers' shared queue (`crate::work`) on Postgres.

use vigil_core::time::Millis;

use super::PostgresStore;
use crate::Result;
use crate::work::WorkOffer;

impl PostgresStore {
    pub(super) async fn take_work_impl(
        &self,
        task_type: &str,
        count: u32,
        now: Millis,
        claimed_until: Millis,
    ) -> Result<Vec<WorkOffer>> {
        let rows = sqlx::query(
            "WITH picked AS (SELECT instance_id, task_id, visible_at FROM work_offers \
             WHERE task_type = $1 AND visible_at <= $2 ORDER BY visible_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE work_offers w SET visible_at = $4 FROM picked p \
             WHERE w.instance_id = p.instance_id AND w.task_id = p.task_id \
             RETURNING w.instance_id, w.task_id, w.task_type, w.part, p.visible_at, w.body",
        )
        .bind(task_type)
        .bind(now)
        .bind(count.max(1) as i64)
        .bind(claimed_until)
        .fetch_all(&self.writer)
        .await?;
        let mut offers = rows.iter().map(crate::work::offer_of).collect::<Result<Vec<_>>>()?;
        // RETURNING does not keep the subquery's order.
        offers.sort_by_key(|o| o.visible_at);
        Ok(offers)
    }
}
