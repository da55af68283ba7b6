//! The alert lifecycle on a manual clock.

use super::*;
use crate::time::{Clock, ManualClock};

const MIN: Millis = 60_000;

struct Run {
    rule: AlertRule,
    state: AlertState,
    clock: ManualClock,
    sent: Vec<(Millis, Notice)>,
}

impl Run {
    fn new(rule: AlertRule) -> Self {
        Self { rule, state: AlertState::default(), clock: ManualClock::new(0), sent: Vec::new() }
    }

    fn observe(&mut self, obs: Observation) {
        let now = self.clock.now();
        let notices = self.state.observe(&self.rule, obs, now, false);
        self.sent.extend(notices.into_iter().map(|n| (now, n)));
    }

    /// Runs one check per minute for `minutes`, ticking whenever the state asks to wake.
    fn checks(&mut self, obs: Observation, minutes: i64) {
        for _ in 0..minutes {
            self.clock.advance(MIN);
            self.observe(obs);
        }
    }

    fn notices(&self) -> Vec<Notice> {
        self.sent.iter().map(|(_, n)| *n).collect()
    }
}

#[test]
fn pages_once_reminds_and_resolves_once() {
    let mut run = Run::new(AlertRule { repeat_interval_ms: Some(30 * MIN), ..AlertRule::default() });
    run.checks(Observation::Failing, 65);
    run.checks(Observation::Passing, 10);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Remind, Notice::Remind, Notice::Resolve]);
    let times: Vec<Millis> = run.sent.iter().map(|(t, _)| t / MIN).collect();
    assert_eq!(times, [1, 31, 61, 66]);
}

#[test]
fn fire_after_n_failures_and_resolve_after_m_successes() {
    let mut run = Run::new(AlertRule { fire_after: 3, resolve_after: 2, ..AlertRule::default() });
    run.checks(Observation::Failing, 2);
    run.checks(Observation::Passing, 1);
    run.checks(Observation::Failing, 2);
    assert!(run.notices().is_empty(), "never 3 in a row");
    run.checks(Observation::Failing, 1);
    assert_eq!(run.notices(), [Notice::Trigger]);
    run.checks(Observation::Passing, 1);
    run.checks(Observation::Failing, 1);
    run.checks(Observation::Passing, 1);
    assert_eq!(run.notices(), [Notice::Trigger], "never 2 passes in a row");
    run.checks(Observation::Passing, 1);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Resolve]);
}

#[test]
fn for_duration_delays_the_page_and_a_pass_cancels_it() {
    let mut run = Run::new(AlertRule { for_ms: 5 * MIN, ..AlertRule::default() });
    run.checks(Observation::Failing, 3);
    run.checks(Observation::Passing, 1);
    run.checks(Observation::Failing, 5);
    assert!(run.notices().is_empty());
    let due = run.state.pending_since.unwrap() + 5 * MIN;
    assert_eq!(run.state.next_wake(&run.rule), Some(due));
    run.clock.set(due);
    let notices = run.state.tick(&run.rule, run.clock.now(), false);
    assert_eq!(notices, [Notice::Trigger], "the timer fires it without waiting for the next check");
}

#[test]
fn acknowledge_stops_reminders_until_it_fires_again() {
    let mut run = Run::new(AlertRule { repeat_interval_ms: Some(10 * MIN), ..AlertRule::default() });
    run.checks(Observation::Failing, 5);
    assert_eq!(run.state.acknowledge(run.clock.now()), [Notice::Acknowledge]);
    assert!(run.state.acknowledge(run.clock.now()).is_empty(), "acknowledging twice sends once");
    run.checks(Observation::Failing, 60);
    assert_eq!(run.notices(), [Notice::Trigger]);
    assert_eq!(run.state.next_wake(&run.rule), None);
    run.checks(Observation::Passing, 1);
    run.checks(Observation::Failing, 1);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Resolve, Notice::Trigger]);
}

#[test]
fn resolve_can_be_turned_off() {
    let mut run = Run::new(AlertRule { send_resolved: false, ..AlertRule::default() });
    run.checks(Observation::Failing, 1);
    run.checks(Observation::Passing, 1);
    run.checks(Observation::Failing, 1);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Trigger]);
}

fn flapping_rule() -> AlertRule {
    AlertRule { flap_threshold: 4, flap_window_ms: 20 * MIN, repeat_interval_ms: None, ..AlertRule::default() }
}

#[test]
fn flapping_sends_no_storm_and_settling_firing_needs_no_new_page() {
    let mut run = Run::new(flapping_rule());
    for _ in 0..30 {
        run.checks(Observation::Failing, 1);
        run.checks(Observation::Passing, 1);
    }
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Resolve, Notice::Trigger], "60 changes, 3 notices");
    assert!(run.state.is_flapping(&run.rule));
    run.checks(Observation::Failing, 25);
    assert!(!run.state.is_flapping(&run.rule));
    assert_eq!(run.notices().len(), 3, "receivers already believe it fires: nothing to send");
}

#[test]
fn flapping_that_settles_passing_sends_one_resolve() {
    let mut run = Run::new(flapping_rule());
    for _ in 0..30 {
        run.checks(Observation::Failing, 1);
        run.checks(Observation::Passing, 1);
    }
    run.checks(Observation::Passing, 25);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Resolve, Notice::Trigger, Notice::Resolve]);
    assert!(!run.state.notified_firing);
}

#[test]
fn silences_hold_back_pages_but_not_the_resolve_of_a_paged_incident() {
    let rule = AlertRule::default();
    let mut state = AlertState::default();
    assert!(state.observe(&rule, Observation::Failing, MIN, true).is_empty(), "silenced: no page");
    assert_eq!(state.tick(&rule, 2 * MIN, false), [Notice::Trigger], "the silence expired: page now");
    assert_eq!(
        state.observe(&rule, Observation::Passing, 3 * MIN, true),
        [Notice::Resolve],
        "resolve is never silenced"
    );
}

#[test]
fn silence_matches_all_labels_until_it_expires() {
    let labels: BTreeMap<String, String> = [("team".into(), "db".into()), ("env".into(), "prod".into())].into();
    let s = Silence::new([("team".into(), "db".into())].into(), 100);
    assert!(s.mutes("disk", &labels, 99));
    assert!(!s.mutes("disk", &labels, 100));
    let other = Silence::new([("team".into(), "web".into())].into(), 100);
    assert!(!other.mutes("disk", &labels, 0));
}

#[test]
fn alertname_matches_the_alerts_name_unless_a_label_says_otherwise() {
    let labels: BTreeMap<String, String> = [("team".into(), "db".into())].into();
    let by_name = Silence::new(Silence::matchers_for("disk", &BTreeMap::new()), 100);
    assert!(by_name.mutes("disk", &labels, 0));
    assert!(!by_name.mutes("api", &labels, 0));
    let both = Silence::new(Silence::matchers_for("disk", &labels), 100);
    assert_eq!(both.matchers.len(), 2);
    assert!(both.mutes("disk", &labels, 0) && !both.mutes("disk", &BTreeMap::new(), 0));
    let own: BTreeMap<String, String> = [("alertname".into(), "custom".into())].into();
    assert!(!by_name.mutes("disk", &own, 0), "an alert's own alertname label wins");
}

#[test]
fn state_roundtrips_through_json() {
    let mut run = Run::new(AlertRule::default());
    run.checks(Observation::Failing, 3);
    let text = serde_json::to_string(&run.state).unwrap();
    assert_eq!(serde_json::from_str::<AlertState>(&text).unwrap(), run.state);
}

#[test]
fn a_reminder_held_back_by_a_silence_moves_the_wake_forward() {
    let rule = AlertRule { repeat_interval_ms: Some(10 * MIN), ..AlertRule::default() };
    let mut state = AlertState::default();
    assert_eq!(state.observe(&rule, Observation::Failing, 0, false), [Notice::Trigger]);
    assert_eq!(state.next_wake(&rule), Some(10 * MIN));
    assert!(state.tick(&rule, 10 * MIN, true).is_empty(), "silenced: no reminder");
    assert_eq!(state.next_wake(&rule), Some(20 * MIN), "the wake moves on instead of spinning");
    assert_eq!(state.tick(&rule, 20 * MIN, false), [Notice::Remind]);
}

#[test]
fn a_flapping_alert_does_not_ask_to_wake_for_a_past_reminder() {
    let rule = AlertRule {
        flap_threshold: 3,
        flap_window_ms: 30 * MIN,
        repeat_interval_ms: Some(MIN),
        ..AlertRule::default()
    };
    let mut state = AlertState::default();
    for t in 0..6 {
        let obs = if t % 2 == 0 { Observation::Failing } else { Observation::Passing };
        state.observe(&rule, obs, t * MIN, false);
    }
    assert!(state.is_flapping(&rule));
    let now = 6 * MIN;
    assert!(state.next_wake(&rule).is_none_or(|w| w > now), "{:?}", state.next_wake(&rule));
}

#[test]
fn a_page_held_back_by_a_silence_is_reported_as_held() {
    let rule = AlertRule::default();
    let mut state = AlertState::default();
    assert!(state.observe(&rule, Observation::Failing, 0, true).is_empty());
    assert!(state.held_back(), "the runtime wakes held keys when the silence ends");
    assert_eq!(state.tick(&rule, MIN, false), [Notice::Trigger]);
    assert!(!state.held_back());
}

#[test]
fn names_match_the_serialized_form() {
    for n in [Notice::Trigger, Notice::Remind, Notice::Resolve, Notice::Acknowledge] {
        assert_eq!(serde_json::to_value(n).unwrap(), serde_json::json!(n.as_str()));
    }
    for c in [Condition::Ok, Condition::Pending, Condition::Firing] {
        assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
    }
}

#[test]
fn an_older_slot_never_overrides_a_newer_one() {
    use Observation::{Failing, Passing};
    let rule = AlertRule::default();
    let mut state = AlertState::default();
    // Slots 1 and 2 fail, 3 passes; slot 2's run finishes last (a late fire after a restart).
    assert_eq!(state.observe_at(&rule, Failing, MIN, 4 * MIN, false), Some(vec![Notice::Trigger]));
    assert_eq!(state.observe_at(&rule, Passing, 3 * MIN, 4 * MIN, false), Some(vec![Notice::Resolve]));
    assert_eq!(state.observe_at(&rule, Failing, 2 * MIN, 4 * MIN, false), None, "stale: no second page");
    assert_eq!(state.condition, Condition::Ok);
    // The same slot twice (two sources of one key) still counts.
    assert_eq!(state.observe_at(&rule, Failing, 3 * MIN, 4 * MIN, false), Some(vec![Notice::Trigger]));
}

fn tiers(run: &mut Run, seen: &[Tier]) -> Vec<Tier> {
    seen.iter()
        .map(|t| {
            run.clock.advance(MIN);
            run.observe(Observation::At(*t));
            run.state.tier
        })
        .collect()
}

#[test]
fn one_alert_moves_through_the_tiers_with_a_notice_per_change() {
    use Tier::*;
    let mut run = Run::new(AlertRule::default());
    assert_eq!(tiers(&mut run, &[Ok, Warning, Critical, Warning, Ok]), [Ok, Warning, Critical, Warning, Ok]);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Change, Notice::Change, Notice::Resolve]);
    assert_eq!(run.state.notified_tier, Ok);
}

#[test]
fn fire_after_and_resolve_after_apply_to_each_step() {
    use Tier::*;
    let rule = AlertRule { fire_after: 2, resolve_after: 2, ..AlertRule::default() };
    let mut run = Run::new(rule);
    // Two above ok agree on at least warning; then two above warning agree on critical.
    assert_eq!(tiers(&mut run, &[Warning, Critical, Critical, Critical]), [Ok, Warning, Warning, Critical]);
    // Two below critical agree on at most warning; then two below warning on ok.
    assert_eq!(tiers(&mut run, &[Warning, Ok, Ok, Ok]), [Critical, Warning, Warning, Ok]);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Change, Notice::Change, Notice::Resolve]);
}

#[test]
fn a_step_up_waits_for_for_and_an_observation_at_the_tier_cancels_it() {
    use Tier::*;
    let rule = AlertRule { for_ms: 3 * MIN, ..AlertRule::default() };
    let mut run = Run::new(rule);
    assert_eq!(tiers(&mut run, &[Warning, Warning, Warning, Warning]), [Ok, Ok, Ok, Warning]);
    assert_eq!(tiers(&mut run, &[Critical, Critical, Warning, Critical]), [Warning, Warning, Warning, Warning]);
    assert_eq!(run.state.condition, Condition::Firing);
    assert_eq!(run.state.pending_tier, Some(Critical));
    assert_eq!(run.notices(), [Notice::Trigger]);
}

#[test]
fn a_step_up_clears_an_acknowledgement_and_a_step_down_keeps_it() {
    use Tier::*;
    let mut run = Run::new(AlertRule::default());
    tiers(&mut run, &[Warning]);
    assert_eq!(run.state.acknowledge(run.clock.now()), [Notice::Acknowledge]);
    tiers(&mut run, &[Critical]);
    assert!(!run.state.acknowledged);
    assert_eq!(run.state.acknowledge(run.clock.now()), [Notice::Acknowledge]);
    tiers(&mut run, &[Warning]);
    assert!(run.state.acknowledged);
    assert_eq!(run.notices(), [Notice::Trigger, Notice::Change, Notice::Change]);
}

#[test]
fn a_silence_holds_back_a_change_until_it_ends() {
    use Tier::*;
    let rule = AlertRule::default();
    let mut state = AlertState::default();
    assert_eq!(state.observe(&rule, Observation::At(Warning), MIN, false), [Notice::Trigger]);
    assert!(state.observe(&rule, Observation::At(Critical), 2 * MIN, true).is_empty());
    assert!(state.held_back());
    assert_eq!(state.observe(&rule, Observation::At(Critical), 3 * MIN, false), [Notice::Change]);
    assert!(!state.held_back());
}

#[test]
fn a_state_stored_before_tiers_goes_on_without_a_notice() {
    let stored = r#"{"condition":"firing","notified_firing":true,"failures":3,"successes":0,
        "pending_since":60000,"firing_since":60000,"last_notified":60000,"acknowledged":false,
        "changes":[60000],"labels":{},"reminder_due":null}"#;
    let mut state: AlertState = serde_json::from_str(stored).unwrap();
    let rule = AlertRule { repeat_interval_ms: None, ..AlertRule::default() };
    assert!(state.observe(&rule, Observation::At(Tier::Warning), 2 * MIN, false).is_empty());
    assert_eq!((state.tier, state.notified_tier), (Tier::Warning, Tier::Warning));
    assert_eq!(state.observe(&rule, Observation::Passing, 3 * MIN, false), [Notice::Resolve]);
}

/// A silence made through Alertmanager's API holds its typed matchers (stored as Alertmanager's
/// JSON); vigil's own are stored as `{"label": "value"}` and read as before.
#[test]
fn silences_are_read_in_either_stored_form() {
    let labels: BTreeMap<String, String> = [("team".into(), "db".into()), ("env".into(), "prod".into())].into();
    let own = Silence::from_stored(r#"{"team": "db"}"#, 100).unwrap();
    assert!(own.mutes("disk", &labels, 0) && own.typed.is_empty());
    let am = Silence::from_stored(
        r#"[{"name": "env", "value": "prod|stage", "isRegex": true}, {"name": "alertname", "value": "api", "isEqual": false}]"#,
        100,
    )
    .unwrap();
    assert!(am.mutes("disk", &labels, 0), "env=~prod|stage, alertname!=api");
    assert!(!am.mutes("api", &labels, 0), "the name is the alertname label");
    assert!(!am.mutes("disk", &labels, 100), "ended");
    let dev: BTreeMap<String, String> = [("env".into(), "dev".into())].into();
    assert!(!am.mutes("disk", &dev, 0));
    assert_eq!(Silence::from_stored("[]", 100), None, "no matcher: no silence");
    assert_eq!(Silence::from_stored(r#"[{"name": "x", "value": "(", "isRegex": true}]"#, 100), None);
    assert_eq!(Silence::from_stored("3", 100), None);
}

#[test]
fn a_tier_parses_from_its_stored_name() {
    for tier in [Tier::Ok, Tier::Warning, Tier::Critical] {
        assert_eq!(Tier::parse(tier.as_str()), Some(tier));
    }
    assert_eq!(Tier::parse("Critical"), None);
    assert_eq!(Tier::parse(""), None);
}
