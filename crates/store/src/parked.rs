//! Parked messages: what an event handler could not act on, kept with the reason. Both backends
//! run the same SQL.

use vigil_core::time::Millis;

/// A parked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    /// Its row id (0 before it is stored).
    pub id: i64,
    /// The queue (`amqp_queue:orders`).
    pub event: String,
    /// The handler that could not act on it.
    pub handler: String,
    /// The message's id.
    pub message_id: String,
    /// Its body, as text.
    pub payload: String,
    /// Why.
    pub error: String,
    /// How many times it was delivered.
    pub attempts: u32,
    /// When it was parked.
    pub parked_at: Millis,
}

/// Parks a message once: a repeat of the same queue and id is kept as first parked.
pub(crate) const INSERT: &str = "INSERT INTO event_parked (event, handler, message_id, payload, error, attempts, parked_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event, message_id) DO NOTHING";

/// The newest first.
pub(crate) const SELECT: &str = "SELECT id, event, handler, message_id, payload, error, attempts, parked_at \
     FROM event_parked ORDER BY id DESC LIMIT $1";

/// One.
pub(crate) const DELETE: &str = "DELETE FROM event_parked WHERE id = $1";
