//! An interpreter thread: owns a partition of instances, applies events, and hands batches of new
//! states and actions to the committer. CPU work (JavaScript, jq, serialization) happens here, off
//! the async runtime and in parallel across shards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use vigil_core::def::{WorkflowDef, WorkflowSet};
use vigil_core::instance::Instance;
use vigil_core::interpreter::{Action, Budget, ChildStart, Event, Step, new_instance, step};
use vigil_core::jq::JqCache;
use vigil_core::script::{ScriptEngine, ScriptLimits};
use vigil_core::team::{ObjectKind, Teams};
use vigil_core::time::Millis;
use vigil_store::InstanceRow;

use crate::shared::Shared;

mod held;
pub(crate) mod messages;

pub use messages::{Batch, ShardMsg};

/// Most messages handled per batch.
const MAX_BATCH: usize = 2_048;

/// A step slower than this counts as slow (ordinary steps take tens of microseconds).
const SLOW_STEP: std::time::Duration = std::time::Duration::from_millis(2);

/// Time a batch may spend in slow steps before its scripts and jq programs are handed to the
/// evaluation threads without a try: however many slow scripts a batch holds, it delays the next
/// (a start, a result) by little more than this. Ordinary steps do not count, so a busy batch of
/// quick scripts still evaluates them in place.
const BATCH_SLOW_TIME: std::time::Duration = std::time::Duration::from_millis(50);

/// The evaluation budget for a step after `slow` time spent in slow steps of its batch.
fn budget(slow: std::time::Duration) -> Budget {
    if slow < BATCH_SLOW_TIME { Budget::DEFAULT } else { Budget { task: std::time::Duration::ZERO, ..Budget::DEFAULT } }
}

/// Creates the instance a `StartChild` / `StartWorkflow` asks for, so it is committed in the same
/// transaction as the step that decided it. Fails when the workflow is not defined.
fn spawn(workflows: &WorkflowSet, teams: &Teams, start: &ChildStart, now: Millis) -> Result<Instance, String> {
    let def = match &start.definition {
        Some(doc) => {
            // A definition that arrived as data acts with the authority its starter's data has.
            start
                .started_by
                .check_references(doc)
                .map_err(|d| format!("the sub-workflow's workflowDefinition: {d}"))?;
            let mut def = workflows.build_inline(doc).map_err(|problems| {
                let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
                format!("the sub-workflow's workflowDefinition is invalid: {}", list.join("; "))
            })?;
            def.defined_by = start.started_by.clone();
            std::sync::Arc::new(def)
        }
        None => match workflows.get(&start.name, start.version) {
            Some(def) => def,
            None => {
                tracing::error!(workflow = %start.name, instance = %start.id, "Cannot start a workflow that is not defined.");
                return Err(format!("workflow `{}` is not defined", start.name));
            }
        },
    };
    // A name from a definition or its data starts only what the starter may start.
    start.started_by.may_start(&def.name, teams.owner_by_name(ObjectKind::Workflows, &def.name)).map_err(|d| d.0)?;
    let mut child = new_instance(&def, start.id.clone(), start.input.clone(), now);
    child.definition = start.definition.clone();
    child.started_by = start.started_by.clone();
    child.parent = start.parent.clone();
    child.correlation_id = start.correlation_id.clone();
    Ok(child)
}

/// The event telling a parent that its child could not start.
fn child_failed(start: &ChildStart, reason: String) -> Option<Event> {
    start.parent.as_ref().map(|p| Event::ChildFinished {
        task_id: p.task_id.clone(),
        status: vigil_core::instance::WorkflowStatus::Failed,
        output: serde_json::json!({}),
        reason: Some(reason),
    })
}

/// Removes the instances of `parts` from memory (their partitions moved to another node), with
/// their queued worker tasks and their count as running instances of their schedules.
fn evict(instances: &mut HashMap<String, Instance>, parts: &[u32], shared: &Shared) {
    let gone: std::collections::HashSet<String> =
        instances.values().filter(|i| parts.contains(&i.partition)).map(|i| i.workflow_id.clone()).collect();
    for id in &gone {
        if let Some(fire) = instances.remove(id).and_then(|i| i.fire) {
            shared.schedules.admission.ended(&fire.schedule);
        }
    }
    shared.work.forget(&gone);
}

/// The shard loop; returns when the engine stops.
pub fn run(
    mut rx: mpsc::UnboundedReceiver<ShardMsg>,
    commit: mpsc::Sender<Batch>,
    shared: Arc<Shared>,
    limits: ScriptLimits,
) {
    let mut scripts = ScriptEngine::new(limits);
    let mut jq = JqCache::new(limits);
    let mut instances: HashMap<String, Instance> = HashMap::new();
    let mut inline: HashMap<String, std::sync::Arc<vigil_core::def::WorkflowDef>> = HashMap::new();
    let mut held = held::HeldStarts::default();
    let mut msgs = Vec::with_capacity(MAX_BATCH);
    loop {
        msgs.clear();
        match rx.blocking_recv() {
            Some(m) => msgs.push(m),
            None => return,
        }
        while msgs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        let workflows = shared.workflows.read().expect("lock").clone();
        let secrets = shared.secrets.values.read().expect("lock").clone();
        let watching = !shared.instances.watchers.lock().expect("lock").is_empty();
        let mut batch = Batch {
            rows: Vec::new(),
            started_by_fire: Vec::new(),
            actions: Vec::new(),
            watched: Vec::new(),
            spawned: Vec::new(),
            committed: Vec::new(),
            inbox_done: Vec::new(),
            status_events: Vec::new(),
            checks: Vec::new(),
        };
        let mut dirty: Vec<String> = Vec::new();
        let now = shared.clock.now();
        let mut slow = std::time::Duration::ZERO;
        for msg in msgs.drain(..) {
            let msg = match msg {
                ShardMsg::FromInbox { id, part, msg } => match *msg {
                    // Deleted once the start is settled, not before.
                    ShardMsg::StartOnce { instance, committed, .. } => {
                        ShardMsg::StartOnce { instance, committed, inbox: Some((part, id)) }
                    }
                    msg => {
                        batch.inbox_done.push((part, id));
                        msg
                    }
                },
                other => other,
            };
            let (id, event) = match msg {
                ShardMsg::FromInbox { .. } => continue,
                ShardMsg::Evict(parts) => {
                    evict(&mut instances, &parts, &shared);
                    held.evict(&parts);
                    inline.retain(|id, _| instances.contains_key(id));
                    continue;
                }
                ShardMsg::StartOnce { instance, committed, inbox } => {
                    // Its partition moved away meanwhile: left to the new owner (the inbox message
                    // stays; a starter hears the engine cannot start it here).
                    if !shared.cluster.ownership.owns(instance.partition) {
                        continue;
                    }
                    let id = instance.workflow_id.clone();
                    if instances.contains_key(&id) {
                        // Running here: its starter hears once this batch, and so the run's
                        // start, is committed.
                        batch.committed.extend(committed.map(|tx| (id.clone(), tx)));
                        batch.inbox_done.extend(inbox);
                        continue;
                    }
                    if let Some(seq) = held.hold(*instance, committed, inbox) {
                        batch.checks.push((id, seq));
                    }
                    continue;
                }
                ShardMsg::Checked { id, seq, exists } => {
                    let Some(start) = held.take(&id, seq) else { continue };
                    if !shared.cluster.ownership.owns(start.instance.partition) {
                        continue;
                    }
                    batch.inbox_done.extend(start.inbox);
                    // Its starters hear once this batch is committed, whether it starts or exists.
                    batch.committed.extend(start.waiters.into_iter().map(|tx| (id.clone(), tx)));
                    // Loaded or revived meanwhile: present as well.
                    if exists || instances.contains_key(&id) {
                        continue;
                    }
                    instances.insert(id.clone(), start.instance);
                    (id, Event::Start)
                }
                ShardMsg::Start { instance, started_by_fire, committed } => {
                    if instances.contains_key(&instance.workflow_id) || held.contains(&instance.workflow_id) {
                        batch.committed.extend(committed.map(|tx| (instance.workflow_id.clone(), tx)));
                        continue;
                    }
                    batch.committed.extend(committed.map(|tx| (instance.workflow_id.clone(), tx)));
                    if started_by_fire
                        && workflows.get(&instance.workflow_name, Some(instance.workflow_version)).is_some()
                    {
                        batch.started_by_fire.push(instance.workflow_id.clone());
                    }
                    let id = instance.workflow_id.clone();
                    instances.insert(id.clone(), *instance);
                    (id, Event::Start)
                }
                ShardMsg::Load(instance) => {
                    let id = instance.workflow_id.clone();
                    instances.insert(id.clone(), *instance);
                    (id, Event::Recover)
                }
                ShardMsg::Event(id, event) => (id, event),
                ShardMsg::EventCommitted(id, event, tx) => {
                    if !instances.contains_key(&id) {
                        continue;
                    }
                    batch.committed.push((id.clone(), tx));
                    (id, event)
                }
                ShardMsg::Restart(instance) => {
                    let id = instance.workflow_id.clone();
                    if instances.get(&id).is_some_and(|i| !i.status.is_terminal()) {
                        continue;
                    }
                    instances.insert(id.clone(), *instance);
                    (id, Event::Restart)
                }
                ShardMsg::Revive(instance, event) => {
                    let id = instance.workflow_id.clone();
                    instances.entry(id.clone()).or_insert(*instance);
                    (id, event)
                }
            };
            let Some(instance) = instances.get_mut(&id) else { continue };
            let found = match &instance.definition {
                // Its own definition, built once while it is in memory.
                Some(doc) => match inline.get(&id) {
                    Some(def) => Some(def.clone()),
                    None => {
                        let built = workflows.build_inline(doc).ok().map(std::sync::Arc::new);
                        if let Some(def) = &built {
                            inline.insert(id.clone(), def.clone());
                        }
                        built
                    }
                },
                None => workflows.get(&instance.workflow_name, Some(instance.workflow_version)),
            };
            let def = match found {
                Some(def) => def,
                // An operator can always end an instance, even one whose definition is gone.
                None if matches!(event, Event::Terminate { .. }) => {
                    std::sync::Arc::new(WorkflowDef::gone(&instance.workflow_name, instance.workflow_version))
                }
                None => {
                    tracing::error!(instance = %id, workflow = %instance.workflow_name, version = instance.workflow_version, "The instance's workflow definition is no longer loaded; it waits until it is.");
                    continue;
                }
            };
            let mut cx = Step {
                now: now.max(shared.clock.now()),
                workflows: &workflows,
                scripts: &mut scripts,
                jq: &mut jq,
                secrets: secrets.as_ref(),
                max_iterations: vigil_core::interpreter::MAX_ITERATIONS,
                max_variables_bytes: shared.instances.max_variables_bytes,
                budget: Some(budget(slow)),
            };
            let part = instance.partition;
            // A restart replaced the ended instance with a fresh one before this step: it was ended.
            let before = match event {
                Event::Start => None,
                Event::Restart => Some(vigil_core::instance::WorkflowStatus::Terminated),
                _ => Some(instance.status),
            };
            let reopened = matches!(event, Event::Restart | Event::Retry | Event::Rerun { .. });
            let stepping = std::time::Instant::now();
            let mut pending = step(instance, &def, event, &mut cx);
            let took = stepping.elapsed();
            if took > SLOW_STEP {
                slow += took;
            }
            while !pending.is_empty() {
                let mut missing = Vec::new();
                for action in pending.drain(..) {
                    if let Action::StartChild(start) | Action::StartWorkflow(start) = &action {
                        match spawn(&workflows, secrets.teams(), start, cx.now) {
                            Ok(mut child) => {
                                child.partition = part;
                                batch.spawned.push(child);
                            }
                            Err(reason) => {
                                missing.extend(child_failed(start, reason));
                                continue;
                            }
                        }
                    }
                    batch.actions.push((id.clone(), action));
                }
                for event in missing {
                    pending.extend(step(instance, &def, event, &mut cx));
                }
            }
            if let Some(sink) = shared.events.status_listeners.sink_for(&def) {
                for kind in vigil_core::status_event::changes(before, instance.status, reopened) {
                    batch.status_events.push(vigil_store::NewStatusEvent {
                        part,
                        instance_id: id.clone(),
                        sink: sink.to_string(),
                        body: vigil_core::status_event::cloud_event(kind, instance, cx.now).to_string(),
                        created_at: cx.now,
                    });
                }
            }
            dirty.push(id);
        }
        for child in &batch.spawned {
            batch.rows.push(InstanceRow::from_instance(child));
        }
        dirty.sort_unstable();
        dirty.dedup();
        for id in dirty {
            let Some(instance) = instances.get(&id) else { continue };
            batch.rows.push(InstanceRow::from_instance(instance));
            if watching {
                batch.watched.push(instance.clone());
            }
            if instance.status.is_terminal() {
                instances.remove(&id);
                inline.remove(&id);
            }
        }
        let work = !batch.rows.is_empty()
            || !batch.actions.is_empty()
            || !batch.inbox_done.is_empty()
            || !batch.checks.is_empty()
            || !batch.committed.is_empty();
        if work && commit.blocking_send(batch).is_err() {
            return;
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
    }
}
