//! Workflows and task definitions written through the API.

use serde_json::{Map, Value};
use std::sync::Arc;

use vigil_core::def::WorkflowDef;
use vigil_core::def::build::{apply_task_defs, build_workflow};
use vigil_core::def::cycles::find_cycles;
use vigil_core::diagnostic::{Problem, Severity};
use vigil_core::principal::Principal;
use vigil_store::{DefinitionRow, StoreError};

use super::{DefinitionError, Definitions, TASKDEF, WORKFLOW, cycle_path, principal_of, recorded};

impl Definitions {
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
