//! `/api/metadata/workflow` and `/api/metadata/taskdefs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::definitions::DefinitionError;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workflow, update_workflows, list_workflows))
        .routes(routes!(get_workflow))
        .routes(routes!(delete_workflow))
        .routes(routes!(create_task_defs, update_task_def, list_task_defs))
        .routes(routes!(get_task_def, delete_task_def))
}

pub(super) fn definition_error(e: DefinitionError) -> ApiError {
    match e {
        DefinitionError::Invalid(_) => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
        DefinitionError::Exists { .. } => ApiError::new(ErrorCode::Conflict, e.to_string()),
        DefinitionError::Store(cause) => ApiError::internal(cause),
    }
}

/// Query of a workflow registration.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverwriteQuery {
    /// Replace an existing definition with the same name and version.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    overwrite: bool,
}

/// Registers a workflow definition (Conductor's WorkflowDef JSON).
#[utoipa::path(
    post, path = "/api/metadata/workflow", tag = "conductor", params(OverwriteQuery),
    request_body(content = Object, description = "A Conductor WorkflowDef"),
    responses((status = 200, description = "Registered"), (status = 409, description = "Exists", body = ApiError))
)]
async fn create_workflow(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiQuery(q): ApiQuery<OverwriteQuery>,
    JsonBody(def): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    check_definition(&access, &def)?;
    app.engine
        .definitions()
        .put_workflow(def, q.overwrite, &crate::auth::principal(caller.as_ref()))
        .await
        .map_err(definition_error)?;
    Ok(StatusCode::OK)
}

/// Creates or updates workflow definitions (a list), all or none.
#[utoipa::path(
    put, path = "/api/metadata/workflow", tag = "conductor",
    request_body(content = Vec<Object>, description = "Conductor WorkflowDefs"),
    responses((status = 200, description = "Registered"))
)]
async fn update_workflows(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    JsonBody(defs): JsonBody<Vec<Value>>,
) -> ApiResult<StatusCode> {
    for def in &defs {
        check_definition(&access, def)?;
    }
    app.engine
        .definitions()
        .put_workflows(defs, true, true, &crate::auth::principal(caller.as_ref()))
        .await
        .map_err(definition_error)?;
    Ok(StatusCode::OK)
}

/// Every workflow definition, all versions.
#[utoipa::path(get, path = "/api/metadata/workflow", tag = "conductor", responses((status = 200, body = Vec<Object>)))]
async fn list_workflows(State(app): State<AppState>, access: Access) -> Json<Vec<Value>> {
    let set = app.engine.workflows();
    let mut defs: Vec<_> = set.all().filter(|d| access.sees(ObjectKind::Workflows, &d.name)).collect();
    defs.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
    Json(defs.into_iter().map(|d| crate::operations::definitions::with_identity(d)).collect())
}

/// One workflow definition.
#[utoipa::path(
    get, path = "/api/metadata/workflow/{name}", tag = "conductor",
    params(("name" = String, Path, description = "Workflow name"), crate::operations::definitions::VersionQuery),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_workflow(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<crate::operations::definitions::VersionQuery>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Workflows, &name, Role::Read)?;
    crate::operations::definitions::workflow_document(&app, &name, q.version()).map(Json)
}

/// Removes one version of a workflow definition.
#[utoipa::path(
    delete, path = "/api/metadata/workflow/{name}/{version}", tag = "conductor",
    params(("name" = String, Path, description = "Workflow name"), ("version" = u32, Path, description = "Version")),
    responses((status = 200, description = "Removed"), (status = 404, body = ApiError))
)]
async fn delete_workflow(
    State(app): State<AppState>,
    access: Access,
    ApiPath((name, version)): ApiPath<(String, u32)>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    if app.engine.definitions().delete_workflow(&name, Some(version)).await? == 0 {
        return Err(ApiError::not_found(format!("workflow `{name}` version {version} is not defined")));
    }
    Ok(StatusCode::OK)
}

/// Refuses definition `def` unless the caller edits the workflow of its name and may reference
/// what it references (a team's secret serves only its team's workflows), as the native route.
fn check_definition(access: &Access, def: &Value) -> ApiResult<()> {
    let name = def.get("name").and_then(Value::as_str).unwrap_or_default();
    access.check(ObjectKind::Workflows, name, Role::Write)?;
    access.check_references(def)?;
    access.check_secret_owners(ObjectKind::Workflows, name, def)
}

/// Registers task definitions (a list of Conductor TaskDefs). A SIMPLE task takes its retry and
/// timeout settings from the task definition of its name.
#[utoipa::path(
    post, path = "/api/metadata/taskdefs", tag = "conductor",
    request_body(content = Vec<Object>, description = "Conductor TaskDefs"),
    responses((status = 200, description = "Registered"))
)]
async fn create_task_defs(State(app): State<AppState>, JsonBody(defs): JsonBody<Vec<Value>>) -> ApiResult<StatusCode> {
    app.engine.definitions().put_task_defs(&defs).await.map_err(definition_error)?;
    Ok(StatusCode::OK)
}

/// Updates one task definition.
#[utoipa::path(
    put, path = "/api/metadata/taskdefs", tag = "conductor",
    request_body(content = Object, description = "A Conductor TaskDef"),
    responses((status = 200, description = "Updated"))
)]
async fn update_task_def(State(app): State<AppState>, JsonBody(def): JsonBody<Value>) -> ApiResult<StatusCode> {
    app.engine.definitions().put_task_defs(std::slice::from_ref(&def)).await.map_err(definition_error)?;
    Ok(StatusCode::OK)
}

/// Every task definition.
#[utoipa::path(get, path = "/api/metadata/taskdefs", tag = "conductor", responses((status = 200, body = Vec<Object>)))]
async fn list_task_defs(State(app): State<AppState>) -> ApiResult<Json<Vec<Value>>> {
    Ok(Json(app.engine.definitions().task_defs().await?.into_iter().map(|(_, v)| v).collect()))
}

/// One task definition.
#[utoipa::path(
    get, path = "/api/metadata/taskdefs/{name}", tag = "conductor",
    params(("name" = String, Path, description = "Task definition name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_task_def(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<Value>> {
    let defs = app.engine.definitions().task_defs().await?;
    defs.get(&name)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("task definition `{name}` does not exist")))
}

/// Removes a task definition.
#[utoipa::path(
    delete, path = "/api/metadata/taskdefs/{name}", tag = "conductor",
    params(("name" = String, Path, description = "Task definition name")),
    responses((status = 200, description = "Removed"), (status = 404, body = ApiError))
)]
async fn delete_task_def(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    if !app.engine.definitions().delete_task_def(&name).await? {
        return Err(ApiError::not_found(format!("task definition `{name}` does not exist")));
    }
    Ok(StatusCode::OK)
}
