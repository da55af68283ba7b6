//! The fields Conductor defines, split into those vigil honours and those it ignores (with a warning).
//!
//! Anything in neither list is reported with a "did you mean" hint, so a typo never silently drops
//! behaviour: as an error where Conductor refuses it too, otherwise as a warning (an error with
//! `vigil validate --strict`).

/// WorkflowDef fields vigil implements.
pub const WORKFLOW_SUPPORTED: &[&str] = &[
    "name",
    "description",
    "version",
    "tasks",
    "inputParameters",
    "outputParameters",
    "failureWorkflow",
    "timeoutSeconds",
    "timeoutPolicy",
    "variables",
    "inputTemplate",
    "schemaVersion",
    "http",
    "restartable",
    "retention",
    "workflowStatusListenerEnabled",
    "workflowStatusListenerSink",
];

/// Bookkeeping fields of Conductor's metadata API: accepted silently, they carry no behaviour.
pub const METADATA: &[&str] = &[
    "ownerEmail",
    "ownerApp",
    "createTime",
    "updateTime",
    "createdBy",
    "updatedBy",
    "accessPolicy",
    "tags",
    "metadata",
    "workflowTaskType",
    "enforceSchema",
];

/// WorkflowDef fields Conductor defines that vigil does not implement: a warning when set.
pub const WORKFLOW_IGNORED: &[&str] =
    &["accessPolicy", "tags", "rateLimitConfig", "metadata", "maskedFields", "inputSchema", "outputSchema"];

/// WorkflowTask fields vigil implements.
pub const TASK_SUPPORTED: &[&str] = &[
    "name",
    "taskReferenceName",
    "type",
    "description",
    "inputParameters",
    "optional",
    "permissive",
    "startDelay",
    "retryCount",
    "taskDefinition",
    "evaluatorType",
    "expression",
    "decisionCases",
    "defaultCase",
    "caseValueParam",
    "caseExpression",
    "loopCondition",
    "loopOver",
    "forkTasks",
    "joinOn",
    "defaultExclusiveJoinTask",
    "sink",
    "asyncComplete",
    "subWorkflowParam",
    "dynamicTaskNameParam",
    "dynamicForkTasksParam",
    "dynamicForkJoinTasksParam",
    "dynamicForkTasksInputParamName",
];

/// WorkflowTask fields Conductor defines that change nothing in vigil.
pub const TASK_IGNORED: &[&str] = &[
    "scriptExpression",
    "rateLimited",
    "onStateChange",
    "cacheConfig",
    "taskToDomain",
    "workflowTaskType",
    "inputSchema",
    "outputSchema",
];

/// TaskDef fields vigil implements.
pub const TASKDEF_SUPPORTED: &[&str] = &[
    "name",
    "retryCount",
    "retryLogic",
    "retryDelaySeconds",
    "backoffScaleFactor",
    "maxRetryDelaySeconds",
    "backoffJitterMs",
    "timeoutSeconds",
    "timeoutPolicy",
    "responseTimeoutSeconds",
    "pollTimeoutSeconds",
];

/// TaskDef fields Conductor defines that change nothing in vigil.
pub const TASKDEF_IGNORED: &[&str] = &[
    "description",
    "ownerEmail",
    "ownerApp",
    "createTime",
    "updateTime",
    "createdBy",
    "updatedBy",
    "inputKeys",
    "outputKeys",
    "concurrentExecLimit",
    "rateLimitPerFrequency",
    "rateLimitFrequencyInSeconds",
    "isolationGroupId",
    "executionNameSpace",
    "inputTemplate",
    "accessPolicy",
    "totalTimeoutSeconds",
    "baseType",
    "enforceSchema",
    "inputSchema",
    "outputSchema",
    "tags",
];

/// Every task type vigil runs: its own, then each monitor source's (declared with the source in
/// [`crate::source_kind`], not listed again here).
pub fn task_types() -> impl Iterator<Item = &'static str> {
    crate::task_types::TaskType::NAMES
        .iter()
        .copied()
        .chain(crate::source_kind::SourceKind::ALL.iter().filter_map(|k| k.task_type()))
}

/// Whether vigil runs task type `name`.
pub fn is_task_type(name: &str) -> bool {
    task_types().any(|t| t == name)
}

/// Task types Conductor defines that vigil does not run yet.
pub const TASK_TYPES_UNSUPPORTED: &[&str] = &["KAFKA_PUBLISH", "BUSINESS_RULE", "GET_SIGNED_JWT", "WAIT_FOR_WEBHOOK"];
