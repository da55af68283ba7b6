//! UPDATE_TASK: finds the task it names, in this or another instance, and delivers the result it
//! sets, as a worker's report would be delivered; then reports the UPDATE_TASK's own result.

use serde_json::{Value, json};
use vigil_core::instance::{Instance, TaskExec, TaskStatus, global_task_id};
use vigil_core::interpreter::{TaskResult, TaskUpdate, TaskUpdateTarget};

use crate::shared::Shared;
use crate::task_result::{Undelivered, deliver};
use crate::workers::split_global_id;

/// The task types an update may set: those that wait to be completed from outside (an EVENT
/// task with `asyncComplete`, as Conductor's event handlers complete it).
const UPDATABLE: &[&str] = &["WAIT", "HUMAN", "SIMPLE", "EVENT"];

/// Performs `update`, asked by an UPDATE_TASK of instance `own`, and returns that task's result.
pub(crate) async fn update(shared: &Shared, own: &str, update: TaskUpdate) -> TaskResult {
    let failed = |reason: String, terminal: bool| TaskResult::Failed { reason, output: json!({}), terminal };
    let (workflow_id, by) = match &update.target {
        TaskUpdateTarget::Reference { workflow_id, reference } => (workflow_id.clone(), By::Reference(reference)),
        TaskUpdateTarget::Id(id) => match split_global_id(id) {
            Some((instance, exec)) => (instance.to_string(), By::Execution(exec)),
            None => return failed(format!("`{id}` is not a task id (`<workflowId>~<task>`)"), true),
        },
    };
    let instance = match shared.store.instance(&workflow_id).await {
        Ok(Some(instance)) => instance,
        Ok(None) => return failed(format!("workflow `{workflow_id}` does not exist"), true),
        Err(e) => return failed(format!("reading workflow `{workflow_id}`: {e}"), false),
    };
    let Some(exec) = by.find(&instance) else {
        // A task its definition declares may not be scheduled yet: a message an EVENT task
        // published can arrive before the step after it commits. That passes; a name the
        // definition lacks, or an ended instance, does not.
        let may_come = !instance.status.is_terminal()
            && match &by {
                By::Reference(reference) => {
                    let workflows = shared.workflows.read().expect("lock").clone();
                    workflows.for_instance(&instance).is_none_or(|def| def.find_task(reference).is_some())
                }
                By::Execution(_) => false,
            };
        let why = if may_come { "yet" } else { "" };
        return failed(
            format!("workflow `{workflow_id}` has no task {} {why}", by.describe()).trim_end().to_string(),
            !may_come,
        );
    };
    let done = |exec: &TaskExec| {
        let task_id = global_task_id(&workflow_id, &exec.task_id);
        TaskResult::Completed(json!({"workflowId": workflow_id, "taskId": task_id, "taskStatus": update.status}))
    };
    // The update reached it before (a restart after a crash sends it again): not applied twice.
    if let Some(reached) = by.reached(&instance, &update) {
        return done(reached);
    }
    if instance.status.is_terminal() {
        return failed(format!("workflow `{workflow_id}` has already ended ({})", instance.status.as_str()), true);
    }
    if !UPDATABLE.contains(&exec.task_type.as_str()) {
        let why = format!(
            "task {} of workflow `{workflow_id}` is a {} task; UPDATE_TASK sets only tasks that wait to be completed \
             from outside ({})",
            by.describe(),
            exec.task_type,
            UPDATABLE.join(", ")
        );
        return failed(why, true);
    }
    if !exec.accepts_result() {
        let why = format!(
            "task {} of workflow `{workflow_id}` is {}, not waiting to be completed",
            by.describe(),
            exec.status.as_str()
        );
        return failed(why, true);
    }
    let mut output = if update.merge { exec.output_data.clone() } else { json!({}) };
    if !output.is_object() {
        output = json!({});
    }
    if let Value::Object(out) = &mut output {
        out.extend(update.output.clone());
    }
    let result = match update.status.as_str() {
        "COMPLETED" => TaskResult::Completed(output),
        status => TaskResult::Failed {
            reason: update
                .reason
                .clone()
                .unwrap_or_else(|| format!("set to {status} by UPDATE_TASK in workflow `{own}`")),
            output,
            terminal: status == "FAILED_WITH_TERMINAL_ERROR",
        },
    };
    let exec_id = exec.task_id.clone();
    let local = shared.cluster.ownership.owns(instance.partition);
    match deliver(shared, &instance, &exec_id, result).await {
        Ok(_) if !local => done(exec),
        Ok(_) => confirm(shared, &workflow_id, &exec_id, &update, &by).await.unwrap_or_else(|why| failed(why, true)),
        Err(e @ Undelivered::Store(_)) => failed(format!("updating workflow `{workflow_id}`: {e}"), false),
        Err(e @ Undelivered::ShuttingDown) => failed(e.to_string(), false),
    }
}

/// Reads back execution `exec_id`, whose result was committed here: the instance ignores a result
/// for a task that stopped waiting meanwhile (it timed out, or was cancelled), and then the
/// update did not take effect. (On another node the inbox applies it later; it is not read back.)
async fn confirm(
    shared: &Shared,
    workflow_id: &str,
    exec_id: &str,
    update: &TaskUpdate,
    by: &By<'_>,
) -> Result<TaskResult, String> {
    let instance = shared.store.instance(workflow_id).await.ok().flatten();
    let exec = instance.as_ref().and_then(|i| i.tasks.iter().find(|t| t.task_id == exec_id));
    match exec {
        Some(exec) if sets(&update.status, exec.status) => {
            let task_id = global_task_id(workflow_id, exec_id);
            Ok(TaskResult::Completed(
                json!({"workflowId": workflow_id, "taskId": task_id, "taskStatus": update.status}),
            ))
        }
        Some(exec) => Err(format!(
            "task {} of workflow `{workflow_id}` stopped waiting before the update reached it ({})",
            by.describe(),
            exec.status.as_str()
        )),
        None => Err(format!("workflow `{workflow_id}` could not be read back after the update")),
    }
}

/// Whether a task in `status` is what setting `asked` leaves: an optional task that fails ends
/// COMPLETED_WITH_ERRORS.
fn sets(asked: &str, status: TaskStatus) -> bool {
    match asked {
        "COMPLETED" => status == TaskStatus::Completed,
        "FAILED" => matches!(status, TaskStatus::Failed | TaskStatus::CompletedWithErrors),
        _ => matches!(status, TaskStatus::FailedWithTerminalError | TaskStatus::CompletedWithErrors),
    }
}

/// How the task is named.
enum By<'a> {
    /// Its reference name: the latest execution under it (a retried or looped task has several).
    Reference(&'a str),
    /// Its execution id within the instance.
    Execution(&'a str),
}

impl By<'_> {
    fn find<'i>(&self, instance: &'i Instance) -> Option<&'i TaskExec> {
        match self {
            By::Reference(reference) => instance.tasks.iter().rev().find(|t| t.reference_task_name == *reference),
            By::Execution(id) => instance.tasks.iter().find(|t| t.task_id == *id),
        }
    }

    /// An execution under this name that ended as `update` sets it, after the UPDATE_TASK was
    /// scheduled: the update already reached it (a failed attempt's retry is a new execution, so
    /// every execution under the name is looked at, not only the latest).
    fn reached<'i>(&self, instance: &'i Instance, update: &TaskUpdate) -> Option<&'i TaskExec> {
        let reached = |t: &&TaskExec| sets(&update.status, t.status) && t.end_time.is_some_and(|e| e >= update.since);
        match self {
            By::Reference(reference) => {
                instance.tasks.iter().rev().filter(|t| t.reference_task_name == *reference).find(reached)
            }
            By::Execution(id) => instance.tasks.iter().find(|t| t.task_id == *id).filter(reached),
        }
    }

    fn describe(&self) -> String {
        match self {
            By::Reference(reference) => format!("`{reference}`"),
            By::Execution(id) => format!("with id `{id}`"),
        }
    }
}
