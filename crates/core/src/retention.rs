//! How long ended instances, resolved alerts and monitor history are kept.
//!
//! `vigil serve` has global defaults ([`Policy`]); a workflow or a monitor may override them with
//! a `retention` block ([`Retention`], checked by [`build`]). Keeping is measured from when an
//! instance ended. `keepLast` also keeps at most that many ended instances per schedule, as a
//! Kubernetes CronJob's history limits: an instance goes when it is older than its age limit or
//! when it is past the newest N of its schedule, whichever comes first.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::instance::WorkflowStatus;
use crate::time::{Millis, parse_duration};

/// Kept for good: the word `forever` in a file or a flag.
pub const FOREVER: Millis = Millis::MAX;

/// The global defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long a completed instance is kept after it ended.
    pub completed: Millis,
    /// How long a failed, timed-out or terminated instance is kept after it ended.
    pub failed: Millis,
}

impl Default for Policy {
    /// Completed instances for 7 days, failed ones for 30 (failures are what people look back at).
    fn default() -> Self {
        Policy { completed: 7 * DAY, failed: 30 * DAY }
    }
}

const DAY: Millis = 24 * 3_600_000;

impl Policy {
    /// This policy with `over`'s settings in place of its own.
    pub fn with(self, over: &Retention) -> Policy {
        Policy { completed: over.completed.unwrap_or(self.completed), failed: over.failed.unwrap_or(self.failed) }
    }

    /// How long an instance that ended with `status` is kept; `None` while it runs.
    pub fn keep(&self, status: WorkflowStatus) -> Option<Millis> {
        match status {
            WorkflowStatus::Running | WorkflowStatus::Paused => None,
            WorkflowStatus::Completed => Some(self.completed),
            WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated => Some(self.failed),
        }
    }
}

/// The statuses [`Policy::failed`] covers.
pub const FAILED_STATUSES: [WorkflowStatus; 3] =
    [WorkflowStatus::Failed, WorkflowStatus::TimedOut, WorkflowStatus::Terminated];

/// A workflow's or a monitor's `retention` block: what it overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Completed instances (workflows).
    pub completed: Option<Millis>,
    /// Failed, timed-out and terminated instances (workflows).
    pub failed: Option<Millis>,
    /// At most this many ended instances per schedule (workflows).
    pub keep_last: Option<u32>,
    /// The monitor's check history (monitors).
    pub history: Option<Millis>,
}

/// What a `retention` block may hold, by owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A workflow: `completed`, `failed`, `keepLast`.
    Workflow,
    /// A monitor: `history`.
    Monitor,
}

/// Parses a duration or `forever`.
pub fn parse_keep(text: &str) -> Result<Millis, String> {
    if text.trim().eq_ignore_ascii_case("forever") {
        return Ok(FOREVER);
    }
    match parse_duration(text)? {
        0 => Err("a retention of 0 would delete at once; write `forever` to keep for good".into()),
        ms => Ok(ms),
    }
}

/// Checks a `retention` block at `path`, reporting problems by field.
pub fn build(value: &Value, path: &str, owner: Owner, problems: &mut Vec<Problem>) -> Option<Retention> {
    let Some(obj) = value.as_object() else {
        problems.push(Problem::error(path, "`retention` must be an object, such as `{completed: 7d, failed: 30d}`"));
        return None;
    };
    let known: &[&str] = match owner {
        Owner::Workflow => &["completed", "failed", "keepLast"],
        Owner::Monitor => &["history"],
    };
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let hint =
            crate::diagnostic::did_you_mean(key, known.iter().copied()).map_or(String::new(), |m| format!("; {m}"));
        problems.push(Problem::error(
            format!("{path}.{key}"),
            format!("unknown retention setting `{key}` (known: {}){hint}", known.join(", ")),
        ));
    }
    let mut out = Retention::default();
    let mut duration = |key: &str| -> Option<Millis> {
        let v = obj.get(key)?;
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.as_u64().is_some() => format!("{n}s"),
            _ => {
                problems
                    .push(Problem::error(format!("{path}.{key}"), "expected a duration such as `7d`, or `forever`"));
                return None;
            }
        };
        parse_keep(&text).map_err(|e| problems.push(Problem::error(format!("{path}.{key}"), e))).ok()
    };
    out.completed = duration("completed");
    out.failed = duration("failed");
    out.history = duration("history");
    if let Some(v) = obj.get("keepLast") {
        match v.as_u64().filter(|n| (1..=u32::MAX as u64).contains(n)) {
            Some(n) => out.keep_last = Some(n as u32),
            None => problems.push(Problem::error(
                format!("{path}.keepLast"),
                "`keepLast` must be a whole number of instances, at least 1",
            )),
        }
    }
    Some(out)
}

/// Reads an optional `retention` key of a definition object.
pub fn from_definition(obj: &Map<String, Value>, owner: Owner, problems: &mut Vec<Problem>) -> Option<Retention> {
    obj.get("retention").and_then(|v| build(v, "retention", owner, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value, owner: Owner) -> (Option<Retention>, Vec<String>) {
        let mut problems = Vec::new();
        let r = build(&v, "retention", owner, &mut problems);
        (r, problems.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect())
    }

    #[test]
    fn reads_durations_forever_and_keep_last() {
        let (r, problems) = check(json!({"completed": "1d", "failed": "forever", "keepLast": 20}), Owner::Workflow);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            r,
            Some(Retention { completed: Some(DAY), failed: Some(FOREVER), keep_last: Some(20), history: None })
        );
        let policy = Policy::default().with(&r.unwrap());
        assert_eq!(policy.keep(WorkflowStatus::Completed), Some(DAY));
        assert_eq!(policy.keep(WorkflowStatus::Terminated), Some(FOREVER));
        assert_eq!(policy.keep(WorkflowStatus::Running), None);
    }

    #[test]
    fn names_the_field_of_each_problem() {
        let (_, problems) =
            check(json!({"completed": "7 weeks", "keepLast": 0, "histroy": "1d", "failed": 0}), Owner::Workflow);
        assert!(problems.iter().any(|p| p.starts_with("retention.completed: unknown unit")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("retention.keepLast: ")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("retention.histroy: unknown retention setting")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("retention.failed: a retention of 0")), "{problems:?}");
        let (_, problems) = check(json!({"keepLast": 3}), Owner::Monitor);
        assert!(problems[0].contains("known: history"), "{problems:?}");
        let (_, problems) = check(json!("7d"), Owner::Monitor);
        assert_eq!(problems.len(), 1);
    }
}
