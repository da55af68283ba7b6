//! Recurring maintenance: a window that comes back every day, week or month at a local time, or
//! at each time a cron expression names, in an IANA time zone, lasting a set duration. Uptime
//! Kuma's strategies (an interval of days, weekdays, days of the month with the last days, cron)
//! and Gatus' (`start`, `duration`, `timezone`, `every` weekdays) are each one form of it.
//!
//! ```yaml
//! repeat:
//!   every: week            # day, week, month, or a count: 2 days, 3 weeks, 6 months
//!   days: [tuesday, thursday]   # weekdays (every: week); days of the month (1..31, last, -2)
//!   at: "02:00"            # local time each starts (00:00 when absent)
//!   timezone: Europe/Berlin     # UTC when absent
//!   for: 1h                # how long each lasts
//! ```
//!
//! or `cron: "0 2 * * 1-5"` instead of `every`, `days` and `at`. A window's `starts` is when the
//! series begins (and what `every: 2 weeks` counts from), its `ends` when it stops (none: never).
//! An occurrence that falls in a gap of a change to summer time starts after the gap; one in a
//! repeated hour starts at the first of the two.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Problem;
use crate::time::Millis;

/// The longest an occurrence may last.
pub const LONGEST: Millis = 31 * 86_400_000;

/// How far ahead the next occurrence is looked for (an `every: 12 months` on the 31st is found).
const SEARCHED_DAYS: i64 = 2 * 366 + 31;

/// How a maintenance window repeats, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// `day`, `week` or `month`, or a count of them (`2 days`, `3 weeks`, `6 months`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// With `every: week`, the weekdays (`monday` or `mon`); with `every: month`, the days of the
    /// month (1 to 31; `last`, or -1, -2 ... from the end). None: the weekday or day of `starts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DayName>,
    /// With `every`, the local time each occurrence starts, `HH:MM` (midnight when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Instead of `every`: a cron expression whose fire times start the occurrences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The IANA time zone `at` and `cron` are read in; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// How long each occurrence lasts (`1h`, `90m`, `2h 30m`).
    #[serde(rename = "for")]
    pub length: String,
    /// Whether the page's subscribers are told of each occurrence (scheduled, started, ended) as
    /// of a one-off window; off by default, so a nightly window sends no letters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify: bool,
}

/// A day in `days`: a number of the month or a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DayName {
    /// A day of the month (negative: from its end).
    Number(i8),
    /// A weekday, or `last`.
    Name(String),
}

/// A [`Repeat`] read: what the occurrences are computed from.
#[derive(Debug, Clone)]
pub struct Rule {
    kind: Kind,
    at: Time,
    zone: TimeZone,
    length: Millis,
}

#[derive(Debug, Clone)]
enum Kind {
    Days(i64),
    Weeks(i64, Vec<Weekday>),
    Months(i64, Vec<i8>),
    Cron(Box<crate::cron::CronExpr>),
}

impl Repeat {
    /// Reads it, for a series beginning at `starts` (0: none given); the first problem, with its
    /// field under `repeat.`.
    pub fn rule(&self, starts: Millis) -> Result<Rule, (String, String)> {
        let bad = |field: &str, message: String| (format!("repeat.{field}"), message);
        let zone = match self.timezone.as_deref() {
            None => TimeZone::UTC,
            Some(name) => TimeZone::get(name)
                .map_err(|_| bad("timezone", format!("`{name}` is not an IANA time zone (such as Europe/Berlin)")))?,
        };
        let length = crate::time::parse_duration(&self.length).map_err(|e| bad("for", e))?;
        if length <= 0 || length > LONGEST {
            return Err(bad(
                "for",
                format!("each occurrence lasts more than nothing and at most 31 days, not `{}`", self.length),
            ));
        }
        let start_date = (starts > 0).then(|| local_date(starts, &zone));
        let kind = match (&self.every, &self.cron) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(bad("every", "give `every` (day, week, month) or `cron`, one of them".into()));
            }
            (None, Some(cron)) => {
                if self.at.is_some() || !self.days.is_empty() {
                    return Err(bad("cron", "`cron` names the times itself: drop `at` and `days`".into()));
                }
                Kind::Cron(Box::new(crate::cron::parse_cron(cron).map_err(|e| bad("cron", e))?))
            }
            (Some(every), None) => {
                let (count, unit) = every_of(every).map_err(|e| bad("every", e))?;
                if count > 1 && start_date.is_none() {
                    return Err(bad(
                        "every",
                        format!("`every: {every}` counts from the series' first day: give the window a `starts`"),
                    ));
                }
                match unit {
                    Unit::Day if !self.days.is_empty() => {
                        return Err(bad("days", "`days` goes with `every: week` or `every: month`".into()));
                    }
                    Unit::Day => Kind::Days(count),
                    Unit::Week => {
                        let mut days = self.days.iter().map(weekday_of).collect::<Result<Vec<_>, _>>();
                        if let Ok(d) = &mut days
                            && d.is_empty()
                        {
                            d.extend(start_date.map(|s| s.weekday()));
                        }
                        let days = days.map_err(|e| bad("days", e))?;
                        if days.is_empty() {
                            return Err(bad("days", "name the weekdays (`days: [monday]`) or give a `starts`".into()));
                        }
                        Kind::Weeks(count, days)
                    }
                    Unit::Month => {
                        let mut days = self.days.iter().map(month_day_of).collect::<Result<Vec<_>, _>>();
                        if let Ok(d) = &mut days
                            && d.is_empty()
                        {
                            d.extend(start_date.map(|s| s.day()));
                        }
                        let days = days.map_err(|e| bad("days", e))?;
                        if days.is_empty() {
                            return Err(bad(
                                "days",
                                "name the days of the month (`days: [1, last]`) or give a `starts`".into(),
                            ));
                        }
                        Kind::Months(count, days)
                    }
                }
            }
        };
        let at = match &self.at {
            None => Time::midnight(),
            Some(text) => text
                .parse::<Time>()
                .map_err(|_| bad("at", format!("`{text}` is not a local time such as 02:00 or 23:30")))?,
        };
        Ok(Rule { kind, at, zone, length })
    }

    /// In words, for pages and lists: "every day at 02:00 (Europe/Berlin), for 1h".
    pub fn describe(&self) -> String {
        let zone = self.timezone.as_deref().unwrap_or("UTC");
        let when = match (&self.every, &self.cron) {
            (_, Some(cron)) => format!("at `{cron}`"),
            (Some(every), None) => {
                let days: Vec<String> = self
                    .days
                    .iter()
                    .map(|d| match d {
                        DayName::Number(n) => n.to_string(),
                        DayName::Name(s) => s.clone(),
                    })
                    .collect();
                let on = if days.is_empty() { String::new() } else { format!(" on {}", days.join(", ")) };
                format!("every {every}{on} at {}", self.at.as_deref().unwrap_or("00:00"))
            }
            (None, None) => String::new(),
        };
        format!("{when} ({zone}), for {}", self.length)
    }
}

impl Rule {
    /// How long each occurrence lasts.
    pub fn length(&self) -> Millis {
        self.length
    }

    /// The starts of the occurrences that overlap `[from, to)`, within the series' bounds
    /// (`first`: its start, 0 for none; `last`: no occurrence starts at or after it), at most
    /// `limit`, earliest first.
    pub fn starts_between(&self, first: Millis, last: Millis, from: Millis, to: Millis, limit: usize) -> Vec<Millis> {
        let mut out = Vec::new();
        let lo = (from - self.length + 1).max(first);
        let hi = to.min(last);
        if lo >= hi {
            return out;
        }
        if let Kind::Cron(cron) = &self.kind {
            let Ok(at) = Timestamp::from_millisecond(lo - 1) else { return out };
            let mut at = at.to_zoned(self.zone.clone());
            while out.len() < limit {
                let Some(next) = cron.next_after(&at) else { break };
                let ms = next.timestamp().as_millisecond();
                if ms >= hi {
                    break;
                }
                out.push(ms);
                at = next;
            }
            return out;
        }
        let anchor = (first > 0).then(|| local_date(first, &self.zone));
        let mut day = local_date(lo, &self.zone).yesterday().unwrap_or(Date::MIN);
        let end = local_date(hi, &self.zone).tomorrow().unwrap_or(Date::MAX);
        while day <= end && out.len() < limit {
            if self.matches(day, anchor)
                && let Some(ms) = self.start_on(day)
                && ms >= lo
                && ms < hi
            {
                out.push(ms);
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        out
    }

    /// The start of the first occurrence that has not ended at `now` (one under way, or the
    /// next), within the series' bounds.
    pub fn current_or_next(&self, first: Millis, last: Millis, now: Millis) -> Option<Millis> {
        let horizon = match self.kind {
            Kind::Cron(_) => 400 * 86_400_000,
            _ => SEARCHED_DAYS * 86_400_000,
        };
        let to = now.saturating_add(horizon);
        // Look a week at a time: the next one is usually near.
        let mut from = now;
        while from < to {
            let step = (from + 7 * 86_400_000).min(to);
            if let Some(start) = self.starts_between(first, last, from, step, 1).first() {
                return Some(*start);
            }
            from = step;
        }
        None
    }

    fn start_on(&self, day: Date) -> Option<Millis> {
        let zoned = day.to_datetime(self.at).to_zoned(self.zone.clone()).ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    fn matches(&self, day: Date, anchor: Option<Date>) -> bool {
        let since = |unit_of: fn(Date) -> i64| anchor.map_or(0, |a| unit_of(day) - unit_of(a));
        match &self.kind {
            Kind::Cron(_) => false,
            Kind::Days(n) => since(day_number).rem_euclid(*n) == 0,
            Kind::Weeks(n, days) => days.contains(&day.weekday()) && since(week_number).rem_euclid(*n) == 0,
            Kind::Months(n, days) => {
                let in_month = day.days_in_month();
                let hit = days.iter().any(|&d| if d > 0 { d == day.day() } else { in_month + 1 + d == day.day() });
                hit && since(month_number).rem_euclid(*n) == 0
            }
        }
    }
}

enum Unit {
    Day,
    Week,
    Month,
}

fn every_of(text: &str) -> Result<(i64, Unit), String> {
    let text = text.trim().to_ascii_lowercase();
    let (count, unit) = match text.split_once(' ') {
        Some((n, unit)) => (
            n.trim().parse::<i64>().map_err(|_| format!("`{text}`: a count comes first, as in `2 weeks`"))?,
            unit.trim(),
        ),
        None => (1, text.as_str()),
    };
    let (unit, most) = match unit {
        "day" | "days" | "daily" => (Unit::Day, 366),
        "week" | "weeks" | "weekly" => (Unit::Week, 52),
        "month" | "months" | "monthly" => (Unit::Month, 12),
        other => return Err(format!("`{other}` is not day, week or month (or use `cron`)")),
    };
    if !(1..=most).contains(&count) {
        return Err(format!("`{text}`: the count goes from 1 to {most}"));
    }
    Ok((count, unit))
}

fn weekday_of(day: &DayName) -> Result<Weekday, String> {
    let DayName::Name(name) = day else {
        return Err("with `every: week`, `days` are weekdays (monday, tue, ...)".into());
    };
    crate::time::weekday_named(name).ok_or_else(|| format!("`{name}` is not a weekday"))
}

fn month_day_of(day: &DayName) -> Result<i8, String> {
    match day {
        DayName::Number(n) if (1..=31).contains(n) || (-7..=-1).contains(n) => Ok(*n),
        DayName::Number(n) => Err(format!("`{n}` is not a day of the month (1 to 31, or -1 to -7 from its end)")),
        DayName::Name(name) if name.trim().eq_ignore_ascii_case("last") => Ok(-1),
        DayName::Name(name) => Err(format!("`{name}` is not a day of the month (1 to 31, or `last`)")),
    }
}

fn local_date(at: Millis, zone: &TimeZone) -> Date {
    Timestamp::from_millisecond(at).map(|t| t.to_zoned(zone.clone()).date()).unwrap_or(Date::MIN)
}

fn day_number(day: Date) -> i64 {
    day.since(Date::constant(1970, 1, 1)).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

fn week_number(day: Date) -> i64 {
    // 1970-01-05 was a Monday: weeks run Monday to Sunday.
    (day_number(day) - 4).div_euclid(7)
}

fn month_number(day: Date) -> i64 {
    i64::from(day.year()) * 12 + i64::from(day.month())
}

/// Its problems as a window's, at paths under `at`.
pub(crate) fn problems(repeat: &Repeat, starts: Millis, at: &str) -> Vec<Problem> {
    match repeat.rule(starts) {
        Ok(_) => Vec::new(),
        Err((field, message)) => vec![Problem::error(format!("{at}{field}"), message)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeat(json: serde_json::Value) -> Repeat {
        serde_json::from_value(json).unwrap()
    }

    fn ms(text: &str) -> Millis {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn utc(at: Millis) -> String {
        Timestamp::from_millisecond(at).unwrap().to_string()
    }

    fn starts(r: &Repeat, first: &str, from: &str, to: &str) -> Vec<String> {
        let first = if first.is_empty() { 0 } else { ms(first) };
        let rule = r.rule(first).unwrap();
        rule.starts_between(first, Millis::MAX, ms(from), ms(to), 100).into_iter().map(utc).collect()
    }

    #[test]
    fn a_daily_window_keeps_its_local_time_across_the_change_to_summer_time() {
        let r = repeat(serde_json::json!({"every": "day", "at": "02:30", "timezone": "Europe/Berlin", "for": "1h"}));
        // 2027-03-28: Berlin skips 02:00 to 03:00; the occurrence starts after the gap.
        assert_eq!(
            starts(&r, "", "2027-03-27T00:00:00Z", "2027-03-30T00:00:00Z"),
            ["2027-03-27T01:30:00Z", "2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"]
        );
    }

    #[test]
    fn weekly_windows_fall_on_their_weekdays_every_other_week_from_the_first() {
        let r =
            repeat(serde_json::json!({"every": "2 weeks", "days": ["tue", "Thursday"], "at": "22:00", "for": "2h"}));
        // 2026-12-01 is a Tuesday.
        assert_eq!(
            starts(&r, "2026-12-01T00:00:00Z", "2026-11-20T00:00:00Z", "2026-12-20T00:00:00Z"),
            ["2026-12-01T22:00:00Z", "2026-12-03T22:00:00Z", "2026-12-15T22:00:00Z", "2026-12-17T22:00:00Z"]
        );
    }

    #[test]
    fn monthly_windows_take_the_last_day_of_each_month() {
        let r = repeat(serde_json::json!({"every": "month", "days": [15, "last"], "for": "1h"}));
        assert_eq!(
            starts(&r, "", "2027-02-01T00:00:00Z", "2027-04-01T00:00:00Z"),
            ["2027-02-15T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-15T00:00:00Z", "2027-03-31T00:00:00Z"]
        );
    }

    #[test]
    fn a_cron_window_starts_at_each_fire_time_in_its_zone() {
        let r = repeat(serde_json::json!({"cron": "0 3 * * 1-5", "timezone": "America/New_York", "for": "30m"}));
        // 2026-12-04 is a Friday; the weekend has none.
        assert_eq!(
            starts(&r, "", "2026-12-04T00:00:00Z", "2026-12-08T00:00:00Z"),
            ["2026-12-04T08:00:00Z", "2026-12-07T08:00:00Z"]
        );
    }

    #[test]
    fn an_occurrence_under_way_overlaps_and_the_next_is_found_far_ahead() {
        let r = repeat(serde_json::json!({"every": "day", "at": "23:00", "for": "2h"}));
        let rule = r.rule(0).unwrap();
        // At 00:30 the window of 23:00 the day before is still under way.
        assert_eq!(
            rule.current_or_next(0, Millis::MAX, ms("2026-12-02T00:30:00Z")).map(utc).unwrap(),
            "2026-12-01T23:00:00Z"
        );
        let yearly = repeat(serde_json::json!({"every": "12 months", "days": [29], "for": "1h"}));
        let first = ms("2028-02-29T00:00:00Z");
        let rule = yearly.rule(first).unwrap();
        assert_eq!(
            rule.current_or_next(first, Millis::MAX, ms("2026-12-01T00:00:00Z")).map(utc).unwrap(),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            rule.current_or_next(first, ms("2028-01-01T00:00:00Z"), ms("2026-12-01T00:00:00Z")),
            None,
            "after the series' end"
        );
    }

    #[test]
    fn a_wrong_repeat_names_its_field() {
        let cases = [
            (serde_json::json!({"every": "fortnight", "for": "1h"}), "repeat.every"),
            (serde_json::json!({"every": "day", "cron": "0 2 * * *", "for": "1h"}), "repeat.every"),
            (serde_json::json!({"every": "2 days", "for": "1h"}), "repeat.every"),
            (serde_json::json!({"every": "week", "days": ["funday"], "for": "1h"}), "repeat.days"),
            (serde_json::json!({"every": "week", "for": "1h"}), "repeat.days"),
            (serde_json::json!({"every": "month", "days": [32], "for": "1h"}), "repeat.days"),
            (serde_json::json!({"every": "day", "at": "25:00", "for": "1h"}), "repeat.at"),
            (serde_json::json!({"every": "day", "timezone": "Mars/Olympus", "for": "1h"}), "repeat.timezone"),
            (serde_json::json!({"every": "day", "for": "40d"}), "repeat.for"),
            (serde_json::json!({"cron": "61 * * * *", "for": "1h"}), "repeat.cron"),
            (serde_json::json!({"cron": "0 2 * * *", "at": "02:00", "for": "1h"}), "repeat.cron"),
        ];
        for (json, field) in cases {
            let r = repeat(json.clone());
            assert_eq!(r.rule(0).err().map(|e| e.0).as_deref(), Some(field), "{json}");
        }
    }

    #[test]
    fn it_reads_as_words() {
        let r = repeat(
            serde_json::json!({"every": "week", "days": ["mon"], "at": "02:00", "timezone": "Europe/Berlin", "for": "1h"}),
        );
        assert_eq!(r.describe(), "every week on mon at 02:00 (Europe/Berlin), for 1h");
    }
}
