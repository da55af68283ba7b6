//! Schedules: find, save, remove, pause or resume, and run one now.

use serde_json::Value;
use vigil_core::principal::Principal;
use vigil_core::schedule::ScheduleDef;
use vigil_core::time::Millis;
use vigil_runtime::StartRequest;
use vigil_runtime::definitions::DefinitionError;
use vigil_runtime::scheduler::SchedulerCmd;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};

pub(crate) async fn find(app: &AppState, name: &str) -> ApiResult<(ScheduleDef, Option<Millis>)> {
    app.engine
        .schedules()
        .await
        .into_iter()
        .find(|(d, _)| d.name == name)
        .ok_or_else(|| ApiError::not_found(format!("schedule `{name}` does not exist")))
}

/// Checks and stores schedule `doc` (its workflow must exist; a scheduler must run here).
pub(crate) async fn save(app: &AppState, doc: Value, defined_by: &Principal) -> ApiResult<ScheduleDef> {
    if let Some(workflow) = doc.pointer("/startWorkflowRequest/name").and_then(Value::as_str)
        && app.engine.workflows().get(workflow, None).is_none()
    {
        return Err(ApiError::invalid("startWorkflowRequest.name", format!("workflow `{workflow}` is not defined")));
    }
    if !app.engine.has_scheduler() {
        return Err(ApiError::new(ErrorCode::Conflict, "no scheduler runs in this process"));
    }
    app.engine.definitions().put_schedule(doc, defined_by).await.map_err(|e| match e {
        DefinitionError::Store(cause) => ApiError::internal(cause),
        other => ApiError::new(ErrorCode::InvalidRequest, other.to_string()),
    })
}

/// Removes schedule `name` (404 when unknown).
pub(crate) async fn remove(app: &AppState, name: &str) -> ApiResult<()> {
    if !app.engine.definitions().delete_schedule(name).await? {
        return Err(ApiError::not_found(format!("schedule `{name}` does not exist")));
    }
    Ok(())
}

/// Pauses or resumes schedule `name` (404 when unknown).
pub(crate) async fn pause_or_resume(app: &AppState, name: &str, paused: bool) -> ApiResult<()> {
    find(app, name).await?;
    app.engine.schedule_command(SchedulerCmd::Pause(name.to_string(), paused));
    Ok(())
}

/// Starts schedule `name`'s workflow now with the schedule's input; the new instance's id.
/// The run is started by `by` and the schedule's definer together.
pub(crate) async fn run_now_id(app: &AppState, name: &str, by: &Principal) -> ApiResult<String> {
    let (def, _) = find(app, name).await?;
    let now = app.engine.now();
    let req = StartRequest {
        name: def.start.name.clone(),
        version: def.start.version,
        input: def.instance_input(now, now),
        id: None,
        correlation_id: def.start.correlation_id.clone(),
        definition: None,
        started_by: def.defined_by.as_deref().cloned().unwrap_or_default().meet(by),
    };
    Ok(app.engine.start_durable(req).await?)
}
