//! DO_WHILE: runs its body (`loopOver`) while `loopCondition` holds, or once per item of `items`;
//! its output holds each iteration's outputs by task reference.

use serde_json::{Map, Value, json};

use super::{AfterCrash, Timeout};
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::def::{DoWhile, Task, TaskKind};
use crate::diagnostic::{Problem, did_you_mean};
use crate::instance::{TaskStatus, WorkflowStatus};
use crate::interpreter::run::{Flow, Pos, Run};
use crate::locate::join_key;
use crate::params::Secrets as Reveal;

/// A container: its body's tasks recover on their own.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// A `loopCondition` (or `items`), a body, and `keepLastN` as a whole number.
    pub(crate) fn build_do_while(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        let has_items = raw.input_parameters.contains_key("items");
        if raw.loop_condition.as_deref().is_none_or(|c| c.trim().is_empty()) && !has_items {
            self.problems.push(Problem::error(
                join_key(path, "loopCondition"),
                "a DO_WHILE task needs a `loopCondition` (or `items` to iterate over)",
            ));
        }
        if raw.loop_over.is_empty() {
            self.problems.push(Problem::error(
                join_key(path, "loopOver"),
                "a DO_WHILE task needs at least one task in `loopOver`",
            ));
        }
        let keep_last_n = match raw.input_parameters.get("keepLastN") {
            None => 0,
            Some(v) => match v.as_u64() {
                Some(n) => n as u32,
                None => {
                    self.problems
                        .push(Problem::error(join_key(&input_path, "keepLastN"), "keepLastN must be a whole number"));
                    0
                }
            },
        };
        if let Some(condition) = raw.loop_condition.as_deref().filter(|c| !c.trim().is_empty()) {
            self.check_script(condition, &join_key(path, "loopCondition"));
        }
        let body = self.task_list(&raw.loop_over, &join_key(path, "loopOver"));
        if let Some(condition) = raw.loop_condition.as_deref() {
            self.check_loop_names(raw, condition, &body, &join_key(path, "loopCondition"));
        }
        Some(TaskKind::DoWhile(DoWhile { condition: raw.loop_condition.clone(), body, keep_last_n }))
    }

    /// A `loopCondition` reads the loop's inputs, the loop (`$.<ref>.iteration`) and its body's
    /// tasks by reference; another name is undefined when it runs, and reading into it throws.
    fn check_loop_names(&mut self, raw: &TaskConfig, condition: &str, body: &[Task], at: &str) {
        let mut names: Vec<&str> = raw.input_parameters.keys().map(String::as_str).collect();
        names.push(&raw.task_reference_name);
        crate::def::each(body, &mut |t| names.push(&t.ref_name));
        for read in crate::def::loop_condition::reads(condition) {
            if names.contains(&read.name) {
                continue;
            }
            let hint = did_you_mean(read.name, names.iter().copied());
            let message = format!(
                "`$.{}` is neither an input of this DO_WHILE, the loop itself nor a task in its body",
                read.name
            );
            let problem = if read.deeper {
                Problem::error(at, format!("{message}: reading into it fails every run"))
            } else {
                Problem::warning(at, format!("{message}: it is undefined"))
            };
            self.problems.push(problem.with_hint(hint));
        }
    }
}

impl<'a> Run<'a, '_> {
    /// Its first iteration begins; `run_loop` runs the body.
    pub(crate) fn start_do_while(&mut self, i: usize) {
        self.inst.tasks[i].output_data = json!({"iteration": 1});
    }

    /// Runs a DO_WHILE whose execution is `i`, iterating as long as the body completes synchronously.
    pub(crate) fn run_loop(&mut self, task: &'a Task, pos: &Pos, mut i: usize) -> Flow {
        let TaskKind::DoWhile(spec) = &task.kind else { return Flow::Done };
        let items = match task.input.get("items") {
            Some(template) => match self.resolve(template, &pos.suffix, Reveal::Mask) {
                Ok(Value::Array(items)) => Some(items),
                Ok(other) => return self.loop_failed(i, format!("DO_WHILE `items` must be a list, got {other}")),
                Err(e) => return self.loop_failed(i, e),
            },
            None => None,
        };
        loop {
            let iteration = self.inst.tasks[i].output_data["iteration"].as_u64().unwrap_or(1) as u32;
            if let Some(items) = &items {
                if items.is_empty() {
                    self.complete_loop(i, 0);
                    return Flow::Done;
                }
                let item = items.get(iteration as usize - 1).cloned().unwrap_or(Value::Null);
                self.inst.tasks[i].output_data["item"] = item;
                self.inst.tasks[i].output_data["index"] = json!(iteration - 1);
            }
            let inner = Pos { suffix: format!("{}__{iteration}", pos.suffix), iteration };
            match self.run_list(&spec.body, &inner) {
                Flow::Done => {}
                // The instance fails for the inner task; the loop is cancelled with it, as in
                // Conductor.
                other => return other,
            }
            let outputs = self.iteration_outputs(&spec.body, &inner.suffix);
            self.inst.tasks[i].output_data[iteration.to_string()] = Value::Object(outputs.clone());
            let again = match (&items, &spec.condition) {
                (Some(items), _) => (iteration as usize) < items.len(),
                (None, Some(condition)) => match self.loop_condition(task, i, condition, outputs) {
                    Ok(b) => b,
                    Err(e) => return self.loop_failed(i, e),
                },
                (None, None) => false,
            };
            i = self.trim_iterations(spec.keep_last_n, &spec.body, i, iteration, &pos.suffix);
            let (all, kept) = self.cx.max_iterations;
            let cap = if spec.keep_last_n > 0 { kept } else { all };
            if again && iteration >= cap {
                let hint = if spec.keep_last_n > 0 { String::new() } else { format!(" (with `keepLastN`, {kept})") };
                return self.loop_failed(i, format!("DO_WHILE stopped after {cap} iterations, the limit{hint}"));
            }
            if !again {
                self.complete_loop(i, iteration);
                return Flow::Done;
            }
            self.inst.tasks[i].output_data["iteration"] = json!(iteration + 1);
            if self.inst.status != WorkflowStatus::Running {
                return Flow::Ended;
            }
        }
    }

    fn loop_failed(&mut self, i: usize, reason: String) -> Flow {
        self.set_status(i, TaskStatus::Failed, Some(reason));
        Flow::Failed(i)
    }

    fn complete_loop(&mut self, i: usize, iteration: u32) {
        let mut output = self.inst.tasks[i].output_data.clone();
        output["iteration"] = json!(iteration);
        self.complete(i, output);
    }

    /// Outputs of the body tasks in one iteration, by reference name without suffix.
    fn iteration_outputs(&self, body: &[Task], suffix: &str) -> Map<String, Value> {
        let mut out = Map::new();
        fn walk(run: &Run<'_, '_>, tasks: &[Task], suffix: &str, out: &mut Map<String, Value>) {
            for t in tasks {
                if let Some(&j) = run.index.get(&format!("{}{suffix}", t.ref_name)) {
                    out.insert(t.ref_name.clone(), run.inst.tasks[j].output_data.clone());
                }
                if !matches!(t.kind, TaskKind::DoWhile(_)) {
                    for list in t.children() {
                        walk(run, list, suffix, out);
                    }
                }
            }
        }
        walk(self, body, suffix, &mut out);
        out
    }

    /// Evaluates `loopCondition` with Conductor's inputs: the DO_WHILE's own inputs, plus
    /// `$.<loopRef>` holding `iteration` and each body task's output, plus `$.<bodyRef>`.
    fn loop_condition(
        &mut self,
        task: &Task,
        i: usize,
        condition: &str,
        outputs: Map<String, Value>,
    ) -> Result<bool, String> {
        let mut input = match self.resolve_input(i, task, Reveal::Reveal)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mut own = match self.inst.tasks[i].output_data.clone() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for (k, v) in &outputs {
            own.insert(k.clone(), v.clone());
            input.entry(k.clone()).or_insert_with(|| v.clone());
        }
        input.insert(task.ref_name.clone(), Value::Object(own));
        let time = self.condition_time();
        self.cx.scripts.eval_truthy(condition, &Value::Object(input), time).map_err(|e| format!("loopCondition: {e}"))
    }

    /// Drops executions and outputs of iterations older than the last `keep` (0 keeps all).
    fn trim_iterations(&mut self, keep: u32, body: &[Task], i: usize, iteration: u32, outer: &str) -> usize {
        if keep == 0 || iteration <= keep {
            return i;
        }
        let cutoff = iteration - keep;
        let mut refs = Vec::new();
        crate::def::each(body, &mut |t| refs.push(t.ref_name.clone()));
        let loop_id = self.inst.tasks[i].task_id.clone();
        // A body execution's reference is `<ref><outer suffix>__<this loop's iteration>[__<inner>...]`.
        let this_iteration = |t: &crate::instance::TaskExec| -> Option<u32> {
            let rest =
                t.reference_task_name.strip_prefix(t.def_ref.as_str())?.strip_prefix(outer)?.strip_prefix("__")?;
            rest.split("__").next()?.parse().ok()
        };
        self.inst.tasks.retain(|t| {
            t.task_id == loop_id || !refs.contains(&t.def_ref) || this_iteration(t).is_none_or(|n| n > cutoff)
        });
        if let Value::Object(out) =
            &mut self.inst.tasks.iter_mut().find(|t| t.task_id == loop_id).expect("loop exec").output_data
        {
            out.retain(|k, _| k.parse::<u32>().map_or(true, |n| n > cutoff));
        }
        self.index = self.inst.latest_index();
        self.inst.tasks.iter().position(|t| t.task_id == loop_id).expect("loop exec")
    }
}
