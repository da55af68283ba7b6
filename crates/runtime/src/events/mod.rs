//! Event handlers at run time: the handlers in force ([`registry`]), a consumer per queue they
//! (or a heartbeat) listen to on the node that owns it ([`supervisor`]), what each message does
//! ([`process`]; [`heartbeats`] for the pings it is), and the engine's methods to register them
//! ([`handle`]). vigil's own queue (`conductor:...`) has
//! no broker: an EVENT task publishing to it hands its message to [`process::handle`] directly.

pub(crate) mod condition;
pub(crate) mod handle;
pub(crate) mod heartbeats;
pub(crate) mod load;
pub(crate) mod process;
pub(crate) mod registry;
pub(crate) mod supervisor;

use std::sync::{Arc, Mutex, RwLock};

/// What the engine shares with events: the handlers in force (an EVENT task on vigil's own queue
/// is handed to them), the heartbeats that listen to queues, the publisher EVENT tasks go out
/// through, and where workflows' status changes are published.
pub(crate) struct EventsPort {
    /// The event handlers in force.
    pub handlers: RwLock<Arc<registry::HandlerSet>>,
    /// The config directory's event handlers (those stored through the API are read again).
    pub files: Mutex<Vec<vigil_core::event_handler::EventHandler>>,
    /// Wakes the event consumers' supervisor (the handlers changed).
    pub wake: tokio::sync::Notify,
    /// Heartbeat pings (the queues heartbeats listen to are consumed with the handlers').
    pub pings: crate::pings::Pings,
    /// Publishes EVENT tasks' messages to their brokers.
    pub publisher: Arc<vigil_connectors::sinks::Publisher>,
    /// Which workflows' status changes are published, and where.
    pub status_listeners: crate::status_events::config::StatusListenerConfig,
    /// Wakes the status publisher (a commit wrote status events).
    pub status_wake: tokio::sync::Notify,
}

impl EventsPort {
    /// No handlers yet; publishing to `brokers`, status changes to `status_listeners`.
    pub(crate) fn new(
        pings: crate::pings::Pings,
        brokers: vigil_connectors::sinks::Brokers,
        status_listeners: crate::status_events::config::StatusListenerConfig,
    ) -> Self {
        Self {
            handlers: RwLock::default(),
            files: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            pings,
            publisher: Arc::new(vigil_connectors::sinks::Publisher::new(brokers)),
            status_listeners,
            status_wake: tokio::sync::Notify::new(),
        }
    }
}
