//! The workers' shared queue (`crate::work`) on Sqlite.

use sqlx::Row;
use vigil_core::time::Millis;

use super::SqliteStore;
use crate::Result;
use crate::work::{WorkChange, WorkOffer};

impl SqliteStore {
    pub(super) async fn change_work_impl(&self, changes: &[WorkChange]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for change in changes {
            match change {
                WorkChange::Offer(o) => {
                    sqlx::query(
                        "INSERT INTO work_offers (instance_id, task_id, task_type, part, visible_at, body) \
                         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id, task_id) DO UPDATE SET visible_at = excluded.visible_at, body = excluded.body",
                    )
                    .bind(&o.instance_id)
                    .bind(&o.task_id)
                    .bind(&o.task_type)
                    .bind(o.part as i64)
                    .bind(o.visible_at)
                    .bind(&o.body)
                    .execute(&mut *tx)
                    .await?;
                }
                WorkChange::Withdraw { instance_id, task_id } => {
                    sqlx::query("DELETE FROM work_offers WHERE instance_id = ? AND task_id = ?")
                        .bind(instance_id)
                        .bind(task_id)
                        .execute(&mut *tx)
                        .await?;
                }
                WorkChange::WithdrawInstance(instance_id) => {
                    sqlx::query("DELETE FROM work_offers WHERE instance_id = ?")
                        .bind(instance_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn take_work_impl(&self, task_type: &str, count: u32, now: Millis) -> Result<Vec<WorkOffer>> {
        let rows = sqlx::query(
            "DELETE FROM work_offers WHERE (instance_id, task_id) IN (\
             SELECT instance_id, task_id FROM work_offers WHERE task_type = ? AND visible_at <= ? \
             ORDER BY visible_at LIMIT ?) RETURNING *",
        )
        .bind(task_type)
        .bind(now)
        .bind(count.max(1) as i64)
        .fetch_all(&self.writer)
        .await?;
        let mut offers = rows
            .iter()
            .map(|r| {
                Ok(WorkOffer {
                    instance_id: r.try_get("instance_id")?,
                    task_id: r.try_get("task_id")?,
                    task_type: r.try_get("task_type")?,
                    part: r.try_get::<i64, _>("part")? as u32,
                    visible_at: r.try_get("visible_at")?,
                    body: r.try_get("body")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // RETURNING does not keep the subquery's order.
        offers.sort_by_key(|o| o.visible_at);
        Ok(offers)
    }

    pub(super) async fn work_sizes_impl(&self) -> Result<Vec<(String, u64)>> {
        let rows =
            sqlx::query("SELECT task_type, COUNT(*) AS n FROM work_offers GROUP BY task_type ORDER BY task_type")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(|r| Ok((r.try_get("task_type")?, r.try_get::<i64, _>("n")? as u64))).collect()
    }
}
