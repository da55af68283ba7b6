//! The notification groups of the partitions this node owns (Alertmanager's aggregation groups,
//! [`vigil_core::alertmanager::group`]): routed alerts join them, they flush on their own timers,
//! and each flush becomes outbox entries, committed with the group's new state in the alert
//! manager's transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use vigil_connectors::notifiers::{AlertMessage, Link, Severity};
use vigil_core::alert::Notice;
use vigil_core::alert::escalation::{Escalation, Policy};
use vigil_core::alertmanager::config::inhibit::InhibitRule;
use vigil_core::alertmanager::group::{Group, GroupRef, GroupState, Send, Told};
use vigil_core::alertmanager::notification::{default_title, template_data};
use vigil_core::alertmanager::request::severity;
use vigil_core::alertmanager::templates::{context, render_integration, renders};
use vigil_core::alertmanager::{Alert, all_match};
use vigil_core::time::Millis;
use vigil_store::{GroupRow, MemberRow, NewOutboxEntry, partition_of};

use super::telling::Telling;
use crate::routing::Routing;

/// The groups of the owned partitions, with their wake times and what changed since the last
/// commit.
#[derive(Default)]
pub(crate) struct Groups {
    map: HashMap<String, Group>,
    wakes: BTreeSet<(Millis, String)>,
    wake_of: HashMap<String, Millis>,
    /// Groups whose header (timing, what was told) changed...
    dirty: BTreeSet<String>,
    /// ...their alerts that changed...
    dirty_members: HashMap<String, BTreeSet<String>>,
    /// ...the alerts that left (group, row id)...
    members_gone: Vec<(String, i64)>,
    /// ...and the groups that emptied, since the last commit.
    gone: BTreeSet<String>,
    /// The row ids this node hands out to alerts joining a group: `next..end`, reserved in the
    /// store ([`MEMBER_IDS`]).
    ids: std::ops::Range<i64>,
}

/// The sequence of the groups' alert ids in the store.
pub(crate) const MEMBER_IDS: &str = "member_ids";

/// Fewer ids left than this, and the next block is reserved before more alerts join.
const IDS_LOW: i64 = 1 << 20;

impl Groups {
    /// Takes the stored groups of newly owned partitions.
    pub fn load(&mut self, rows: Vec<GroupRow>) {
        for row in rows {
            let Ok(mut group) = serde_json::from_str::<Group>(&row.state) else { continue };
            for m in row.members {
                if let Ok(alert) = serde_json::from_str::<Alert>(&m.alert) {
                    group.state.alerts.insert(m.member_key, Alert { row: m.id, ..alert });
                }
            }
            if let Some(at) = row.next_wake {
                self.set_wake(&row.group_key, Some(at));
            }
            self.map.insert(row.group_key, group);
        }
    }

    /// Whether the ids for joining alerts run low: [`Groups::add_ids`] before more join.
    pub fn ids_low(&self) -> bool {
        self.ids.end - self.ids.start < IDS_LOW
    }

    /// Takes id block `block` (from [`vigil_store::Store::reserve_id_block`]) for joining alerts.
    pub fn add_ids(&mut self, block: i64) {
        self.ids = block << 32..(block + 1) << 32;
    }

    /// Forgets the groups of `parts` (another node owns them now).
    pub fn forget(&mut self, parts: &[u32]) {
        let gone = |id: &str| parts.contains(&partition_of(id));
        self.map.retain(|id, _| !gone(id));
        self.wakes.retain(|(_, id)| !gone(id));
        self.wake_of.retain(|id, _| !gone(id));
        self.dirty.retain(|id| !gone(id));
        self.dirty_members.retain(|id, _| !gone(id));
        self.members_gone.retain(|(id, _)| !gone(id));
        self.gone.retain(|id| !gone(id));
    }

    /// Puts `alert` (key `key`) into group `g`, made if new. The caller made sure ids are left
    /// ([`Groups::ids_low`]).
    pub fn join(&mut self, g: &GroupRef, key: &str, alert: Alert, now: Millis) {
        // A group emptied earlier in this commit and joined again is not deleted with it.
        let revived = self.gone.remove(&g.id);
        let made = !self.map.contains_key(&g.id);
        let group = self.map.entry(g.id.clone()).or_insert_with(|| g.new_group());
        let timing = group.timing;
        let first_flush = group.state.first_flush_at;
        group.state.insert(key, alert, now, &timing);
        if let Some(a) = group.state.alerts.get_mut(key).filter(|a| a.row == 0) {
            assert!(!self.ids.is_empty(), "ids are reserved before alerts join");
            a.row = self.ids.start;
            self.ids.start += 1;
        }
        let next = group.state.next_flush(&timing);
        // The header changes with the group's first alert and an earlier first flush only: a
        // group of thousands does not rewrite it for each alert that joins.
        if made || revived || group.state.first_flush_at != first_flush {
            self.dirty.insert(g.id.clone());
        }
        self.dirty_members.entry(g.id.clone()).or_default().insert(key.to_string());
        // Due now (`group_wait: 0`, or an alert that began long ago): flushed in this very step.
        if next.is_some_and(|at| at <= now) {
            self.set_wake(&g.id, next);
        }
    }

    /// The firing alerts of these groups that some rule of `rules` takes as its source, by
    /// member key.
    pub fn inhibiting(&self, rules: &[InhibitRule], now: Millis) -> Vec<(String, BTreeMap<String, String>)> {
        self.map
            .values()
            .flat_map(|g| g.state.alerts.iter())
            .filter(|(_, a)| !a.resolved_at(now) && rules.iter().any(|r| all_match(&r.source, &a.labels)))
            .map(|(k, a)| (k.clone(), a.labels.clone()))
            .collect()
    }

    /// When the next group is due.
    pub fn next_wake(&self) -> Option<Millis> {
        self.wakes.first().map(|(at, _)| *at)
    }

    /// Flushes the groups due at `now` under `routing`, and moves their escalations on; `muted`
    /// says whether one alert is held (a silence, an inhibition). Returns the notifications.
    pub fn flush_due(
        &mut self,
        now: Millis,
        routing: &Routing,
        tell: Telling,
        muted: impl Fn(&str, &Alert) -> bool,
    ) -> Vec<NewOutboxEntry> {
        let mut out = Vec::new();
        while let Some((at, id)) = self.wakes.first().cloned().filter(|(at, _)| *at <= now) {
            self.wakes.remove(&(at, id.clone()));
            self.wake_of.remove(&id);
            let Some(group) = self.map.get_mut(&id) else { continue };
            let route = routing.routes.get(&group.route_id);
            let timing = route.map_or(group.timing, |r| r.timing);
            group.timing = timing;
            let by_time = route.is_some_and(|r| routing.config.muted_by_time(r, now));
            // A receiver named after an escalation policy also tells the steps reached so far; one
            // named after a notifier tells it too (`vigil import alertmanager` writes receivers so).
            let policy = tell.policy(&group.receiver);
            let mut targets = routing.targets(&group.receiver);
            if tell.is_notifier(&group.receiver) {
                targets.push((group.receiver.clone(), true));
            }
            if let Some(p) = &policy {
                for name in steps_reached(p, group.state.escalation.as_ref()) {
                    if tell.policy(&name).is_none() && !targets.iter().any(|(n, _)| *n == name) {
                        targets.push((name, true));
                    }
                }
            }
            let targets: Vec<(&str, bool)> = targets.iter().map(|(n, r)| (n.as_str(), *r)).collect();
            let told_before = group.state.told.clone();
            let mut sends = Vec::new();
            if group.state.next_flush(&timing).is_some_and(|at| at <= now) {
                let before: Vec<(String, i64)> = group.state.alerts.iter().map(|(k, a)| (k.clone(), a.row)).collect();
                sends = group.state.flush(now, &timing, &targets, by_time, &muted);
                for (key, row) in before.into_iter().filter(|(k, _)| !group.state.alerts.contains_key(k)) {
                    if let Some(changed) = self.dirty_members.get_mut(&id) {
                        changed.remove(&key);
                    }
                    self.members_gone.push((id.clone(), row));
                }
                let s = &mut group.state;
                if let Some(p) = &policy
                    && s.escalation.is_none()
                    && !s.acknowledged
                    && s.told_firing()
                {
                    s.escalation = Some(Escalation::start(&group.receiver, p, now).0);
                }
            }
            if let Some(p) = &policy {
                sends.extend(escalate(&mut group.state, p, now, by_time, tell, &muted));
            }
            for send in sends {
                let notice = notice_of(told_before.get(&send.integration), &send, now);
                let msg = group_message(&id, group, &send, notice, now, tell, Some(routing));
                out.push(entry(&id, &send.integration, notice, &msg, now));
            }
            if group.state.is_empty() {
                self.map.remove(&id);
                self.dirty.remove(&id);
                self.dirty_members.remove(&id);
                self.gone.insert(id);
            } else {
                self.dirty.insert(id);
            }
        }
        out
    }

    /// Acknowledges group `id` at `now`: its escalation stops and every integration told it fires
    /// hears of it. `None` when this node holds no such group; no entries when nothing fires or
    /// it was acknowledged already.
    pub fn acknowledge(&mut self, id: &str, now: Millis, tell: Telling) -> Option<Vec<NewOutboxEntry>> {
        let group = self.map.get_mut(id)?;
        if group.state.acknowledged || !group.state.told_firing() {
            return Some(Vec::new());
        }
        group.state.acknowledged = true;
        if let Some(e) = &mut group.state.escalation {
            e.stop();
        }
        let firing: Vec<Alert> = group.state.alerts.values().filter(|a| !a.resolved_at(now)).cloned().collect();
        let told: Vec<String> =
            group.state.told.iter().filter(|(_, t)| !t.firing.is_empty()).map(|(n, _)| n.clone()).collect();
        let out = told
            .into_iter()
            .map(|integration| {
                let send = Send { integration, alerts: firing.clone(), firing: firing.len() };
                let msg = group_message(id, group, &send, Notice::Acknowledge, now, tell, None);
                entry(id, &send.integration, Notice::Acknowledge, &msg, now)
            })
            .collect();
        self.dirty.insert(id.to_string());
        Some(out)
    }

    /// What to write since the last call: the changed groups (headers, and the alerts that
    /// changed), the alerts that left, and the groups that emptied; schedules each changed group's
    /// next flush.
    pub fn take_changes(&mut self, now: Millis) -> Changes {
        let mut rows = Vec::new();
        for id in std::mem::take(&mut self.dirty) {
            let Some(group) = self.map.get(&id) else { continue };
            let next = group.state.next_wake(&group.timing);
            let state = serde_json::to_string(group).expect("group serializes");
            self.set_wake(&id, next);
            rows.push(GroupRow { group_key: id, next_wake: next, updated_at: now, state, members: Vec::new() });
        }
        let mut members = Vec::new();
        for (id, keys) in std::mem::take(&mut self.dirty_members) {
            let Some(group) = self.map.get(&id) else { continue };
            members.extend(keys.into_iter().filter_map(|k| {
                let alert = group.state.alerts.get(&k)?;
                let json = serde_json::to_string(alert).expect("alert serializes");
                Some(MemberRow { id: alert.row, group_key: id.clone(), member_key: k, alert: json })
            }));
        }
        let gone: Vec<String> = std::mem::take(&mut self.gone).into_iter().collect();
        for id in &gone {
            self.set_wake(id, None);
        }
        Changes { rows, members, members_gone: std::mem::take(&mut self.members_gone), gone }
    }

    /// Puts the flushes due at `now` off until `until` (no configuration is loaded yet to tell
    /// anyone: flushing now would drop resolved alerts untold).
    pub fn postpone_due(&mut self, now: Millis, until: Millis) {
        let due: Vec<String> = self.wakes.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| id.clone()).collect();
        for id in due {
            self.set_wake(&id, Some(until));
        }
    }

    fn set_wake(&mut self, id: &str, at: Option<Millis>) {
        if let Some(old) = self.wake_of.remove(id) {
            self.wakes.remove(&(old, id.to_string()));
        }
        if let Some(at) = at {
            self.wakes.insert((at, id.to_string()));
            self.wake_of.insert(id.to_string(), at);
        }
    }
}

/// What a step's commit writes of the groups.
pub(crate) struct Changes {
    /// Changed groups' headers.
    pub rows: Vec<GroupRow>,
    /// Alerts that joined or changed.
    pub members: Vec<MemberRow>,
    /// Alerts that left their groups: (group, row id).
    pub members_gone: Vec<(String, i64)>,
    /// Groups that emptied.
    pub gone: Vec<String>,
}

/// Which notice a send is, to an integration last told `told`: all resolved is a resolve; the
/// first firing news a trigger; the same firing alerts again a reminder; anything else a change.
fn notice_of(told: Option<&Told>, send: &Send, now: Millis) -> Notice {
    let firing: BTreeSet<String> = send
        .alerts
        .iter()
        .filter(|a| !a.resolved_at(now))
        .map(|a| vigil_core::alertmanager::fingerprint_hex(&a.labels))
        .collect();
    match told {
        _ if send.firing == 0 => Notice::Resolve,
        None => Notice::Trigger,
        Some(t) if t.firing.is_empty() => Notice::Trigger,
        Some(t) if t.firing == firing => Notice::Remind,
        Some(_) => Notice::Change,
    }
}

/// The notifiers of the steps `escalation` has told so far (the first step before it starts; all
/// of them once it started over).
fn steps_reached(policy: &Policy, escalation: Option<&Escalation>) -> Vec<String> {
    let reached = match escalation {
        None => 1,
        Some(e) if e.round > 0 => policy.steps.len(),
        Some(e) => e.step as usize + 1,
    };
    policy.steps.iter().take(reached).flat_map(|s| s.notify.iter().cloned()).collect()
}

/// Moves the escalation of `state` (under `policy`) on at `now`: the sends of a step that came
/// due. An acknowledged group, or one nobody was told fires, stops it; a time interval muting the
/// group puts the step off.
fn escalate(
    state: &mut GroupState,
    policy: &Policy,
    now: Millis,
    by_time: bool,
    tell: Telling,
    muted: impl Fn(&str, &Alert) -> bool,
) -> Vec<Send> {
    let (acknowledged, firing) = (state.acknowledged, state.told_firing());
    let Some(e) = state.escalation.as_mut().filter(|e| e.is_due(now)) else { return Vec::new() };
    if acknowledged || !firing {
        e.stop();
        return Vec::new();
    }
    if by_time {
        e.postpone(now + 60_000);
        return Vec::new();
    }
    let Some(step) = e.advance(policy, now) else { return Vec::new() };
    let targets: Vec<String> = step
        .notify
        .into_iter()
        .filter(|n| tell.policy(n).is_none())
        .filter(|n| step.again || state.told.get(n).is_none_or(|t| t.firing.is_empty()))
        .collect();
    let targets: Vec<(&str, bool)> = targets.iter().map(|n| (n.as_str(), true)).collect();
    state.tell_now(now, &targets, muted)
}

fn entry(id: &str, integration: &str, notice: Notice, msg: &AlertMessage, now: Millis) -> NewOutboxEntry {
    NewOutboxEntry {
        dedup_key: id.to_string(),
        notifier: integration.to_string(),
        notice: notice.as_str().into(),
        message: serde_json::to_string(msg).expect("message serializes"),
        created_at: now,
    }
}

/// The message of a group's notification: Alertmanager's template data as its details (a
/// webhook in Alertmanager's format sends exactly that), its default title as the summary; a
/// page carries a signed link acknowledging the group's incident. With `routing`, the texts of
/// the integration told are rendered from its templates (Alertmanager's defaults or its own).
fn group_message(
    id: &str,
    group: &Group,
    send: &Send,
    notice: Notice,
    now: Millis,
    tell: Telling,
    routing: Option<&Routing>,
) -> AlertMessage {
    let data = template_data(group, &send.alerts, now, tell.external_url);
    let rendered = routing
        .and_then(|r| Some((r, r.integration(&send.integration)?)))
        .filter(|(_, i)| renders(&i.kind))
        .map(|(r, i)| render_integration(&r.templates, &i.kind, &i.config, &context(&data)))
        .unwrap_or_default();
    let firing: Vec<&Alert> = send.alerts.iter().filter(|a| !a.resolved_at(now)).collect();
    let pool: Vec<&Alert> = if firing.is_empty() { send.alerts.iter().collect() } else { firing };
    let worst = pool.iter().map(|a| rank(severity(&a.labels))).max_by_key(|(r, _)| *r);
    let labels = serde_json::from_value(data["commonLabels"].clone()).unwrap_or_default();
    AlertMessage {
        notice,
        dedup_key: id.to_string(),
        name: group.labels.get("alertname").cloned().unwrap_or_else(|| group.key.clone()),
        severity: worst.map_or(Severity::Error, |(_, s)| s),
        summary: default_title(&data),
        details: data,
        labels,
        source: "vigil/alertmanager".into(),
        firing_since: send.alerts.iter().map(|a| a.starts_at).min().unwrap_or(now),
        at: now,
        links: send
            .alerts
            .iter()
            .find(|a| !a.generator_url.is_empty())
            .map(|a| Link { href: a.generator_url.clone(), text: "Source".into() })
            .into_iter()
            .chain(
                tell.ack
                    .zip(group.state.anchor)
                    .filter(|_| matches!(notice, Notice::Trigger | Notice::Change | Notice::Remind))
                    .map(|(links, since)| Link { href: links.link(id, since, now), text: "Acknowledge".into() }),
            )
            .collect(),
        test: false,
        rendered,
    }
}

fn rank(s: &str) -> (u8, Severity) {
    match s {
        "critical" => (3, Severity::Critical),
        "warning" => (1, Severity::Warning),
        "info" => (0, Severity::Info),
        _ => (2, Severity::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_ref() -> GroupRef {
        GroupRef {
            id: "group/1".into(),
            key: "{}:{alertname=\"Down\"}".into(),
            route_id: "{}".into(),
            receiver: "hook".into(),
            labels: [("alertname".to_string(), "Down".to_string())].into(),
            timing: Default::default(),
        }
    }

    fn alert(instance: &str) -> Alert {
        let labels = [("alertname", "Down"), ("instance", instance)].map(|(k, v)| (k.to_string(), v.to_string()));
        Alert {
            labels: labels.into(),
            annotations: Default::default(),
            starts_at: 1_000,
            ends_at: 10_000_000,
            generator_url: String::new(),
            updated_at: 1_000,
            timeout: false,
            row: 0,
        }
    }

    #[test]
    fn joins_write_the_header_once_and_a_revived_group_is_not_deleted() {
        let mut groups = Groups::default();
        groups.add_ids(1);
        let g = group_ref();
        groups.join(&g, "a", alert("a"), 1_000);
        let first = groups.take_changes(1_000);
        assert_eq!((first.rows.len(), first.members.len()), (1, 1), "a new group's header and its alert");
        assert_eq!(first.members[0].id, 1 << 32, "the first id of block 1");
        groups.join(&g, "b", alert("b"), 1_001);
        let second = groups.take_changes(1_001);
        assert_eq!((second.rows.len(), second.members.len()), (0, 1), "another alert alone: no header");

        // Emptied by a flush (as `flush_due` leaves it), then joined again before the commit.
        groups.map.remove(&g.id);
        groups.gone.insert(g.id.clone());
        groups.join(&g, "c", alert("c"), 1_002);
        let third = groups.take_changes(1_002);
        assert!(third.gone.is_empty(), "the group is written, not deleted");
        assert_eq!(third.rows.len(), 1);
        assert_eq!(third.members[0].id, (1 << 32) + 2, "ids go on rising");
    }
}
