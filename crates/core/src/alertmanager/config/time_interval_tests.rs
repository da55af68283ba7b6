use serde_json::json;

use super::*;

fn ms(s: &str) -> Millis {
    s.parse::<Timestamp>().unwrap().as_millisecond()
}

fn named(spec: serde_json::Value) -> NamedInterval {
    let mut problems = Vec::new();
    let doc = json!([{"name": "w", "time_intervals": [spec]}]);
    let items = doc.as_array().unwrap().iter().enumerate().map(|(i, v)| (format!("time_intervals[{i}]"), v)).collect();
    let mut read = read_named(items, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    read.remove(0).1
}

/// Office hours in Berlin keep their wall-clock hours across the change to summer time
/// (2026-03-29): 09:00 is 08:00 UTC before it and 07:00 UTC after.
#[test]
fn office_hours_follow_the_zone_across_dst() {
    let w = named(json!({"times": [{"start_time": "09:00", "end_time": "17:00"}],
        "weekdays": ["monday:friday"], "location": "Europe/Berlin"}));
    assert!(w.contains(ms("2026-03-27T08:30:00Z")), "Friday 09:30 CET");
    assert!(!w.contains(ms("2026-03-27T07:30:00Z")), "Friday 08:30 CET");
    assert!(!w.contains(ms("2026-03-28T10:00:00Z")), "Saturday");
    assert!(w.contains(ms("2026-03-30T07:30:00Z")), "Monday 09:30 CEST");
    assert!(!w.contains(ms("2026-03-30T15:30:00Z")), "Monday 17:30 CEST");
    assert_eq!(w.next_change(ms("2026-03-27T15:30:00Z")), Some(ms("2026-03-27T16:00:00Z")), "17:00 CET");
    assert_eq!(w.next_change(ms("2026-03-27T16:00:00Z")), Some(ms("2026-03-30T07:00:00Z")), "Monday 09:00 CEST");
    // And back in October (2026-10-25): 09:00 CET is 08:00 UTC again.
    assert_eq!(w.next_change(ms("2026-10-23T16:00:00Z")), Some(ms("2026-10-26T08:00:00Z")));
}

#[test]
fn days_of_month_count_from_the_end_and_months_take_names() {
    let last_days = named(json!({"days_of_month": ["-3:-1"], "months": ["february"], "years": ["2027"]}));
    assert!(last_days.contains(ms("2027-02-26T12:00:00Z")));
    assert!(!last_days.contains(ms("2027-02-25T12:00:00Z")));
    assert!(!last_days.contains(ms("2028-02-28T12:00:00Z")), "another year");
    assert_eq!(last_days.next_change(ms("2027-02-01T00:00:00Z")), Some(ms("2027-02-26T00:00:00Z")));
    assert_eq!(last_days.next_change(ms("2027-02-26T00:00:00Z")), Some(ms("2027-03-01T00:00:00Z")));
    assert_eq!(last_days.next_change(ms("2027-03-01T00:00:00Z")), None, "never again");
    // A day past the month's end never holds (Alertmanager skips it rather than clamping).
    let thirty_first = named(json!({"days_of_month": ["31"]}));
    assert!(!thirty_first.contains(ms("2026-04-30T12:00:00Z")));
    assert!(thirty_first.contains(ms("2026-05-31T12:00:00Z")));
}

#[test]
fn a_window_in_the_hour_dst_skips_starts_after_the_gap() {
    let w = named(json!({"times": [{"start_time": "02:00", "end_time": "02:30"}], "location": "Europe/Berlin"}));
    // 2026-03-29 02:00–03:00 does not exist in Berlin: the window never holds that night.
    assert_eq!(
        w.next_change(ms("2026-03-28T23:00:00Z")),
        Some(ms("2026-03-30T00:00:00Z")),
        "the next night, 02:00 CEST"
    );
}

#[test]
fn bad_intervals_are_located() {
    let doc = json!([{"name": "", "time_intervals": [{
        "times": [{"start_time": "18:00", "end_time": "09:00"}, {"start_time": "9:00", "end_time": "10:00"}],
        "weekdays": ["funday", "friday:monday"], "days_of_month": ["-1:5", "0"], "months": ["13"],
        "location": "Mars/Olympus", "hours": []}]}]);
    let items = doc.as_array().unwrap().iter().enumerate().map(|(i, v)| (format!("t[{i}]"), v)).collect();
    let mut problems = Vec::new();
    read_named(items, &mut problems);
    let got: Vec<(String, String)> = problems.into_iter().map(|p| (p.path, p.message)).collect();
    let at = |path: &str| got.iter().find(|(p, _)| p == path).map(|(_, m)| m.as_str()).unwrap_or("<none>");
    assert_eq!(at("t[0].name"), "missing name in time interval");
    assert_eq!(at("t[0].time_intervals[0].times[0].end_time"), "start time cannot be equal or greater than end time");
    assert_eq!(at("t[0].time_intervals[0].times[1].start_time"), "couldn't parse timestamp 9:00, invalid format");
    assert_eq!(at("t[0].time_intervals[0].weekdays[0]"), "\"funday\" is not a valid weekday");
    assert!(at("t[0].time_intervals[0].weekdays[1]").contains("cannot be after its end"));
    assert_eq!(at("t[0].time_intervals[0].days_of_month[0]"), "end day must be negative if start day is negative");
    assert_eq!(at("t[0].time_intervals[0].days_of_month[1]"), "\"0\" is not a valid day of the month");
    assert_eq!(at("t[0].time_intervals[0].months[0]"), "\"13\" is not a valid month");
    assert_eq!(at("t[0].time_intervals[0].location"), "unknown time zone \"Mars/Olympus\"");
    assert_eq!(at("t[0].time_intervals[0].hours"), "unknown field `hours`");
}
