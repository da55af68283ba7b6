//! One aggregation group, as Alertmanager's dispatcher and notification log run it
//! (`dispatch/dispatch.go` `aggrGroup`, `notify/notify.go` `DedupStage`), as plain data on a
//! manual clock:
//!
//! - a new group waits `group_wait` before its first notification (less when its first alert
//!   started long enough ago), then flushes every `group_interval` after that first flush;
//! - a flush tells each integration the group's alerts when there is news for it: an alert it was
//!   not told is firing, everything it was told of has resolved, one resolved that it was not
//!   told resolved (integrations that send resolves), or `repeat_interval` has passed;
//! - what was told is recorded even when an integration sends no resolves, so an alert that fires
//!   again is news; resolved alerts leave the group after the flush that covered them.
//!
//! Two things differ, on purpose, and the README says so: a resolve is never held back by a
//! silence or an inhibition when the integration was told the alert fired (vigil's promise that
//! a page is always closed), and a group muted by a time interval keeps its resolved alerts until
//! the window ends (those told of, so a page told before the window is closed after it; the
//! others, which fired and resolved within it, are dropped and never told).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Alert;
use super::config::route::Timing;
use crate::alert::escalation::Escalation;
use crate::time::Millis;

/// What one integration was last told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    /// The alerts it was told fire.
    pub firing: BTreeSet<String>,
    /// The alerts it was told resolved (or that resolved where it takes no resolves).
    pub resolved: BTreeSet<String>,
    /// When.
    pub at: Millis,
}

/// One notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// The integration.
    pub integration: String,
    /// Its alerts, in Alertmanager's order ([`alert_order`]).
    pub alerts: Vec<Alert>,
    /// How many of them fire.
    pub firing: usize,
}

/// A group's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Its alerts, by key. Not part of the state's JSON: the runtime stores each alert on its own
    /// (a big group changes by the alerts that change).
    #[serde(skip)]
    pub alerts: BTreeMap<String, Alert>,
    /// When the first flush is due (while it has not flushed).
    pub first_flush_at: Option<Millis>,
    /// When it first flushed: the rest come `group_interval` apart from here.
    pub anchor: Option<Millis>,
    /// When it last flushed.
    pub last_flush: Option<Millis>,
    /// What each integration was last told, by integration name.
    pub told: BTreeMap<String, Told>,
    /// The escalation running for the group's incident, when its receiver is named after an
    /// escalation policy ([`crate::alert::escalation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// Someone acknowledged the group since its alerts began firing: its escalation stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
}

/// An integration a flush may tell: its name and whether it takes resolves.
pub type Target<'a> = (&'a str, bool);

impl GroupState {
    /// Puts alert `key` in the group at `now`: merged with what the group knows of it when their
    /// times overlap (one occurrence, as Alertmanager's alert store merges them), else replacing it.
    pub fn insert(&mut self, key: &str, alert: Alert, now: Millis, timing: &Timing) {
        let alert = match self.alerts.get(key) {
            Some(old) if overlaps(old, &alert) => Alert { row: old.row, ..old.merge(&alert, now) },
            Some(old) => Alert { row: old.row, ..alert },
            None => alert,
        };
        if self.alerts.is_empty() && self.anchor.is_none() && self.first_flush_at.is_none() {
            self.first_flush_at = Some(now + timing.group_wait);
        }
        // An alert that started long enough ago needs no wait for company.
        if self.anchor.is_none() && alert.starts_at + timing.group_wait < now {
            self.first_flush_at = Some(self.first_flush_at.map_or(now, |t| t.min(now)));
        }
        self.alerts.insert(key.to_string(), alert);
    }

    /// Whether nothing is left (the group can go).
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// When the next flush is due; `None` for an empty group.
    pub fn next_flush(&self, timing: &Timing) -> Option<Millis> {
        if self.alerts.is_empty() {
            return None;
        }
        match (self.anchor, self.last_flush) {
            (Some(anchor), Some(last)) => {
                let every = timing.group_interval.max(1);
                Some(anchor + ((last - anchor) / every + 1) * every)
            }
            _ => self.first_flush_at,
        }
    }

    /// When the group next needs a look: its next flush, or its escalation's next step.
    pub fn next_wake(&self, timing: &Timing) -> Option<Millis> {
        let step = self.escalation.as_ref().and_then(|e| e.next_at).filter(|_| !self.alerts.is_empty());
        [self.next_flush(timing), step].into_iter().flatten().min()
    }

    /// Whether some integration was told that some alert of the group fires.
    pub fn told_firing(&self) -> bool {
        self.told.values().any(|t| !t.firing.is_empty())
    }

    /// Tells `targets` now, outside the group's flushes (an escalation step), of its firing
    /// alerts that are not muted; the group's timing and alerts stay as they are.
    pub fn tell_now(&mut self, now: Millis, targets: &[Target], muted: impl Fn(&str, &Alert) -> bool) -> Vec<Send> {
        let firing: Vec<(&String, &Alert)> =
            self.alerts.iter().filter(|(k, a)| !a.resolved_at(now) && !muted(k, a)).collect();
        if firing.is_empty() {
            return Vec::new();
        }
        let keys: BTreeSet<String> = firing.iter().map(|(k, _)| (*k).clone()).collect();
        let mut alerts: Vec<Alert> = firing.iter().map(|(_, a)| (*a).clone()).collect();
        alerts.sort_by(alert_order);
        let mut sends = Vec::new();
        for (name, _) in targets {
            sends.push(Send { integration: name.to_string(), alerts: alerts.clone(), firing: alerts.len() });
            self.told.insert(name.to_string(), Told { firing: keys.clone(), resolved: BTreeSet::new(), at: now });
        }
        sends
    }

    /// Flushes at `now`: what each of `targets` is to be told. `muted_by_time` holds the whole
    /// group (a route's time interval); `muted` holds single alerts (silences, inhibition).
    pub fn flush(
        &mut self,
        now: Millis,
        timing: &Timing,
        targets: &[Target],
        muted_by_time: bool,
        muted: impl Fn(&str, &Alert) -> bool,
    ) -> Vec<Send> {
        self.anchor.get_or_insert(now);
        self.first_flush_at = None;
        self.last_flush = Some(now);
        let mut sends = Vec::new();
        if !muted_by_time {
            let told_firing = |key: &str| self.told.values().any(|t| t.firing.contains(key));
            let (mut firing, mut resolved) = (Vec::new(), Vec::new());
            for (key, alert) in &self.alerts {
                let is_resolved = alert.resolved_at(now);
                let keep = (is_resolved && told_firing(key)) || !muted(key, alert);
                match (keep, is_resolved) {
                    (false, _) => {}
                    (true, false) => firing.push((key.clone(), alert)),
                    (true, true) => resolved.push((key.clone(), alert)),
                }
            }
            // Nothing left to say (everything muted): Alertmanager's pipeline stops before its
            // notification log, so what was told stays as it was.
            let targets = if firing.is_empty() && resolved.is_empty() { &[][..] } else { targets };
            let firing_keys: BTreeSet<String> = firing.iter().map(|(k, _)| k.clone()).collect();
            let resolved_keys: BTreeSet<String> = resolved.iter().map(|(k, _)| k.clone()).collect();
            // Someone has it: no more reminders (news still goes out).
            let repeat = if self.acknowledged { Millis::MAX / 2 } else { timing.repeat_interval };
            for (name, send_resolved) in targets {
                let told = self.told.get(*name);
                if !needs_update(told, &firing_keys, &resolved_keys, *send_resolved, repeat, now) {
                    continue;
                }
                let mut alerts: Vec<Alert> = firing.iter().map(|(_, a)| (*a).clone()).collect();
                if *send_resolved {
                    alerts.extend(resolved.iter().map(|(_, a)| (*a).clone()));
                }
                alerts.sort_by(alert_order);
                if !alerts.is_empty() {
                    sends.push(Send { integration: name.to_string(), alerts, firing: firing.len() });
                }
                let record = Told { firing: firing_keys.clone(), resolved: resolved_keys.clone(), at: now };
                self.told.insert(name.to_string(), record);
            }
            self.alerts.retain(|_, a| !a.resolved_at(now));
        } else {
            // Held by a window: an alert that fired and resolved within it was nobody's business;
            // one an integration was told of stays, for its resolve after the window.
            let told = &self.told;
            self.alerts.retain(|key, a| !a.resolved_at(now) || told.values().any(|t| t.firing.contains(key)));
        }
        if self.alerts.is_empty() {
            *self = GroupState::default();
        }
        sends
    }
}

/// The order of a notification's alerts, as Alertmanager sorts them (`alert.AlertSlice`): by
/// `job`, then `instance` (an alert with the label before one without), then by label set.
pub fn alert_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    // `LabelSet.Before`: pair by pair in name order, names then values; a prefix first.
    for ((an, av), (bn, bv)) in a.labels.iter().zip(b.labels.iter()) {
        if an != bn {
            return an.cmp(bn);
        }
        if av != bv {
            return av.cmp(bv);
        }
    }
    a.labels.len().cmp(&b.labels.len())
}

/// Whether a new view of an alert overlaps the known one in time (`provider/mem`): then they
/// are one occurrence and merge; otherwise the new one replaces it.
pub fn overlaps(old: &Alert, new: &Alert) -> bool {
    (new.ends_at > old.starts_at && new.ends_at < old.ends_at)
        || (new.starts_at > old.starts_at && new.starts_at < old.ends_at)
}

/// A group as vigil stores it: where it routes, how it is timed, and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Alertmanager's group key (`{}/{team="db"}:{alertname="Down"}`).
    pub key: String,
    /// The route's ID.
    pub route_id: String,
    /// The receiver told.
    pub receiver: String,
    /// The labels the route groups by, with this group's values.
    pub labels: BTreeMap<String, String>,
    /// The route's timing when the group began (used while the route is gone from the tree).
    pub timing: Timing,
    /// Its alerts and what was told.
    pub state: GroupState,
}

impl Group {
    /// vigil's id of the group with Alertmanager key `key`: short, and the key of its stored row,
    /// its partition and its notifications.
    pub fn id_of(key: &str) -> String {
        let labels: BTreeMap<String, String> = [("group".to_string(), key.to_string())].into();
        format!("group/{}", super::fingerprint_hex(&labels))
    }
}

/// One group an alert joins: enough to make the group where it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    /// vigil's id of the group ([`Group::id_of`]).
    pub id: String,
    /// Alertmanager's group key.
    pub key: String,
    /// The route's ID.
    pub route_id: String,
    /// The route's receiver.
    pub receiver: String,
    /// The group's labels.
    pub labels: BTreeMap<String, String>,
    /// The route's timing.
    pub timing: Timing,
}

impl GroupRef {
    /// The group of an alert with `labels` on `route`.
    pub fn of(route: &super::config::Route, labels: &BTreeMap<String, String>) -> Self {
        let key = route.group_key(labels);
        Self {
            id: Group::id_of(&format!("{}|{key}", route.id)),
            key,
            route_id: route.id.clone(),
            receiver: route.receiver.clone(),
            labels: route.group_labels(labels),
            timing: route.timing,
        }
    }

    /// A new, empty group.
    pub fn new_group(&self) -> Group {
        Group {
            key: self.key.clone(),
            route_id: self.route_id.clone(),
            receiver: self.receiver.clone(),
            labels: self.labels.clone(),
            timing: self.timing,
            state: GroupState::default(),
        }
    }
}

/// A routed alert: the alert as the groups hold it, and the groups it joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routed {
    /// The alert.
    pub alert: Alert,
    /// Its groups, one per route it stops at.
    pub groups: Vec<GroupRef>,
}

impl Routed {
    /// `alert` routed by the tree under `root`.
    pub fn new(root: &super::config::route::Route, alert: Alert) -> Self {
        let groups = root.matching(&alert.labels).into_iter().map(|r| GroupRef::of(r, &alert.labels)).collect();
        Self { alert, groups }
    }
}

/// Alertmanager's `DedupStage.needsUpdate`: whether an integration told `told` has news.
fn needs_update(
    told: Option<&Told>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    send_resolved: bool,
    repeat: Millis,
    now: Millis,
) -> bool {
    let Some(told) = told else { return !firing.is_empty() };
    if !firing.is_subset(&told.firing) {
        return true;
    }
    // Everything resolved: news only to an integration that was told something fires; alerts
    // that fired and resolved between two flushes were never its business.
    if firing.is_empty() {
        return !told.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&told.resolved) {
        return true;
    }
    told.at < now - repeat
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
