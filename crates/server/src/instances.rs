//! `/api/v1/workflows/{name}/instances` and `/api/v1/instances`: start, inspect, signal, control
//! and purge instances, as Durable Functions' HTTP API does.

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_core::time::parse_until;
use vigil_runtime::StartRequest;
use vigil_store::InstanceFilter;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::operations::instances::{base_url, check_id, parse_token, start_or_existing, unknown};
use crate::views::{
    InstancePage, InstanceStatus, InstanceSummary, ManagementUris, PurgeResult, RuntimeStatus, StatusFields,
};

/// Most instances in one page.
const MAX_PAGE: u32 = 1_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(status, purge))
        .routes(routes!(list, purge_matching))
        .routes(routes!(raise_event))
        .routes(routes!(terminate))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(restart))
        .routes(routes!(retry))
}

/// Query of a start.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// Instance id; makes the start idempotent (a second start with the same id starts nothing).
    #[param(pattern = r"^[A-Za-z0-9._:-]{1,200}$", min_length = 1, max_length = 200)]
    instance_id: Option<String>,
    /// Workflow version; the latest when absent.
    version: Option<u32>,
    /// Correlation id.
    correlation_id: Option<String>,
}

/// Starts an instance. The body is the input. Answers once the start is durable.
#[utoipa::path(
    post, path = "/api/v1/workflows/{name}/instances", tag = "instances",
    params(("name" = String, Path, description = "Workflow name"), StartQuery),
    request_body(content = Object, description = "The instance's input: a JSON object (or no body for none)"),
    responses(
        (status = 202, description = "Started (or already started with this id)", body = ManagementUris),
        (status = 400, body = ApiError), (status = 404, description = "No such workflow", body = ApiError),
        (status = 409, description = "The instance id runs another workflow", body = ApiError),
    )
)]
async fn start(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<StartQuery>,
    headers: HeaderMap,
    crate::extract::InputBody(input): crate::extract::InputBody,
) -> ApiResult<Response> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    if let Some(id) = &q.instance_id {
        check_id(id)?;
    }
    let req = StartRequest {
        name,
        version: q.version,
        input,
        id: q.instance_id.clone(),
        correlation_id: q.correlation_id,
        definition: None,
        started_by: crate::auth::principal(caller.as_ref()),
    };
    let id = start_or_existing(&app, req).await?;
    let uris = ManagementUris::new(&base_url(&app, &headers), &id);
    let location = uris.status_query_get_uri.clone();
    Ok((StatusCode::ACCEPTED, [(LOCATION, location)], Json(uris)).into_response())
}

/// Query of a status read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Include the task history.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    show_history: bool,
}

/// An instance's status: 202 while it runs (or is suspended), 200 once it has ended.
#[utoipa::path(
    get, path = "/api/v1/instances/{id}", tag = "instances",
    params(("id" = String, Path, description = "Instance id"), StatusQuery),
    responses(
        (status = 200, description = "Ended", body = InstanceStatus),
        (status = 202, description = "Running or suspended", body = InstanceStatus),
        (status = 404, body = ApiError),
    )
)]
async fn status(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> ApiResult<Response> {
    // Checked on the instance read anyway: one read on this hot path (clients poll it).
    let may_read = |workflow: &str| access.check_workflow_instance(&id, workflow, Role::Read);
    if q.show_history {
        let instance = app.engine.instance(&id).await?.ok_or_else(|| unknown(&id))?;
        may_read(&instance.workflow_name)?;
        let code = if instance.status.is_terminal() { StatusCode::OK } else { StatusCode::ACCEPTED };
        return Ok((code, Json(InstanceStatus::of(&instance, true))).into_response());
    }
    // The hot path (clients polling a status): decode only the fields shown.
    let raw = app.engine.instance_rows().instance_json(&id).await?.ok_or_else(|| unknown(&id))?;
    let fields: StatusFields = serde_json::from_str(&raw).map_err(ApiError::internal)?;
    may_read(&fields.workflow_name)?;
    let code = if fields.ended() { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((code, Json(InstanceStatus::from(fields))).into_response())
}

/// Purges an ended instance and its history.
#[utoipa::path(
    delete, path = "/api/v1/instances/{id}", tag = "instances",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "Purged", body = PurgeResult),
        (status = 404, body = ApiError), (status = 409, description = "Still running", body = ApiError),
    )
)]
async fn purge(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PurgeResult>> {
    access.check_instance(&app, &id, Role::Write).await?;
    if !app.engine.purge(&id).await? {
        return Err(unknown(&id));
    }
    Ok(Json(PurgeResult { instances_deleted: 1 }))
}

/// Filter of a listing or bulk purge.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this workflow.
    name: Option<String>,
    /// Only this status (`Running`, `Suspended`, `Completed`, `Failed`, `TimedOut`, `Terminated`,
    /// or Conductor's names).
    #[param(
        pattern = "^(Running|Pending|Suspended|Completed|Failed|TimedOut|Terminated|Canceled|RUNNING|PAUSED|COMPLETED|FAILED|TIMED_OUT|TERMINATED)$"
    )]
    status: Option<String>,
    /// Only instances started with this correlation id.
    correlation_id: Option<String>,
    /// Only instances whose input, output, tasks or ids hold this text (ASCII case ignored).
    #[param(min_length = 1)]
    text: Option<String>,
    /// Created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// Created before this time (RFC 3339).
    #[param(format = DateTime)]
    created_to: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// From the previous page.
    #[param(pattern = r"^[0-9]+\..+$")]
    continuation_token: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> ApiResult<InstanceFilter> {
        let given = |v: &Option<String>| v.clone();
        let time = |field: &str, v: &Option<String>| -> ApiResult<Option<i64>> {
            given(v).map(|t| parse_until(&t).map_err(|e| ApiError::invalid(field, e))).transpose()
        };
        let status = match &given(&self.status) {
            Some(s) => Some(RuntimeStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!("unknown status `{s}` (Running, Suspended, Completed, Failed, TimedOut, Terminated)"),
                )
            })?),
            None => None,
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        let after = match &given(&self.continuation_token) {
            Some(token) => Some(
                parse_token(token)
                    .ok_or_else(|| ApiError::invalid("continuationToken", "not a token this API gave out"))?,
            ),
            None => None,
        };
        if self.text.as_deref() == Some("") {
            return Err(ApiError::invalid("text", "is empty"));
        }
        Ok(InstanceFilter {
            workflow_name: self.name.clone(),
            workflow_names: None,
            statuses: status.into_iter().collect(),
            id: None,
            correlation_id: self.correlation_id.clone(),
            text: self.text.clone(),
            created_from: time("createdFrom", &self.created_from)?,
            created_to: time("createdTo", &self.created_to)?,
            after,
            limit,
        })
    }
}

/// Lists instances, newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/instances", tag = "instances", params(ListQuery),
    responses((status = 200, body = InstancePage), (status = 400, body = ApiError))
)]
async fn list(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<InstancePage>> {
    let filter = InstanceFilter { workflow_names: access.readable_workflows(&app), ..q.filter()? };
    let rows = app.engine.search_instances(&filter).await?;
    let continuation_token = (rows.len() == filter.limit as usize)
        .then(|| rows.last().map(|r| format!("{}.{}", r.created_at, r.id)))
        .flatten();
    Ok(Json(InstancePage { instances: rows.iter().map(InstanceSummary::from).collect(), continuation_token }))
}

/// Filter of a bulk purge: `createdTo` is required, so a purge always says how old.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PurgeQuery {
    /// Purge instances created before this time (RFC 3339).
    #[param(format = DateTime)]
    created_to: String,
    /// And at or after this time (RFC 3339).
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// Only this workflow.
    name: Option<String>,
    /// Only this status (as in listing).
    #[param(
        pattern = "^(Running|Pending|Suspended|Completed|Failed|TimedOut|Terminated|Canceled|RUNNING|PAUSED|COMPLETED|FAILED|TIMED_OUT|TERMINATED)$"
    )]
    status: Option<String>,
}

/// Purges every ended instance created before `createdTo` that matches the other filters.
/// Running instances are never purged.
#[utoipa::path(
    delete, path = "/api/v1/instances", tag = "instances", params(PurgeQuery),
    responses((status = 200, body = PurgeResult), (status = 400, body = ApiError))
)]
async fn purge_matching(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<PurgeQuery>,
) -> ApiResult<Json<PurgeResult>> {
    let list = ListQuery {
        name: q.name,
        status: q.status,
        correlation_id: None,
        text: None,
        created_from: q.created_from,
        created_to: Some(q.created_to),
        limit: Some(MAX_PAGE),
        continuation_token: None,
    };
    let filter = InstanceFilter { workflow_names: access.writable_workflows(&app), ..list.filter()? };
    let mut deleted = 0;
    loop {
        let ids = app.engine.purge_matching(&filter).await?;
        deleted += ids.len();
        if ids.len() < MAX_PAGE as usize {
            break;
        }
    }
    Ok(Json(PurgeResult { instances_deleted: deleted }))
}

/// Raises an event: it completes the WAIT or HUMAN task waiting for it (a WAIT's `event` input, or
/// the task's reference name), or is kept until one waits. The body is the payload.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/events/{event}", tag = "instances",
    params(("id" = String, Path, description = "Instance id"), ("event" = String, Path, description = "Event name")),
    request_body(content = serde_json::Value, description = "Payload: the waiting task's output (any JSON)"),
    responses(
        (status = 202, description = "Accepted"),
        (status = 404, body = ApiError), (status = 410, description = "Already ended", body = ApiError),
    )
)]
async fn raise_event(
    State(app): State<AppState>,
    access: Access,
    ApiPath((id, event)): ApiPath<(String, String)>,
    JsonBody(payload): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    // The payload is the caller's data: what the instance does with it, the caller may do.
    app.engine.raise_event_by(&id, &event, payload, access.principal()).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Query of a terminate.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerminateQuery {
    /// Why (recorded on the instance).
    reason: Option<String>,
}

/// Terminates a running or suspended instance.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/terminate", tag = "instances",
    params(("id" = String, Path, description = "Instance id"), TerminateQuery),
    responses(
        (status = 202, description = "Accepted"),
        (status = 404, body = ApiError), (status = 410, description = "Already ended", body = ApiError),
    )
)]
async fn terminate(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TerminateQuery>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    let reason = q.reason.unwrap_or_else(|| "terminated through the API".into());
    app.engine.terminate(&id, &reason).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Suspends a running instance: calls in flight finish, nothing new starts until resumed.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/suspend", tag = "instances",
    params(("id" = String, Path, description = "Instance id")),
    responses((status = 202, description = "Accepted"), (status = 404, body = ApiError), (status = 410, body = ApiError))
)]
async fn suspend(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.suspend(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Resumes a suspended instance.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/resume", tag = "instances",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 409, description = "Not suspended", body = ApiError), (status = 410, body = ApiError),
    )
)]
async fn resume(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.resume(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Query of a restart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RestartQuery {
    /// Run on the latest definition instead of the version it ran.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    use_latest_definition: bool,
}

/// Runs an ended instance again from the start, with the same id and input.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/restart", tag = "instances",
    params(("id" = String, Path, description = "Instance id"), RestartQuery),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 409, description = "Still running", body = ApiError),
    )
)]
async fn restart(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RestartQuery>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.restart(&id, q.use_latest_definition).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Retries a failed, timed-out or terminated instance from the tasks that did not complete.
#[utoipa::path(
    post, path = "/api/v1/instances/{id}/retry", tag = "instances",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 202, description = "Accepted"), (status = 404, body = ApiError),
        (status = 409, description = "Running or completed", body = ApiError),
    )
)]
async fn retry(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.retry(&id).await?;
    Ok(StatusCode::ACCEPTED)
}
