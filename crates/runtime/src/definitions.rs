//! Definitions written through the API: validated like files, durable in the store, and live in
//! the engine at once. Task definitions (Conductor's `TaskDef`) supply the retry and timeout
//! settings of the SIMPLE tasks named after them, as in Conductor.

use serde_json::{Map, Value};
use std::sync::Arc;

use vigil_core::def::WorkflowDef;
use vigil_core::def::build::{apply_task_defs, build_workflow};
use vigil_core::def::cycles::find_cycles;
use vigil_core::diagnostic::{Problem, Severity};
use vigil_core::principal::Principal;
use vigil_store::{DefinitionRow, StoreError};

use crate::engine::Engine;

/// The field path of the SUB_WORKFLOW task of `def` that starts the next workflow of `cycle`.
fn cycle_path(def: &WorkflowDef, cycle: &[String]) -> Option<String> {
    let at = cycle.iter().position(|c| *c == def.name)?;
    let next = cycle.get(at + 1)?;
    let (path, _) = vigil_core::def::cycles::sub_workflow_targets(def).into_iter().find(|(_, t)| t == next)?;
    Some(format!("{path}.subWorkflowParam.name"))
}

/// Who wrote a stored definition: as recorded, or for a row from before principals were
/// recorded, what its text referenced ([`Principal::legacy`]).
fn principal_of(row: &DefinitionRow, doc: &Value) -> Principal {
    match row.defined_by.as_deref().map(serde_json::from_str::<Principal>) {
        Some(Ok(p)) => p,
        _ => Principal::legacy(doc),
    }
}

/// The column value recording `principal` (`None` for the system, which the config directory is).
fn recorded(principal: &Principal) -> Option<String> {
    (!principal.is_system()).then(|| serde_json::to_string(principal).expect("a principal serializes"))
}

/// Store kind of workflow definitions.
pub const WORKFLOW: &str = "workflow";
/// Store kind of task definitions.
pub const TASKDEF: &str = "taskdef";

/// A problem as `path: message`, or the message alone when it is about the whole definition.
fn located(problem: &Problem) -> String {
    if problem.path.is_empty() { problem.message.clone() } else { format!("{}: {}", problem.path, problem.message) }
}

/// Why a definition was refused.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// It does not validate; every problem is listed with its field path.
    #[error("the definition is invalid: {}", .0.iter().map(located).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// It exists and overwriting was not asked for.
    #[error("`{name}` version {version} already exists")]
    Exists {
        /// Name.
        name: String,
        /// Version.
        version: u32,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Loads the workflows written through the API into the engine (at start). Files in the
    /// config directory take precedence over API definitions with the same name and version.
    pub async fn load_api_definitions(&self) -> Result<usize, StoreError> {
        let taskdefs = self.task_defs().await?;
        let mut set = (*self.workflows()).clone();
        set.set_task_defs(taskdefs.clone());
        let mut loaded = 0;
        for row in self.store().definitions(WORKFLOW).await? {
            let Ok(mut doc) = serde_json::from_str::<Value>(&row.body) else { continue };
            let defined_by = principal_of(&row, &doc);
            apply_task_defs(&mut doc, &taskdefs);
            match build_workflow(&doc) {
                (Some(mut def), _) if set.get(&def.name, Some(def.version)).is_none() => {
                    def.defined_by = defined_by;
                    set.insert(def);
                    loaded += 1;
                }
                (Some(_), _) => {}
                (None, problems) => {
                    tracing::error!(workflow = %row.name, version = row.version, ?problems, "A stored workflow definition no longer validates; it is not loaded.")
                }
            }
        }
        self.set_workflows(set);
        Ok(loaded)
    }

    /// Validates `doc` (a Conductor WorkflowDef), stores it and makes it live. With `overwrite`
    /// false an existing name and version is refused.
    pub async fn put_workflow(
        &self,
        doc: Value,
        overwrite: bool,
        defined_by: &Principal,
    ) -> Result<(Arc<WorkflowDef>, Vec<Problem>), DefinitionError> {
        let (mut defs, warnings) = self.put_checked(vec![doc], overwrite, false, defined_by).await?;
        Ok((defs.pop().expect("one definition in, one out"), warnings))
    }

    /// Validates every document, and only if all validate (and start no SUB_WORKFLOW cycle
    /// together with what is live) stores them in one transaction and makes them live. With
    /// `indexed`, problem paths start with the document's list index (`[1].tasks[0]...`). Their
    /// instances act with `defined_by`'s authority.
    pub async fn put_workflows(
        &self,
        docs: Vec<Value>,
        overwrite: bool,
        indexed: bool,
        defined_by: &Principal,
    ) -> Result<Vec<Arc<WorkflowDef>>, DefinitionError> {
        Ok(self.put_checked(docs, overwrite, indexed, defined_by).await?.0)
    }

    /// [`Self::put_workflows`], with the warnings the documents gave (stored all the same, as
    /// Conductor stores them).
    async fn put_checked(
        &self,
        docs: Vec<Value>,
        overwrite: bool,
        indexed: bool,
        defined_by: &Principal,
    ) -> Result<(Vec<Arc<WorkflowDef>>, Vec<Problem>), DefinitionError> {
        let taskdefs = self.task_defs().await?;
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut built = Vec::new();
        for (n, mut doc) in docs.into_iter().enumerate() {
            let body = doc.to_string();
            apply_task_defs(&mut doc, &taskdefs);
            let (mut def, problems) = build_workflow(&doc);
            if let Some(def) = &mut def {
                def.defined_by = defined_by.clone();
            }
            let at = |p: Problem| if indexed { p.within(&format!("[{n}]")) } else { p };
            let before = errors.len();
            let (found, warned): (Vec<Problem>, Vec<Problem>) =
                problems.into_iter().partition(|p| p.severity == Severity::Error);
            errors.extend(found.into_iter().map(at));
            warnings.extend(warned.into_iter().map(at));
            if let Some(def) = def.filter(|_| errors.len() == before) {
                if !overwrite && self.workflows().get(&def.name, Some(def.version)).is_some() {
                    return Err(DefinitionError::Exists { name: def.name, version: def.version });
                }
                built.push((n, body, def));
            }
        }
        if !errors.is_empty() {
            return Err(DefinitionError::Invalid(errors));
        }
        let mut set = (*self.workflows()).clone();
        let built: Vec<(usize, String, String, u32)> = built
            .into_iter()
            .map(|(n, body, def)| {
                let key = (def.name.clone(), def.version);
                set.insert(def);
                (n, body, key.0, key.1)
            })
            .collect();
        for cycle in find_cycles(set.all().map(|d| d.as_ref())) {
            let Some((n, _, name, version)) = built.iter().find(|(_, _, name, _)| cycle.contains(name)) else {
                continue;
            };
            let def = set.get(name, Some(*version)).expect("just inserted");
            let path = cycle_path(&def, &cycle).unwrap_or_else(|| "tasks".into());
            let msg = format!(
                "SUB_WORKFLOW cycle {}: each instance would start another without end",
                cycle.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" → ")
            );
            let problem = Problem::error(path, msg);
            errors.push(if indexed { problem.within(&format!("[{n}]")) } else { problem });
        }
        if !errors.is_empty() {
            return Err(DefinitionError::Invalid(errors));
        }
        let now = self.now();
        let rows: Vec<DefinitionRow> = built
            .iter()
            .map(|(_, body, name, version)| DefinitionRow {
                kind: WORKFLOW.into(),
                name: name.clone(),
                version: *version,
                body: body.clone(),
                updated_at: now,
                defined_by: recorded(defined_by),
            })
            .collect();
        self.store().put_definitions(&rows).await?;
        self.set_workflows(set);
        let live = self.workflows();
        let defs = built.iter().map(|(_, _, name, version)| live.get(name, Some(*version)).expect("just inserted"));
        Ok((defs.collect(), warnings))
    }

    /// Removes a workflow version (or all versions); returns how many went.
    pub async fn delete_workflow(&self, name: &str, version: Option<u32>) -> Result<usize, StoreError> {
        self.store().delete_definition(WORKFLOW, name, version).await?;
        let mut set = (*self.workflows()).clone();
        let removed = set.remove(name, version);
        self.set_workflows(set);
        Ok(removed)
    }

    /// Stores task definitions (each an object with at least `name`).
    pub async fn put_task_defs(&self, defs: &[Value]) -> Result<(), DefinitionError> {
        let mut problems = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            if d.get("name").and_then(Value::as_str).is_none_or(|n| n.trim().is_empty()) {
                problems.push(Problem::error(format!("[{i}].name"), "a task definition needs a `name`"));
            }
        }
        if !problems.is_empty() {
            return Err(DefinitionError::Invalid(problems));
        }
        for d in defs {
            let row = DefinitionRow {
                kind: TASKDEF.into(),
                name: d["name"].as_str().unwrap_or_default().to_string(),
                version: 0,
                body: d.to_string(),
                updated_at: self.now(),
                defined_by: None,
            };
            self.store().put_definition(&row).await?;
        }
        let names: Vec<&str> = defs.iter().filter_map(|d| d["name"].as_str()).collect();
        self.reapply_task_defs(&names).await?;
        Ok(())
    }

    /// Rebuilds the workflows written through the API with the task definitions as they are
    /// now, so that tasks scheduled from here on use the new retry, timeout and rate settings
    /// (Conductor reads the task definition when it schedules a task). A definition loaded from
    /// a file keeps its own. Only workflows with a task of one of `names` are rebuilt.
    async fn reapply_task_defs(&self, names: &[&str]) -> Result<(), StoreError> {
        let uses_one = |def: &WorkflowDef| {
            let mut found = false;
            vigil_core::def::each(&def.tasks, &mut |t| found |= names.contains(&t.name.as_str()));
            found
        };
        let taskdefs = self.task_defs().await?;
        // Tasks made at run time (FORK_JOIN_DYNAMIC, DYNAMIC) read them from the set.
        let mut set = (*self.workflows()).clone();
        set.set_task_defs(taskdefs.clone());
        let rows = if set.all().any(|d| uses_one(d)) { self.store().definitions(WORKFLOW).await? } else { Vec::new() };
        for row in rows {
            let Some(live) = set.get(&row.name, Some(row.version)).filter(|d| uses_one(d)) else { continue };
            let Ok(written) = serde_json::from_str::<Value>(&row.body) else { continue };
            if without_task_defs(&live.source) != without_task_defs(&written) {
                continue;
            }
            let defined_by = principal_of(&row, &written);
            let mut doc = written;
            apply_task_defs(&mut doc, &taskdefs);
            if let (Some(mut def), _) = build_workflow(&doc) {
                def.defined_by = defined_by;
                set.insert(def);
            }
        }
        self.set_workflows(set);
        Ok(())
    }

    /// Every task definition by name.
    pub async fn task_defs(&self) -> Result<Map<String, Value>, StoreError> {
        let rows = self.store().definitions(TASKDEF).await?;
        Ok(rows.into_iter().filter_map(|r| Some((r.name, serde_json::from_str(&r.body).ok()?))).collect())
    }

    /// Removes a task definition; false when there was none.
    pub async fn delete_task_def(&self, name: &str) -> Result<bool, StoreError> {
        let removed = self.store().delete_definition(TASKDEF, name, None).await? > 0;
        if removed {
            self.reapply_task_defs(&[name]).await?;
        }
        Ok(removed)
    }
}

/// `doc` without any task's `taskDefinition`, to compare a live definition with a stored one.
fn without_task_defs(doc: &Value) -> Value {
    match doc {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(k, _)| *k != "taskDefinition").map(|(k, v)| (k.clone(), without_task_defs(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_task_defs).collect()),
        other => other.clone(),
    }
}

/// Store kind of schedules.
pub const SCHEDULE: &str = "schedule";

impl Engine {
    /// The schedules written through the API, for the scheduler at start.
    pub async fn api_schedules(&self) -> Result<Vec<vigil_core::schedule::ScheduleDef>, StoreError> {
        let mut out = Vec::new();
        for row in self.store().definitions(SCHEDULE).await? {
            let Ok(doc) = serde_json::from_str::<Value>(&row.body) else { continue };
            match vigil_core::schedule::ScheduleDef::build(&doc) {
                (Some(mut def), _) => {
                    def.defined_by = Some(Box::new(principal_of(&row, &doc))).filter(|p| !p.is_system());
                    out.push(def)
                }
                (None, problems) => {
                    tracing::error!(schedule = %row.name, ?problems, "A stored schedule no longer validates; it is not loaded.")
                }
            }
        }
        Ok(out)
    }

    /// Validates a schedule document, stores it and makes it live in the running scheduler.
    /// The instances it starts are started by `defined_by`.
    pub async fn put_schedule(
        &self,
        doc: Value,
        defined_by: &Principal,
    ) -> Result<vigil_core::schedule::ScheduleDef, DefinitionError> {
        let (mut def, problems) = vigil_core::schedule::ScheduleDef::build(&doc);
        if let Some(def) = &mut def {
            def.defined_by = Some(Box::new(defined_by.clone())).filter(|p| !p.is_system());
        }
        let errors: Vec<Problem> =
            problems.into_iter().filter(|p| p.severity == vigil_core::diagnostic::Severity::Error).collect();
        let Some(def) = def.filter(|_| errors.is_empty()) else { return Err(DefinitionError::Invalid(errors)) };
        let row = DefinitionRow {
            kind: SCHEDULE.into(),
            name: def.name.clone(),
            version: 0,
            body: doc.to_string(),
            updated_at: self.now(),
            defined_by: recorded(defined_by),
        };
        self.store().put_definition(&row).await?;
        self.schedule_command(crate::scheduler::command::SchedulerCmd::Put(Box::new(def.clone())));
        Ok(def)
    }

    /// Removes a schedule (stored through the API or loaded from files) from the running
    /// scheduler and the store; false when no such schedule runs.
    pub async fn delete_schedule(&self, name: &str) -> Result<bool, StoreError> {
        let known = self.schedules().await.iter().any(|(d, _)| d.name == name);
        self.store().delete_definition(SCHEDULE, name, None).await?;
        if known {
            self.schedule_command(crate::scheduler::command::SchedulerCmd::Remove(name.to_string()));
        }
        Ok(known)
    }
}

pub use crate::stored_notifiers::NOTIFIER;

impl Engine {
    fn credential(&self, kind: &str, name: &str) -> Option<String> {
        crate::stored_notifiers::credential(kind, name, &|n| self.secret_value(n))
    }

    /// Validates a notifier document (credentials as `${workflow.secrets.NAME}` or `${env.NAME}`,
    /// substituted now and never stored), stores it as written and makes it live.
    pub async fn put_notifier_doc(&self, doc: Value) -> Result<(), DefinitionError> {
        let lookup = |kind: &str, name: &str| self.credential(kind, name);
        let notifier = vigil_connectors::notifiers::load::from_value(doc.clone(), &lookup).map_err(|errors| {
            DefinitionError::Invalid(errors.into_iter().map(|(p, m)| Problem::error(p, m)).collect())
        })?;
        let row = DefinitionRow {
            kind: NOTIFIER.into(),
            name: notifier.name().to_string(),
            version: 0,
            body: doc.to_string(),
            updated_at: self.now(),
            defined_by: None,
        };
        self.store().put_definition(&row).await?;
        self.put_notifier(notifier);
        Ok(())
    }

    /// Removes a notifier written through the API (or loaded from a file, until the next start).
    pub async fn delete_notifier(&self, name: &str) -> Result<bool, StoreError> {
        let stored = self.store().delete_definition(NOTIFIER, name, None).await? > 0;
        Ok(self.remove_notifier(name) || stored)
    }
}
