//! The public status pages in force (the config directory's, on every node of a cluster through
//! the published copy), and what one shows now: each component's state from its monitors' last
//! checks and its daily uptime from the rollups. What a view holds is only what the page
//! declares: display names and states, never a monitor's name, labels, URL or error.

use std::collections::HashMap;
use std::sync::Arc;

use vigil_core::alert::Tier;
use vigil_core::status_page::{ComponentDef, Incident, State, StatusPageDef, overall};
use vigil_core::time::Millis;

use super::StatusPages;
use super::page_days::Day;

/// A day, the width of the daily rollups.
pub const DAY: Millis = 86_400_000;

/// The days a page shows bars for.
pub const DAYS_SHOWN: usize = 90;

/// How long after midnight the days before today are read afresh: yesterday's last history is
/// written within the history flush (10 minutes at most) after the day ended.
const PAST_DAYS_SETTLE: Millis = 15 * 60_000;

/// A component as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    /// Its display name.
    pub name: String,
    /// Its line under the name.
    pub description: Option<String>,
    /// Its state now; `None` before any of its monitors was checked.
    pub state: Option<State>,
    /// The last [`DAYS_SHOWN`] days, oldest first, today last.
    pub days: Vec<Day>,
}

impl ComponentView {
    /// The uptime over the days shown, when there were checks.
    pub fn uptime(&self) -> Option<f64> {
        uptime_of(self.days.iter())
    }
}

/// A page as the public sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// The page as declared.
    pub page: Arc<StatusPageDef>,
    /// Its components, in order.
    pub components: Vec<ComponentView>,
    /// The worst component's state.
    pub overall: Option<State>,
    /// Its incidents not resolved, and those resolved in the last [`super::incidents::RECENT`],
    /// newest first.
    pub incidents: Vec<Incident>,
    /// When the view was made.
    pub at: Millis,
}

impl PageView {
    /// The uptime of every component over the days shown.
    pub fn uptime(&self) -> Option<f64> {
        uptime_of(self.components.iter().flat_map(|c| c.days.iter()))
    }
}

fn uptime_of<'a>(days: impl Iterator<Item = &'a Day>) -> Option<f64> {
    let (checks, failing) = days.fold((0, 0), |(c, f), d| (c + d.checks, f + d.failing));
    Day { start: 0, checks, failing }.uptime()
}

/// The starts of the [`DAYS_SHOWN`] days up to the one holding `now`, oldest first.
pub fn days_to(now: Millis) -> Vec<Millis> {
    let today = now - now.rem_euclid(DAY);
    (0..DAYS_SHOWN as Millis).rev().map(|back| today - back * DAY).collect()
}

/// Adds `(day, checks, failing)` counts to the days shown (those of other days are left out).
fn add_days(days: &mut [Day], counts: impl IntoIterator<Item = (Millis, u64, u64)>) {
    let Some(first) = days.first().map(|d| d.start) else { return };
    for (at, checks, failing) in counts {
        if let Some(day) = usize::try_from((at - first).div_euclid(DAY)).ok().and_then(|i| days.get_mut(i)) {
            day.checks += checks;
            day.failing += failing;
        }
    }
}

/// Whether a reading of a component's monitor belongs to it: every series, or the one named by
/// `series` (its key, or the value of one of its labels).
fn shows(component: &ComponentDef, key: &str, labels: Option<&std::collections::BTreeMap<String, String>>) -> bool {
    match &component.series {
        None => true,
        Some(s) => key == s || labels.is_some_and(|l| l.values().any(|v| v == s)),
    }
}

/// A monitor's worst tier now, over the series the component shows, from the latest readings
/// in the store (which the monitor's owner writes within a second of a change, so every node of
/// a cluster reads the same); `None` when unchecked or paused.
pub(crate) fn tier_of(
    component: &ComponentDef,
    paused: bool,
    latest: &[vigil_store::MonitorResultRow],
) -> Option<Tier> {
    if paused {
        return None;
    }
    latest
        .iter()
        .filter(|r| shows(component, &r.series, labels(&r.labels).as_ref()))
        .filter_map(|r| r.tier.as_deref().and_then(Tier::parse))
        .max()
}

/// Whether series `series` of a component's monitor belongs to it, given the series' stored
/// labels (JSON), when known.
pub(crate) fn shows_series(component: &ComponentDef, series: &str, labels_json: Option<&str>) -> bool {
    shows(component, series, labels_json.and_then(labels).as_ref())
}

/// A stored reading's labels (a JSON object).
fn labels(json: &str) -> Option<std::collections::BTreeMap<String, String>> {
    serde_json::from_str(json).ok()
}

/// A component's monitors as last read: which are paused, and their latest readings by monitor.
pub(crate) struct Readings {
    declared: Arc<crate::monitors::declared::DeclaredMonitors>,
    latest: HashMap<String, Vec<vigil_store::MonitorResultRow>>,
}

impl Readings {
    fn of(&self, monitor: &str) -> &[vigil_store::MonitorResultRow] {
        self.latest.get(monitor).map_or(&[][..], Vec::as_slice)
    }

    /// Each member's worst tier over the series component `c` shows.
    fn tiers(&self, c: &ComponentDef) -> Vec<Option<Tier>> {
        c.members().map(|m| tier_of(c, self.declared.paused.contains(m), self.of(m))).collect()
    }

    /// Component `c` of `page` as its monitors' last checks show it (no incident's impact), and
    /// since when the checks that put it at `from` or worse have said so (the earliest change
    /// among them).
    pub(crate) fn checked_state(&self, page: &StatusPageDef, c: &ComponentDef, from: State) -> (Option<State>, Millis) {
        let mut since = Millis::MAX;
        for monitor in c.members().filter(|m| !self.declared.paused.contains(*m)) {
            let out = self
                .of(monitor)
                .iter()
                .filter(|r| shows(c, &r.series, labels(&r.labels).as_ref()))
                .filter(|r| r.tier.as_deref().and_then(Tier::parse).is_some_and(|t| page.states.of(t) >= from));
            since = out.map(|r| r.changed_at).fold(since, Millis::min);
        }
        (page.states.component(&self.tiers(c)), since)
    }
}

impl StatusPages {
    /// What component `c`'s monitors say now: which are paused (as set with the monitors), and
    /// each one's latest readings (one read, whatever the number of monitors; a component at a
    /// time, so a big page's readings are never all in memory at once).
    pub(crate) async fn readings(&self, c: &ComponentDef) -> vigil_store::Result<Readings> {
        let declared = self.deps.declared_monitors.read().expect("lock").clone();
        let mut members: Vec<String> = c.members().map(str::to_string).collect();
        members.sort_unstable();
        members.dedup();
        let mut latest: HashMap<String, Vec<vigil_store::MonitorResultRow>> = HashMap::new();
        for row in self.deps.store.monitor_results_of(&members).await? {
            latest.entry(row.monitor.clone()).or_default().push(row);
        }
        Ok(Readings { declared, latest })
    }

    /// The status pages in force, by slug.
    pub fn all(&self) -> Arc<Vec<StatusPageDef>> {
        self.deps.pages.read().expect("lock").clone()
    }

    /// What page `slug` shows now; `None` when there is no such page.
    pub async fn status_page_view(&self, slug: &str) -> Option<vigil_store::Result<PageView>> {
        let page = self.all().iter().find(|p| p.slug == slug)?.clone();
        // Its windows scheduled through the API too: shown, and under way they count.
        match self.with_stored_windows(&page).await {
            Ok(page) => Some(self.view_of(Arc::new(page)).await),
            Err(e) => Some(Err(e)),
        }
    }

    async fn view_of(&self, page: Arc<StatusPageDef>) -> vigil_store::Result<PageView> {
        let now = self.now();
        let starts = days_to(now);
        let incidents = self.incidents_of(&page, now - super::incidents::RECENT, now + 1).await?;
        let mut components = Vec::with_capacity(page.components.len());
        for c in &page.components {
            let readings = self.readings(c).await?;
            let tiers = readings.tiers(c);
            let days = self.component_days(&page.slug, c, &starts, &readings.latest, now).await?;
            // An open incident shows its impact on what it affects, if that is worse.
            let declared =
                incidents.iter().filter(|i| i.resolved_at().is_none() && i.affects(&c.name)).map(|i| i.impact);
            // Scheduled maintenance under way shows as such, whatever the monitors say (an open
            // incident's worse impact still shows).
            let checked = match page.under_maintenance(&c.name, now) {
                true => Some(State::Maintenance),
                false => page.states.component(&tiers),
            };
            let state = checked.into_iter().chain(declared).max();
            components.push(ComponentView { name: c.name.clone(), description: c.description.clone(), state, days });
        }
        let states: Vec<Option<State>> = components.iter().map(|c| c.state).collect();
        Ok(PageView { overall: overall(&states), page, components, incidents, at: now })
    }

    /// Component `c`'s days `starts`: the days before today kept from an earlier reading of
    /// today (once today's first minutes, when yesterday's last history may still be written,
    /// are past), today's read each time.
    async fn component_days(
        &self,
        slug: &str,
        c: &ComponentDef,
        starts: &[Millis],
        latest: &HashMap<String, Vec<vigil_store::MonitorResultRow>>,
        now: Millis,
    ) -> vigil_store::Result<Vec<Day>> {
        let today = *starts.last().expect("days shown");
        let key = (slug.to_string(), c.name.clone());
        let kept = self.state.page_days.lock().expect("lock").get(&key).filter(|(day, _)| *day == today).cloned();
        let (mut days, since) = match kept {
            Some((_, past)) => (past, today),
            None => (starts.iter().map(|&start| Day { start, ..Day::default() }).collect::<Vec<Day>>(), starts[0]),
        };
        let read_all = since != today;
        match &c.series {
            // Every series of every member: summed by the database, a row a day.
            None => {
                let members: Vec<String> = c.members().map(str::to_string).collect();
                add_days(&mut days, self.deps.store.rollup_sums(&members, DAY, since).await?);
            }
            // One series of each member: its rows, picked by key or label.
            Some(_) => {
                for monitor in c.members() {
                    let rows_now = latest.get(monitor).map_or(&[][..], Vec::as_slice);
                    let labels_of =
                        |key: &str| rows_now.iter().find(|r| r.series == key).and_then(|r| labels(&r.labels));
                    let rows = self.deps.store.monitor_rollups(monitor, DAY, since, (DAYS_SHOWN * 64) as u32).await?;
                    let picked = rows.iter().filter(|r| shows(c, &r.series, labels_of(&r.series).as_ref()));
                    add_days(&mut days, picked.map(|r| (r.bucket, u64::from(r.checks), u64::from(r.failing))));
                }
            }
        }
        if read_all && now >= today + PAST_DAYS_SETTLE {
            let mut past = days.clone();
            if let Some(last) = past.last_mut() {
                *last = Day { start: today, ..Day::default() };
            }
            self.state.page_days.lock().expect("lock").insert(key, (today, past));
        }
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_days_end_with_today() {
        let now = 10 * DAY + 5_000;
        let days = days_to(now);
        assert_eq!(days.len(), DAYS_SHOWN);
        assert_eq!(*days.last().unwrap(), 10 * DAY, "today, from its midnight");
        assert_eq!(days[0], 10 * DAY - 89 * DAY);
        assert!(days.windows(2).all(|w| w[1] - w[0] == DAY));
    }

    #[test]
    fn uptime_counts_only_days_with_checks() {
        let days = [
            Day { start: 0, checks: 0, failing: 0 },
            Day { start: DAY, checks: 100, failing: 1 },
            Day { start: 2 * DAY, checks: 100, failing: 0 },
        ];
        assert_eq!(days[0].uptime(), None);
        assert_eq!(days[1].uptime(), Some(0.99));
        assert_eq!(uptime_of(days.iter()), Some(1.0 - 1.0 / 200.0));
        assert_eq!(uptime_of([days[0]].iter()), None);
    }

    #[test]
    fn a_component_of_one_series_reads_only_that_series() {
        let c = ComponentDef {
            name: "EU".into(),
            description: None,
            monitor: Some("api".into()),
            monitors: Vec::new(),
            series: Some("eu".into()),
        };
        let labels = std::collections::BTreeMap::from([("region".to_string(), "eu".to_string())]);
        assert!(shows(&c, "monitor/api/region=eu", Some(&labels)), "by a label's value");
        assert!(shows(&c, "eu", None), "by its key");
        assert!(!shows(&c, "monitor/api/region=us", None));
        let all = ComponentDef { series: None, ..c };
        assert!(shows(&all, "monitor/api/region=us", None));
    }
}
