//! Conductor's JSON shapes for workflows and tasks, built from vigil's instances.

use std::collections::HashMap;

use serde_json::{Value, json};
use vigil_core::def::{WorkflowDef, each};
use vigil_core::instance::{Instance, TaskExec, TaskStatus};
use vigil_runtime::workers::{Leased, global_id};

/// The task names of a definition by reference name: Conductor reports a task's `name` as its
/// `taskDefName` (and, for SIMPLE tasks, as its `taskType`), where an execution keeps only its
/// reference name. The tasks as written are kept too, for each task's `workflowTask`.
#[derive(Default)]
pub struct TaskNames<'a> {
    names: HashMap<&'a str, &'a str>,
    written: HashMap<&'a str, &'a Value>,
}

impl<'a> TaskNames<'a> {
    /// The names of `def`'s tasks and of those `instance` made at run time (a DYNAMIC task's
    /// stands in for it); empty when the definition is gone.
    pub fn of(def: Option<&'a WorkflowDef>, instance: &'a Instance) -> Self {
        let mut names = HashMap::new();
        let mut written = HashMap::new();
        if let Some(def) = def {
            each(&def.tasks, &mut |t| {
                names.insert(t.ref_name.as_str(), t.name.as_str());
            });
            as_written(&def.source["tasks"], &mut written);
        }
        for made in &instance.dynamic_tasks {
            if let (Some(r), Some(n)) = (made.task["taskReferenceName"].as_str(), made.task["name"].as_str()) {
                names.insert(r, n);
                written.insert(r, &made.task);
            }
        }
        Self { names, written }
    }

    /// The task of `t` as written in the definition (Conductor's `WorkflowTask`).
    fn workflow_task(&self, t: &TaskExec) -> Value {
        self.written.get(t.def_ref.as_str()).map_or(Value::Null, |v| (*v).clone())
    }

    /// The name of `t`'s task in the definition (its reference name when the definition is gone).
    pub fn name_of<'t>(&'t self, t: &'t TaskExec) -> &'t str {
        self.names.get(t.def_ref.as_str()).copied().unwrap_or(&t.def_ref)
    }

    /// `(taskType, taskDefName)` as Conductor reports them for `t`.
    fn type_and_name<'t>(&'t self, t: &'t TaskExec) -> (&'t str, &'t str) {
        let name = self.name_of(t);
        match t.task_type.as_str() {
            "SIMPLE" => (name, name),
            "FORK_JOIN" => ("FORK", name),
            // As Conductor's ForkJoinDynamicTaskMapper, the dynamic fork's own task is a FORK.
            "FORK_JOIN_DYNAMIC" => ("FORK", "FORK"),
            other => (other, name),
        }
    }
}

/// Every task of a written task list and below, by reference name.
fn as_written<'a>(tasks: &'a Value, out: &mut HashMap<&'a str, &'a Value>) {
    for task in tasks.as_array().into_iter().flatten() {
        if let Some(r) = task["taskReferenceName"].as_str() {
            out.insert(r, task);
        }
        for key in ["loopOver", "defaultCase"] {
            as_written(&task[key], out);
        }
        task["forkTasks"].as_array().into_iter().flatten().for_each(|branch| as_written(branch, out));
        task["decisionCases"].as_object().into_iter().flatten().for_each(|(_, case)| as_written(case, out));
    }
}

/// A task execution as Conductor's `Task`. `retried_by` is the id of the attempt that retried it;
/// `retries` the id of the attempt it retries (`retriedTaskId`).
fn task_with(instance: &Instance, t: &TaskExec, names: &TaskNames, retried: bool, retries: Option<&str>) -> Value {
    let (task_type, def_name) = names.type_and_name(t);
    json!({
        "taskId": global_id(&instance.workflow_id, &t.task_id),
        "taskType": task_type,
        "taskDefName": def_name,
        "referenceTaskName": t.reference_task_name,
        "status": serde_json::to_value(t.status).unwrap_or(Value::Null),
        "inputData": t.input_data,
        "outputData": t.output_data,
        "retryCount": t.retry_count,
        "retried": retried,
        "retriedTaskId": retries.map(|id| global_id(&instance.workflow_id, id)),
        "seq": t.task_id.parse::<u64>().unwrap_or(0),
        "iteration": t.conductor_iteration(),
        "scheduledTime": t.scheduled_time,
        "startTime": t.start_time.unwrap_or(0),
        "endTime": t.end_time.unwrap_or(0),
        "updateTime": t.end_time.or(t.start_time).unwrap_or(t.scheduled_time),
        "reasonForIncompletion": t.reason_for_incompletion,
        "workflowInstanceId": instance.workflow_id,
        "workflowType": instance.workflow_name,
        "subWorkflowId": t.sub_workflow_id,
        // Conductor's flag while a re-opened child's parent is being decided; settled here.
        "subworkflowChanged": false,
        "pollCount": t.poll_count,
        "workerId": t.worker_id,
        "callbackAfterSeconds": t.callback_after_seconds,
        "workflowTask": names.workflow_task(t),
    })
}

/// For each execution (by index), the index of the attempt it retries: the previous execution of
/// the same reference name when its retry count is higher (Conductor's `DeciderService.retry`).
fn retried_from(instance: &Instance) -> Vec<Option<usize>> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(instance.tasks.len());
    for (i, t) in instance.tasks.iter().enumerate() {
        let previous = last.insert(t.reference_task_name.as_str(), i);
        out.push(previous.filter(|&p| t.retry_count > instance.tasks[p].retry_count));
    }
    out
}

/// One task execution, by index, as Conductor's `Task`.
pub fn task(instance: &Instance, at: usize, names: &TaskNames) -> Value {
    let from = retried_from(instance);
    let retried = from.contains(&Some(at));
    let retries = from[at].map(|p| instance.tasks[p].task_id.as_str());
    task_with(instance, &instance.tasks[at], names, retried, retries)
}

/// An instance as Conductor's `Workflow`.
pub fn workflow(i: &Instance, include_tasks: bool, names: &TaskNames) -> Value {
    let tasks: Vec<Value> = if include_tasks {
        let from = retried_from(i);
        let mut retried = vec![false; i.tasks.len()];
        for p in from.iter().flatten() {
            retried[*p] = true;
        }
        i.tasks
            .iter()
            .enumerate()
            .map(|(at, t)| task_with(i, t, names, retried[at], from[at].map(|p| i.tasks[p].task_id.as_str())))
            .collect()
    } else {
        Vec::new()
    };
    // Conductor fills these when the workflow ends (WorkflowExecutorOps.terminate and complete).
    let failed: Vec<&TaskExec> = if i.status.is_terminal() {
        i.tasks
            .iter()
            .filter(|t| matches!(t.status, TaskStatus::Failed | TaskStatus::FailedWithTerminalError))
            .collect()
    } else {
        Vec::new()
    };
    let mut failed_refs: Vec<&str> = failed.iter().map(|t| t.reference_task_name.as_str()).collect();
    let mut failed_names: Vec<&str> = failed.iter().map(|t| names.type_and_name(t).1).collect();
    for list in [&mut failed_refs, &mut failed_names] {
        list.sort_unstable();
        list.dedup();
    }
    json!({
        "workflowId": i.workflow_id,
        "workflowName": i.workflow_name,
        "workflowType": i.workflow_name,
        "workflowVersion": i.workflow_version,
        "version": i.workflow_version,
        "status": i.status.as_str(),
        "input": i.input,
        "output": i.output,
        "variables": i.variables,
        "correlationId": i.correlation_id,
        "reasonForIncompletion": i.reason_for_incompletion,
        "failedReferenceTaskNames": failed_refs,
        "failedTaskNames": failed_names,
        "createTime": i.create_time,
        "updateTime": i.update_time,
        "lastRetriedTime": i.last_retried_time.unwrap_or(0),
        "endTime": i.end_time.unwrap_or(0),
        "startTime": i.create_time,
        "parentWorkflowId": i.parent.as_ref().map(|p| p.workflow_id.clone()),
        "tasks": tasks,
    })
}

/// A task handed to a worker by a poll.
pub fn polled(l: &Leased) -> Value {
    let t = &l.queued.task;
    json!({
        "taskId": l.queued.global_id(),
        "taskType": t.task_type,
        "taskDefName": t.task_type,
        "referenceTaskName": t.reference_task_name,
        "status": "IN_PROGRESS",
        "inputData": t.input,
        "outputData": {},
        "retryCount": t.retry_count,
        "iteration": t.iteration,
        "seq": t.task_id.parse::<u64>().unwrap_or(0),
        "pollCount": l.queued.poll_count,
        "scheduledTime": t.scheduled_time,
        "startTime": l.since,
        "updateTime": l.since,
        "workerId": l.worker_id,
        "responseTimeoutSeconds": t.response_timeout_seconds,
        "callbackAfterSeconds": 0,
        "workflowInstanceId": l.queued.instance_id,
        "workflowType": t.workflow_type,
        "workflowPriority": 0,
    })
}
