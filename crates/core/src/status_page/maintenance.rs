//! Scheduled maintenance on a status page (`maintenance:` in its file): work announced ahead of
//! time, during which the components it names show "Under maintenance" instead of what their
//! monitors say, so planned downtime is not told as an outage (and opens no automatic
//! incident).

use serde::{Deserialize, Serialize};

use crate::diagnostic::Problem;
use crate::time::Millis;

/// A maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Its heading.
    pub title: String,
    /// What is done, and what readers may notice (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The page's components it affects, by display names; none: the whole page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// When it starts: RFC 3339 (`2026-12-01T02:00:00Z`) or milliseconds.
    #[serde(with = "super::incident::when")]
    pub starts: Millis,
    /// When it ends.
    #[serde(with = "super::incident::when")]
    pub ends: Millis,
}

impl Maintenance {
    /// Whether it is under way at `now`.
    pub fn active(&self, now: Millis) -> bool {
        self.starts <= now && now < self.ends
    }

    /// Whether it is still to come at `now`.
    pub fn upcoming(&self, now: Millis) -> bool {
        now < self.starts
    }

    /// Whether it touches component `name` (none named: the whole page).
    pub fn affects(&self, name: &str) -> bool {
        self.components.is_empty() || self.components.iter().any(|c| c == name)
    }

    /// Its problems, at paths under `at`, for a page with `components`.
    pub fn problems(&self, at: &str, components: &[&str]) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() {
            problems.push(Problem::error(format!("{at}title"), "a maintenance window needs a `title`"));
        }
        if self.ends <= self.starts {
            problems.push(Problem::error(format!("{at}ends"), "a maintenance window ends after it starts"));
        }
        problems.extend(super::unknown_components(at, &self.components, components));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(json: serde_json::Value) -> Maintenance {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_window_is_upcoming_then_active_then_over() {
        let w = window(serde_json::json!({
            "title": "Database upgrade", "components": ["Billing"],
            "starts": "2026-12-01T02:00:00Z", "ends": "2026-12-01T03:00:00Z"
        }));
        let starts = 1_796_090_400_000;
        assert_eq!(w.starts, starts);
        assert!(w.upcoming(starts - 1) && !w.active(starts - 1));
        assert!(w.active(starts) && w.active(starts + 3_599_999));
        assert!(!w.active(starts + 3_600_000) && !w.upcoming(starts + 3_600_000));
        assert!(w.affects("Billing") && !w.affects("Website"));
    }

    #[test]
    fn a_window_ending_before_it_starts_or_naming_another_component_is_refused() {
        let w = window(serde_json::json!({"title": " ", "components": ["Biling"], "starts": 10, "ends": 5}));
        let paths: Vec<String> = w.problems("maintenance[0].", &["Billing"]).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["maintenance[0].title", "maintenance[0].ends", "maintenance[0].components[0]"]);
    }
}
