//! What the engine shares with the alert manager (a leaf: the engine's shared state holds it).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use vigil_connectors::notifiers::NotifierConfig;

use super::delivery;
use super::messages::AlertMsg;

/// What the engine shares with the alert manager: the channel ALERT tasks, monitors and pushes
/// tell it through, the notifiers in force, and the routing tree.
pub(crate) struct AlertingPort {
    /// Tells the alert manager.
    pub sender: mpsc::UnboundedSender<AlertMsg>,
    /// The notifiers alerts are told to.
    pub notifiers: delivery::Notifiers,
    /// The Alertmanager configuration alerts are routed with.
    pub routing: crate::routing::SharedRouting,
}

impl AlertingPort {
    /// Adds or replaces one notifier.
    pub(crate) fn put_notifier(&self, notifier: NotifierConfig) {
        let mut guard = self.notifiers.write().expect("lock");
        let mut map: HashMap<String, Arc<NotifierConfig>> = guard.as_deref().cloned().unwrap_or_default();
        map.insert(notifier.name().to_string(), Arc::new(notifier));
        *guard = Some(Arc::new(map));
    }

    /// Removes one notifier; false when there was none.
    pub(crate) fn remove_notifier(&self, name: &str) -> bool {
        let mut guard = self.notifiers.write().expect("lock");
        let mut map = guard.as_deref().cloned().unwrap_or_default();
        let removed = map.remove(name).is_some();
        *guard = Some(Arc::new(map));
        removed
    }
}
