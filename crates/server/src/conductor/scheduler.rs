//! Orkes' scheduler API under `/api/scheduler`, as conductor-oss's `SchedulerResource` serves it
//! (`scheduler/core/src/main/java/io/orkes/conductor/scheduler/rest/SchedulerResource.java`), over
//! the same schedules as `/api/v1/schedules`: save, get (200 with `null` when unknown, as there),
//! list (by workflow), delete, pause, resume and the next few fire times of a cron expression.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::schedule::{ScheduleDef, parse_cron};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::operations::schedules::{find, pause_or_resume, remove, save};

/// Most fire times one preview returns.
const MAX_PREVIEW: usize = 1_000;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(save_schedule, all_schedules))
        .routes(routes!(get_schedule, delete_schedule))
        .routes(routes!(pause_schedule))
        .routes(routes!(resume_schedule))
        .routes(routes!(next_few_schedules))
}

/// A schedule as Orkes' `WorkflowSchedule`.
fn workflow_schedule(d: &ScheduleDef) -> Value {
    json!({
        "name": d.name,
        "cronExpression": d.cron_expression,
        "zoneId": d.zone_id,
        "paused": d.paused,
        "runCatchupScheduleInstances": d.catch_up,
        "scheduleStartTime": d.start_time,
        "scheduleEndTime": d.end_time,
        "startWorkflowRequest": {
            "name": d.start.name, "version": d.start.version, "input": d.start.input,
            "correlationId": d.start.correlation_id,
        },
    })
}

/// Creates or replaces a schedule (`SaveScheduleRequest`); answers the schedule.
#[utoipa::path(
    post, path = "/api/scheduler/schedules", tag = "conductor",
    request_body(content = Object, description = "Orkes' SaveScheduleRequest"),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 409, body = ApiError))
)]
async fn save_schedule(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    JsonBody(doc): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    if !doc.is_object() {
        return Err(ApiError::invalid("body", "a schedule is a JSON object"));
    }
    let def = save(&app, doc, &crate::auth::principal(caller.as_ref())).await?;
    Ok(Json(workflow_schedule(&def)))
}

/// Query of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AllQuery {
    /// Only the schedules that start this workflow.
    workflow_name: Option<String>,
}

/// Every schedule, or those of one workflow, by name.
#[utoipa::path(
    get, path = "/api/scheduler/schedules", tag = "conductor", params(AllQuery),
    responses((status = 200, body = Vec<Object>))
)]
async fn all_schedules(State(app): State<AppState>, ApiQuery(q): ApiQuery<AllQuery>) -> Json<Vec<Value>> {
    let mut defs: Vec<ScheduleDef> = app.engine.schedules().await.into_iter().map(|(d, _)| d).collect();
    defs.sort_by(|a, b| a.name.cmp(&b.name));
    let wanted = q.workflow_name.filter(|w| !w.trim().is_empty());
    Json(defs.iter().filter(|d| wanted.as_ref().is_none_or(|w| &d.start.name == w)).map(workflow_schedule).collect())
}

/// One schedule; `null` when there is none by that name (conductor-oss answers so).
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}", tag = "conductor",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, description = "The schedule, or null", body = serde_json::Value))
)]
async fn get_schedule(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> Json<Value> {
    Json(find(&app, &name).await.map(|(d, _)| workflow_schedule(&d)).unwrap_or(Value::Null))
}

/// Deletes a schedule.
#[utoipa::path(
    delete, path = "/api/scheduler/schedules/{name}", tag = "conductor",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, description = "Deleted"), (status = 404, body = ApiError))
)]
async fn delete_schedule(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    remove(&app, &name).await?;
    Ok(StatusCode::OK)
}

/// Query of a pause.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PauseQuery {
    /// Why (accepted; not kept).
    reason: Option<String>,
}

/// Pauses a schedule.
#[utoipa::path(
    put, path = "/api/scheduler/schedules/{name}/pause", tag = "conductor",
    params(("name" = String, Path, description = "Schedule name"), PauseQuery),
    responses((status = 200, description = "Paused"), (status = 404, body = ApiError))
)]
async fn pause_schedule(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<PauseQuery>,
) -> ApiResult<StatusCode> {
    let _ = q.reason;
    pause_or_resume(&app, &name, true).await?;
    Ok(StatusCode::OK)
}

/// Resumes a paused schedule from now.
#[utoipa::path(
    put, path = "/api/scheduler/schedules/{name}/resume", tag = "conductor",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, description = "Resumed"), (status = 404, body = ApiError))
)]
async fn resume_schedule(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    pause_or_resume(&app, &name, false).await?;
    Ok(StatusCode::OK)
}

/// Query of a preview.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// The cron expression (UTC), in any form Spring's `CronExpression` takes.
    cron_expression: String,
    /// From this time (epoch ms; now when absent).
    schedule_start_time: Option<i64>,
    /// Until this time (epoch ms).
    schedule_end_time: Option<i64>,
    /// How many (default 5).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// The next fire times of a cron expression, epoch milliseconds, UTC.
#[utoipa::path(
    get, path = "/api/scheduler/nextFewSchedules", tag = "conductor", params(NextQuery),
    responses((status = 200, body = Vec<i64>), (status = 400, body = ApiError))
)]
async fn next_few_schedules(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<NextQuery>,
) -> ApiResult<Json<Vec<i64>>> {
    let limit = q.limit.unwrap_or(5);
    if !(1..=MAX_PREVIEW).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be 1 to {MAX_PREVIEW}")));
    }
    let cron = parse_cron(&q.cron_expression).map_err(|e| ApiError::invalid("cronExpression", e))?;
    let from = q.schedule_start_time.unwrap_or_else(|| app.engine.now());
    let out = cron.fires_utc(from, q.schedule_end_time, limit);
    Ok(Json(out))
}
