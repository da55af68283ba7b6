//! Event handlers at run time: the handlers in force ([`registry`]), a consumer per queue they
//! (or a heartbeat) listen to on the node that owns it ([`supervisor`]), what each message does
//! ([`process`]; [`heartbeats`] for the pings it is), and the engine's methods to register them
//! ([`api`]). vigil's own queue (`conductor:...`) has
//! no broker: an EVENT task publishing to it hands its message to [`process::handle`] directly.

pub(crate) mod api;
pub(crate) mod condition;
pub(crate) mod heartbeats;
pub(crate) mod load;
pub(crate) mod process;
pub(crate) mod registry;
pub(crate) mod supervisor;
