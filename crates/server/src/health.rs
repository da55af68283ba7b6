//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers a read.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 503, body = ApiError))
)]
async fn readyz(State(app): State<AppState>) -> ApiResult<&'static str> {
    match app.engine.instance("readyz-probe").await {
        Ok(_) => Ok("ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "Not ready: the store does not answer.");
            Err(ApiError::new(crate::ErrorCode::ShuttingDown, "the store does not answer"))
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(State(app): State<AppState>) -> (StatusCode, String) {
    (StatusCode::OK, (app.metrics)())
}
