//! Tasks made at run time: the branches of a FORK_JOIN_DYNAMIC and the worker task a DYNAMIC
//! task names, as Conductor's `ForkJoinDynamicTaskMapper` and `DynamicTaskMapper` make them.
//!
//! A made task is stored with the instance ([`DynamicTask`]) as Conductor task JSON, and built
//! again into a [`Task`] before each step ([`Made::of`]), so the interpreter walks it like a
//! task of the definition. Making one ends the step's pass: [`super::step`] builds the new set
//! and goes on.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::def::build::build_task;
use crate::def::{DynamicFork, Task, WorkflowSet};
use crate::instance::{DynamicTask, Instance};

/// The tasks an instance has made, built, by the execution key of the task that made them.
#[derive(Debug, Default)]
pub struct Made {
    by_maker: HashMap<String, Vec<Task>>,
    /// The maker of each made task, by reference name (a fork's branches are looked up one by
    /// one: a scan per lookup would make a large fork quadratic).
    maker_by_ref: HashMap<String, String>,
}

impl Made {
    /// Builds the tasks `inst` has made. Each was checked when it was made; one that no longer
    /// builds is left out, and the task that would run it fails as missing from the definition.
    pub fn of(inst: &Instance) -> Self {
        let mut by_maker: HashMap<String, Vec<Task>> = HashMap::new();
        let mut maker_by_ref = HashMap::new();
        for made in &inst.dynamic_tasks {
            if let Ok(task) = build_task(&made.task, &made.made_by) {
                maker_by_ref.entry(task.ref_name.clone()).or_insert_with(|| made.made_by.clone());
                by_maker.entry(made.made_by.clone()).or_default().push(task);
            }
        }
        Self { by_maker, maker_by_ref }
    }

    /// The tasks the execution `key` made, if it made any yet.
    pub fn get(&self, key: &str) -> Option<&[Task]> {
        self.by_maker.get(key).map(Vec::as_slice)
    }

    /// Every made task.
    pub fn all(&self) -> impl Iterator<Item = &Task> {
        self.by_maker.values().flatten()
    }

    /// The execution key of the task that made the task `reference`, if one did.
    pub fn maker_of(&self, reference: &str) -> Option<&str> {
        self.maker_by_ref.get(reference).map(String::as_str)
    }
}

/// Records `tasks` as made by `key`, with their task definitions applied.
pub(super) fn record(inst: &mut Instance, key: &str, tasks: Vec<Value>, workflows: &WorkflowSet) {
    for mut task in tasks {
        let registered = task.get("name").and_then(Value::as_str).and_then(|n| workflows.task_def(n)).cloned();
        if let (Some(def), Value::Object(t)) = (registered, &mut task) {
            t.entry("taskDefinition").or_insert(def);
        }
        inst.dynamic_tasks.push(DynamicTask { made_by: key.to_string(), task });
    }
}

/// Checks tasks about to be made: each builds, and none reuses a reference name of `taken`
/// or of another in the list. The error is Conductor's kind of reason.
pub(super) fn check(tasks: &[Value], taken: &dyn Fn(&str) -> bool) -> Result<(), String> {
    let mut seen = HashSet::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        let path = format!("dynamic task [{i}]");
        if let Err(problems) = build_task(task, &path) {
            let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
            return Err(format!("Dynamic tasks could not be created: {}", list.join("; ")));
        }
        let name = task["taskReferenceName"].as_str().unwrap_or_default();
        if taken(name) || !seen.insert(name) {
            return Err(format!("Dynamic tasks could not be created: duplicate task reference name `{name}`"));
        }
    }
    Ok(())
}

/// The task a DYNAMIC task `task` runs: a SIMPLE task named by its input parameter
/// `name_param`, with the DYNAMIC task's reference name and inputs.
pub(super) fn dynamic_task(task: &Task, name_param: &str, input: &Map<String, Value>) -> Result<Value, String> {
    let name = match input.get(name_param) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v) if !v.is_null() && !v.is_string() => v.to_string(),
        _ => {
            return Err(format!(
                "Cannot map a dynamic task based on the parameter and input. Parameter= {name_param}, input= {}",
                Value::Object(input.clone())
            ));
        }
    };
    Ok(json!({
        "name": name,
        "taskReferenceName": task.ref_name,
        "type": "SIMPLE",
        "inputParameters": task.input,
        "optional": task.optional,
        "startDelay": task.start_delay,
    }))
}

/// The tasks FORK_JOIN_DYNAMIC `fork` forks, from its resolved input: Conductor task JSON, each
/// forked task's input merged into its `inputParameters`. `nested` says another dynamic fork
/// ran before in this instance (Conductor then prefixes generated reference names with the
/// fork's).
pub(super) fn fork_tasks(
    fork: &Task,
    spec: &DynamicFork,
    input: &Map<String, Value>,
    nested: bool,
) -> Result<Vec<Value>, String> {
    if let Some(Value::Array(items)) = input.get("forkTaskInputs") {
        within_limit(fork, "forkTaskInputs", items.len())?;
        return Ok(from_fork_task_inputs(fork, input, items, nested));
    }
    match (&spec.tasks_param, &spec.legacy_param) {
        (Some(param), _) => {
            if let Some(Value::Array(items)) = input.get(param) {
                within_limit(fork, param, items.len())?;
            }
            from_task_list(input, param, spec.input_param.as_deref().unwrap_or_default())
        }
        (None, Some(param)) => {
            if let Some(Value::Array(items)) = input.get(param).and_then(|v| v.get("dynamicTasks")) {
                within_limit(fork, &format!("{param}.dynamicTasks"), items.len())?;
            }
            from_legacy(input, param)
        }
        (None, None) => Err("FORK_JOIN_DYNAMIC has no `forkTaskInputs` list in its input".into()),
    }
}

/// Refuses a fork of more than [`super::MAX_FORK_BRANCHES`] branches, naming the fork, the
/// input that listed them and how many it listed, before any branch is made.
fn within_limit(fork: &Task, input: &str, count: usize) -> Result<(), String> {
    if count <= super::MAX_FORK_BRANCHES {
        return Ok(());
    }
    Err(format!(
        "FORK_JOIN_DYNAMIC `{}`: input `{input}` lists {count} branches; one fork makes at most {} (split the list, \
         e.g. a sub-workflow per slice)",
        fork.ref_name,
        super::MAX_FORK_BRANCHES
    ))
}

/// `forkTaskInputs`: one task per item, of `forkTaskName`/`forkTaskType`, or a sub-workflow of
/// `forkTaskWorkflow`.
fn from_fork_task_inputs(fork: &Task, input: &Map<String, Value>, items: &[Value], nested: bool) -> Vec<Value> {
    let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    let workflow = text("forkTaskWorkflow");
    let version = text("forkTaskWorkflowVersion").and_then(|v| v.parse::<u32>().ok());
    let kind = text("forkTaskType");
    let name = text("forkTaskName")
        .or_else(|| kind.clone().filter(|k| crate::def::fields::is_task_type(k) && k != "SIMPLE"))
        .unwrap_or_else(|| fork.ref_name.clone());
    let kind = kind.unwrap_or_else(|| "SIMPLE".into());
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut params = match item {
                Value::Object(m) => m.clone(),
                other => Map::from_iter([("input".to_string(), other.clone())]),
            };
            params.insert("__index".into(), json!(i));
            let reference = if nested { format!("_{}_{name}_{i}", fork.ref_name) } else { format!("_{name}_{i}") };
            let mut task = match &workflow {
                Some(wf) => json!({
                    "name": wf, "type": "SUB_WORKFLOW",
                    "subWorkflowParam": {"name": wf, "version": version},
                }),
                None => json!({"name": name, "type": kind}),
            };
            task["taskReferenceName"] = json!(reference);
            task["inputParameters"] = Value::Object(params);
            task["optional"] = json!(fork.optional);
            task
        })
        .collect()
}

/// `dynamicForkTasksParam`: a list of Conductor tasks; `dynamicForkTasksInputParamName`: their
/// inputs by reference name.
fn from_task_list(input: &Map<String, Value>, param: &str, input_param: &str) -> Result<Vec<Value>, String> {
    let tasks = match input.get(param) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(|t| t.get("taskReferenceName").is_some_and(Value::is_string)) => {
            items.clone()
        }
        Some(other) => {
            return Err(format!(
                "Input '{param}' is invalid. Cannot deserialize a list of Workflow Tasks from '{other}'"
            ));
        }
    };
    let inputs = match input.get(input_param) {
        Some(Value::Object(m)) => m,
        other => {
            let found = other.map_or("null".to_string(), Value::to_string);
            return Err(format!(
                "Input to the dynamically forked tasks is not a map -> expecting a map of K,V  but found {found}"
            ));
        }
    };
    tasks
        .into_iter()
        .map(|mut task| {
            let reference = task["taskReferenceName"].as_str().unwrap_or_default().to_string();
            let given = match inputs.get(&reference) {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(other) => {
                    return Err(format!(
                        "Tasks could not be dynamically forked due to invalid input: the input of `{reference}` is \
                         {other}, not a map"
                    ));
                }
            };
            let params = task.as_object_mut().expect("checked").entry("inputParameters").or_insert(json!({}));
            if let Value::Object(p) = params {
                p.extend(given);
            } else {
                *params = Value::Object(given);
            }
            Ok(task)
        })
        .collect()
}

/// `dynamicForkJoinTasksParam`: `{"dynamicTasks": [{"taskName", "referenceName", "type",
/// "input", "workflowName"}]}`.
fn from_legacy(input: &Map<String, Value>, param: &str) -> Result<Vec<Value>, String> {
    let Some(Value::Array(items)) = input.get(param).and_then(|v| v.get("dynamicTasks")) else {
        return Err(format!(
            "Dynamic tasks could not be created. The value of {param} from task's input {} has no dynamic tasks to \
             be scheduled",
            Value::Object(input.clone())
        ));
    };
    Ok(items
        .iter()
        .map(|item| {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("SIMPLE");
            let mut task = json!({
                "name": item.get("taskName").cloned().unwrap_or(Value::Null),
                "taskReferenceName": item.get("referenceName").cloned().unwrap_or(Value::Null),
                "type": kind,
                "inputParameters": item.get("input").cloned().unwrap_or(json!({})),
            });
            if let (Some(workflow), "SUB_WORKFLOW") = (item.get("workflowName").and_then(Value::as_str), kind) {
                task["subWorkflowParam"] = json!({"name": workflow});
            }
            task
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork(spec: DynamicFork) -> (Task, DynamicFork) {
        let doc = json!({"name": "f", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC",
                         "dynamicForkTasksParam": "t", "dynamicForkTasksInputParamName": "i"});
        (build_task(&doc, "t").expect("builds"), spec)
    }

    #[test]
    fn a_task_list_gets_each_tasks_input_merged() {
        let (task, spec) =
            fork(DynamicFork { tasks_param: Some("t".into()), input_param: Some("i".into()), ..Default::default() });
        let input = json!({"t": [{"name": "a", "taskReferenceName": "x1", "inputParameters": {"keep": 1}}],
                           "i": {"x1": {"k": "v"}}});
        let made = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap();
        assert_eq!(made[0]["inputParameters"], json!({"keep": 1, "k": "v"}));
    }

    #[test]
    fn inputs_that_are_not_maps_are_refused_as_conductor_refuses_them() {
        let (task, spec) =
            fork(DynamicFork { tasks_param: Some("t".into()), input_param: Some("i".into()), ..Default::default() });
        let input = json!({"t": [{"name": "a", "taskReferenceName": "x1"}], "i": {"x1": "v1"}});
        let err = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap_err();
        assert!(err.starts_with("Tasks could not be dynamically forked due to invalid input"), "{err}");
        let input = json!({"t": [{"name": "a", "taskReferenceName": "x1"}], "i": "v1"});
        let err = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap_err();
        assert!(err.starts_with("Input to the dynamically forked tasks is not a map"), "{err}");
        let input = json!({"t": [{"name": "a"}], "i": {}});
        let err = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap_err();
        assert!(err.starts_with("Input 't' is invalid"), "{err}");
    }

    #[test]
    fn fork_task_inputs_make_one_task_per_item_named_as_conductor_names_them() {
        let (task, spec) = fork(DynamicFork::default());
        let input = json!({"forkTaskName": "resize", "forkTaskInputs": [{"url": "a"}, "b"]});
        let made = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap();
        assert_eq!(made[0]["taskReferenceName"], "_resize_0");
        assert_eq!(made[1]["inputParameters"], json!({"input": "b", "__index": 1}));
        let nested = fork_tasks(&task, &spec, input.as_object().unwrap(), true).unwrap();
        assert_eq!(nested[0]["taskReferenceName"], "_fan_resize_0");
        let input = json!({"forkTaskWorkflow": "child", "forkTaskWorkflowVersion": "2", "forkTaskInputs": [{}]});
        let made = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap();
        assert_eq!(made[0]["type"], "SUB_WORKFLOW");
        assert_eq!(made[0]["subWorkflowParam"], json!({"name": "child", "version": 2}));
    }

    #[test]
    fn the_older_dynamic_fork_join_tasks_form_is_read() {
        let (task, spec) = fork(DynamicFork { legacy_param: Some("d".into()), ..Default::default() });
        let input = json!({"d": {"dynamicTasks": [{"taskName": "a", "referenceName": "r", "input": {"k": 1}}]}});
        let made = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap();
        assert_eq!(
            made[0],
            json!({"name": "a", "taskReferenceName": "r", "type": "SIMPLE", "inputParameters": {"k": 1}})
        );
        assert!(fork_tasks(&task, &spec, &Map::new(), false).unwrap_err().contains("has no dynamic tasks"));
    }

    #[test]
    fn a_fork_past_the_branch_limit_is_refused_before_anything_is_made() {
        let (task, spec) =
            fork(DynamicFork { tasks_param: Some("tasks".into()), input_param: Some("in".into()), legacy_param: None });
        let many = |n: usize| {
            (0..n)
                .map(|i| json!({"name": "t", "taskReferenceName": format!("t{i}"), "type": "SIMPLE"}))
                .collect::<Vec<_>>()
        };
        let input = json!({"tasks": many(crate::interpreter::MAX_FORK_BRANCHES + 1), "in": {}});
        let err = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap_err();
        assert!(err.contains("input `tasks` lists 1001 branches") && err.contains("at most 1000"), "{err}");
        let input = json!({"tasks": many(crate::interpreter::MAX_FORK_BRANCHES), "in": {}});
        assert_eq!(fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap().len(), 1000);
        let items: Vec<Value> = (0..300_000).map(|i| json!(i)).collect();
        let input = json!({"forkTaskInputs": items, "forkTaskName": "t"});
        let err = fork_tasks(&task, &spec, input.as_object().unwrap(), false).unwrap_err();
        assert!(err.contains("`forkTaskInputs` lists 300000 branches"), "{err}");
    }

    #[test]
    fn made_tasks_are_checked_and_may_not_reuse_reference_names() {
        let good = json!({"name": "a", "taskReferenceName": "x"});
        assert!(check(std::slice::from_ref(&good), &|_| false).is_ok());
        assert!(check(&[good.clone(), good.clone()], &|_| false).unwrap_err().contains("duplicate"));
        assert!(check(&[good], &|r| r == "x").unwrap_err().contains("duplicate"));
        let bad = json!({"name": "a", "taskReferenceName": "y", "type": "NO_SUCH"});
        assert!(check(&[bad], &|_| false).unwrap_err().contains("dynamic task [0].type"));
    }
}
