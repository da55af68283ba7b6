//! Alertmanager's routing tree (`dispatch/route.go`): each node inherits its parent's receiver,
//! grouping and timing unless it sets its own; an alert goes down the first child that matches
//! (and on to later siblings while the matching child says `continue`), and a node none of
//! whose children match is where it stops.

use std::collections::BTreeMap;

use serde_json::Value;

use super::read::Fields;
use crate::alertmanager::{MatchType, Matcher, all_match, parse_matchers};
use crate::diagnostic::Problem;
use crate::time::Millis;

/// How a route groups its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// By these labels (none: one group for the whole route).
    #[default]
    Nothing,
    /// By these labels.
    Labels(Vec<String>),
    /// By every label: each label set is its own group (`group_by: ['...']`).
    All,
}

/// A group's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait: Millis,
    /// How long after a notification the group's next one may go out with changes.
    pub group_interval: Millis,
    /// How long after a notification the same alerts are sent again.
    pub repeat_interval: Millis,
}

impl Default for Timing {
    /// Alertmanager's defaults: 30 s, 5 min, 4 h.
    fn default() -> Self {
        Self { group_wait: 30_000, group_interval: 300_000, repeat_interval: 4 * 3_600_000 }
    }
}

/// One node of the tree, with what it inherited already applied.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// Alertmanager's route key (`{}/{service="db"}`): its matchers and its ancestors'.
    pub key: String,
    /// Alertmanager's route ID (`{}/{service="db"}/0`): the key with each node's place, unique
    /// even where siblings match alike.
    pub id: String,
    /// Where it is in the configuration (`route.routes[0]`).
    pub path: String,
    /// Who is told.
    pub receiver: String,
    /// How alerts are grouped.
    pub group_by: GroupBy,
    /// The group timing.
    pub timing: Timing,
    /// Every one must match.
    pub matchers: Vec<Matcher>,
    /// Whether matching goes on to later siblings.
    pub continue_matching: bool,
    /// Named time intervals during which notifications are muted.
    pub mute_time_intervals: Vec<String>,
    /// Named time intervals outside which notifications are muted.
    pub active_time_intervals: Vec<String>,
    /// Labels the route adds (inherited by its children).
    pub labels: BTreeMap<String, String>,
    /// Children.
    pub routes: Vec<Route>,
}

impl Route {
    /// The nodes an alert with `labels` stops at, in order.
    pub fn matching(&self, labels: &BTreeMap<String, String>) -> Vec<&Route> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.matching(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The labels an alert with `labels` is grouped by on this route.
    pub fn group_labels(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Nothing => BTreeMap::new(),
            GroupBy::Labels(names) => {
                names.iter().filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone()))).collect()
            }
        }
    }

    /// The key of the group an alert with `labels` joins here: the route's ID and the group's
    /// labels, as Alertmanager writes it (`{}/{team="db"}/0:{alertname="Down"}`).
    pub fn group_key(&self, labels: &BTreeMap<String, String>) -> String {
        format!("{}:{}", self.id, label_set(&self.group_labels(labels)))
    }

    /// Every node, depth first.
    pub fn walk(&self) -> Vec<&Route> {
        let mut out = vec![self];
        for child in &self.routes {
            out.extend(child.walk());
        }
        out
    }
}

/// A label set as Alertmanager prints one: `{a="1", b="2"}`.
pub fn label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn matchers_string(matchers: &[Matcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(|m| format!("{}{}{:?}", m.name, m.kind.op(), m.value)).collect();
    format!("{{{}}}", inner.join(","))
}

/// Reads the tree at `path`; `parent` is what the root inherits from (`None` for the root).
pub(super) fn read(
    value: &Value,
    path: &str,
    parent: Option<&Route>,
    index: usize,
    problems: &mut Vec<Problem>,
) -> Route {
    let mut f = Fields::of(value, path, problems);
    let mut route = match parent {
        Some(p) => Route {
            receiver: p.receiver.clone(),
            group_by: p.group_by.clone(),
            timing: p.timing,
            labels: p.labels.clone(),
            ..Route::default()
        },
        None => Route::default(),
    };
    route.path = path.to_string();
    if let Some(r) = f.string("receiver", problems) {
        route.receiver = r;
    }
    if f.has("group_by") {
        let names = f.strings("group_by", problems);
        route.group_by = group_by(&names, &f.at("group_by"), problems);
    }
    for (key, slot) in [("group_wait", 0), ("group_interval", 1), ("repeat_interval", 2)] {
        if let Some(ms) = f.duration(key, problems) {
            if ms == 0 && slot > 0 {
                problems.push(Problem::error(f.at(key), format!("{key} cannot be zero")));
            }
            *[&mut route.timing.group_wait, &mut route.timing.group_interval, &mut route.timing.repeat_interval]
                [slot] = ms;
        }
    }
    route.matchers = read_matchers(&mut f, "match", "match_re", "matchers", problems);
    route.continue_matching = f.boolean("continue", problems).unwrap_or(false);
    route.mute_time_intervals = f.strings("mute_time_intervals", problems).into_iter().map(|(_, s)| s).collect();
    route.active_time_intervals = f.strings("active_time_intervals", problems).into_iter().map(|(_, s)| s).collect();
    for (_, name, value) in f.string_map("labels", problems) {
        route.labels.insert(name, value);
    }
    let own = matchers_string(&route.matchers);
    (route.key, route.id) = match parent {
        Some(p) => (format!("{}/{own}", p.key), format!("{}/{own}/{index}", p.id)),
        None => (own.clone(), own),
    };
    let children = f.list("routes", problems);
    f.finish(problems);
    route.routes = children.into_iter().enumerate().map(|(i, (p, v))| read(v, &p, Some(&route), i, problems)).collect();
    route
}

fn group_by(names: &[(String, String)], path: &str, problems: &mut Vec<Problem>) -> GroupBy {
    if names.iter().any(|(_, n)| n == "...") {
        if names.len() > 1 {
            problems
                .push(Problem::error(path, "cannot have wildcard group_by (`...`) and other labels at the same time"));
        }
        return GroupBy::All;
    }
    let mut seen: Vec<String> = Vec::new();
    for (p, n) in names {
        if seen.contains(n) {
            problems.push(Problem::error(p, format!("duplicated label {n:?} in group_by")));
        } else if n.is_empty() {
            problems.push(Problem::error(p, "invalid label name \"\" in group_by list"));
        } else {
            seen.push(n.clone());
        }
    }
    if seen.is_empty() { GroupBy::Nothing } else { GroupBy::Labels(seen) }
}

/// Reads the three ways Alertmanager writes matchers: `match` (equality), `match_re` (regexes,
/// anchored) and `matchers` (its matcher syntax, one or more per line).
pub(super) fn read_matchers(
    f: &mut Fields,
    equal: &'static str,
    regex: &'static str,
    syntax: &'static str,
    problems: &mut Vec<Problem>,
) -> Vec<Matcher> {
    let mut out = Vec::new();
    for (p, name, value) in f.string_map(equal, problems) {
        match Matcher::new(MatchType::Equal, &name, &value) {
            Ok(m) => out.push(m),
            Err(e) => problems.push(Problem::error(p, e)),
        }
    }
    // A regex left out is no regex: Alertmanager refuses it (an equality matcher reads it as "").
    if let Some(Value::Object(m)) = f.get(regex) {
        for (name, _) in m.iter().filter(|(_, v)| v.is_null()) {
            let at = crate::locate::join_key(&f.at(regex), name);
            problems.push(Problem::error(at, format!("invalid regexp value for {name:?}")));
        }
    }
    for (p, name, value) in f.string_map(regex, problems) {
        // Alertmanager anchors these, and shows them anchored in route keys.
        match Matcher::new(MatchType::Regexp, &name, &format!("^(?:{value})$")) {
            Ok(m) => out.push(m),
            Err(e) => problems.push(Problem::error(p, e)),
        }
    }
    for (p, line) in f.strings(syntax, problems) {
        match parse_matchers(&line) {
            Ok(ms) => out.extend(ms),
            Err(e) => problems.push(Problem::error(p, e)),
        }
    }
    out.sort_by(|a, b| (&a.name, a.kind.op(), &a.value).cmp(&(&b.name, b.kind.op(), &b.value)));
    out
}
