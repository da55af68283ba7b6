//! Durable Functions' HTTP API under `/runtime/webhooks/durabletask`, as aliases of the native
//! `/api/v1` routes, so a Durable Functions client works by changing its base URL. Routes, query
//! parameters, status codes and payloads follow the extension's `HttpApiHandler`
//! (Azure/azure-functions-durable-extension, `src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs`):
//! start an orchestrator, read one status (`showHistory`, `showHistoryOutput`, `showInput`,
//! `returnInternalServerErrorOnFailure`) or a filtered page of them, raise an event, terminate,
//! suspend, resume, rewind, restart and purge. `taskHub`, `connection` and `code` are accepted and
//! echoed into the URIs handed out; vigil has one store.

pub mod status;

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::time::parse_until;
use vigil_runtime::StartRequest;
use vigil_store::InstanceFilter;

use crate::AppState;
use crate::conductor::model::TaskNames;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody, lenient_bool};
use crate::operations::instances::{base_url, parse_token, start_or_existing, unknown};
use status::Show;

/// Where Durable Functions serves its API.
pub const PREFIX: &str = "/runtime/webhooks/durabletask";

/// Most instances in one page of a listing.
const MAX_PAGE: usize = 1_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(durable_start))
        .routes(routes!(durable_start_with_id))
        .routes(routes!(durable_get_status, durable_purge))
        .routes(routes!(durable_list, durable_purge_matching))
        .routes(routes!(durable_raise_event))
        .routes(routes!(durable_terminate))
        .routes(routes!(durable_suspend))
        .routes(routes!(durable_resume))
        .routes(routes!(durable_rewind))
        .routes(routes!(durable_restart))
}

/// The query every Durable Functions route accepts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Hub {
    /// Task hub name; echoed into the URIs handed out (vigil has one store).
    pub task_hub: Option<String>,
    /// Storage connection name; echoed likewise.
    pub connection: Option<String>,
    /// The Functions host key; echoed likewise (vigil checks its own API tokens).
    pub code: Option<String>,
}

impl Hub {
    /// The query suffix of the URIs handed out, as the extension builds it.
    fn suffix(&self) -> String {
        let enc = |s: &str| s.replace('%', "%25").replace('&', "%26").replace('=', "%3D").replace(' ', "%20");
        let mut out = format!("taskHub={}", enc(self.task_hub.as_deref().unwrap_or("default")));
        if let Some(c) = &self.connection {
            out.push_str(&format!("&connection={}", enc(c)));
        }
        if let Some(c) = &self.code {
            out.push_str(&format!("&code={}", enc(c)));
        }
        out
    }
}

/// What a start answers: the instance id and where to manage it (the extension's
/// `HttpManagementPayload`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementPayload {
    /// Instance id.
    pub id: String,
    /// GET: status.
    pub status_query_get_uri: String,
    /// POST: raise an event (replace `{eventName}`).
    pub send_event_post_uri: String,
    /// POST: terminate (replace `{text}`).
    pub terminate_post_uri: String,
    /// POST: rewind a failed instance (replace `{text}`).
    pub rewind_post_uri: String,
    /// DELETE: purge.
    pub purge_history_delete_uri: String,
    /// POST: restart.
    pub restart_post_uri: String,
    /// POST: suspend (replace `{text}`).
    pub suspend_post_uri: String,
    /// POST: resume (replace `{text}`).
    pub resume_post_uri: String,
}

impl ManagementPayload {
    /// The URIs of instance `id` under `base` (scheme and host).
    pub fn new(base: &str, id: &str, hub: &Hub) -> Self {
        let at = format!("{base}{PREFIX}/instances/{id}");
        let q = hub.suffix();
        Self {
            id: id.to_string(),
            status_query_get_uri: format!("{at}?{q}"),
            send_event_post_uri: format!("{at}/raiseEvent/{{eventName}}?{q}"),
            terminate_post_uri: format!("{at}/terminate?reason={{text}}&{q}"),
            rewind_post_uri: format!("{at}/rewind?reason={{text}}&{q}"),
            purge_history_delete_uri: format!("{at}?{q}"),
            restart_post_uri: format!("{at}/restart?{q}"),
            suspend_post_uri: format!("{at}/suspend?reason={{text}}&{q}"),
            resume_post_uri: format!("{at}/resume?reason={{text}}&{q}"),
        }
    }
}

/// `create_check_status_response`: 202 with the payload, `Location` and `Retry-After: 10`.
pub fn check_status_response(base: &str, id: &str, hub: &Hub) -> Response {
    let payload = ManagementPayload::new(base, id, hub);
    let location = HeaderValue::from_str(&payload.status_query_get_uri).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::ACCEPTED, [(LOCATION, location), (RETRY_AFTER, HeaderValue::from_static("10"))], Json(payload))
        .into_response()
}

/// Waits up to `wait` for `id` to end: 200 with the output when it completed, the status when it
/// failed or was terminated, the check-status 202 when it still runs
/// (`WaitForCompletionOrCreateCheckStatusResponseAsync`).
pub async fn wait_or_check_status(
    app: &AppState,
    base: &str,
    id: &str,
    hub: &Hub,
    wait: Duration,
) -> ApiResult<Response> {
    let ended = match tokio::time::timeout(wait, app.engine.wait(id)).await {
        Ok(result) => Some(result?),
        Err(_) => None,
    };
    Ok(match ended {
        Some(i) if i.status == WorkflowStatus::Completed => (StatusCode::OK, Json(i.output)).into_response(),
        Some(i) => {
            let show = Show { history: false, history_output: false, input: true };
            status_response(i.status, full_payload(app, &i, show), false, "")
        }
        None => check_status_response(base, id, hub),
    })
}

/// The longest a start waits for its instance to end (`?timeout=`).
const MAX_START_WAIT_SECONDS: u64 = 300;

/// Query of a start.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// With `pollingInterval`: wait this many seconds for the instance to end.
    #[param(minimum = 0, maximum = 300)]
    timeout: Option<u64>,
    /// Accepted with `timeout` (vigil is told when the instance ends; it does not poll).
    #[param(minimum = 0)]
    polling_interval: Option<u64>,
}

/// Starts an orchestration (a workflow by name) with the body as its input.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/orchestrators/{functionName}", tag = "durable",
    params(("functionName" = String, Path, description = "Workflow name"), StartQuery, Hub),
    request_body(content = serde_json::Value, description = "The input: a JSON object (or empty)"),
    responses(
        (status = 202, description = "Started", body = ManagementPayload),
        (status = 200, description = "Ended within `timeout`: its output", body = Object),
        (status = 400, body = ApiError), (status = 404, description = "No such workflow", body = ApiError),
        (status = 409, body = ApiError),
    )
)]
async fn durable_start(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<StartQuery>,
    ApiQuery(hub): ApiQuery<Hub>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<Value>,
) -> ApiResult<Response> {
    start_instance(app, name, None, (q, hub), headers, (input, crate::auth::principal(caller.as_ref()))).await
}

/// Starts an orchestration with the given instance id (a second start with it starts nothing).
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/orchestrators/{functionName}/{instanceId}", tag = "durable",
    params(
        ("functionName" = String, Path, description = "Workflow name"),
        ("instanceId" = String, Path, description = "Instance id", pattern = r"^[A-Za-z0-9._:-]{1,200}$"),
        StartQuery, Hub,
    ),
    request_body(content = serde_json::Value, description = "The input: a JSON object (or empty)"),
    responses(
        (status = 202, description = "Started", body = ManagementPayload),
        (status = 200, description = "Ended within `timeout`: its output", body = Object),
        (status = 400, body = ApiError), (status = 404, description = "No such workflow", body = ApiError),
        (status = 409, description = "The id runs another workflow", body = ApiError),
    )
)]
async fn durable_start_with_id(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath((name, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<StartQuery>,
    ApiQuery(hub): ApiQuery<Hub>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<Value>,
) -> ApiResult<Response> {
    crate::operations::instances::check_id(&id)?;
    start_instance(app, name, Some(id), (q, hub), headers, (input, crate::auth::principal(caller.as_ref()))).await
}

async fn start_instance(
    app: AppState,
    name: String,
    id: Option<String>,
    (q, hub): (StartQuery, Hub),
    headers: HeaderMap,
    (input, started_by): (Value, vigil_core::principal::Principal),
) -> ApiResult<Response> {
    if let Some(t) = q.timeout.filter(|&t| t > MAX_START_WAIT_SECONDS) {
        let message = format!(
            "`timeout` is at most {MAX_START_WAIT_SECONDS} seconds (a request held open longer is cut by proxies), not {t}"
        );
        return Err(ApiError::invalid("timeout", message));
    }
    let req = StartRequest { name, version: None, input, id, correlation_id: None, definition: None, started_by };
    let id = start_or_existing(&app, req).await?;
    let base = base_url(&app, &headers);
    match (q.timeout, q.polling_interval) {
        (Some(t), Some(_)) => wait_or_check_status(&app, &base, &id, &hub, Duration::from_secs(t)).await,
        _ => Ok(check_status_response(&base, &id, &hub)),
    }
}

/// Query of a status read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Include the history events.
    #[serde(default, deserialize_with = "lenient_bool")]
    show_history: bool,
    /// Include results in the history events.
    #[serde(default, deserialize_with = "lenient_bool")]
    show_history_output: bool,
    /// Include the input (default true).
    #[serde(default = "yes", deserialize_with = "lenient_bool")]
    show_input: bool,
    /// Answer 500 instead of 200 for a failed instance.
    #[serde(default, deserialize_with = "lenient_bool")]
    return_internal_server_error_on_failure: bool,
}

fn yes() -> bool {
    true
}

/// An orchestration's status: 202 while it runs or is suspended (with `Location` and
/// `Retry-After: 5`), 200 once it has ended (500 for a failure when asked).
#[utoipa::path(
    get, path = "/runtime/webhooks/durabletask/instances/{instanceId}", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), StatusQuery, Hub),
    responses(
        (status = 200, description = "Ended", body = Object), (status = 202, description = "Running", body = Object),
        (status = 500, description = "Failed, with returnInternalServerErrorOnFailure", body = Object),
        (status = 404, body = ApiError),
    )
)]
async fn durable_get_status(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatusQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let show = Show { history: q.show_history, history_output: q.show_history_output, input: q.show_input };
    let here = format!("{}{}", base_url(&app, &headers), uri.path_and_query().map_or(uri.path(), |p| p.as_str()));
    let (status, body) = if show.history {
        let instance = app.engine.instance(&id).await?.ok_or_else(|| unknown(&id))?;
        (instance.status, full_payload(&app, &instance, show))
    } else {
        // The hot path (clients polling a status): decode only the fields shown, as /api/v1 does.
        let raw = app.engine.instance_rows().instance_json(&id).await?.ok_or_else(|| unknown(&id))?;
        let fields: crate::views::StatusFields = serde_json::from_str(&raw).map_err(ApiError::internal)?;
        status::payload_of(fields, show.input)
    };
    Ok(status_response(status, body, q.return_internal_server_error_on_failure, &here))
}

/// `i`'s status payload with what `show` asks for, its tasks named from its definition.
fn full_payload(app: &AppState, i: &Instance, show: Show) -> Value {
    let workflows = app.engine.workflows();
    let def = workflows.for_instance(i);
    status::payload(i, show, &TaskNames::of(def.as_deref(), i))
}

fn status_response(status: WorkflowStatus, body: Value, error_on_failure: bool, here: &str) -> Response {
    let failed = matches!(status, WorkflowStatus::Failed | WorkflowStatus::TimedOut);
    if !status.is_terminal() {
        let location = HeaderValue::from_str(here).unwrap_or(HeaderValue::from_static("/"));
        let headers = [(LOCATION, location), (RETRY_AFTER, HeaderValue::from_static("5"))];
        return (StatusCode::ACCEPTED, headers, Json(body)).into_response();
    }
    let code = if failed && error_on_failure { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    (code, Json(body)).into_response()
}

/// Query of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    created_time_from: Option<String>,
    /// Created at or before (RFC 3339).
    #[param(format = DateTime)]
    created_time_to: Option<String>,
    /// Statuses, comma-separated (`Running,Completed`); unknown names are ignored, as the
    /// extension ignores them.
    runtime_status: Option<String>,
    /// Only ids starting with this.
    instance_id_prefix: Option<String>,
    /// Include each input (default false in a listing).
    #[serde(default, deserialize_with = "lenient_bool")]
    show_input: bool,
    /// Page size (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    top: Option<usize>,
}

/// The statuses named in a `runtimeStatus` list (`None`: no list); a name Durable Functions does
/// not define is a 400, as the native API's `status=BOGUS` is.
fn statuses(list: Option<&str>) -> ApiResult<Option<Vec<WorkflowStatus>>> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else { return Ok(None) };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "Running" | "Pending" | "ContinuedAsNew" => out.push(WorkflowStatus::Running),
            "Suspended" => out.push(WorkflowStatus::Paused),
            "Completed" => out.push(WorkflowStatus::Completed),
            "Failed" => out.extend([WorkflowStatus::Failed, WorkflowStatus::TimedOut]),
            "Terminated" | "Canceled" => out.push(WorkflowStatus::Terminated),
            other => {
                return Err(ApiError::invalid(
                    "runtimeStatus",
                    format!(
                        "`{other}` is not a status: Pending, Running, ContinuedAsNew, Suspended, Completed, Failed, Terminated or Canceled"
                    ),
                ));
            }
        }
    }
    Ok(Some(out))
}

fn time(field: &str, v: Option<&str>) -> ApiResult<Option<i64>> {
    v.map(|t| parse_until(t).map_err(|e| ApiError::invalid(field, e))).transpose()
}

/// Lists orchestrations, newest first, a page at a time: the next page's token is the
/// `x-ms-continuation-token` response header, sent back as that request header.
#[utoipa::path(
    get, path = "/runtime/webhooks/durabletask/instances", tag = "durable", params(ListQuery, Hub),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ApiError))
)]
async fn durable_list(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let top = q.top.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&top) {
        return Err(ApiError::invalid("top", format!("must be 1 to {MAX_PAGE}")));
    }
    let wanted = statuses(q.runtime_status.as_deref())?;
    let mut after = match headers.get("x-ms-continuation-token").and_then(|v| v.to_str().ok()) {
        Some(token) if !token.is_empty() => Some(
            parse_token(token)
                .ok_or_else(|| ApiError::invalid("x-ms-continuation-token", "not a token vigil gave out"))?,
        ),
        _ => None,
    };
    let mut filter = InstanceFilter {
        created_from: time("createdTimeFrom", q.created_time_from.as_deref())?,
        created_to: time("createdTimeTo", q.created_time_to.as_deref())?.map(|t| t + 1),
        statuses: wanted.unwrap_or_default(),
        limit: top as u32,
        ..Default::default()
    };
    let prefix = q.instance_id_prefix.as_deref().unwrap_or_default();
    let mut page = Vec::new();
    let mut more;
    // A filter the store cannot apply (an id prefix) is applied here, reading
    // on until the page is full or a bounded amount has been read.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        filter.after = after.clone();
        let rows = app.engine.instance_rows().list_instances(&filter).await?;
        let full = rows.len() == filter.limit as usize;
        for r in &rows {
            after = Some((r.created_at, r.id.clone()));
            if r.id.starts_with(prefix) {
                page.push(r.id.clone());
                if page.len() == top {
                    break;
                }
            }
        }
        more = full || page.len() == top;
        if page.len() == top || !full || Instant::now() > deadline {
            break;
        }
    }
    let mut out = Vec::with_capacity(page.len());
    for id in &page {
        if let Some(raw) = app.engine.instance_rows().instance_json(id).await? {
            let fields: crate::views::StatusFields = serde_json::from_str(&raw).map_err(ApiError::internal)?;
            out.push(status::payload_of(fields, q.show_input).1);
        }
    }
    let token = if more { after.map(|(at, id)| format!("{at}.{id}")).unwrap_or_default() } else { String::new() };
    let header = HeaderValue::from_str(&token).unwrap_or(HeaderValue::from_static(""));
    Ok((StatusCode::OK, [("x-ms-continuation-token", header)], Json(out)).into_response())
}

/// Purges one instance and its history (`{"instancesDeleted": 1}`).
#[utoipa::path(
    delete, path = "/runtime/webhooks/durabletask/instances/{instanceId}", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), Hub),
    responses(
        (status = 200, body = Object), (status = 404, body = ApiError),
        (status = 409, description = "Still running", body = ApiError),
    )
)]
async fn durable_purge(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(_): ApiQuery<Hub>,
) -> ApiResult<Json<Value>> {
    if !app.engine.purge(&id).await? {
        return Err(unknown(&id));
    }
    Ok(Json(json!({"instancesDeleted": 1})))
}

/// Query of a bulk purge: `createdTimeFrom` is required, as the extension requires it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PurgeQuery {
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    created_time_from: String,
    /// Created at or before (RFC 3339; now when absent).
    #[param(format = DateTime)]
    created_time_to: Option<String>,
    /// Statuses, comma-separated.
    runtime_status: Option<String>,
}

/// Purges ended instances created in a time range (404 when none matched).
#[utoipa::path(
    delete, path = "/runtime/webhooks/durabletask/instances", tag = "durable", params(PurgeQuery, Hub),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn durable_purge_matching(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<PurgeQuery>,
) -> ApiResult<Json<Value>> {
    let wanted = statuses(q.runtime_status.as_deref())?.unwrap_or_else(|| {
        vec![WorkflowStatus::Completed, WorkflowStatus::Failed, WorkflowStatus::TimedOut, WorkflowStatus::Terminated]
    });
    let created_to = time("createdTimeTo", q.created_time_to.as_deref())?.unwrap_or_else(|| app.engine.now()) + 1;
    let mut deleted = 0;
    for status in wanted.into_iter().filter(|s| s.is_terminal()) {
        let filter = InstanceFilter {
            created_from: time("createdTimeFrom", Some(&q.created_time_from))?,
            created_to: Some(created_to),
            statuses: vec![status],
            limit: MAX_PAGE as u32,
            ..Default::default()
        };
        loop {
            let ids = app.engine.purge_matching(&filter).await?;
            deleted += ids.len();
            if ids.len() < MAX_PAGE {
                break;
            }
        }
    }
    if deleted == 0 {
        return Err(ApiError::not_found("no instance matched"));
    }
    Ok(Json(json!({"instancesDeleted": deleted})))
}

/// Raises an event for an instance (the body is its payload, JSON).
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/raiseEvent/{eventName}", tag = "durable",
    params(
        ("instanceId" = String, Path, description = "Instance id"), ("eventName" = String, Path, description = "Event"),
        Hub,
    ),
    request_body(content = serde_json::Value, description = "The event's payload"),
    responses(
        (status = 202, description = "Accepted"), (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 410, description = "Already ended", body = ApiError),
    )
)]
async fn durable_raise_event(
    State(app): State<AppState>,
    ApiPath((id, event)): ApiPath<(String, String)>,
    ApiQuery(_): ApiQuery<Hub>,
    JsonBody(payload): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    app.engine.raise_event(&id, &event, payload).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Query of a control call.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why (recorded on the instance when it ends).
    reason: Option<String>,
}

/// Terminates a running or suspended instance.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/terminate", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), ReasonQuery, Hub),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 410, description = "Already ended", body = ApiError),
    )
)]
async fn durable_terminate(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    let reason = q.reason.unwrap_or_else(|| "terminated through the Durable Functions API".into());
    app.engine.terminate(&id, &reason).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Suspends a running instance.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/suspend", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), ReasonQuery, Hub),
    responses((status = 202, description = "Accepted"), (status = 404, body = ApiError), (status = 410, body = ApiError))
)]
async fn durable_suspend(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(_): ApiQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    app.engine.suspend(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Resumes a suspended instance.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/resume", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), ReasonQuery, Hub),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 409, description = "Not suspended", body = ApiError), (status = 410, body = ApiError),
    )
)]
async fn durable_resume(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(_): ApiQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    app.engine.resume(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Rewinds a failed instance: runs again from the steps that failed (vigil's retry). A completed
/// or terminated instance answers 410, as in the extension.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/rewind", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), ReasonQuery, Hub),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 409, description = "Still running", body = ApiError), (status = 410, body = ApiError),
    )
)]
async fn durable_rewind(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(_): ApiQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    let instance = app.engine.instance(&id).await?.ok_or_else(|| unknown(&id))?;
    if matches!(instance.status, WorkflowStatus::Completed | WorkflowStatus::Terminated) {
        let message =
            format!("instance `{id}` has {}: only a failed instance can be rewound", instance.status.as_str());
        return Err(ApiError::new(crate::ErrorCode::InstanceEnded, message));
    }
    app.engine.retry(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Query of a restart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RestartQuery {
    /// Start a new instance with the same input (default, as in the extension), or run this one
    /// again under its own id (`false`, once it has ended).
    #[serde(default = "yes", deserialize_with = "lenient_bool")]
    restart_with_new_instance_id: bool,
}

/// Restarts an instance with its input: as a new instance (default) or under the same id.
#[utoipa::path(
    post, path = "/runtime/webhooks/durabletask/instances/{instanceId}/restart", tag = "durable",
    params(("instanceId" = String, Path, description = "Instance id"), RestartQuery, Hub),
    responses(
        (status = 202, description = "Started", body = ManagementPayload), (status = 404, body = ApiError),
        (status = 409, description = "Still running (same id)", body = ApiError),
    )
)]
async fn durable_restart(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RestartQuery>,
    ApiQuery(hub): ApiQuery<Hub>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let instance = app.engine.instance(&id).await?.ok_or_else(|| unknown(&id))?;
    let new_id = if q.restart_with_new_instance_id {
        let req = StartRequest {
            name: instance.workflow_name,
            version: Some(instance.workflow_version),
            input: instance.input,
            id: None,
            correlation_id: instance.correlation_id,
            definition: instance.definition,
            started_by: crate::auth::principal(caller.as_ref()),
        };
        app.engine.start_durable(req).await?
    } else {
        app.engine.restart(&id, false).await?;
        id
    };
    Ok(check_status_response(&base_url(&app, &headers), &new_id, &hub))
}
