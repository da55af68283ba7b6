//! EVENT (Conductor's): publishes a message to the queue its `sink` names (`amqp_queue:NAME`,
//! `nats:SUBJECT`, `conductor`, ...: [`crate::sink`]). The message is the task's output: its
//! input with `sink` and `asyncComplete`, and `workflowInstanceId`, `workflowType`,
//! `workflowVersion`, `correlationId`, `taskToDomain` and `event_produced` (the queue), as
//! Conductor's `Event` builds it; its id is the task's id. The task completes once the broker
//! accepted the message, or, with `asyncComplete`, stays in progress until a task update or an
//! event handler completes it.

use serde_json::{Value, json};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::interpreter::{Action, Publication};
use crate::locate::join_key;

/// The message is published again, with the same id: the instance's commit is the outbox, so a
/// crash after it and before the broker accepted the message loses nothing, and one after the
/// broker accepted it publishes it twice with one id, which JetStream drops and consumers
/// de-duplicate by.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Call;

impl Builder {
    /// `sink`, a known type with a name (a `${...}` taken on trust).
    pub(crate) fn build_event(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let at = join_key(path, "sink");
        let sink = match raw.sink.as_deref().map(str::trim) {
            None | Some("") => {
                self.problems.push(Problem::error(
                    at,
                    "an EVENT task needs `sink`, the queue it publishes to: amqp_queue:NAME, nats:SUBJECT, \
                     mqtt:TOPIC, redis:STREAM, conductor, ...",
                ));
                return None;
            }
            Some(s) => s.to_string(),
        };
        if !sink.contains("${")
            && let Err(e) = crate::sink::split(&sink)
        {
            self.problems.push(Problem::error(at, e.to_string()));
        }
        Some(TaskKind::Event { sink, async_complete: raw.async_complete })
    }
}

impl Run<'_, '_> {
    /// Builds the message from the stored (masked) input, records it as the task's output and
    /// hands it to the runtime to publish. A secret the input resolved is not published in the
    /// clear: a queue has more readers than the instance.
    pub(crate) fn start_event(&mut self, i: usize, sink: &str, async_complete: bool) {
        let suffix = self.inst.tasks[i].suffix().to_string();
        let sink = match self.resolve_masked(&Value::String(sink.to_string()), &suffix) {
            Ok(Value::String(s)) => s,
            Ok(other) => return self.fail(i, format!("`sink` is not a queue name: {other}"), TaskStatus::Failed),
            Err(e) => return self.fail(i, e, TaskStatus::FailedWithTerminalError),
        };
        let reference = self.inst.tasks[i].reference_task_name.clone();
        let queue = match crate::sink::event_queue(&sink, &self.inst.workflow_name, &reference) {
            Ok(q) => q,
            Err(e) => return self.fail(i, e.to_string(), TaskStatus::Failed),
        };
        let mut payload = self.masked_input(i);
        payload.insert("sink".into(), Value::String(sink.clone()));
        payload.insert("asyncComplete".into(), Value::Bool(async_complete));
        if let Value::Object(stored) = &mut self.inst.tasks[i].input_data {
            stored.insert("sink".into(), Value::String(sink));
            stored.insert("asyncComplete".into(), Value::Bool(async_complete));
        }
        payload.insert("workflowInstanceId".into(), json!(self.inst.workflow_id));
        payload.insert("workflowType".into(), json!(self.inst.workflow_name));
        payload.insert("workflowVersion".into(), json!(self.inst.workflow_version));
        payload.insert("correlationId".into(), json!(self.inst.correlation_id));
        payload.insert("taskToDomain".into(), json!({}));
        payload.insert("event_produced".into(), Value::String(queue.clone()));
        let payload = Value::Object(payload);
        let exec = &mut self.inst.tasks[i];
        exec.output_data = payload.clone();
        let id = crate::instance::global_task_id(&self.inst.workflow_id, &exec.task_id);
        let task_id = exec.task_id.clone();
        let publication = Publication { id, sink: queue, payload, async_complete };
        self.actions.push(Action::Publish { task_id, publication: Box::new(publication) });
    }
}
