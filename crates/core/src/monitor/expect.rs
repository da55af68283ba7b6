//! Expected events: something that must be observed by a deadline. A heartbeat's ping, a job's
//! end, an email's arrival differ only in where the observation comes from; the verdict is one
//! pure function of the last observations, the expectation and the time, tested on a manual clock.
//!
//! A deadline has an allowance that starts at a reference time (the last ping, the job's last
//! end, the day's delivery time): past the warning point the event is late (warning), past the
//! limit it is missing (critical). A failure reported by the event itself (`/fail`, a non-zero
//! exit code, a failed job status) is critical at once; a start without an end within the longest
//! run time is critical too. Each verdict says when it will next change, so the caller sleeps
//! until then instead of polling.

use serde::{Deserialize, Serialize};

use super::Cadence;
use crate::alert::Tier;
use crate::time::Millis;

/// A verdict and when it may change next.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The tier now.
    pub tier: Tier,
    /// Why, in words.
    pub note: String,
    /// When the tier changes if nothing is observed meanwhile.
    pub next: Option<Millis>,
}

/// A deadline: late after `warn_at`, missing after `critical_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The event was expected by then; later is a warning.
    pub warn_at: Millis,
    /// The limit; later is critical.
    pub critical_at: Millis,
}

impl Deadline {
    /// A deadline whose warning comes at `fraction` of the allowance from `from` to `limit`
    /// (Robopager's 80 %: `fraction` 0.8).
    pub fn with_fraction(from: Millis, limit: Millis, fraction: f64) -> Deadline {
        let warn_at = from + ((limit - from) as f64 * fraction.clamp(0.0, 1.0)) as Millis;
        Deadline { warn_at, critical_at: limit }
    }

    /// The tier at `now`, and when it changes next.
    pub fn tier_at(&self, now: Millis) -> (Tier, Option<Millis>) {
        if now >= self.critical_at {
            (Tier::Critical, None)
        } else if now >= self.warn_at {
            (Tier::Warning, Some(self.critical_at))
        } else {
            (Tier::Ok, Some(self.warn_at.min(self.critical_at)))
        }
    }
}

/// What a ping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingKind {
    /// The job ran (`/ping/{id}`, or exit code 0).
    Success,
    /// The job started (`/ping/{id}/start`).
    Start,
    /// The job failed (`/ping/{id}/fail`, or a non-zero exit code).
    Fail,
    /// A log line only (`/ping/{id}/log`): no change of state.
    Log,
}

/// A heartbeat's last observations, as pings leave them. Merging is by latest time per kind, so
/// applying a ping twice, or in another order, gives the same state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beats {
    /// The last success.
    pub success: Option<Millis>,
    /// The last start.
    pub start: Option<Millis>,
    /// The last failure.
    pub fail: Option<Millis>,
    /// The last failure's exit code, when it gave one.
    ///
    /// (A success and a failure at the same millisecond cannot be told apart here: the ping
    /// route gives each ping of a heartbeat a later time than the one before, so the last wins.)
    pub exit_code: Option<i32>,
    /// The last start's run id (`?rid=`, hashed), when it gave one.
    pub start_rid: Option<u64>,
    /// An end (success or failure) with the start's run id, or without run ids, came after it.
    pub start_ended: bool,
}

/// A run id (`?rid=`) as [`Beats`] keeps it.
pub fn rid_hash(rid: &str) -> u64 {
    rid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

impl Beats {
    /// Applies a ping received at `at`, with its run id.
    pub fn apply_run(&mut self, kind: PingKind, at: Millis, exit_code: Option<i32>, rid: Option<u64>) {
        match kind {
            PingKind::Start => {
                if self.start.is_none_or(|t| at > t) {
                    self.start = Some(at);
                    self.start_rid = rid;
                    self.start_ended = false;
                }
            }
            PingKind::Success | PingKind::Fail => {
                // As Healthchecks: a failure ends the open run whatever its run id; a success
                // ends it when it carries no run id or the start's (both none is a match).
                let same_run = kind == PingKind::Fail || rid.is_none() || rid == self.start_rid;
                if same_run && self.start.is_some_and(|s| at >= s) {
                    self.start_ended = true;
                }
                self.record(kind, at, exit_code);
            }
            PingKind::Log => {}
        }
    }

    /// Applies a ping received at `at` (without a run id).
    pub fn apply(&mut self, kind: PingKind, at: Millis, exit_code: Option<i32>) {
        self.apply_run(kind, at, exit_code, None);
    }

    /// Keeps the latest time per kind.
    fn record(&mut self, kind: PingKind, at: Millis, exit_code: Option<i32>) {
        let later = |slot: &mut Option<Millis>| {
            if slot.is_none_or(|t| at > t) {
                *slot = Some(at);
                true
            } else {
                false
            }
        };
        match kind {
            PingKind::Success => {
                later(&mut self.success);
            }
            PingKind::Start => {
                if later(&mut self.start) {
                    self.start_rid = None;
                    self.start_ended = false;
                }
            }
            PingKind::Fail => {
                if later(&mut self.fail) {
                    self.exit_code = exit_code;
                }
            }
            PingKind::Log => {}
        }
    }

    /// Merges another view of the same heartbeat (latest per kind wins).
    pub fn merge(&mut self, other: &Beats) {
        match (self.start, other.start) {
            (_, None) => {}
            (Some(mine), Some(theirs)) if mine == theirs => self.start_ended |= other.start_ended,
            (Some(mine), Some(theirs)) if mine > theirs => {}
            _ => {
                self.start = other.start;
                self.start_rid = other.start_rid;
                self.start_ended = other.start_ended;
            }
        }
        if let Some(at) = other.success {
            self.record(PingKind::Success, at, None);
        }
        if let Some(at) = other.fail {
            self.record(PingKind::Fail, at, other.exit_code);
        }
    }
}

/// When a heartbeat's pings are expected.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// How often (`every`, counted from the last success) or when (`cron` in a zone).
    pub expected: Cadence,
    /// How late a ping may be before it is missing: late (warning) during the grace, critical
    /// after it.
    pub grace: Millis,
    /// The longest a started run may take before it counts as failed.
    pub max_runtime: Option<Millis>,
}

impl Heartbeat {
    /// When the next success is due after one at `last` (or, before any ping, after `since`).
    fn due_after(&self, last: Millis) -> Option<Millis> {
        match &self.expected {
            Cadence::Every { ms, .. } => Some(last + ms),
            cron @ Cadence::Cron { .. } => cron.next_after(last),
        }
    }

    /// The verdict at `now`. `since` is when watching began (the monitor was loaded): a heartbeat
    /// that has never pinged is due one period after it, so a wrong ping URL is noticed.
    pub fn verdict(&self, beats: &Beats, since: Millis, now: Millis) -> Verdict {
        if let Some(fail) = beats.fail
            && beats.success.is_none_or(|s| fail > s)
            && beats.start.is_none_or(|s| fail >= s)
        {
            let note = match beats.exit_code {
                Some(code) => format!("the job failed (exit code {code})"),
                None => "the job reported a failure".to_string(),
            };
            // A failure stands until the next success; its deadline still runs.
            let next = self.due_after(fail).map(|due| due + self.grace).filter(|t| *t > now);
            return Verdict { tier: Tier::Critical, note, next };
        }
        let mut next: Option<Millis> = None;
        let mut soonest = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
        if let (Some(start), Some(limit)) = (beats.start, self.max_runtime)
            && !beats.start_ended
        {
            let over = start + limit;
            if now >= over {
                return Verdict { tier: Tier::Critical, note: "started and did not end in time".into(), next: None };
            }
            soonest(over);
        }
        let reference = beats.success.unwrap_or(since);
        let Some(due) = self.due_after(reference) else {
            return Verdict { tier: Tier::Ok, note: "no further ping expected".into(), next };
        };
        let deadline = Deadline { warn_at: due, critical_at: due + self.grace };
        let (tier, change) = deadline.tier_at(now);
        if let Some(t) = change {
            soonest(t);
        }
        let note = match (tier, beats.success) {
            (Tier::Ok, Some(_)) => "pinged on time".to_string(),
            (Tier::Ok, None) => "waiting for the first ping".to_string(),
            (Tier::Warning, _) => "late: the ping is overdue, within its grace time".to_string(),
            (Tier::Critical, None) => "no ping since the monitor started".to_string(),
            (Tier::Critical, Some(_)) => "the ping is missing".to_string(),
        };
        Verdict { tier, note, next }
    }
}

/// A heartbeat monitor's reading at `now`: its one series (key `monitor/<name>`, or its
/// `dedupKey`), the verdict's tier, the seconds since the last success as its value, the verdict's
/// reason as its note; and when to look again.
pub fn heartbeat_reading(
    def: &super::MonitorDef,
    hb: &Heartbeat,
    beats: &Beats,
    since: Millis,
    now: Millis,
) -> (super::evaluate::Reading, Option<Millis>) {
    let verdict = hb.verdict(beats, since, now);
    let labels = def.labels.clone();
    let value = beats.success.map(|s| ((now - s) / 1000) as f64);
    let tier = Some(verdict.tier);
    let key = match &def.dedup_key {
        Some(t) => super::evaluate::render(t, def, &labels, value, tier, Some(&verdict.note)),
        None => crate::alert::default_key("monitor", &def.name, &Default::default()),
    };
    let summary = super::evaluate::render(&def.summary, def, &labels, value, tier, Some(&verdict.note));
    let reading = super::evaluate::Reading { key, labels, value, tier, summary, note: Some(verdict.note) };
    (reading, verdict.next)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const MIN: Millis = 60_000;
    const HOUR: Millis = 60 * MIN;

    fn every(ms: Millis, grace: Millis) -> Heartbeat {
        Heartbeat { expected: Cadence::Every { ms, offset: 0 }, grace, max_runtime: None }
    }

    fn at(text: &str) -> Millis {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn period_and_grace_late_then_missing_then_a_ping_resolves() {
        let hb = every(HOUR, 10 * MIN);
        let mut beats = Beats::default();
        let t0 = 1_000_000;
        let first = hb.verdict(&beats, t0, t0);
        assert_eq!((first.tier, first.next), (Tier::Ok, Some(t0 + HOUR)));
        beats.apply(PingKind::Success, t0 + 5 * MIN, None);
        let v = hb.verdict(&beats, t0, t0 + 30 * MIN);
        assert_eq!((v.tier, v.next), (Tier::Ok, Some(t0 + 65 * MIN)));
        let late = hb.verdict(&beats, t0, t0 + 66 * MIN);
        assert_eq!((late.tier, late.next), (Tier::Warning, Some(t0 + 75 * MIN)));
        let missing = hb.verdict(&beats, t0, t0 + 75 * MIN);
        assert_eq!((missing.tier, missing.next, missing.note.as_str()), (Tier::Critical, None, "the ping is missing"));
        beats.apply(PingKind::Success, t0 + 80 * MIN, None);
        assert_eq!(hb.verdict(&beats, t0, t0 + 80 * MIN).tier, Tier::Ok, "a late ping resolves");
    }

    #[test]
    fn never_pinging_is_noticed_one_period_and_grace_after_start() {
        let hb = every(HOUR, MIN);
        let v = hb.verdict(&Beats::default(), 0, HOUR + MIN);
        assert_eq!((v.tier, v.note.as_str()), (Tier::Critical, "no ping since the monitor started"));
    }

    #[test]
    fn a_failure_is_critical_at_once_until_the_next_success() {
        let hb = every(HOUR, MIN);
        let mut beats = Beats::default();
        beats.apply(PingKind::Start, 10, None);
        beats.apply(PingKind::Fail, 20, Some(3));
        let v = hb.verdict(&beats, 0, 25);
        assert_eq!((v.tier, v.note.as_str()), (Tier::Critical, "the job failed (exit code 3)"));
        beats.apply(PingKind::Start, 30, None);
        assert_eq!(hb.verdict(&beats, 0, 31).tier, Tier::Ok, "a new run starts: no longer failed");
        beats.apply(PingKind::Success, 40, None);
        assert_eq!(hb.verdict(&beats, 0, 41).tier, Tier::Ok);
        // Applying an older ping again changes nothing.
        let before = beats;
        beats.apply(PingKind::Fail, 20, Some(3));
        assert_eq!(beats, before);
    }

    #[test]
    fn a_start_without_an_end_within_the_longest_run_time_is_critical() {
        let hb = Heartbeat { max_runtime: Some(30 * MIN), ..every(HOUR, MIN) };
        let mut beats = Beats::default();
        beats.apply(PingKind::Success, 0, None);
        beats.apply(PingKind::Start, 10 * MIN, None);
        let running = hb.verdict(&beats, 0, 20 * MIN);
        assert_eq!((running.tier, running.next), (Tier::Ok, Some(40 * MIN)));
        let stuck = hb.verdict(&beats, 0, 40 * MIN);
        assert_eq!((stuck.tier, stuck.note.as_str()), (Tier::Critical, "started and did not end in time"));
        beats.apply(PingKind::Success, 45 * MIN, None);
        assert_eq!(hb.verdict(&beats, 0, 45 * MIN).tier, Tier::Ok);
    }

    /// 02:30 every day in Europe/Berlin with 30 minutes' grace, across the spring-forward night
    /// (2026-03-29, 02:00 → 03:00): 02:30 does not exist that day, so the ping is expected at the
    /// jump, 03:00 CEST (as Vixie cron runs a job of the skipped hour right after the change),
    /// and the grace counts real time from it.
    #[test]
    fn cron_and_grace_across_a_dst_change() {
        let zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let cron = crate::cron::parse_cron("30 2 * * *").unwrap();
        let hb = Heartbeat {
            expected: Cadence::Cron { text: "30 2 * * *".into(), cron: Arc::new(cron), zone },
            grace: 30 * MIN,
            max_runtime: None,
        };
        let mut beats = Beats::default();
        // Pinged on Saturday at 02:31 CET (01:31Z).
        beats.apply(PingKind::Success, at("2026-03-28T01:31:00Z"), None);
        let v = hb.verdict(&beats, 0, at("2026-03-28T12:00:00Z"));
        let due = v.next.unwrap();
        // Sunday 02:30 does not exist: due at 03:00 CEST = 01:00Z.
        assert_eq!(jiff::Timestamp::from_millisecond(due).unwrap().to_string(), "2026-03-29T01:00:00Z");
        assert_eq!(hb.verdict(&beats, 0, due + 29 * MIN).tier, Tier::Warning);
        assert_eq!(hb.verdict(&beats, 0, due + 30 * MIN).tier, Tier::Critical);
        // Pinged late on Sunday: due again Monday 02:30 CEST = 00:30Z.
        beats.apply(PingKind::Success, due + 40 * MIN, None);
        let v = hb.verdict(&beats, 0, due + 41 * MIN);
        assert_eq!(v.tier, Tier::Ok);
        assert_eq!(jiff::Timestamp::from_millisecond(v.next.unwrap()).unwrap().to_string(), "2026-03-30T00:30:00Z");
    }

    #[test]
    fn run_ids_pair_a_start_with_its_end() {
        let hb = Heartbeat { max_runtime: Some(30 * MIN), ..every(HOUR, MIN) };
        let mut beats = Beats::default();
        beats.apply_run(PingKind::Start, 0, None, Some(rid_hash("run-a")));
        beats.apply_run(PingKind::Success, 5 * MIN, None, Some(rid_hash("run-b")));
        assert!(!beats.start_ended, "another run's end does not end run a");
        assert_eq!(hb.verdict(&beats, 0, 30 * MIN).tier, Tier::Critical);
        beats.apply_run(PingKind::Success, 31 * MIN, None, Some(rid_hash("run-a")));
        assert!(beats.start_ended);
        assert_eq!(hb.verdict(&beats, 0, 32 * MIN).tier, Tier::Ok);
        // Two views of one heartbeat merge to the same state in either order.
        let (mut a, mut b) = (Beats::default(), Beats::default());
        a.apply_run(PingKind::Start, 10, None, None);
        b.apply_run(PingKind::Start, 10, None, None);
        b.apply_run(PingKind::Success, 20, None, None);
        let mut ab = a;
        ab.merge(&b);
        b.merge(&a);
        assert_eq!(ab, b);
        assert!(ab.start_ended);
    }

    #[test]
    fn a_deadline_with_a_warning_fraction() {
        let d = Deadline::with_fraction(0, 100 * MIN, 0.8);
        assert_eq!(d.tier_at(79 * MIN), (Tier::Ok, Some(80 * MIN)));
        assert_eq!(d.tier_at(80 * MIN), (Tier::Warning, Some(100 * MIN)));
        assert_eq!(d.tier_at(100 * MIN), (Tier::Critical, None));
    }
}
