//! The light path for monitors: a check is not a workflow instance.
//!
//! One actor keeps every monitor's next due time in a heap (as the scheduler does for schedules).
//! When one is due it asks the source on a task of its own (at most [`MAX_IN_FLIGHT`] at once; a
//! monitor whose previous check still runs skips the slot), evaluates the answer in Rust
//! ([`vigil_core::monitor::evaluate`]), and hands each series' tier to the alert manager as an
//! observation: the alert manager commits state changes and their notices before anything is
//! sent, as for ALERT tasks. Nothing is written per check: only alert transitions are durable.
//!
//! After a restart a monitor learns the series it had alerts for from the stored alerts, so a
//! series that is gone by then still resolves.
//!
//! The module owns its handle ([`Monitors`]) and message type ([`MonitorCmd`]); it reaches the rest
//! of the engine only through [`Deps`].

mod observe;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use vigil_connectors::sources::{Source, ask};
use vigil_core::alert::Tier;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Answer, Memory, Reading, evaluate};
use vigil_core::time::{Clock, Millis};

use crate::alerting::AlertMsg;
use crate::cluster::Ownership;

/// Most checks in flight at once; more due checks wait for a slot.
pub const MAX_IN_FLIGHT: usize = 1_024;

/// Longest sleep, so a wall-clock jump is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Looks up a credential: `("secrets", name)` or `("env", name)`.
pub type Lookup = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// What the monitors need from the engine.
pub struct Deps {
    /// The alert manager.
    pub alerts: mpsc::UnboundedSender<AlertMsg>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Which partitions this node runs (a monitor runs where its name's partition is owned).
    pub ownership: Arc<Ownership>,
    /// Secrets for source credentials.
    pub credentials: Lookup,
    /// The store, to learn which series had alerts before a restart.
    pub store: Arc<dyn vigil_store::Store>,
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
}

/// Work for the monitors actor.
pub enum MonitorCmd {
    /// Replaces the monitors (start, reload).
    Set(Vec<MonitorDef>),
    /// Runs a monitor now; answers with its status after the check.
    CheckNow(String, oneshot::Sender<Option<MonitorStatus>>),
    /// Every monitor's status.
    List(oneshot::Sender<Vec<MonitorStatus>>),
    /// A check finished.
    Done(Box<Done>),
}

/// A finished check.
pub struct Done {
    name: String,
    slot: Millis,
    started: Millis,
    took: Duration,
    answer: Answer,
    waiting: Vec<oneshot::Sender<Option<MonitorStatus>>>,
}

/// The handle. Cheap to clone.
#[derive(Clone)]
pub struct Monitors {
    tx: mpsc::UnboundedSender<MonitorCmd>,
}

impl Monitors {
    /// Starts the actor.
    pub fn spawn(deps: Deps) -> Monitors {
        let (tx, rx) = mpsc::unbounded_channel();
        let actor = Actor {
            deps,
            back: tx.clone(),
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            seeded: false,
        };
        tokio::spawn(actor.run(rx));
        Monitors { tx }
    }

    /// Replaces the monitors.
    pub fn set(&self, defs: Vec<MonitorDef>) {
        let _ = self.tx.send(MonitorCmd::Set(defs));
    }

    /// Runs `name` now and returns its status after the check; `None` when it does not exist.
    pub async fn check_now(&self, name: &str) -> Option<MonitorStatus> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(MonitorCmd::CheckNow(name.to_string(), tx)).ok()?;
        rx.await.ok().flatten()
    }

    /// Every monitor's status, by name.
    pub async fn list(&self) -> Vec<MonitorStatus> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(MonitorCmd::List(tx)).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

struct Entry {
    def: Arc<MonitorDef>,
    source: Result<Arc<Source>, String>,
    memory: Memory,
    next: Option<Millis>,
    running: bool,
    last: Option<Done>,
    readings: Vec<Reading>,
}

struct Actor {
    deps: Deps,
    back: mpsc::UnboundedSender<MonitorCmd>,
    entries: HashMap<String, Entry>,
    heap: BinaryHeap<Reverse<(Millis, String)>>,
    slots: Arc<tokio::sync::Semaphore>,
    seeded: bool,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<MonitorCmd>) {
        loop {
            let now = self.deps.clock.now();
            while self.heap.peek().is_some_and(|Reverse((at, _))| *at <= now) {
                let Some(Reverse((at, name))) = self.heap.pop() else { break };
                self.due(&name, at, now, Vec::new());
            }
            let wait = self
                .heap
                .peek()
                .map(|Reverse((at, _))| Duration::from_millis((*at - self.deps.clock.now()).max(1) as u64))
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.apply(cmd).await,
                    None => return,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn apply(&mut self, cmd: MonitorCmd) {
        match cmd {
            MonitorCmd::Set(defs) => self.set(defs).await,
            MonitorCmd::CheckNow(name, reply) => {
                if self.entries.contains_key(&name) {
                    let now = self.deps.clock.now();
                    self.due(&name, now, now, vec![reply]);
                } else {
                    let _ = reply.send(None);
                }
            }
            MonitorCmd::List(reply) => {
                let mut all: Vec<MonitorStatus> = self.entries.values().map(status).collect();
                all.sort_by(|a, b| a.name.cmp(&b.name));
                let _ = reply.send(all);
            }
            MonitorCmd::Done(done) => self.finished(*done),
        }
    }

    /// Replaces the monitors, keeping the memory and schedule of those that stay the same.
    async fn set(&mut self, defs: Vec<MonitorDef>) {
        let now = self.deps.clock.now();
        let mut old = std::mem::take(&mut self.entries);
        for def in defs {
            let source = self.source(&def);
            let kept = old.remove(&def.name);
            let (memory, next, last, readings) = match kept {
                Some(e) => (e.memory, e.next, e.last, e.readings),
                None => (Memory::default(), None, None, Vec::new()),
            };
            let next = if def.paused { None } else { next.or_else(|| def.cadence.next_after(now)) };
            if let Some(at) = next {
                self.heap.push(Reverse((at, def.name.clone())));
            }
            let name = def.name.clone();
            let entry = Entry { def: Arc::new(def), source, memory, next, running: false, last, readings };
            self.entries.insert(name, entry);
        }
        metrics::gauge!("vigil_monitors").set(self.entries.len() as f64);
        if !self.seeded {
            self.seeded = true;
            self.seed().await;
        }
    }

    /// The source with its credentials filled in; an error is shown on every check.
    fn source(&self, def: &MonitorDef) -> Result<Arc<Source>, String> {
        let mut spec = def.source.clone();
        let lookup = self.deps.credentials.clone();
        let missing = vigil_connectors::notifiers::load::substitute_credentials(&mut spec.config, &*lookup);
        if let Some((path, message)) = missing.first() {
            return Err(format!("source.{}.{path}: {message}", spec.kind));
        }
        Source::from_spec(&spec).map(Arc::new).map_err(|p| format!("source.{}.{}: {}", spec.kind, p.path, p.message))
    }

    /// Learns, from the stored alerts, the series each monitor had alerts for.
    async fn seed(&mut self) {
        let rows = match self.deps.store.alerts(true, 1_000_000).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "Could not read stored alerts; series that vanished while vigil was down resolve only when seen again.");
                return;
            }
        };
        for row in rows {
            let Ok(record) = serde_json::from_str::<crate::alerting::AlertRecord>(&row.state) else { continue };
            let Some(name) = record.request.source.strip_prefix("monitor/") else { continue };
            if let Some(entry) = self.entries.get_mut(name)
                && record.state.tier > Tier::Ok
            {
                let seen = vigil_core::monitor::evaluate::Seen {
                    labels: record.request.labels.clone(),
                    missing: 0,
                    value: record.request.details.get("value").and_then(serde_json::Value::as_f64),
                };
                entry.memory.series.entry(row.dedup_key.clone()).or_insert(seen);
            }
        }
    }

    /// Slot `slot` of `name` is due: start its check unless one still runs (or it is not ours).
    fn due(&mut self, name: &str, slot: Millis, now: Millis, waiting: Vec<oneshot::Sender<Option<MonitorStatus>>>) {
        let Some(entry) = self.entries.get_mut(name) else { return };
        let scheduled = entry.next == Some(slot);
        if scheduled {
            // The next slot after this one; slots already past are skipped and counted.
            let mut next = entry.def.cadence.next_after(slot);
            let mut skipped = 0u64;
            while let Some(at) = next.filter(|at| *at <= now) {
                skipped += 1;
                next = entry.def.cadence.next_after(at);
            }
            if skipped > 0 {
                metrics::counter!("vigil_monitor_checks_skipped_total", "reason" => "late").increment(skipped);
            }
            entry.next = next.filter(|_| !entry.def.paused);
            if let Some(at) = entry.next {
                self.heap.push(Reverse((at, name.to_string())));
            }
        } else if waiting.is_empty() {
            return; // A stale heap entry (the monitor was replaced or rescheduled).
        }
        if !self.deps.ownership.owns_key(name) {
            return;
        }
        if entry.running {
            metrics::counter!("vigil_monitor_checks_skipped_total", "reason" => "running").increment(1);
            for w in waiting {
                let _ = w.send(Some(status(entry)));
            }
            return;
        }
        entry.running = true;
        let source = entry.source.clone();
        let (back, slots, name) = (self.back.clone(), self.slots.clone(), name.to_string());
        tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            let started_at = Instant::now();
            let started = now;
            let answer = match source {
                Ok(source) => ask(&client(), &source).await,
                Err(e) => Answer::Failed(e),
            };
            let done = Done { name, slot, started, took: started_at.elapsed(), answer, waiting };
            let _ = back.send(MonitorCmd::Done(Box::new(done)));
        });
    }

    fn finished(&mut self, mut done: Done) {
        let Some(entry) = self.entries.get_mut(&done.name) else { return };
        entry.running = false;
        let readings = evaluate(&entry.def, &mut entry.memory, &done.answer);
        let part = vigil_store::partition_of(&entry.def.name);
        for reading in &readings {
            if let Some(request) = observe::request(&entry.def, reading, done.slot) {
                let from = crate::alerting::ObservedFrom::Local { part };
                let msg = AlertMsg::Observe {
                    instance: String::new(),
                    task_id: String::new(),
                    request: Box::new(request),
                    from,
                };
                let _ = self.deps.alerts.send(msg);
            }
        }
        let outcome = match (&done.answer, readings.iter().filter_map(|r| r.tier).max()) {
            (Answer::Failed(_), _) => "error",
            (_, Some(Tier::Critical)) => "critical",
            (_, Some(Tier::Warning)) => "warning",
            _ => "ok",
        };
        metrics::counter!("vigil_monitor_checks_total", "monitor" => done.name.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("vigil_monitor_check_seconds").record(done.took.as_secs_f64());
        entry.readings = readings;
        let waiting = std::mem::take(&mut done.waiting);
        entry.last = Some(done);
        for w in waiting {
            let _ = w.send(Some(status(entry)));
        }
    }
}

/// The client non-HTTP-check sources share.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(vigil_connectors::http_client).clone()
}

fn status(entry: &Entry) -> MonitorStatus {
    let last = entry.last.as_ref();
    MonitorStatus {
        name: entry.def.name.clone(),
        source: entry.def.source.kind.clone(),
        last_check: last.map(|d| d.started),
        took_ms: last.map(|d| d.took.as_millis() as u64),
        error: last.and_then(|d| match &d.answer {
            Answer::Failed(e) => Some(e.clone()),
            Answer::Samples(_) => None,
        }),
        series: entry.readings.clone(),
        next_check: entry.next,
        paused: entry.def.paused,
    }
}
