//! `/api/v1/monitors`: each monitor's series with their tier and value, its last and next
//! check; and `POST .../check` to run one now. The state is the running node's: checks are not
//! stored (only the alerts they change are).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::alert::Tier;
use vigil_core::time::format_millis;
use vigil_runtime::monitors::MonitorStatus;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get)).routes(routes!(check))
}

/// The worst tier among a monitor's series (`unknown` before its first check).
fn worst(status: &MonitorStatus) -> &'static str {
    match status.series.iter().filter_map(|s| s.tier).max() {
        Some(t) => t.as_str(),
        None if status.error.is_some() => "error",
        None => "unknown",
    }
}

fn view(status: &MonitorStatus, with_series: bool) -> Value {
    let mut v = json!({
        "name": status.name,
        "source": status.source,
        "paused": status.paused,
        "tier": worst(status),
        "series": status.series.len(),
        "lastCheck": status.last_check.map(format_millis),
        "tookMs": status.took_ms,
        "nextCheck": status.next_check.map(format_millis),
        "error": status.error,
    });
    if with_series {
        v["series"] = status
            .series
            .iter()
            .map(|r| {
                json!({
                    "key": r.key, "labels": r.labels, "value": r.value,
                    "tier": r.tier.map_or("unchanged", Tier::as_str), "note": r.note, "summary": r.summary,
                })
            })
            .collect();
    }
    v
}

/// Every monitor with its worst tier, last and next check.
#[utoipa::path(get, path = "/api/v1/monitors", tag = "monitors", responses((status = 200, body = Object)))]
async fn list(State(app): State<AppState>) -> Json<Value> {
    let all: Vec<Value> = app.engine.monitors().await.iter().map(|s| view(s, false)).collect();
    Json(json!({"items": all}))
}

/// One monitor with each series of its last check.
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    let all = app.engine.monitors().await;
    let status = all
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ApiError::not_found(format!("monitor `{name}` does not exist")))?;
    Ok(Json(view(status, true)))
}

/// Runs a monitor now (its observations go to the alert lifecycle as a scheduled check's do) and
/// answers with the result.
#[utoipa::path(
    post, path = "/api/v1/monitors/{name}/check", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn check(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    let status = app
        .engine
        .check_monitor(&name)
        .await
        .ok_or_else(|| ApiError::not_found(format!("monitor `{name}` does not exist")))?;
    Ok(Json(view(&status, true)))
}
