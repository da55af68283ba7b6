//! What the engine's actors share: the store, the clock, the loaded workflows and the channels to
//! one another, with the start request and its errors. Every actor's message types live in leaf
//! modules ([`crate::shard::messages::ShardMsg`], [`crate::alerting::messages::AlertMsg`], ...), so this sits below
//! all of them and above none.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use vigil_core::def::WorkflowSet;
use vigil_core::instance::{FireRef, Instance};
use vigil_core::interpreter::new_instance;
use vigil_core::principal::Principal;
use vigil_core::time::Clock;
use vigil_store::{Store, StoreError};

use crate::router::Router;
use crate::shard::messages::ShardMsg;

/// A new random instance id (UUID v4, as Conductor uses).
pub fn new_instance_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Why a start request was refused.
#[derive(Debug, Error)]
pub enum EngineError {
    /// No such workflow (or no such version of it).
    #[error("workflow `{name}`{} is not defined", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
        /// The version asked for, if one was.
        version: Option<u32>,
    },
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The definition the request brought does not check; every problem is listed.
    #[error("the workflow definition is invalid: {}", .0.iter().map(|p| if p.path.is_empty() { p.message.clone() } else { format!("workflowDef.{}: {}", p.path, p.message) }).collect::<Vec<_>>().join("; "))]
    InvalidDefinition(Vec<vigil_core::diagnostic::Problem>),
    /// The starter may not do what the request asks (an inline definition referencing a secret
    /// not granted to it).
    #[error("{0}")]
    Forbidden(String),
    /// This node owns no partition to run the instance in (it is joining the cluster).
    #[error("this node owns no partitions yet")]
    NoPartition,
    /// A thread of the engine could not be started.
    #[error("could not start a thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// A request to start an instance.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// Workflow name.
    pub name: String,
    /// Version; latest when `None`.
    pub version: Option<u32>,
    /// Input.
    pub input: Value,
    /// Instance id; generated when `None`.
    pub id: Option<String>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// The instance's own definition (Conductor's inline `workflowDef`): it runs that instead
    /// of a loaded workflow, with the starter's authority.
    pub definition: Option<Value>,
    /// Who starts it: the API token, a schedule's definer, or the system.
    pub started_by: Principal,
}

pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workflows: RwLock<Arc<WorkflowSet>>,
    /// The secret values in use, and what seals the ones tasks store.
    pub secrets: crate::secrets::EngineSecrets,
    pub router: Router,
    pub timers: mpsc::UnboundedSender<crate::timers::TimerMsg>,
    /// Who waits for instances to end, how many ended, and how large they may grow.
    pub instances: Instances,
    /// The room for fire-started instances, and the scheduler's channel.
    pub schedules: crate::scheduler::port::SchedulesPort,
    /// The HTTP client tasks call with, and the room for more calls.
    pub http: crate::http::Calls,
    /// Finishes scripts and jq programs that ran past a step's budget.
    pub evaluator: crate::evaluator::Evaluator,
    pub stopping: Arc<AtomicBool>,
    /// The alert manager's channel, its notifiers and routing tree.
    pub alerting: crate::alerting::port::AlertingPort,
    pub work: Arc<crate::workers::WorkQueue>,
    /// The partitions this node runs, and what wakes the cluster's loops.
    pub cluster: crate::cluster::state::ClusterState,
    /// Event handlers, queue heartbeats, EVENT tasks' publisher and status listeners.
    pub events: crate::events::EventsPort,
}

/// Who waits for instances to end, how many ended, and how large their variables may grow.
pub(crate) struct Instances {
    /// Callers waiting for an instance to end.
    pub waiters: Mutex<HashMap<String, Vec<oneshot::Sender<Instance>>>>,
    /// Callers told every change of an instance.
    pub watchers: Mutex<HashMap<String, mpsc::UnboundedSender<Instance>>>,
    /// How many instances ended (committed) since the engine started.
    pub finished: std::sync::atomic::AtomicU64,
    /// Most bytes an instance's variables may take as JSON.
    pub max_variables_bytes: usize,
}

impl Instances {
    /// Nobody waiting yet; variables of at most `max_variables_bytes`.
    pub(crate) fn new(max_variables_bytes: usize) -> Self {
        Self {
            waiters: Mutex::default(),
            watchers: Mutex::default(),
            finished: std::sync::atomic::AtomicU64::new(0),
            max_variables_bytes,
        }
    }
}

impl Shared {
    /// A new instance of the workflow `req` names, in partition `part`.
    pub(crate) fn new_instance(&self, req: StartRequest, part: u32) -> Result<Instance, EngineError> {
        let workflows = self.workflows.read().expect("lock").clone();
        let def = match &req.definition {
            Some(doc) => {
                // An inline definition is the starter's text: it may reference only what the
                // starter may, and its instance acts with the starter's authority.
                if let Err(denied) = req.started_by.check_references(doc) {
                    return Err(EngineError::Forbidden(denied.0));
                }
                let mut def = workflows.build_inline(doc).map_err(EngineError::InvalidDefinition)?;
                def.defined_by = req.started_by.clone();
                Arc::new(def)
            }
            None => workflows
                .get(&req.name, req.version)
                .ok_or_else(|| EngineError::UnknownWorkflow { name: req.name.clone(), version: req.version })?,
        };
        // Checked when it starts, whatever route or definition asked for it.
        let teams = self.secrets.values.read().expect("lock").teams().clone();
        let owner = teams.owner_by_name(vigil_core::team::ObjectKind::Workflows, &def.name);
        req.started_by.may_start(&def.name, owner).map_err(|denied| EngineError::Forbidden(denied.0))?;
        let id = req.id.unwrap_or_else(new_instance_id);
        let mut instance = new_instance(&def, id, req.input, self.clock.now());
        instance.definition = req.definition;
        instance.started_by = req.started_by;
        instance.correlation_id = req.correlation_id;
        instance.partition = part;
        Ok(instance)
    }

    /// Hands a new instance to its shard: a fire in its schedule's partition, any other start
    /// in a partition this node owns; `committed` is told once the start is durable.
    pub(crate) fn start(
        &self,
        req: StartRequest,
        fire: Option<FireRef>,
        committed: Option<oneshot::Sender<()>>,
    ) -> Result<String, EngineError> {
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::ShuttingDown);
        }
        // A fire runs in its schedule's partition (owned: only owned schedules fire here); any
        // other start in a partition this node owns.
        let id = req.id.clone().unwrap_or_else(new_instance_id);
        let part = match &fire {
            Some(f) => Some(vigil_store::partition_of(&f.schedule)),
            None => self.cluster.ownership.pick(&id),
        };
        let Some(part) = part else {
            self.workflows
                .read()
                .expect("lock")
                .get(&req.name, req.version)
                .ok_or_else(|| EngineError::UnknownWorkflow { name: req.name.clone(), version: req.version })?;
            return Err(EngineError::NoPartition);
        };
        let mut instance = self.new_instance(StartRequest { id: Some(id.clone()), ..req }, part)?;
        let started_by_fire = fire.is_some();
        instance.fire = fire;
        self.router.place(ShardMsg::Start { instance: Box::new(instance), started_by_fire, committed });
        Ok(id)
    }
}
