use serde_json::json;

use super::*;
use crate::time::{Clock, ManualClock};

fn schedule(cron: &str, zone: &str) -> ScheduleDef {
    let doc = json!({"name": "s", "cronExpression": cron, "zoneId": zone, "startWorkflowRequest": {"name": "w"}});
    let (def, problems) = ScheduleDef::build(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    def.expect("valid schedule")
}

fn at(text: &str) -> Millis {
    text.parse::<Timestamp>().unwrap().as_millisecond()
}

/// Drives the schedule like the runtime does, on a manual clock ticking every `tick_ms`, and returns
/// every fire time as local wall-clock text.
fn fires_between(s: &ScheduleDef, from: &str, to: &str, tick_ms: i64) -> Vec<String> {
    let clock = ManualClock::new(at(from));
    let mut next = s.next_after(clock.now());
    let mut fired = Vec::new();
    while clock.now() < at(to) {
        clock.advance(tick_ms);
        let due = s.take_due(next, clock.now());
        assert_eq!(due.skipped, 0);
        fired.extend(due.fire);
        next = due.next;
    }
    fired
        .into_iter()
        .map(|ms| Timestamp::from_millisecond(ms).unwrap().to_zoned(s.zone.clone()).strftime("%F %T %Z").to_string())
        .collect()
}

#[test]
fn new_york_spring_forward_runs_0230_job_once() {
    let s = schedule("0 30 2 * * *", "America/New_York");
    let fires = fires_between(&s, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z", 60_000);
    assert_eq!(fires.len(), 2, "{fires:?}");
    assert!(fires[0].starts_with("2026-03-08 03:"), "{fires:?}");
    assert_eq!(fires[1], "2026-03-09 02:30:00 EDT");
}

#[test]
fn new_york_fall_back_runs_0130_job_once() {
    let s = schedule("0 30 1 * * *", "America/New_York");
    let fires = fires_between(&s, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z", 60_000);
    assert_eq!(fires, ["2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST"]);
}

#[test]
fn berlin_spring_forward_runs_0230_job_once() {
    let s = schedule("30 2 * * *", "Europe/Berlin");
    let fires = fires_between(&s, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", 60_000);
    assert_eq!(fires.len(), 2, "{fires:?}");
    assert_eq!(fires[1], "2026-03-30 02:30:00 CEST");
    assert!(fires[0].starts_with("2026-03-29 03:"), "{fires:?}");
}

#[test]
fn berlin_fall_back_runs_0230_and_0130_jobs_once() {
    let s = schedule("30 2 * * *", "Europe/Berlin");
    let fires = fires_between(&s, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z", 60_000);
    assert_eq!(fires, ["2026-10-25 02:30:00 CEST", "2026-10-26 02:30:00 CET"]);
    let s = schedule("30 1 * * *", "Europe/Berlin");
    let fires = fires_between(&s, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z", 60_000);
    assert_eq!(fires, ["2026-10-25 01:30:00 CEST", "2026-10-26 01:30:00 CET"]);
}

#[test]
fn hourly_job_across_fall_back_fires_for_each_real_hour() {
    let s = schedule("0 0 * * * *", "America/New_York");
    let fires = fires_between(&s, "2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z", 30_000);
    assert_eq!(fires, ["2026-11-01 01:00:00 EDT", "2026-11-01 01:00:00 EST", "2026-11-01 02:00:00 EST"]);
}

#[test]
fn quartz_forms_parse() {
    for cron in ["0 * * ? * *", "0 0 12 ? * MON-FRI", "0 0 0 L * ?", "0 0 9 ? * 6#3", "*/10 * * * * *", "0 0 * * *"] {
        parse_cron(cron).unwrap_or_else(|e| panic!("{cron}: {e}"));
    }
    assert!(parse_cron("61 * * * *").is_err());
    assert!(parse_cron("* * *").unwrap_err().contains("3 fields"));
}

#[test]
fn bounds_and_catch_up() {
    let mut s = schedule("0 * * * * *", "UTC");
    s.start_time = Some(at("2026-01-01T00:10:00Z"));
    s.end_time = Some(at("2026-01-01T00:12:00Z"));
    assert_eq!(
        s.upcoming(at("2026-01-01T00:00:00Z"), 5),
        vec![at("2026-01-01T00:10:00Z"), at("2026-01-01T00:11:00Z"), at("2026-01-01T00:12:00Z")]
    );

    let s = schedule("0 * * * * *", "UTC");
    let down_since = at("2026-01-01T00:00:00Z");
    let due = s.take_due(Some(down_since), at("2026-01-01T00:10:30Z"));
    assert_eq!(due.fire, vec![at("2026-01-01T00:10:00Z")]);
    assert_eq!(due.skipped, 10);
    assert_eq!(due.next, Some(at("2026-01-01T00:11:00Z")));

    let mut s = s;
    s.catch_up = true;
    let due = s.take_due(Some(down_since), at("2026-01-01T00:10:30Z"));
    assert_eq!(due.fire.len(), 11);
    assert_eq!(due.skipped, 0);
}

#[test]
fn scheduled_input_carries_slot_and_dispatch_time() {
    let s = schedule("0 * * * * *", "UTC");
    let input = s.instance_input(60_000, 60_250);
    assert_eq!(input, json!({"_scheduledTime": 60_000, "_executedTime": 60_250}));
}

#[test]
fn bad_zone_and_cron_are_reported_by_field() {
    let doc = json!({"name": "s", "cronExpression": "0 0 25 * * *", "zoneId": "Mars/Base", "startWorkflowRequest": {"name": "w"}});
    let (def, problems) = ScheduleDef::build(&doc);
    assert!(def.is_none());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["cronExpression", "zoneId"]);
}

#[test]
fn an_empty_list_item_is_refused_instead_of_searching_for_years() {
    // Found by fuzzing: `vigil schedules` spent 31 s on this expression.
    for text in ["*  , * * * * *", "0 1,,2 * * *", "0 ,5 * * *", "0 5, * * *"] {
        let err = super::parse_cron(text).unwrap_err();
        assert!(err.contains("empty list item"), "{text}: {err}");
    }
    assert!(super::parse_cron("0 1,2 * * *").is_ok());
}

#[test]
fn fires_from_lists_the_next_times_from_the_first() {
    let s = schedule("0 0 * * * *", "UTC");
    let first = at("2026-01-15T08:00:00Z");
    assert_eq!(s.fires_from(Some(first), 3), [first, at("2026-01-15T09:00:00Z"), at("2026-01-15T10:00:00Z")]);
    assert!(s.fires_from(None, 3).is_empty(), "paused or none left");
}
