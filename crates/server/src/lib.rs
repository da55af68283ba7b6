//! vigil's HTTP API, served by `vigil serve`:
//! - the native API under `/api/v1`, shaped after Durable Functions' HTTP API (start → management
//!   URIs; status with `runtimeStatus` and `customStatus`; raise event; terminate; purge), with
//!   errors as `{ "code", "message" }` from one table ([`error::ErrorCode`]);
//! - `/healthz`, `/readyz` and `/metrics`;
//! - the web UI at `/` and under `/ui/` ([`ui`]);
//! - the OpenAPI 3 document of all of it at `/api/v1/openapi.json`, generated from the handlers, so
//!   the document and the routes cannot disagree.

pub mod access;
pub mod accounts;
mod ack;
mod alertmanager;
pub mod audit;
pub mod auth;
mod conductor;
pub mod cross_site;
pub mod deadlines;
mod definitions;
pub mod durable;
pub mod error;
mod evidence;
mod extract;
mod health;
mod instances;
pub mod listen;
mod monitors;
mod openapi;
mod operations;
mod paths;
mod pings;
mod schedules;
pub mod sso;
mod starters;
mod state;
pub mod status_pages;
pub mod throttle;
pub mod ui;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ErrorCode};
pub use state::{AppState, MAX_BODY_BYTES, MetricsRender};
pub use status_pages::PageCache;

#[derive(OpenApi)]
#[openapi(
    info(title = "vigil", description = "Durable scheduled monitoring and alerting workflows."),
    tags(
        (name = "instances", description = "Start, inspect, signal, control and purge instances"),
        (name = "definitions", description = "Workflows and secrets"),
        (name = "alerting", description = "Notifiers, alerts and silences"),
        (name = "monitors", description = "Monitors: series, tiers, last and next checks; run one now"),
        (name = "conductor", description = "Conductor-compatible REST subset: metadata, workflows, the worker protocol"),
        (name = "durable", description = "Durable Functions' HTTP API (/runtime/webhooks/durabletask), as aliases of the native routes"),
        (name = "alertmanager", description = "Alertmanager's API v2, where Prometheus pushes its alerts")
    ),
    components(schemas(ApiError, ErrorCode))
)]
struct ApiDoc;

/// The whole API with its OpenAPI document.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(instances::routes())
        .merge(definitions::routes())
        .merge(schedules::routes())
        .merge(status_pages::api_routes())
        .merge(accounts::users::routes())
        .merge(accounts::audit_log::routes())
        .merge(monitors::routes())
        .merge(evidence::routes())
        .merge(conductor::routes())
        .merge(durable::routes())
        .merge(health::routes())
        .merge(alertmanager::routes())
        .split_for_parts();
    let doc = Arc::new(document(&api));
    let routes = router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], (*doc).clone()) }
            }),
        )
        .merge(pings::routes())
        .merge(ack::routes())
        .merge(status_pages::public_routes())
        .merge(ui::routes(status_pages::ui_routes()))
        .route(
            "/api/{*route}",
            axum::routing::get(starters::handle).post(starters::handle).put(starters::handle).delete(starters::handle),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "this route does not take that method")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(axum::middleware::from_fn_with_state(state.clone(), sign_in))
        .layer(axum::middleware::from_fn_with_state(state.allowed_hosts.clone(), cross_site::guard))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state.clone());
    // Before routing: a status page's own domain maps its paths to the page's.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn_with_state(state, status_pages::custom_domain::route))
}

/// Who may go on: UI pages by their session cookie ([`ui::session::guard`], with CSRF checks on
/// forms), everything else by its API token ([`auth::require`]).
async fn sign_in(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if paths::is_ui_path(req.uri().path()) {
        ui::session::guard(app, req, next).await
    } else {
        auth::require(axum::extract::State(app.auth.clone()), req, next).await
    }
}

fn document(api: &utoipa::openapi::OpenApi) -> String {
    let generated = serde_json::to_value(api).unwrap_or_default();
    serde_json::to_string_pretty(&openapi::complete(generated)).unwrap_or_default()
}
