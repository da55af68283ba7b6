//! The worker protocol: long-polled `GET /api/tasks/poll[/batch]/{taskType}`, results through
//! `POST /api/tasks` (or `/api/tasks/update-v2`, which also hands out the worker's next task),
//! task logs, and queue sizes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_runtime::workers::{TaskLog, WorkerStatus, split_global_id};

use super::model;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody};

/// Longest long poll.
const MAX_WAIT_MS: u64 = 30_000;
/// Most tasks in one batch poll.
const MAX_BATCH: usize = 100;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(poll))
        .routes(routes!(batch_poll))
        .routes(routes!(update))
        .routes(routes!(update_v2))
        .routes(routes!(get_task))
        .routes(routes!(add_log, get_log))
        .routes(routes!(queue_sizes))
}

/// Query of a poll.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// The worker's id (recorded on the task).
    workerid: Option<String>,
    /// Task domain (accepted; vigil has one domain).
    domain: Option<String>,
    /// How many tasks at most (batch poll; 1 to 100, default 1).
    #[param(minimum = 1, maximum = 100)]
    count: Option<usize>,
    /// How long to wait for a task, in ms (long poll; default 100, at most 30000).
    #[param(maximum = 30000)]
    timeout: Option<u64>,
}

impl PollQuery {
    fn check(&self) -> ApiResult<()> {
        if self.timeout.is_some_and(|t| t > MAX_WAIT_MS) {
            return Err(ApiError::invalid("timeout", format!("at most {MAX_WAIT_MS} ms")));
        }
        if self.count.is_some_and(|c| !(1..=MAX_BATCH).contains(&c)) {
            return Err(ApiError::invalid("count", format!("1 to {MAX_BATCH}")));
        }
        Ok(())
    }

    fn wait(&self) -> Duration {
        Duration::from_millis(self.timeout.unwrap_or(100).min(MAX_WAIT_MS))
    }

    fn worker(&self) -> &str {
        let _ = &self.domain;
        self.workerid.as_deref().unwrap_or("unknown")
    }
}

/// One task of `taskType` for a worker, waiting up to `timeout` ms; 204 when none came.
#[utoipa::path(
    get, path = "/api/tasks/poll/{taskType}", tag = "conductor",
    params(("taskType" = String, Path, description = "Task type (the SIMPLE task's name)"), PollQuery),
    responses((status = 200, description = "A task", body = Object), (status = 204, description = "No task"))
)]
async fn poll(
    State(app): State<AppState>,
    ApiPath(task_type): ApiPath<String>,
    ApiQuery(q): ApiQuery<PollQuery>,
) -> ApiResult<Response> {
    q.check()?;
    let mut got = app.engine.work_queue().poll(&task_type, 1, q.wait(), q.worker()).await;
    Ok(match got.pop() {
        Some(task) => Json(model::polled(&task)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Up to `count` tasks of `taskType`, waiting up to `timeout` ms for the first.
#[utoipa::path(
    get, path = "/api/tasks/poll/batch/{taskType}", tag = "conductor",
    params(("taskType" = String, Path, description = "Task type (the SIMPLE task's name)"), PollQuery),
    responses((status = 200, description = "Tasks (maybe none)", body = Vec<Object>))
)]
async fn batch_poll(
    State(app): State<AppState>,
    ApiPath(task_type): ApiPath<String>,
    ApiQuery(q): ApiQuery<PollQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    q.check()?;
    let got = app.engine.work_queue().poll(&task_type, q.count.unwrap_or(1), q.wait(), q.worker()).await;
    Ok(Json(got.iter().map(model::polled).collect()))
}

/// A log line in a TaskResult.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// The line.
    log: String,
    /// When, in epoch ms or s.
    created_time: Option<i64>,
}

/// Conductor's TaskResult.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResultBody {
    /// The instance.
    workflow_instance_id: Option<String>,
    /// The task id from the poll.
    task_id: String,
    /// `COMPLETED`, `FAILED`, `FAILED_WITH_TERMINAL_ERROR` or `IN_PROGRESS`.
    status: String,
    /// Output.
    #[serde(default)]
    #[schema(value_type = Object)]
    output_data: Value,
    /// Why it failed.
    reason_for_incompletion: Option<String>,
    /// With IN_PROGRESS: offer the task again after this many seconds.
    callback_after_seconds: Option<u64>,
    /// Log lines.
    #[serde(default)]
    logs: Vec<LogLine>,
}

/// Applies a result; returns the task id and, for a SIMPLE task, its type.
async fn apply(app: &AppState, r: TaskResultBody) -> ApiResult<(String, Option<String>)> {
    let (instance, task) = split_global_id(&r.task_id)
        .map(|(i, t)| (i.to_string(), t.to_string()))
        .ok_or_else(|| ApiError::invalid("taskId", "not a task id this server handed out"))?;
    if r.workflow_instance_id.as_deref().is_some_and(|w| w != instance) {
        return Err(ApiError::invalid("workflowInstanceId", "does not match the task id"));
    }
    let status = match r.status.as_str() {
        "COMPLETED" => WorkerStatus::Completed,
        "FAILED" => WorkerStatus::Failed,
        "FAILED_WITH_TERMINAL_ERROR" => WorkerStatus::FailedWithTerminalError,
        "IN_PROGRESS" => WorkerStatus::InProgress,
        other => {
            return Err(ApiError::invalid(
                "status",
                format!("`{other}` is not COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS"),
            ));
        }
    };
    let now = app.engine.now();
    let lines = r.logs.into_iter().map(|l| TaskLog {
        log: l.log,
        // The Python SDK sends seconds, Conductor's Java client milliseconds.
        created_time: l.created_time.map(|t| if t < 100_000_000_000 { t * 1000 } else { t }).unwrap_or(now),
    });
    app.engine.work_queue().add_logs(&r.task_id, lines);
    let output = if r.output_data.is_null() { json!({}) } else { r.output_data };
    let task_type = app
        .engine
        .report_task(&instance, &task, status, output, r.reason_for_incompletion, r.callback_after_seconds)
        .await?;
    Ok((r.task_id, task_type))
}

/// Reports a task's result; answers the task id as text once it is committed.
#[utoipa::path(
    post, path = "/api/tasks", tag = "conductor", request_body = TaskResultBody,
    responses(
        (status = 200, description = "The task id", body = String, content_type = "text/plain"),
        (status = 404, body = ApiError), (status = 409, description = "The task is not in progress", body = ApiError),
    )
)]
async fn update(State(app): State<AppState>, JsonBody(r): JsonBody<TaskResultBody>) -> ApiResult<Response> {
    let (task_id, _) = apply(&app, r).await?;
    Ok(([(CONTENT_TYPE, "text/plain")], task_id).into_response())
}

/// Query of update-v2.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// The worker's id.
    workerid: Option<String>,
}

/// Reports a task's result and hands the worker its next task of the same type, if one is
/// waiting (204 when none): one round trip per task.
#[utoipa::path(
    post, path = "/api/tasks/update-v2", tag = "conductor", params(NextQuery), request_body = TaskResultBody,
    responses(
        (status = 200, description = "The next task", body = Object), (status = 204, description = "No next task"),
        (status = 404, body = ApiError), (status = 409, body = ApiError),
    )
)]
async fn update_v2(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<NextQuery>,
    JsonBody(r): JsonBody<TaskResultBody>,
) -> ApiResult<Response> {
    // The type comes from the queue entry the result removed: no store read on this hot path.
    let (_, task_type) = apply(&app, r).await?;
    let Some(task_type) = task_type else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let worker = q.workerid.as_deref().unwrap_or("unknown");
    let mut next = app.engine.work_queue().poll(&task_type, 1, Duration::ZERO, worker).await;
    Ok(match next.pop() {
        Some(task) => Json(model::polled(&task)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// One task by id.
#[utoipa::path(
    get, path = "/api/tasks/{taskId}", tag = "conductor",
    params(("taskId" = String, Path, description = "Task id")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_task(State(app): State<AppState>, ApiPath(task_id): ApiPath<String>) -> ApiResult<Json<Value>> {
    let (instance, at) = find_task(&app, &task_id).await?;
    let workflows = app.engine.workflows();
    let def = workflows.for_instance(&instance);
    Ok(Json(model::task(&instance, at, &model::TaskNames::of(def.as_deref(), &instance))))
}

/// The instance holding worker-visible task `task_id` and the task's index; 404 when either is
/// unknown.
async fn find_task(app: &AppState, task_id: &str) -> ApiResult<(vigil_core::instance::Instance, usize)> {
    let missing = || ApiError::not_found(format!("task `{task_id}` does not exist"));
    let (instance_id, exec_id) = split_global_id(task_id).ok_or_else(missing)?;
    let instance = app.engine.instance(instance_id).await?.ok_or_else(missing)?;
    let at = instance.tasks.iter().position(|t| t.task_id == exec_id).ok_or_else(missing)?;
    Ok((instance, at))
}

/// Adds a log line to a task (the body is the line, as a JSON string or plain text).
#[utoipa::path(
    post, path = "/api/tasks/{taskId}/log", tag = "conductor",
    params(("taskId" = String, Path, description = "Task id")),
    request_body(content = String, description = "The log line"),
    responses((status = 200, description = "Added"), (status = 404, description = "No such task", body = ApiError))
)]
async fn add_log(
    State(app): State<AppState>,
    ApiPath(task_id): ApiPath<String>,
    body: String,
) -> ApiResult<StatusCode> {
    find_task(&app, &task_id).await?;
    let line = serde_json::from_str::<String>(&body).unwrap_or(body);
    if line.is_empty() {
        return Err(ApiError::invalid("body", "the log line is empty"));
    }
    let now = app.engine.now();
    app.engine.work_queue().add_logs(&task_id, [TaskLog { log: line, created_time: now }]);
    Ok(StatusCode::OK)
}

/// A task's log lines (kept in memory, the last 200 per task).
#[utoipa::path(
    get, path = "/api/tasks/{taskId}/log", tag = "conductor",
    params(("taskId" = String, Path, description = "Task id")),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ApiError))
)]
async fn get_log(State(app): State<AppState>, ApiPath(task_id): ApiPath<String>) -> ApiResult<Json<Vec<Value>>> {
    let logs = app.engine.work_queue().logs(&task_id);
    if logs.is_empty() {
        // No lines: a task without any, or no such task (a 404, not an empty list).
        let (instance, exec) = vigil_runtime::workers::split_global_id(&task_id)
            .ok_or_else(|| ApiError::not_found(format!("no task `{task_id}`")))?;
        let found = app.engine.instance_rows().instance(instance).await.map_err(ApiError::from)?;
        if !found.is_some_and(|i| i.tasks.iter().any(|t| t.task_id == exec)) {
            return Err(ApiError::not_found(format!("no task `{task_id}`")));
        }
    }
    Ok(Json(
        logs.into_iter().map(|l| json!({"log": l.log, "taskId": task_id, "createdTime": l.created_time})).collect(),
    ))
}

/// How many tasks of each type wait for a worker.
#[utoipa::path(get, path = "/api/tasks/queue/sizes", tag = "conductor", responses((status = 200, body = Object)))]
async fn queue_sizes(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.engine.work_queue().sizes().await))
}
