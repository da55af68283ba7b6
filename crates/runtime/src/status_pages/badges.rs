//! What a badge says: the state, uptime or mean response time of something a status page makes
//! public, found by a key shaped as Gatus' (`{page}_{component}`, the component's name
//! lowercased, runs of other characters as `-`) or a page's slug (its overall state), or a
//! monitor's name when its file says `publicBadge: true`. Nothing else has a badge.

use vigil_core::status_page::{ComponentDef, State, StatusPageDef, overall};
use vigil_core::time::Millis;

use super::StatusPages;
use super::view::DAY;

/// What a badge key names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A whole page (by its slug).
    Page(StatusPageDef),
    /// One component of a page.
    Component(StatusPageDef, ComponentDef),
    /// A monitor whose badges its file makes public, by its name.
    Monitor(String),
}

/// A component's key within its page: its name lowercased, each run of other characters than
/// letters and digits one `-`.
pub fn component_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The window of a duration as Gatus writes it (`1h`, `24h`, `7d`, `30d`, `90d`), and the
/// rollup width that covers it.
pub fn window(duration: &str) -> Option<(Millis, Millis)> {
    const HOUR: Millis = 3_600_000;
    Some(match duration {
        "1h" => (HOUR, 300_000),
        "24h" => (DAY, HOUR),
        "7d" => (7 * DAY, DAY),
        "30d" => (30 * DAY, DAY),
        "90d" => (90 * DAY, DAY),
        _ => return None,
    })
}

/// Checks, failing checks and the values seen over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Checks made.
    pub checks: u64,
    /// Of them, warning or critical.
    pub failing: u64,
    /// Sum of the values read, and how many there were.
    pub value_sum: f64,
    /// Values read.
    pub values: u64,
}

impl Figures {
    /// The share of checks that passed, when there were any.
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| 1.0 - self.failing as f64 / self.checks as f64)
    }

    /// The mean value read (for an HTTP monitor whose value is its response time: milliseconds).
    pub fn mean(&self) -> Option<f64> {
        (self.values > 0).then(|| self.value_sum / self.values as f64)
    }
}

impl StatusPages {
    /// What badge key `key` names.
    pub fn badge_target(&self, key: &str) -> Option<Target> {
        let pages = self.all();
        if let Some(page) = pages.iter().find(|p| p.slug == key) {
            return Some(Target::Page(page.clone()));
        }
        let component = key.split_once('_').and_then(|(slug, component)| {
            let page = pages.iter().find(|p| p.slug == slug)?;
            let c = page.components.iter().find(|c| component_key(&c.name) == component)?;
            Some(Target::Component(page.clone(), c.clone()))
        });
        component.or_else(|| Some(Target::Monitor(key.to_string())))
    }

    /// `target`, when its badges are public: a page's and its components' always, a monitor's
    /// when its file says so.
    pub async fn public_badge_target(&self, key: &str) -> Option<Target> {
        match self.badge_target(key)? {
            Target::Monitor(name) => {
                self.deps.monitors.get(&name).await.filter(|s| s.public_badge).map(|_| Target::Monitor(name))
            }
            other => Some(other),
        }
    }

    /// The state a target shows now (`None`: nothing checked yet).
    pub async fn badge_state(&self, target: &Target) -> vigil_store::Result<Option<State>> {
        let (page, name) = match target {
            Target::Page(page) => (page, None),
            Target::Component(page, c) => (page, Some(c.name.as_str())),
            Target::Monitor(name) => {
                // As a component of its own would show it: its last stored checks' worst tier.
                let paused = self.deps.monitors.get(name).await.is_none_or(|s| s.paused);
                let latest = self.deps.store.monitor_results(name).await?;
                let tier = super::view::tier_of(&own_component(name), paused, &latest);
                return Ok(tier.map(|t| vigil_core::status_page::StateMap::default().of(t)));
            }
        };
        let Some(view) = self.status_page_view(&page.slug).await else { return Ok(None) };
        let view = view?;
        Ok(match name {
            None => overall(&view.components.iter().map(|c| c.state).collect::<Vec<_>>()),
            Some(name) => view.components.iter().find(|c| c.name == name).and_then(|c| c.state),
        })
    }

    /// A target's figures over the last `span`, from rollups `width` wide.
    pub async fn badge_figures(&self, target: &Target, span: Millis, width: Millis) -> vigil_store::Result<Figures> {
        let own;
        let components: Vec<&ComponentDef> = match target {
            Target::Page(page) => page.components.iter().collect(),
            Target::Component(_, c) => vec![c],
            Target::Monitor(name) => {
                own = own_component(name);
                vec![&own]
            }
        };
        let since = self.now() - span;
        let mut figures = Figures::default();
        for c in components {
            for monitor in c.members() {
                let latest = self.deps.store.monitor_results(monitor).await?;
                for row in
                    self.deps.store.monitor_rollups(monitor, width, since - since.rem_euclid(width), 10_000).await?
                {
                    let labels = latest.iter().find(|r| r.series == row.series).map(|r| r.labels.as_str());
                    if !super::view::shows_series(c, &row.series, labels) {
                        continue;
                    }
                    figures.checks += u64::from(row.checks);
                    figures.failing += u64::from(row.failing);
                    if let Some(sum) = row.sum {
                        figures.value_sum += sum;
                        figures.values += u64::from(row.checks.saturating_sub(row.errors));
                    }
                }
            }
        }
        Ok(figures)
    }
}

/// A monitor shown as a component of its own, every series.
fn own_component(name: &str) -> ComponentDef {
    ComponentDef {
        name: name.into(),
        description: None,
        monitor: Some(name.into()),
        monitors: Vec::new(),
        series: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shaped_as_gatus_shapes_them() {
        assert_eq!(component_key("API in Europe"), "api-in-europe");
        assert_eq!(component_key("This status page"), "this-status-page");
        assert_eq!(component_key("  Web / App (v2) "), "web-app-v2");
        assert_eq!(component_key("Zürich"), "zürich");
    }

    #[test]
    fn windows_are_gatus_durations() {
        assert_eq!(window("24h"), Some((DAY, 3_600_000)));
        assert_eq!(window("7d").map(|w| w.1), Some(DAY));
        assert_eq!(window("2h"), None);
        let f = Figures { checks: 200, failing: 1, value_sum: 300.0, values: 150 };
        assert_eq!((f.uptime(), f.mean()), (Some(0.995), Some(2.0)));
        assert_eq!(Figures::default().uptime(), None);
    }
}
