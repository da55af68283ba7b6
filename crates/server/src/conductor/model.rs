//! Conductor's JSON shapes for workflows and tasks, built from vigil's instances.

use serde_json::{Value, json};
use vigil_core::instance::{Instance, TaskExec};
use vigil_runtime::workers::{Leased, global_id};

/// A task execution as Conductor's `Task`.
pub fn task(instance: &Instance, t: &TaskExec) -> Value {
    json!({
        "taskId": global_id(&instance.workflow_id, &t.task_id),
        "taskType": t.task_type,
        "taskDefName": t.def_ref,
        "referenceTaskName": t.reference_task_name,
        "status": serde_json::to_value(t.status).unwrap_or(Value::Null),
        "inputData": t.input_data,
        "outputData": t.output_data,
        "retryCount": t.retry_count,
        "seq": t.task_id.parse::<u64>().unwrap_or(0),
        "iteration": t.iteration,
        "scheduledTime": t.scheduled_time,
        "startTime": t.start_time.unwrap_or(0),
        "endTime": t.end_time.unwrap_or(0),
        "updateTime": t.end_time.or(t.start_time).unwrap_or(t.scheduled_time),
        "reasonForIncompletion": t.reason_for_incompletion,
        "workflowInstanceId": instance.workflow_id,
        "workflowType": instance.workflow_name,
        "subWorkflowId": t.sub_workflow_id,
    })
}

/// An instance as Conductor's `Workflow`.
pub fn workflow(i: &Instance, include_tasks: bool) -> Value {
    let tasks: Vec<Value> = if include_tasks { i.tasks.iter().map(|t| task(i, t)).collect() } else { Vec::new() };
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
        "createTime": i.create_time,
        "updateTime": i.update_time,
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
