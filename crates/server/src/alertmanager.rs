//! Alertmanager's API v2, served by vigil: `POST /api/v2/alerts`, where Prometheus (any client of
//! Alertmanager) pushes its alerts. Each joins vigil's alert lifecycle and is durable before the
//! answer.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::JsonBody;

/// How long an alert pushed without `endsAt` fires unless pushed again (Alertmanager's default
/// `resolve_timeout`).
pub const RESOLVE_TIMEOUT_MS: i64 = 5 * 60_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_alerts))
}

/// Takes alerts as Alertmanager does (Prometheus' `alerting.alertmanagers` pointed at vigil).
/// The valid ones are kept; the answer is 400 with the others' errors, as Alertmanager answers.
#[utoipa::path(
    post, path = "/api/v2/alerts", tag = "alertmanager",
    request_body(content = Vec<Object>, description = "Alertmanager's postableAlerts: labels, annotations, startsAt, endsAt, generatorURL"),
    responses((status = 200, description = "Every alert is stored"), (status = 400, body = ApiError))
)]
async fn post_alerts(State(app): State<AppState>, JsonBody(body): JsonBody<Value>) -> ApiResult<StatusCode> {
    let now = app.engine.now();
    let (alerts, errors) = vigil_core::alertmanager::read_posted(&body, now, RESOLVE_TIMEOUT_MS)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e))?;
    if !alerts.is_empty() {
        app.engine.push_alerts(&alerts).await.map_err(ApiError::from)?;
    }
    if !errors.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidRequest, errors.join("; ")));
    }
    Ok(StatusCode::OK)
}
