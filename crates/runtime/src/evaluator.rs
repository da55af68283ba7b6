//! Evaluation threads: INLINE scripts and jq programs that ran past an interpreter step's budget
//! ([`vigil_core::interpreter::Budget`]) finish here, under the engine's full limits, while the
//! shard that handed them over goes on with its other instances. Their results come back as
//! [`Event::TaskResult`]s, as an HTTP call's do.
//!
//! Owns its message type and handle; knows nothing of the rest of the engine but the function
//! that delivers a result.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use vigil_core::interpreter::{Evaluation, Event};
use vigil_core::jq::JqCache;
use vigil_core::script::{ScriptEngine, ScriptLimits};

/// Delivers an event to an instance.
pub type Reply = Arc<dyn Fn(&str, Event) + Send + Sync>;

/// One evaluation to finish.
pub struct EvalJob {
    /// The instance.
    pub instance: String,
    /// The INLINE or JSON_JQ_TRANSFORM execution.
    pub task_id: String,
    /// What to evaluate (secrets revealed: it is never stored).
    pub evaluation: Box<Evaluation>,
}

/// Hands evaluations to the threads. Cheap to clone; the threads end when every handle is gone.
#[derive(Clone)]
pub struct Evaluator {
    jobs: Sender<EvalJob>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Evaluator {
    /// Starts `threads` evaluation threads with `limits`; results go to `reply`.
    pub fn start(threads: usize, limits: ScriptLimits, reply: Reply) -> Evaluator {
        let (jobs, rx) = channel::<EvalJob>();
        let rx = Arc::new(Mutex::new(rx));
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for n in 0..threads.max(1) {
            let (rx, reply, queued) = (rx.clone(), reply.clone(), queued.clone());
            std::thread::Builder::new()
                .name(format!("vigil-eval-{n}"))
                .stack_size(vigil_core::jq::MIN_THREAD_STACK)
                .spawn(move || work(&rx, limits, &reply, &queued))
                .expect("spawn evaluation thread");
        }
        Evaluator { jobs, queued }
    }

    /// Queues `job`.
    pub fn submit(&self, job: EvalJob) {
        let waiting = self.queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        metrics::gauge!("vigil_evaluations_queued").set(waiting as f64);
        let _ = self.jobs.send(job);
    }
}

fn work(rx: &Mutex<Receiver<EvalJob>>, limits: ScriptLimits, reply: &Reply, queued: &std::sync::atomic::AtomicUsize) {
    let mut scripts = ScriptEngine::new(limits);
    let mut jq = JqCache::new(limits);
    loop {
        let job = match rx.lock().expect("lock").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        queued.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let result = job.evaluation.run(&mut scripts, &mut jq);
        metrics::counter!("vigil_evaluations_handed_off_total").increment(1);
        reply(&job.instance, Event::TaskResult { task_id: job.task_id, result });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;
    use vigil_core::interpreter::TaskResult;

    #[test]
    fn long_evaluations_do_not_hold_up_quick_ones_behind_them_on_other_threads() {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        let reply: Reply = Arc::new(move |id: &str, event| {
            let _ = tx.lock().unwrap().send((id.to_string(), event));
        });
        let limits = ScriptLimits { time: Duration::from_millis(500), memory_bytes: 32 << 20 };
        let evaluator = Evaluator::start(2, limits, reply);
        let job = |instance: &str, code: &str| EvalJob {
            instance: instance.into(),
            task_id: "t".into(),
            evaluation: Box::new(Evaluation::Script { code: code.into(), input: json!({}) }),
        };
        evaluator.submit(job("spin", "while (true) {}"));
        evaluator.submit(job("quick", "6 * 7"));
        let (first, event) = rx.recv().unwrap();
        assert_eq!(first, "quick");
        assert_eq!(
            event,
            Event::TaskResult { task_id: "t".into(), result: TaskResult::Completed(json!({"result": 42})) }
        );
        let (second, event) = rx.recv().unwrap();
        assert_eq!(second, "spin");
        assert!(matches!(event, Event::TaskResult { result: TaskResult::Failed { .. }, .. }), "{event:?}");
    }
}
