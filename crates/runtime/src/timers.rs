//! Due times in one in-memory heap: WAIT tasks, retry delays, task and workflow timeouts.
//!
//! Timers are not stored separately: every due time is part of an instance's committed state and is
//! re-armed by [`vigil_core::interpreter::Event::Recover`] after a restart, so an overdue timer
//! fires at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use vigil_core::interpreter::Event;
use vigil_core::time::{Clock, Millis};

use crate::engine::Router;

/// What a timer wakes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A task execution.
    Task { instance: String, task_id: String },
    /// An instance's deadline.
    Workflow { instance: String },
}

/// Runs the heap until the sender side closes.
pub async fn run(mut rx: mpsc::UnboundedReceiver<(Millis, Target)>, clock: Arc<dyn Clock>, router: Router) {
    let mut heap: BinaryHeap<Reverse<(Millis, Target)>> = BinaryHeap::new();
    loop {
        let now = clock.now();
        while heap.peek().is_some_and(|Reverse((due, _))| *due <= now) {
            let Some(Reverse((_, target))) = heap.pop() else { break };
            match target {
                Target::Task { instance, task_id } => router.send(&instance, Event::Timer { task_id }),
                Target::Workflow { instance } => router.send(&instance, Event::WorkflowTimeout),
            }
        }
        let wait = heap.peek().map(|Reverse((due, _))| Duration::from_millis((*due - now).max(1) as u64));
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(entry) => heap.push(Reverse(entry)),
                None => return,
            },
            _ = sleep_or_forever(wait) => {}
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
