//! Starting a task: what every type shares (its status, its input, its timeout), then the type's
//! own start in `crate::task_types`; and what several types use (evaluations, authority).

use serde_json::{Map, Value};

use super::evaluate::Stop;
use super::run::Run;
use super::{Action, Evaluation};
use crate::def::TaskKind;
use crate::instance::TaskStatus;
use crate::params::Secrets as Reveal;
use crate::task_types::Timeout;

impl Run<'_, '_> {
    /// Starts execution `i`: evaluates synchronous tasks at once, emits actions for the others.
    pub(super) fn start(&mut self, i: usize) {
        let now = self.cx.now;
        let def_ref = self.inst.tasks[i].def_ref.clone();
        let Some(task) = self.task_def(&def_ref) else {
            let reason = format!("task `{def_ref}` is no longer in the workflow definition");
            self.set_status(i, TaskStatus::FailedWithTerminalError, Some(reason));
            return;
        };
        if matches!(task.kind, TaskKind::Simple) {
            return self.offer(i, task);
        }
        {
            let at = self.at();
            let exec = &mut self.inst.tasks[i];
            exec.status = TaskStatus::InProgress;
            exec.start_time = Some(at);
            exec.due_time = None;
        }
        let given = self.rerun_input.take_if(|(id, _)| *id == self.inst.tasks[i].task_id).map(|(_, input)| input);
        let input = match given.map(Ok).unwrap_or_else(|| self.resolve_input(i, task, Reveal::Reveal).map(into_map)) {
            Ok(m) => m,
            Err(e) => return self.fail(i, e, TaskStatus::FailedWithTerminalError),
        };
        if let Some(timeout) = task.timeout
            && matches!(task.kind.timeout(), Timeout::Call | Timeout::Waiting)
        {
            let due = now + timeout.seconds as i64 * 1000;
            self.inst.tasks[i].timeout_time = Some(due);
            self.actions.push(Action::Timer { task_id: self.inst.tasks[i].task_id.clone(), due });
        }
        // Each type's start is in its module in `crate::task_types`.
        match &task.kind {
            TaskKind::Http => self.start_http(i, &input),
            TaskKind::Inline => self.start_inline(i, &input),
            TaskKind::Lambda => self.start_lambda(i, &input),
            TaskKind::JsonJq { .. } => self.start_json_jq(i, &input),
            TaskKind::Switch(sw) => self.start_switch(i, sw, input),
            TaskKind::DoWhile(_) => self.start_do_while(i),
            TaskKind::Wait => self.start_wait(i, &input),
            TaskKind::Human => self.start_human(i),
            // Offered above, never started here.
            TaskKind::Simple => {}
            TaskKind::SetVariable => self.start_set_variable(i),
            TaskKind::Noop => self.start_noop(i),
            TaskKind::StartWorkflow => self.start_start_workflow(i),
            TaskKind::Event { sink, async_complete } => self.start_event(i, sink, *async_complete),
            TaskKind::Terminate => self.start_terminate(i, &input),
            TaskKind::SubWorkflow { name, .. } => self.start_sub_workflow(i, name),
            TaskKind::ForkJoin { .. } => self.start_fork(i),
            TaskKind::ForkJoinDynamic(_) => self.start_fork_join_dynamic(i),
            TaskKind::Dynamic { .. } => self.start_dynamic(i),
            TaskKind::UpdateSecret => self.start_update_secret(i, &input),
            TaskKind::UpdateTask => self.start_update_task(i),
            TaskKind::Query { source, jdbc } => self.start_source_query(i, *source, *jdbc, input),
            TaskKind::Alert => self.start_alert(i, task),
            TaskKind::Join { join_on } => self.start_join(i, join_on),
            TaskKind::ExclusiveJoin { join_on, defaults } => self.start_exclusive_join(i, join_on, defaults),
        }
    }

    /// Whose authority the value of input `field` of execution `i` carries: the definer's when
    /// the definition wrote it out, the instance's data authority when it is (or may be) data:
    /// a template, or a task made at run time.
    pub(crate) fn authority_for(&self, i: usize, field: &str) -> crate::principal::Principal {
        let exec = &self.inst.tasks[i];
        let made =
            self.made.maker_of(&exec.def_ref).is_some() || self.made.maker_of(&exec.reference_task_name).is_some();
        let written = self.task_def(&exec.def_ref).and_then(|t| t.input.get(field));
        let templated = written.is_none_or(|v| v.to_string().contains("${"));
        if made || templated { self.inst.data_authority() } else { self.inst.defined_by.clone() }
    }

    /// Where execution `i`'s calls may go: guarded when any of `fields` (those that give its
    /// addresses) carries an authority short of trusted. Fields the task does not have give no address; with none of them, its first decides.
    pub(crate) fn reach_of(&self, i: usize, fields: &[&str]) -> crate::principal::Reach {
        use crate::principal::Reach;
        let written = self.task_def(&self.inst.tasks[i].def_ref).map(|t| &t.input);
        let mut given = fields.iter().filter(|f| written.is_some_and(|input| input.contains_key(**f))).peekable();
        let guarded = if given.peek().is_none() {
            fields.first().is_some_and(|f| self.authority_for(i, f).reach() == Reach::Guarded)
        } else {
            given.any(|f| self.authority_for(i, f).reach() == Reach::Guarded)
        };
        if guarded { Reach::Guarded } else { Reach::Anywhere }
    }

    /// Execution `i`'s input as stored, with secrets masked: what a task hands on to other
    /// instances, nodes or the alert history (ALERT, UPDATE_TASK).
    pub(crate) fn masked_input(&self, i: usize) -> Map<String, Value> {
        match &self.inst.tasks[i].input_data {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        }
    }

    /// Evaluates within the step's budget; past it, hands the evaluation to the runtime.
    pub(crate) fn evaluate(&mut self, i: usize, evaluation: Evaluation) {
        let limit = evaluation.limit(self.cx.scripts, self.cx.jq);
        let time = self.cx.budget.map_or(limit, |b| b.task.min(limit));
        let outcome = if time.is_zero() {
            Err(Stop::OverTime(String::new()))
        } else {
            evaluation.attempt(self.cx.scripts, self.cx.jq, time)
        };
        match outcome {
            Ok(mut output) => {
                self.cx.secrets.scrub(&mut output);
                self.complete(i, output);
            }
            Err(Stop::OverTime(_)) if time < limit => {
                let task_id = self.inst.tasks[i].task_id.clone();
                self.actions.push(Action::Evaluate { task_id, evaluation: Box::new(evaluation) });
            }
            Err(Stop::OverTime(reason) | Stop::Failed(reason)) => {
                let reason = self.cx.secrets.scrub_text(reason);
                self.fail(i, reason, TaskStatus::Failed)
            }
        }
    }

    /// How long a SWITCH or DO_WHILE condition may run.
    pub(crate) fn condition_time(&self) -> std::time::Duration {
        let limit = self.cx.scripts.limits().time;
        self.cx.budget.map_or(limit, |b| b.condition.min(limit))
    }
}

/// A resolved input as a map; anything else is no input.
fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
