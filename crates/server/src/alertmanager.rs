//! Alertmanager's API v2, served by vigil: `POST /api/v2/alerts`, where Prometheus (any client of
//! Alertmanager) pushes its alerts (each joins vigil's alert lifecycle and is durable before the
//! answer), `GET /api/v2/alerts`, every firing alert in Alertmanager's form, and
//! `GET /api/v2/status` and `/api/v2/receivers`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::alert::Silence;
use vigil_core::alertmanager::gettable::{Filter, gettable};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::JsonBody;

/// How long an alert pushed without `endsAt` fires unless pushed again (Alertmanager's default
/// `resolve_timeout`).
pub const RESOLVE_TIMEOUT_MS: i64 = 5 * 60_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    std::sync::LazyLock::force(&STARTED);
    OpenApiRouter::new()
        .routes(routes!(post_alerts, get_alerts))
        .routes(routes!(get_status))
        .routes(routes!(get_receivers))
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

/// A stored alert's record: what the alert manager keeps per key (its `state` column).
#[derive(serde::Deserialize)]
struct Record {
    request: vigil_core::alert::AlertRequest,
    state: vigil_core::alert::AlertState,
}

/// Every firing alert vigil holds (pushed ones and its own) in Alertmanager's form, filtered as
/// Alertmanager filters (`filter` matchers, `active`, `silenced`, `inhibited`, `receiver`):
/// for `amtool alert query` and Alertmanager data sources.
#[utoipa::path(
    get, path = "/api/v2/alerts", tag = "alertmanager",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Matchers, such as `alertname=\"Down\"`"),
        ("active" = Option<bool>, Query), ("silenced" = Option<bool>, Query), ("inhibited" = Option<bool>, Query),
        ("unprocessed" = Option<bool>, Query), ("receiver" = Option<String>, Query, description = "A regex on receiver names"),
    ),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn get_alerts(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Vec<Value>>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("the query does not read: {e}")))?;
    let filter = Filter::from_query(&pairs).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e))?;
    let store = app.engine.store();
    let now = app.engine.now();
    let silences: Vec<(String, Silence)> = store
        .silences()
        .await?
        .into_iter()
        .filter(|s| s.ends_at > now)
        .filter_map(|s| Some((s.id.clone(), Silence::from_stored(&s.matchers, s.ends_at)?)))
        .collect();
    let mut out = Vec::new();
    for row in store.alerts(true, u32::MAX).await? {
        let Ok(record) = serde_json::from_str::<Record>(&row.state) else { continue };
        let labels = &record.request.labels;
        let silenced_by: Vec<String> = silences
            .iter()
            .filter(|(_, s)| s.mutes(&record.request.name, labels, now))
            .map(|(id, _)| id.clone())
            .collect();
        if let Some(alert) = gettable(&record.request, &record.state, row.updated_at, &silenced_by, &filter) {
            out.push(alert);
        }
    }
    Ok(Json(out))
}

/// When this process began serving (`uptime` in the status).
static STARTED: std::sync::LazyLock<jiff::Timestamp> = std::sync::LazyLock::new(jiff::Timestamp::now);

/// Alertmanager's status: vigil's version, its cluster (the live nodes as peers) and uptime; the
/// `config` is empty, as vigil routes by its own files. Grafana's Alertmanager data source asks it
/// to check the connection.
#[utoipa::path(get, path = "/api/v2/status", tag = "alertmanager", responses((status = 200, body = Object)))]
async fn get_status(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let now = app.engine.now();
    let nodes = app.engine.store().nodes().await?;
    let peers: Vec<Value> = nodes
        .iter()
        .filter(|n| n.stopped_at.is_none() && now - n.heartbeat_at < 60_000)
        .map(|n| serde_json::json!({"name": n.id, "address": n.host}))
        .collect();
    Ok(Json(serde_json::json!({
        "cluster": {"name": "vigil", "status": "ready", "peers": peers},
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"), "revision": "", "branch": "", "buildUser": "vigil",
            "buildDate": "", "goVersion": "none (vigil is written in Rust)",
        },
        "config": {"original": ""},
        "uptime": format!("{:.3}", *STARTED),
    })))
}

/// The receivers: vigil's notifiers.
#[utoipa::path(get, path = "/api/v2/receivers", tag = "alertmanager", responses((status = 200, body = Vec<Object>)))]
async fn get_receivers(State(app): State<AppState>) -> Json<Vec<Value>> {
    Json(app.engine.notifier_names().into_iter().map(|(name, _)| serde_json::json!({"name": name})).collect())
}
