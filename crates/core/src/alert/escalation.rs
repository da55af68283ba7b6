//! Escalation policies: who is told about a firing alert, step by step, until someone
//! acknowledges it. A policy is a list of steps (notifiers to tell, then how long to wait for an
//! acknowledgement before the next step), repeated a number of times after the last one, as
//! PagerDuty's and Grafana OnCall's escalation chains do.
//!
//! The state of one alert's escalation is plain data ([`Escalation`]), stored with the alert and
//! moved on by the alert manager's clock: a restart or a node failover resumes it at the step it
//! had reached, and a step is never told twice.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// An escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The steps, in order (at least one).
    pub steps: Vec<Step>,
    /// How many more times the steps run, from the first, after the last one had its wait.
    pub repeat: u32,
}

/// One step of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The notifiers told at this step.
    pub notify: Vec<String>,
    /// How long to wait for an acknowledgement before the next step (0 for the last step of a
    /// policy that does not repeat: nothing comes after it).
    pub wait_ms: Millis,
}

/// Where one alert's escalation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// The policy's name.
    pub policy: String,
    /// The step told last (0-based).
    pub step: u32,
    /// How many times the policy started over.
    pub round: u32,
    /// When the next step is due, unless an acknowledgement or a resolve comes first; `None`
    /// when the policy has run out.
    pub next_at: Option<Millis>,
}

/// A step being told: its notifiers, and whether the policy started over to reach it (those
/// notifiers were told before: a reminder, not a new page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    /// The notifiers of the step.
    pub notify: Vec<String>,
    /// Whether this is a repeat round.
    pub again: bool,
}

impl Policy {
    /// The problems of a policy as written: each as (field path, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.steps.is_empty() {
            out.push(("steps".into(), "an escalation policy needs at least one step".into()));
        }
        for (i, s) in self.steps.iter().enumerate() {
            if s.notify.is_empty() {
                out.push((format!("steps[{i}].notify"), "a step needs at least one notifier to tell".into()));
            }
            let last = i + 1 == self.steps.len();
            if s.wait_ms <= 0 && (!last || self.repeat > 0) {
                out.push((
                    format!("steps[{i}].after"),
                    "a step followed by another needs a wait (`after: 10m`) before the next".into(),
                ));
            }
        }
        out
    }

    fn wait(&self, step: u32, round: u32, now: Millis) -> Option<Millis> {
        let s = self.steps.get(step as usize)?;
        let last = step as usize + 1 == self.steps.len();
        (!last || round < self.repeat).then_some(now + s.wait_ms.max(1))
    }
}

impl Escalation {
    /// Starts `policy` (named `name`) at `now`: its first step is told.
    pub fn start(name: &str, policy: &Policy, now: Millis) -> (Escalation, Told) {
        let e = Escalation { policy: name.to_string(), step: 0, round: 0, next_at: policy.wait(0, 0, now) };
        let notify = policy.steps.first().map(|s| s.notify.clone()).unwrap_or_default();
        (e, Told { notify, again: false })
    }

    /// Whether the next step is due at `now`.
    pub fn is_due(&self, now: Millis) -> bool {
        self.next_at.is_some_and(|at| at <= now)
    }

    /// Moves on to the next step when it is due at `now` (after the last, to the first again
    /// while rounds remain): the step to tell, or `None` when nothing is due.
    pub fn advance(&mut self, policy: &Policy, now: Millis) -> Option<Told> {
        if !self.is_due(now) || policy.steps.is_empty() {
            return None;
        }
        let (mut step, mut round) = (self.step + 1, self.round);
        if step as usize >= policy.steps.len() {
            if round >= policy.repeat {
                self.next_at = None;
                return None;
            }
            step = 0;
            round += 1;
        }
        self.step = step;
        self.round = round;
        self.next_at = policy.wait(step, round, now);
        Some(Told { notify: policy.steps[step as usize].notify.clone(), again: round > 0 })
    }

    /// Stops: an acknowledgement or a resolve came.
    pub fn stop(&mut self) {
        self.next_at = None;
    }

    /// Puts a due step off until `until` (the alert is silenced meanwhile).
    pub fn postpone(&mut self, until: Millis) {
        if let Some(at) = &mut self.next_at {
            *at = (*at).max(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn policy(repeat: u32) -> Policy {
        Policy {
            steps: vec![
                Step { notify: vec!["primary".into()], wait_ms: 10 * MIN },
                Step { notify: vec!["secondary".into(), "chat".into()], wait_ms: 15 * MIN },
            ],
            repeat,
        }
    }

    #[test]
    fn each_step_comes_after_its_wait_and_the_policy_runs_out() {
        let p = policy(0);
        let (mut e, first) = Escalation::start("oncall", &p, 0);
        assert_eq!(first, Told { notify: vec!["primary".into()], again: false });
        assert_eq!(e.next_at, Some(10 * MIN));
        assert_eq!(e.advance(&p, 10 * MIN - 1), None, "not due yet");
        let second = e.advance(&p, 10 * MIN).expect("second step");
        assert_eq!(second.notify, ["secondary", "chat"]);
        assert!(!second.again);
        assert_eq!(e.next_at, None, "the last step of a policy that does not repeat waits for nothing");
        assert_eq!(e.advance(&p, 100 * MIN), None);
    }

    #[test]
    fn a_repeating_policy_starts_over_as_a_reminder_then_stops() {
        let p = policy(1);
        let (mut e, _) = Escalation::start("oncall", &p, 0);
        e.advance(&p, 10 * MIN).expect("step 2");
        assert_eq!(e.next_at, Some(25 * MIN), "the last step waits when a round remains");
        let again = e.advance(&p, 25 * MIN).expect("round 2");
        assert_eq!(again, Told { notify: vec!["primary".into()], again: true });
        assert_eq!((e.step, e.round), (0, 1));
        assert_eq!(e.advance(&p, 35 * MIN).map(|t| t.notify), Some(vec!["secondary".into(), "chat".into()]));
        assert_eq!(e.next_at, None, "the rounds are spent");
    }

    #[test]
    fn a_stopped_or_postponed_escalation_waits() {
        let p = policy(0);
        let (mut e, _) = Escalation::start("oncall", &p, 0);
        e.postpone(30 * MIN);
        assert_eq!(e.advance(&p, 20 * MIN), None, "silenced until 30 minutes");
        assert!(e.advance(&p, 30 * MIN).is_some());
        let (mut e, _) = Escalation::start("oncall", &p, 0);
        e.stop();
        assert_eq!(e.advance(&p, 60 * MIN), None, "acknowledged");
    }

    #[test]
    fn problems_are_named_by_field() {
        let mut p = policy(0);
        assert!(p.problems().is_empty());
        p.steps[0].wait_ms = 0;
        p.steps[1].notify.clear();
        let problems = p.problems();
        assert_eq!(problems[0].0, "steps[0].after");
        assert_eq!(problems[1].0, "steps[1].notify");
        assert_eq!(Policy { steps: vec![], repeat: 0 }.problems()[0].0, "steps");
    }
}
