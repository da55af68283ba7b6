//! A Conductor-compatible REST subset under `/api`, for Conductor's SDKs, workers and tools, with
//! the differences the README lists: metadata (workflows, task definitions), workflows (start,
//! get, terminate, remove, pause, resume, restart, retry, search), the task worker protocol
//! (long-polled poll and batch poll, results, logs) and the SDK token exchange.

mod events;
mod metadata;
pub(crate) mod model;
mod scheduler;
mod search;
mod secrets;
mod tasks;
mod token;
mod workflow;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(metadata::routes())
        .merge(events::routes())
        .merge(workflow::routes())
        .merge(tasks::routes())
        .merge(token::routes())
        .merge(scheduler::routes())
        .merge(secrets::routes())
}
