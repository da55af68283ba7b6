use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::*;

/// The first `n` fire times of `expr` after `after` (UTC), as `YYYY-MM-DDTHH:MM:SS`.
fn fires(expr: &str, after: &str, n: usize) -> Vec<String> {
    let cron = parse_cron(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut at = after.parse::<Timestamp>().unwrap().to_zoned(TimeZone::UTC);
    let mut out = Vec::new();
    for _ in 0..n {
        at = cron.next_after(&at).unwrap_or_else(|| panic!("{expr}: no fire after {at}"));
        out.push(at.strftime("%Y-%m-%dT%H:%M:%S").to_string());
    }
    out
}

/// The examples of Spring's `CronExpression.parse` javadoc (spring-framework 5.3 and later,
/// `org/springframework/scheduling/support/CronExpression.java`), each with the times it
/// describes, from Tuesday 2026-11-24 10:15:30 UTC unless a row says otherwise.
#[test]
fn springs_documented_examples_fire_when_spring_says() {
    const AFTER: &str = "2026-11-24T10:15:30Z";
    let table: &[(&str, &str, &[&str])] = &[
        // "the top of every hour of every day"
        ("0 0 * * * *", AFTER, &["2026-11-24T11:00:00", "2026-11-24T12:00:00", "2026-11-24T13:00:00"]),
        // "every ten seconds"
        ("*/10 * * * * *", AFTER, &["2026-11-24T10:15:40", "2026-11-24T10:15:50", "2026-11-24T10:16:00"]),
        // "8, 9 and 10 o'clock of every day"
        ("0 0 8-10 * * *", AFTER, &["2026-11-25T08:00:00", "2026-11-25T09:00:00", "2026-11-25T10:00:00"]),
        // "6:00 AM and 7:00 PM every day"
        ("0 0 6,19 * * *", AFTER, &["2026-11-24T19:00:00", "2026-11-25T06:00:00", "2026-11-25T19:00:00"]),
        // "8:00, 8:30, 9:00, 9:30, 10:00 and 10:30 every day"
        ("0 0/30 8-10 * * *", AFTER, &["2026-11-24T10:30:00", "2026-11-25T08:00:00", "2026-11-25T08:30:00"]),
        // "on the hour nine-to-five weekdays" (Friday 17:00, then Monday 09:00)
        ("0 0 9-17 * * MON-FRI", "2026-11-27T16:30:00Z", &["2026-11-27T17:00:00", "2026-11-30T09:00:00"]),
        // "every Christmas Day at midnight"
        ("0 0 0 25 12 ?", AFTER, &["2026-12-25T00:00:00", "2027-12-25T00:00:00"]),
        // "last day of the month at midnight"
        ("0 0 0 L * *", AFTER, &["2026-11-30T00:00:00", "2026-12-31T00:00:00", "2027-01-31T00:00:00"]),
        // "third-to-last day of the month at midnight": the last day minus 3 (Spring's
        // lastDayWithOffset), so the 27th of November and the 25th of February.
        ("0 0 0 L-3 * *", AFTER, &["2026-11-27T00:00:00", "2026-12-28T00:00:00", "2027-01-28T00:00:00"]),
        ("0 0 0 L-3 * *", "2027-02-01T00:00:00Z", &["2027-02-25T00:00:00", "2027-03-28T00:00:00"]),
        // "first weekday of the month at midnight": Saturday 1 May 2027 moves to Monday the
        // 3rd, Sunday 1 August to Monday the 2nd.
        ("0 0 0 1W * *", AFTER, &["2026-12-01T00:00:00", "2027-01-01T00:00:00", "2027-02-01T00:00:00"]),
        ("0 0 0 1W * *", "2027-04-02T00:00:00Z", &["2027-05-03T00:00:00", "2027-06-01T00:00:00"]),
        ("0 0 0 1W * *", "2027-07-02T00:00:00Z", &["2027-08-02T00:00:00", "2027-09-01T00:00:00"]),
        // "last weekday of the month at midnight": Sunday 31 January 2027 moves to Friday the 29th
        ("0 0 0 LW * *", AFTER, &["2026-11-30T00:00:00", "2026-12-31T00:00:00", "2027-01-29T00:00:00"]),
        // "last Friday of the month at midnight"
        ("0 0 0 * * 5L", AFTER, &["2026-11-27T00:00:00", "2026-12-25T00:00:00", "2027-01-29T00:00:00"]),
        // "last Thursday of the month at midnight"
        ("0 0 0 * * THUL", AFTER, &["2026-11-26T00:00:00", "2026-12-31T00:00:00", "2027-01-28T00:00:00"]),
        // "the second Friday in the month at midnight"
        ("0 0 0 ? * 5#2", AFTER, &["2026-12-11T00:00:00", "2027-01-08T00:00:00", "2027-02-12T00:00:00"]),
        // "the first Monday in the month at midnight"
        ("0 0 0 ? * MON#1", AFTER, &["2026-12-07T00:00:00", "2027-01-04T00:00:00", "2027-02-01T00:00:00"]),
        // The macros: "@yearly", "@monthly", "@weekly" (Sunday), "@daily", "@hourly".
        ("@yearly", AFTER, &["2027-01-01T00:00:00"]),
        ("@annually", AFTER, &["2027-01-01T00:00:00"]),
        ("@monthly", AFTER, &["2026-12-01T00:00:00"]),
        ("@weekly", AFTER, &["2026-11-29T00:00:00"]),
        ("@daily", AFTER, &["2026-11-25T00:00:00"]),
        ("@midnight", AFTER, &["2026-11-25T00:00:00"]),
        ("@hourly", AFTER, &["2026-11-24T11:00:00"]),
    ];
    for (expr, after, expected) in table {
        assert_eq!(fires(expr, after, expected.len()), *expected, "{expr} after {after}");
    }
}

/// The forms Conductor's own definitions and Orkes' exported schedules use, which croner's
/// strict mode refused ("single number steps ... not allowed").
#[test]
fn conductors_step_forms_start_at_the_number_given() {
    // Every five minutes, Conductor's usual form.
    let five = fires("0 0/5 * ? * *", "2026-11-24T10:15:30Z", 3);
    assert_eq!(five, ["2026-11-24T10:20:00", "2026-11-24T10:25:00", "2026-11-24T10:30:00"]);
    assert_eq!(fires("0/10 * * * * ?", "2026-11-24T10:15:30Z", 2), ["2026-11-24T10:15:40", "2026-11-24T10:15:50"]);
    // "5/15" in the seconds is 5, 20, 35 and 50 (Quartz' tutorial); "3/20" minutes 3, 23, 43.
    assert_eq!(
        fires("5/15 * * * * *", "2026-11-24T10:15:30Z", 3),
        ["2026-11-24T10:15:35", "2026-11-24T10:15:50", "2026-11-24T10:16:05"]
    );
    assert_eq!(fires("0 3/20 * * * *", "2026-11-24T10:15:30Z", 2), ["2026-11-24T10:23:00", "2026-11-24T10:43:00"]);
    // Spring counts days of the week as cron does: 0 and 7 are Sunday.
    assert_eq!(fires("0 0 12 * * 0", "2026-11-24T10:15:30Z", 1), ["2026-11-29T12:00:00"]);
    assert_eq!(fires("0 0 12 * * 7", "2026-11-24T10:15:30Z", 1), ["2026-11-29T12:00:00"]);
    assert_eq!(fires("0 0 12 * * sun", "2026-11-24T10:15:30Z", 1), ["2026-11-29T12:00:00"]);
    // The nearest weekday to a Sunday 15th is Monday the 16th, to a Saturday 15th Friday the 14th.
    assert_eq!(fires("0 0 0 15W * *", "2026-11-01T00:00:00Z", 2), ["2026-11-16T00:00:00", "2026-12-15T00:00:00"]);
    assert_eq!(fires("0 0 0 15W * *", "2027-05-01T00:00:00Z", 1), ["2027-05-14T00:00:00"]);
}

#[test]
fn an_offset_from_the_last_day_keeps_the_other_fields() {
    // At 09:30 and 17:30 on the day before the last, in July only.
    let fired = fires("0 30 9,17 L-1 7 *", "2026-11-24T10:15:30Z", 3);
    assert_eq!(fired, ["2027-07-30T09:30:00", "2027-07-30T17:30:00", "2028-07-30T09:30:00"]);
    // After the first fire of the day, the second of that day.
    assert_eq!(fires("0 30 9,17 L-1 * *", "2026-11-29T12:00:00Z", 1), ["2026-11-29T17:30:00"]);
    // With a day of the week, both must match: the day before the last, when it is a Monday.
    assert_eq!(fires("0 0 0 L-1 * MON", "2026-11-24T10:15:30Z", 1), ["2027-08-30T00:00:00"]);
}

#[test]
fn broken_expressions_say_what_is_wrong() {
    for (text, says) in [
        ("* * *", "3 fields"),
        ("61 * * * *", "bad cron expression"),
        ("0 0 0 L-0 * *", "offset from 1 to 30"),
        ("0 0 0 L-40 * *", "offset from 1 to 30"),
        ("0 0 0 L-x * *", "offset from 1 to 30"),
        ("0 1,,2 * * *", "empty list item"),
        ("@fortnightly", "not a cron macro"),
    ] {
        let err = parse_cron(text).unwrap_err();
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn expressions_that_name_no_date_never_fire_and_say_so() {
    for text in ["0 0 0 30 2 ?", "0 0 31 4,6 *", "0 0 0 31 2,4,6,9,11 *"] {
        let err = parse_cron(text).unwrap_err();
        assert!(err.contains("never fires") && err.contains("has no day"), "{text}: {err}");
    }
    for text in ["0 0 0 29 2 ?", "0 0 31 4,5 *", "0 0 0 30 * *", "0 0 0 L 2 ?", "0 0 0 1-31 2 ?"] {
        assert!(parse_cron(text).is_ok(), "{text} fires on some date");
    }
}
