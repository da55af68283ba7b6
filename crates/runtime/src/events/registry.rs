//! The event handlers in force, by the queue they listen to, each with whose authority its
//! actions act: the config directory's (the system) or the API token's that registered it.

use std::collections::BTreeMap;

use vigil_core::event_handler::EventHandler;
use vigil_core::principal::Principal;

/// A handler and who registered it.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    /// The handler.
    pub handler: EventHandler,
    /// Who registered it: the instances it starts act with this authority.
    pub by: Principal,
    /// From the config directory (not editable through the API).
    pub from_files: bool,
}

/// Every handler, by name, and the active ones by queue.
#[derive(Debug, Default)]
pub(crate) struct HandlerSet {
    by_name: BTreeMap<String, Registered>,
    by_event: BTreeMap<String, Vec<Registered>>,
}

impl HandlerSet {
    /// The set of `files` (the config directory's) and `api` (stored through the API): a name
    /// the config directory defines is the config directory's.
    pub(crate) fn new(files: &[EventHandler], api: &[(EventHandler, Principal)]) -> Self {
        let mut by_name = BTreeMap::new();
        for (handler, by) in api {
            let r = Registered { handler: handler.clone(), by: by.clone(), from_files: false };
            by_name.insert(handler.name.clone(), r);
        }
        for handler in files {
            let r = Registered { handler: handler.clone(), by: Principal::System, from_files: true };
            by_name.insert(handler.name.clone(), r);
        }
        let mut by_event: BTreeMap<String, Vec<Registered>> = BTreeMap::new();
        for r in by_name.values().filter(|r| r.handler.active) {
            by_event.entry(r.handler.event.trim().to_string()).or_default().push(r.clone());
        }
        Self { by_name, by_event }
    }

    /// The active handlers of queue `event`.
    pub(crate) fn for_event(&self, event: &str) -> &[Registered] {
        self.by_event.get(event).map(Vec::as_slice).unwrap_or_default()
    }

    /// The queues some active handler listens to.
    pub(crate) fn events(&self) -> impl Iterator<Item = &str> {
        self.by_event.keys().map(String::as_str)
    }

    /// Every handler, by name.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Registered> {
        self.by_name.values()
    }

    /// The handler named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Registered> {
        self.by_name.get(name)
    }
}
