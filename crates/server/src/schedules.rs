//! `/api/v1/schedules`: list with next fire times, get, put, delete, pause, resume and run now.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::schedule::ScheduleDef;
use vigil_core::team::ObjectKind;
use vigil_core::time::{Millis, format_millis};

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::operations::schedules::{find, pause_or_resume, remove, run_now_id, save};

/// Next fire times shown per schedule.
const NEXT_FIRES: usize = 5;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, put, delete))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(run_now))
}

fn view(def: &ScheduleDef, next: Option<Millis>) -> Value {
    let fires: Vec<String> = def.fires_from(next, NEXT_FIRES).into_iter().map(format_millis).collect();
    json!({
        "name": def.name, "cronExpression": def.cron_expression, "zoneId": def.zone_id,
        "workflow": def.start.name, "paused": def.paused, "nextFireTimes": fires,
    })
}

/// Schedules by name, each with its next fire times.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "definitions", params(crate::definitions::Page), responses((status = 200, body = crate::definitions::ItemPage)))]
async fn list(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(page): ApiQuery<crate::definitions::Page>,
) -> ApiResult<Json<crate::definitions::ItemPage>> {
    let schedules = app.engine.schedules().await.into_iter();
    let seen = schedules.filter(|(d, _)| access.sees(ObjectKind::Schedules, &d.name));
    let items = seen.map(|(d, next)| (d.name.clone(), view(&d, next))).collect();
    Ok(Json(page.apply(items)?))
}

/// One schedule with its next fire times.
#[utoipa::path(
    get, path = "/api/v1/schedules/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Schedules, &name, Role::Read)?;
    let (def, next) = find(&app, &name).await?;
    Ok(Json(view(&def, next)))
}

/// Defines (or replaces) a schedule (Conductor's schedule JSON: `cronExpression`, `zoneId`,
/// `startWorkflowRequest`, ...); it fires from now on.
#[utoipa::path(
    put, path = "/api/v1/schedules/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name; must match the body's `name`")),
    request_body(content = Object, description = "A schedule"),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 409, description = "No scheduler runs", body = ApiError))
)]
async fn put(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    JsonBody(mut doc): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    crate::extract::named_body(&mut doc, &name, "schedule")?;
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    // What it starts is started with its definer's rights: they must start that workflow.
    if let Some(workflow) = doc.pointer("/startWorkflowRequest/name").and_then(Value::as_str) {
        access.check(ObjectKind::Workflows, workflow, Role::Write)?;
    }
    let def = save(&app, doc, &crate::auth::principal(caller.as_ref())).await?;
    Ok(Json(view(&def, if def.paused { None } else { def.next_after(app.engine.now()) })))
}

/// Removes a schedule; instances it started are not touched.
#[utoipa::path(
    delete, path = "/api/v1/schedules/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 204, description = "Removed"), (status = 404, body = ApiError))
)]
async fn delete(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    remove(&app, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses a schedule: no fires until resumed.
#[utoipa::path(
    post, path = "/api/v1/schedules/{name}/pause", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn pause(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    set_paused(&app, &name, true).await
}

/// Resumes a paused schedule from now (missed fires are not run).
#[utoipa::path(
    post, path = "/api/v1/schedules/{name}/resume", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn resume(State(app): State<AppState>, access: Access, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    set_paused(&app, &name, false).await
}

async fn set_paused(app: &AppState, name: &str, paused: bool) -> ApiResult<Json<Value>> {
    pause_or_resume(app, name, paused).await?;
    let (def, next) = find(app, name).await?;
    Ok(Json(view(&def, next)))
}

/// Starts the schedule's workflow now, outside its fire times, with the schedule's input.
#[utoipa::path(
    post, path = "/api/v1/schedules/{name}/run", tag = "definitions",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 202, description = "Started", body = crate::views::ManagementUris), (status = 404, body = ApiError))
)]
async fn run_now(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<crate::views::ManagementUris>)> {
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    let id = run_now_id(&app, &name, &crate::auth::principal(caller.as_ref())).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::views::ManagementUris::new(&crate::operations::instances::base_url(&app, &headers), &id)),
    ))
}
