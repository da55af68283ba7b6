//! `type: escalation`: an escalation policy, named wherever a notifier is (a monitor's `notify`,
//! an ALERT task's `notifiers`, an Alertmanager receiver of the same name). It sends nothing
//! itself: the alert manager tells its steps' notifiers in turn until someone acknowledges
//! ([`vigil_core::alert::escalation`]).
//!
//! ```yaml
//! name: oncall
//! type: escalation
//! steps:
//!   - notify: [pagerduty-primary, slack-ops]
//!     after: 10m          # no acknowledgement within 10 minutes: the next step
//!   - notify: [pagerduty-secondary]
//!     after: 15m
//! repeat: 1               # then once more from the first step
//! ```

use serde::Deserialize;
use vigil_core::alert::escalation::{Policy, Step};
use vigil_core::time::{Millis, parse_duration};

use super::{AlertMessage, NotifyError, OutgoingRequest};

/// `type: escalation`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    /// The policy's name.
    pub name: String,
    /// The steps, in order.
    pub steps: Vec<StepConfig>,
    /// How many more times the steps run from the first after the last one (default 0).
    #[serde(default)]
    pub repeat: u32,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Notifiers told at this step (not escalation policies).
    pub notify: Vec<String>,
    /// How long to wait for an acknowledgement before the next step (`10m`, `1h`).
    #[serde(default)]
    pub after: Option<String>,
}

impl EscalationConfig {
    /// The policy, once [`super::Notifier::problem`] found nothing wrong (a bad wait reads as 0).
    pub fn policy(&self) -> Policy {
        Policy {
            steps: self
                .steps
                .iter()
                .map(|s| Step {
                    notify: s.notify.clone(),
                    wait_ms: s.after.as_deref().map_or(Ok(0), parse_duration).unwrap_or(0) as Millis,
                })
                .collect(),
            repeat: self.repeat,
        }
    }
}

impl super::Notifier for EscalationConfig {
    const TYPE: &'static str = "escalation";
    const RATE_LIMIT: Option<(f64, f64)> = None;

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(Err(e)) = s.after.as_deref().map(parse_duration) {
                return Some((format!("steps[{i}].after"), e, Some("a duration such as `10m` or `1h`".into())));
            }
        }
        self.policy().problems().into_iter().next().map(|(path, message)| (path, message, None))
    }

    fn request(&self, _msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        Err(NotifyError::Invalid(format!(
            "`{}` is an escalation policy: the alert manager tells its steps' notifiers, nothing is sent to it",
            self.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::notifiers::Notifier;

    fn read(doc: serde_json::Value) -> EscalationConfig {
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn a_policy_reads_with_its_waits() {
        let c = read(
            json!({"name": "oncall", "steps": [{"notify": ["a", "b"], "after": "10m"}, {"notify": ["c"]}], "repeat": 0}),
        );
        assert_eq!(c.problem(), None);
        let p = c.policy();
        assert_eq!(p.steps[0].wait_ms, 600_000);
        assert_eq!(p.steps[1].notify, ["c"]);
    }

    #[test]
    fn problems_name_their_field() {
        let bad = read(json!({"name": "oncall", "steps": [{"notify": ["a"], "after": "soon"}]}));
        assert_eq!(bad.problem().unwrap().0, "steps[0].after");
        let no_wait = read(json!({"name": "oncall", "steps": [{"notify": ["a"]}, {"notify": ["b"]}]}));
        assert_eq!(no_wait.problem().unwrap().0, "steps[0].after");
        let repeat_without_wait = read(json!({"name": "oncall", "steps": [{"notify": ["a"]}], "repeat": 2}));
        assert_eq!(repeat_without_wait.problem().unwrap().0, "steps[0].after");
    }
}
