//! `/api/workflow`: start, read, control and search instances the Conductor way.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::instance::WorkflowStatus;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::StartRequest;
use vigil_store::InstanceFilter;

use super::model;
use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_request))
        .routes(routes!(start_by_name, get, terminate))
        .routes(routes!(remove))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(restart))
        .routes(routes!(retry))
        .routes(routes!(reset_callbacks))
        .routes(routes!(rerun))
        .routes(routes!(skip_task))
        .routes(routes!(search))
}

fn text(id: String) -> Response {
    ([(CONTENT_TYPE, "text/plain")], id).into_response()
}

/// Conductor's StartWorkflowRequest.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Workflow name (the definition's, with `workflowDef`).
    #[serde(default)]
    name: String,
    /// Version; the latest when absent.
    version: Option<u32>,
    /// Input.
    #[serde(default)]
    #[schema(value_type = Object)]
    input: Value,
    /// Correlation id.
    correlation_id: Option<String>,
    /// The workflow's definition, run by this instance instead of a registered one (nothing is
    /// registered); `name` and `version` are then the definition's.
    #[schema(value_type = Option<Object>)]
    workflow_def: Option<Value>,
}

/// Starts a workflow from a StartWorkflowRequest; answers the instance id as text.
#[utoipa::path(
    post, path = "/api/workflow", tag = "conductor", request_body = StartWorkflowRequest,
    responses((status = 200, description = "The instance id", body = String, content_type = "text/plain"), (status = 404, body = ApiError))
)]
async fn start_request(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    JsonBody(req): JsonBody<StartWorkflowRequest>,
) -> ApiResult<Response> {
    let definition = req.workflow_def.filter(|d| !d.is_null());
    let name = definition.as_ref().and_then(|d| d["name"].as_str()).map_or(req.name, str::to_string);
    if name.is_empty() && definition.is_none() {
        let message = "invalid JSON body: missing field `name` (or a `workflowDef` to run)";
        return Err(ApiError::new(crate::error::ErrorCode::InvalidRequest, message));
    }
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    let start = StartRequest {
        name,
        version: req.version,
        input: object_or_empty(req.input),
        id: None,
        correlation_id: req.correlation_id,
        definition,
        started_by: crate::auth::principal(caller.as_ref()),
    };
    Ok(text(app.engine.start_durable(start).await?))
}

/// Query of a start by name.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// Version; the latest when absent.
    version: Option<u32>,
    /// Correlation id.
    correlation_id: Option<String>,
}

/// Starts workflow `{id}` (here: its name) with the body as input; answers the instance id.
#[utoipa::path(
    post, path = "/api/workflow/{id}", tag = "conductor",
    params(("id" = String, Path, description = "Workflow name"), StartQuery),
    request_body(content = serde_json::Value, description = "Input (any JSON)"),
    responses((status = 200, description = "The instance id", body = String, content_type = "text/plain"), (status = 404, body = ApiError))
)]
async fn start_by_name(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<StartQuery>,
    JsonBody(input): JsonBody<Value>,
) -> ApiResult<Response> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    let start = StartRequest {
        name,
        version: q.version,
        input: object_or_empty(input),
        id: None,
        correlation_id: q.correlation_id,
        definition: None,
        started_by: crate::auth::principal(caller.as_ref()),
    };
    Ok(text(app.engine.start_durable(start).await?))
}

fn object_or_empty(input: Value) -> Value {
    if input.is_null() { Value::Object(Map::new()) } else { input }
}

/// Query of a read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// Include the task executions (default true).
    #[serde(default, deserialize_with = "crate::extract::lenient_opt_bool")]
    include_tasks: Option<bool>,
}

/// One instance as Conductor's Workflow.
#[utoipa::path(
    get, path = "/api/workflow/{id}", tag = "conductor",
    params(("id" = String, Path, description = "Instance id"), GetQuery),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<GetQuery>,
) -> ApiResult<Json<Value>> {
    let missing = || ApiError::not_found(format!("workflow `{id}` does not exist"));
    let instance = app.engine.instance(&id).await?.ok_or_else(missing)?;
    access.check_workflow_instance(&id, &instance.workflow_name, Role::Read).map_err(|_| missing())?;
    let workflows = app.engine.workflows();
    let def = workflows.for_instance(&instance);
    let names = model::TaskNames::of(def.as_deref(), &instance);
    Ok(Json(model::workflow(&instance, q.include_tasks.unwrap_or(true), &names)))
}

/// Query of a terminate.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why.
    reason: Option<String>,
}

/// Terminates an instance.
#[utoipa::path(
    delete, path = "/api/workflow/{id}", tag = "conductor",
    params(("id" = String, Path, description = "Instance id"), ReasonQuery),
    responses((status = 200, description = "Terminated"), (status = 404, body = ApiError), (status = 410, body = ApiError))
)]
async fn terminate(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.terminate(&id, q.reason.as_deref().unwrap_or("terminated through the Conductor API")).await?;
    settle(&app, &id, None, WorkflowStatus::is_terminal).await;
    Ok(StatusCode::OK)
}

/// Removes an ended instance.
#[utoipa::path(
    delete, path = "/api/workflow/{id}/remove", tag = "conductor",
    params(("id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Removed"), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn remove(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    if !app.engine.purge(&id).await? {
        return Err(ApiError::not_found(format!("workflow `{id}` does not exist")));
    }
    Ok(StatusCode::OK)
}

/// Pauses an instance.
#[utoipa::path(
    put, path = "/api/workflow/{id}/pause", tag = "conductor",
    params(("id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Paused"), (status = 404, body = ApiError), (status = 410, body = ApiError))
)]
async fn pause(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.suspend(&id).await?;
    settle(&app, &id, None, |s| s == WorkflowStatus::Paused || s.is_terminal()).await;
    Ok(StatusCode::OK)
}

/// Resumes a paused instance.
#[utoipa::path(
    put, path = "/api/workflow/{id}/resume", tag = "conductor",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "Resumed"), (status = 404, body = ApiError), (status = 409, body = ApiError),
        (status = 410, body = ApiError),
    )
)]
async fn resume(State(app): State<AppState>, access: Access, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    app.engine.resume(&id).await?;
    settle(&app, &id, None, |s| s != WorkflowStatus::Paused).await;
    Ok(StatusCode::OK)
}

/// Offers at once the worker tasks of an instance that wait out a worker's
/// `callbackAfterSeconds`.
#[utoipa::path(
    post, path = "/api/workflow/{id}/resetcallbacks", tag = "conductor",
    params(("id" = String, Path, description = "Instance id")),
    responses((status = 204, description = "Reset"), (status = 404, body = ApiError), (status = 410, body = ApiError))
)]
async fn reset_callbacks(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    let before = updated(&app, &id).await;
    app.engine.reset_callbacks(&id).await?;
    settle(&app, &id, before, |_| false).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Conductor's RerunWorkflowRequest.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RerunWorkflowRequest {
    /// The instance (the path's, when given).
    re_run_from_workflow_id: Option<String>,
    /// The task to rerun from (`<instance>~<execution>`, of the instance or a sub-workflow);
    /// from the start when absent.
    re_run_from_task_id: Option<String>,
    /// The task's new input.
    #[schema(value_type = Option<Object>)]
    task_input: Option<Value>,
    /// The workflow's new input.
    #[schema(value_type = Option<Object>)]
    workflow_input: Option<Value>,
    /// A new correlation id.
    correlation_id: Option<String>,
}

/// Reruns an ended instance from a task (or from the start); answers its id as text.
#[utoipa::path(
    post, path = "/api/workflow/{id}/rerun", tag = "conductor", request_body = RerunWorkflowRequest,
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "The instance id", body = String, content_type = "text/plain"),
        (status = 404, body = ApiError), (status = 409, body = ApiError),
    )
)]
async fn rerun(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<Option<RerunWorkflowRequest>>,
) -> ApiResult<Response> {
    access.check_instance(&app, &id, Role::Write).await?;
    let body = body.unwrap_or_default();
    if body.re_run_from_workflow_id.as_ref().is_some_and(|given| *given != id) {
        let message = "`reRunFromWorkflowId` is not the instance in the path";
        return Err(ApiError::new(crate::error::ErrorCode::InvalidRequest, message));
    }
    let before = updated(&app, &id).await;
    let task = body.re_run_from_task_id.as_deref();
    app.engine.rerun(&id, task, body.task_input, body.workflow_input, body.correlation_id).await?;
    settle(&app, &id, before, |s| !s.is_terminal()).await;
    Ok(text(id))
}

/// Conductor's SkipTaskRequest.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkipTaskRequest {
    /// Input recorded on the skipped task.
    #[serde(default)]
    #[schema(value_type = Object)]
    task_input: Value,
    /// Output recorded on the skipped task, which later tasks read.
    #[serde(default)]
    #[schema(value_type = Object)]
    task_output: Value,
}

/// Marks a task of a running instance SKIPPED before it is reached.
#[utoipa::path(
    put, path = "/api/workflow/{id}/skiptask/{taskReferenceName}", tag = "conductor",
    request_body(content = Option<SkipTaskRequest>, description = "Input and output to record"),
    params(("id" = String, Path, description = "Instance id"), ("taskReferenceName" = String, Path, description = "The task to skip")),
    responses((status = 204, description = "Skipped"), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn skip_task(
    State(app): State<AppState>,
    access: Access,
    ApiPath((id, reference)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<Option<SkipTaskRequest>>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    let body = body.unwrap_or_default();
    let before = updated(&app, &id).await;
    app.engine.skip_task(&id, &reference, body.task_input, body.task_output).await?;
    settle(&app, &id, before, |_| false).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of a restart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RestartQuery {
    /// Run on the latest definition.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    use_latest_definitions: bool,
}

/// Runs an ended instance again from the start.
#[utoipa::path(
    post, path = "/api/workflow/{id}/restart", tag = "conductor",
    params(("id" = String, Path, description = "Instance id"), RestartQuery),
    responses((status = 200, description = "Restarted"), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn restart(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RestartQuery>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    let before = updated(&app, &id).await;
    app.engine.restart(&id, q.use_latest_definitions).await?;
    settle(&app, &id, before, |s| !s.is_terminal()).await;
    Ok(StatusCode::OK)
}

/// Query of a retry.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RetryQuery {
    /// Retry the failed sub-workflow (the deepest) instead of starting a new one.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    resume_subworkflow_tasks: bool,
}

/// Retries an instance from the tasks that did not complete.
#[utoipa::path(
    post, path = "/api/workflow/{id}/retry", tag = "conductor",
    params(("id" = String, Path, description = "Instance id"), RetryQuery),
    responses((status = 200, description = "Retried"), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn retry(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RetryQuery>,
) -> ApiResult<StatusCode> {
    access.check_instance(&app, &id, Role::Write).await?;
    let before = updated(&app, &id).await;
    if q.resume_subworkflow_tasks {
        app.engine.retry_resuming(&id).await?;
    } else {
        app.engine.retry(&id).await?;
    }
    settle(&app, &id, before, |s| !s.is_terminal()).await;
    Ok(StatusCode::OK)
}

/// Query of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Offset.
    #[param(minimum = 0)]
    start: Option<i32>,
    /// Page size, at most 1000 (default 100).
    #[param(maximum = 1000)]
    size: Option<u32>,
    /// Clauses joined by `AND`: `workflowType = NAME`, `status = S` or `status IN (S1, S2)`,
    /// `correlationId = ID`, `workflowId = ID`, `startTime > MS` (also `>=`, `<`, `<=`; epoch
    /// milliseconds or RFC 3339).
    query: Option<String>,
    /// Text the instance's input, output, tasks or ids hold (ASCII case ignored); `*` or empty
    /// for any.
    #[serde(rename = "freeText")]
    free_text: Option<String>,
}

/// Searches instances, newest first: Conductor's SearchResult of WorkflowSummary.
#[utoipa::path(
    get, path = "/api/workflow/search", tag = "conductor", params(SearchQuery),
    responses((status = 200, body = Object), (status = 400, body = ApiError))
)]
async fn search(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Value>> {
    let start = u32::try_from(q.start.unwrap_or(0)).map_err(|_| ApiError::invalid("start", "must not be negative"))?;
    let size = q.size.unwrap_or(100);
    if size > 1_000 {
        return Err(ApiError::invalid("size", "at most 1000"));
    }
    let workflow_names = access.readable_workflows(&app);
    let mut filter = InstanceFilter { limit: (start + size).max(1), workflow_names, ..Default::default() };
    super::search::apply(q.query.as_deref().unwrap_or_default(), q.free_text.as_deref(), &mut filter)?;
    let rows = app.engine.instance_rows().list_instances(&filter).await?;
    let results: Vec<Value> = rows
        .iter()
        .skip(start as usize)
        .map(|r| {
            json!({
                "workflowId": r.id, "workflowType": r.workflow_name, "version": r.workflow_version,
                "status": r.status.as_str(), "startTime": r.created_at, "updateTime": r.updated_at,
                "correlationId": r.correlation_id,
            })
        })
        .collect();
    Ok(Json(json!({"totalHits": rows.len(), "results": results})))
}

/// Longest a Conductor control call waits for its effect.
const SETTLE_WITHIN: Duration = Duration::from_secs(2);

/// When `id` was last stored.
async fn updated(app: &AppState, id: &str) -> Option<i64> {
    app.engine.instance(id).await.ok().flatten().map(|i| i.update_time)
}

/// Waits (at most [`SETTLE_WITHIN`]) until `id`'s stored status satisfies `done`, or it was
/// stored again after `before`: Conductor's pause, resume, terminate, restart and retry answer
/// once the workflow has changed, and its clients read the status right after, where vigil's
/// engine applies them asynchronously. An instance whose definition is not loaded takes the
/// change when it is, so the call does not wait for it.
async fn settle(app: &AppState, id: &str, before: Option<i64>, done: impl Fn(WorkflowStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + SETTLE_WITHIN;
    while tokio::time::Instant::now() < deadline {
        match app.engine.instance(id).await {
            // An instance whose definition is gone waits for it, and so does the request.
            Ok(Some(i)) if !app.engine.workflows().knows(&i) => return,
            Ok(Some(i)) if !done(i.status) && before.is_none_or(|b| i.update_time <= b) => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            _ => return,
        }
    }
    tracing::warn!(instance = %id, "A Conductor control call did not see its effect within {SETTLE_WITHIN:?}.");
}
