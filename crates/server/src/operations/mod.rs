//! What the native API, Conductor's and Durable Functions' routes and the web UI all do: one
//! implementation of each operation below every front end, so none calls into another and the UI
//! can do nothing the API cannot.

pub mod definitions;
pub mod instances;
pub mod schedules;
