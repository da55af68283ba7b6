//! The alert lifecycle for one dedup key, as a pure state machine tested on a manual clock.
//!
//! vigil tracks two things per key: the alert's *actual* condition (computed from observations
//! with `for`, fire-after-N and resolve-after-M thresholds) and what receivers were last *told*.
//! Every step reconciles the two and emits [`Notice`]s for the outbox:
//!
//! Observations come in tiers: ok, warning and critical. One key has one alert whose tier moves
//! ok → warning → critical → warning → ok; `fireAfter` and `for` apply to each step up,
//! `resolveAfter` to each step down, and every step that receivers do not know yet is a notice:
//!
//! - a `Trigger` when the condition starts firing and receivers don't know yet;
//! - a `Change` when a firing alert moves to another tier (warning ↔ critical);
//! - a `Remind` every `repeat_interval` while it fires, unless acknowledged;
//! - a `Resolve` when it stops firing and receivers were told it fired (on by default);
//! - nothing while the key is *flapping* (too many changes within a window): once it has been
//!   stable for a whole window, one notice brings receivers to the current state, so a flapping
//!   check costs at most one page and one resolve, never a storm;
//! - silences hold back triggers and reminders, but never the resolve of an incident that paged.
//!
//! The state is plain data, stored with the dedup key; the runtime persists it in the same
//! transaction as the notices, and asks [`AlertState::next_wake`] when to call [`AlertState::tick`].

pub mod escalation;
mod request;
pub mod scope;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::time::Millis;

pub use request::{AlertRequest, default_key, rule_from, rule_problems};

/// How an alert turns observations into firing and resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    /// How long the condition must hold after the thresholds are met before it fires (`for`).
    pub for_ms: Millis,
    /// Consecutive failing observations needed to fire.
    pub fire_after: u32,
    /// Consecutive passing observations needed to resolve.
    pub resolve_after: u32,
    /// Reminder period while firing; `None` sends no reminders.
    pub repeat_interval_ms: Option<Millis>,
    /// Whether to notify when the alert resolves.
    pub send_resolved: bool,
    /// Flap detection: this many changes of condition within `flap_window_ms` mean flapping.
    pub flap_threshold: u32,
    /// The flap detection window.
    pub flap_window_ms: Millis,
}

impl Default for AlertRule {
    fn default() -> Self {
        Self {
            for_ms: 0,
            fire_after: 1,
            resolve_after: 1,
            repeat_interval_ms: Some(4 * 3_600_000),
            send_resolved: true,
            flap_threshold: 6,
            flap_window_ms: 30 * 60_000,
        }
    }
}

/// How bad things are, as observed or as the alert fires. Ordered: `Ok < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Nothing wrong.
    #[default]
    Ok,
    /// Worth a look.
    Warning,
    /// Worth a page.
    Critical,
}

impl Tier {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Ok => "ok",
            Tier::Warning => "warning",
            Tier::Critical => "critical",
        }
    }

    /// The tier named `name` (its [`Tier::as_str`]), as stored with a monitor's latest reading.
    pub fn parse(name: &str) -> Option<Tier> {
        [Tier::Ok, Tier::Warning, Tier::Critical].into_iter().find(|t| t.as_str() == name)
    }

    /// The tier of a firing observation with an ALERT task's `severity` (`warning` and `info`
    /// are warnings; `critical` and `error` are critical).
    pub fn of_severity(severity: &str) -> Tier {
        match severity {
            "warning" | "info" => Tier::Warning,
            _ => Tier::Critical,
        }
    }
}

/// What one check run reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// The problem is there (the critical tier).
    Failing,
    /// The problem is not there.
    Passing,
    /// A tiered observation.
    At(Tier),
}

impl Observation {
    /// The tier observed.
    pub fn tier(self) -> Tier {
        match self {
            Observation::Failing => Tier::Critical,
            Observation::Passing => Tier::Ok,
            Observation::At(tier) => tier,
        }
    }
}

/// A notification to put in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The alert started firing.
    Trigger,
    /// It is still firing.
    Remind,
    /// It still fires, at another tier (warning ↔ critical).
    Change,
    /// It stopped firing.
    Resolve,
    /// An operator acknowledged it.
    Acknowledge,
}

impl Notice {
    /// The lower-case name, as stored and as notifier payloads show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Trigger => "trigger",
            Notice::Remind => "remind",
            Notice::Change => "change",
            Notice::Resolve => "resolve",
            Notice::Acknowledge => "acknowledge",
        }
    }
}

/// The condition computed from observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Nothing wrong.
    #[default]
    Ok,
    /// Thresholds met, waiting for `for` to pass.
    Pending,
    /// Firing.
    Firing,
}

impl Condition {
    /// The lower-case name, as stored and listed.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Ok => "ok",
            Condition::Pending => "pending",
            Condition::Firing => "firing",
        }
    }
}

/// Everything vigil remembers about one dedup key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertState {
    /// The computed condition.
    pub condition: Condition,
    /// Whether receivers were told it fires (a trigger was sent and no resolve since).
    pub notified_firing: bool,
    /// Consecutive failing observations.
    pub failures: u32,
    /// Consecutive passing observations.
    pub successes: u32,
    /// When the thresholds were met (start of `for`).
    pub pending_since: Option<Millis>,
    /// When the condition last started firing.
    pub firing_since: Option<Millis>,
    /// When receivers were last notified about this key.
    pub last_notified: Option<Millis>,
    /// Acknowledged since it last triggered.
    pub acknowledged: bool,
    /// Times the condition changed between firing and not firing, within the flap window.
    pub changes: VecDeque<Millis>,
    /// Labels, as states written before the request carried them held them. Not written any
    /// more: silences match the request's labels (a copy per alert cost memory and bytes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When the next reminder is due. It moves on even when a reminder is held back by a silence,
    /// so a silenced alert waits for the next period instead of retrying at once.
    #[serde(default)]
    pub reminder_due: Option<Millis>,
    /// The newest observation time applied ([`AlertRequest::observed_at`]).
    #[serde(default)]
    pub last_observed_at: Option<Millis>,
    /// The tier the alert fires at (`Ok` while it does not fire).
    #[serde(default)]
    pub tier: Tier,
    /// The tier receivers were last told (`Ok` when they know of nothing firing).
    #[serde(default)]
    pub notified_tier: Tier,
    /// The tier a pending step up goes to once `for` has passed.
    #[serde(default)]
    pub pending_tier: Option<Tier>,
    /// Over the current run of observations above (below) `tier`: the lowest (highest) tier seen,
    /// which is where the alert steps to when the run is long enough.
    #[serde(default)]
    pub run_bound: Option<Tier>,
    /// When the last failing observation stops holding ([`AlertRequest::expires_at`]): at that
    /// time, with no newer observation, a passing one is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Millis>,
}

impl AlertState {
    /// Whether a passing observation would change nothing here but the counts of passes and the
    /// time of the last observation: nothing fires, waits for `for`, counts failures or is
    /// believed firing by a receiver.
    pub fn is_quiet(&self) -> bool {
        self.condition == Condition::Ok
            && self.tier == Tier::Ok
            && self.notified_tier == Tier::Ok
            && !self.notified_firing
            && self.failures == 0
            && self.pending_tier.is_none()
    }

    /// Whether an observation about time `at` is older than one already applied. Late runs (the
    /// catch-up fires after a restart, a slow check) can finish out of order; the newest
    /// observation wins, as a Prometheus rule reads only the latest sample.
    pub fn is_stale(&self, at: Millis) -> bool {
        self.last_observed_at.is_some_and(|last| at < last)
    }

    /// Applies an observation about time `at` (see [`AlertState::observe`]), unless it is stale:
    /// then nothing changes and `None` is returned.
    pub fn observe_at(
        &mut self,
        rule: &AlertRule,
        obs: Observation,
        at: Millis,
        now: Millis,
        silenced: bool,
    ) -> Option<Vec<Notice>> {
        if self.is_stale(at) {
            return None;
        }
        self.last_observed_at = Some(at);
        Some(self.observe(rule, obs, now, silenced))
    }

    /// Applies one observation at `now`; `silenced` says whether an active silence matches.
    ///
    /// `failures` counts the current run of observations above the firing tier and `successes`
    /// the run below it; a run of `fireAfter` steps up (after `for`), a run of `resolveAfter`
    /// steps down, to the tier the whole run agrees on.
    pub fn observe(&mut self, rule: &AlertRule, obs: Observation, now: Millis, silenced: bool) -> Vec<Notice> {
        let seen = obs.tier();
        self.upgrade(seen);
        if seen > self.tier {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
            let bound = if self.failures == 1 { seen } else { self.run_bound.map_or(seen, |b| b.min(seen)) };
            self.run_bound = Some(bound);
            if self.failures >= rule.fire_after.max(1) {
                if self.pending_tier.is_none() {
                    self.pending_since = Some(now);
                }
                self.pending_tier = Some(bound);
            }
        } else if seen < self.tier {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
            self.clear_pending();
            let bound = if self.successes == 1 { seen } else { self.run_bound.map_or(seen, |b| b.max(seen)) };
            self.run_bound = Some(bound);
            if self.successes >= rule.resolve_after.max(1) {
                self.step_to(bound, now);
            }
        } else {
            self.failures = 0;
            self.successes = 0;
            self.run_bound = None;
            self.clear_pending();
        }
        self.sync_condition();
        self.tick(rule, now, silenced)
    }

    /// States stored before tiers fire without one: they fire at the tier first observed (or
    /// critical), and receivers are taken to know it, so the upgrade sends nothing.
    fn upgrade(&mut self, seen: Tier) {
        if self.condition == Condition::Firing && self.tier == Tier::Ok {
            self.tier = if seen > Tier::Ok { seen } else { Tier::Critical };
        }
        if self.notified_firing && self.notified_tier == Tier::Ok {
            self.notified_tier = self.tier.max(Tier::Warning);
        }
        if self.condition == Condition::Pending && self.pending_tier.is_none() {
            self.pending_tier = Some(Tier::Critical);
        }
    }

    fn clear_pending(&mut self) {
        self.pending_tier = None;
        self.pending_since = None;
    }

    /// Moves the firing tier to `tier`; a move across ok counts as a change for flap detection.
    fn step_to(&mut self, tier: Tier, now: Millis) {
        if tier == self.tier {
            return;
        }
        if self.tier == Tier::Ok {
            self.firing_since = Some(now);
        }
        if (self.tier == Tier::Ok) != (tier == Tier::Ok) {
            self.changes.push_back(now);
        }
        self.tier = tier;
        self.failures = 0;
        self.successes = 0;
        self.run_bound = None;
        self.clear_pending();
    }

    fn sync_condition(&mut self) {
        self.condition = if self.tier > Tier::Ok {
            Condition::Firing
        } else if self.pending_tier.is_some() {
            Condition::Pending
        } else {
            Condition::Ok
        };
    }

    /// Advances time: promotes a pending alert once `for` has passed, and reconciles what
    /// receivers know with the condition (triggers, changes, reminders, resolves).
    pub fn tick(&mut self, rule: &AlertRule, now: Millis, silenced: bool) -> Vec<Notice> {
        if self.expires_at.is_some_and(|end| now >= end) {
            self.expires_at = None;
            return self.observe(rule, Observation::Passing, now, silenced);
        }
        self.upgrade(Tier::Ok);
        if let Some(target) = self.pending_tier
            && self.pending_since.is_some_and(|s| now - s >= rule.for_ms)
        {
            self.step_to(target, now);
        }
        self.sync_condition();
        while self.changes.front().is_some_and(|t| now - *t > rule.flap_window_ms) {
            self.changes.pop_front();
        }
        if self.is_flapping(rule) {
            return Vec::new();
        }
        let firing = self.condition == Condition::Firing;
        let mut out = Vec::new();
        if firing && !self.notified_firing {
            if !silenced {
                self.notified_firing = true;
                self.notified_tier = self.tier;
                self.acknowledged = false;
                self.last_notified = Some(now);
                self.reminder_due = rule.repeat_interval_ms.map(|every| now + every);
                out.push(Notice::Trigger);
            }
        } else if !firing && self.notified_firing {
            self.notified_firing = false;
            self.notified_tier = Tier::Ok;
            self.acknowledged = false;
            self.reminder_due = None;
            if rule.send_resolved {
                self.last_notified = Some(now);
                out.push(Notice::Resolve);
            }
        } else if firing && self.tier != self.notified_tier {
            // A step up is news even to whoever acknowledged the lower tier; a step down keeps
            // the acknowledgement. A silence holds it back as it holds back a trigger.
            if !silenced {
                if self.tier > self.notified_tier {
                    self.acknowledged = false;
                }
                self.notified_tier = self.tier;
                self.last_notified = Some(now);
                self.reminder_due = rule.repeat_interval_ms.map(|every| now + every);
                out.push(Notice::Change);
            }
        } else if firing && self.reminder_due.is_some_and(|due| now >= due) && !self.acknowledged {
            self.reminder_due = rule.repeat_interval_ms.map(|every| now + every);
            if !silenced {
                self.last_notified = Some(now);
                out.push(Notice::Remind);
            }
        }
        out
    }

    /// Whether a page is being held back: the alert fires but receivers were not told (a silence).
    pub fn held_back(&self) -> bool {
        self.condition == Condition::Firing && (!self.notified_firing || self.tier != self.notified_tier)
    }

    /// Acknowledges the alert: reminders stop until it resolves and fires again.
    pub fn acknowledge(&mut self, now: Millis) -> Vec<Notice> {
        if !self.notified_firing || self.acknowledged {
            return Vec::new();
        }
        self.acknowledged = true;
        self.last_notified = Some(now);
        vec![Notice::Acknowledge]
    }

    /// Whether the condition changed too often within the flap window.
    pub fn is_flapping(&self, rule: &AlertRule) -> bool {
        rule.flap_threshold > 0 && self.changes.len() as u32 >= rule.flap_threshold
    }

    /// Records when the observation just applied stops holding (`None`: until another says
    /// otherwise); a passing observation has nothing to expire.
    pub fn hold_until(&mut self, obs: Observation, until: Option<Millis>) {
        self.expires_at = until.filter(|_| obs != Observation::Passing);
    }

    /// When [`AlertState::tick`] should run next: `for` passing, a reminder coming due, the
    /// flap window letting go of its oldest change, or the last observation expiring. `None` when
    /// nothing is scheduled.
    pub fn next_wake(&self, rule: &AlertRule) -> Option<Millis> {
        let pending = self.pending_tier.and(self.pending_since).map(|s| s + rule.for_ms);
        let flapping = self.is_flapping(rule);
        let reminder = self
            .reminder_due
            .filter(|_| self.condition == Condition::Firing && self.notified_firing && !self.acknowledged && !flapping);
        let flap = flapping.then(|| self.changes.front().map(|t| t + rule.flap_window_ms + 1)).flatten();
        [pending, reminder, flap, self.expires_at].into_iter().flatten().min()
    }
}

/// A silence: label matchers and an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Every `label = value` must match.
    pub matchers: BTreeMap<String, String>,
    /// Active until this time.
    pub ends_at: Millis,
    /// Active from this time (0: from when it was made).
    #[serde(default)]
    pub starts_at: Millis,
    /// Alertmanager's matchers (`=`, `!=`, `=~`, `!~`), which must hold too: a silence made
    /// through Alertmanager's API.
    #[serde(default, skip)]
    pub typed: Vec<crate::alertmanager::Matcher>,
}

impl Silence {
    /// A silence of equality matchers.
    pub fn new(matchers: BTreeMap<String, String>, ends_at: Millis) -> Self {
        Self { matchers, ends_at, starts_at: 0, typed: Vec::new() }
    }

    /// A silence as stored: its matchers' JSON is vigil's `{"label": "value"}` or Alertmanager's
    /// `[{"name", "value", "isRegex", "isEqual"}]`; `None` when it reads as neither.
    pub fn from_stored(matchers: &str, ends_at: Millis) -> Option<Self> {
        match serde_json::from_str::<serde_json::Value>(matchers).ok()? {
            serde_json::Value::Object(map) => {
                let equal = map.into_iter().map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect::<Option<_>>()?;
                Some(Self::new(equal, ends_at))
            }
            list @ serde_json::Value::Array(_) => {
                let typed = crate::alertmanager::matchers_from_json(&list).ok()?;
                Some(Self { matchers: BTreeMap::new(), ends_at, starts_at: 0, typed })
            }
            _ => None,
        }
    }

    /// The same silence, starting at `at` rather than when it was made.
    pub fn starting(mut self, at: Option<Millis>) -> Self {
        self.starts_at = at.unwrap_or(0);
        self
    }

    /// Whether this silence mutes alert `name` with `labels` at `now`. Every matcher must hold;
    /// `alertname` matches the alert's name unless the alert has a label of that name (as in
    /// Alertmanager, where every alert carries it).
    pub fn mutes(&self, name: &str, labels: &BTreeMap<String, String>, now: Millis) -> bool {
        self.starts_at <= now
            && now < self.ends_at
            && self.matchers.iter().all(|(k, v)| match labels.get(k) {
                Some(have) => have == v,
                None => k == ALERT_NAME_LABEL && v == name,
            })
            && (self.typed.is_empty() || {
                let mut named = labels.clone();
                named.entry(ALERT_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
                crate::alertmanager::all_match(&self.typed, &named)
            })
    }
}

/// The label a silence matches an alert's name with.
pub const ALERT_NAME_LABEL: &str = "alertname";

impl Silence {
    /// The matchers that silence alert `name` with `labels`: its labels and its name, as the UI
    /// offers them.
    pub fn matchers_for(name: &str, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut m = labels.clone();
        m.entry(ALERT_NAME_LABEL.to_string()).or_insert_with(|| name.to_string());
        m
    }
}

#[cfg(test)]
mod tests;
