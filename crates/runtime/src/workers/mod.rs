//! SIMPLE tasks for external workers (Conductor's worker protocol): a queue per task type that
//! workers long-poll, leases that expire when a worker goes quiet, and task logs.
//!
//! On one node the queue is memory only: which SIMPLE tasks are in progress is part of each
//! instance's committed state, and after a restart `Recover` offers them again. A worker that held
//! a task across the restart may still report it: the first report for an in-progress task wins
//! and removes the queued copy. In a cluster the offers live in the store ([`shared`]), so any
//! node hands out any partition's tasks; leases stay with the node that handed the task out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use vigil_core::interpreter::{Event, TaskResult, WorkerTask};
use vigil_core::time::{Clock, Millis};

use crate::router::Router;
use crate::shard::messages::ShardMsg;

mod shared;

pub use shared::{Deliver, SharedQueue};

/// How often a long poll on a cluster node asks the shared queue again.
const SHARED_POLL_EVERY: Duration = Duration::from_millis(200);

/// Log lines kept per task.
const MAX_LOG_LINES: usize = 200;
/// Tasks whose log lines are kept (the most recently logging ones): logs live in memory only,
/// and without a bound a node would keep every logging task's lines for as long as it runs.
const MAX_LOGGED_TASKS: usize = 10_000;

/// A task in the queue: its instance and what the core offered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Queued {
    /// The instance.
    pub instance_id: String,
    /// The instance's partition.
    #[serde(default)]
    pub part: u32,
    /// The task.
    pub task: WorkerTask,
    /// How often it was handed out.
    pub poll_count: u32,
}

impl Queued {
    /// The task id workers see: `<instance>~<execution>`, unique across instances.
    pub fn global_id(&self) -> String {
        global_id(&self.instance_id, &self.task.task_id)
    }
}

pub use vigil_core::instance::global_task_id as global_id;

/// Splits a global task id into instance and execution id.
pub fn split_global_id(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('~')
}

/// A task handed to a worker.
#[derive(Debug, Clone)]
pub struct Leased {
    /// The task.
    pub queued: Queued,
    /// Who has it.
    pub worker_id: String,
    /// When it was handed out.
    pub since: Millis,
    /// When it goes back if the worker has not reported.
    pub deadline: Millis,
}

/// One log line of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLog {
    /// The line.
    pub log: String,
    /// When it was written.
    pub created_time: Millis,
}

#[derive(Default)]
struct State {
    ready: HashMap<String, VecDeque<Queued>>,
    leased: HashMap<String, Leased>,
    expiries: BinaryHeap<Reverse<(Millis, String)>>,
    logs: HashMap<String, VecDeque<TaskLog>>,
    /// The tasks in `logs`, oldest first.
    logged: VecDeque<String>,
}

impl State {
    /// Adds log lines to a task, keeping [`MAX_LOG_LINES`] per task and the lines of the
    /// [`MAX_LOGGED_TASKS`] tasks that started logging last.
    fn add_logs(&mut self, global_id: &str, lines: impl IntoIterator<Item = TaskLog>) {
        if !self.logs.contains_key(global_id) {
            if self.logged.len() >= MAX_LOGGED_TASKS
                && let Some(oldest) = self.logged.pop_front()
            {
                self.logs.remove(&oldest);
            }
            self.logged.push_back(global_id.to_string());
        }
        let logs = self.logs.entry(global_id.to_string()).or_default();
        for line in lines {
            if logs.len() >= MAX_LOG_LINES {
                logs.pop_front();
            }
            logs.push_back(line);
        }
    }
}

/// The queues of all task types.
pub struct WorkQueue {
    state: Mutex<State>,
    arrived: Notify,
    clock: Arc<dyn Clock>,
    router: Router,
    /// Set on a cluster node: the offers live in the store.
    shared: std::sync::OnceLock<SharedQueue>,
}

impl WorkQueue {
    /// An empty queue whose expired leases fail their attempts through `router`.
    pub fn new(clock: Arc<dyn Clock>, router: Router) -> Arc<Self> {
        Arc::new(Self { state: Mutex::default(), arrived: Notify::new(), clock, router, shared: Default::default() })
    }

    /// Keeps the offers in the store from now on (a cluster node; before any task is queued).
    pub fn share(&self, queue: SharedQueue) {
        let _ = self.shared.set(queue);
    }

    /// Hands `event` to `instance` (of partition `part`) on whichever node runs it, in the
    /// background (on a cluster node, retried until it is stored).
    fn deliver(&self, instance: String, part: u32, event: Event) {
        match self.shared.get() {
            Some(shared) => {
                let deliver = shared.deliver.clone();
                tokio::spawn(async move {
                    let mut delay = Duration::from_millis(100);
                    while let Err(e) = deliver(instance.clone(), part, event.clone()).await {
                        tracing::warn!(error = %e, part, "Could not hand a worker's event to its instance; retrying.");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                });
            }
            None => self.router.send(&instance, event),
        }
    }

    /// Offers `task` of `instance_id` (in partition `part`) to workers (once: a task already
    /// queued or leased stays).
    pub fn enqueue(&self, instance_id: String, part: u32, task: WorkerTask) {
        let queued = Queued { instance_id, part, task, poll_count: 0 };
        if let Some(shared) = self.shared.get() {
            let offer = vigil_store::WorkOffer {
                instance_id: queued.instance_id.clone(),
                task_id: queued.task.task_id.clone(),
                task_type: queued.task.task_type.clone(),
                part,
                visible_at: queued.task.visible_at,
                body: serde_json::to_string(&queued).expect("a queued task serializes"),
            };
            shared.change(vigil_store::WorkChange::Offer(offer));
            self.arrived.notify_waiters();
            return;
        }
        let id = queued.global_id();
        let mut s = self.state.lock().expect("lock");
        if s.leased.contains_key(&id) {
            return;
        }
        let queue = s.ready.entry(queued.task.task_type.clone()).or_default();
        // Offered again (a reset callback, a restart): the newer offer's time counts.
        if let Some(waiting) = queue.iter_mut().find(|q| q.global_id() == id) {
            waiting.task.visible_at = queued.task.visible_at;
            return;
        }
        queue.push_back(queued);
        drop(s);
        self.arrived.notify_waiters();
    }

    /// Up to `count` tasks of `task_type` for `worker_id`, waiting up to `wait` for the first.
    /// Each task handed out is IN_PROGRESS in its instance from then on ([`Event::Polled`]).
    pub async fn poll(&self, task_type: &str, count: usize, wait: Duration, worker_id: &str) -> Vec<Leased> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.arrived.notified();
            let (taken, held_until) = match self.shared.get() {
                Some(shared) => {
                    // Offers written by other nodes arrive without a notice: ask again soon.
                    let again = self.clock.now() + SHARED_POLL_EVERY.as_millis() as Millis;
                    (self.take_shared(shared, task_type, count.max(1), worker_id).await, Some(again))
                }
                None => {
                    let (taken, held_until) = self.take(task_type, count.max(1), worker_id);
                    self.polled_committed(&taken, worker_id).await;
                    (taken, held_until)
                }
            };
            let now = tokio::time::Instant::now();
            if !taken.is_empty() || now >= deadline {
                return taken;
            }
            // A task held back by a callback delay becomes visible without a notice: wake when
            // the first one does, if that is before the deadline.
            let wake = held_until.map_or(deadline, |at| {
                let ms = (at - self.clock.now()).max(1) as u64;
                deadline.min(now + Duration::from_millis(ms))
            });
            let _ = tokio::time::timeout_at(wake, arrived).await;
        }
    }

    /// Claims up to `count` visible offers of `task_type` from the store and leases them here.
    /// Each claim is handed to its instance's owner (`Polled`) before the offer is removed and
    /// the task given to the worker: if this node dies in between, the offer shows again.
    async fn take_shared(&self, shared: &SharedQueue, task_type: &str, count: usize, worker_id: &str) -> Vec<Leased> {
        let now = self.clock.now();
        let claimed_until = now + shared::CLAIM_HOLD.as_millis() as Millis;
        let offers = match shared.store.take_work(task_type, count as u32, now, claimed_until).await {
            Ok(offers) => offers,
            Err(e) => {
                tracing::warn!(error = %e, task_type, "Could not read the workers' shared queue.");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        let mut taken = Vec::new();
        for offer in offers {
            let Ok(mut queued) = serde_json::from_str::<Queued>(&offer.body) else {
                tracing::error!(instance = %offer.instance_id, task = %offer.task_id, "An offered task does not read; dropped.");
                taken.push(vigil_store::WorkChange::Taken {
                    instance_id: offer.instance_id,
                    task_id: offer.task_id,
                    claimed_until,
                });
                continue;
            };
            queued.part = offer.part;
            queued.poll_count += 1;
            let event = Event::Polled { task_id: queued.task.task_id.clone(), worker_id: worker_id.to_string() };
            if let Err(e) = (shared.deliver)(queued.instance_id.clone(), offer.part, event).await {
                tracing::warn!(error = %e, instance = %queued.instance_id, "Could not tell an instance its task was polled; it is offered again later.");
                continue;
            }
            taken.push(vigil_store::WorkChange::Taken {
                instance_id: offer.instance_id,
                task_id: offer.task_id,
                claimed_until,
            });
            out.push(lease(&mut self.state.lock().expect("lock"), queued, worker_id, now));
        }
        if !taken.is_empty()
            && let Err(e) = shared.store.change_work(&taken).await
        {
            // The tasks are the worker's all the same; the offers show again after the hold,
            // where the instances ignore a second poll of a task already in progress.
            tracing::warn!(error = %e, "Could not remove claimed offers from the workers' shared queue.");
        }
        out
    }

    /// Leases up to `count` visible tasks of `task_type`; also returns when the first task held
    /// back by a callback delay becomes visible, when nothing could be taken.
    fn take(&self, task_type: &str, count: usize, worker_id: &str) -> (Vec<Leased>, Option<Millis>) {
        let now = self.clock.now();
        let mut s = self.state.lock().expect("lock");
        let mut out = Vec::new();
        while out.len() < count {
            let Some(queue) = s.ready.get_mut(task_type) else { break };
            let Some(at) = queue.iter().position(|q| q.task.visible_at <= now) else { break };
            let Some(mut queued) = queue.remove(at) else { break };
            queued.poll_count += 1;
            out.push(lease(&mut s, queued, worker_id, now));
        }
        let held_until = if out.is_empty() {
            s.ready.get(task_type).and_then(|q| q.iter().map(|q| q.task.visible_at).filter(|&v| v > now).min())
        } else {
            None
        };
        (out, held_until)
    }

    /// Tells each instance of `leases` that its task was polled, and returns once every one has
    /// committed it: a worker that reads its task right after the poll finds it IN_PROGRESS, as
    /// Conductor answers. An instance that is gone (cancelled meanwhile) or an engine that stops
    /// does not hold the poll up.
    async fn polled_committed(&self, leases: &[Leased], worker_id: &str) {
        let mut committed = Vec::with_capacity(leases.len());
        for lease in leases {
            let task_id = lease.queued.task.task_id.clone();
            let event = Event::Polled { task_id, worker_id: worker_id.to_string() };
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.router.place(ShardMsg::EventCommitted(lease.queued.instance_id.clone(), event, tx));
            committed.push(rx);
        }
        for rx in committed {
            let _ = rx.await;
        }
    }

    /// The task was reported: it leaves the queue (queued or leased). Returns its task type when
    /// it was there.
    pub fn remove(&self, instance_id: &str, task_id: &str) -> Option<String> {
        if let Some(shared) = self.shared.get() {
            let withdraw =
                vigil_store::WorkChange::Withdraw { instance_id: instance_id.into(), task_id: task_id.into() };
            shared.change(withdraw);
        }
        let id = global_id(instance_id, task_id);
        let mut s = self.state.lock().expect("lock");
        let mut task_type = s.leased.remove(&id).map(|l| l.queued.task.task_type);
        for queue in s.ready.values_mut() {
            queue.retain(|q| {
                let ours = q.global_id() == id;
                if ours {
                    task_type = Some(q.task.task_type.clone());
                }
                !ours
            });
        }
        task_type
    }

    /// Drops the queued (not yet leased) tasks of `instances`: their partition moved to another
    /// node, which offers them to workers itself.
    pub fn forget(&self, instances: &std::collections::HashSet<String>) {
        let mut s = self.state.lock().expect("lock");
        for queue in s.ready.values_mut() {
            queue.retain(|q| !instances.contains(&q.instance_id));
        }
    }

    /// Drops every task of `instance_id`, queued or leased: the instance ended (a terminated
    /// workflow's tasks are not handed to the next poll, as in Conductor, and a worker holding
    /// one has its report refused).
    pub fn drop_instance(&self, instance_id: &str) {
        if let Some(shared) = self.shared.get() {
            shared.change(vigil_store::WorkChange::WithdrawInstance(instance_id.to_string()));
        }
        let mut s = self.state.lock().expect("lock");
        for queue in s.ready.values_mut() {
            queue.retain(|q| q.instance_id != instance_id);
        }
        s.leased.retain(|_, lease| lease.queued.instance_id != instance_id);
    }

    /// Adds log lines to a task.
    pub fn add_logs(&self, global_id: &str, lines: impl IntoIterator<Item = TaskLog>) {
        self.state.lock().expect("lock").add_logs(global_id, lines);
    }

    /// A task's log lines, oldest first.
    pub fn logs(&self, global_id: &str) -> Vec<TaskLog> {
        self.state.lock().expect("lock").logs.get(global_id).map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }

    /// How many tasks of each type wait for a worker (on every node, in a cluster).
    pub async fn sizes(&self) -> HashMap<String, usize> {
        if let Some(shared) = self.shared.get() {
            return match shared.store.work_sizes().await {
                Ok(sizes) => sizes.into_iter().map(|(t, n)| (t, n as usize)).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "Could not count the workers' shared queue.");
                    HashMap::new()
                }
            };
        }
        self.state.lock().expect("lock").ready.iter().map(|(t, q)| (t.clone(), q.len())).collect()
    }

    /// Fails the attempts whose worker went quiet past the response timeout, so the retry policy
    /// hands the task to another worker. Returns when the next lease is due.
    fn expire(&self) -> Option<Millis> {
        let now = self.clock.now();
        let mut expired = Vec::new();
        {
            let mut s = self.state.lock().expect("lock");
            while let Some(Reverse((at, id))) = s.expiries.peek().cloned() {
                if at > now {
                    break;
                }
                s.expiries.pop();
                if s.leased.get(&id).is_some_and(|l| l.deadline <= now) {
                    expired.extend(s.leased.remove(&id));
                }
            }
        }
        for lease in expired {
            let reason = format!(
                "worker `{}` did not report within {} s (responseTimeoutSeconds)",
                lease.worker_id, lease.queued.task.response_timeout_seconds
            );
            let result = TaskResult::TimedOut { reason };
            let event = Event::TaskResult { task_id: lease.queued.task.task_id, result };
            self.deliver(lease.queued.instance_id, lease.queued.part, event);
        }
        self.state.lock().expect("lock").expiries.peek().map(|Reverse((at, _))| *at)
    }
}

/// Records that `worker_id` holds `queued` from `now` until its response timeout.
fn lease(s: &mut State, queued: Queued, worker_id: &str, now: Millis) -> Leased {
    let deadline = now + queued.task.response_timeout_seconds as Millis * 1000;
    let lease = Leased { queued, worker_id: worker_id.to_string(), since: now, deadline };
    let id = lease.queued.global_id();
    s.expiries.push(Reverse((deadline, id.clone())));
    s.leased.insert(id, lease.clone());
    lease
}

/// Expires leases until the engine stops.
pub async fn run_expiry(queue: Arc<WorkQueue>) {
    loop {
        let next = queue.expire();
        let wait = next.map_or(1_000, |at| (at - queue.clock.now()).clamp(10, 1_000));
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

/// What a worker reports about a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerStatus {
    /// Still working: the task goes back to SCHEDULED and is offered again after the callback
    /// delay, as in Conductor.
    InProgress,
    /// Done.
    Completed,
    /// Failed; the retry policy may try again.
    Failed,
    /// Failed in a way a retry cannot fix.
    FailedWithTerminalError,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> TaskLog {
        TaskLog { log: format!("line {n}"), created_time: n as Millis }
    }

    #[test]
    fn logs_are_bounded_per_task_and_in_tasks() {
        let mut state = State::default();
        state.add_logs("first", (0..MAX_LOG_LINES + 5).map(line));
        let kept = &state.logs["first"];
        assert_eq!(kept.len(), MAX_LOG_LINES);
        assert_eq!(kept.front().unwrap().log, "line 5", "the oldest lines go first");
        for n in 0..MAX_LOGGED_TASKS {
            state.add_logs(&format!("t{n}"), [line(n)]);
        }
        assert!(!state.logs.contains_key("first"), "the task that logged first is forgotten first");
        assert_eq!(state.logs.len(), MAX_LOGGED_TASKS);
        assert_eq!(state.logged.len(), MAX_LOGGED_TASKS);
        state.add_logs("t1", [line(1)]);
        assert_eq!(state.logs["t1"].len(), 2, "a known task keeps its place and its lines");
        assert_eq!(state.logged.len(), MAX_LOGGED_TASKS);
    }
}
