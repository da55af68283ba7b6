//! Walks the task tree against the execution history and decides what happens next.

use crate::task_types::AfterCrash;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::dynamic::{self, Made};
use super::{Action, ChildStart, Event, Step, TaskResult};
use crate::def::{DynamicFork, Task, TaskKind, TaskTimeoutPolicy, WorkflowDef, WorkflowTimeoutPolicy};
use crate::instance::{Instance, InstanceScope, TaskExec, TaskStatus, WorkflowStatus};
use crate::params::{self, Secrets as Reveal};

/// Synchronous task executions allowed in one step before the instance yields to others.
pub(crate) const FUEL: u32 = 2_000;

/// What a task list (or one task) amounts to right now.
#[derive(Debug, PartialEq)]
pub(crate) enum Flow {
    /// Everything finished successfully.
    Done,
    /// Something is still running.
    Pending,
    /// A task failed for good: the index of its execution.
    Failed(usize),
    /// The instance ended (TERMINATE, timeout).
    Ended,
}

/// Position in the tree: the iteration suffix of enclosing DO_WHILE loops.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pos {
    pub suffix: String,
    pub iteration: u32,
}

pub(crate) struct Run<'a, 'b> {
    pub inst: &'a mut Instance,
    pub def: &'a WorkflowDef,
    pub cx: &'a mut Step<'b>,
    pub actions: Vec<Action>,
    pub index: HashMap<String, usize>,
    tasks_by_ref: HashMap<&'a str, &'a Task>,
    /// Tasks this instance made at run time, as they were when the pass began.
    pub made: &'a Made,
    /// Synchronous executions left before the step yields.
    pub fuel: u32,
    /// This pass made new tasks: the step builds them and runs another pass.
    pub remade: bool,
    /// `run_task` treats a FORK as a leaf (its JOIN runs the branches).
    fork_as_leaf: bool,
    /// `run_task` creates a DO_WHILE without entering its body (a fork's first tasks).
    loops_as_leaves: bool,
    /// The input an operator gave the execution rerun from (by task id), used instead of its
    /// template when it starts.
    pub rerun_input: Option<(String, Map<String, Value>)>,
    /// The latest time given to a task in this instance ([`Run::at`]): tasks decided in one
    /// step get distinct, ordered times, never before those of earlier steps.
    stamp: crate::time::Millis,
}

impl<'a, 'b> Run<'a, 'b> {
    pub fn new(inst: &'a mut Instance, def: &'a WorkflowDef, made: &'a Made, cx: &'a mut Step<'b>, fuel: u32) -> Self {
        let inst_update_time = inst.update_time;
        let index = inst.tasks.iter().enumerate().map(|(i, t)| (t.reference_task_name.clone(), i)).collect();
        let mut tasks_by_ref = HashMap::new();
        let mut add = |t: &'a Task| {
            tasks_by_ref.insert(t.ref_name.as_str(), t);
        };
        crate::def::each(&def.tasks, &mut add);
        // A DYNAMIC task's made task shares its reference name and stands in for it.
        made.all().for_each(|t| crate::def::each(std::slice::from_ref(t), &mut add));
        Self {
            inst,
            def,
            cx,
            actions: Vec::new(),
            index,
            tasks_by_ref,
            made,
            fuel,
            remade: false,
            fork_as_leaf: false,
            loops_as_leaves: false,
            rerun_input: None,
            stamp: inst_update_time,
        }
    }

    pub fn finish(self) -> Vec<Action> {
        // The instance's update time is its latest stamp: the next step stamps after it.
        self.inst.update_time = self.inst.update_time.max(self.cx.now).max(self.stamp);
        self.actions
    }

    /// The time for a task scheduled or started now: the step's time, or the latest stamp
    /// given out when that is later (a task that ended in this same step).
    pub(crate) fn at(&self) -> crate::time::Millis {
        self.stamp.max(self.cx.now)
    }

    /// The end time for execution `i`, ending now: after its start, and after every time given
    /// out before in this instance, so tasks decided one after another in one step (a chain
    /// of INLINE, SWITCH, SET_VARIABLE tasks, say) show distinct, ordered start and end times
    /// as they do in Conductor, where each is written apart. A step of `n` such tasks stamps
    /// at most `n` ms past its clock; the next step starts from there.
    fn end_stamp(&mut self, i: usize) -> crate::time::Millis {
        let start = self.inst.tasks[i].start_time.unwrap_or_else(|| self.at());
        let end = self.at().max(start + 1);
        self.stamp = end;
        end
    }

    pub fn handle(&mut self, event: Event) {
        self.inst.update_time = self.cx.now;
        if self.inst.status.is_terminal() {
            let reopened = match event {
                Event::Retry => self.retry(),
                Event::ChildReopened { task_id } => self.child_reopened(&task_id),
                Event::Rerun { task_id, task_input, workflow_input, correlation_id } => {
                    self.rerun(task_id.as_deref(), task_input, workflow_input, correlation_id)
                }
                _ => false,
            };
            if reopened {
                if let Some(parent) = self.inst.parent.clone() {
                    self.actions.push(Action::ReopenParent(parent));
                }
                self.advance();
            }
            return;
        }
        match event {
            Event::Start | Event::Restart => {
                if let Some(due) = self.inst.deadline {
                    self.actions.push(Action::WorkflowTimer { due });
                }
                if let (Event::Restart, Some(parent)) = (&event, self.inst.parent.clone()) {
                    self.actions.push(Action::ReopenParent(parent));
                }
            }
            Event::ChildReopened { task_id } => {
                self.child_reopened(&task_id);
            }
            Event::TaskResult { task_id, result } => self.on_result(&task_id, result),
            Event::Timer { task_id } => self.on_timer(&task_id),
            Event::Polled { task_id, worker_id } => {
                if let Some(i) = self.exec_by_id(&task_id) {
                    self.on_polled(i, worker_id);
                }
            }
            Event::WorkflowTimeout => self.on_workflow_timeout(),
            Event::ChildFinished { task_id, status, output, reason } => self.on_child(&task_id, status, output, reason),
            Event::Terminate { reason } => {
                self.end(WorkflowStatus::Terminated, Some(reason), None);
                return;
            }
            Event::Recover => self.recover(),
            Event::Raise { name, payload, by } => {
                if let Some(by) = by {
                    self.inst.started_by = self.inst.started_by.meet(&by);
                }
                self.raise(name, payload)
            }
            Event::Pause => self.inst.status = WorkflowStatus::Paused,
            Event::Resume => self.inst.status = WorkflowStatus::Running,
            Event::ResetCallbacks => self.reset_callbacks(),
            // Only an ended instance is rerun.
            Event::Rerun { .. } => {}
            Event::SkipTask { reference, input, output } => self.skip(reference, input, output),
            Event::Retry | Event::Continue => {}
        }
        if self.inst.status == WorkflowStatus::Running {
            self.advance();
        }
    }

    fn exec_by_id(&self, task_id: &str) -> Option<usize> {
        self.inst.tasks.iter().rposition(|t| t.task_id == task_id)
    }

    pub fn task_def(&self, def_ref: &str) -> Option<&'a Task> {
        self.tasks_by_ref.get(def_ref).copied()
    }

    fn on_result(&mut self, task_id: &str, result: TaskResult) {
        let Some(i) = self.exec_by_id(task_id) else { return };
        if !self.inst.tasks[i].accepts_result() {
            return;
        }
        match result {
            TaskResult::InProgress { mut output, callback_after_seconds } => {
                let Some(task) = self.task_def(&self.inst.tasks[i].def_ref.clone()) else { return };
                self.cx.secrets.scrub(&mut output);
                let exec = &mut self.inst.tasks[i];
                exec.status = TaskStatus::Scheduled;
                exec.output_data = output;
                exec.callback_after_seconds = callback_after_seconds;
                exec.lease_until = None;
                self.offer(i, task);
            }
            TaskResult::Completed(mut output) => {
                self.cx.secrets.scrub(&mut output);
                self.complete(i, output);
            }
            TaskResult::Failed { reason, mut output, terminal } => {
                self.cx.secrets.scrub(&mut output);
                self.inst.tasks[i].output_data = output;
                let status = if terminal { TaskStatus::FailedWithTerminalError } else { TaskStatus::Failed };
                self.fail(i, reason, status);
            }
            TaskResult::TimedOut { reason } => self.fail(i, reason, TaskStatus::TimedOut),
        }
    }

    fn on_timer(&mut self, task_id: &str) {
        let Some(i) = self.exec_by_id(task_id) else { return };
        let now = self.cx.now;
        let exec = &self.inst.tasks[i];
        match exec.status {
            TaskStatus::Scheduled if exec.due_time.is_some_and(|d| d <= now) => {
                // The delay (a start or retry delay) has passed: nothing more to wait for.
                self.inst.tasks[i].due_time = None;
                self.inst.tasks[i].callback_after_seconds = 0;
                self.start(i);
            }
            TaskStatus::InProgress if exec.task_type == "WAIT" && exec.due_time.is_some_and(|d| d <= now) => {
                self.complete(i, Value::Object(Map::new()));
            }
            TaskStatus::InProgress if exec.timeout_time.is_some_and(|d| d <= now) => self.timed_out(i),
            TaskStatus::InProgress if exec.task_type == "SIMPLE" && exec.lease_until.is_some_and(|d| d <= now) => {
                self.lease_lapsed(i)
            }
            TaskStatus::Scheduled
                if exec.task_type == "SIMPLE"
                    && exec.due_time.is_none()
                    && exec.timeout_time.is_some_and(|d| d <= now) =>
            {
                self.timed_out(i)
            }
            TaskStatus::Scheduled | TaskStatus::InProgress => {
                let dues = [exec.due_time, exec.timeout_time, exec.lease_until];
                for due in dues.into_iter().flatten().filter(|d| *d > now) {
                    self.actions.push(Action::Timer { task_id: task_id.to_string(), due });
                }
            }
            _ => {}
        }
    }

    /// The worker holding SIMPLE execution `i` did not report within its response timeout: the
    /// attempt fails as timed out and the retry policy hands the task to another worker, as the
    /// queue of the node that handed it out would (it may be gone).
    fn lease_lapsed(&mut self, i: usize) {
        let exec = &self.inst.tasks[i];
        let seconds = self.task_def(&exec.def_ref).and_then(|t| t.response_timeout_seconds);
        let reason = format!(
            "worker `{}` did not report within {} s (responseTimeoutSeconds)",
            exec.worker_id.as_deref().unwrap_or("?"),
            seconds.unwrap_or(super::DEFAULT_RESPONSE_TIMEOUT_SECONDS)
        );
        let task_id = exec.task_id.clone();
        self.actions.push(Action::Withdraw { task_id: task_id.clone() });
        self.on_result(&task_id, TaskResult::TimedOut { reason });
    }

    fn timed_out(&mut self, i: usize) {
        let def_ref = self.inst.tasks[i].def_ref.clone();
        let task = self.task_def(&def_ref);
        let policy = task.and_then(|t| t.timeout).map(|t| t.policy);
        let exec = &self.inst.tasks[i];
        // Conductor's DeciderService.checkTaskTimeout / checkTaskPollTimeout texts.
        let policy_name = match policy {
            Some(TaskTimeoutPolicy::TimeOutWorkflow) => "TIME_OUT_WF",
            Some(TaskTimeoutPolicy::AlertOnly) => "ALERT_ONLY",
            _ => "RETRY",
        };
        let reason = match exec.start_time {
            None => format!(
                "Task poll timed out after {} seconds. Poll timeout configured as {} seconds. Timeout policy configured to {policy_name}",
                (self.cx.now - exec.scheduled_time) / 1000,
                task.and_then(|t| t.poll_timeout_seconds).unwrap_or(0),
            ),
            Some(start) => format!(
                "Task timed out after {} seconds. Timeout configured as {} seconds. Timeout policy configured to {policy_name}",
                (self.cx.now - start) / 1000,
                task.and_then(|t| t.timeout).map_or(0, |t| t.seconds),
            ),
        };
        if policy == Some(TaskTimeoutPolicy::AlertOnly) {
            self.inst.tasks[i].timeout_time = None;
            return;
        }
        self.cancel_child_of(i);
        if self.inst.tasks[i].task_type == "SIMPLE" {
            self.actions.push(Action::Withdraw { task_id: self.inst.tasks[i].task_id.clone() });
        }
        match policy {
            Some(TaskTimeoutPolicy::AlertOnly) => {}
            Some(TaskTimeoutPolicy::TimeOutWorkflow) => {
                self.set_status(i, TaskStatus::TimedOut, Some(reason.clone()));
                self.end(WorkflowStatus::TimedOut, Some(reason), None);
            }
            _ => self.fail(i, reason, TaskStatus::TimedOut),
        }
    }

    fn on_workflow_timeout(&mut self) {
        let due = self.inst.deadline.is_some_and(|d| d <= self.cx.now);
        if due && self.def.timeout_policy == WorkflowTimeoutPolicy::TimeOutWorkflow {
            let reason = format!("workflow timed out after {} seconds", self.def.timeout_seconds);
            self.end(WorkflowStatus::TimedOut, Some(reason), None);
        }
    }

    fn on_child(&mut self, task_id: &str, status: WorkflowStatus, output: Value, reason: Option<String>) {
        let Some(i) = self.exec_by_id(task_id) else { return };
        if self.inst.tasks[i].status != TaskStatus::InProgress {
            return;
        }
        let mut output = match output {
            Value::Object(m) => m,
            other => Map::from_iter([("result".to_string(), other)]),
        };
        if let Some(child) = &self.inst.tasks[i].sub_workflow_id {
            output.insert("subWorkflowId".into(), Value::String(child.clone()));
        }
        if status == WorkflowStatus::Completed {
            self.complete(i, Value::Object(output));
        } else if status == WorkflowStatus::Terminated {
            // As Conductor: a terminated child cancels its SUB_WORKFLOW task, which terminates
            // the parent (no retry).
            self.inst.tasks[i].output_data = Value::Object(output);
            let why = reason.unwrap_or_else(|| "sub-workflow was terminated".into());
            self.set_status(i, TaskStatus::Canceled, Some(why));
        } else {
            self.inst.tasks[i].output_data = Value::Object(output);
            let why = reason.unwrap_or_else(|| format!("sub-workflow ended as {}", status.as_str()));
            self.fail(i, why, TaskStatus::Failed);
        }
    }

    fn recover(&mut self) {
        if let Some(due) = self.inst.deadline {
            self.actions.push(Action::WorkflowTimer { due });
        }
        let open: Vec<usize> = (0..self.inst.tasks.len())
            .filter(|&i| !self.inst.tasks[i].status.is_terminal() && !self.inst.tasks[i].retried)
            .collect();
        for i in open {
            let exec = &self.inst.tasks[i];
            let task_id = exec.task_id.clone();
            for due in [exec.due_time, exec.timeout_time, exec.lease_until].into_iter().flatten() {
                self.actions.push(Action::Timer { task_id: task_id.clone(), due });
            }
            let after = self.task_def(&exec.def_ref.clone()).map(|t| t.kind.after_crash());
            match (exec.status, after) {
                (TaskStatus::InProgress, Some(AfterCrash::Resend)) => {
                    let reason = "vigil stopped while this call was in flight; it is sent again".to_string();
                    self.set_status(i, TaskStatus::Failed, Some(reason));
                    self.inst.tasks[i].retried = true;
                    let j = self.push_attempt(i, 0);
                    self.inst.tasks[j].restarts += 1;
                    self.start(j);
                }
                (TaskStatus::InProgress | TaskStatus::Scheduled, Some(AfterCrash::Reoffer))
                    if exec.due_time.is_none() =>
                {
                    // Offered again: a worker that still holds it may report, and the first
                    // report wins (the runtime then drops the queued copy).
                    if let Some(task) = self.task_def(&exec.def_ref.clone()) {
                        let visible_at = self.cx.now;
                        self.enqueue(i, task, visible_at);
                    }
                }
                (TaskStatus::InProgress, Some(AfterCrash::Restart)) => {
                    self.inst.tasks[i].status = TaskStatus::Scheduled;
                    self.start(i);
                }
                (TaskStatus::InProgress, Some(AfterCrash::CheckChild)) => {
                    if let Some(child_id) = exec.sub_workflow_id.clone() {
                        self.actions.push(Action::CheckChild { task_id, child_id });
                    }
                }
                (TaskStatus::InProgress, Some(AfterCrash::Fail(reason))) => {
                    self.fail(i, reason.to_string(), TaskStatus::Failed);
                }
                (TaskStatus::Scheduled, _) if exec.due_time.is_none() => self.start(i),
                _ => {}
            }
        }
    }

    /// Decides what runs next, evaluating synchronous tasks as it goes.
    pub fn advance(&mut self) {
        let def = self.def;
        match self.run_list(&def.tasks, &Pos::default()) {
            Flow::Done => {
                let output = self.workflow_output();
                match self.permissive_failures() {
                    Some(reason) => self.end(WorkflowStatus::Failed, Some(reason), Some(output)),
                    None => self.end(WorkflowStatus::Completed, None, Some(output)),
                }
            }
            Flow::Failed(i) => {
                // As Conductor's DeciderService.retry: the workflow ends TIMED_OUT for a timed-out
                // task, TERMINATED for a cancelled one, FAILED otherwise, with its output computed
                // and the reason naming the task.
                let task = &self.inst.tasks[i];
                let status = match task.status {
                    TaskStatus::TimedOut => WorkflowStatus::TimedOut,
                    TaskStatus::Canceled => WorkflowStatus::Terminated,
                    _ => WorkflowStatus::Failed,
                };
                let reason = format!(
                    "Task {} failed with status: {} and reason: '{}'",
                    crate::instance::global_task_id(&self.inst.workflow_id, &task.task_id),
                    status.as_str(),
                    task.reason_for_incompletion.as_deref().unwrap_or_default()
                );
                let output = self.workflow_output();
                self.end(status, Some(reason), Some(output));
            }
            Flow::Pending | Flow::Ended => {}
        }
    }

    pub fn run_list(&mut self, tasks: &'a [Task], pos: &Pos) -> Flow {
        let mut at = 0;
        while at < tasks.len() {
            let (flow, taken) = self.run_unit(&tasks[at..], pos);
            match flow {
                Flow::Done => at += taken,
                other => return other,
            }
        }
        Flow::Done
    }

    /// Runs the first unit of `tasks` (a task, or a fork with its JOIN); returns how it stands
    /// and how many tasks it took.
    fn run_unit(&mut self, tasks: &'a [Task], pos: &Pos) -> (Flow, usize) {
        let Some(task) = tasks.first() else { return (Flow::Done, 0) };
        match (&task.kind, tasks.get(1).map(|t| (t, &t.kind))) {
            (TaskKind::ForkJoin { branches }, Some((join, TaskKind::Join { join_on }))) => {
                (self.run_fork_join(task, branches, join, join_on, pos), 2)
            }
            (TaskKind::ForkJoinDynamic(spec), next) => {
                let join = match next {
                    Some((join, TaskKind::Join { .. })) => Some(join),
                    _ => None,
                };
                (self.run_dynamic_fork(task, spec, join, pos), 1 + usize::from(join.is_some()))
            }
            (TaskKind::Join { join_on }, _) => (self.run_join(task, join_on, true, pos), 1),
            (TaskKind::ExclusiveJoin { .. }, _) => (self.run_exclusive_join(task, pos), 1),
            _ => (self.run_task(task, pos), 1),
        }
    }

    /// A FORK and its JOIN, as Conductor runs them: the JOIN is scheduled (IN_PROGRESS) right
    /// after the branches' first tasks, and completes once every task it joins on has
    /// completed (every branch, when `joinOn` is empty); the branches go on regardless.
    fn run_fork_join(
        &mut self,
        fork: &'a Task,
        branches: &'a [Vec<Task>],
        join: &'a Task,
        join_on: &[String],
        pos: &Pos,
    ) -> Flow {
        // The FORK task itself only: its branches are run here, not waited for.
        self.fork_as_leaf = true;
        let flow = self.run_task(fork, pos);
        self.fork_as_leaf = false;
        if flow != Flow::Done {
            return flow;
        }
        if let Some(flow) = self.start_branches(branches.iter().map(Vec::as_slice), join, pos) {
            return flow;
        }
        let mut branches_done = true;
        for branch in branches {
            match self.run_list(branch, pos) {
                Flow::Done => {}
                Flow::Pending => branches_done = false,
                other => return other,
            }
        }
        self.run_join(join, join_on, branches_done, pos)
    }

    /// A FORK_JOIN_DYNAMIC and its JOIN. The first time it is reached its tasks are made from
    /// its input (or the instance fails, as in Conductor, when they cannot be); from then on it
    /// runs as a FORK whose branches are those tasks, one each, joined on all of them.
    fn run_dynamic_fork(&mut self, fork: &'a Task, spec: &DynamicFork, join: Option<&'a Task>, pos: &Pos) -> Flow {
        let key = format!("{}{}", fork.ref_name, pos.suffix);
        if !self.index.contains_key(&key) {
            return self.make_fork(fork, spec, key, pos, join.is_some());
        }
        let Some(join) = join else { return self.run_task(fork, pos) };
        let made: &'a Made = self.made;
        let branches = made.get(&key).unwrap_or_default();
        match self.run_task(fork, pos) {
            Flow::Done => {}
            other => return other,
        }
        if let Some(flow) = self.start_branches(branches.iter().map(std::slice::from_ref), join, pos) {
            return flow;
        }
        let mut branches_done = true;
        for task in branches {
            match self.run_list(std::slice::from_ref(task), pos) {
                Flow::Done => {}
                Flow::Pending => branches_done = false,
                other => return other,
            }
        }
        let join_on: Vec<String> = branches.iter().map(|t| t.ref_name.clone()).collect();
        self.run_join(join, &join_on, branches_done, pos)
    }

    /// Creates each branch's first task that is not there yet, then the JOIN, in that order, as
    /// Conductor's fork mappers schedule them in one decision (a DO_WHILE without its body,
    /// which comes a decision later); the branches go on from there. Returns how the fork ends
    /// when a first task ends it.
    fn start_branches(
        &mut self,
        branches: impl Iterator<Item = &'a [Task]>,
        join: &'a Task,
        pos: &Pos,
    ) -> Option<Flow> {
        let join_key = format!("{}{}", join.ref_name, pos.suffix);
        if self.index.contains_key(&join_key) {
            // The JOIN comes after the first tasks: they are all there.
            return None;
        }
        let mut created = false;
        for branch in branches {
            let Some(first) = branch.first() else { continue };
            if self.index.contains_key(&format!("{}{}", first.ref_name, pos.suffix)) {
                continue;
            }
            created = true;
            // A first fork comes with its own first tasks and JOIN, as Conductor maps it.
            self.loops_as_leaves = true;
            let (flow, _) = self.run_unit(branch, pos);
            self.loops_as_leaves = false;
            if matches!(flow, Flow::Failed(_) | Flow::Ended) {
                return Some(flow);
            }
        }
        if created && !self.index.contains_key(&join_key) {
            match self.run_task(join, pos) {
                Flow::Pending | Flow::Done => {}
                other => return Some(other),
            }
        }
        None
    }

    /// Makes the tasks of FORK_JOIN_DYNAMIC `fork` and records its execution, which lists them
    /// (`forkedTasks`, `forkedTaskDefs`) as Conductor's does; the next pass runs them.
    fn make_fork(&mut self, fork: &'a Task, spec: &DynamicFork, key: String, pos: &Pos, joined: bool) -> Flow {
        let nested = self.inst.tasks.iter().any(|t| t.task_type == fork.type_name());
        let forked = match self.resolve_masked(&Value::Object(fork.input.clone()), &pos.suffix) {
            Ok(Value::Object(input)) => dynamic::fork_tasks(fork, spec, &input, nested),
            Ok(_) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        // A reference name is taken by the definition, or by another fork's tasks (this one's in
        // an earlier loop iteration made the same names).
        let (def, made) = (self.def, self.made);
        let same_fork = |maker: &str| {
            maker.strip_prefix(fork.ref_name.as_str()).is_some_and(|s| s.is_empty() || s.starts_with("__"))
        };
        let taken = |r: &str| def.find_task(r).is_some() || made.maker_of(r).is_some_and(|m| !same_fork(m));
        // The forked tasks and their inputs are data: they may reference only what both the
        // definer and the starter may.
        let authority = self.inst.data_authority();
        let forked = forked.and_then(|tasks| {
            let doc = Value::Array(tasks);
            authority.check_references(&doc).map_err(|d| format!("Dynamic tasks could not be created: {d}"))?;
            let Value::Array(tasks) = doc else { unreachable!("built as an array") };
            Ok(tasks)
        });
        let tasks = match forked.and_then(|tasks| dynamic::check(&tasks, &taken).map(|()| tasks)) {
            Ok(tasks) => tasks,
            Err(reason) => return self.fail_making(reason),
        };
        if !joined {
            // Conductor's words, from ForkJoinDynamicTaskMapper.
            let reason = "Dynamic join definition is not followed by a join task.  Check the workflow definition.";
            return self.fail_making(reason.to_string());
        }
        let refs: Vec<Value> = tasks.iter().map(|t| t["taskReferenceName"].clone()).collect();
        let listed = Value::Array(tasks.clone());
        dynamic::record(self.inst, &key, tasks, self.cx.workflows);
        self.create(fork, pos, key.clone());
        if let Some(&i) = self.index.get(&key)
            && let Value::Object(input) = &mut self.inst.tasks[i].input_data
        {
            input.insert("forkedTasks".into(), Value::Array(refs));
            input.insert("forkedTaskDefs".into(), listed);
        }
        self.remade = true;
        Flow::Pending
    }

    /// Makes the worker task DYNAMIC `task` names; the next pass creates it.
    fn make_dynamic(&mut self, task: &'a Task, name_param: &str, key: &str, pos: &Pos) -> Flow {
        let made = match self.resolve_masked(&Value::Object(task.input.clone()), &pos.suffix) {
            Ok(Value::Object(input)) => dynamic::dynamic_task(task, name_param, &input),
            Ok(_) => dynamic::dynamic_task(task, name_param, &Map::new()),
            Err(e) => Err(e),
        };
        match made.and_then(|t| dynamic::check(std::slice::from_ref(&t), &|_| false).map(|()| t)) {
            Ok(made) => {
                dynamic::record(self.inst, key, vec![made], self.cx.workflows);
                self.remade = true;
                Flow::Pending
            }
            Err(reason) => self.fail_making(reason),
        }
    }

    /// Tasks could not be made: as Conductor's `TerminateWorkflowException`, the instance fails
    /// with the reason, its output computed.
    fn fail_making(&mut self, reason: String) -> Flow {
        let output = self.workflow_output();
        self.end(WorkflowStatus::Failed, Some(reason), Some(output));
        Flow::Ended
    }

    /// Schedules a JOIN and completes it when its tasks have: `joinOn`'s tasks, or (with an
    /// empty `joinOn`) every branch, which `branches_done` says.
    fn run_join(&mut self, join: &'a Task, join_on: &[String], branches_done: bool, pos: &Pos) -> Flow {
        match self.run_task(join, pos) {
            Flow::Pending => {}
            other => return other,
        }
        let key = format!("{}{}", join.ref_name, pos.suffix);
        let Some(&i) = self.index.get(&key) else { return Flow::Pending };
        if self.inst.tasks[i].status != TaskStatus::InProgress {
            return Flow::Pending;
        }
        if !join_on.is_empty() && self.inst.tasks[i].input_data["joinOn"].as_array().is_some_and(Vec::is_empty) {
            // A dynamic fork's JOIN joins on the tasks it made.
            self.inst.tasks[i].input_data["joinOn"] = json!(join_on);
        }
        let joined = |r: &String| self.joined(r, pos).is_some_and(|t| t.status.is_successful());
        let ended = |r: &String| self.joined(r, pos).is_some_and(|t| t.status.is_terminal());
        if !join_on.is_empty() && join_on.iter().all(ended) && !join_on.iter().all(joined) {
            // Only a permissive task's failure gets here (any other failed the instance): as
            // Conductor's Join, the JOIN fails once all it waits for have ended.
            let failed: Vec<&TaskExec> =
                join_on.iter().filter_map(|r| self.joined(r, pos)).filter(|t| !t.status.is_successful()).collect();
            let reasons: Vec<String> = failed.iter().filter_map(|t| t.reason_for_incompletion.clone()).collect();
            // Only cancellations (a sub-workflow an operator terminated) cancel the JOIN, which
            // ends the instance TERMINATED.
            let status = if failed.iter().all(|t| t.status == TaskStatus::Canceled) {
                TaskStatus::Canceled
            } else {
                TaskStatus::Failed
            };
            self.set_status(i, status, Some(reasons.join(" ")));
            return Flow::Failed(i);
        }
        let ready = if join_on.is_empty() { branches_done } else { join_on.iter().all(joined) };
        if !ready {
            return Flow::Pending;
        }
        // As Conductor's Join, an empty output is left out.
        let mut out = Map::new();
        for r in join_on {
            if let Some(t) = self.joined(r, pos).filter(|t| t.output_data.as_object().is_none_or(|o| !o.is_empty())) {
                out.insert(r.clone(), t.output_data.clone());
            }
        }
        self.complete(i, Value::Object(out));
        let with_errors =
            join_on.iter().any(|r| self.joined(r, pos).is_some_and(|t| t.status == TaskStatus::CompletedWithErrors));
        if with_errors {
            self.inst.tasks[i].status = TaskStatus::CompletedWithErrors;
        }
        Flow::Done
    }

    pub(crate) fn run_task(&mut self, task: &'a Task, pos: &Pos) -> Flow {
        let key = format!("{}{}", task.ref_name, pos.suffix);
        loop {
            if self.inst.status != WorkflowStatus::Running {
                return Flow::Ended;
            }
            let Some(&i) = self.index.get(&key) else {
                if self.fuel == 0 {
                    self.actions.push(Action::Yield);
                    return Flow::Pending;
                }
                self.fuel -= 1;
                let task = match &task.kind {
                    TaskKind::Dynamic { name_param } => {
                        let made: &'a Made = self.made;
                        match made.get(&key).and_then(<[Task]>::first) {
                            Some(made) => made,
                            None => return self.make_dynamic(task, name_param, &key, pos),
                        }
                    }
                    _ => task,
                };
                self.create(task, pos, key.clone());
                continue;
            };
            let status = self.inst.tasks[i].status;
            match &task.kind {
                TaskKind::Switch(sw) if status.is_successful() => {
                    let chosen = &self.inst.tasks[i].output_data[sw.case_key()][0];
                    let case = chosen.as_str().unwrap_or_default().to_string();
                    let branch = sw.cases.iter().find(|(c, _)| *c == case).map(|(_, l)| l).unwrap_or(&sw.default_case);
                    return self.run_list(branch, pos);
                }
                TaskKind::DoWhile(_) if status == TaskStatus::InProgress && self.loops_as_leaves => {
                    return Flow::Pending;
                }
                TaskKind::DoWhile(_) if status == TaskStatus::InProgress => return self.run_loop(task, pos, i),
                // A FORK without a JOIN after it waits for all its branches.
                TaskKind::ForkJoin { branches } if status.is_successful() && !self.fork_as_leaf => {
                    let mut all_done = true;
                    for branch in branches {
                        match self.run_list(branch, pos) {
                            Flow::Done => {}
                            Flow::Pending => all_done = false,
                            other => return other,
                        }
                    }
                    return if all_done { Flow::Done } else { Flow::Pending };
                }
                _ => {}
            }
            return match status {
                s if s.is_successful() => Flow::Done,
                TaskStatus::Scheduled | TaskStatus::InProgress => Flow::Pending,
                // A permissive failure is held back: the instance goes on (see `run_join` and
                // `permissive_failures`).
                _ if task.permissive && !task.optional && !self.inst.tasks[i].retried => Flow::Done,
                _ => {
                    if self.inst.tasks[i].reason_for_incompletion.is_none() {
                        self.inst.tasks[i].reason_for_incompletion = Some(format!("task `{key}` failed"));
                    }
                    Flow::Failed(i)
                }
            };
        }
    }

    /// Why the instance fails instead of completing: the permissive tasks whose latest attempt
    /// failed, in Conductor's words.
    fn permissive_failures(&self) -> Option<String> {
        let failed: Vec<String> = self
            .inst
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| self.index.get(&t.reference_task_name) == Some(i))
            .map(|(_, t)| t)
            .filter(|t| t.status.is_terminal() && !t.status.is_successful())
            .filter(|t| self.task_def(&t.def_ref).is_some_and(|d| d.permissive && !d.optional))
            .map(|t| {
                format!(
                    "Task {} failed with status: {} and reason: '{}'",
                    crate::instance::global_task_id(&self.inst.workflow_id, &t.task_id),
                    t.status.as_str(),
                    t.reason_for_incompletion.as_deref().unwrap_or_default()
                )
            })
            .collect();
        (!failed.is_empty()).then(|| failed.join(". "))
    }

    /// The latest execution of the task a JOIN joins on (`ref` at this loop iteration, else its
    /// latest anywhere).
    fn joined(&self, reference: &str, pos: &Pos) -> Option<&TaskExec> {
        let here = self.index.get(&format!("{reference}{}", pos.suffix)).map(|&j| &self.inst.tasks[j]);
        here.or_else(|| self.inst.latest_of_def(reference))
    }

    /// The instance's output: its `outputParameters` resolved, or the last successful task's output.
    fn workflow_output(&mut self) -> Value {
        match &self.def.output_parameters {
            Some(template) => {
                self.resolve_masked(&Value::Object(template.clone()), "").unwrap_or_else(|e| json!({"error": e}))
            }
            None => self
                .inst
                .tasks
                .iter()
                .rev()
                .find(|t| t.status.is_successful())
                .map(|t| t.output_data.clone())
                .unwrap_or(json!({})),
        }
    }

    /// Creates the first execution of `task` at `pos` and starts it unless it has a start delay.
    fn create(&mut self, task: &'a Task, pos: &Pos, key: String) {
        let now = self.cx.now;
        self.inst.next_task_seq += 1;
        let id = self.inst.next_task_seq.to_string();
        let mut exec = TaskExec::new(id, key.clone(), task.ref_name.clone(), task.type_name(), self.at());
        exec.iteration = pos.iteration;
        let i = self.inst.tasks.len();
        self.inst.tasks.push(exec);
        self.index.insert(key, i);
        match self.resolve_input(i, task, Reveal::Mask) {
            Ok(input) => self.inst.tasks[i].input_data = input,
            Err(e) => {
                self.inst.tasks[i].input_data = json!({});
                self.fail(i, e, TaskStatus::FailedWithTerminalError);
                return;
            }
        }
        if task.start_delay > 0 {
            let due = now + task.start_delay as i64 * 1000;
            self.inst.tasks[i].due_time = Some(due);
            self.actions.push(Action::Timer { task_id: self.inst.tasks[i].task_id.clone(), due });
        } else {
            self.start(i);
        }
    }

    /// A new attempt of execution `i`, `delay_ms` from now.
    pub(super) fn push_attempt(&mut self, i: usize, delay_ms: i64) -> usize {
        let now = self.cx.now;
        self.inst.next_task_seq += 1;
        let mut next = self.inst.tasks[i].clone();
        next.reschedule(self.at());
        next.task_id = self.inst.next_task_seq.to_string();
        next.retry_count += 1;
        next.due_time = (delay_ms > 0).then_some(now + delay_ms);
        let j = self.inst.tasks.len();
        self.index.insert(next.reference_task_name.clone(), j);
        self.inst.tasks.push(next);
        // As Conductor's DeciderService.retry, the input is computed again for the new attempt
        // (`${CPEWF_TASK_ID}` is its own id).
        if let Some(task) = self.task_def(&self.inst.tasks[j].def_ref.clone())
            && let Ok(input) = self.resolve_input(j, task, Reveal::Mask)
        {
            self.inst.tasks[j].input_data = input;
        }
        if let Some(due) = self.inst.tasks[j].due_time {
            self.actions.push(Action::Timer { task_id: self.inst.tasks[j].task_id.clone(), due });
        }
        j
    }

    /// Cancels the child instance of SUB_WORKFLOW execution `i`, if it has one.
    fn cancel_child_of(&mut self, i: usize) {
        if let Some(child_id) = self.inst.tasks[i].sub_workflow_id.clone() {
            let reason = format!("its SUB_WORKFLOW task in parent {} timed out", self.inst.workflow_id);
            self.actions.push(Action::CancelChild { child_id, reason });
        }
    }

    pub fn complete(&mut self, i: usize, output: Value) {
        let exec = &mut self.inst.tasks[i];
        exec.status = TaskStatus::Completed;
        exec.output_data = output;
        exec.start_time.get_or_insert(self.stamp.max(self.cx.now));
        let end = self.end_stamp(i);
        let exec = &mut self.inst.tasks[i];
        exec.end_time = Some(end);
        exec.due_time = None;
        exec.timeout_time = None;
    }

    pub fn set_status(&mut self, i: usize, status: TaskStatus, reason: Option<String>) {
        let end = self.end_stamp(i);
        let exec = &mut self.inst.tasks[i];
        exec.status = status;
        exec.end_time = Some(end);
        exec.due_time = None;
        exec.timeout_time = None;
        if let Some(r) = reason {
            exec.reason_for_incompletion = Some(self.cx.secrets.scrub_text(r));
        }
    }

    /// Records a failure: retries while the policy allows, else completes optional tasks with errors.
    pub fn fail(&mut self, i: usize, reason: String, status: TaskStatus) {
        self.set_status(i, status, Some(reason));
        let def_ref = self.inst.tasks[i].def_ref.clone();
        let Some(task) = self.task_def(&def_ref) else { return };
        let attempt = self.inst.tasks[i].retry_count;
        let failures = attempt - self.inst.tasks[i].restarts.min(attempt);
        if status != TaskStatus::FailedWithTerminalError && failures < task.retry.count {
            self.inst.tasks[i].retried = true;
            let seed = crate::instance::global_task_id(&self.inst.workflow_id, &self.inst.tasks[i].task_id);
            let delay = task.retry.delay_millis(failures + 1, &seed);
            let j = self.push_attempt(i, delay);
            // As Conductor, the pending attempt shows its delay as `callbackAfterSeconds`.
            self.inst.tasks[j].callback_after_seconds = task.retry.delay_seconds(failures + 1);
            if delay == 0 {
                self.start(j);
            }
        } else if task.optional {
            self.inst.tasks[i].status = TaskStatus::CompletedWithErrors;
        }
    }

    /// Ends the instance, cancelling whatever is still open.
    pub fn end(&mut self, status: WorkflowStatus, reason: Option<String>, output: Option<Value>) {
        // What is cancelled and the instance end at the latest time given out.
        let now = self.at();
        let reason = reason.map(|r| self.cx.secrets.scrub_text(r));
        // Conductor's words for a child whose parent ended.
        let why = format!(
            "Parent workflow has been terminated with reason: {}",
            reason.as_deref().unwrap_or_else(|| status.as_str())
        );
        for exec in self.inst.tasks.iter_mut().filter(|t| !t.status.is_terminal()) {
            exec.status = TaskStatus::Canceled;
            exec.end_time = Some(now);
            exec.due_time = None;
            exec.timeout_time = None;
            if let (Some(child), "SUB_WORKFLOW") = (&exec.sub_workflow_id, exec.task_type.as_str()) {
                self.actions.push(Action::CancelChild { child_id: child.clone(), reason: why.clone() });
            }
        }
        self.inst.status = status;
        self.inst.end_time = Some(now);
        self.inst.reason_for_incompletion = reason.clone();
        if let Some(mut out) = output {
            self.cx.secrets.scrub(&mut out);
            self.inst.output = out;
        }
        if matches!(status, WorkflowStatus::Failed | WorkflowStatus::TimedOut)
            && let Some(failure) = self.def.failure_workflow.as_deref().and_then(|f| self.failure_workflow_name(f))
        {
            // As Conductor's failure workflow input: the failed task and the failed workflow.
            let failed_task = self
                .inst
                .tasks
                .iter()
                .filter(|t| {
                    matches!(t.status, TaskStatus::Failed | TaskStatus::FailedWithTerminalError | TaskStatus::TimedOut)
                })
                .max_by_key(|t| t.end_time)
                .or_else(|| self.inst.tasks.iter().rev().find(|t| t.task_type == "TERMINATE"))
                .map(|t| crate::instance::global_task_id(&self.inst.workflow_id, &t.task_id));
            let input = json!({
                "workflowId": self.inst.workflow_id,
                "workflowType": self.inst.workflow_name,
                "reason": reason,
                "failureStatus": status.as_str(),
                "failureTaskId": failed_task,
                "input": self.inst.input,
                "failedWorkflow": {
                    "workflowId": self.inst.workflow_id,
                    "workflowName": self.inst.workflow_name,
                    "workflowVersion": self.inst.workflow_version,
                    "status": status.as_str(),
                    "reasonForIncompletion": reason,
                    "input": self.inst.input,
                    "output": self.inst.output,
                    "correlationId": self.inst.correlation_id,
                },
            });
            // As Conductor, the failed instance's output names the failure workflow (one that
            // is not defined is not started: the runtime says so, and no id is written).
            let failure_id = format!("{}.failure", self.inst.workflow_id);
            if let Value::Object(out) = &mut self.inst.output
                && self.cx.workflows.get(&failure, None).is_some()
            {
                out.insert("conductor.failure_workflow".into(), Value::String(failure_id.clone()));
            }
            self.actions.push(Action::StartWorkflow(ChildStart {
                id: failure_id,
                name: failure.clone(),
                version: None,
                input,
                parent: None,
                correlation_id: self.inst.correlation_id.clone(),
                definition: None,
                started_by: self.inst.data_authority(),
            }));
        }
        self.actions.push(Action::Finished {
            status,
            output: self.inst.output.clone(),
            reason,
            parent: self.inst.parent.clone(),
        });
    }

    /// Resolves a template for storage: secrets masked.
    pub fn resolve_masked(&self, template: &Value, suffix: &str) -> Result<Value, String> {
        self.resolve(template, suffix, Reveal::Mask)
    }

    /// Resolves a template for use: secrets revealed. Never store the result.
    pub fn resolve(&self, template: &Value, suffix: &str, mode: Reveal) -> Result<Value, String> {
        self.resolve_in(None, template, suffix, mode)
    }

    /// Resolves `task`'s input template for its execution `i`, at that execution's loop
    /// position (where `${CPEWF_TASK_ID}` is its task id).
    pub fn resolve_input(&self, i: usize, task: &Task, mode: Reveal) -> Result<Value, String> {
        let suffix = self.inst.tasks[i].suffix().to_string();
        self.resolve_in(Some(i), &Value::Object(task.input.clone()), &suffix, mode)
    }

    fn resolve_in(&self, task: Option<usize>, template: &Value, suffix: &str, mode: Reveal) -> Result<Value, String> {
        // The id Conductor's clients see: `<instance>~<execution>`.
        let current =
            task.map(|i| crate::instance::global_task_id(&self.inst.workflow_id, &self.inst.tasks[i].task_id));
        let current_task = current.as_deref();
        let secrets = self.cx.secrets;
        // The definition's text acts with its definer's authority; text that arrived as data was
        // checked against the instance's data authority when it became a definition.
        let authority = &self.inst.defined_by;
        let scope = InstanceScope { instance: self.inst, index: &self.index, suffix, secrets, current_task, authority };
        params::resolve(template, &scope, mode).map_err(|e| e.to_string())
    }

    /// The failure workflow `spec` names: a name, or, as Conductor reads it, `$workflow.input.KEY`
    /// (also `${workflow.input.KEY}`) for the name in the instance's input (none without one).
    fn failure_workflow_name(&self, spec: &str) -> Option<String> {
        match crate::def::failure_workflow_input_key(spec) {
            Some(key) => self.inst.input.get(key?)?.as_str().filter(|s| !s.is_empty()).map(str::to_string),
            None => Some(spec.to_string()),
        }
    }

    /// The time this instance's observations are about: its schedule slot, else the
    /// `_scheduledTime` it was given (a child of a scheduled run), else its creation time.
    pub fn observed_at(&self) -> crate::time::Millis {
        let given = self.inst.input.get("_scheduledTime").and_then(Value::as_i64);
        self.inst.fire.as_ref().map(|f| f.scheduled_time).or(given).unwrap_or(self.inst.create_time)
    }

    /// How deep a child of this instance nests.
    pub fn child_depth(&self) -> u32 {
        self.inst.parent.as_ref().map_or(0, |p| p.depth) + 1
    }

    /// The child-start request for SUB_WORKFLOW execution `i`.
    pub fn child_start(&self, i: usize) -> Option<ChildStart> {
        let exec = &self.inst.tasks[i];
        let Some(TaskKind::SubWorkflow { name, version, definition }) = self.task_def(&exec.def_ref).map(|t| &t.kind)
        else {
            return None;
        };
        // A definition made at run time is read from where the reference points.
        let definition = match definition {
            Some(Value::String(reference)) => {
                self.resolve_masked(&Value::String(reference.clone()), exec.suffix()).ok()
            }
            other => other.clone(),
        };
        // Conductor resolves the name as a template (`${workflow.input.subwf}`).
        let name = if name.contains("${") {
            match self.resolve_masked(&Value::String(name.clone()), exec.suffix()) {
                Ok(Value::String(resolved)) => resolved,
                Ok(other) => other.to_string(),
                Err(_) => name.clone(),
            }
        } else {
            name.clone()
        };
        Some(ChildStart {
            id: exec.sub_workflow_id.clone()?,
            name,
            version: *version,
            input: exec.input_data.clone(),
            parent: Some(crate::instance::ParentRef {
                workflow_id: self.inst.workflow_id.clone(),
                task_id: exec.task_id.clone(),
                depth: self.child_depth(),
            }),
            correlation_id: self.inst.correlation_id.clone(),
            definition,
            started_by: self.inst.data_authority(),
        })
    }
}
