//! Reading the event handlers in force: the config directory's, and those stored through the API
//! (read again when another node may have changed them).

use std::sync::Arc;

use serde_json::Value;
use vigil_core::event_handler::build_event_handler;
use vigil_core::principal::Principal;
use vigil_store::StoreError;

use super::registry::HandlerSet;
use crate::shared::Shared;

/// Store kind of event handlers.
pub const EVENT_HANDLER: &str = "event_handler";

/// Builds the handlers in force again: the config directory's and those stored.
pub(crate) async fn reload(shared: &Arc<Shared>) -> Result<(), StoreError> {
    let mut api = Vec::new();
    for row in shared.store.definitions(EVENT_HANDLER).await? {
        let Ok(doc) = serde_json::from_str::<Value>(&row.body) else { continue };
        match build_event_handler(&doc) {
            (Some(handler), _) => {
                // Who registered it decides what its instances may do: one that does not read is
                // not taken for the system's (which may do anything).
                let by = match row.defined_by.as_deref().map(serde_json::from_str) {
                    None => Principal::System,
                    Some(Ok(p)) => p,
                    Some(Err(e)) => {
                        tracing::error!(handler = %row.name, error = %e, "A stored event handler's owner does not read; it is not run.");
                        continue;
                    }
                };
                api.push((handler, by));
            }
            (None, problems) => {
                tracing::error!(handler = %row.name, ?problems, "A stored event handler no longer validates; it is not run.")
            }
        }
    }
    let files = shared.events.files.lock().expect("lock").clone();
    let set = Arc::new(HandlerSet::new(&files, &api));
    *shared.events.handlers.write().expect("lock") = set;
    shared.events.wake.notify_one();
    Ok(())
}
