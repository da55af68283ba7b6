//! Which workflows' status changes are published, and where.

use vigil_core::def::WorkflowDef;

/// The server's status listener settings.
#[derive(Debug, Clone, Default)]
pub struct StatusListenerConfig {
    /// Where the status changes of a workflow that enables its listener without naming a sink
    /// go (`--status-sink`).
    pub sink: Option<String>,
    /// Publish every workflow's status changes to `sink`, whether it enables its listener or
    /// not (`--status-sink-all`).
    pub all: bool,
}

impl StatusListenerConfig {
    /// Where `def`'s instances' status changes go; `None`: nowhere.
    pub fn sink_for<'a>(&'a self, def: &'a WorkflowDef) -> Option<&'a str> {
        match &def.status_listener {
            Some(listener) => listener.sink.as_deref().or(self.sink.as_deref()),
            None if self.all => self.sink.as_deref(),
            None => None,
        }
    }
}
