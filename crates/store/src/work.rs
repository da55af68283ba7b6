//! SIMPLE tasks offered to workers on every node of a cluster: a shared queue, as Conductor's
//! PostgreSQL queue keeps its messages. A node that polls claims offers atomically, so each is
//! handed to one worker however many nodes poll at once. A claim hides the offer for a while
//! instead of deleting it (Conductor's unacked messages): the claimer removes it once the
//! instance's owner has durably learnt of the poll ([`WorkChange::Taken`]); if the claimer dies
//! before that, the offer shows again and another worker gets the task.

use vigil_core::time::Millis;

/// One task offered to workers.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOffer {
    /// The instance.
    pub instance_id: String,
    /// The execution.
    pub task_id: String,
    /// What workers poll for.
    pub task_type: String,
    /// The instance's partition (where reports about it go).
    pub part: u32,
    /// Not handed out before this time.
    pub visible_at: Millis,
    /// The task as the runtime describes it to workers (JSON).
    pub body: String,
}

/// A change to the shared queue.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkChange {
    /// Offer a task; an offer of the same execution already there stays as it is.
    Offer(WorkOffer),
    /// Withdraw one execution's offer.
    Withdraw {
        /// The instance.
        instance_id: String,
        /// The execution.
        task_id: String,
    },
    /// Withdraw every offer of an instance.
    WithdrawInstance(String),
    /// Remove a claimed offer whose claim was delivered: only if it is still that claim (hidden
    /// until `claimed_until`), not an offer of the same execution made again since.
    Taken {
        /// The instance.
        instance_id: String,
        /// The execution.
        task_id: String,
        /// The hiding time the claim gave it.
        claimed_until: Millis,
    },
}

/// An offer from a row of `work_offers`.
pub(crate) fn offer_of<R: sqlx::Row>(r: &R) -> crate::Result<WorkOffer>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(WorkOffer {
        instance_id: r.try_get("instance_id")?,
        task_id: r.try_get("task_id")?,
        task_type: r.try_get("task_type")?,
        part: r.try_get::<i64, _>("part")? as u32,
        visible_at: r.try_get("visible_at")?,
        body: r.try_get("body")?,
    })
}

/// Offers a task (an offer of the same execution is replaced). Both backends run these.
pub(crate) const OFFER: &str = "INSERT INTO work_offers (instance_id, task_id, task_type, part, visible_at, body) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (instance_id, task_id) DO UPDATE SET visible_at = excluded.visible_at, \
    body = excluded.body";
/// Withdraws one execution's offer.
pub(crate) const WITHDRAW: &str = "DELETE FROM work_offers WHERE instance_id = $1 AND task_id = $2";
/// Withdraws an instance's offers.
pub(crate) const WITHDRAW_INSTANCE: &str = "DELETE FROM work_offers WHERE instance_id = $1";
/// Removes a delivered claim.
pub(crate) const TAKEN: &str = "DELETE FROM work_offers WHERE instance_id = $1 AND task_id = $2 AND visible_at = $3";

/// Applies `change` in `tx` (the SQL both backends share).
pub(crate) async fn apply<'c, DB>(tx: &mut sqlx::Transaction<'c, DB>, change: &WorkChange) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match change {
        WorkChange::Offer(o) => {
            sqlx::query(OFFER)
                .bind(o.instance_id.clone())
                .bind(o.task_id.clone())
                .bind(o.task_type.clone())
                .bind(o.part as i64)
                .bind(o.visible_at)
                .bind(o.body.clone())
                .execute(&mut **tx)
                .await?;
        }
        WorkChange::Withdraw { instance_id, task_id } => {
            sqlx::query(WITHDRAW).bind(instance_id.clone()).bind(task_id.clone()).execute(&mut **tx).await?;
        }
        WorkChange::WithdrawInstance(instance_id) => {
            sqlx::query(WITHDRAW_INSTANCE).bind(instance_id.clone()).execute(&mut **tx).await?;
        }
        WorkChange::Taken { instance_id, task_id, claimed_until } => {
            sqlx::query(TAKEN)
                .bind(instance_id.clone())
                .bind(task_id.clone())
                .bind(*claimed_until)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
