//! Fires schedules from an in-memory heap of next fire times; nothing sweeps all schedules.
//!
//! Each due fire is claimed in the store under the unique key (schedule, fire time) in the same
//! transaction that moves the schedule's persisted cursor, and only then is the instance started.
//! A claim whose instance never got committed (a crash in between) is started again on the next
//! start, with the same instance id, so every fire time runs exactly once.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use vigil_core::instance::FireRef;
use vigil_core::schedule::{OverlapPolicy, ScheduleDef};
use vigil_core::time::Millis;
use vigil_store::{FireClaim, FireStatus, ScheduleCursor, StoreError, partition_of};

use crate::shared::{EngineError, StartRequest};

pub(crate) mod command;
pub(crate) mod deps;
pub(crate) mod port;

use deps::SchedulerDeps;

pub use command::SchedulerCmd;
pub(crate) use port::SchedulesPort;

/// Longest sleep, so a wall-clock jump is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Fire claims per transaction.
const CLAIM_CHUNK: usize = 5_000;

/// How often the scheduler looks for room while due fires wait for instances to end.
const ROOM_POLL: Duration = Duration::from_millis(25);

/// Arms the schedules of the partitions this node owns (starting their fires claimed before a
/// crash), then spawns the fire loop, which also takes `commands`.
pub(crate) async fn spawn(
    deps: SchedulerDeps,
    schedules: Vec<ScheduleDef>,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<SchedulerCmd>,
) -> Result<tokio::task::JoinHandle<()>, EngineError> {
    let defs: HashMap<Arc<str>, Box<Armed>> =
        schedules.into_iter().map(|s| (Arc::from(s.name.as_str()), Box::new(Armed { def: s, next: None }))).collect();
    let mut state = State { defs, heap: BinaryHeap::new(), overload: Overload::default() };
    let owned = deps.ownership.parts();
    state.arm(&deps, &owned).await?;
    tracing::info!(schedules = state.defs.len(), "Scheduler started.");
    Ok(tokio::spawn(async move { state.run(deps, &mut commands).await }))
}

/// A schedule and its next fire time.
struct Armed {
    def: ScheduleDef,
    next: Option<Millis>,
}

struct State {
    /// Each schedule and its next fire time on this node (`None`: paused, another node's, or
    /// none left), in one map: 100,000 schedules are one table, not two. Boxed, so the table's
    /// spare buckets (a hash table rounds 100,000 up to 131,072) cost a pointer each, not a
    /// whole schedule: about 10 MB at 100,000. The key's name is shared with the heap's entries
    /// (one allocation, not one per copy: 5 MB at 100,000).
    defs: HashMap<Arc<str>, Box<Armed>>,
    heap: BinaryHeap<Reverse<(Millis, Arc<str>)>>,
    overload: Overload,
}

/// Fire times skipped by the misfire policy in one round, logged as one line per schedule when
/// few schedules skipped, and as one summary line when many did (overload skips on every
/// schedule at once: one line, not one per schedule or per fire).
#[derive(Default)]
struct Skips {
    by_schedule: BTreeMap<String, u64>,
}

/// Most schedules named one per line; more make a summary.
const SKIP_LINES: usize = 10;

impl Skips {
    fn add(&mut self, schedule: &str, fires: u64) {
        metrics::counter!("vigil_schedule_fires_skipped_total", "reason" => "misfire").increment(fires);
        *self.by_schedule.entry(schedule.to_string()).or_default() += fires;
    }

    fn log(self) {
        let why = "Missed fire times were skipped (runCatchupScheduleInstances is false).";
        if self.by_schedule.len() <= SKIP_LINES {
            for (schedule, skipped) in self.by_schedule {
                tracing::warn!(schedule, skipped, "{why}");
            }
            return;
        }
        let fires: u64 = self.by_schedule.values().sum();
        let examples: Vec<&str> = self.by_schedule.keys().take(5).map(String::as_str).collect();
        tracing::warn!(
            schedules = self.by_schedule.len(),
            fires,
            examples = %examples.join(", "),
            "{why}"
        );
    }
}

/// Whether due fires are waiting for room, logged when that starts and when it ends.
#[derive(Default)]
struct Overload {
    since: Option<std::time::Instant>,
}

impl Overload {
    fn note(&mut self, waiting: bool, running: usize, limit: usize) {
        metrics::gauge!("vigil_schedule_instances_running").set(running as f64);
        match (waiting, self.since) {
            (true, None) => {
                self.since = Some(std::time::Instant::now());
                tracing::warn!(
                    running,
                    limit,
                    "Schedules fire late: as many schedule-started instances run as allowed (max_running_fires); due fires wait for some to end."
                );
            }
            (false, Some(since)) => {
                self.since = None;
                tracing::info!(
                    after_ms = since.elapsed().as_millis() as u64,
                    "Schedules caught up: due fires no longer wait for room."
                );
            }
            _ => {}
        }
        metrics::gauge!("vigil_schedule_fires_waiting").set(if waiting { 1.0 } else { 0.0 });
    }
}

impl State {
    fn set_next(&mut self, name: &str, next: Option<Millis>) {
        let Some(armed) = self.defs.get_mut(name) else { return };
        armed.next = next;
        if let (Some(at), Some((key, _))) = (next, self.defs.get_key_value(name)) {
            self.heap.push(Reverse((at, key.clone())));
        }
    }

    /// Starts firing the schedules of `parts`: fires claimed but never started (a crash, or the
    /// previous owner's) start now with their stored instance ids, and each schedule resumes from
    /// its stored cursor, so a fire time missed meanwhile is caught up, once.
    async fn arm(&mut self, deps: &SchedulerDeps, parts: &[u32]) -> Result<(), EngineError> {
        let mine = |name: &str| parts.contains(&partition_of(name));
        if !self.defs.keys().any(|n| mine(n)) {
            return Ok(());
        }
        let store = deps.store.clone();
        let (mut resumed, mut failed) = (0u64, 0u64);
        for fire in store.unstarted_fires().await?.into_iter().filter(|f| mine(&f.schedule)) {
            if let Some(Armed { def, .. }) = self.defs.get(fire.schedule.as_str()).map(Box::as_ref) {
                match start_fire(deps, def, fire.scheduled_at, fire.executed_at, fire.instance_id) {
                    Ok(()) => resumed += 1,
                    Err(_) => failed += 1,
                }
            }
        }
        if resumed + failed > 0 {
            tracing::info!(resumed, failed, "Started the fires that were claimed but not started before.");
        }
        let cursors: HashMap<String, Option<Millis>> =
            store.schedule_cursors().await?.into_iter().map(|c| (c.schedule, c.next_fire_at)).collect();
        let now = deps.clock.now();
        let names: Vec<Arc<str>> = self.defs.keys().filter(|n| mine(n)).cloned().collect();
        for name in names {
            let def = &self.defs[&name].def;
            if def.paused {
                continue;
            }
            let next = match cursors.get(&*name) {
                Some(Some(c)) if *c <= now => Some(*c),
                _ => def.next_after(now),
            };
            self.set_next(&name, next);
        }
        Ok(())
    }

    async fn apply(&mut self, cmd: SchedulerCmd, deps: &SchedulerDeps) {
        let now = deps.clock.now();
        let owned = |name: &str| deps.ownership.owns_key(name);
        match cmd {
            SchedulerCmd::Put(def) => {
                let name: Arc<str> = Arc::from(def.name.as_str());
                let next = if def.paused || !owned(&name) { None } else { def.next_after(now) };
                self.defs.insert(name.clone(), Box::new(Armed { def: *def, next: None }));
                self.set_next(&name, next);
            }
            SchedulerCmd::Remove(name) => {
                self.defs.remove(name.as_str());
            }
            SchedulerCmd::Pause(name, paused) => {
                let Some(Armed { def, .. }) = self.defs.get_mut(name.as_str()).map(Box::as_mut) else { return };
                def.paused = paused;
                let next = if paused || !owned(&name) { None } else { def.next_after(now) };
                self.set_next(&name, next);
            }
            SchedulerCmd::List(reply) => {
                // Another node fires the schedules it owns; their next time is the definition's.
                let mut all: Vec<_> = self
                    .defs
                    .values()
                    .map(|armed| {
                        let Armed { def: d, next } = armed.as_ref();
                        let next = match next {
                            next if owned(&d.name) => *next,
                            _ if d.paused => None,
                            _ => d.next_after(now),
                        };
                        (d.clone(), next)
                    })
                    .collect();
                all.sort_by(|a, b| a.0.name.cmp(&b.0.name));
                let _ = reply.send(all);
            }
            SchedulerCmd::Gained(parts) => {
                while let Err(e) = self.arm(deps, &parts).await {
                    tracing::error!(error = %e, "Could not read the schedules of newly owned partitions; retrying.");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            SchedulerCmd::Lost(parts) => {
                for (_, armed) in self.defs.iter_mut().filter(|(n, _)| parts.contains(&partition_of(n))) {
                    armed.next = None;
                }
            }
        }
    }

    async fn run(mut self, deps: SchedulerDeps, commands: &mut tokio::sync::mpsc::UnboundedReceiver<SchedulerCmd>) {
        let mut open = true;
        loop {
            let now = deps.clock.now();
            // Once the engine stops, fires claimed could not start: none are claimed, and the
            // next start finds them due (its misfire policy decides).
            let stopping = deps.stopping.load(std::sync::atomic::Ordering::SeqCst);
            // Only as many schedules as there is room to start (each fires at least one slot);
            // the rest stay due in the heap, oldest first, until instances end.
            let room = if stopping { 0 } else { deps.fires.room() };
            let mut due_names = Vec::new();
            while due_names.len() < room && self.heap.peek().is_some_and(|Reverse((at, _))| *at <= now) {
                if let Some(Reverse((_, name))) = self.heap.pop() {
                    due_names.push(name);
                }
            }
            if !due_names.is_empty() {
                self.fire(&deps, due_names, now).await;
            }
            let waiting = !stopping && self.heap.peek().is_some_and(|Reverse((at, _))| *at <= deps.clock.now());
            self.overload.note(waiting, deps.fires.total(), deps.fires.limit());
            let wait = if stopping {
                MAX_SLEEP
            } else if waiting {
                ROOM_POLL
            } else {
                self.heap
                    .peek()
                    .map(|Reverse((at, _))| Duration::from_millis((*at - deps.clock.now()).max(1) as u64))
                    .unwrap_or(MAX_SLEEP)
                    .min(MAX_SLEEP)
            };
            tokio::select! {
                cmd = commands.recv(), if open => match cmd {
                    Some(cmd) => self.apply(cmd, &deps).await,
                    None => open = false,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn fire(&mut self, deps: &SchedulerDeps, names: Vec<Arc<str>>, now: Millis) {
        let began = std::time::Instant::now();
        let mut claims = Vec::new();
        let mut cursors = Vec::new();
        let mut busy: HashMap<Arc<str>, bool> = HashMap::new();
        let mut room = deps.fires.room();
        let mut misfired = Skips::default();
        for name in names {
            let Some(Armed { def, next: current }) = self.defs.get(&name).map(Box::as_ref) else { continue };
            let current = *current;
            if current.is_none_or(|c| c > now) {
                continue;
            }
            if room == 0 {
                // Stays due: it fires when instances end.
                self.set_next(&name, current);
                continue;
            }
            let mut due = def.take_due(current, now);
            if due.fire.len() > room {
                // Catch-up slots past the room stay due, the oldest of them next.
                due.next = Some(due.fire[room]);
                due.fire.truncate(room);
            }
            if due.skipped > 0 {
                misfired.add(&name, due.skipped);
            }
            for slot in due.fire {
                let running = *busy.entry(name.clone()).or_insert_with(|| running(deps, &name) > 0);
                let skip = def.overlap == OverlapPolicy::Skip && running;
                if def.overlap == OverlapPolicy::Skip {
                    busy.insert(name.clone(), true);
                }
                if !skip {
                    room -= 1;
                }
                let status = if skip { FireStatus::Skipped } else { FireStatus::Claimed };
                let instance_id = crate::shared::new_instance_id();
                claims.push(FireClaim {
                    schedule: name.to_string(),
                    scheduled_at: slot,
                    instance_id,
                    executed_at: now,
                    status,
                });
            }
            cursors.push(ScheduleCursor { schedule: name.to_string(), next_fire_at: due.next });
            self.set_next(&name, due.next);
        }
        misfired.log();
        let planned = began.elapsed();
        let count = claims.len();
        // Claim in chunks and start each chunk's instances at once, so instance work overlaps the
        // next claim. Cursors move with the last chunk: after a crash part-way, the same slots are
        // due again, earlier chunks' claims conflict (already claimed) and recovery starts them.
        let chunks: Vec<Vec<FireClaim>> = claims.chunks(CLAIM_CHUNK).map(<[FireClaim]>::to_vec).collect();
        let last = chunks.len().saturating_sub(1);
        for (n, chunk) in chunks.into_iter().enumerate() {
            let moved: &[ScheduleCursor] = if n == last { &cursors } else { &[] };
            let mut chunk = chunk;
            let mut moved = moved.to_vec();
            let claimed = loop {
                let parts = chunk
                    .iter()
                    .map(|c| partition_of(&c.schedule))
                    .chain(moved.iter().map(|c| partition_of(&c.schedule)));
                let fence = deps.ownership.fence(parts);
                match deps.store.claim_fires(&chunk, &moved, fence.as_ref()).await {
                    Ok(c) => {
                        crate::crash_point::reach(crate::crash_point::CrashPoint::AfterFireClaim);
                        break c;
                    }
                    Err(StoreError::LeaseLost(lost)) => {
                        // Another node fires these schedules now; it claims their fire times.
                        (deps.lose)(&lost);
                        chunk.retain(|c| !lost.contains(&partition_of(&c.schedule)));
                        moved.retain(|c| !lost.contains(&partition_of(&c.schedule)));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "Claiming schedule fires failed; retrying.");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            };
            self.dispatch(deps, chunk, claimed, now);
        }
        if count == 0 && !cursors.is_empty() {
            let fence = deps.ownership.fence(cursors.iter().map(|c| partition_of(&c.schedule)));
            loop {
                match deps.store.claim_fires(&[], &cursors, fence.as_ref()).await {
                    Ok(_) => break,
                    Err(StoreError::LeaseLost(lost)) => {
                        (deps.lose)(&lost);
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "Saving schedule cursors failed; retrying.");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
        let total = began.elapsed();
        tracing::debug!(
            fires = count,
            plan_ms = planned.as_millis() as u64,
            claim_and_dispatch_ms = (total - planned).as_millis() as u64,
            total_ms = total.as_millis() as u64,
            "Schedule fires claimed and dispatched."
        );
    }
}

impl State {
    /// Starts the claimed fires. Fires skipped by `overlapPolicy: SKIP` and fires that could not
    /// start are logged once per schedule and reason for the whole batch, not once per fire (a
    /// stop with 50,000 claimed fires is one line, not 50,000).
    fn dispatch(&self, deps: &SchedulerDeps, claims: Vec<FireClaim>, claimed: Vec<bool>, now: Millis) {
        let mut skipped: BTreeMap<&str, u64> = BTreeMap::new();
        let mut failed: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (claim, won) in claims.iter().zip(claimed) {
            match (won, claim.status) {
                (true, FireStatus::Claimed) => {
                    let def = &self.defs[claim.schedule.as_str()].def;
                    if let Err(e) = start_fire(deps, def, claim.scheduled_at, now, claim.instance_id.clone()) {
                        *failed.entry((claim.schedule.clone(), e.to_string())).or_default() += 1;
                    }
                }
                (true, _) => {
                    metrics::counter!("vigil_schedule_fires_skipped_total", "reason" => "overlap").increment(1);
                    *skipped.entry(claim.schedule.as_str()).or_default() += 1;
                }
                (false, _) => {}
            }
        }
        for (schedule, fires) in skipped {
            tracing::info!(
                schedule,
                fires,
                "Fires skipped: the previous instance is still running (overlapPolicy SKIP)."
            );
        }
        let stopping = failed.keys().filter(|(_, e)| e.contains("shutting down")).count();
        if stopping > 0 {
            let fires: u64 = failed.iter().filter(|((_, e), _)| e.contains("shutting down")).map(|(_, n)| n).sum();
            tracing::warn!(
                fires,
                schedules = stopping,
                "vigil is stopping: claimed fires were not started; they start at the next start."
            );
        }
        for ((schedule, error), fires) in failed.into_iter().filter(|((_, e), _)| !e.contains("shutting down")) {
            tracing::error!(schedule, fires, error, "Schedule fires could not start their workflow.");
        }
    }
}

fn running(deps: &SchedulerDeps, schedule: &str) -> usize {
    deps.fires.running(schedule)
}

fn start_fire(
    deps: &SchedulerDeps,
    def: &ScheduleDef,
    slot: Millis,
    executed_at: Millis,
    instance_id: String,
) -> Result<(), EngineError> {
    deps.fires.started(&def.name);
    let req = StartRequest {
        name: def.start.name.clone(),
        version: def.start.version,
        input: def.instance_input(slot, executed_at),
        id: Some(instance_id),
        correlation_id: def.start.correlation_id.clone(),
        definition: None,
        started_by: def.defined_by.as_deref().cloned().unwrap_or_default(),
    };
    let fire = FireRef { schedule: def.name.clone(), scheduled_time: slot };
    match (deps.start)(req, fire) {
        Ok(_) => {
            metrics::counter!("vigil_schedule_fires_total").increment(1);
            Ok(())
        }
        Err(e) => {
            deps.fires.ended(&def.name);
            Err(e)
        }
    }
}
