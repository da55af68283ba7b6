//! Registering event handlers: from the config directory (`event_handlers/`) and through the API
//! (Conductor's `/api/event`), stored as definitions so every node runs them.

use serde_json::Value;
use vigil_core::event_handler::{EventHandler, build_event_handler};
use vigil_core::principal::Principal;
use vigil_store::{DefinitionRow, ParkedEvent, StoreError};

use std::sync::Arc;

use super::load::reload;
use crate::shared::Shared;

pub use super::load::EVENT_HANDLER;

/// Why an event handler was not registered or removed.
#[derive(Debug, thiserror::Error)]
pub enum EventHandlerError {
    /// It does not validate; every problem is listed with its field path.
    #[error("the event handler is invalid: {}", .0.iter().map(|p| if p.path.is_empty() { p.message.clone() } else { format!("{}: {}", p.path, p.message) }).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<vigil_core::diagnostic::Problem>),
    /// Adding one whose name exists.
    #[error("event handler `{0}` already exists")]
    Exists(String),
    /// Updating or removing one that does not exist.
    #[error("event handler `{0}` does not exist")]
    NotFound(String),
    /// It is defined in the config directory, which the API does not change.
    #[error("event handler `{0}` is defined in the config directory; change it there")]
    FromFiles(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The event handlers' handle ([`crate::Engine::events`]): registering handlers (from files and
/// the API) and the messages they parked.
#[derive(Clone)]
pub struct EventHandlers {
    shared: Arc<Shared>,
}

impl EventHandlers {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Puts the config directory's event handlers in force (replacing those it had), beside
    /// those stored through the API.
    pub async fn set_files(&self, files: Vec<EventHandler>) -> Result<(), StoreError> {
        *self.shared.events.files.lock().expect("lock") = files;
        reload(&self.shared).await
    }

    /// Every event handler, with whether the config directory defines it.
    pub fn list(&self) -> Vec<(EventHandler, bool)> {
        let set = self.shared.events.handlers.read().expect("lock").clone();
        set.all().map(|r| (r.handler.clone(), r.from_files)).collect()
    }

    /// Validates and stores an event handler: a new one (`create`, Conductor's POST), or one
    /// that exists (PUT). Its actions act with `by`'s authority.
    pub async fn put(&self, doc: Value, create: bool, by: &Principal) -> Result<EventHandler, EventHandlerError> {
        let (handler, problems) = build_event_handler(&doc);
        let Some(handler) = handler else {
            return Err(EventHandlerError::Invalid(problems.into_iter().filter(|p| p.is_error()).collect()));
        };
        by.check_references(&doc)
            .map_err(|d| EventHandlerError::Invalid(vec![vigil_core::diagnostic::Problem::error("", d.0)]))?;
        let existing = self.shared.events.handlers.read().expect("lock").get(&handler.name).map(|r| r.from_files);
        match (existing, create) {
            (Some(true), _) => return Err(EventHandlerError::FromFiles(handler.name)),
            (Some(false), true) => return Err(EventHandlerError::Exists(handler.name)),
            (None, false) => return Err(EventHandlerError::NotFound(handler.name)),
            _ => {}
        }
        let row = DefinitionRow {
            kind: EVENT_HANDLER.into(),
            name: handler.name.clone(),
            version: 0,
            body: serde_json::to_string(&handler).expect("a handler serializes"),
            updated_at: self.shared.clock.now(),
            defined_by: (!by.is_system()).then(|| serde_json::to_string(by).expect("a principal serializes")),
        };
        self.shared.store.put_definition(&row).await?;
        reload(&self.shared).await?;
        Ok(handler)
    }

    /// Removes an event handler stored through the API.
    pub async fn delete(&self, name: &str) -> Result<(), EventHandlerError> {
        match self.shared.events.handlers.read().expect("lock").get(name).map(|r| r.from_files) {
            Some(true) => return Err(EventHandlerError::FromFiles(name.to_string())),
            None => return Err(EventHandlerError::NotFound(name.to_string())),
            Some(false) => {}
        }
        self.shared.store.delete_definition(EVENT_HANDLER, name, None).await?;
        reload(&self.shared).await?;
        Ok(())
    }

    /// Messages event handlers could not act on, newest first.
    pub async fn parked(&self, limit: u32) -> Result<Vec<ParkedEvent>, StoreError> {
        self.shared.store.parked_events(limit).await
    }

    /// Forgets a parked message; false when there was none.
    pub async fn delete_parked(&self, id: i64) -> Result<bool, StoreError> {
        self.shared.store.delete_parked_event(id).await
    }
}
