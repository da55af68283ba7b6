//! Listing and purging instances, shared by both backends: the text filter over compressed
//! states ([`crate::state_codec`]) and the statements themselves ([`listing_store_methods`]).

use vigil_core::instance::WorkflowStatus;

use crate::{InstanceFilter, InstanceSummary, Result};

/// Lists with a text filter: the database matches plain states (`LIKE`) and hands back every
/// compressed one with its bytes, which are searched here, page by page, until `filter.limit`
/// match or the candidates run out.
pub(crate) async fn list_with_text<F, Fut>(
    filter: &InstanceFilter,
    text: &str,
    mut page: F,
) -> Result<Vec<InstanceSummary>>
where
    F: FnMut(InstanceFilter) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(InstanceSummary, Option<Vec<u8>>)>>>,
{
    let want = filter.limit.max(1) as usize;
    let mut found = Vec::new();
    let mut next = InstanceFilter { limit: (want as u32).max(500), ..filter.clone() };
    loop {
        let rows = page(next.clone()).await?;
        let full = rows.len() == next.limit as usize;
        next.after = rows.last().map(|(s, _)| (s.created_at, s.id.clone()));
        for (summary, z) in rows {
            if z.as_deref().is_none_or(|z| crate::state_codec::holds(z, text)) {
                found.push(summary);
                if found.len() == want {
                    return Ok(found);
                }
            }
        }
        if !full {
            return Ok(found);
        }
    }
}

/// `filter` narrowed to ended instances (what a purge may delete); `None` when it asks for
/// running or paused ones only.
pub(crate) fn ended_only(filter: &InstanceFilter) -> Option<InstanceFilter> {
    let statuses: Vec<WorkflowStatus> = if filter.statuses.is_empty() {
        std::iter::once(WorkflowStatus::Completed).chain(vigil_core::retention::FAILED_STATUSES).collect()
    } else {
        filter.statuses.iter().copied().filter(|s| s.is_terminal()).collect()
    };
    (!statuses.is_empty()).then(|| InstanceFilter { statuses, ..filter.clone() })
}

/// The instance listing and purge of both backends, written once: expands to an inherent
/// `impl $store` with `<method>_impl` functions that the backends' `Store` impls call. The
/// backend's own `push_filter` (its `LIKE` or `ILIKE`) and `status_of` are used where it expands.
macro_rules! listing_store_methods {
    ($store:ty, $db:ty) => {
        impl $store {
            /// One page of the instance listing, with each compressed state when `filter.text`
            /// is set (for [`crate::listing::list_with_text`]).
            async fn list_page(&self, filter: &InstanceFilter) -> Result<Vec<(InstanceSummary, Option<Vec<u8>>)>> {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "SELECT id, workflow_name, workflow_version, status, created_at, updated_at, correlation_id, ",
                );
                q.push(if filter.text.is_some() { "state_z" } else { "NULL AS state_z" });
                q.push(" FROM instances WHERE 1 = 1");
                push_filter(&mut q, filter);
                q.push(" ORDER BY created_at DESC, id LIMIT ").push_bind(filter.limit.max(1) as i64);
                let rows = q.build().fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        let summary = InstanceSummary {
                            id: r.try_get("id")?,
                            workflow_name: r.try_get("workflow_name")?,
                            workflow_version: r.try_get::<i64, _>("workflow_version")? as u32,
                            status: status_of(&r.try_get::<String, _>("status")?)?,
                            created_at: r.try_get("created_at")?,
                            updated_at: r.try_get("updated_at")?,
                            correlation_id: r.try_get("correlation_id")?,
                        };
                        Ok((summary, r.try_get("state_z")?))
                    })
                    .collect()
            }

            pub(crate) async fn list_instances_impl(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
                match &filter.text {
                    None => Ok(self.list_page(filter).await?.into_iter().map(|(s, _)| s).collect()),
                    Some(text) => {
                        crate::listing::list_with_text(filter, text, |f| async move { self.list_page(&f).await }).await
                    }
                }
            }

            pub(crate) async fn purge_instances_impl(&self, filter: &InstanceFilter) -> Result<Vec<String>> {
                let mut q: QueryBuilder<$db>;
                if filter.text.is_some() {
                    // Compressed states are searched in Rust: list the matches, then delete those.
                    let Some(ended) = crate::listing::ended_only(filter) else { return Ok(Vec::new()) };
                    let ids: Vec<String> = self.list_instances_impl(&ended).await?.into_iter().map(|s| s.id).collect();
                    if ids.is_empty() {
                        return Ok(ids);
                    }
                    q = QueryBuilder::new("DELETE FROM instances WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in &ids {
                        list.push_bind(id.clone());
                    }
                    q.push(") AND status NOT IN ('RUNNING', 'PAUSED') RETURNING id");
                } else {
                    q = QueryBuilder::new("DELETE FROM instances WHERE id IN (SELECT id FROM instances WHERE 1 = 1");
                    push_filter(&mut q, filter);
                    q.push(" AND status NOT IN ('RUNNING', 'PAUSED') ORDER BY created_at DESC, id LIMIT ")
                        .push_bind(filter.limit.max(1) as i64)
                        .push(") RETURNING id");
                }
                let rows = q.build().fetch_all(&self.writer).await?;
                rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
            }

            pub(crate) async fn count_instances_impl(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances").fetch_one(&self.reader).await?;
                Ok(n as u64)
            }
        }
    };
}

pub(crate) use listing_store_methods;
