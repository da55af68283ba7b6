//! What the engine shares with the scheduler (a leaf: the engine's shared state holds it).

use std::sync::Arc;

use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Millis;

use super::command::SchedulerCmd;

/// What the engine shares with the scheduler: the room for fire-started instances and the
/// scheduler's channel (once it runs).
pub(crate) struct SchedulesPort {
    /// Running fire-started instances, and the room for more.
    pub admission: Arc<crate::admission::FireAdmission>,
    /// Commands to the scheduler, once it runs.
    pub commands: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<SchedulerCmd>>>,
}

impl SchedulesPort {
    /// Hands `cmd` to the running scheduler; false when none runs.
    pub(crate) fn send(&self, cmd: SchedulerCmd) -> bool {
        self.commands.lock().expect("lock").as_ref().is_some_and(|tx| tx.send(cmd).is_ok())
    }

    /// The running schedules with their next fire times (empty when no scheduler runs).
    pub(crate) async fn list(&self) -> Vec<(ScheduleDef, Option<Millis>)> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !self.send(SchedulerCmd::List(tx)) {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}
