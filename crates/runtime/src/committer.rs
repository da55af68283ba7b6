//! Commits shard batches (merged into one transaction when several are waiting), then performs the
//! actions they carry. Nothing is acted upon before it is durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use vigil_core::instance::WorkflowStatus;
use vigil_core::interpreter::{Action, ChildStart, Event};
use vigil_store::CommitBatch;

use crate::engine::{Engine, Shared, StartRequest};
use crate::shard::Batch;
use crate::timers::Target;

/// Runs until every shard has stopped, then signals `done`.
pub async fn run(mut rx: mpsc::Receiver<Batch>, shared: Arc<Shared>, done: oneshot::Sender<()>) {
    let mut pending = Vec::new();
    while rx.recv_many(&mut pending, 16).await > 0 {
        let mut merged = CommitBatch::default();
        let mut actions = Vec::new();
        let mut watched = Vec::new();
        for b in pending.drain(..) {
            merged.instances.extend(b.rows);
            merged.started_by_fire.extend(b.started_by_fire);
            actions.extend(b.actions);
            watched.extend(b.watched);
        }
        commit_until_done(&shared, &merged).await;
        let ended = merged.instances.iter().filter(|r| r.status.is_terminal()).count() as u64;
        shared.finished.fetch_add(ended, std::sync::atomic::Ordering::Relaxed);
        for row in merged.instances.iter().filter(|r| r.status.is_terminal()) {
            metrics::counter!("vigil_workflows_finished_total", "status" => row.status.as_str()).increment(1);
            if let Some(schedule) = &row.schedule_name {
                let mut running = shared.running_by_schedule.lock().expect("lock");
                if let Some(n) = running.get_mut(schedule) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        notify_watchers(&shared, watched);
        for (id, action) in actions {
            dispatch(&shared, id, action);
        }
    }
    let _ = done.send(());
}

/// Retries a failed commit with backoff: effects wait rather than run unrecorded.
async fn commit_until_done(shared: &Shared, batch: &CommitBatch) {
    let mut delay = Duration::from_millis(50);
    loop {
        let started = Instant::now();
        match shared.store.commit(batch).await {
            Ok(()) => {
                metrics::histogram!("vigil_store_commit_seconds").record(started.elapsed().as_secs_f64());
                metrics::counter!("vigil_store_committed_instances_total").increment(batch.instances.len() as u64);
                return;
            }
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
    let mut watchers = shared.watchers.lock().expect("lock");
    for instance in watched {
        if let Some(tx) = watchers.get(&instance.workflow_id) {
            let terminal = instance.status.is_terminal();
            if tx.send(instance.clone()).is_err() || terminal {
                watchers.remove(&instance.workflow_id);
            }
        }
    }
}

fn dispatch(shared: &Arc<Shared>, id: String, action: Action) {
    match action {
        Action::Http { task_id, request } => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let _slot = shared.http_slots.acquire().await;
                let result = crate::http::call(&shared.http, request).await;
                shared.router.send(&id, Event::TaskResult { task_id, result });
            });
        }
        Action::Timer { task_id, due } => {
            let _ = shared.timers.send((due, Target::Task { instance: id, task_id }));
        }
        Action::WorkflowTimer { due } => {
            let _ = shared.timers.send((due, Target::Workflow { instance: id }));
        }
        Action::StartChild(start) | Action::StartWorkflow(start) => {
            let shared = shared.clone();
            tokio::spawn(async move { start_child(&shared, start).await });
        }
        Action::CancelChild { child_id } => {
            shared.router.send(&child_id, Event::Terminate { reason: format!("parent {id} ended") });
        }
        Action::Finished { status, output, reason, parent } => {
            if let Some(parent) = parent {
                shared.router.send(
                    &parent.workflow_id,
                    Event::ChildFinished { task_id: parent.task_id, status, output, reason },
                );
            }
            let waiters = shared.waiters.lock().expect("lock").remove(&id);
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

/// Starts a child unless it already exists; if it exists and has ended, tells the parent again
/// (the first notice may have been lost in a crash).
async fn start_child(shared: &Arc<Shared>, start: ChildStart) {
    match shared.store.instance(&start.id).await {
        Ok(Some(child)) => {
            if let (true, Some(parent)) = (child.status.is_terminal(), child.parent.clone()) {
                let event = Event::ChildFinished {
                    task_id: parent.task_id,
                    status: child.status,
                    output: child.output,
                    reason: child.reason_for_incompletion,
                };
                shared.router.send(&parent.workflow_id, event);
            }
            return;
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, child = %start.id, "Could not check for an existing child instance."),
    }
    let engine = Engine::from_shared(shared.clone());
    let req = StartRequest {
        name: start.name.clone(),
        version: start.version,
        input: start.input,
        id: Some(start.id.clone()),
        correlation_id: None,
    };
    if let Err(e) = engine.start_child(req, start.parent.clone()) {
        tracing::error!(error = %e, child = %start.id, "Could not start a child instance.");
        if let Some(parent) = start.parent {
            let event = Event::ChildFinished {
                task_id: parent.task_id,
                status: WorkflowStatus::Failed,
                output: serde_json::json!({}),
                reason: Some(e.to_string()),
            };
            shared.router.send(&parent.workflow_id, event);
        }
    }
}
