//! Incidents on a status page: what happened, to which components, told as updates in time
//! order (investigating, identified, monitoring, resolved). One is declared in the page's file
//! (`incidents:`, for history or an announcement) or opened through the API; both are shown
//! the same way.

use serde::{Deserialize, Serialize};

use super::State;
use crate::diagnostic::Problem;
use crate::time::Millis;

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Its id on the page (declared: written or `declared-<n>`; opened: given by the server).
    #[serde(default)]
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What its components show while it is not resolved.
    #[serde(default = "major")]
    pub impact: State,
    /// The page's components it affects, by their display names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// What was said, in time order.
    pub updates: Vec<IncidentUpdate>,
    /// A review written afterwards (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<String>,
}

fn major() -> State {
    State::MajorOutage
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdate {
    /// When it was said: RFC 3339 in a file (`2026-11-20T10:00:00Z`), milliseconds through the API.
    #[serde(with = "when")]
    pub at: Millis,
    /// Where the incident stands.
    pub status: IncidentStatus,
    /// What is said (Markdown).
    pub message: String,
}

/// Where an incident stands, as Statuspage and Uptime Kuma say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// The cause is being looked for.
    Investigating,
    /// The cause is known.
    Identified,
    /// A fix is in; watching.
    Monitoring,
    /// Over.
    Resolved,
}

impl IncidentStatus {
    /// Its words on the page.
    pub fn words(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
        }
    }
}

impl Incident {
    /// When it began: its first update.
    pub fn opened_at(&self) -> Millis {
        self.updates.iter().map(|u| u.at).min().unwrap_or_default()
    }

    /// When it was resolved: its last update, when that says so.
    pub fn resolved_at(&self) -> Option<Millis> {
        let last = self.updates.iter().max_by_key(|u| u.at)?;
        (last.status == IncidentStatus::Resolved).then_some(last.at)
    }

    /// Whether it touches component `name` (none named: the whole page).
    pub fn affects(&self, name: &str) -> bool {
        self.components.is_empty() || self.components.iter().any(|c| c == name)
    }

    /// Its problems, at paths under `at`, for a page with `components`.
    pub fn problems(&self, at: &str, components: &[&str]) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() {
            problems.push(Problem::error(format!("{at}title"), "an incident needs a `title`"));
        }
        if self.updates.is_empty() {
            problems.push(Problem::error(format!("{at}updates"), "an incident needs at least one update"));
        }
        for (i, u) in self.updates.iter().enumerate() {
            if u.message.trim().is_empty() {
                problems.push(Problem::error(format!("{at}updates[{i}].message"), "an update needs a `message`"));
            }
        }
        problems.extend(super::unknown_components(at, &self.components, components));
        problems
    }
}

/// A time in a page's file or the API: an RFC 3339 string or milliseconds since the epoch
/// (`#[serde(with = "vigil_core::status_page::when")]`).
pub mod when {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::Millis;

    /// Writes milliseconds.
    pub fn serialize<S: Serializer>(at: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*at)
    }

    /// Reads milliseconds or RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum At {
            Millis(Millis),
            Text(String),
        }
        match At::deserialize(d)? {
            At::Millis(ms) => Ok(ms),
            At::Text(text) => text.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|e| {
                serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time (2026-11-20T10:00:00Z): {e}"))
            }),
        }
    }
}
