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
use vigil_core::alertmanager::{format_time, parse_time};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};

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
        .routes(routes!(get_silences, post_silence))
        .routes(routes!(get_silence, expire_silence))
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
        "uptime": format_time(STARTED.as_millisecond()),
    })))
}

/// The receivers: vigil's notifiers.
#[utoipa::path(get, path = "/api/v2/receivers", tag = "alertmanager", responses((status = 200, body = Vec<Object>)))]
async fn get_receivers(State(app): State<AppState>) -> Json<Vec<Value>> {
    Json(app.engine.notifier_names().into_iter().map(|(name, _)| serde_json::json!({"name": name})).collect())
}

/// A silence as Alertmanager's API shows it (`gettableSilence`): vigil's own equality silences
/// show as `=` matchers.
fn gettable_silence(row: &vigil_store::SilenceRow, now: i64) -> Value {
    let matchers: Value = match serde_json::from_str::<Value>(&row.matchers) {
        Ok(list @ Value::Array(_)) => list,
        Ok(Value::Object(map)) => Value::Array(
            map.iter()
                .map(|(k, v)| serde_json::json!({"name": k, "value": v, "isRegex": false, "isEqual": true}))
                .collect(),
        ),
        _ => Value::Array(Vec::new()),
    };
    serde_json::json!({
        "id": row.id,
        "matchers": matchers,
        "startsAt": format_time(row.created_at),
        "endsAt": format_time(row.ends_at),
        "updatedAt": format_time(row.created_at),
        "createdBy": row.created_by.clone().unwrap_or_default(),
        "comment": row.comment.clone().unwrap_or_default(),
        "status": {"state": if row.ends_at > now { "active" } else { "expired" }},
    })
}

/// Every silence, as Alertmanager lists them (`amtool silence query`); `filter` matchers keep
/// the silences with a matcher of that name and value.
#[utoipa::path(
    get, path = "/api/v2/silences", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query, description = "Matchers a silence's own matchers must include")),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn get_silences(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Vec<Value>>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("the query does not read: {e}")))?;
    let mut wanted = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "filter") {
        let ms = vigil_core::alertmanager::parse_matchers(v)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("filter {v:?}: {e}")))?;
        wanted.extend(ms);
    }
    let now = app.engine.now();
    let rows = app.engine.store().silences().await?;
    let shown = rows.iter().map(|r| gettable_silence(r, now)).filter(|s| {
        wanted.iter().all(|w| {
            s["matchers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["name"] == w.name.as_str() && m["value"] == w.value.as_str())
        })
    });
    Ok(Json(shown.collect()))
}

/// One silence.
#[utoipa::path(
    get, path = "/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_silence(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    let now = app.engine.now();
    let rows = app.engine.store().silences().await?;
    let row = rows.iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))?;
    Ok(Json(gettable_silence(row, now)))
}

/// Expires a silence now (it is kept, `expired`, as Alertmanager keeps it).
#[utoipa::path(
    delete, path = "/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path)), responses((status = 200, description = "Expired"), (status = 404, body = ApiError))
)]
async fn expire_silence(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    let now = app.engine.now();
    let store = app.engine.store();
    let rows = store.silences().await?;
    let mut row =
        rows.into_iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))?;
    row.ends_at = row.ends_at.min(now);
    store.put_silence(&row).await?;
    Ok(StatusCode::OK)
}

/// Adds (or, with the `id` of one that is active, replaces) a silence: Alertmanager's
/// `postableSilence`, its matchers typed (`=`, `!=`, `=~`, `!~`). A silence starts when made: a
/// `startsAt` in the future is refused.
#[utoipa::path(
    post, path = "/api/v2/silences", tag = "alertmanager",
    request_body(content = Object, description = "matchers, startsAt, endsAt, createdBy, comment, id"),
    responses((status = 200, description = "`{silenceID}`", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn post_silence(State(app): State<AppState>, JsonBody(body): JsonBody<Value>) -> ApiResult<Json<Value>> {
    let bad = |m: String| ApiError::new(ErrorCode::InvalidRequest, m);
    let now = app.engine.now();
    let matchers = body.get("matchers").cloned().unwrap_or(Value::Null);
    vigil_core::alertmanager::matchers_from_json(&matchers).map_err(bad)?;
    let time = |k: &str| parse_time(body.get(k), k).map_err(bad);
    let ends_at = Some(time("endsAt")?).filter(|t| *t != 0).ok_or_else(|| bad("endsAt is required".into()))?;
    let starts_at = Some(time("startsAt")?).filter(|t| *t != 0).unwrap_or(now);
    if ends_at < starts_at {
        return Err(bad("failed to create silence: end time can't be before start time".into()));
    }
    if ends_at <= now {
        return Err(bad("failed to create silence: end time can't be in the past".into()));
    }
    if starts_at > now + 60_000 {
        return Err(bad("vigil starts a silence when it is made: a startsAt in the future is not supported".into()));
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let store = app.engine.store();
    let id = match text("id") {
        Some(id) => {
            let known = store.silences().await?.into_iter().any(|r| r.id == id && r.ends_at > now);
            if !known {
                return Err(ApiError::not_found(format!("silence {id} not found")));
            }
            id
        }
        None => vigil_runtime::new_instance_id(),
    };
    let row = vigil_store::SilenceRow {
        id: id.clone(),
        matchers: matchers.to_string(),
        ends_at,
        starts_at: None,
        created_at: now,
        comment: text("comment"),
        created_by: text("createdBy"),
    };
    store.put_silence(&row).await?;
    Ok(Json(serde_json::json!({"silenceID": id})))
}
