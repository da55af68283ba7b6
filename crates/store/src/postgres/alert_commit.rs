//! The alert manager's commonest commit on PostgreSQL in one statement: alerts joining groups
//! (or changing in them) and nothing else, as Prometheus' pushes make while their groups wait.
//! A transaction would be four round trips to the server (`BEGIN`, the fence's read, the rows,
//! `COMMIT`); this is one, the same text every time (the rows as arrays, so it is prepared
//! once), and the fence is inside it: the rows are written only when every partition's lease is
//! still this node's, read `FOR SHARE` as the transaction reads them. When the fence fails
//! nothing is written and the batch goes through the transaction, which says which leases were
//! lost. (A statement of data-modifying `WITH`s for every batch shape was tried and not kept:
//! see docs/benchmarks.md.)

use crate::Result;
use crate::alerts::AlertBatch;

use super::PostgresStore;

/// The members, written when the node holds every lease named (none: no fence).
const MEMBERS_FENCED: &str = "WITH held AS (SELECT part FROM partition_leases WHERE owner = $1 AND part = ANY($2) FOR SHARE) \
     INSERT INTO alert_group_members (id, group_key, member_key, alert) \
     SELECT * FROM unnest($3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) \
     WHERE (SELECT count(*) FROM held) = cardinality($2::BIGINT[]) \
     ON CONFLICT (id) DO UPDATE SET alert = excluded.alert";

impl PostgresStore {
    /// Commits `batch` in one statement when it only writes group members; `None` otherwise,
    /// and when the fence did not hold (nothing was written).
    pub(super) async fn commit_members_at_once(&self, batch: &AlertBatch) -> Result<Option<Vec<i64>>> {
        if !batch.members_alone() {
            return Ok(None);
        }
        let members = &batch.group_members;
        let (node, parts) = match &batch.fence {
            Some(fence) => (fence.node.as_str(), fence.parts.iter().map(|p| i64::from(*p)).collect()),
            None => ("", Vec::new()),
        };
        let done = sqlx::query(MEMBERS_FENCED)
            .bind(node)
            .bind(parts)
            .bind(members.iter().map(|m| m.id).collect::<Vec<i64>>())
            .bind(members.iter().map(|m| m.group_key.as_str()).collect::<Vec<&str>>())
            .bind(members.iter().map(|m| m.member_key.as_str()).collect::<Vec<&str>>())
            .bind(members.iter().map(|m| m.alert.as_str()).collect::<Vec<&str>>())
            .execute(&self.writer)
            .await?;
        Ok((done.rows_affected() == members.len() as u64).then(Vec::new))
    }
}
