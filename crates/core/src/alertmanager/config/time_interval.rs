//! Alertmanager's `time_intervals`: times of day, weekdays, days of the month, months and years,
//! read in a zone, as `timeinterval/timeinterval.go` reads and matches them. All given fields
//! must hold (each holds when any of its ranges does); a named interval holds when any of its
//! intervals does. Local time comes from the zone's rules, so a window keeps its wall-clock
//! hours across DST.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::read::Fields;
use crate::diagnostic::Problem;
use crate::time::Millis;

const WEEKDAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// One interval: every range list given must hold.
#[derive(Debug, Clone, Default)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    pub times: Option<Vec<(i32, i32)>>,
    /// Weekdays, 0 = Sunday, inclusive.
    pub weekdays: Option<Vec<(i32, i32)>>,
    /// Days of the month, inclusive; negative counts from the month's end (-1 = last day).
    pub days_of_month: Option<Vec<(i32, i32)>>,
    /// Months, 1 = January, inclusive.
    pub months: Option<Vec<(i32, i32)>>,
    /// Years, inclusive.
    pub years: Option<Vec<(i32, i32)>>,
    /// The zone the fields are read in (UTC when absent).
    pub location: Option<TimeZone>,
}

/// A named list of intervals (`time_intervals[].name`).
#[derive(Debug, Clone, Default)]
pub struct NamedInterval {
    /// Its name, as routes refer to it.
    pub name: String,
    /// Holds when any of these does.
    pub intervals: Vec<TimeInterval>,
}

fn within(ranges: &Option<Vec<(i32, i32)>>, v: i32) -> bool {
    ranges.as_ref().is_none_or(|rs| rs.iter().any(|(b, e)| *b <= v && v <= *e))
}

impl TimeInterval {
    /// Whether the instant `at` is inside.
    pub fn contains(&self, at: Millis) -> bool {
        let Ok(ts) = Timestamp::from_millisecond(at) else { return false };
        let zoned = ts.to_zoned(self.location.clone().unwrap_or(TimeZone::UTC));
        let minute = zoned.hour() as i32 * 60 + zoned.minute() as i32;
        if let Some(times) = &self.times
            && !times.iter().any(|(s, e)| *s <= minute && minute < *e)
        {
            return false;
        }
        if let Some(days) = &self.days_of_month {
            let in_month = zoned.date().days_in_month() as i32;
            let day = zoned.day() as i32;
            let hit = days.iter().any(|(b, e)| {
                let begin = if *b < 0 { in_month + b + 1 } else { *b };
                let end = if *e < 0 { in_month + e + 1 } else { *e };
                begin <= in_month && begin.clamp(-in_month, in_month) <= day && day <= end.clamp(-in_month, in_month)
            });
            if !hit {
                return false;
            }
        }
        within(&self.months, zoned.month() as i32)
            && within(&self.weekdays, zoned.weekday().to_sunday_zero_offset() as i32)
            && within(&self.years, zoned.year() as i32)
    }

    /// The instants after `at` where this interval may start or stop holding: midnights and the
    /// `times` bounds of the next days, in its zone.
    fn boundaries(&self, at: Millis, days: i64) -> Vec<Millis> {
        let zone = self.location.clone().unwrap_or(TimeZone::UTC);
        let Ok(ts) = Timestamp::from_millisecond(at) else { return Vec::new() };
        let today: Date = ts.to_zoned(zone.clone()).date();
        let mut minutes: Vec<i32> = vec![0];
        for (s, e) in self.times.iter().flatten() {
            minutes.extend([*s, *e]);
        }
        let mut out = Vec::new();
        for d in 0..=days {
            let Ok(date) = today.checked_add(jiff::Span::new().days(d)) else { break };
            // Wall-clock minutes, not elapsed ones: a window from 09:00 starts at 09:00 on the
            // day DST begins too (a time the change skips is read as the one after the gap).
            for m in minutes.iter().filter(|m| **m < 24 * 60) {
                let wall = date.at((*m / 60) as i8, (*m % 60) as i8, 0, 0);
                if let Ok(t) = wall.to_zoned(zone.clone()) {
                    let ms = t.timestamp().as_millisecond();
                    if ms > at {
                        out.push(ms);
                    }
                }
            }
        }
        out
    }
}

impl NamedInterval {
    /// Whether any interval holds at `at`.
    pub fn contains(&self, at: Millis) -> bool {
        self.intervals.iter().any(|i| i.contains(at))
    }

    /// When, after `at`, whether it holds changes next (looking up to four years ahead; `None`
    /// when it never changes within them).
    pub fn next_change(&self, at: Millis) -> Option<Millis> {
        let now = self.contains(at);
        let mut candidates: Vec<Millis> = self.intervals.iter().flat_map(|i| i.boundaries(at, 4 * 366)).collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().find(|t| self.contains(*t) != now)
    }
}

/// Reads `time_intervals` (or the older `mute_time_intervals`) items.
pub(super) fn read_named(items: Vec<(String, &Value)>, problems: &mut Vec<Problem>) -> Vec<(String, NamedInterval)> {
    let mut out = Vec::new();
    for (path, item) in items {
        let mut f = Fields::of(item, &path, problems);
        let name = f.string("name", problems).unwrap_or_default();
        if name.is_empty() {
            problems.push(Problem::error(f.at("name"), "missing name in time interval"));
        }
        let intervals =
            f.list("time_intervals", problems).into_iter().map(|(p, v)| read_interval(v, &p, problems)).collect();
        f.finish(problems);
        out.push((path, NamedInterval { name, intervals }));
    }
    out
}

/// Reads one range (`monday:friday`, `-3:-1`).
type RangeReader = dyn Fn(&str) -> Result<(i32, i32), String>;

fn read_interval(value: &Value, path: &str, problems: &mut Vec<Problem>) -> TimeInterval {
    let mut f = Fields::of(value, path, problems);
    let mut out = TimeInterval::default();
    if f.has("times") {
        let items = f.list("times", problems);
        out.times = Some(items.into_iter().filter_map(|(p, v)| read_times(v, &p, problems)).collect());
    }
    let mut ranges = |f: &mut Fields, key: &'static str, read: &RangeReader| {
        f.has(key).then(|| {
            f.strings(key, problems)
                .into_iter()
                .filter_map(|(p, s)| read(&s).map_err(|e| problems.push(Problem::error(p, e))).ok())
                .collect::<Vec<_>>()
        })
    };
    out.weekdays = ranges(&mut f, "weekdays", &|s| range(s, &|x| named(x, &WEEKDAYS, 0, "weekday")));
    out.days_of_month = ranges(&mut f, "days_of_month", &days_of_month);
    out.months = ranges(&mut f, "months", &|s| {
        range(s, &|x| {
            x.parse::<i32>().ok().filter(|m| (1..=12).contains(m)).map_or_else(|| named(x, &MONTHS, 1, "month"), Ok)
        })
    });
    out.years = ranges(&mut f, "years", &|s| {
        range(s, &|x| x.parse::<i32>().ok().filter(|y| *y > 0).ok_or_else(|| format!("{x:?} is not a valid year")))
    });
    if let Some(name) = f.string("location", problems) {
        let zone = if name == "Local" { Ok(TimeZone::system()) } else { TimeZone::get(&name) };
        match zone {
            Ok(z) => out.location = Some(z),
            Err(_) => problems.push(Problem::error(f.at("location"), format!("unknown time zone {name:?}"))),
        }
    }
    f.finish(problems);
    out
}

fn read_times(value: &Value, path: &str, problems: &mut Vec<Problem>) -> Option<(i32, i32)> {
    let mut f = Fields::of(value, path, problems);
    let start = f.string("start_time", problems).map(|s| (f.at("start_time"), s));
    let end = f.string("end_time", problems).map(|s| (f.at("end_time"), s));
    f.finish(problems);
    let (Some((sp, start)), Some((ep, end))) = (start, end) else {
        problems.push(Problem::error(path, "both start_time and end_time must be provided"));
        return None;
    };
    let s = clock(&start).map_err(|e| problems.push(Problem::error(sp, e))).ok()?;
    let e = clock(&end).map_err(|e| problems.push(Problem::error(ep.clone(), e))).ok()?;
    if s >= e {
        problems.push(Problem::error(ep, "start time cannot be equal or greater than end time"));
        return None;
    }
    Some((s, e))
}

/// `HH:MM` (or `24:00`) as minutes of the day.
fn clock(s: &str) -> Result<i32, String> {
    let bad = || format!("couldn't parse timestamp {s}, invalid format");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if (h, m) == (24, 0) || ((0..24).contains(&h) && (0..60).contains(&m)) { Ok(h * 60 + m) } else { Err(bad()) }
}

fn named(s: &str, names: &[&str], first: i32, what: &str) -> Result<i32, String> {
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s.trim()))
        .map(|i| i as i32 + first)
        .ok_or_else(|| format!("{s:?} is not a valid {what}"))
}

fn range(s: &str, one: &dyn Fn(&str) -> Result<i32, String>) -> Result<(i32, i32), String> {
    let (b, e) = match s.split_once(':') {
        Some((b, e)) => (one(b)?, one(e)?),
        None => (one(s)?, one(s)?),
    };
    if b > e {
        return Err(format!("start of {s:?} cannot be after its end"));
    }
    Ok((b, e))
}

fn days_of_month(s: &str) -> Result<(i32, i32), String> {
    let one = |x: &str| {
        x.parse::<i32>()
            .ok()
            .filter(|d| *d != 0 && (-31..=31).contains(d))
            .ok_or_else(|| format!("{x:?} is not a valid day of the month"))
    };
    let (b, e) = match s.split_once(':') {
        Some((b, e)) => (one(b)?, one(e)?),
        None => (one(s)?, one(s)?),
    };
    if b < 0 && e > 0 {
        return Err("end day must be negative if start day is negative".into());
    }
    if (b > 0) == (e > 0) && b > e {
        return Err(format!("start day cannot be after end day in {s:?}"));
    }
    Ok((b, e))
}

#[cfg(test)]
#[path = "time_interval_tests.rs"]
mod tests;
