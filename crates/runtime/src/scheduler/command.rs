//! What the scheduler is told: its one message type.

use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Millis;

/// A change to the running schedules.
pub enum SchedulerCmd {
    /// Adds or replaces a schedule.
    Put(Box<ScheduleDef>),
    /// Removes a schedule.
    Remove(String),
    /// Pauses (true) or resumes (false) a schedule.
    Pause(String, bool),
    /// The schedules with their next fire time.
    List(tokio::sync::oneshot::Sender<Vec<(ScheduleDef, Option<Millis>)>>),
    /// This node now owns these partitions: fire their schedules.
    Gained(Vec<u32>),
    /// This node no longer owns these partitions: stop firing their schedules.
    Lost(Vec<u32>),
}
