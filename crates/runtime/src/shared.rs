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
use crate::scheduler::command::SchedulerCmd;
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
    pub secrets: crate::secrets::SharedSecrets,
    /// Most bytes an instance's variables may take as JSON.
    pub max_variables_bytes: usize,
    /// Seals what UPDATE_SECRET stores.
    pub secret_box: Option<Arc<vigil_store::SecretBox>>,
    pub router: Router,
    pub timers: mpsc::UnboundedSender<crate::timers::TimerMsg>,
    pub waiters: Mutex<HashMap<String, Vec<oneshot::Sender<Instance>>>>,
    pub watchers: Mutex<HashMap<String, mpsc::UnboundedSender<Instance>>>,
    /// Running fire-started instances, and the room for more.
    pub fires: Arc<crate::admission::FireAdmission>,
    pub http: reqwest::Client,
    pub http_slots: tokio::sync::Semaphore,
    /// Finishes scripts and jq programs that ran past a step's budget.
    pub evaluator: crate::evaluator::Evaluator,
    pub stopping: Arc<AtomicBool>,
    pub finished: std::sync::atomic::AtomicU64,
    pub alerts: mpsc::UnboundedSender<crate::alerting::messages::AlertMsg>,
    pub notifiers: crate::alerting::delivery::Notifiers,
    /// The Alertmanager configuration alerts are routed with.
    pub routing: crate::routing::SharedRouting,
    pub work: Arc<crate::workers::WorkQueue>,
    pub scheduler: Mutex<Option<mpsc::UnboundedSender<SchedulerCmd>>>,
    /// The partitions this node runs.
    pub ownership: Arc<crate::cluster::ownership::Ownership>,
    /// Wakes the inbox reader (a notice, a gained partition).
    pub inbox_wake: tokio::sync::Notify,
    /// The event handlers in force.
    pub event_handlers: RwLock<Arc<crate::events::registry::HandlerSet>>,
    /// The config directory's event handlers (those stored through the API are read again).
    pub event_handler_files: Mutex<Vec<vigil_core::event_handler::EventHandler>>,
    /// Wakes the event consumers' supervisor (the handlers changed).
    pub events_wake: tokio::sync::Notify,
    /// Which workflows' status changes are published, and where.
    pub status_listeners: crate::status_events::config::StatusListenerConfig,
    /// Wakes the status publisher (a commit wrote status events).
    pub status_wake: tokio::sync::Notify,
    /// Publishes EVENT tasks' messages to their brokers.
    pub publisher: Arc<vigil_connectors::sinks::Publisher>,
    /// Heartbeat pings (the queues heartbeats listen to are consumed with the handlers').
    pub pings: crate::pings::Pings,
    /// The inbox messages handed over and not applied yet.
    pub inbox_handed: Arc<crate::cluster::handed::Handed>,
    /// Wakes the lease loop (another node released or joined).
    pub lease_wake: tokio::sync::Notify,
    /// Told when another node changed the definitions.
    pub definitions_changed: tokio::sync::Notify,
    /// The identity providers people sign in with (the config directory's `identity-providers/`).
    pub identity_providers: RwLock<Arc<Vec<vigil_core::identity::IdentityProviderDef>>>,
    /// What the monitors' files say that others read: which are paused, their maintenance
    /// windows (set with the monitors).
    pub declared_monitors: crate::monitors::declared::SharedDeclared,
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
        let teams = self.secrets.read().expect("lock").teams().clone();
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
            None => self.ownership.pick(&id),
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
