//! Definitions written through the API: validated like files, durable in the store, and live in
//! the engine at once. Task definitions (Conductor's `TaskDef`) supply the retry and timeout
//! settings of the SIMPLE tasks named after them, as in Conductor.
//!
//! [`Definitions`] is the handle ([`crate::Engine::definitions`]): workflows and task definitions
//! ([`workflows`]), schedules ([`schedules`]) and notifiers ([`notifiers`]).

mod notifiers;
mod schedules;
mod workflows;

use serde_json::Value;
use std::sync::Arc;

use vigil_core::def::{WorkflowDef, WorkflowSet};
use vigil_core::diagnostic::Problem;
use vigil_core::principal::Principal;
use vigil_core::time::Millis;
use vigil_store::{DefinitionRow, StoreError};

use crate::shared::Shared;

pub use notifiers::NOTIFIER;
pub use schedules::SCHEDULE;

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

/// The definitions' handle: what the API writes of workflows, task definitions, schedules and
/// notifiers, stored and made live.
#[derive(Clone)]
pub struct Definitions {
    shared: Arc<Shared>,
    retention: crate::retention::Retention,
}

impl Definitions {
    pub(crate) fn new(shared: Arc<Shared>, retention: crate::retention::Retention) -> Self {
        Self { shared, retention }
    }

    /// The loaded workflow definitions.
    pub fn workflows(&self) -> Arc<WorkflowSet> {
        self.shared.workflows.read().expect("lock").clone()
    }

    /// Replaces the workflow definitions; running instances keep the version they started with
    /// as long as it is still loaded.
    pub fn set_workflows(&self, workflows: WorkflowSet) {
        self.retention.set_overrides(retention_overrides(&workflows));
        *self.shared.workflows.write().expect("lock") = Arc::new(workflows);
    }

    /// The latest stored version of `kind` `name`, as written (what an audit row compares).
    pub async fn latest(&self, kind: &str, name: &str) -> Result<Option<DefinitionRow>, StoreError> {
        self.store().latest_definition(kind, name).await
    }

    fn store(&self) -> &dyn vigil_store::Store {
        &*self.shared.store
    }

    fn now(&self) -> Millis {
        self.shared.clock.now()
    }
}

/// The workflows' own retention blocks (the latest version of each name speaks for all).
pub(crate) fn retention_overrides(workflows: &WorkflowSet) -> crate::retention::Overrides {
    let mut list: Vec<_> = workflows.latest().filter_map(|d| Some((d.name.clone(), d.retention?))).collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    crate::retention::Overrides { workflows: list }
}
