//! Incidents opened on status pages, as stored: the incident itself is JSON the runtime reads
//! (`vigil_core::status_page::Incident`); the columns are what a page's current and past
//! incidents are found by. Both backends run the same SQL: [`IncidentStore`]'s methods are
//! written once, in [`incident_store!`], for the backend types it is given.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::status_pages::NewNotice;

/// One stored incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// The status page's slug.
    pub page: String,
    /// Its id on the page.
    pub id: String,
    /// When it began (its first update).
    pub opened_at: Millis,
    /// When it was resolved; `None` while it is not.
    pub resolved_at: Option<Millis>,
    /// The incident, as JSON.
    pub body: String,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for IncidentRow
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(IncidentRow {
            page: row.try_get("page")?,
            id: row.try_get("id")?,
            opened_at: row.try_get("opened_at")?,
            resolved_at: row.try_get("resolved_at")?,
            body: row.try_get("body")?,
        })
    }
}

/// A status page's incidents.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Adds or replaces a status page's incident, with the notices telling its subscribers.
    async fn put_incident(&self, incident: &IncidentRow, notices: &[NewNotice]) -> Result<()>;
    /// Replaces an incident, with the notices telling its subscribers, if its body is still
    /// `read` (what the caller changed); false, writing nothing, when someone else changed it
    /// since (read it again).
    async fn replace_incident(&self, incident: &IncidentRow, read: &str, notices: &[NewNotice]) -> Result<bool>;
    /// One incident of page `page`.
    async fn incident(&self, page: &str, id: &str) -> Result<Option<IncidentRow>>;
    /// Page `page`'s incidents that began before `to` and were not resolved before `from`
    /// (those open then), newest first, at most `limit`.
    async fn incidents(&self, page: &str, from: Millis, to: Millis, limit: u32) -> Result<Vec<IncidentRow>>;
}

/// Adds or replaces an incident.
pub(crate) const UPSERT: &str = "INSERT INTO incidents (page, id, opened_at, resolved_at, body) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (page, id) DO UPDATE SET opened_at = excluded.opened_at, resolved_at = excluded.resolved_at, body = excluded.body";

/// Replaces an incident only if it is still as read (`$6`: its body then).
pub(crate) const REPLACE_IF: &str = "UPDATE incidents SET opened_at = $3, resolved_at = $4, body = $5 \
     WHERE page = $1 AND id = $2 AND body = $6";

/// One incident of a page.
pub(crate) const SELECT_ONE: &str =
    "SELECT page, id, opened_at, resolved_at, body FROM incidents WHERE page = $1 AND id = $2";

/// A page's incidents that began before `$3` and were not resolved before `$2`, newest first.
pub(crate) const SELECT_BETWEEN: &str = "SELECT page, id, opened_at, resolved_at, body FROM incidents \
     WHERE page = $1 AND opened_at < $3 AND (resolved_at IS NULL OR resolved_at >= $2) ORDER BY opened_at DESC LIMIT $4";

/// `impl IncidentStore for $store` (pools `writer` and `reader`), inside
/// [`status_page_store!`](crate::status_pages::status_page_store), which gives `insert_notices`.
macro_rules! incident_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::status_pages::IncidentStore for $store {
            async fn put_incident(&self, incident: &IncidentRow, notices: &[NewNotice]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                incidents::bind_row(sqlx::query(incidents::UPSERT), incident).execute(&mut *tx).await?;
                insert_notices(&mut tx, notices).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn replace_incident(
                &self,
                incident: &IncidentRow,
                read: &str,
                notices: &[NewNotice],
            ) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let done = incidents::bind_row(sqlx::query(incidents::REPLACE_IF), incident)
                    .bind(read)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_notices(&mut tx, notices).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn incident(&self, page: &str, id: &str) -> Result<Option<IncidentRow>> {
                let q = sqlx::query_as(incidents::SELECT_ONE).bind(page).bind(id);
                Ok(q.fetch_optional(&self.reader).await?)
            }

            async fn incidents(&self, page: &str, from: Millis, to: Millis, limit: u32) -> Result<Vec<IncidentRow>> {
                let q = sqlx::query_as(incidents::SELECT_BETWEEN).bind(page).bind(from).bind(to);
                Ok(q.bind(i64::from(limit)).fetch_all(&self.reader).await?)
            }
        }
    };
}

pub(crate) use incident_store;

/// Binds an incident's columns as `$1`..`$5`.
pub(crate) fn bind_row<'q, DB: sqlx::Database>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    row: &'q IncidentRow,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(&row.page).bind(&row.id).bind(row.opened_at).bind(row.resolved_at).bind(&row.body)
}
