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

use crate::router::Router;

/// What a timer wakes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A task execution.
    Task { instance: String, task_id: String },
    /// An instance's deadline.
    Workflow { instance: String },
}

impl Target {
    fn instance(&self) -> &str {
        match self {
            Target::Task { instance, .. } | Target::Workflow { instance } => instance,
        }
    }
}

/// Work for the timer heap.
#[derive(Debug)]
pub enum TimerMsg {
    /// Wake `Target` at the time.
    Arm(Millis, Target),
    /// These instances ended (one message per commit): their timers (a day's workflow timeout of
    /// an instance that took a second) are dropped at the next compaction instead of waiting out
    /// their due time.
    Ended(Vec<String>),
}

/// Ended instances collected before the heap is rebuilt without their timers (at least this
/// many, and at least half as many as the heap holds, so a rebuild costs O(1) per message).
const COMPACT_AFTER: usize = 4_096;

/// The due times, and the instances that ended since the last compaction.
#[derive(Default)]
struct Heap {
    due: BinaryHeap<Reverse<(Millis, Target)>>,
    ended: std::collections::HashSet<String>,
}

impl Heap {
    fn apply(&mut self, msg: TimerMsg) {
        match msg {
            TimerMsg::Arm(due, target) => self.due.push(Reverse((due, target))),
            TimerMsg::Ended(ids) => {
                if !self.due.is_empty() {
                    self.ended.extend(ids);
                }
                if self.ended.len() >= COMPACT_AFTER.max(self.due.len() / 2) {
                    let ended = std::mem::take(&mut self.ended);
                    self.due.retain(|Reverse((_, t))| !ended.contains(t.instance()));
                }
            }
        }
    }

    /// Takes the next target due at `now`.
    fn pop_due(&mut self, now: Millis) -> Option<Target> {
        self.due.peek().is_some_and(|Reverse((due, _))| *due <= now).then(|| self.due.pop())?.map(|Reverse((_, t))| t)
    }
}

/// Runs the heap until the sender side closes.
pub async fn run(mut rx: mpsc::UnboundedReceiver<TimerMsg>, clock: Arc<dyn Clock>, router: Router) {
    let mut heap = Heap::default();
    loop {
        let now = clock.now();
        while let Some(target) = heap.pop_due(now) {
            match target {
                Target::Task { instance, task_id } => router.send(&instance, Event::Timer { task_id }),
                Target::Workflow { instance } => router.send(&instance, Event::WorkflowTimeout),
            }
        }
        let wait = heap.due.peek().map(|Reverse((due, _))| Duration::from_millis((*due - now).max(1) as u64));
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(msg) => heap.apply(msg),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_instances_timers_are_dropped_without_waiting_for_them() {
        let mut heap = Heap::default();
        let day = 86_400_000;
        for n in 0..COMPACT_AFTER {
            heap.apply(TimerMsg::Arm(day, Target::Workflow { instance: format!("done-{n}") }));
        }
        heap.apply(TimerMsg::Arm(5, Target::Task { instance: "running".into(), task_id: "1".into() }));
        heap.apply(TimerMsg::Ended((0..COMPACT_AFTER).map(|n| format!("done-{n}")).collect()));
        assert_eq!(heap.due.len(), 1, "only the running instance's timer is left");
        assert!(heap.ended.is_empty());
        assert_eq!(heap.pop_due(4), None);
        assert_eq!(heap.pop_due(5), Some(Target::Task { instance: "running".into(), task_id: "1".into() }));
        heap.apply(TimerMsg::Ended(vec!["x".into()]));
        assert!(heap.ended.is_empty(), "nothing armed, nothing remembered");
    }
}
