//! Maintenance windows on status pages, as stored: a window scheduled through the API is JSON
//! the runtime reads (`vigil_core::status_page::Maintenance`), its columns what a page's windows
//! are found by; and what subscribers were told of each window (declared or scheduled), so each
//! thing is told once whichever node tells it. Both backends run the same SQL:
//! [`MaintenanceStore`]'s methods are written once, in [`maintenance_store!`].

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::status_pages::NewNotice;

/// One stored window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceRow {
    /// The status page's slug.
    pub page: String,
    /// Its id on the page.
    pub id: String,
    /// When it starts.
    pub starts_at: Millis,
    /// When it ends.
    pub ends_at: Millis,
    /// The window, as JSON.
    pub body: String,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for MaintenanceRow
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(MaintenanceRow {
            page: row.try_get("page")?,
            id: row.try_get("id")?,
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            body: row.try_get("body")?,
        })
    }
}

/// Maintenance windows scheduled on status pages, and what their subscribers were told.
#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Writes a maintenance window, what its subscribers are told, or both, in one transaction;
    /// false, writing nothing, when the window changed since it was read or what is told was
    /// told before (see [`MaintenanceWrite`]).
    async fn write_maintenance(&self, write: &MaintenanceWrite) -> Result<bool>;
    /// One stored maintenance window of page `page`.
    async fn maintenance(&self, page: &str, id: &str) -> Result<Option<MaintenanceRow>>;
    /// Page `page`'s stored windows ending after `after`, soonest first, at most `limit`.
    async fn maintenance_ending_after(&self, page: &str, after: Millis, limit: u32) -> Result<Vec<MaintenanceRow>>;
    /// What page `page`'s subscribers were told of window `key` (`scheduled`, `started`, ...).
    async fn maintenance_told(&self, page: &str, key: &str) -> Result<Vec<String>>;
}

/// One write, in one transaction: a window added or changed, what its subscribers are told, or
/// both. Nothing is written when the window changed since it was read, or when what is told
/// was told before (or needs something told first that was not).
#[derive(Debug, Clone, Default)]
pub struct MaintenanceWrite {
    /// The window to add (`read: None`) or to replace if its body is still `read`.
    pub window: Option<(MaintenanceRow, Option<String>)>,
    /// What is told: `(page, window key, event)`.
    pub told: Option<(String, String, String)>,
    /// Told only if this event of the same window was told before.
    pub after: Option<String>,
    /// The notices telling it.
    pub notices: Vec<NewNotice>,
    /// When.
    pub at: Millis,
}

/// Adds a window, unless one has its id.
pub(crate) const INSERT: &str = "INSERT INTO status_maintenance (page, id, starts_at, ends_at, body) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (page, id) DO NOTHING";

/// Replaces a window only if it is still as read (`$6`: its body then).
pub(crate) const REPLACE_IF: &str = "UPDATE status_maintenance SET starts_at = $3, ends_at = $4, body = $5 \
     WHERE page = $1 AND id = $2 AND body = $6";

/// Records that something was told, once.
pub(crate) const TELL: &str = "INSERT INTO maintenance_told (page, window_key, event, told_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (page, window_key, event) DO NOTHING";

/// Records that something was told, once, if `$5` was told before.
pub(crate) const TELL_AFTER: &str = "INSERT INTO maintenance_told (page, window_key, event, told_at) \
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM maintenance_told WHERE page = $1 AND window_key = $2 AND event = $5) \
     ON CONFLICT (page, window_key, event) DO NOTHING";

/// One window of a page.
pub(crate) const SELECT_ONE: &str =
    "SELECT page, id, starts_at, ends_at, body FROM status_maintenance WHERE page = $1 AND id = $2";

/// A page's windows ending after `$2`, soonest first, at most `$3`.
pub(crate) const SELECT_ENDING_AFTER: &str = "SELECT page, id, starts_at, ends_at, body FROM status_maintenance \
     WHERE page = $1 AND ends_at > $2 ORDER BY starts_at, id LIMIT $3";

/// What was told of a page's window.
pub(crate) const SELECT_TOLD: &str = "SELECT event FROM maintenance_told WHERE page = $1 AND window_key = $2";

/// `impl MaintenanceStore for $store` (pools `writer` and `reader`), inside
/// [`status_page_store!`](crate::status_pages::status_page_store), which gives `insert_notices`.
macro_rules! maintenance_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::status_pages::MaintenanceStore for $store {
            async fn write_maintenance(&self, write: &MaintenanceWrite) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                if let Some((row, read)) = &write.window {
                    let q = sqlx::query(if read.is_some() { maintenance::REPLACE_IF } else { maintenance::INSERT });
                    let mut q = q.bind(&row.page).bind(&row.id).bind(row.starts_at).bind(row.ends_at).bind(&row.body);
                    if let Some(read) = read {
                        q = q.bind(read);
                    }
                    if q.execute(&mut *tx).await?.rows_affected() != 1 {
                        return Ok(false);
                    }
                }
                if let Some((page, key, event)) = &write.told {
                    let q =
                        sqlx::query(if write.after.is_some() { maintenance::TELL_AFTER } else { maintenance::TELL });
                    let mut q = q.bind(page).bind(key).bind(event).bind(write.at);
                    if let Some(after) = &write.after {
                        q = q.bind(after);
                    }
                    if q.execute(&mut *tx).await?.rows_affected() != 1 {
                        return Ok(false);
                    }
                }
                insert_notices(&mut tx, &write.notices).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn maintenance(&self, page: &str, id: &str) -> Result<Option<MaintenanceRow>> {
                let q = sqlx::query_as(maintenance::SELECT_ONE).bind(page).bind(id);
                Ok(q.fetch_optional(&self.reader).await?)
            }

            async fn maintenance_ending_after(
                &self,
                page: &str,
                after: Millis,
                limit: u32,
            ) -> Result<Vec<MaintenanceRow>> {
                let q = sqlx::query_as(maintenance::SELECT_ENDING_AFTER).bind(page).bind(after);
                Ok(q.bind(i64::from(limit)).fetch_all(&self.reader).await?)
            }

            async fn maintenance_told(&self, page: &str, key: &str) -> Result<Vec<String>> {
                let q = sqlx::query_scalar(maintenance::SELECT_TOLD).bind(page).bind(key);
                Ok(q.fetch_all(&self.reader).await?)
            }
        }
    };
}

pub(crate) use maintenance_store;
