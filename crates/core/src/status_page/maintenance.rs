//! Scheduled maintenance on a status page (`maintenance:` in its file): work announced ahead of
//! time, during which the components it names show "Under maintenance" instead of what their
//! monitors say, so planned downtime is not told as an outage (and opens no automatic
//! incident). Windows are declared in the file or scheduled through the API (stored, with an
//! id); subscribers are told when one is scheduled, starts, ends and is cancelled.

use serde::{Deserialize, Serialize};

use super::repeat::Repeat;
use crate::diagnostic::Problem;
use crate::time::Millis;

/// A maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Its id on the page: given by the server to a window scheduled through the API; a
    /// declared window's is derived from its title and start ([`Maintenance::key`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What is done, and what readers may notice (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The page's components it affects, by display names; none: the whole page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// When it starts: RFC 3339 (`2026-12-01T02:00:00Z`) or milliseconds. For a window that
    /// repeats: when the series begins (none: at once).
    #[serde(default, with = "super::incident::when", skip_serializing_if = "is_zero")]
    pub starts: Millis,
    /// When it ends. For a window that repeats: when the series stops (none: never).
    #[serde(default, with = "super::incident::when", skip_serializing_if = "is_zero")]
    pub ends: Millis,
    /// Called off before it started (a scheduled window only): no longer shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    /// How it comes back, for a recurring window ([`Repeat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
}

fn is_zero(at: &Millis) -> bool {
    *at == 0
}

/// The most occurrences of one series looked at in one span.
const MOST_OCCURRENCES: usize = 1_000;

/// What subscribers are told of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceEvent {
    /// It was announced.
    Scheduled,
    /// It began.
    Started,
    /// It ended.
    Completed,
    /// It was called off before it began.
    Cancelled,
}

impl MaintenanceEvent {
    /// Its name in keys and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceEvent::Scheduled => "scheduled",
            MaintenanceEvent::Started => "started",
            MaintenanceEvent::Completed => "completed",
            MaintenanceEvent::Cancelled => "cancelled",
        }
    }

    /// Its words in a letter's subject.
    pub fn words(self) -> &'static str {
        match self {
            MaintenanceEvent::Scheduled => "Scheduled maintenance",
            MaintenanceEvent::Started => "Maintenance in progress",
            MaintenanceEvent::Completed => "Maintenance completed",
            MaintenanceEvent::Cancelled => "Maintenance cancelled",
        }
    }
}

impl Maintenance {
    /// Whether it is under way at `now` (for a series: one of its occurrences).
    pub fn active(&self, now: Millis) -> bool {
        match &self.repeat {
            None => !self.cancelled && self.starts <= now && now < self.ends,
            Some(_) => self.current_or_next(now).is_some_and(|w| w.starts <= now),
        }
    }

    /// Whether it is still to come at `now` (for a series: its next occurrence, none being
    /// under way).
    pub fn upcoming(&self, now: Millis) -> bool {
        match &self.repeat {
            None => !self.cancelled && now < self.starts,
            Some(_) => self.current_or_next(now).is_some_and(|w| now < w.starts),
        }
    }

    /// When the series stops: its `ends`, or never. A one-off window's end.
    pub fn series_end(&self) -> Millis {
        if self.repeat.is_some() && self.ends == 0 { Millis::MAX } else { self.ends }
    }

    /// The windows it makes that overlap `[from, to)`, earliest first: itself for a one-off
    /// window, each occurrence of a series (a one-off window of its own, keyed by its start).
    /// None once cancelled.
    pub fn occurrences(&self, from: Millis, to: Millis) -> Vec<Maintenance> {
        if self.cancelled {
            return Vec::new();
        }
        let Some(repeat) = &self.repeat else {
            return if self.starts < to && self.ends > from { vec![self.clone()] } else { Vec::new() };
        };
        let Ok(rule) = repeat.rule(self.starts) else { return Vec::new() };
        let last = self.series_end();
        rule.starts_between(self.starts, last, from, to, MOST_OCCURRENCES)
            .into_iter()
            .map(|start| self.occurrence(start, rule.length(), last))
            .collect()
    }

    /// The window under way at `now` or the next to come: itself for a one-off window that has
    /// not ended, the current or next occurrence of a series.
    pub fn current_or_next(&self, now: Millis) -> Option<Maintenance> {
        if self.cancelled {
            return None;
        }
        let Some(repeat) = &self.repeat else {
            return (self.ends > now).then(|| self.clone());
        };
        let rule = repeat.rule(self.starts).ok()?;
        let last = self.series_end();
        let start = rule.current_or_next(self.starts, last, now)?;
        Some(self.occurrence(start, rule.length(), last))
    }

    fn occurrence(&self, start: Millis, length: Millis, last: Millis) -> Maintenance {
        Maintenance {
            // A stored series' occurrences are told apart by their start; a declared one's key
            // is derived from its title and start already.
            id: if self.id.is_empty() { String::new() } else { format!("{}@{start}", self.id) },
            title: self.title.clone(),
            message: self.message.clone(),
            components: self.components.clone(),
            starts: start,
            ends: start.saturating_add(length).min(last),
            cancelled: false,
            repeat: None,
        }
    }

    /// Its key on the page: its id, or for a declared window one derived from its title and
    /// start (the same on every node and after a restart, so it is told once; changing its end
    /// or text keeps it).
    pub fn key(&self) -> String {
        if !self.id.is_empty() {
            return self.id.clone();
        }
        // FNV-1a: stable across builds, unlike the standard library's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.title.bytes().chain([0]).chain(self.starts.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("file-{hash:016x}")
    }

    /// What subscribers are to be told of it at `now`, at most one thing, and what must have
    /// been told before it: that it is scheduled (before it starts), that it started (while
    /// under way), or, within a day of its end, that it ended (if its start was told).
    pub fn due_event(&self, now: Millis) -> Option<(MaintenanceEvent, Option<MaintenanceEvent>)> {
        const LATEST_END_NOTICE: Millis = 86_400_000;
        if self.repeat.is_some() {
            // Its occurrences are told, each as a window of its own.
            return None;
        }
        if self.upcoming(now) {
            Some((MaintenanceEvent::Scheduled, None))
        } else if self.active(now) {
            Some((MaintenanceEvent::Started, None))
        } else if !self.cancelled && now < self.ends + LATEST_END_NOTICE {
            Some((MaintenanceEvent::Completed, Some(MaintenanceEvent::Started)))
        } else {
            None
        }
    }

    /// The silences that hold back the alerts of `monitors` while it lasts, from `now` on: one
    /// per monitor and window not over (for a series, per occurrence under way or starting
    /// within a day: the alert manager looks again long before the next is due).
    pub fn silences(&self, monitors: &[&str], now: Millis) -> Vec<crate::alert::Silence> {
        const SERIES_AHEAD: Millis = 86_400_000;
        let to = if self.repeat.is_some() { now.saturating_add(SERIES_AHEAD) } else { Millis::MAX };
        let mut out = Vec::new();
        for w in self.occurrences(now, to) {
            for m in monitors {
                let matchers = [(crate::alert::ALERT_NAME_LABEL.to_string(), m.to_string())].into();
                out.push(crate::alert::Silence::new(matchers, w.ends).starting(Some(w.starts)));
            }
        }
        out
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
        match &self.repeat {
            Some(repeat) => {
                problems.extend(super::repeat::problems(repeat, self.starts, at));
                if self.ends != 0 && self.ends <= self.starts {
                    problems
                        .push(Problem::error(format!("{at}ends"), "a recurring window's series ends after it starts"));
                }
            }
            None if self.starts == 0 => problems
                .push(Problem::error(format!("{at}starts"), "a maintenance window needs `starts` (or a `repeat`)")),
            None if self.ends <= self.starts => {
                problems.push(Problem::error(format!("{at}ends"), "a maintenance window ends after it starts"));
            }
            None => {}
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
    fn a_declared_window_keeps_its_key_when_its_end_or_text_changes() {
        let mut w = window(serde_json::json!({"title": "Upgrade", "starts": 10, "ends": 20}));
        let key = w.key();
        assert!(key.starts_with("file-"), "{key}");
        w.ends = 30;
        w.message = Some("longer".into());
        assert_eq!(w.key(), key);
        w.starts = 11;
        assert_ne!(w.key(), key);
        w.id = "abc".into();
        assert_eq!(w.key(), "abc");
    }

    #[test]
    fn subscribers_hear_of_a_window_before_during_and_after_it() {
        let w = window(serde_json::json!({"title": "Upgrade", "starts": 1_000, "ends": 2_000}));
        use MaintenanceEvent::*;
        assert_eq!(w.due_event(500), Some((Scheduled, None)));
        assert_eq!(w.due_event(1_000), Some((Started, None)));
        assert_eq!(w.due_event(2_000), Some((Completed, Some(Started))), "once its start was told");
        assert_eq!(w.due_event(2_000 + 86_400_000), None, "too long ago");
        let cancelled = Maintenance { cancelled: true, ..w };
        assert_eq!(cancelled.due_event(500), None);
        assert_eq!(cancelled.due_event(2_000), None);
        assert!(!cancelled.upcoming(500) && !cancelled.active(1_500));
    }

    #[test]
    fn a_window_ending_before_it_starts_or_naming_another_component_is_refused() {
        let w = window(serde_json::json!({"title": " ", "components": ["Biling"], "starts": 10, "ends": 5}));
        let paths: Vec<String> = w.problems("maintenance[0].", &["Billing"]).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["maintenance[0].title", "maintenance[0].ends", "maintenance[0].components[0]"]);
    }
}
