//! The shell around the pure core: it commits what the interpreter decided, then acts.
//!
//! ```text
//!  start / events ──► shard threads (interpreter, JS, jq) ──► committer ──► store (one tx per batch)
//!        ▲                                                        │
//!        └──── HTTP results, timers, child completions ◄── actions performed after commit
//! ```
//!
//! Instances are partitioned over shard threads by id; each shard owns its instances' in-memory
//! state and its own JavaScript engine. Shards hand batches of new states plus actions to a single
//! committer, which writes each batch in one transaction and only then performs the actions. A
//! script or jq program that runs past a step's short budget finishes on an evaluation thread
//! ([`evaluator`]) so it never holds up the other instances of its shard. A
//! crash loses nothing that was acted upon: on start, unfinished instances are loaded and sent
//! [`vigil_core::interpreter::Event::Recover`].

pub mod accounts;
pub mod ack_link;
pub mod admission;
pub mod alert_rows;
mod alerting;
mod clock;
pub mod cluster;
mod committer;
pub mod crash_point;
pub mod definitions;
mod engine;
mod evaluator;
mod events;
mod firing_alerts;
mod http;
pub mod monitors;
pub mod pings;
mod publish;
mod pushed_alerts;
mod query;
pub mod retention;
mod router;
pub mod routing;
pub mod rows;
pub mod scheduler;
mod secret_update;
mod secrets;
mod shard;
mod shared;
mod starting;
pub mod status_events;
pub mod status_pages;
pub mod stored_notifiers;
pub mod stored_secrets;
mod task_result;
mod task_update;
mod timers;
pub mod until_resolved;
pub mod workers;

pub use clock::SystemClock;
pub use engine::ControlError;
pub use engine::{Engine, EngineConfig, EngineError, LinkedAlert, StartRequest, new_instance_id};
pub use events::handle::{EVENT_HANDLER, EventHandlerError, EventHandlers};
pub use secrets::SecretValues;
pub use vigil_connectors::http_client;
