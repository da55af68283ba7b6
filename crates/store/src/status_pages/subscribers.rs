//! A status page's subscribers and the notices waiting to go to them. A subscriber is an email
//! address (confirmed by a link it is sent: double opt-in) or a webhook; a notice is one
//! message to one subscriber (a confirmation, an incident's update), written in the same
//! transaction as the change it tells of and kept until it is sent. Each notice has a key of
//! its own (`dedup`), so telling the same update twice writes it once. Both backends run the
//! same SQL: [`SubscriberStore`]'s methods are written once, in [`subscriber_store!`].

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;

/// One subscriber of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRow {
    /// The status page's slug.
    pub page: String,
    /// Its id (in its links).
    pub id: String,
    /// `email` or `webhook`.
    pub kind: String,
    /// The email address or the webhook's URL.
    pub address: String,
    /// The components it follows (display names, as JSON); `[]`: the whole page.
    pub components: String,
    /// When it confirmed; `None` while it has not (nothing but the confirmation is sent).
    pub confirmed_at: Option<Millis>,
    /// When it subscribed.
    pub created_at: Millis,
}

/// A message for a subscriber, to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// The status page's slug (its owner sends).
    pub page: String,
    /// The subscriber's id.
    pub subscriber: String,
    /// What makes it one message (`<incident>/<update>/<subscriber>`): written once.
    pub dedup: String,
    /// The message, as JSON (the runtime's).
    pub body: String,
    /// When it was written; also its first attempt.
    pub created_at: Millis,
}

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Row id: the order notices go in.
    pub id: i64,
    /// The notice.
    pub notice: NewNotice,
    /// Attempts that failed.
    pub attempts: u32,
    /// Not before then.
    pub next_attempt_at: Millis,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for SubscriberRow
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(SubscriberRow {
            page: row.try_get("page")?,
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            address: row.try_get("address")?,
            components: row.try_get("components")?,
            confirmed_at: row.try_get("confirmed_at")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for NoticeRow
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(NoticeRow {
            id: row.try_get("id")?,
            notice: NewNotice {
                page: row.try_get("page")?,
                subscriber: row.try_get("subscriber")?,
                dedup: row.try_get("dedup")?,
                body: row.try_get("body")?,
                created_at: row.try_get("created_at")?,
            },
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            next_attempt_at: row.try_get("next_attempt_at")?,
        })
    }
}

/// A status page's subscribers and the notices that wait to go to them.
#[async_trait]
pub trait SubscriberStore: Send + Sync {
    /// Adds a status page's subscriber, with its confirmation notice, unless the page has one of
    /// that kind and address; whether it was added.
    async fn put_subscriber(&self, row: &SubscriberRow, confirm: Option<&NewNotice>) -> Result<bool>;
    /// One subscriber of page `page`.
    async fn subscriber(&self, page: &str, id: &str) -> Result<Option<SubscriberRow>>;
    /// Page `page`'s subscribers, oldest first.
    async fn subscribers(&self, page: &str) -> Result<Vec<SubscriberRow>>;
    /// How many of page `page`'s subscribers have not confirmed, of those made since `since`.
    async fn unconfirmed_subscribers(&self, page: &str, since: Millis) -> Result<u64>;
    /// Confirms a subscriber at `at`; false when there is none, it was confirmed before, or it
    /// expired unconfirmed ([`UNCONFIRMED_KEPT`]).
    async fn confirm_subscriber(&self, page: &str, id: &str, at: Millis) -> Result<bool>;
    /// Removes a subscriber and its notices not sent; whether there was one.
    async fn remove_subscriber(&self, page: &str, id: &str) -> Result<bool>;
    /// Pages `pages`' notices due by `now`, oldest first, at most `limit`.
    async fn due_notices(&self, pages: &[String], now: Millis, limit: u32) -> Result<Vec<NoticeRow>>;
    /// Forgets a notice sent (or given up).
    async fn notice_sent(&self, id: i64) -> Result<()>;
    /// Records a failed attempt at a notice; it is due again at `next_attempt_at`.
    async fn notice_deferred(&self, id: i64, next_attempt_at: Millis, error: &str) -> Result<()>;
}

/// How long a subscriber that has not confirmed is kept, counted and confirmable: it expires
/// after, and the same address may be sent a confirmation again (one per this period, whatever
/// page it subscribes to).
pub const UNCONFIRMED_KEPT: Millis = 24 * 3_600_000;

/// Adds a subscriber unless the page has one of that kind and address, or (for one not confirmed
/// yet) some page has an unconfirmed one of that kind and address made since `$8`: an address is
/// asked to confirm once per [`UNCONFIRMED_KEPT`].
pub(crate) const INSERT_SUBSCRIBER: &str = "INSERT INTO status_subscribers (page, id, kind, address, components, confirmed_at, created_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $6 IS NOT NULL OR NOT EXISTS (SELECT 1 FROM status_subscribers \
     WHERE kind = $3 AND address = $4 AND confirmed_at IS NULL AND created_at >= $8) \
     ON CONFLICT (page, kind, address) DO NOTHING";

/// Removes a page's unconfirmed subscribers made before `$2` (expired), and so their notices.
pub(crate) const DELETE_EXPIRED: &str =
    "DELETE FROM status_subscribers WHERE page = $1 AND confirmed_at IS NULL AND created_at < $2";

/// The notices of subscribers that are no more.
pub(crate) const DELETE_ORPHAN_NOTICES: &str = "DELETE FROM subscriber_notices WHERE page = $1 AND NOT EXISTS \
     (SELECT 1 FROM status_subscribers s WHERE s.page = subscriber_notices.page AND s.id = subscriber_notices.subscriber)";

/// One subscriber of a page.
pub(crate) const SELECT_ONE: &str = "SELECT page, id, kind, address, components, confirmed_at, created_at \
     FROM status_subscribers WHERE page = $1 AND id = $2";

/// A page's subscribers, oldest first.
pub(crate) const SELECT_OF_PAGE: &str = "SELECT page, id, kind, address, components, confirmed_at, created_at \
     FROM status_subscribers WHERE page = $1 ORDER BY created_at, id";

/// How many of a page's subscribers have not confirmed, of those made since `$2`.
pub(crate) const COUNT_UNCONFIRMED: &str =
    "SELECT COUNT(*) FROM status_subscribers WHERE page = $1 AND confirmed_at IS NULL AND created_at >= $2";

/// Confirms one that has not expired (made since `$4`).
pub(crate) const CONFIRM: &str = "UPDATE status_subscribers SET confirmed_at = $3 \
     WHERE page = $1 AND id = $2 AND confirmed_at IS NULL AND created_at >= $4";

/// Removes one.
pub(crate) const DELETE_SUBSCRIBER: &str = "DELETE FROM status_subscribers WHERE page = $1 AND id = $2";

/// Removes its notices not sent yet.
pub(crate) const DELETE_ITS_NOTICES: &str = "DELETE FROM subscriber_notices WHERE page = $1 AND subscriber = $2";

/// Adds a notice, once per `dedup`.
pub(crate) const INSERT_NOTICE: &str = "INSERT INTO subscriber_notices (page, subscriber, dedup, body, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (dedup) DO NOTHING";

/// Notices due by a time (then `AND page IN (...)`).
pub(crate) const SELECT_DUE: &str = "SELECT id, page, subscriber, dedup, body, created_at, attempts, next_attempt_at \
     FROM subscriber_notices WHERE next_attempt_at <= ";

/// Forgets a sent notice.
pub(crate) const DELETE_NOTICE: &str = "DELETE FROM subscriber_notices WHERE id = $1";

/// Marks a failed attempt.
pub(crate) const DEFER_NOTICE: &str =
    "UPDATE subscriber_notices SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1";

/// `impl SubscriberStore for $store` (pools `writer` and `reader` of database `$db`), inside
/// [`status_page_store!`](crate::status_pages::status_page_store), which gives `insert_notices`.
macro_rules! subscriber_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::status_pages::SubscriberStore for $store {
            async fn put_subscriber(&self, row: &SubscriberRow, confirm: Option<&NewNotice>) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let kept_since = row.created_at - subscribers::UNCONFIRMED_KEPT;
                sqlx::query(subscribers::DELETE_EXPIRED).bind(&row.page).bind(kept_since).execute(&mut *tx).await?;
                sqlx::query(subscribers::DELETE_ORPHAN_NOTICES).bind(&row.page).execute(&mut *tx).await?;
                let done = sqlx::query(subscribers::INSERT_SUBSCRIBER)
                    .bind(&row.page)
                    .bind(&row.id)
                    .bind(&row.kind)
                    .bind(&row.address)
                    .bind(&row.components)
                    .bind(row.confirmed_at)
                    .bind(row.created_at)
                    .bind(kept_since)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    // The expired ones are gone all the same.
                    tx.commit().await?;
                    return Ok(false);
                }
                insert_notices(&mut tx, confirm.map(std::slice::from_ref).unwrap_or_default()).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn subscriber(&self, page: &str, id: &str) -> Result<Option<SubscriberRow>> {
                let q = sqlx::query_as(subscribers::SELECT_ONE).bind(page).bind(id);
                Ok(q.fetch_optional(&self.reader).await?)
            }

            async fn subscribers(&self, page: &str) -> Result<Vec<SubscriberRow>> {
                Ok(sqlx::query_as(subscribers::SELECT_OF_PAGE).bind(page).fetch_all(&self.reader).await?)
            }

            async fn unconfirmed_subscribers(&self, page: &str, since: Millis) -> Result<u64> {
                let q = sqlx::query_scalar(subscribers::COUNT_UNCONFIRMED).bind(page).bind(since);
                let n: i64 = q.fetch_one(&self.reader).await?;
                Ok(n as u64)
            }

            async fn confirm_subscriber(&self, page: &str, id: &str, at: Millis) -> Result<bool> {
                let kept_since = at - subscribers::UNCONFIRMED_KEPT;
                let q = sqlx::query(subscribers::CONFIRM).bind(page).bind(id).bind(at).bind(kept_since);
                Ok(q.execute(&self.writer).await?.rows_affected() == 1)
            }

            async fn remove_subscriber(&self, page: &str, id: &str) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let done = sqlx::query(subscribers::DELETE_SUBSCRIBER).bind(page).bind(id).execute(&mut *tx).await?;
                sqlx::query(subscribers::DELETE_ITS_NOTICES).bind(page).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn due_notices(&self, pages: &[String], now: Millis, limit: u32) -> Result<Vec<NoticeRow>> {
                let mut q: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(subscribers::SELECT_DUE);
                q.push_bind(now).push(" AND page IN (");
                let mut list = q.separated(", ");
                for p in pages {
                    list.push_bind(p);
                }
                q.push(") ORDER BY id LIMIT ").push_bind(i64::from(limit));
                Ok(q.build_query_as().fetch_all(&self.reader).await?)
            }

            async fn notice_sent(&self, id: i64) -> Result<()> {
                sqlx::query(subscribers::DELETE_NOTICE).bind(id).execute(&self.writer).await?;
                Ok(())
            }

            async fn notice_deferred(&self, id: i64, next_attempt_at: Millis, error: &str) -> Result<()> {
                let q = sqlx::query(subscribers::DEFER_NOTICE).bind(id).bind(next_attempt_at).bind(error);
                q.execute(&self.writer).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use subscriber_store;
