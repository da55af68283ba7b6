//! The engine: wiring of shards, committer, timers and scheduler, and its public handle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot};
use vigil_core::def::WorkflowSet;
use vigil_core::instance::{FireRef, Instance};
use vigil_core::interpreter::Event;
use vigil_core::schedule::ScheduleDef;
use vigil_core::script::ScriptLimits;
use vigil_core::time::{Clock, Millis};
use vigil_store::{Store, StoreError};

use crate::secrets::SecretValues;
use crate::shard::{self, ShardMsg};

mod ack;
pub use ack::LinkedAlert;
mod control;
mod work;

pub use crate::router::Router;
pub(crate) use crate::shared::Shared;
pub use crate::shared::{EngineError, StartRequest, new_instance_id};
use crate::{committer, scheduler, timers};
pub use control::ControlError;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Interpreter threads; instances are partitioned over them by id.
    pub shards: usize,
    /// Limits for each JavaScript evaluation.
    pub script_limits: ScriptLimits,
    /// Threads that finish scripts and jq programs past a step's budget
    /// ([`vigil_core::interpreter::Budget`]), beside the interpreter threads.
    pub evaluators: usize,
    /// Most concurrent HTTP task calls.
    pub max_http_in_flight: usize,
    /// Most instances started by schedule fires running at once; due fires past it wait
    /// (see [`crate::admission`]).
    pub max_running_fires: usize,
    /// Resume unfinished instances found in the store (off for one-shot `vigil run`).
    pub recover: bool,
    /// The notifiers known from the alert manager's first step (the configuration's; those
    /// written through the API are added to them): an alert told while the engine starts
    /// (a recovered ALERT task, an escalation step due) reaches them, policies expanded. `None`:
    /// none until [`Engine::set_notifiers`].
    pub notifiers: Option<Vec<vigil_connectors::notifiers::NotifierConfig>>,
    /// This node's part in a cluster (solo by default).
    pub cluster: crate::cluster::ClusterConfig,
    /// How monitor results are kept.
    pub monitor_history: crate::monitors::record::HistorySettings,
    /// Most threads the monitors are split over (each a single-threaded runtime); default one per
    /// core.
    pub monitor_threads: usize,
    /// Checks a second one monitors thread takes before they spread over one more (see
    /// `monitors::router`).
    pub monitor_checks_per_shard: u64,
    /// Seals the secrets UPDATE_SECRET tasks store; without it they fail.
    pub secret_box: Option<Arc<vigil_store::SecretBox>>,
    /// Most bytes an instance's variables may take as JSON (a SET_VARIABLE past it fails).
    pub max_variables_bytes: usize,
    /// How long ended instances, resolved alerts and notices are kept.
    pub retention: crate::retention::RetentionSettings,
    /// How long a stop waits for the notices due now to be sent (what is left is sent at the
    /// next start: it is in the outbox).
    pub notify_grace: std::time::Duration,
    /// The brokers EVENT tasks publish to.
    pub brokers: vigil_connectors::sinks::Brokers,
    /// Where workflows' status changes are published.
    pub status_listeners: crate::status_events::config::StatusListenerConfig,
    /// The notifiers alerts pushed through Alertmanager's API are told (without a routing tree).
    pub alert_receivers: Vec<String>,
    /// An Alertmanager configuration (`alertmanager.yml`'s text) to route with: published to the
    /// store at start, for every node.
    pub alertmanager_config: Option<String>,
    /// The server's public URL (`--public-url`): pages carry signed acknowledgement links to it.
    pub public_url: Option<String>,
    /// Most heartbeats pings may create (`?create=1`).
    pub heartbeats_created_most: usize,
}

/// [`EngineConfig::notify_grace`] by default.
pub const DEFAULT_NOTIFY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            shards: cores.max(2),
            script_limits: ScriptLimits::default(),
            evaluators: cores.max(2),
            max_http_in_flight: 1024,
            max_running_fires: crate::admission::DEFAULT_MAX_RUNNING_FIRES,
            recover: true,
            cluster: crate::cluster::ClusterConfig::default(),
            monitor_history: crate::monitors::record::HistorySettings::default(),
            monitor_threads: std::thread::available_parallelism().map_or(1, usize::from),
            monitor_checks_per_shard: crate::monitors::CHECKS_PER_SHARD,
            secret_box: None,
            max_variables_bytes: vigil_core::interpreter::MAX_VARIABLES_BYTES,
            retention: crate::retention::RetentionSettings::default(),
            notify_grace: DEFAULT_NOTIFY_GRACE,
            brokers: Default::default(),
            status_listeners: Default::default(),
            alert_receivers: Vec::new(),
            notifiers: None,
            alertmanager_config: None,
            public_url: None,
            heartbeats_created_most: crate::monitors::stored::MOST_CREATED,
        }
    }
}

/// Hands an event to an instance on whichever node runs it: this node's shard (returning once
/// committed), or the owner's inbox. Holds the engine weakly, so the work queue it is given does
/// not keep it alive.
fn deliver_anywhere(shared: &Arc<Shared>) -> crate::workers::Deliver {
    let weak = Arc::downgrade(shared);
    Arc::new(move |instance: String, part: u32, event: Event| {
        let weak = weak.clone();
        Box::pin(async move {
            let Some(shared) = weak.upgrade() else { return Err("the engine stopped".to_string()) };
            if shared.cluster.ownership.owns(part) {
                // Returns once committed: a worker reading its task right after the poll finds
                // it IN_PROGRESS. An instance that is gone does not hold the caller up.
                let (tx, rx) = tokio::sync::oneshot::channel();
                shared.router.place(crate::shard::messages::ShardMsg::EventCommitted(instance, event, tx));
                let _ = rx.await;
                return Ok(());
            }
            let msg = crate::cluster::inbox::InboxMsg::Event { instance, event };
            crate::cluster::inbox::send(&shared, part, &msg).await.map_err(|e| e.to_string())
        })
    })
}

use crate::definitions::retention_overrides;

/// A running engine. Cheap to clone: one reference count (the server clones it for every
/// request), whatever handles it is made of.
#[derive(Clone)]
pub struct Engine {
    parts: Arc<Parts>,
}

impl std::ops::Deref for Engine {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.parts
    }
}

/// What an engine is made of, behind one `Arc` (its fields are the engine's own).
pub struct Parts {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    committer_done: Mutex<Option<oneshot::Receiver<()>>>,
    cluster: crate::cluster::ClusterConfig,
    monitors: crate::monitors::Monitors,
    status_pages: crate::status_pages::StatusPages,
    relay: crate::monitors::relay::Relay,
    pings: crate::pings::Pings,
    retention: crate::retention::Retention,
    /// Notices due or in flight, for a stop that drains them.
    unsettled: Arc<crate::alerting::delivery::Unsettled>,
    notify_grace: std::time::Duration,
    /// The notifiers pushed alerts are told.
    alert_receivers: Vec<String>,
    /// What the monitors' files say that others read: which are paused, their maintenance
    /// windows (set with the monitors).
    declared_monitors: crate::monitors::declared::SharedDeclared,
    accounts: crate::accounts::Accounts,
}

impl Engine {
    /// Starts the engine and resumes every unfinished instance found in the store.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mut config: EngineConfig,
        workflows: WorkflowSet,
        mut secrets: SecretValues,
    ) -> Result<Engine, EngineError> {
        secrets.scrub_env(workflows.all().flat_map(|d| d.env_references()));
        if let Some(text) = &config.alertmanager_config {
            crate::routing::publish(&*store, config.secret_box.as_deref(), text).await?;
        }
        let (commit_tx, commit_rx) = mpsc::channel(8);
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..config.shards.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            receivers.push(rx);
        }
        let router = Router { shards: Arc::new(senders) };
        let (timer_tx, timer_rx) = mpsc::unbounded_channel();
        let (alert_tx, alert_rx) = mpsc::unbounded_channel();
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let (results_tx, results_rx) = mpsc::unbounded_channel();
        let (recorded_tx, recorded_rx) = mpsc::unbounded_channel();
        let notifiers: crate::alerting::delivery::Notifiers = Arc::default();
        let (beats_tx, beats_rx) = tokio::sync::mpsc::unbounded_channel();
        let (pings, ping_tasks) =
            crate::pings::Pings::spawn(store.clone(), clock.clone(), beats_tx, config.cluster.solo);
        let pages = crate::status_pages::SharedPages::default();
        let shared = Arc::new(Shared {
            store: store.clone(),
            clock: clock.clone(),
            workflows: RwLock::new(Arc::new(workflows)),
            secrets: crate::secrets::EngineSecrets {
                values: Arc::new(RwLock::new(Arc::new(secrets))),
                sealer: config.secret_box.clone(),
            },
            router: router.clone(),
            timers: timer_tx,
            instances: crate::shared::Instances::new(config.max_variables_bytes),
            schedules: crate::scheduler::SchedulesPort {
                admission: Arc::new(crate::admission::FireAdmission::new(config.max_running_fires)),
                commands: Mutex::new(None),
            },
            http: crate::http::Calls::new(config.max_http_in_flight),
            evaluator: crate::evaluator::Evaluator::start(config.evaluators, config.script_limits, {
                let router = router.clone();
                Arc::new(move |id: &str, event| router.send(id, event))
            }),
            stopping: Arc::new(AtomicBool::new(false)),
            alerting: crate::alerting::AlertingPort {
                sender: alert_tx,
                notifiers: notifiers.clone(),
                routing: Default::default(),
            },
            work: crate::workers::WorkQueue::new(clock.clone(), router.clone()),
            events: crate::events::EventsPort::new(
                pings.clone(),
                config.brokers.clone(),
                config.status_listeners.clone(),
            ),
            cluster: crate::cluster::ClusterState::new(&config.cluster.node.id, config.cluster.solo),
        });
        let declared_monitors = crate::monitors::declared::SharedDeclared::default();
        // Routing from the first push: this node's file, or the one another node published.
        let published = match &config.alertmanager_config {
            Some(text) => Some(text.clone()),
            None => crate::routing::read(&*store, config.secret_box.as_deref()).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "Could not read the published Alertmanager configuration.");
                None
            }),
        };
        if let Some(text) = published {
            crate::routing::install(&shared.alerting.routing, &text);
        }
        if let Some(notifiers) = config.notifiers.take() {
            install_with_stored(&shared, notifiers).await?;
        }
        if !config.cluster.solo {
            shared.work.share(crate::workers::SharedQueue::start(store.clone(), deliver_anywhere(&shared)));
        }
        let mut threads = Vec::new();
        for (n, rx) in receivers.into_iter().enumerate() {
            let shared = shared.clone();
            let commit_tx = commit_tx.clone();
            let limits = config.script_limits;
            let handle = std::thread::Builder::new()
                .name(format!("vigil-shard-{n}"))
                .stack_size(vigil_core::jq::MIN_THREAD_STACK)
                .spawn(move || shard::run(rx, commit_tx, shared, limits))
                .expect("spawn shard thread");
            threads.push(handle);
        }
        drop(commit_tx);
        let (done_tx, done_rx) = oneshot::channel();
        let unsettled = Arc::new(crate::alerting::delivery::Unsettled::default());
        let mut tasks = vec![
            tokio::spawn(crate::alerting::run(
                alert_rx,
                results_rx,
                alert_deps(&shared, &pages, &declared_monitors, config.public_url.as_deref()),
                (outbox_tx, recorded_tx),
            )),
            tokio::spawn(crate::alerting::delivery::run(
                outbox_rx,
                results_tx,
                recorded_rx,
                clock.clone(),
                (notifiers, shared.cluster.ownership.clone(), shared.secrets.values.clone(), unsettled.clone()),
            )),
            tokio::spawn(timers::run(timer_rx, clock.clone(), router.clone())),
            tokio::spawn(crate::workers::run_expiry(shared.work.clone())),
            tokio::spawn(committer::run(commit_rx, shared.clone(), done_tx)),
            tokio::spawn(crate::cluster::inbox::run(shared.clone())),
            tokio::spawn(crate::events::supervisor::run(shared.clone())),
            tokio::spawn(crate::status_events::run(shared.clone())),
        ];
        tasks.push(crate::cluster::leases::start(shared.clone(), config.cluster.clone(), config.recover).await?);
        tasks.extend(ping_tasks);
        let (retention, retention_task) = crate::retention::Retention::spawn(
            crate::retention::Deps {
                store: store.clone(),
                clock: clock.clone(),
                ownership: shared.cluster.ownership.clone(),
                alerts: shared.alerting.sender.clone(),
            },
            config.retention,
        );
        retention.set_overrides(retention_overrides(&shared.workflows.read().expect("lock")));
        tasks.push(retention_task);
        let monitors = crate::monitors::Monitors::spawn(
            crate::monitors::Deps {
                alerts: shared.alerting.sender.clone(),
                clock: clock.clone(),
                ownership: shared.cluster.ownership.clone(),
                credentials: {
                    let shared = shared.clone();
                    Arc::new(move |kind: &str, name: &str| {
                        use vigil_core::instance::SecretSource;
                        let secrets = shared.secrets.values.read().expect("lock").clone();
                        if kind == "secrets" { secrets.secret(name) } else { secrets.env(name) }
                    })
                },
                store: store.clone(),
                history: config.monitor_history,
                pings: pings.clone(),
            },
            beats_rx,
            crate::monitors::Sharding {
                most: config.monitor_threads,
                checks_per_shard: config.monitor_checks_per_shard,
            },
        )?;
        monitors.sources.set_most_created(config.heartbeats_created_most);
        let status_pages = crate::status_pages::StatusPages::new(crate::status_pages::Deps {
            store: store.clone(),
            clock: clock.clone(),
            stopping: shared.stopping.clone(),
            ownership: shared.cluster.ownership.clone(),
            secret_box: config.secret_box.clone(),
            http: shared.http.client.clone(),
            notifiers: shared.alerting.notifiers.clone(),
            public_url: config.public_url.clone(),
            declared_monitors: declared_monitors.clone(),
            monitors: monitors.clone(),
            pages,
        });
        let relay = crate::monitors::relay::Relay::new(
            monitors.clone(),
            store.clone(),
            clock.clone(),
            shared.cluster.ownership.clone(),
            shared.stopping.clone(),
        );
        Ok(Engine {
            parts: Arc::new(Parts {
                relay,
                status_pages,
                monitors,
                pings,
                retention,
                shared,
                tasks: Mutex::new(tasks),
                threads: Mutex::new(threads),
                committer_done: Mutex::new(Some(done_rx)),
                cluster: config.cluster,
                unsettled,
                notify_grace: config.notify_grace,
                alert_receivers: config.alert_receivers.clone(),
                declared_monitors,
                accounts: crate::accounts::Accounts::new(store.clone()),
            }),
        })
    }

    /// Returns when another node announces changed definitions (PostgreSQL `NOTIFY`).
    pub async fn definitions_changed(&self) {
        self.shared.cluster.definitions_changed.notified().await
    }

    /// The current time on the engine's clock.
    pub fn now(&self) -> Millis {
        self.shared.clock.now()
    }

    /// How many instances have ended (committed) since the engine started.
    pub fn finished_count(&self) -> u64 {
        self.shared.instances.finished.load(Ordering::Relaxed)
    }

    /// Replaces the config directory's monitors (start, reload); those kept in the store stay.
    pub fn set_monitors(&self, files: Vec<vigil_core::monitor::MonitorDef>) {
        let defs = self.monitors.sources.set_files(files);
        self.run_monitors(defs);
    }

    /// Reads the monitors kept in the store again (a ping's heartbeats); whether they changed.
    pub async fn load_stored_monitors(&self) -> Result<bool, vigil_store::StoreError> {
        let rows = crate::monitors::stored::read(&*self.shared.store).await?;
        match self.monitors.sources.set_stored(rows) {
            Some(defs) => {
                self.run_monitors(defs);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads the stored monitors every few seconds until the engine stops (the server runs
    /// this), so a heartbeat a ping created on one node runs on every node.
    pub async fn follow_stored_monitors_forever(self) {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            if self.shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.load_stored_monitors().await {
                tracing::warn!(error = %e, "Could not read the stored monitors; trying again shortly.");
            }
        }
    }

    /// Creates heartbeat `name` for a ping that asks for it (`?create=1`), unless as many as
    /// allowed ([`EngineConfig::heartbeats_created_most`]) were created by pings already; its
    /// ping id, once it runs here.
    pub async fn create_heartbeat(&self, name: &str) -> Result<String, crate::monitors::stored::CreateError> {
        let most = self.monitors.sources.most_created();
        crate::monitors::stored::create_heartbeat(&*self.shared.store, name, most, self.now()).await?;
        self.load_stored_monitors().await?;
        // The shard that runs it registers its ping id.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            if let Some(id) = self.ping_id_of(name) {
                tracing::info!(monitor = %name, "A ping created a heartbeat.");
                return Ok(id);
            }
            if std::time::Instant::now() > deadline {
                return Err(crate::monitors::stored::CreateError::NotRunning(name.into()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Removes monitor `name` kept in the store (a ping's heartbeat); whether there was one.
    /// Every node stops running it within seconds, this one at once.
    pub async fn delete_stored_monitor(&self, name: &str) -> Result<bool, vigil_store::StoreError> {
        let deleted = crate::monitors::stored::delete(&*self.shared.store, name).await?;
        if deleted {
            self.load_stored_monitors().await?;
        }
        Ok(deleted)
    }

    /// Whether monitor `name` comes from the config directory.
    pub fn monitor_from_file(&self, name: &str) -> bool {
        self.monitors.sources.from_file(name)
    }

    /// Runs `defs`, the monitors of the files and the store.
    fn run_monitors(&self, mut defs: Vec<vigil_core::monitor::MonitorDef>) {
        // Cycles are refused when the files are read; any left (through the API) still end.
        vigil_core::monitor::fill_ancestors(&mut defs);
        vigil_core::monitor::share_routes(&mut defs);
        let declared = crate::monitors::declared::DeclaredMonitors::of(&defs);
        *self.declared_monitors.write().expect("lock") = Arc::new(declared);
        self.monitors.set(defs);
    }

    /// Every monitor's last check and next due time.
    pub async fn monitors(&self) -> Vec<crate::monitors::MonitorStatus> {
        self.monitors.list().await
    }

    /// Every monitor's checks on this node per outcome (`vigil_monitor_checks_total`), by name.
    pub async fn monitor_check_counts(&self) -> Vec<(String, crate::monitors::CheckCounts)> {
        self.monitors.check_counts().await
    }

    /// One monitor's status, without running it.
    pub async fn monitor(&self, name: &str) -> Option<crate::monitors::MonitorStatus> {
        self.monitors.get(name).await
    }

    /// The monitors' relay: what memory holds of a monitor, from whichever node runs it.
    pub fn monitor_relay(&self) -> &crate::monitors::relay::Relay {
        &self.relay
    }

    /// The event handlers' handle: registering them, and the messages they parked.
    pub fn events(&self) -> crate::events::handle::EventHandlers {
        crate::events::handle::EventHandlers::new(self.shared.clone())
    }

    /// The status pages' handle: pages, incidents, subscribers, maintenance and badges.
    pub fn status_pages(&self) -> &crate::status_pages::StatusPages {
        &self.status_pages
    }

    /// What the monitors' files say that others read: which are paused, their own maintenance
    /// windows.
    pub fn declared_monitors(&self) -> Arc<crate::monitors::declared::DeclaredMonitors> {
        self.declared_monitors.read().expect("lock").clone()
    }

    /// `name`'s stored history buckets from `since` on, oldest first, at most `limit`.
    pub async fn monitor_history(
        &self,
        name: &str,
        since: vigil_core::time::Millis,
        limit: u32,
    ) -> vigil_store::Result<Vec<vigil_store::MonitorHistoryRow>> {
        self.shared.store.monitor_history(name, since, limit).await
    }

    /// `name`'s downsampled buckets of `width` from `since` on, oldest first, at most `limit`.
    pub async fn monitor_rollups(
        &self,
        name: &str,
        width: vigil_core::time::Millis,
        since: vigil_core::time::Millis,
        limit: u32,
    ) -> vigil_store::Result<Vec<vigil_store::MonitorHistoryRow>> {
        self.shared.store.monitor_rollups(name, width, since, limit).await
    }

    /// Uptime counts per `(monitor, series)` over 24 hours, 7 days and 30 days, of `name` (every
    /// monitor when empty).
    pub async fn monitor_uptime(
        &self,
        name: &str,
    ) -> vigil_store::Result<std::collections::BTreeMap<(String, String), crate::monitors::uptime::Counts>> {
        crate::monitors::uptime::read(&*self.shared.store, name, self.now()).await
    }

    /// The ping id of heartbeat monitor `monitor`, if it is one.
    pub fn ping_id_of(&self, monitor: &str) -> Option<String> {
        self.pings.id_of(monitor)
    }

    /// The heartbeat monitor ping id `id` belongs to, if any.
    pub fn ping_monitor(&self, id: &str) -> Option<String> {
        self.pings.monitor_of(id)
    }

    /// Records a heartbeat ping for ping id `id`; returns its monitor once the ping is durable.
    pub async fn ping(&self, id: &str, ping: crate::pings::Ping) -> Result<String, crate::pings::PingError> {
        self.pings.ping(id, ping).await
    }

    /// Runs monitor `name` now; its status after the check, `None` when it does not exist.
    pub async fn check_monitor(&self, name: &str) -> Option<crate::monitors::MonitorStatus> {
        self.monitors.check_now(name).await
    }

    /// Instances started by schedule fires that are running on this node.
    pub fn running_fires(&self) -> usize {
        self.shared.schedules.admission.total()
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    /// The loaded workflow definitions.
    pub fn workflows(&self) -> Arc<WorkflowSet> {
        self.shared.workflows.read().expect("lock").clone()
    }

    /// Replaces the workflow definitions; running instances keep the version they started with
    /// as long as it is still loaded.
    pub fn set_workflows(&self, workflows: WorkflowSet) {
        self.definitions().set_workflows(workflows);
    }

    /// The definitions' handle: workflows, task definitions, schedules and notifiers written
    /// through the API.
    pub fn definitions(&self) -> crate::definitions::Definitions {
        crate::definitions::Definitions::new(self.shared.clone(), self.retention.clone())
    }

    /// Replaces the notifiers; queued notifications for a removed notifier fail as unconfigured.
    /// The Alertmanager configuration's receivers stay.
    pub fn set_notifiers(&self, notifiers: Vec<vigil_connectors::notifiers::NotifierConfig>) {
        install_notifiers(&self.shared, notifiers);
    }

    /// Replaces the notifiers with the configuration's `notifiers` and those written through the
    /// API (a stored one of a name the configuration has is not taken); how many there are. When
    /// the stored ones cannot be read, the configuration's are installed alone, and the error
    /// returned.
    pub async fn load_notifiers(
        &self,
        notifiers: Vec<vigil_connectors::notifiers::NotifierConfig>,
    ) -> Result<usize, vigil_store::StoreError> {
        install_with_stored(&self.shared, notifiers).await
    }

    /// The Alertmanager configuration alerts are routed with, if one is loaded.
    pub fn routing(&self) -> Option<Arc<crate::routing::Routing>> {
        self.shared.alerting.routing.read().expect("lock").clone()
    }

    /// Adds or replaces one notifier.
    pub fn put_notifier(&self, notifier: vigil_connectors::notifiers::NotifierConfig) {
        self.shared.alerting.put_notifier(notifier);
    }

    /// Removes one notifier; false when there was none.
    pub fn remove_notifier(&self, name: &str) -> bool {
        self.shared.alerting.remove_notifier(name)
    }

    /// Instances matching `filter`; a text search that holds a secret finds nothing.
    pub async fn search_instances(
        &self,
        filter: &vigil_store::InstanceFilter,
    ) -> Result<Vec<vigil_store::InstanceSummary>, StoreError> {
        let names_a_secret =
            filter.text.as_deref().is_some_and(|t| self.shared.secrets.values.read().expect("lock").mentioned_in(t));
        if names_a_secret {
            return Ok(Vec::new());
        }
        self.shared.store.list_instances(filter).await
    }

    /// The secret value named `name`, for credentials in notifiers written through the API.
    pub fn secret_value(&self, name: &str) -> Option<String> {
        self.shared.secrets.secret(name)
    }

    /// `value` with every form of every secret value masked (what an audit row records).
    pub fn scrub_secrets(&self, value: &mut serde_json::Value) {
        use vigil_core::interpreter::Secrets;
        self.shared.secrets.values.read().expect("lock").scrub(value);
    }

    /// The configured notifiers as (name, type), by name; never their settings (they hold
    /// credentials).
    pub fn notifier_names(&self) -> Vec<(String, &'static str)> {
        let known = self.shared.alerting.notifiers.read().expect("lock").clone();
        let mut out: Vec<_> =
            known.iter().flat_map(|m| m.values()).map(|n| (n.name().to_string(), n.type_name())).collect();
        out.sort();
        out
    }

    /// Acknowledges an alert: reminders stop and providers are told. False when it is not firing.
    pub async fn acknowledge(&self, dedup_key: &str) -> bool {
        // A routed pushed alert has no record: its groups are acknowledged, wherever they are.
        if vigil_core::alertmanager::request::is_pushed_key(dedup_key)
            && matches!(self.shared.store.alert(dedup_key).await, Ok(None))
        {
            let groups = crate::alert_rows::groups_holding(&*self.shared.store, dedup_key).await.unwrap_or_default();
            if !groups.is_empty() {
                let mut any = false;
                for group in groups {
                    any |= self.acknowledge_key(&group).await;
                }
                return any;
            }
        }
        self.acknowledge_key(dedup_key).await
    }

    /// Acknowledges the alert or group `dedup_key` through the node that owns it.
    async fn acknowledge_key(&self, dedup_key: &str) -> bool {
        if !self.shared.cluster.ownership.owns_key(dedup_key) {
            // Another node owns the key: it applies the request at its next look (within 2 s).
            let firing = matches!(self.shared.store.alert(dedup_key).await, Ok(Some(a)) if a.condition == "firing")
                || matches!(self.shared.store.alert_group(dedup_key).await, Ok(Some(_)));
            return firing && self.shared.store.request_ack(dedup_key, self.now()).await.is_ok();
        }
        let (tx, rx) = oneshot::channel();
        let msg = crate::alerting::AlertMsg::Acknowledge { dedup_key: dedup_key.to_string(), reply: tx };
        if self.shared.alerting.sender.send(msg).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Replaces the secret values.
    pub fn set_secrets(&self, mut secrets: SecretValues) {
        secrets.set_teams(self.teams());
        secrets.scrub_env(self.workflows().all().flat_map(|d| d.env_references()));
        *self.shared.secrets.values.write().expect("lock") = Arc::new(secrets);
    }

    /// Replaces the teams (start, reload): who owns what ([`vigil_core::team`]).
    pub fn set_teams(&self, teams: Vec<vigil_core::team::TeamDef>) {
        self.set_teams_in_folders(teams, vigil_core::team::Folders::default());
    }

    /// Replaces the teams, with the config directory's folders the objects are in (a team may
    /// own a folder).
    pub fn set_teams_in_folders(&self, teams: Vec<vigil_core::team::TeamDef>, folders: vigil_core::team::Folders) {
        let mut values = self.shared.secrets.values.write().expect("lock");
        let mut next = SecretValues::clone(&values);
        next.set_teams(Arc::new(vigil_core::team::Teams::new(teams).with_folders(folders)));
        *values = Arc::new(next);
    }

    /// The teams in force.
    pub fn teams(&self) -> Arc<vigil_core::team::Teams> {
        self.shared.secrets.values.read().expect("lock").teams().clone()
    }

    /// The secrets kept in the store, sealed.
    pub fn stored_secrets(&self) -> crate::stored_secrets::StoredSecrets {
        crate::stored_secrets::StoredSecrets::new(self.shared.store.clone(), self.shared.clock.clone())
    }

    /// The alerts' rows: alerts, acknowledgements, the outbox and silences.
    pub fn alert_rows(&self) -> crate::rows::Rows<dyn vigil_store::AlertingStore> {
        crate::rows::Rows::new(self.shared.store.clone(), |s| s)
    }

    /// The instances' rows: instances, their work and the cluster inbox.
    pub fn instance_rows(&self) -> crate::rows::Rows<dyn vigil_store::WorkflowStore> {
        crate::rows::Rows::new(self.shared.store.clone(), |s| s)
    }

    /// The monitors' rows: results and history, pings, evidence.
    pub fn monitor_rows(&self) -> crate::rows::Rows<dyn vigil_store::MonitorStore> {
        crate::rows::Rows::new(self.shared.store.clone(), |s| s)
    }

    /// The schedules' rows: fire claims and cursors.
    pub fn fire_rows(&self) -> crate::rows::Rows<dyn vigil_store::FireStore> {
        crate::rows::Rows::new(self.shared.store.clone(), |s| s)
    }

    /// The cluster's nodes, their partitions and the scheduling lag, as of now.
    pub async fn cluster_status(&self) -> vigil_store::Result<crate::cluster::status::ClusterStatus> {
        crate::cluster::status::read(&*self.shared.store, self.now()).await
    }

    /// The accounts' handle: people, tokens, sessions, sign-ins, identity providers, audit.
    pub fn accounts(&self) -> &crate::accounts::Accounts {
        &self.accounts
    }

    /// Starts an instance; returns its id once it is queued (it is durable after the next commit).
    pub fn start_instance(&self, req: StartRequest) -> Result<String, EngineError> {
        self.start_with(req, None)
    }

    /// Starts an instance and returns its id once its start is committed: a caller told "started"
    /// never loses it to a crash. Starting an id that is already running only waits for it.
    pub async fn start_durable(&self, req: StartRequest) -> Result<String, EngineError> {
        crate::starting::start_durable(&self.shared, req).await
    }

    /// Starts an instance whose id names it for good (an event handler's start, the same on
    /// every delivery of its message), only in its home partition, so that two nodes starting
    /// it at once start it once; returns once its start is committed or in its owner's inbox.
    pub async fn start_once(&self, req: StartRequest) -> Result<String, EngineError> {
        crate::starting::start_durable_at_home(&self.shared, req).await
    }

    /// Takes alerts pushed through Alertmanager's API (`POST /api/v2/alerts`, read by
    /// [`vigil_core::alertmanager::read_posted`]) into the alert lifecycle; returns once each is
    /// durable (committed here, or in its owner's inbox).
    pub async fn push_alerts(&self, alerts: &[vigil_core::alertmanager::Alert]) -> Result<(), EngineError> {
        crate::pushed_alerts::push(&self.shared, alerts, &self.alert_receivers).await
    }

    pub(crate) fn start_with(&self, req: StartRequest, fire: Option<FireRef>) -> Result<String, EngineError> {
        self.start_inner(req, fire, None)
    }

    fn start_inner(
        &self,
        req: StartRequest,
        fire: Option<FireRef>,
        committed: Option<oneshot::Sender<()>>,
    ) -> Result<String, EngineError> {
        self.shared.start(req, fire, committed)
    }

    /// Sends an event to an instance.
    pub fn send(&self, id: &str, event: Event) {
        self.shared.router.send(id, event);
    }

    /// Waits until instance `id` ends and returns its final state.
    pub async fn wait(&self, id: &str) -> Result<Instance, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.shared.instances.waiters.lock().expect("lock").entry(id.to_string()).or_default().push(tx);
        if let Some(done) = self.shared.store.instance(id).await?.filter(|i| i.status.is_terminal()) {
            drop(rx);
            let mut waiters = self.shared.instances.waiters.lock().expect("lock");
            if let Some(list) = waiters.get_mut(id) {
                list.retain(|w| !w.is_closed());
                if list.is_empty() {
                    waiters.remove(id);
                }
            }
            return Ok(done);
        }
        rx.await.map_err(|_| EngineError::ShuttingDown)
    }

    /// Receives every committed state of instance `id` (for progress output).
    pub fn watch(&self, id: &str) -> mpsc::UnboundedReceiver<Instance> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut watchers = self.shared.instances.watchers.lock().expect("lock");
        // A watcher whose receiver is gone and whose instance never changed again is dropped here.
        watchers.retain(|_, tx| !tx.is_closed());
        watchers.insert(id.to_string(), tx);
        rx
    }

    /// Starts firing `schedules`; [`Engine::schedule_command`] changes them while running.
    pub async fn run_schedules(&self, schedules: Vec<ScheduleDef>) -> Result<(), EngineError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = scheduler::spawn(scheduler_deps(&self.shared), schedules, rx).await?;
        *self.shared.schedules.commands.lock().expect("lock") = Some(tx);
        self.tasks.lock().expect("lock").push(handle);
        Ok(())
    }

    /// Whether a scheduler runs in this process.
    pub fn has_scheduler(&self) -> bool {
        self.shared.schedules.commands.lock().expect("lock").is_some()
    }

    /// Sends a change to the running scheduler; false when no scheduler runs.
    pub fn schedule_command(&self, cmd: scheduler::SchedulerCmd) -> bool {
        self.shared.schedules.send(cmd)
    }

    /// The running schedules with their next fire times (empty when no scheduler runs).
    pub async fn schedules(&self) -> Vec<(ScheduleDef, Option<Millis>)> {
        self.shared.schedules.list().await
    }

    pub(crate) fn place(&self, msg: ShardMsg) {
        self.shared.router.place(msg);
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.shared.stopping.load(Ordering::SeqCst)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Sends the notices due now before the engine stops, for at most the notify grace: what the
    /// stopping instances and monitors raised is committed first, then delivered (or left, durable,
    /// for the next start, with one line saying how many).
    async fn drain_notices(&self) {
        if self.notify_grace.is_zero() {
            return;
        }
        let started = tokio::time::Instant::now();
        let (tx, rx) = oneshot::channel();
        if self.shared.alerting.sender.send(crate::alerting::AlertMsg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(self.notify_grace, rx).await;
        }
        let grace = self.notify_grace.saturating_sub(started.elapsed());
        match self.unsettled.settle(grace).await {
            Some(0) => {}
            Some(left) => tracing::warn!(
                notices = left,
                grace_seconds = self.notify_grace.as_secs_f64(),
                "Stopping with notices not yet sent; they are in the outbox and go at the next start."
            ),
            None => {
                tracing::warn!("Stopping before notification delivery answered; pending notices go at the next start.")
            }
        }
    }

    /// Stops accepting work, lets shards commit what they hold, and waits for the last commit,
    /// then sends the notices due (within the notify grace).
    /// In-flight HTTP calls are abandoned; they are re-sent on the next start.
    pub async fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for tx in self.shared.router.shards.iter() {
            let _ = tx.send(ShardMsg::Event(String::new(), Event::Continue));
        }
        let threads: Vec<_> = std::mem::take(&mut *self.threads.lock().expect("lock"));
        let _ = tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join()))).await;
        let done = self.committer_done.lock().expect("lock").take();
        if let Some(done) = done {
            let _ = done.await;
        }
        self.monitors.stop().await;
        self.drain_notices().await;
        crate::cluster::leases::stop(&self.shared, &self.cluster).await;
        for t in self.tasks.lock().expect("lock").drain(..) {
            t.abort();
        }
    }
}

/// The scheduler's share of the engine.
fn scheduler_deps(shared: &Arc<Shared>) -> crate::scheduler::deps::SchedulerDeps {
    let (starter, loser) = (shared.clone(), shared.clone());
    crate::scheduler::deps::SchedulerDeps {
        store: shared.store.clone(),
        clock: shared.clock.clone(),
        ownership: shared.cluster.ownership.clone(),
        fires: shared.schedules.admission.clone(),
        stopping: shared.stopping.clone(),
        start: Arc::new(move |req, fire| starter.start(req, Some(fire), None)),
        lose: Arc::new(move |parts| crate::cluster::lose(&loser, parts)),
    }
}

/// The alert manager's share of the engine.
fn alert_deps(
    shared: &Arc<Shared>,
    pages: &crate::status_pages::SharedPages,
    declared: &crate::monitors::declared::SharedDeclared,
    public_url: Option<&str>,
) -> crate::alerting::AlertDeps {
    let loser = shared.clone();
    crate::alerting::AlertDeps {
        store: shared.store.clone(),
        clock: shared.clock.clone(),
        ownership: shared.cluster.ownership.clone(),
        notifiers: shared.alerting.notifiers.clone(),
        routing: shared.alerting.routing.clone(),
        sealer: shared.secrets.sealer.clone(),
        router: shared.router.clone(),
        lose: Arc::new(move |parts| crate::cluster::lose(&loser, parts)),
        inbox: shared.cluster.inbox_handed.clone(),
        status_pages: pages.clone(),
        declared_monitors: declared.clone(),
        secrets: shared.secrets.values.clone(),
        external_url: public_url.unwrap_or_default().trim_end_matches('/').to_string(),
        ack_links: public_url
            .zip(shared.secrets.sealer.clone())
            .map(|(url, sealer)| crate::ack_link::AckLinks::new(url, sealer)),
    }
}

/// Installs `notifiers` with those stored through the API that they do not shadow; their count.
/// A failed read of the stored ones installs `notifiers` alone and returns the error.
async fn install_with_stored(
    shared: &Shared,
    mut notifiers: Vec<vigil_connectors::notifiers::NotifierConfig>,
) -> Result<usize, vigil_store::StoreError> {
    let secret = |name: &str| {
        use vigil_core::instance::SecretSource;
        shared.secrets.values.read().expect("lock").secret(name)
    };
    let stored = crate::stored_notifiers::read(&*shared.store, &secret).await;
    for n in stored.as_ref().map(|s| s.as_slice()).unwrap_or_default() {
        if !notifiers.iter().any(|f| f.name() == n.name()) {
            notifiers.push(n.clone());
        }
    }
    let count = notifiers.len();
    install_notifiers(shared, notifiers);
    stored.map(|_| count)
}

/// Makes `notifiers` (and the Alertmanager configuration's receivers) the ones alerts are told to.
fn install_notifiers(shared: &Shared, notifiers: Vec<vigil_connectors::notifiers::NotifierConfig>) {
    let routed = shared.alerting.routing.read().expect("lock").clone();
    let receivers = routed.iter().flat_map(|r| r.notifiers.clone());
    let map = notifiers.into_iter().chain(receivers).map(|n| (n.name().to_string(), Arc::new(n))).collect();
    *shared.alerting.notifiers.write().expect("lock") = Some(Arc::new(map));
}
