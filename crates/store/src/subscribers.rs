//! A status page's subscribers and the notices waiting to go to them. A subscriber is an email
//! address (confirmed by a link it is sent: double opt-in) or a webhook; a notice is one
//! message to one subscriber (a confirmation, an incident's update), written in the same
//! transaction as the change it tells of and kept until it is sent. Each notice has a key of
//! its own (`dedup`), so telling the same update twice writes it once. Both backends run the
//! same SQL.

use vigil_core::time::Millis;

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

/// The columns of a subscriber, in [`SubscriberRow`]'s order.
pub(crate) const SUBSCRIBER_COLUMNS: &str = "page, id, kind, address, components, confirmed_at, created_at";

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

/// The columns of a notice, in [`NoticeRow`]'s order.
pub(crate) const NOTICE_COLUMNS: &str = "id, page, subscriber, dedup, body, created_at, attempts, next_attempt_at";

/// Forgets a sent notice.
pub(crate) const DELETE_NOTICE: &str = "DELETE FROM subscriber_notices WHERE id = $1";

/// Marks a failed attempt.
pub(crate) const DEFER_NOTICE: &str =
    "UPDATE subscriber_notices SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1";
