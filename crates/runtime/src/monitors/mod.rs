//! The light path for monitors: a check is not a workflow instance.
//!
//! The monitors are split over shards by a hash of their name, each a single-threaded runtime on
//! a thread of its own ([`shard`]): one per core at most, and only as many as their load needs
//! ([`router`]). A shard keeps its monitors' next
//! due times in a heap (as the scheduler does for schedules). When one is due it asks the source
//! on a task of the shard's own (at most [`MAX_IN_FLIGHT`] over all shards; a monitor whose
//! previous check still runs skips the slot), evaluates the answer in Rust
//! ([`vigil_core::monitor::evaluate`]), and hands each series' tier to the alert manager as an
//! observation: the alert manager commits state changes and their notices before anything is
//! sent, as for ALERT tasks. Nothing is written per check: alert transitions are durable through
//! the alert manager, and [`record`] batches each series' latest reading and a compact history
//! into the store about once a second.
//!
//! A check's timer, its socket and its result stay on one thread: on the engine's shared
//! runtime a check woke three tasks, often on both threads, and the sleeping and waking cost
//! more CPU than the check.
//!
//! After a restart a monitor learns the series it had alerts for from the stored alerts, so a
//! series that is gone by then still resolves, and its last readings from the stored results.
//!
//! The module owns its handle ([`Monitors`]) and message type ([`MonitorCmd`]); it reaches the rest
//! of the engine only through [`Deps`].

mod bucket;
pub mod declared;
mod observe;
pub mod recent;
pub mod record;
pub mod relay;
mod router;
mod shard;
pub mod stored;
mod table;
pub mod uptime;

pub use router::{CHECKS_PER_SHARD, Sharding};

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use vigil_connectors::sources::{Source, ask_at};
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Answer, Reading};
use vigil_core::time::{Clock, Millis};

use crate::alerting::messages::AlertMsg;
use crate::cluster::ownership::Ownership;

/// Most checks in flight at once over all shards; more due checks wait for a slot.
pub const MAX_IN_FLIGHT: usize = 1_024;

/// Looks up a credential: `("secrets", name)` or `("env", name)`.
pub type Lookup = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// What the monitors need from the engine.
#[derive(Clone)]
pub struct Deps {
    /// The alert manager.
    pub alerts: mpsc::UnboundedSender<AlertMsg>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Which partitions this node runs (a monitor runs where its name's partition is owned).
    pub ownership: Arc<Ownership>,
    /// Secrets for source credentials.
    pub credentials: Lookup,
    /// The store, to learn which series had alerts before a restart, and for results.
    pub store: Arc<dyn vigil_store::Store>,
    /// How results are kept.
    pub history: record::HistorySettings,
    /// Heartbeat pings: the monitors tell it the ping ids.
    pub pings: crate::pings::Pings,
}

/// What a monitor's last check found, for `vigil monitors` and the API.
#[derive(Debug, Clone)]
pub struct MonitorStatus {
    /// The monitor.
    pub name: String,
    /// Its source kind.
    pub source: String,
    /// When its last check started, if it ran.
    pub last_check: Option<Millis>,
    /// How long the last check took.
    pub took_ms: Option<u64>,
    /// The source's error, if the last check failed.
    pub error: Option<String>,
    /// The series of the last check.
    pub series: Vec<Reading>,
    /// Its next due time.
    pub next_check: Option<Millis>,
    /// Paused in its file.
    pub paused: bool,
    /// Its badges answer anyone (`publicBadge`).
    pub public_badge: bool,
    /// A heartbeat monitor's ping id (`/ping/{id}`).
    pub ping_id: Option<String>,
    /// The queue a heartbeat listens to, if any.
    pub ping_queue: Option<String>,
    /// A heartbeat's pings so far (what it was last told: up, down, started).
    pub beats: Option<vigil_core::monitor::expect::Beats>,
    /// Its warning threshold, if it has one.
    pub warning: Option<vigil_core::monitor::Threshold>,
    /// Its critical threshold, if it has one.
    pub critical: Option<vigil_core::monitor::Threshold>,
    /// Its labels (alerts and silences match on them).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// What only the memory of the node running a monitor holds: its last checks (the beat bar) and
/// its history not written yet (merged into the charts until it is).
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The last checks, oldest first.
    pub beats: Vec<recent::Beat>,
    /// History buckets the store does not hold yet, per series, oldest first.
    pub unwritten: Vec<vigil_store::MonitorHistoryRow>,
}

/// A monitor's checks on this node since it started, per outcome: ok, warning, critical, error
/// ([`OUTCOMES`]).
pub type CheckCounts = [u64; 4];

/// The outcomes [`CheckCounts`] counts, in its order.
pub const OUTCOMES: [&str; 4] = ["ok", "warning", "critical", "error"];

/// What the handle asks of the monitors.
pub enum MonitorCmd {
    /// Replaces the monitors (start, reload).
    Set(Vec<MonitorDef>),
    /// Runs a monitor now; answers with its status after the check.
    CheckNow(String, oneshot::Sender<Option<MonitorStatus>>),
    /// Every monitor's status, by name.
    List(oneshot::Sender<Vec<MonitorStatus>>),
    /// One monitor's status, without a check.
    Get(String, oneshot::Sender<Option<MonitorStatus>>),
    /// What only memory holds of one monitor.
    Live(String, oneshot::Sender<Option<Live>>),
    /// Every monitor's checks so far per outcome.
    Counts(oneshot::Sender<Vec<(String, CheckCounts)>>),
    /// Writes the open history buckets and pending results; answers when they are written.
    Stop(oneshot::Sender<()>),
}

/// The handle. Cheap to clone.
#[derive(Clone)]
pub struct Monitors {
    router: mpsc::UnboundedSender<MonitorCmd>,
    writer: mpsc::UnboundedSender<record::WriterMsg>,
    /// Where the monitors in force come from: the files and the store.
    pub sources: std::sync::Arc<stored::Sources>,
}

/// The shard (of `count`) that runs monitor `name`.
fn shard_of(name: &str, count: usize) -> usize {
    vigil_store::partition_of(name) as usize % count.max(1)
}

impl Monitors {
    /// Starts the shards' threads (as many are used as the load needs, see [`router`]);
    /// heartbeat states (from pings) arrive on `beats`.
    pub fn spawn(
        deps: Deps,
        beats: mpsc::UnboundedReceiver<Vec<vigil_store::HeartbeatRow>>,
        sharding: Sharding,
    ) -> std::io::Result<Monitors> {
        let (writer, writer_rx) = mpsc::unbounded_channel();
        tokio::spawn(record::writer(writer_rx, deps.store.clone(), deps.clock.clone(), deps.history));
        let shards = router::start_shards(sharding.most, &deps, &writer)?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(router::run(shards, sharding, rx, beats, deps.clock.clone()));
        Ok(Monitors { router: tx, writer, sources: Default::default() })
    }

    /// Asks the router, and waits for the answer; `None` when the monitors have stopped.
    async fn ask<T>(&self, cmd: impl FnOnce(oneshot::Sender<T>) -> MonitorCmd) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.router.send(cmd(tx)).ok()?;
        rx.await.ok()
    }

    /// Replaces the monitors.
    pub fn set(&self, defs: Vec<MonitorDef>) {
        metrics::gauge!("vigil_monitors").set(defs.len() as f64);
        let keep = defs.iter().filter_map(|d| Some((d.name.clone(), d.retention()?.history?))).collect();
        let _ = self.writer.send(record::WriterMsg::Keep(keep));
        let _ = self.router.send(MonitorCmd::Set(defs));
    }

    /// Runs `name` now and returns its status after the check; `None` when it does not exist.
    pub async fn check_now(&self, name: &str) -> Option<MonitorStatus> {
        self.ask(|tx| MonitorCmd::CheckNow(name.to_string(), tx)).await.flatten()
    }

    /// Writes the open history buckets and pending results (a graceful stop).
    pub async fn stop(&self) {
        self.ask(MonitorCmd::Stop).await;
    }

    /// One monitor's status (no check); `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Option<MonitorStatus> {
        self.ask(|tx| MonitorCmd::Get(name.to_string(), tx)).await.flatten()
    }

    /// What only memory holds of `name`: its last checks and unwritten history; `None` when
    /// it does not exist.
    pub async fn live(&self, name: &str) -> Option<Live> {
        self.ask(|tx| MonitorCmd::Live(name.to_string(), tx)).await.flatten()
    }

    /// Every monitor's status, by name.
    pub async fn list(&self) -> Vec<MonitorStatus> {
        self.ask(MonitorCmd::List).await.unwrap_or_default()
    }

    /// Every monitor's checks on this node per outcome, by name.
    pub async fn check_counts(&self) -> Vec<(String, CheckCounts)> {
        self.ask(MonitorCmd::Counts).await.unwrap_or_default()
    }
}

/// Asks a source of `monitor` at the engine's clock; a `job_latency` source on a vigil workflow
/// reads the workflow's newest runs from the store instead of calling out, and a failed browser
/// check's screenshot and console are kept in the store.
pub async fn ask_with_store(
    client: &reqwest::Client,
    store: &dyn vigil_store::Store,
    source: &Source,
    now: Millis,
    monitor: &str,
) -> Answer {
    if let Source::Browser(browser) = source {
        return Box::pin(visit_keeping_evidence(store, browser, monitor, now)).await;
    }
    let Source::JobLatency(job) = source else { return ask_at(client, source, now).await };
    let Some(workflow) = &job.config.workflow else { return ask_at(client, source, now).await };
    Box::pin(newest_runs(store, job, workflow, now)).await
}

/// A browser check of `monitor`; what a failure leaves is kept in the store.
async fn visit_keeping_evidence(
    store: &dyn vigil_store::Store,
    browser: &vigil_connectors::sources::browser::BrowserSource,
    monitor: &str,
    now: Millis,
) -> Answer {
    let (answer, evidence) = browser.visit().await;
    if let Some(e) = evidence {
        let kept = vigil_store::CheckEvidence {
            monitor: monitor.to_string(),
            at: now,
            note: e.note,
            console: e.console,
            screenshot_bytes: e.screenshot.len() as i64,
            screenshot: e.screenshot,
        };
        if let Err(error) = store.keep_check_evidence(&kept).await {
            tracing::warn!(monitor, %error, "Could not keep a failed browser check's screenshot and console.");
        }
    }
    answer
}

/// A `job_latency` source on a vigil workflow, judged from the workflow's newest runs.
async fn newest_runs(
    store: &dyn vigil_store::Store,
    job: &vigil_connectors::sources::job_latency::JobLatency,
    workflow: &str,
    now: Millis,
) -> Answer {
    use vigil_core::instance::WorkflowStatus;
    let newest = |status: Option<WorkflowStatus>| vigil_store::InstanceFilter {
        workflow_name: Some(workflow.to_string()),
        statuses: status.into_iter().collect(),
        limit: 1,
        ..Default::default()
    };
    let (done_filter, any_filter) = (newest(Some(WorkflowStatus::Completed)), newest(None));
    let (completed, latest) = match tokio::join!(store.list_instances(&done_filter), store.list_instances(&any_filter))
    {
        (Ok(c), Ok(l)) => (c, l),
        (Err(e), _) | (_, Err(e)) => return Answer::Failed(format!("reading `{workflow}`'s runs: {e}")),
    };
    let Some(last) = completed.first() else {
        return Answer::Failed(format!("workflow `{workflow}` has no completed run yet"));
    };
    // The newest run's outcome: a failed, terminated or timed-out run is a failure.
    let state = match latest.first().map(|i| i.status) {
        Some(WorkflowStatus::Failed | WorkflowStatus::Terminated | WorkflowStatus::TimedOut) => "failed",
        Some(WorkflowStatus::Completed) => "completed",
        _ => "running",
    };
    job.judge(last.updated_at, state, now)
}
