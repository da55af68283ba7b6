//! Alertmanager's pipeline end to end, in memory on a manual clock: posted alerts merged by
//! label set, routed, grouped, muted by silences, inhibition and time intervals, and flushed to
//! integrations. It is how Alertmanager's own acceptance tests run against vigil's reading of
//! its semantics, step by exact step; the durable engine runs the same parts (routes,
//! [`GroupState`], inhibition, time intervals) over stored state.

use std::collections::BTreeMap;

use super::config::{AmConfig, Integration, Route, inhibit::InhibitIndex};
use super::group::{GroupState, overlaps};
use super::{Alert, fingerprint_hex};
use crate::alert::{ALERT_NAME_LABEL, Silence};
use crate::time::Millis;

/// A notification for one integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The receiver.
    pub receiver: String,
    /// Its integration.
    pub integration: Integration,
    /// The group's key.
    pub group_key: String,
    /// The alerts, firing first.
    pub alerts: Vec<Alert>,
}

/// The pipeline.
#[derive(Debug, Clone, Default)]
pub struct Dispatcher {
    config: AmConfig,
    routes: BTreeMap<String, Route>,
    alerts: BTreeMap<String, Alert>,
    groups: BTreeMap<(String, String), GroupState>,
    silences: Vec<Silence>,
}

impl Dispatcher {
    /// A pipeline for `config`, with nothing in it.
    pub fn new(config: AmConfig) -> Self {
        let routes = config.route.walk().into_iter().map(|r| (r.id.clone(), r.clone())).collect();
        Self { config, routes, ..Self::default() }
    }

    /// Takes posted alerts at `now`: each merged with what is known of its label set when their
    /// times overlap (as Alertmanager's alert store does), then put in its groups.
    pub fn push(&mut self, alerts: Vec<Alert>, now: Millis) {
        for alert in alerts {
            let key = fingerprint_hex(&alert.labels);
            // The store keeps one merged view for inhibition; each group merges its own copy alike.
            let merged = match self.alerts.get(&key) {
                Some(old) if overlaps(old, &alert) => old.merge(&alert, now),
                _ => alert.clone(),
            };
            self.alerts.insert(key.clone(), merged);
            for route in self.config.route.matching(&alert.labels) {
                let group = (route.id.clone(), route.group_key(&alert.labels));
                self.groups.entry(group).or_default().insert(&key, alert.clone(), now, &route.timing);
            }
        }
    }

    /// Adds a silence.
    pub fn silence(&mut self, silence: Silence) -> usize {
        self.silences.push(silence);
        self.silences.len() - 1
    }

    /// Ends silence `id` at `now`.
    pub fn expire_silence(&mut self, id: usize, now: Millis) {
        if let Some(s) = self.silences.get_mut(id) {
            s.ends_at = s.ends_at.min(now);
        }
    }

    /// When the next flush is due.
    pub fn next_wake(&self) -> Option<Millis> {
        self.groups.iter().filter_map(|((route, _), g)| g.next_flush(&self.routes[route].timing)).min()
    }

    /// Flushes the groups due at `now`.
    pub fn tick(&mut self, now: Millis) -> Vec<Notification> {
        let firing: Vec<(String, Alert)> =
            self.alerts.iter().filter(|(_, a)| !a.resolved_at(now)).map(|(k, a)| (k.clone(), a.clone())).collect();
        let inhibitors = InhibitIndex::new(&self.config.inhibit_rules, firing.iter().map(|(k, a)| (k, &a.labels)));
        let muted = |_: &str, alert: &Alert| {
            let name = alert.labels.get(ALERT_NAME_LABEL).map_or("", |n| n.as_str());
            self.silences.iter().any(|s| s.mutes(name, &alert.labels, now))
                || inhibitors.inhibited_by(&alert.labels).is_some()
        };
        let mut out = Vec::new();
        let mut emptied = Vec::new();
        for ((route_id, group_key), group) in self.groups.iter_mut() {
            let route = &self.routes[route_id];
            if group.next_flush(&route.timing).is_none_or(|at| at > now) {
                continue;
            }
            let Some(receiver) = self.config.receiver(&route.receiver) else { continue };
            let names: Vec<(String, bool)> =
                receiver.integrations.iter().map(|i| (i.name(&receiver.name), i.send_resolved)).collect();
            let targets: Vec<(&str, bool)> = names.iter().map(|(n, r)| (n.as_str(), *r)).collect();
            let by_time = self.config.muted_by_time(route, now);
            for send in group.flush(now, &route.timing, &targets, by_time, muted) {
                let integration = receiver.integrations.iter().find(|i| i.name(&receiver.name) == send.integration);
                out.push(Notification {
                    receiver: receiver.name.clone(),
                    integration: integration.expect("a target of this receiver").clone(),
                    group_key: group_key.clone(),
                    alerts: send.alerts,
                });
            }
            if group.is_empty() {
                emptied.push((route_id.clone(), group_key.clone()));
            }
        }
        for key in emptied {
            self.groups.remove(&key);
        }
        out
    }
}
