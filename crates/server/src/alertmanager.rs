//! Alertmanager's API v2, served by vigil: `POST /api/v2/alerts`, where Prometheus (any client of
//! Alertmanager) pushes its alerts (each joins vigil's alert lifecycle and is durable before the
//! answer), `GET /api/v2/alerts`, every firing alert in Alertmanager's form (silenced and
//! inhibited ones `suppressed`, with why), `GET /api/v2/alerts/groups`, the routing tree's groups,
//! silences, and `GET /api/v2/status` and `/api/v2/receivers`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::alert::Silence;
use vigil_core::principal::Role;

use vigil_core::alertmanager::config::inhibit::InhibitIndex;
use vigil_core::alertmanager::gettable::{Filter, Muting, gettable, labels_of};
use vigil_core::alertmanager::{format_time, parse_time};

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody, JsonBytes};

/// How long an alert pushed without `endsAt` fires unless pushed again (Alertmanager's default
/// `resolve_timeout`).
pub const RESOLVE_TIMEOUT_MS: i64 = 5 * 60_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    std::sync::LazyLock::force(&STARTED);
    OpenApiRouter::new()
        .routes(routes!(post_alerts, get_alerts))
        .routes(routes!(get_groups))
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
async fn post_alerts(State(app): State<AppState>, access: Access, JsonBytes(body): JsonBytes) -> ApiResult<StatusCode> {
    let now = app.engine.now();
    let timeout = app.engine.routing().map_or(RESOLVE_TIMEOUT_MS, |r| r.config.resolve_timeout);
    let body = body.as_deref().unwrap_or(b"null");
    let (alerts, errors) = vigil_core::alertmanager::read_posted_bytes(body, now, timeout)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e))?;
    // A role held in teams pushes its teams' alerts only; nothing of a refused batch is kept.
    if !access.everywhere(Role::Write) {
        for (i, alert) in alerts.iter().enumerate() {
            let name = alert.labels.get("alertname").map_or("", String::as_str);
            let owner = access.owner_of_alert(name, &alert.labels);
            access.check_owned(owner, Role::Write, || format!("alert {i} ({})", label_text(&alert.labels)))?;
        }
    }
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
        ("limit" = Option<usize>, Query, description = "At most this many (1 to 10000), in fingerprint order; a `Link` header with `rel=\"next\"` names the next page"),
        ("after" = Option<String>, Query, description = "Only alerts whose fingerprint sorts after this one (the next page)"),
    ),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn get_alerts(
    State(app): State<AppState>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<axum::response::Response> {
    let filter = filter_of(raw.as_deref())?;
    let store = app.engine.alert_rows();
    let now = app.engine.now();
    let silences = named_silences(&*store, now, &access).await?;
    let maintenance = app.engine.status_pages().maintenance_silences().await?;
    let records: Vec<(Record, i64)> = vigil_runtime::alert_rows::read(&*store, true, u32::MAX, now)
        .await?
        .into_iter()
        .filter_map(|row| Some((serde_json::from_str::<Record>(&row.state).ok()?, row.updated_at)))
        .collect();
    let routing = app.engine.routing();
    let rules = routing.as_ref().map(|r| r.config.inhibit_rules.as_slice()).unwrap_or_default();
    let firing: Vec<(String, BTreeMap<String, String>)> = records
        .iter()
        .filter(|(r, _)| !rules.is_empty() && r.state.condition == vigil_core::alert::Condition::Firing)
        .map(|(r, _)| {
            let labels = labels_of(&r.request);
            (vigil_core::alertmanager::fingerprint_hex(&labels), labels)
        })
        .collect();
    let inhibitors = InhibitIndex::new(rules, firing.iter().map(|(k, l)| (k, l)));
    // vigil's monitors held by a failing monitor they depend on show it as their inhibitor.
    let firing_names: std::collections::HashSet<&str> = records
        .iter()
        .filter(|(r, _)| r.state.condition == vigil_core::alert::Condition::Firing)
        .map(|(r, _)| r.request.name.as_str())
        .collect();
    let mut out = Vec::new();
    for (record, updated_at) in &records {
        let labels = labels_of(&record.request);
        if !access.may_alert(&record.request.name, &labels, Role::Read) {
            continue;
        }
        let mut silenced_by: Vec<String> = silences
            .iter()
            .filter(|(_, s)| s.mutes(&record.request.name, &record.request.labels, now))
            .map(|(id, _)| id.clone())
            .collect();
        silenced_by.sort();
        silenced_by.dedup();
        let mut inhibited_by: Vec<String> = inhibitors.inhibited_by(&labels).into_iter().cloned().collect();
        inhibited_by.extend(record.request.depends_on.iter().filter(|p| firing_names.contains(p.as_str())).cloned());
        let pushed = record.request.source == vigil_core::alertmanager::request::SOURCE;
        let receivers = match &routing {
            Some(r) if pushed => {
                let mut names: Vec<String> =
                    r.config.route.matching(&labels).iter().map(|n| n.receiver.clone()).collect();
                names.dedup();
                names
            }
            _ => record.request.notifiers.clone(),
        };
        let mut muted_by = match &routing {
            Some(r) if pushed => muting_intervals(&r.config, &labels, now),
            _ => Vec::new(),
        };
        if maintenance.iter().any(|m| m.mutes(&record.request.name, &record.request.labels, now)) {
            muted_by.push("maintenance".to_string());
        }
        let muting = Muting { silenced_by, inhibited_by, receivers, muted_by };
        if let Some(alert) = gettable(&record.request, &record.state, *updated_at, &muting, &filter) {
            let fingerprint = alert["fingerprint"].as_str().unwrap_or_default().to_string();
            if filter.after.as_ref().is_none_or(|after| fingerprint > *after) {
                out.push((fingerprint, serde_json::to_vec(&alert).unwrap_or_default()));
            }
        }
    }
    Ok(alert_page(out, &filter, raw.as_deref()))
}

/// The time intervals holding a pushed alert with `labels` at `now`: when every route it takes
/// is muted by time, the names of those routes' intervals that mute (a `mute_time_intervals`
/// entry in force, an `active_time_intervals` list none of which is); none otherwise.
fn muting_intervals(
    config: &vigil_core::alertmanager::config::AmConfig,
    labels: &BTreeMap<String, String>,
    now: i64,
) -> Vec<String> {
    let routes = config.route.matching(labels);
    if routes.is_empty() || !routes.iter().all(|r| config.muted_by_time(r, now)) {
        return Vec::new();
    }
    let mut names: Vec<String> = Vec::new();
    for route in routes {
        let active = |n: &String| config.interval(n).is_some_and(|i| i.contains(now));
        names.extend(route.mute_time_intervals.iter().filter(|n| active(n)).cloned());
        if !route.active_time_intervals.is_empty() && !route.active_time_intervals.iter().any(active) {
            names.extend(route.active_time_intervals.iter().cloned());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The alerts shown, in fingerprint order as Alertmanager sorts them: a page of `limit` (with a
/// `Link: <...>; rel="next"` header when more follow), or all, streamed as they are written so a
/// large answer is never one buffer.
fn alert_page(mut alerts: Vec<(String, Vec<u8>)>, filter: &Filter, raw: Option<&str>) -> axum::response::Response {
    use axum::response::IntoResponse;
    alerts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut next = None;
    if let Some(limit) = filter.limit
        && alerts.len() > limit
    {
        alerts.truncate(limit);
        let last = alerts.last().map(|(f, _)| f.clone()).unwrap_or_default();
        let kept: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "after")
            .chain([("after".to_string(), last)])
            .collect();
        next = serde_urlencoded::to_string(kept).ok().map(|q| format!("</api/v2/alerts?{q}>; rel=\"next\""));
    }
    let chunks = alerts.chunks(256).enumerate().map(|(i, chunk)| {
        let mut bytes = Vec::with_capacity(chunk.iter().map(|(_, a)| a.len() + 1).sum::<usize>() + 1);
        for (j, (_, alert)) in chunk.iter().enumerate() {
            bytes.push(if i == 0 && j == 0 { b'[' } else { b',' });
            bytes.extend_from_slice(alert);
        }
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(bytes))
    });
    let chunks: Vec<_> = chunks.collect();
    let close: &'static [u8] = if alerts.is_empty() { b"[]" } else { b"]" };
    let body = futures_util::stream::iter(chunks.into_iter().chain([Ok(axum::body::Bytes::from_static(close))]));
    let mut response =
        ([(axum::http::header::CONTENT_TYPE, "application/json")], axum::body::Body::from_stream(body)).into_response();
    if let Some(link) = next.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LINK, link);
    }
    response
}

/// The routing tree's groups and their firing alerts, as Alertmanager lists them (`amtool alert
/// query --groups`, Grafana and karma): `labels`, `receiver`, `alerts`, filtered like
/// `GET /api/v2/alerts`.
#[utoipa::path(
    get, path = "/api/v2/alerts/groups", tag = "alertmanager",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Matchers, such as `alertname=\"Down\"`"),
        ("active" = Option<bool>, Query), ("silenced" = Option<bool>, Query), ("inhibited" = Option<bool>, Query),
        ("receiver" = Option<String>, Query, description = "A regex on receiver names"),
    ),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn get_groups(
    State(app): State<AppState>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Value>>> {
    let filter = filter_of(raw.as_deref())?;
    let now = app.engine.now();
    let store = app.engine.alert_rows();
    let silences = named_silences(&*store, now, &access).await?;
    let all_parts: Vec<u32> = (0..vigil_store::PARTITIONS).collect();
    let groups: Vec<vigil_core::alertmanager::group::Group> = store
        .groups_in(&all_parts)
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut group: vigil_core::alertmanager::group::Group = serde_json::from_str(&r.state).ok()?;
            for m in &r.members {
                group.state.alerts.insert(m.member_key.clone(), serde_json::from_str(&m.alert).ok()?);
            }
            Some(group)
        })
        .collect();
    let routing = app.engine.routing();
    let rules = routing.as_ref().map(|r| r.config.inhibit_rules.clone()).unwrap_or_default();
    let firing: Vec<(String, BTreeMap<String, String>)> = groups
        .iter()
        .flat_map(|g| g.state.alerts.iter())
        .filter(|(_, a)| !a.resolved_at(now))
        .map(|(k, a)| (k.clone(), a.labels.clone()))
        .collect();
    let inhibitors = InhibitIndex::new(&rules, firing.iter().map(|(k, l)| (k, l)));
    let mut out = Vec::new();
    for group in &groups {
        if filter.receiver.as_ref().is_some_and(|re| !re.is_match(&group.receiver)) {
            continue;
        }
        let mut alerts = Vec::new();
        for (key, a) in group.state.alerts.iter().filter(|(_, a)| !a.resolved_at(now)) {
            let name = a.labels.get("alertname").map_or("", |n| n.as_str());
            if !access.may_alert(name, &a.labels, Role::Read) {
                continue;
            }
            let mut silenced_by: Vec<&String> =
                silences.iter().filter(|(_, s)| s.mutes(name, &a.labels, now)).map(|(id, _)| id).collect();
            silenced_by.sort();
            silenced_by.dedup();
            let inhibited: Vec<&String> = inhibitors.inhibited_by(&a.labels).into_iter().collect();
            let muted_by = routing.as_ref().map(|r| muting_intervals(&r.config, &a.labels, now)).unwrap_or_default();
            let active = silenced_by.is_empty() && inhibited.is_empty() && muted_by.is_empty();
            let shown = vigil_core::alertmanager::all_match(&filter.matchers, &a.labels)
                && (silenced_by.is_empty() || filter.silenced)
                && (inhibited.is_empty() || filter.inhibited)
                && (!active || filter.active);
            if shown {
                alerts.push(serde_json::json!({
                    "labels": a.labels, "annotations": a.annotations,
                    "startsAt": format_time(a.starts_at), "endsAt": format_time(a.ends_at),
                    "updatedAt": format_time(a.updated_at), "generatorURL": a.generator_url, "fingerprint": key,
                    "receivers": [{"name": group.receiver}],
                    "status": {"state": if active { "active" } else { "suppressed" }, "silencedBy": silenced_by,
                        "inhibitedBy": inhibited, "mutedBy": muted_by},
                }));
            }
        }
        if !alerts.is_empty() {
            out.push(
                serde_json::json!({"labels": group.labels, "receiver": {"name": group.receiver}, "alerts": alerts}),
            );
        }
    }
    Ok(Json(out))
}

/// The alert filter of a `GET /api/v2/alerts` (or `/alerts/groups`) query.
fn filter_of(raw: Option<&str>) -> ApiResult<Filter> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("the query does not read: {e}")))?;
    Filter::from_query(&pairs).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e))
}

/// The silences not yet ended at `now`, each with its stored row.
async fn live_silence_rows(
    store: &dyn vigil_store::AlertingStore,
    now: i64,
) -> ApiResult<Vec<(vigil_store::SilenceRow, Silence)>> {
    let rows = store.silences().await?;
    Ok(rows
        .into_iter()
        .filter(|s| s.ends_at > now)
        .filter_map(|s| {
            let silence = Silence::from_stored(&s.matchers, s.ends_at)?.starting(s.starts_at);
            Some((s, silence))
        })
        .collect())
}

/// The live silences as the caller may name them: its own team's (or every one, with a role
/// everywhere) by id, another team's as [`HIDDEN_SILENCE`], so an alert still shows as silenced
/// without telling which silence of theirs holds it.
async fn named_silences(
    store: &dyn vigil_store::AlertingStore,
    now: i64,
    access: &Access,
) -> ApiResult<Vec<(String, Silence)>> {
    let rows = live_silence_rows(store, now).await?;
    let everywhere = access.everywhere(Role::Read);
    Ok(rows
        .into_iter()
        .map(|(row, silence)| {
            let shown = everywhere || access.role_on(access.stored_silence_owner(&row).as_deref()).is_some();
            (if shown { row.id } else { HIDDEN_SILENCE.to_string() }, silence)
        })
        .collect())
}

/// How a silence of another team is named in an alert's `silencedBy`.
const HIDDEN_SILENCE: &str = "another-team";

/// When this process began serving (`uptime` in the status).
static STARTED: std::sync::LazyLock<jiff::Timestamp> = std::sync::LazyLock::new(jiff::Timestamp::now);

/// Alertmanager's status: vigil's version, its cluster (the live nodes as peers), uptime, and the
/// loaded `alertmanager.yml` with its secrets masked (empty without one). Grafana's Alertmanager
/// data source asks it to check the connection; `amtool config show` and `config routes` read it.
#[utoipa::path(get, path = "/api/v2/status", tag = "alertmanager", responses((status = 200, body = Object)))]
async fn get_status(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let now = app.engine.now();
    let nodes = app.engine.cluster_status().await?.nodes;
    let peers: Vec<Value> = nodes
        .iter()
        .map(|n| &n.node)
        .filter(|n| n.stopped_at.is_none() && now - n.heartbeat_at < 60_000)
        .map(|n| serde_json::json!({"name": n.id, "address": n.host}))
        .collect();
    // The loaded alertmanager.yml, secrets masked, for `amtool config show` and `config routes`.
    let original =
        app.engine.routing().and_then(|r| vigil_core::alertmanager::config::shown::shown(&r.text)).unwrap_or_default();
    Ok(Json(serde_json::json!({
        "cluster": {"name": "vigil", "status": "ready", "peers": peers},
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"), "revision": "", "branch": "", "buildUser": "vigil",
            "buildDate": "", "goVersion": "none (vigil is written in Rust)",
        },
        "config": {"original": original},
        "uptime": format_time(STARTED.as_millisecond()),
    })))
}

/// The receivers: vigil's notifiers.
#[utoipa::path(get, path = "/api/v2/receivers", tag = "alertmanager", responses((status = 200, body = Vec<Object>)))]
async fn get_receivers(State(app): State<AppState>) -> Json<Vec<Value>> {
    let mut names: Vec<String> = app.engine.notifier_names().into_iter().map(|(name, _)| name).collect();
    if let Some(routing) = app.engine.routing() {
        // The routing tree's receivers, rather than the notifiers their integrations became.
        let integrations: Vec<&str> = routing.notifiers.iter().map(|n| n.name()).collect();
        names.retain(|n| !integrations.contains(&n.as_str()));
        names.extend(routing.config.receivers.iter().map(|r| r.name.clone()));
    }
    Json(names.into_iter().map(|name| serde_json::json!({"name": name})).collect())
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
        "startsAt": format_time(row.starts_at.unwrap_or(row.created_at)),
        "endsAt": format_time(row.ends_at),
        "updatedAt": format_time(row.created_at),
        "createdBy": row.created_by.clone().unwrap_or_default(),
        "comment": row.comment.clone().unwrap_or_default(),
        "status": {"state": match row.starts_at {
            _ if row.ends_at <= now => "expired",
            Some(start) if start > now => "pending",
            _ => "active",
        }},
    })
}

/// Every silence, as Alertmanager lists them (`amtool silence query`); `filter` matchers keep
/// the silences with a matcher of that name and value.
#[utoipa::path(
    get, path = "/api/v2/silences", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query, description = "Matchers a silence's own matchers must include")),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn get_silences(
    State(app): State<AppState>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Value>>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("the query does not read: {e}")))?;
    let mut wanted = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "filter") {
        let ms = vigil_core::alertmanager::parse_matchers(v)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("filter {v:?}: {e}")))?;
        wanted.extend(ms);
    }
    let now = app.engine.now();
    let rows = app.engine.alert_rows().silences().await?;
    let visible = rows.iter().filter(|r| access.role_on(access.stored_silence_owner(r).as_deref()).is_some());
    let shown = visible.map(|r| gettable_silence(r, now)).filter(|s| {
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
async fn get_silence(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let now = app.engine.now();
    let rows = app.engine.alert_rows().silences().await?;
    let row = rows
        .iter()
        .find(|r| r.id == id && access.role_on(access.stored_silence_owner(r).as_deref()).is_some())
        .ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))?;
    Ok(Json(gettable_silence(row, now)))
}

/// Expires a silence now (it is kept, `expired`, as Alertmanager keeps it).
#[utoipa::path(
    delete, path = "/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path)), responses((status = 200, description = "Expired"), (status = 404, body = ApiError))
)]
async fn expire_silence(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let now = app.engine.now();
    let store = app.engine.alert_rows();
    let rows = store.silences().await?;
    let mut row =
        rows.into_iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))?;
    let owner = access.stored_silence_owner(&row);
    access.check_owned(owner.as_deref(), Role::Respond, || format!("silence {id}"))?;
    row.ends_at = row.ends_at.min(now);
    store.put_silence(&row).await?;
    Ok(StatusCode::OK)
}

/// Adds (or, with the `id` of one that is active, replaces) a silence: Alertmanager's
/// `postableSilence`, its matchers typed (`=`, `!=`, `=~`, `!~`); one whose `startsAt` is to
/// come is `pending` until then.
#[utoipa::path(
    post, path = "/api/v2/silences", tag = "alertmanager",
    request_body(content = Object, description = "matchers, startsAt, endsAt, createdBy, comment, id"),
    responses((status = 200, description = "`{silenceID}`", body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn post_silence(
    State(app): State<AppState>,
    access: Access,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let bad = |m: String| ApiError::new(ErrorCode::InvalidRequest, m);
    let now = app.engine.now();
    let matchers = body.get("matchers").cloned().unwrap_or(Value::Null);
    vigil_core::alertmanager::matchers_from_json(&matchers).map_err(bad)?;
    // A team's member silences only what requires the team's labels (`team="pay"`).
    access.check_silence(&crate::access::required_labels(&matchers.to_string()))?;
    let time = |k: &str| parse_time(body.get(k), k).map_err(bad);
    let ends_at = Some(time("endsAt")?).filter(|t| *t != 0).ok_or_else(|| bad("endsAt is required".into()))?;
    let starts_at = Some(time("startsAt")?).filter(|t| *t != 0).unwrap_or(now);
    if ends_at < starts_at {
        return Err(bad("failed to create silence: end time can't be before start time".into()));
    }
    if ends_at <= now {
        return Err(bad("failed to create silence: end time can't be in the past".into()));
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let store = app.engine.alert_rows();
    let id = match text("id") {
        Some(id) => {
            let replaced = store.silences().await?.into_iter().find(|r| r.id == id && r.ends_at > now);
            let Some(replaced) = replaced else { return Err(ApiError::not_found(format!("silence {id} not found"))) };
            let owner = access.stored_silence_owner(&replaced);
            access.check_owned(owner.as_deref(), Role::Respond, || format!("silence {id}"))?;
            id
        }
        None => vigil_runtime::new_instance_id(),
    };
    let row = vigil_store::SilenceRow {
        id: id.clone(),
        matchers: matchers.to_string(),
        ends_at,
        starts_at: (starts_at > now).then_some(starts_at),
        created_at: now,
        comment: text("comment"),
        created_by: text("createdBy"),
        until_resolved: false,
    };
    store.put_silence(&row).await?;
    Ok(Json(serde_json::json!({"silenceID": id})))
}

/// Labels as `{a="1", b="2"}`, for messages.
fn label_text(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}
