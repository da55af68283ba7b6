//! Public status pages (`<config>/status-pages/*.yaml`): what a page shows and how a component's
//! monitors become the state the public sees. A page names what it shows; nothing else of a
//! monitor (its name, labels, URL, errors) is part of it.

use serde::{Deserialize, Serialize};

use crate::alert::Tier;

mod auto;
mod build;
mod incident;
mod maintenance;
mod repeat;

pub use auto::{AutoIncidents, AutoStep, Observed, is_automatic};
pub use build::{build_status_page, is_slug};
pub use incident::{Incident, IncidentStatus, IncidentUpdate, when};
pub use maintenance::{Maintenance, MaintenanceEvent};
pub use repeat::{DayName, Repeat, Rule};

/// A status page as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageDef {
    /// Its address: `/status/<slug>`. Lowercase letters, digits and `-`.
    pub slug: String,
    /// The heading and the browser's title.
    pub title: String,
    /// A line under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Host names of its own (`status.example.com`): a request to one of them is this page's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// An image shown beside the title (an `https://` URL or a path on this server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// What the page shows, in order.
    pub components: Vec<ComponentDef>,
    /// The state each tier shows as.
    #[serde(default)]
    pub states: StateMap,
    /// Incidents declared with the page (history, announcements); more are opened through the
    /// API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// Incidents opened by the page itself when a component has been out for a while, and
    /// resolved when it is back; none when not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_incidents: Option<AutoIncidents>,
    /// Scheduled maintenance: shown ahead of time, and during it the components it names show
    /// "Under maintenance".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<Maintenance>,
    /// Who may be told of incidents; none when not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<Subscriptions>,
}

/// The subscriptions a page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriptions {
    /// The email notifier whose SMTP server and sender write to subscribers: the page shows a
    /// form to subscribe by email (confirmed by a link). None: no email subscribers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether webhooks may be subscribed (through the API, signed as Standard Webhooks says).
    #[serde(default)]
    pub webhooks: bool,
    /// Whether the page shows a form to subscribe a webhook, and where its URL may point.
    #[serde(default, skip_serializing_if = "WebhookForm::is_none")]
    pub webhook_form: WebhookForm,
}

/// The page's form for webhooks: anyone may subscribe one, verified by a challenge it must
/// answer before anything else is sent to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookForm {
    /// No form (operators add webhooks through the API).
    #[default]
    None,
    /// A form; the URL must reach only public addresses (not loopback, private, link-local
    /// or other reserved ones), checked when subscribing and at every send.
    Public,
    /// A form; any address (a page for people inside one network).
    Any,
}

impl WebhookForm {
    /// Whether there is no form.
    pub fn is_none(&self) -> bool {
        *self == WebhookForm::None
    }
}

/// One line of a page: a monitor, one series of a monitor, or a group of monitors, under a
/// display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDef {
    /// The name the public sees.
    pub name: String,
    /// A line under the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The monitor shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// The monitors shown together: the component is as bad as the worst of them, a partial
    /// outage when only some are out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<String>,
    /// With `monitor`, only this series of it (its dedup key or its `series` label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
}

impl StatusPageDef {
    /// Whether a maintenance window of the page covers component `name` at `now`.
    pub fn under_maintenance(&self, name: &str, now: crate::time::Millis) -> bool {
        self.maintenance.iter().any(|m| m.active(now) && m.affects(name))
    }

    /// The windows of the monitors the page shows (`monitors`: each monitor with its own
    /// windows), as the page's: each names the components that show its monitor (a monitor the
    /// page does not show adds none).
    pub fn monitors_windows(&self, monitors: &[(String, Vec<Maintenance>)]) -> Vec<Maintenance> {
        let mut out = Vec::new();
        for (monitor, windows) in monitors {
            let components: Vec<String> =
                self.components.iter().filter(|c| c.members().any(|m| m == monitor)).map(|c| c.name.clone()).collect();
            if components.is_empty() {
                continue;
            }
            out.extend(windows.iter().map(|w| Maintenance { components: components.clone(), ..w.clone() }));
        }
        out
    }

    /// The silences that hold back the alerts of the monitors under the page's maintenance
    /// windows (those of its file and `scheduled` ones), each while its window lasts: one per
    /// window and monitor of the components it names (a component of one series: its whole
    /// monitor), for the windows not over at `now` (so the list changes when one ends, and
    /// what it held is looked at again). Planned work pages nobody, as in Uptime Kuma.
    pub fn maintenance_silences(
        &self,
        scheduled: &[Maintenance],
        now: crate::time::Millis,
    ) -> Vec<crate::alert::Silence> {
        let mut out = Vec::new();
        for w in self.maintenance.iter().chain(scheduled) {
            let mut monitors: Vec<&str> =
                self.components.iter().filter(|c| w.affects(&c.name)).flat_map(ComponentDef::members).collect();
            monitors.sort_unstable();
            monitors.dedup();
            out.extend(w.silences(&monitors, now));
        }
        out
    }
}

impl ComponentDef {
    /// The monitors the component shows.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.monitor.as_deref().into_iter().chain(self.monitors.iter().map(String::as_str))
    }
}

/// What the public is told about a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Working.
    Operational,
    /// Under maintenance.
    Maintenance,
    /// Working, slowly or with errors.
    Degraded,
    /// Out for some.
    PartialOutage,
    /// Out.
    MajorOutage,
}

impl State {
    /// Its name in files and CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Operational => "operational",
            State::Maintenance => "maintenance",
            State::Degraded => "degraded",
            State::PartialOutage => "partial_outage",
            State::MajorOutage => "major_outage",
        }
    }

    /// Its words on the page.
    pub fn words(self) -> &'static str {
        match self {
            State::Operational => "Operational",
            State::Maintenance => "Under maintenance",
            State::Degraded => "Degraded performance",
            State::PartialOutage => "Partial outage",
            State::MajorOutage => "Major outage",
        }
    }
}

/// The state each tier shows as (a tier not written keeps its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateMap {
    /// A monitor at ok.
    pub ok: State,
    /// A monitor at warning.
    pub warning: State,
    /// A monitor at critical.
    pub critical: State,
}

impl Default for StateMap {
    fn default() -> Self {
        StateMap { ok: State::Operational, warning: State::Degraded, critical: State::MajorOutage }
    }
}

impl StateMap {
    /// The state of one monitor at `tier`.
    pub fn of(&self, tier: Tier) -> State {
        match tier {
            Tier::Ok => self.ok,
            Tier::Warning => self.warning,
            Tier::Critical => self.critical,
        }
    }

    /// A component's state from its members' tiers (`None`: not checked yet). The worst
    /// member's state; a major outage of only some members is a partial outage. `None` while no
    /// member has been checked.
    pub fn component(&self, members: &[Option<Tier>]) -> Option<State> {
        let states: Vec<State> = members.iter().flatten().map(|t| self.of(*t)).collect();
        let worst = states.iter().copied().max()?;
        let all_out = states.len() == members.len() && states.iter().all(|s| *s == worst);
        Some(if worst == State::MajorOutage && !all_out { State::PartialOutage } else { worst })
    }
}

/// A problem at `{at}components[i]` for each name of `named` that is not one of `components`.
fn unknown_components(at: &str, named: &[String], components: &[&str]) -> Vec<crate::diagnostic::Problem> {
    let unknown = named.iter().enumerate().filter(|(_, c)| !components.contains(&c.as_str()));
    unknown
        .map(|(i, c)| {
            let hint = crate::diagnostic::did_you_mean(c, components.iter().copied())
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            crate::diagnostic::Problem::error(
                format!("{at}components[{i}]"),
                format!("`{c}` is not a component of this page{hint}"),
            )
        })
        .collect()
}

/// The page's overall state: its worst component's (`None` while nothing has been checked).
pub fn overall(components: &[Option<State>]) -> Option<State> {
    components.iter().flatten().copied().max()
}

#[cfg(test)]
mod tests;
