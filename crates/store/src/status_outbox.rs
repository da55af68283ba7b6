//! Status events waiting to be published: the status listeners' outbox. Both backends run the
//! same SQL.

use vigil_core::time::Millis;

/// A status event to write with the change that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatusEvent {
    /// The instance's partition: its owner publishes it.
    pub part: u32,
    /// The instance.
    pub instance_id: String,
    /// Where it goes: a sink (`amqp_exchange:...`) or an `http(s)://` URL.
    pub sink: String,
    /// The CloudEvent, as JSON.
    pub body: String,
    /// When it happened; also its first attempt.
    pub created_at: Millis,
}

/// A stored status event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEventRow {
    /// Row id: the order events are published in.
    pub id: i64,
    /// The event.
    pub event: NewStatusEvent,
    /// Attempts that failed.
    pub attempts: u32,
    /// Not before then.
    pub next_attempt_at: Millis,
}

/// Inserts one.
pub(crate) const INSERT: &str = "INSERT INTO status_outbox (part, instance_id, sink, body, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 0, $5, $5)";

/// Marks a failed attempt.
pub(crate) const DEFER: &str =
    "UPDATE status_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1";

/// Published.
pub(crate) const DELETE: &str = "DELETE FROM status_outbox WHERE id = $1";
