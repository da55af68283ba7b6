//! `/api/v1/monitors`: each monitor's series with their tier and value, its last and next
//! check; `GET .../history` for its stored history buckets and uptime; and `POST .../check` to
//! run one now. The series are the running node's view (after a restart, the stored latest
//! readings until the next check).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::alert::Tier;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_core::time::format_millis;
use vigil_runtime::monitors::MonitorStatus;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, remove))
        .routes(routes!(check))
        .routes(routes!(history))
        .routes(routes!(pings))
}

/// Monitor `name`, refused unless the caller has `need` on it (as not found when it may not
/// read it).
pub(crate) async fn owned_monitor(app: &AppState, access: &Access, name: &str, need: Role) -> ApiResult<MonitorStatus> {
    let status = app.engine.monitor(name).await.filter(|s| access.sees_labelled(ObjectKind::Monitors, name, &s.labels));
    let status = status.ok_or_else(|| ApiError::not_found(format!("monitor `{name}` does not exist")))?;
    access.check_labelled(ObjectKind::Monitors, name, &status.labels, need)?;
    Ok(status)
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
    if let Some(id) = &status.ping_id {
        v["pingUrl"] = json!(format!("/ping/{id}"));
    }
    if let Some(queue) = &status.ping_queue {
        v["pingQueue"] = json!(queue);
    }
    if let Some(beats) = &status.beats {
        v["status"] = json!(heartbeat_status(status, beats));
        v["lastPing"] = json!(beats.success.max(beats.fail).map(format_millis));
        v["lastStart"] = json!(beats.start.filter(|_| !beats.start_ended).map(format_millis));
    }
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

/// A heartbeat's state in Healthchecks' words: `new` (never pinged), `started` (a run is open),
/// `up`, `grace` (late, within its grace: vigil's warning), `down` (failed or missing), `paused`.
fn heartbeat_status(status: &MonitorStatus, beats: &vigil_core::monitor::expect::Beats) -> &'static str {
    let open_start = beats.start.is_some() && !beats.start_ended;
    let failed = beats.fail.is_some_and(|f| beats.success.is_none_or(|s| f > s));
    match status.series.iter().filter_map(|s| s.tier).max() {
        _ if status.paused => "paused",
        _ if open_start => "started",
        _ if failed => "down",
        Some(Tier::Critical) => "down",
        Some(Tier::Warning) => "grace",
        _ if beats.success.is_some() => "up",
        _ => "new",
    }
}

/// Query of a heartbeat's ping log.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
struct PingsQuery {
    /// How many, newest first (default 100, at most 1000).
    limit: Option<u32>,
}

/// A heartbeat's last pings, newest first: kind, exit status, run id, method, user agent, client
/// address, scheme and body (`body` when it is text, else `bodyBase64`), as Healthchecks keeps them.
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}/pings", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name"), PingsQuery),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn pings(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<PingsQuery>,
) -> ApiResult<Json<Value>> {
    use base64::Engine as _;
    let status = owned_monitor(&app, &access, &name, Role::Read).await.ok();
    if status.is_none_or(|s| s.beats.is_none()) {
        return Err(ApiError::not_found(format!("no heartbeat monitor `{name}`")));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = app.engine.monitor_rows().pings(&name, limit).await.map_err(ApiError::from)?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|p| {
            let mut v = json!({
                "kind": vigil_store::pings::kind_name(p.kind), "exitStatus": p.exit_code, "rid": p.rid,
                "method": p.origin.method, "userAgent": p.origin.user_agent, "remoteAddr": p.origin.remote_addr,
                "scheme": p.origin.scheme, "queue": p.origin.queue, "messageId": p.origin.message_id,
                "receivedAt": format_millis(p.received_at),
            });
            match p.body.map(String::from_utf8) {
                Some(Ok(text)) => v["body"] = json!(text),
                Some(Err(bytes)) => {
                    v["bodyBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes()))
                }
                None => {}
            }
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Uptime per window as JSON: `{"24h": 0.998, "7d": ..., "30d": ...}` (null without checks).
fn uptime_json(counts: &vigil_runtime::monitors::uptime::Counts) -> Value {
    let ratios = counts.ratios();
    let windows = vigil_runtime::monitors::uptime::WINDOWS.iter().zip(ratios);
    Value::Object(windows.map(|((name, _, _), r)| (name.to_string(), json!(r))).collect())
}

/// Every monitor with its worst tier, last and next check, and its uptime over 24 hours, 7 days
/// and 30 days (its series together).
#[utoipa::path(get, path = "/api/v1/monitors", tag = "monitors", responses((status = 200, body = Object)))]
async fn list(State(app): State<AppState>, access: Access) -> ApiResult<Json<Value>> {
    let counts = app.engine.monitor_uptime("").await.map_err(ApiError::from)?;
    let per_monitor = vigil_runtime::monitors::uptime::per_monitor(&counts);
    let all: Vec<Value> = app
        .engine
        .monitors()
        .await
        .iter()
        .filter(|s| access.sees_labelled(ObjectKind::Monitors, &s.name, &s.labels))
        .map(|s| {
            let mut v = view(s, false);
            v["uptime"] = uptime_json(&per_monitor.get(s.name.as_str()).copied().unwrap_or_default());
            v
        })
        .collect();
    Ok(Json(json!({"items": all})))
}

/// One monitor with each series of its last check.
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    let status = owned_monitor(&app, &access, &name, Role::Read).await?;
    let counts = app.engine.monitor_uptime(&name).await.map_err(ApiError::from)?;
    let mut v = view(&status, true);
    v["uptime"] = uptime_json(
        &vigil_runtime::monitors::uptime::per_monitor(&counts).get(name.as_str()).copied().unwrap_or_default(),
    );
    for s in v["series"].as_array_mut().into_iter().flatten() {
        let key = (name.clone(), s["key"].as_str().unwrap_or_default().to_string());
        s["uptime"] = uptime_json(&counts.get(&key).copied().unwrap_or_default());
    }
    let windows = own_windows(&app, &name);
    if !windows.is_empty() {
        v["maintenance"] = json!(windows);
    }
    Ok(Json(v))
}

/// Monitor `name`'s own maintenance windows (its file's) not over, each with `state` and, for a
/// recurring one, `repeats` and `next` (the occurrence under way or next).
pub(crate) fn own_windows(app: &AppState, name: &str) -> Vec<Value> {
    let now = app.engine.now();
    let declared = app.engine.declared_monitors();
    let Some((_, windows)) = declared.maintenance.iter().find(|(m, _)| m == name) else { return Vec::new() };
    windows
        .iter()
        .filter_map(|w| {
            let next = w.current_or_next(now)?;
            let mut v = json!(w);
            v["state"] = json!(if next.starts <= now { "in_progress" } else { "scheduled" });
            if let Some(repeat) = &w.repeat {
                v["repeats"] = json!(repeat.describe());
                v["next"] = json!({ "starts": next.starts, "ends": next.ends });
            }
            Some(v)
        })
        .collect()
}

/// Removes a monitor kept in the store: a heartbeat a ping created (`?create=1`). A file's
/// monitor is removed from its file (409). Every node stops running it within seconds.
#[utoipa::path(
    delete, path = "/api/v1/monitors/{name}", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, description = "Declared in a file", body = ApiError))
)]
async fn remove(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    owned_monitor(&app, &access, &name, Role::Write).await?;
    if app.engine.monitor_from_file(&name) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("monitor `{name}` is declared in the config directory: remove it from its file"),
        ));
    }
    match app.engine.delete_stored_monitor(&name).await.map_err(ApiError::internal)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("monitor `{name}` does not exist"))),
    }
}

/// Runs a monitor now (its observations go to the alert lifecycle as a scheduled check's do) and
/// answers with the result.
#[utoipa::path(
    post, path = "/api/v1/monitors/{name}/check", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn check(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    owned_monitor(&app, &access, &name, Role::Respond).await?;
    let status = app
        .engine
        .check_monitor(&name)
        .await
        .ok_or_else(|| ApiError::not_found(format!("monitor `{name}` does not exist")))?;
    Ok(Json(view(&status, true)))
}

/// Query of the history route.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// How far back, as a duration (`1h`, `24h`, `7d`); default `24h`.
    since: Option<String>,
    /// Most buckets returned (default 10,000).
    limit: Option<u32>,
    /// Read the downsampled buckets of this width (`5m`, `1h` or `1d`, kept 90 days by default)
    /// instead of the fine ones (kept 48 hours).
    width: Option<String>,
}

/// A monitor's stored history: one bucket per series and time bucket (checks, failing checks,
/// checks without a value, worst tier, min/max/mean/last value), and uptime (the share of checks
/// that were not failing) per series over the window.
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}/history", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name"), HistoryQuery),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn history(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    owned_monitor(&app, &access, &name, Role::Read).await?;
    let window = match q.since.as_deref() {
        None => 24 * 3_600_000,
        Some(text) => vigil_core::time::parse_duration(text).map_err(|e| ApiError::invalid("since", e))?,
    };
    let since = app.engine.now() - window;
    let limit = q.limit.unwrap_or(10_000).min(100_000);
    let rows = match q.width.as_deref() {
        None => app.engine.monitor_history(&name, since, limit).await,
        Some(text) => {
            let widths = vigil_runtime::monitors::record::ROLLUP_WIDTHS;
            let width = vigil_core::time::parse_duration(text)
                .ok()
                .filter(|w| widths.contains(w))
                .ok_or_else(|| ApiError::invalid("width", format!("`{text}` is not one of 5m, 1h, 1d")))?;
            app.engine.monitor_rollups(&name, width, since - since.rem_euclid(width), limit).await
        }
    }
    .map_err(ApiError::from)?;
    let mut uptime: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    let buckets: Vec<Value> = rows
        .iter()
        .map(|h| {
            let u = uptime.entry(h.series.as_str()).or_default();
            u.0 += h.checks as u64;
            u.1 += h.failing as u64;
            let valued = h.checks.saturating_sub(h.errors);
            let worst = ["ok", "warning", "critical"].get(h.worst as usize).copied().unwrap_or("critical");
            json!({
                "series": h.series, "bucket": format_millis(h.bucket), "checks": h.checks,
                "failing": h.failing, "errors": h.errors,
                "worst": worst,
                "min": h.min, "max": h.max, "mean": h.sum.filter(|_| valued > 0).map(|s| s / valued as f64),
                "last": h.last,
            })
        })
        .collect();
    let uptime: serde_json::Map<String, Value> = uptime
        .into_iter()
        .map(|(k, (checks, failing))| (k.to_string(), json!((checks - failing) as f64 / checks.max(1) as f64)))
        .collect();
    Ok(Json(json!({"name": name, "since": format_millis(since), "uptime": uptime, "buckets": buckets})))
}
