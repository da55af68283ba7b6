use super::*;

const S: Millis = 1_000;

fn alert(name: &str, starts: Millis, ends: Millis) -> Alert {
    Alert {
        labels: [("alertname".to_string(), name.to_string())].into(),
        annotations: BTreeMap::new(),
        starts_at: starts,
        ends_at: ends,
        generator_url: String::new(),
        updated_at: starts,
        timeout: false,
        row: 0,
    }
}

fn names(sends: &[Send]) -> Vec<(String, Vec<String>)> {
    sends
        .iter()
        .map(|s| (s.integration.clone(), s.alerts.iter().map(|a| a.labels["alertname"].clone()).collect()))
        .collect()
}

const T: Timing = Timing { group_wait: 30 * S, group_interval: 300 * S, repeat_interval: 3_600 * S };

#[test]
fn a_group_waits_then_flushes_every_interval_with_news_only() {
    let mut g = GroupState::default();
    g.insert("a", alert("A", 1_000 * S, 0), 1_000 * S, &T);
    g.insert("b", alert("B", 1_010 * S, 0), 1_010 * S, &T);
    assert_eq!(g.next_flush(&T), Some(1_030 * S), "group_wait from the first alert");
    let sends = g.flush(1_030 * S, &T, &[("hook", true)], false, |_, _| false);
    assert_eq!(names(&sends), [("hook".to_string(), vec!["A".to_string(), "B".to_string()])]);
    assert_eq!(g.next_flush(&T), Some(1_330 * S));
    assert!(g.flush(1_330 * S, &T, &[("hook", true)], false, |_, _| false).is_empty(), "no news");
    // B resolves: the next flush tells it, then B leaves the group.
    g.insert("b", alert("B", 1_010 * S, 1_400 * S), 1_400 * S, &T);
    let sends = g.flush(1_630 * S, &T, &[("hook", true), ("mail", false)], false, |_, _| false);
    assert_eq!(
        names(&sends),
        [("hook".to_string(), vec!["A".to_string(), "B".to_string()]), ("mail".to_string(), vec!["A".to_string()])],
        "mail was never told: A is news to it"
    );
    assert_eq!(g.alerts.len(), 1);
    // An hour after the last notification, the same again.
    assert!(
        g.flush(5_230 * S, &T, &[("hook", true)], false, |_, _| false).is_empty(),
        "exactly an hour is not past it"
    );
    assert_eq!(names(&g.flush(5_530 * S, &T, &[("hook", true)], false, |_, _| false)).len(), 1);
}

#[test]
fn an_acknowledged_group_gets_no_reminders_but_still_hears_news() {
    let mut g = GroupState::default();
    let hook = [("hook", true)];
    g.insert("a", alert("A", 1_000 * S, 0), 1_000 * S, &T);
    assert_eq!(names(&g.flush(1_030 * S, &T, &hook, false, |_, _| false)).len(), 1);
    g.acknowledged = true;
    assert!(g.flush(5_000 * S, &T, &hook, false, |_, _| false).is_empty(), "no reminder an hour on");
    assert!(g.flush(9_000 * S, &T, &hook, false, |_, _| false).is_empty(), "nor two");
    g.insert("b", alert("B", 9_100 * S, 0), 9_100 * S, &T);
    let sends = g.flush(9_300 * S, &T, &hook, false, |_, _| false);
    assert_eq!(names(&sends), [("hook".to_string(), vec!["A".to_string(), "B".to_string()])], "a new alert is news");
    g.insert("a", alert("A", 1_000 * S, 9_400 * S), 9_400 * S, &T);
    g.insert("b", alert("B", 9_100 * S, 9_400 * S), 9_400 * S, &T);
    assert_eq!(names(&g.flush(9_600 * S, &T, &hook, false, |_, _| false)).len(), 1, "the resolve is news");
    assert!(!g.acknowledged, "over: the next incident is nobody's yet");
}

#[test]
fn an_old_alert_skips_the_wait_and_a_silenced_page_still_resolves() {
    let mut g = GroupState::default();
    g.insert("a", alert("A", 0, 0), 1_000 * S, &T);
    assert_eq!(g.next_flush(&T), Some(1_000 * S), "it began long ago");
    assert_eq!(g.flush(1_000 * S, &T, &[("hook", true)], false, |_, _| false).len(), 1);
    g.insert("a", alert("A", 0, 1_100 * S), 1_100 * S, &T);
    let sends = g.flush(1_300 * S, &T, &[("hook", true)], false, |_, _| true);
    assert_eq!(names(&sends), [("hook".to_string(), vec!["A".to_string()])], "told it fired: told it resolved");
    assert!(g.is_empty());
    assert_eq!(g, GroupState::default(), "an empty group is gone");
}

#[test]
fn a_time_mute_holds_everything_and_keeps_resolves_for_after() {
    let mut g = GroupState::default();
    g.insert("a", alert("A", 0, 0), 1_000 * S, &T);
    g.flush(1_000 * S, &T, &[("hook", true)], false, |_, _| false);
    g.insert("a", alert("A", 0, 1_100 * S), 1_100 * S, &T);
    g.insert("b", alert("B", 1_150 * S, 1_200 * S), 1_150 * S, &T);
    assert!(g.flush(1_300 * S, &T, &[("hook", true)], true, |_, _| false).is_empty());
    let sends = g.flush(1_600 * S, &T, &[("hook", true)], false, |_, _| false);
    assert_eq!(
        names(&sends),
        [("hook".to_string(), vec!["A".to_string()])],
        "the page told before the window is closed; B, which came and went within it, is not news"
    );
}

#[test]
fn a_group_whose_alerts_are_all_muted_forgets_nothing_it_told() {
    let mut g = GroupState::default();
    g.insert("a", alert("A", 0, 0), 1_000 * S, &T);
    assert_eq!(g.flush(1_000 * S, &T, &[("hook", true)], false, |_, _| false).len(), 1);
    assert!(g.flush(1_300 * S, &T, &[("hook", true)], false, |_, _| true).is_empty(), "inhibited");
    assert!(
        g.flush(1_600 * S, &T, &[("hook", true)], false, |_, _| false).is_empty(),
        "not news when the inhibition ends"
    );
}
