//! Incidents opened from what a page's monitors say (`automatic_incidents:` in the page's
//! file): a component that has been at an outage for `after` gets an incident with a default
//! text, and the incident is resolved when the component is back. A blip shorter than `after` is
//! never public. The decision is a pure function of the components' states, the incidents open
//! and the time, so every node that makes it makes the same one, under the same id.

use serde::{Deserialize, Serialize};

use super::{Incident, IncidentStatus, IncidentUpdate, State};
use crate::time::Millis;

/// How a page opens incidents by itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoIncidents {
    /// How long a component must be out before its incident is opened: a duration (`5m`,
    /// `90s`) or milliseconds. Five minutes when not written; `0s` opens one at once.
    #[serde(default = "five_minutes", with = "duration")]
    pub after: Millis,
    /// The least state that opens one: `partial_outage` when not written (`degraded` opens one
    /// for slowness too).
    #[serde(default = "partial_outage")]
    pub from: State,
    /// The incident's title; `{component}` stands for the component's name.
    #[serde(default = "title")]
    pub title: String,
    /// Its first update's text (Markdown).
    #[serde(default = "message")]
    pub message: String,
    /// The update that resolves it.
    #[serde(default = "resolved")]
    pub resolved: String,
}

fn five_minutes() -> Millis {
    300_000
}

fn partial_outage() -> State {
    State::PartialOutage
}

fn title() -> String {
    "{component} is unavailable".into()
}

fn message() -> String {
    "We are investigating a problem with {component}.".into()
}

fn resolved() -> String {
    "{component} is working normally again.".into()
}

/// A component as its monitors show it now, without any incident's impact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed<'a> {
    /// Its display name.
    pub component: &'a str,
    /// Its state from its monitors' last checks; `None` while unchecked or paused.
    pub state: Option<State>,
    /// Since when it has been at least at [`AutoIncidents::from`] (the earliest change of the
    /// failing checks); meaningless when it is not.
    pub since: Millis,
}

/// What to do to a page's incidents.
#[derive(Debug, Clone, PartialEq)]
pub enum AutoStep {
    /// Open this incident (unless one of its id exists already).
    Open(Incident),
    /// Resolve incident `id`, saying `message`.
    Resolve {
        /// The incident.
        id: String,
        /// The resolving update's text.
        message: String,
    },
}

/// Whether incident `id` was opened automatically.
pub fn is_automatic(id: &str) -> bool {
    id.starts_with("auto-")
}

impl AutoIncidents {
    /// The steps for components `observed`, given the page's incidents `open` (not resolved),
    /// at `now`.
    pub fn steps(&self, observed: &[Observed<'_>], open: &[Incident], now: Millis) -> Vec<AutoStep> {
        let mut steps = Vec::new();
        for o in observed {
            let own = open.iter().find(|i| is_automatic(&i.id) && i.components == [o.component]);
            let out = o.state.filter(|s| *s >= self.from);
            match (own, out) {
                (None, Some(state)) if now >= o.since.saturating_add(self.after) => {
                    steps.push(AutoStep::Open(self.incident(o.component, state, o.since)))
                }
                (Some(incident), None) if o.state.is_some() => steps
                    .push(AutoStep::Resolve { id: incident.id.clone(), message: fill(&self.resolved, o.component) }),
                _ => {}
            }
        }
        steps
    }

    /// The incident for `component` at `state` since `since`: the same on every node.
    fn incident(&self, component: &str, state: State, since: Millis) -> Incident {
        Incident {
            id: format!("auto-{:08x}-{since}", fnv1a(component)),
            title: fill(&self.title, component),
            impact: state,
            components: vec![component.to_string()],
            updates: vec![IncidentUpdate {
                at: since.saturating_add(self.after),
                status: IncidentStatus::Investigating,
                message: fill(&self.message, component),
            }],
            postmortem: None,
        }
    }
}

fn fill(text: &str, component: &str) -> String {
    text.replace("{component}", component)
}

/// FNV-1a over `text`: a short, stable name for a component in an id.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A duration: text (`5m`) or milliseconds.
mod duration {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::Millis;

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*ms)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Millis(Millis),
            Text(String),
        }
        match Given::deserialize(d)? {
            Given::Millis(ms) if ms >= 0 => Ok(ms),
            Given::Millis(ms) => Err(serde::de::Error::custom(format!("`{ms}` is negative"))),
            Given::Text(text) => crate::time::parse_duration(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> AutoIncidents {
        serde_json::from_value(serde_json::json!({"after": "2m"})).unwrap()
    }

    fn seen(state: Option<State>, since: Millis) -> Observed<'static> {
        Observed { component: "API", state, since }
    }

    #[test]
    fn an_outage_shorter_than_the_delay_opens_nothing() {
        let steps = auto().steps(&[seen(Some(State::MajorOutage), 1_000)], &[], 1_000 + 119_999);
        assert!(steps.is_empty(), "{steps:?}");
    }

    #[test]
    fn an_outage_past_the_delay_opens_one_incident_with_the_default_text() {
        let steps = auto().steps(&[seen(Some(State::MajorOutage), 1_000)], &[], 1_000 + 120_000);
        let [AutoStep::Open(incident)] = steps.as_slice() else { panic!("{steps:?}") };
        assert_eq!(incident.title, "API is unavailable");
        assert_eq!(incident.components, ["API"]);
        assert_eq!(incident.impact, State::MajorOutage);
        assert_eq!(incident.updates[0].at, 121_000, "dated when the delay ran out, on every node");
        assert!(is_automatic(&incident.id));
        let again = auto().steps(&[seen(Some(State::MajorOutage), 1_000)], std::slice::from_ref(incident), 500_000);
        assert!(again.is_empty(), "one incident per outage: {again:?}");
    }

    #[test]
    fn slowness_opens_nothing_unless_asked() {
        let slow = [seen(Some(State::Degraded), 0)];
        assert!(auto().steps(&slow, &[], 10_000_000).is_empty());
        let touchy = AutoIncidents { from: State::Degraded, ..auto() };
        assert_eq!(touchy.steps(&slow, &[], 10_000_000).len(), 1);
    }

    #[test]
    fn the_incident_resolves_when_the_component_is_back_not_while_unchecked() {
        let open = auto().incident("API", State::MajorOutage, 0);
        let paused = auto().steps(&[seen(None, 0)], std::slice::from_ref(&open), 1_000_000);
        assert!(paused.is_empty(), "a paused monitor says nothing: {paused:?}");
        let back = auto().steps(&[seen(Some(State::Operational), 0)], std::slice::from_ref(&open), 1_000_000);
        assert_eq!(back, [AutoStep::Resolve { id: open.id.clone(), message: "API is working normally again.".into() }]);
        let declared = Incident { id: "declared-1".into(), ..open };
        let theirs = auto().steps(&[seen(Some(State::Operational), 0)], &[declared], 1_000_000);
        assert!(theirs.is_empty(), "an operator's incident is theirs to resolve");
    }

    #[test]
    fn the_delay_reads_as_text_or_milliseconds() {
        let ms: AutoIncidents = serde_json::from_value(serde_json::json!({"after": 90_000})).unwrap();
        assert_eq!(ms.after, 90_000);
        assert_eq!(auto().after, 120_000);
        let bad = serde_json::from_value::<AutoIncidents>(serde_json::json!({"after": "5 fortnights"}));
        assert!(bad.unwrap_err().to_string().contains("fortnights"));
    }
}
