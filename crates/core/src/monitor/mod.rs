//! Monitors: compact checks that run on their own light path, not as workflow instances.
//!
//! A monitor file names a source (an HTTP endpoint, an InfluxDB, Prometheus or SQL query), how
//! often to ask it, how to read a value per series from the answer, and the thresholds that make a
//! series a warning or critical. This module is pure: [`MonitorDef::build`] checks a document and
//! locates its problems, [`evaluate::evaluate`] turns one answer into a tier per series. The
//! runtime asks the source (`vigil-connectors`) and hands each series' tier to the alert manager
//! as an observation; `vigil test` drives the same evaluation with canned answers on a manual
//! clock.

mod build;
pub use build::source_of;
pub mod daily;
pub mod evaluate;
pub mod expect;
pub mod export;
pub mod message;
pub mod testing;
mod threshold;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

pub use crate::source_kind::SourceKind;
pub use build::SUPPORTED as MONITOR_FIELDS;
pub use threshold::Threshold;

use crate::alert::{AlertRule, Tier};
use crate::slim::SlimList;
use crate::time::Millis;

/// A checked monitor.
#[derive(Debug, Clone)]
pub struct MonitorDef {
    /// Unique name.
    pub name: String,
    /// Labels every series of this monitor carries.
    pub labels: BTreeMap<String, String>,
    /// When it runs.
    pub cadence: Cadence,
    /// Where the values come from.
    pub source: SourceSpec,
    /// The field (SQL or InfluxDB column, JSON path into an HTTP body) compared with the
    /// thresholds; `None` takes a row's only numeric field.
    pub value: Option<Box<str>>,
    /// Met: the series is at least a warning.
    pub warning: Option<Threshold>,
    /// Met: the series is critical.
    pub critical: Option<Threshold>,
    /// The tier of a series without a value, or of an answer without any series.
    pub no_data: NoData,
    /// The tier of the monitor's own series when the source fails.
    pub on_error: OnError,
    /// What happens to a series that no longer appears in the answers.
    pub missing_series: MissingSeries,
    /// How observations become notifications (`for`, `fireAfter`, `resolveAfter`, ...).
    pub rule: AlertRule,
    /// Dedup key template (`${labels.host}` ...); by default `monitor/<name>{labels}`.
    pub dedup_key: Option<Box<str>>,
    /// One-line summary template: `${value}`, `${tier}`, `${monitor}`, `${labels.NAME}`,
    /// `${error}`.
    pub summary: std::borrow::Cow<'static, str>,
    /// Notifiers per tier.
    pub notify: Routes,
    /// The monitors this one sits behind (`dependsOn`): while one of them fails, this one's
    /// notifications are held.
    pub depends_on: SlimList<String>,
    /// Every monitor it sits behind, directly or through others ([`fill_ancestors`]).
    pub ancestors: SlimList<String>,
    /// No checks while paused.
    pub paused: bool,
    /// Its badges answer anyone, by its name (`publicBadge`), though no status page shows it.
    pub public_badge: bool,
    /// What few monitors have: a retention of their own, canned tests, maintenance windows
    /// (boxed together: one pointer for most monitors, which have none of them).
    pub rare: Option<Box<Rare>>,
    /// A heartbeat monitor (pinged, not asking a source): when pings are expected.
    pub heartbeat: Option<Box<HeartbeatDef>>,
}

/// The parts of a monitor few monitors have.
#[derive(Debug, Clone, Default)]
pub struct Rare {
    /// How long its check history is kept, where it differs from the global default.
    pub retention: Option<crate::retention::Retention>,
    /// Canned answers and what they must lead to (`vigil test`).
    pub tests: Vec<testing::MonitorTest>,
    /// Its maintenance windows (`maintenance`), one-off or recurring: while one lasts, its
    /// alerts are held as a silence holds them, and the pages that show it say so.
    pub maintenance: Vec<crate::status_page::Maintenance>,
}

impl MonitorDef {
    /// How long its check history is kept, where it differs from the global default.
    pub fn retention(&self) -> Option<&crate::retention::Retention> {
        self.rare.as_ref()?.retention.as_ref()
    }

    /// Its canned tests (`vigil test`).
    pub fn tests(&self) -> &[testing::MonitorTest] {
        self.rare.as_deref().map_or(&[], |r| &r.tests)
    }

    /// Its own maintenance windows.
    pub fn maintenance(&self) -> &[crate::status_page::Maintenance] {
        self.rare.as_deref().map_or(&[], |r| &r.maintenance)
    }
}

/// The notifiers a monitor's alerts go to, per tier: only `warning` and `critical` route. One
/// pointer wide: monitors that route alike share one value ([`share_routes`]), and a list written
/// for every tier (`notify: [a, b]`) is kept once for both. A `BTreeMap` of the two took about
/// 400 bytes per monitor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(Option<Arc<TierRoutes>>);

/// Each routed tier's notifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct TierRoutes {
    warning: Option<Arc<[String]>>,
    critical: Option<Arc<[String]>>,
}

impl Routes {
    /// The same notifiers for every tier.
    pub fn every_tier(names: Vec<String>) -> Routes {
        let names: Arc<[String]> = names.into();
        Routes(Some(Arc::new(TierRoutes { warning: Some(names.clone()), critical: Some(names) })))
    }

    /// Routes `tier` (warning or critical; any other is ignored) to `names`.
    pub fn set(&mut self, tier: Tier, names: Vec<String>) {
        let route = Some(names.into());
        match tier {
            Tier::Warning => Arc::make_mut(self.0.get_or_insert_default()).warning = route,
            Tier::Critical => Arc::make_mut(self.0.get_or_insert_default()).critical = route,
            Tier::Ok => {}
        }
    }

    /// The notifiers of `tier` (none for `ok`, or a tier without a route).
    pub fn get(&self, tier: Tier) -> &[String] {
        let Some(routes) = &self.0 else { return &[] };
        let route = match tier {
            Tier::Warning => &routes.warning,
            Tier::Critical => &routes.critical,
            Tier::Ok => &None,
        };
        route.as_deref().unwrap_or_default()
    }

    /// Every notifier named, warning's first (a name on both routes comes twice).
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.get(Tier::Warning).iter().chain(self.get(Tier::Critical))
    }

    /// Takes routes equal to ones in `seen` from there, and puts its own there otherwise (their
    /// lists shared through `lists` the same way).
    fn share(&mut self, seen: &mut Shared) {
        let Some(routes) = &mut self.0 else { return };
        if let Some(kept) = seen.routes.get(&**routes) {
            *routes = kept.clone();
            return;
        }
        let own = Arc::make_mut(routes);
        for route in [&mut own.warning, &mut own.critical].into_iter().flatten() {
            match seen.lists.get(&**route) {
                Some(kept) => *route = kept.clone(),
                None => {
                    seen.lists.insert(route.clone());
                }
            }
        }
        seen.routes.insert(routes.clone());
    }
}

/// What [`share_routes`] has seen so far.
#[derive(Default)]
struct Shared {
    routes: std::collections::HashSet<Arc<TierRoutes>>,
    lists: std::collections::HashSet<Arc<[String]>>,
}

/// Makes monitors that tell the same notifiers share one [`Routes`]: thousands of monitors
/// usually name a few lists, and routes of their own took about 100 bytes each.
pub fn share_routes(defs: &mut [MonitorDef]) {
    let mut seen = Shared::default();
    for def in defs {
        def.notify.share(&mut seen);
    }
}

/// Fills each monitor's `ancestors` (the transitive closure of `dependsOn` over `defs`);
/// returns the cycles found, each as the names along it (`a → b → a`).
pub fn fill_ancestors(defs: &mut [MonitorDef]) -> Vec<Vec<String>> {
    let parents: std::collections::HashMap<String, SlimList<String>> =
        defs.iter().map(|d| (d.name.clone(), d.depends_on.clone())).collect();
    let mut cycles: Vec<Vec<String>> = Vec::new();
    for def in defs.iter_mut() {
        let mut seen: Vec<String> = Vec::new();
        let mut stack: Vec<(String, Vec<String>)> =
            def.depends_on.iter().map(|p| (p.clone(), vec![def.name.clone()])).collect();
        while let Some((name, path)) = stack.pop() {
            if name == def.name {
                let mut cycle = path.clone();
                cycle.push(name);
                let mut key = cycle[..cycle.len() - 1].to_vec();
                key.sort();
                if !cycles.iter().any(|c| {
                    let mut k = c[..c.len() - 1].to_vec();
                    k.sort();
                    k == key
                }) {
                    cycles.push(cycle);
                }
                continue;
            }
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let mut next = path.clone();
            next.push(name.clone());
            for p in parents.get(&name).into_iter().flatten() {
                stack.push((p.clone(), next.clone()));
            }
        }
        def.ancestors = seen.into();
    }
    cycles
}

/// Grace of a heartbeat that names none: an hour, as Healthchecks.
pub const DEFAULT_GRACE_MS: i64 = 3_600_000;

/// A heartbeat monitor's settings.
#[derive(Debug, Clone)]
pub struct HeartbeatDef {
    /// When pings are expected (the monitor's `every` or `cron`), grace and longest run.
    pub expect: expect::Heartbeat,
    /// The ping id the file gives (or a `${workflow.secrets.NAME}` reference); vigil derives one
    /// when absent.
    pub id: Option<String>,
    /// The queue whose messages are its pings too (`mqtt:devices/42/alive`), if any.
    pub queue: Option<QueueFeed>,
}

/// A queue a heartbeat listens to: each message (that its condition lets through) is a ping,
/// read by [`message::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFeed {
    /// The queue, written as a sink (`TYPE:NAME`: `nats:jobs.backup.done`, `amqp_queue:beats`).
    pub queue: String,
    /// A JavaScript condition over the message (`$`), as an event handler's: only messages it
    /// holds for are pings, so many heartbeats can share one queue.
    pub condition: Option<String>,
}

impl HeartbeatDef {
    /// Defaults on `cadence`.
    pub fn default_for(cadence: Cadence) -> Self {
        HeartbeatDef {
            expect: expect::Heartbeat { expected: cadence, grace: DEFAULT_GRACE_MS, max_runtime: None },
            id: None,
            queue: None,
        }
    }
}

/// When a monitor runs.
#[derive(Debug, Clone)]
pub enum Cadence {
    /// Every so many milliseconds, at a fixed offset within the interval derived from the name,
    /// so that many monitors with one interval spread over it instead of firing together.
    Every {
        /// The interval.
        ms: Millis,
        /// The offset of this monitor's slots within the interval.
        offset: Millis,
    },
    /// On a cron expression in a time zone.
    Cron {
        /// The expression as written.
        text: Box<str>,
        /// Parsed.
        cron: Arc<crate::cron::CronExpr>,
        /// The zone.
        zone: TimeZone,
    },
}

impl Cadence {
    /// The first slot after `after`.
    pub fn next_after(&self, after: Millis) -> Option<Millis> {
        match self {
            Cadence::Every { ms, offset } => {
                let base = (after - offset).div_euclid(*ms) * ms + offset;
                Some(if base > after { base } else { base + ms })
            }
            Cadence::Cron { cron, zone, .. } => {
                let zoned = Timestamp::from_millisecond(after).ok()?.to_zoned(zone.clone());
                Some(cron.next_after(&zoned)?.timestamp().as_millisecond())
            }
        }
    }
}

/// The source block: its kind (`http`, `influxdb`, ...) and its settings, which the source's
/// connector reads (and locates problems in) itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// Which source.
    pub kind: SourceKind,
    /// The settings object: shared, so a definition holds 8 bytes for it, not a 72-byte value,
    /// once [`SourceSpec::forget_config`] has let it go.
    pub config: Arc<Value>,
}

impl SourceSpec {
    /// A block of `kind` with settings `config`.
    pub fn new(kind: SourceKind, config: Value) -> SourceSpec {
        SourceSpec { kind, config: Arc::new(config) }
    }

    /// Lets the settings go (they read as `null` from here on), once the source they describe
    /// is built: one shared `null`, so nothing is allocated per monitor.
    pub fn forget_config(&mut self) {
        static NULL: std::sync::LazyLock<Arc<Value>> = std::sync::LazyLock::new(|| Arc::new(Value::Null));
        self.config = NULL.clone();
    }

    /// The settings, to change (copied first if they are shared).
    pub fn config_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.config)
    }
}

/// The tier of a series that has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// A tier.
    Tier(Tier),
    /// No observation: the series keeps its tier.
    Keep,
}

/// The tier of the monitor's own series when the source fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// No observation (the error is still shown and counted).
    Keep,
    /// This tier.
    Tier(Tier),
}

/// What happens to a series missing from an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingSeries {
    /// It is observed ok (so it resolves after `resolveAfter` answers without it), then
    /// forgotten.
    Resolve,
    /// No observation: it keeps its tier until it comes back.
    Keep,
    /// It is observed at the `noData` tier.
    NoData,
}

#[cfg(test)]
mod tests;
