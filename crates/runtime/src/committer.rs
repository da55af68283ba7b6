//! Commits shard batches (merged into one transaction when several are waiting), then performs the
//! actions they carry. Nothing is acted upon before it is durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use vigil_core::instance::WorkflowStatus;
use vigil_core::interpreter::{Action, Event};
use vigil_store::CommitBatch;

use std::collections::HashMap;

use vigil_core::instance::Instance;

use crate::shard::messages::{Batch, ShardMsg};
use crate::shared::Shared;
use crate::timers::{Target, TimerMsg};

/// Runs until every shard has stopped, then signals `done`.
pub async fn run(mut rx: mpsc::Receiver<Batch>, shared: Arc<Shared>, done: oneshot::Sender<()>) {
    let mut pending = Vec::new();
    while rx.recv_many(&mut pending, 16).await > 0 {
        // Waiting shard batches merge into one transaction, up to a size: a bounded transaction
        // keeps the store's single writer from being held long by one side (alert commits wait
        // behind it). A shard batch is never split; it is atomic.
        let mut group = Vec::new();
        let mut rows = 0;
        for b in pending.drain(..) {
            if rows > 0 && rows + b.rows.len() > MAX_ROWS_PER_COMMIT {
                commit_group(&shared, std::mem::take(&mut group)).await;
                rows = 0;
            }
            rows += b.rows.len();
            group.push(b);
        }
        commit_group(&shared, group).await;
    }
    let _ = done.send(());
}

/// Most instance rows merged into one transaction (one shard batch may hold more).
const MAX_ROWS_PER_COMMIT: usize = 256;

/// Commits `group` in one transaction, then performs its actions.
async fn commit_group(shared: &Arc<Shared>, group: Vec<Batch>) {
    let mut merged = CommitBatch::default();
    let mut actions = Vec::new();
    let mut watched = Vec::new();
    let mut spawned = HashMap::new();
    let mut committed = Vec::new();
    let mut inbox_done = Vec::new();
    let mut checks = Vec::new();
    for b in group {
        merged.instances.extend(b.rows);
        merged.started_by_fire.extend(b.started_by_fire);
        actions.extend(b.actions);
        watched.extend(b.watched);
        committed.extend(b.committed);
        inbox_done.extend(b.inbox_done);
        merged.status_events.extend(b.status_events);
        spawned.extend(b.spawned.into_iter().map(|i| (i.workflow_id.clone(), i)));
        checks.extend(b.checks);
    }
    keep_last_row_per_instance(&mut merged.instances);
    // A group of held starts alone writes nothing: its place in the queue is what counts.
    let writes = !merged.instances.is_empty() || !inbox_done.is_empty() || !merged.status_events.is_empty();
    let dropped = if writes { commit_owned(shared, &mut merged, &mut inbox_done).await } else { Default::default() };
    if !checks.is_empty() {
        tokio::spawn(look_up_held(shared.clone(), checks));
    }
    if !dropped.is_empty() {
        actions.retain(|(id, _)| !dropped.contains(id));
        watched.retain(|i| !dropped.contains(&i.workflow_id));
        committed.retain(|(id, _)| !dropped.contains(id));
    }
    if !merged.status_events.is_empty() {
        shared.events.status_wake.notify_one();
    }
    let ended_ids: Vec<String> =
        merged.instances.iter().filter(|r| r.status.is_terminal()).map(|r| r.id.clone()).collect();
    shared.instances.finished.fetch_add(ended_ids.len() as u64, std::sync::atomic::Ordering::Relaxed);
    if !ended_ids.is_empty() {
        let _ = shared.timers.send(TimerMsg::Ended(ended_ids));
    }
    for row in merged.instances.iter().filter(|r| r.status.is_terminal()) {
        metrics::counter!("vigil_workflows_finished_total", "status" => row.status.as_str()).increment(1);
        if let Some(schedule) = &row.schedule_name {
            shared.schedules.admission.ended(schedule);
        }
    }
    notify_watchers(shared, watched);
    let part_of: HashMap<&str, u32> = merged.instances.iter().map(|r| (r.id.as_str(), r.part)).collect();
    for (id, action) in actions {
        let part = part_of.get(id.as_str()).copied().unwrap_or_default();
        dispatch(shared, (id, part), action, &mut spawned);
    }
    // After the actions: whoever waited for this commit (a worker's report) finds the work it
    // caused (the next task) already queued.
    for (_, tx) in committed {
        let _ = tx.send(());
    }
}

/// Asks the store which of the held once-starts `ids` exist, and tells their shards; retries a
/// failed look-up with backoff (the starts wait, held).
async fn look_up_held(shared: Arc<Shared>, held: Vec<(String, u64)>) {
    let ids: Vec<String> = held.iter().map(|(id, _)| id.clone()).collect();
    let mut delay = Duration::from_millis(50);
    let found = loop {
        // Stopping: the held starts are dropped with their shards.
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        match shared.store.existing_instances(&ids).await {
            Ok(found) => break found.into_iter().collect::<std::collections::HashSet<String>>(),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "Could not look up the instances held starts name; retrying.");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    };
    for (id, seq) in held {
        let exists = found.contains(&id);
        shared.router.place(ShardMsg::Checked { id, seq, exists });
    }
}

/// Commits the part of `batch` whose partitions this node still owns, fenced by those leases,
/// retrying failures with backoff: effects wait rather than run unrecorded. Returns the ids of
/// the instances left out (their partitions moved to another node, which resumes them from what
/// was committed before).
async fn commit_owned(
    shared: &Shared,
    batch: &mut CommitBatch,
    inbox_done: &mut Vec<(u32, i64)>,
) -> std::collections::HashSet<String> {
    let mut dropped = std::collections::HashSet::new();
    let mut delay = Duration::from_millis(50);
    loop {
        let owns = |part: u32| shared.cluster.ownership.owns(part);
        if batch.instances.iter().any(|r| !owns(r.part)) || inbox_done.iter().any(|(p, _)| !owns(*p)) {
            let (kept, gone): (Vec<_>, Vec<_>) = batch.instances.drain(..).partition(|r| owns(r.part));
            batch.instances = kept;
            batch.started_by_fire.retain(|id| !gone.iter().any(|r| &r.id == id));
            batch.status_events.retain(|e| owns(e.part));
            dropped.extend(gone.into_iter().map(|r| r.id));
            inbox_done.retain(|(p, _)| owns(*p));
            tracing::debug!(instances = dropped.len(), "Left out changes to partitions this node no longer owns.");
        }
        batch.inbox_done = inbox_done.iter().map(|(_, id)| *id).collect();
        let parts = batch.instances.iter().map(|r| r.part).chain(inbox_done.iter().map(|(p, _)| *p));
        batch.fence = shared.cluster.ownership.fence(parts);
        let started = Instant::now();
        crate::crash_point::reach(crate::crash_point::CrashPoint::BeforeCommit);
        match shared.store.commit(batch).await {
            Ok(()) => {
                crate::crash_point::reach(crate::crash_point::CrashPoint::AfterCommit);
                metrics::histogram!("vigil_store_commit_seconds").record(started.elapsed().as_secs_f64());
                metrics::counter!("vigil_store_committed_instances_total").increment(batch.instances.len() as u64);
                return dropped;
            }
            Err(vigil_store::StoreError::LeaseLost(parts)) => crate::cluster::lose(shared, &parts),
            Err(e) => {
                tracing::error!(error = %e, retry_in_ms = delay.as_millis() as u64, "Commit failed; retrying before any effect is performed.");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn notify_watchers(shared: &Shared, watched: Vec<vigil_core::instance::Instance>) {
    if watched.is_empty() {
        return;
    }
    let mut watchers = shared.instances.watchers.lock().expect("lock");
    for instance in watched {
        if let Some(tx) = watchers.get(&instance.workflow_id) {
            let terminal = instance.status.is_terminal();
            if tx.send(instance.clone()).is_err() || terminal {
                watchers.remove(&instance.workflow_id);
            }
        }
    }
}

/// Two merged batches of one shard may hold the same instance; one upsert must write a row once.
fn keep_last_row_per_instance(rows: &mut Vec<vigil_store::InstanceRow>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<_> = rows.drain(..).rev().filter(|r| seen.insert(r.id.clone())).collect();
    kept.reverse();
    *rows = kept;
}

/// Performs `action` of instance `id` (in partition `part`).
fn dispatch(shared: &Arc<Shared>, (id, part): (String, u32), action: Action, spawned: &mut HashMap<String, Instance>) {
    match action {
        // While stopping, calls are not started: their results would be dropped, and the restart
        // sends them anyway as a new attempt.
        Action::Http { .. } if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => {}
        Action::Http { task_id, request, reach } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let _slot = shared.http.slots.acquire().await;
                let result = match vigil_connectors::egress::check_url(reach, &request.uri).await {
                    Ok(()) => crate::http::call(&crate::http::client_for(&shared.http.client, reach), request).await,
                    Err(reason) => vigil_core::interpreter::TaskResult::Failed {
                        reason,
                        output: serde_json::json!({}),
                        terminal: true,
                    },
                };
                shared.router.send(&id, Event::TaskResult { task_id, result });
            });
        }
        Action::Enqueue(task) => shared.work.enqueue(id, part, *task),
        Action::Withdraw { task_id } => {
            shared.work.remove(&id, &task_id);
        }
        Action::Query { .. } if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => {}
        Action::Query { task_id, source, jdbc, mut config, reach } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let _slot = shared.http.slots.acquire().await;
                // A named connection's URL is a secret: read here, never stored with the task.
                let secrets = shared.secrets.values.read().expect("lock").clone();
                let lookup = |kind: &str, name: &str| {
                    (kind == "secrets").then(|| vigil_core::instance::SecretSource::secret(&*secrets, name)).flatten()
                };
                let result = match vigil_connectors::sources::sql::resolve_connection(&mut config, &lookup) {
                    Ok(_) if !jdbc => crate::query::run(&shared.http.client, source, config, reach).await,
                    Ok(writable) => crate::query::jdbc(config, writable).await,
                    Err(reason) => vigil_core::interpreter::TaskResult::Failed {
                        reason,
                        output: serde_json::json!({}),
                        terminal: true,
                    },
                };
                shared.router.send(&id, Event::TaskResult { task_id, result });
            });
        }
        // As for calls: the restart evaluates it again.
        Action::Evaluate { .. } if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => {}
        Action::Evaluate { task_id, evaluation } => {
            shared.evaluator.submit(crate::evaluator::EvalJob { instance: id, task_id, evaluation })
        }
        Action::Alert { task_id, request } if !shared.cluster.ownership.owns_key(&request.dedup_key) => {
            // Another node owns the key: the observation goes to its inbox, the result comes back
            // to this instance's.
            let key_part = vigil_store::partition_of(&request.dedup_key);
            let msg = crate::cluster::inbox::InboxMsg::Observe { instance: id, task_id, request, reply_part: part };
            crate::cluster::inbox::send_later(shared.store.clone(), shared.clock.now(), key_part, msg);
        }
        Action::Alert { task_id, request } => {
            let from = crate::alerting::messages::ObservedFrom::Local { part };
            let _ = shared.alerting.sender.send(crate::alerting::messages::AlertMsg::Observe {
                instance: id,
                task_id,
                request,
                from,
            });
        }
        Action::UpdateSecret { task_id, name, value } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let target = crate::secret_update::SecretTarget {
                    store: shared.store.as_ref(),
                    sealer: shared.secrets.sealer.as_deref(),
                    in_use: &shared.secrets.values,
                };
                let result = crate::secret_update::update(target, &name, &value, shared.clock.now()).await;
                shared.router.send(&id, Event::TaskResult { task_id, result });
            });
        }
        // As for calls: the restart publishes it again, with the same id.
        Action::Publish { .. } if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => {}
        Action::Publish { task_id, publication } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Some(result) = crate::publish::publish(&shared, &publication).await {
                    shared.router.send(&id, Event::TaskResult { task_id, result });
                }
            });
        }
        // As for calls: the restart sends it again (and finds it applied if it was).
        Action::UpdateTask { .. } if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) => {}
        Action::UpdateTask { task_id, update } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let result = crate::task_update::update(&shared, &id, *update).await;
                shared.router.send(&id, Event::TaskResult { task_id, result });
            });
        }
        Action::Timer { task_id, due } => {
            let _ = shared.timers.send(TimerMsg::Arm(due, Target::Task { instance: id, task_id }));
        }
        Action::WorkflowTimer { due } => {
            let _ = shared.timers.send(TimerMsg::Arm(due, Target::Workflow { instance: id }));
        }
        Action::StartChild(start) | Action::StartWorkflow(start) => {
            if let Some(child) = spawned.remove(&start.id) {
                shared.router.place(ShardMsg::Start {
                    instance: Box::new(child),
                    started_by_fire: false,
                    committed: None,
                });
            }
        }
        Action::CheckChild { task_id, child_id } => {
            let shared = shared.clone();
            tokio::spawn(async move { report_if_ended(&shared, &id, task_id, &child_id).await });
        }
        Action::ReopenParent(parent) => {
            let shared = shared.clone();
            tokio::spawn(async move { reopen_parent(&shared, parent).await });
        }
        Action::CancelChild { child_id, reason } => {
            shared.router.send(&child_id, Event::Terminate { reason });
        }
        Action::Finished { status, output, reason, parent } => {
            shared.work.drop_instance(&id);
            if let Some(parent) = parent {
                shared.router.send(
                    &parent.workflow_id,
                    Event::ChildFinished { task_id: parent.task_id, status, output, reason },
                );
            }
            let waiters = shared.instances.waiters.lock().expect("lock").remove(&id);
            if let Some(waiters) = waiters {
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Ok(Some(instance)) = shared.store.instance(&id).await {
                        for w in waiters {
                            let _ = w.send(instance.clone());
                        }
                    }
                });
            }
        }
        Action::Yield => shared.router.send(&id, Event::Continue),
    }
}

/// Tells a parent that its child runs again, reading the parent back from the store (it has
/// usually ended, and ended instances leave memory); one still in memory gets the event there.
/// Parent and child share a partition, so the parent is this node's.
async fn reopen_parent(shared: &Arc<Shared>, parent: vigil_core::instance::ParentRef) {
    match shared.store.instance(&parent.workflow_id).await {
        Ok(Some(instance)) => {
            let event = Event::ChildReopened { task_id: parent.task_id };
            shared.router.place(ShardMsg::Revive(Box::new(instance), event));
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, parent = %parent.workflow_id, "Could not re-open the parent of a retried instance.")
        }
    }
}

/// After a restart, tells the parent again about a child that has already ended.
async fn report_if_ended(shared: &Arc<Shared>, parent: &str, task_id: String, child_id: &str) {
    match shared.store.instance(child_id).await {
        Ok(Some(child)) if child.status.is_terminal() => {
            let event = Event::ChildFinished {
                task_id,
                status: child.status,
                output: child.output,
                reason: child.reason_for_incompletion,
            };
            shared.router.send(parent, event);
        }
        Ok(Some(_)) => {}
        Ok(None) => {
            let event = Event::ChildFinished {
                task_id,
                status: WorkflowStatus::Failed,
                output: serde_json::json!({}),
                reason: Some(format!("child instance {child_id} does not exist")),
            };
            shared.router.send(parent, event);
        }
        Err(e) => tracing::error!(error = %e, child = %child_id, "Could not check a child instance after a restart."),
    }
}
