//! What the scheduler needs of the engine, and nothing more: it never sees `Shared`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vigil_core::instance::FireRef;
use vigil_core::time::Clock;
use vigil_store::Store;

use crate::admission::FireAdmission;
use crate::cluster::ownership::Ownership;
use crate::shared::{EngineError, StartRequest};

/// Starts a fire's instance in its schedule's partition, and returns its id.
pub(crate) type StartFire = Arc<dyn Fn(StartRequest, FireRef) -> Result<String, EngineError> + Send + Sync>;

/// Stops running partitions whose leases were lost (`cluster::lose`).
pub(crate) type LoseParts = Arc<dyn Fn(&[u32]) + Send + Sync>;

/// The scheduler's share of the engine.
pub(crate) struct SchedulerDeps {
    /// Where fires are claimed, with the schedule's cursor, in one transaction.
    pub store: Arc<dyn Store>,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// The partitions this node runs: the schedules it fires.
    pub ownership: Arc<Ownership>,
    /// Running fire-started instances, and the room for more.
    pub fires: Arc<FireAdmission>,
    /// Set once the engine stops: no fire starts after it.
    pub stopping: Arc<AtomicBool>,
    /// Starts a fire's instance.
    pub start: StartFire,
    /// Gives up partitions a claim found fenced off.
    pub lose: LoseParts,
}
