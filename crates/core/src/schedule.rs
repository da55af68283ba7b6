//! Schedules in the Conductor/Orkes scheduler format, and their fire times.
//!
//! Cron has 5 fields (minutes), 6 (seconds first) or 7 (with year), with the Quartz/Spring forms
//! Conductor users write: `?`, `L`, `W`, `#`. Day-of-month and day-of-week combine with AND, as in
//! Spring's `CronExpression`, which Conductor uses. Fire times are computed in the schedule's IANA
//! zone: on a spring-forward day a 02:30 slot that does not exist runs once, at the first valid
//! time after it; on a fall-back day a 01:30 slot runs once, at its first occurrence.

use std::sync::Arc;

use crate::cron::CronExpr;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::def::build::{Unknown, check_keys};
use crate::def::typed::typed;
use crate::diagnostic::Problem;
use crate::time::Millis;

/// What a schedule does when its previous instance is still running at the next fire time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OverlapPolicy {
    /// Start another instance (Conductor's behaviour).
    #[default]
    Allow,
    /// Skip this fire time.
    Skip,
}

/// The Orkes `StartWorkflowRequest` inside a schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Workflow name.
    pub name: String,
    /// Version; latest when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// Input given to every instance.
    #[serde(default)]
    pub input: Map<String, Value>,
    /// Correlation id given to every instance.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleConfig {
    name: String,
    cron_expression: String,
    #[serde(default)]
    zone_id: Option<String>,
    start_workflow_request: StartWorkflowRequest,
    #[serde(default)]
    paused: bool,
    #[serde(default)]
    schedule_start_time: Option<Millis>,
    #[serde(default)]
    schedule_end_time: Option<Millis>,
    #[serde(default)]
    run_catchup_schedule_instances: bool,
    #[serde(default)]
    overlap_policy: OverlapPolicy,
}

/// The schedule fields vigil implements.
pub const SUPPORTED: &[&str] = &[
    "name",
    "cronExpression",
    "zoneId",
    "startWorkflowRequest",
    "paused",
    "scheduleStartTime",
    "scheduleEndTime",
    "runCatchupScheduleInstances",
    "overlapPolicy",
];
/// Schedule fields Conductor defines that change nothing in vigil.
pub const IGNORED: &[&str] =
    &["createTime", "updatedTime", "createdBy", "updatedBy", "description", "tags", "pausedReason"];
/// The `startWorkflowRequest` fields vigil implements.
pub const START_SUPPORTED: &[&str] = &["name", "version", "input", "correlationId"];
/// `startWorkflowRequest` fields that change nothing in vigil.
pub const START_IGNORED: &[&str] = &[
    "taskToDomain",
    "workflowDef",
    "externalInputPayloadStoragePath",
    "priority",
    "createdBy",
    "idempotencyKey",
    "idempotencyStrategy",
];

/// A checked schedule.
#[derive(Debug, Clone)]
pub struct ScheduleDef {
    /// Unique name.
    pub name: String,
    /// The cron text as written.
    pub cron_expression: String,
    /// The IANA zone name.
    pub zone_id: String,
    /// What to start.
    pub start: StartWorkflowRequest,
    /// No fires while paused.
    pub paused: bool,
    /// No fire before this time.
    pub start_time: Option<Millis>,
    /// No fire after this time.
    pub end_time: Option<Millis>,
    /// After downtime, run every missed fire (true) or only go on from now (false, the default).
    pub catch_up: bool,
    /// Overlap behaviour.
    pub overlap: OverlapPolicy,
    /// Who wrote it through the API (`None`: the config directory); its instances are started
    /// by this principal. Boxed: 100,000 schedules from files carry one pointer each.
    pub defined_by: Option<Box<crate::principal::Principal>>,
    cron: Arc<CronExpr>,
    zone: TimeZone,
}

impl ScheduleDef {
    /// Checks a schedule document.
    pub fn build(doc: &Value) -> (Option<ScheduleDef>, Vec<Problem>) {
        let mut problems = Vec::new();
        let Some(obj) = doc.as_object() else {
            return (None, vec![Problem::error("", "a schedule must be an object")]);
        };
        check_keys(obj, "", (SUPPORTED, IGNORED), "schedule", Unknown::Ignored, &mut problems);
        if let Some(Value::Object(start)) = obj.get("startWorkflowRequest") {
            let fields = (START_SUPPORTED, START_IGNORED);
            check_keys(start, "startWorkflowRequest", fields, "startWorkflowRequest", Unknown::Ignored, &mut problems);
        }
        let Some(raw) = typed::<ScheduleConfig>(doc, "", &mut problems) else { return (None, problems) };
        let cron = parse_cron_shared(&raw.cron_expression)
            .map_err(|e| problems.push(Problem::error("cronExpression", e)))
            .ok();
        let zone_id = raw.zone_id.clone().unwrap_or_else(|| "UTC".into());
        let zone = TimeZone::get(&zone_id)
            .map_err(|_| {
                let names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
                let hint = crate::diagnostic::did_you_mean(&zone_id, names.iter().map(String::as_str))
                    .or_else(|| Some("use an IANA name such as `Europe/Berlin`".into()));
                problems.push(Problem::error("zoneId", format!("unknown time zone `{zone_id}`")).with_hint(hint))
            })
            .ok();
        if raw.name.trim().is_empty() {
            problems.push(Problem::error("name", "the schedule name is empty"));
        } else if let Some(why) = crate::def::name_problem(&raw.name) {
            problems.push(Problem::error("name", format!("schedule name `{}` {why}", raw.name)));
        }
        if let (Some(s), Some(e)) = (raw.schedule_start_time, raw.schedule_end_time)
            && e <= s
        {
            problems.push(Problem::error("scheduleEndTime", "scheduleEndTime is not after scheduleStartTime"));
        }
        let (Some(cron), Some(zone)) = (cron, zone) else { return (None, problems) };
        if problems.iter().any(|p| p.severity == crate::diagnostic::Severity::Error) {
            return (None, problems);
        }
        let def = ScheduleDef {
            name: raw.name,
            cron_expression: raw.cron_expression,
            zone_id,
            // Kept for as long as vigil runs: no room to spare (100,000 schedules keep 100,000).
            start: StartWorkflowRequest {
                input: crate::memory::shrink_json(raw.start_workflow_request.input),
                ..raw.start_workflow_request
            },
            paused: raw.paused,
            start_time: raw.schedule_start_time,
            end_time: raw.schedule_end_time,
            catch_up: raw.run_catchup_schedule_instances,
            overlap: raw.overlap_policy,
            defined_by: None,
            cron,
            zone,
        };
        (Some(def), problems)
    }

    /// Up to `n` fire times: `first` (the next one, as the scheduler knows it) and those after it.
    pub fn fires_from(&self, first: Option<Millis>, n: usize) -> Vec<Millis> {
        std::iter::successors(first, |t| self.next_after(*t)).take(n).collect()
    }

    /// The first fire time strictly after `after`, within the start/end bounds.
    pub fn next_after(&self, after: Millis) -> Option<Millis> {
        let from = after.max(self.start_time.map(|s| s - 1).unwrap_or(i64::MIN));
        let ts = Timestamp::from_millisecond(from).ok()?;
        let zoned = ts.to_zoned(self.zone.clone());
        let next = self.cron.next_after(&zoned)?;
        let at = next.timestamp().as_millisecond();
        match self.end_time {
            Some(end) if at > end => None,
            _ => Some(at),
        }
    }

    /// The next `n` fire times after `after`.
    pub fn upcoming(&self, after: Millis, n: usize) -> Vec<Millis> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }

    /// The input of an instance for fire time `slot` dispatched at `now`: the configured input plus
    /// Conductor's `_scheduledTime` and `_executedTime` (epoch ms).
    pub fn instance_input(&self, slot: Millis, now: Millis) -> Value {
        let mut input = self.start.input.clone();
        input.insert("_scheduledTime".into(), Value::from(slot));
        input.insert("_executedTime".into(), Value::from(now));
        Value::Object(input)
    }
}

/// How late a fire may run and still count as on time when catch-up is off (Quartz's misfire threshold).
pub const MISFIRE_GRACE_MS: Millis = 60_000;

/// Most missed fires run per schedule after downtime when catch-up is on.
pub const MAX_CATCH_UP: usize = 10_000;

/// The fires that are due now, and the next fire time to persist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Due {
    /// Slots to start now, oldest first.
    pub fire: Vec<Millis>,
    /// Missed slots skipped because catch-up is off.
    pub skipped: u64,
    /// The next slot after those, if any.
    pub next: Option<Millis>,
}

impl ScheduleDef {
    /// Given the persisted next slot and the time now, decides which slots fire. With catch-up
    /// off, only slots at most [`MISFIRE_GRACE_MS`] old run; older ones are counted as skipped.
    pub fn take_due(&self, next: Option<Millis>, now: Millis) -> Due {
        let mut due = Due { next, ..Due::default() };
        while let Some(slot) = due.next.filter(|s| *s <= now) {
            if self.catch_up || now - slot <= MISFIRE_GRACE_MS {
                if due.fire.len() < MAX_CATCH_UP {
                    due.fire.push(slot);
                } else {
                    due.skipped += 1;
                }
            } else {
                due.skipped += 1;
            }
            due.next = self.next_after(slot);
        }
        due
    }
}

pub use crate::cron::{parse_cron, parse_cron_shared};

#[cfg(test)]
mod tests;
