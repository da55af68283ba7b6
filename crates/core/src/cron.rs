//! Cron expressions as Conductor users write them: every form Spring's `CronExpression` accepts
//! (Conductor's and Orkes' schedulers parse with it), plus Unix' five fields (minute first) and
//! Quartz' optional seventh field, the year.
//!
//! [croner] parses and searches. Two of Spring's forms it does not take as Spring means them,
//! and this module adds them:
//! - a single number before a step (`0/10`, `5/15`): from that value to the end of the field,
//!   as in Quartz and Spring (croner's "sloppy ranges"; its strict mode refuses them);
//! - `L-n` in the day of month: the month's last day minus `n` days (Spring's
//!   `QuartzCronField.lastDayWithOffset`), which croner has no field for.
//!
//! Days of the week count as in Unix cron and Spring: 0 to 6 from Sunday, 7 is Sunday too (not
//! Quartz' 1 to 7 from Sunday). The day-of-month and day-of-week fields must both match, as in
//! Spring and Quartz (`?` is `*`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::{ToSpan, Zoned};

/// Months searched for an `L-n` day before giving up (Spring's `MAX_ATTEMPTS` is 366 steps).
const MONTHS_SEARCHED: usize = 12 * 30;

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub struct CronExpr {
    cron: Cron,
    /// `L-n` in the day of month: fires only `n` days before the month's last day (the field is
    /// `*` in `cron`).
    before_last: Option<i8>,
}

impl CronExpr {
    /// The first fire time strictly after `after`, in `after`'s zone.
    pub fn next_after(&self, after: &Zoned) -> Option<Zoned> {
        let Some(n) = self.before_last else {
            return self.cron.find_next_occurrence(after, false).ok();
        };
        let mut month = after.date().first_of_month();
        for _ in 0..MONTHS_SEARCHED {
            let day = month.days_in_month() - n;
            if day >= 1 {
                let target = month.with().day(day).build().ok()?;
                let found = if target == after.date() {
                    self.cron.find_next_occurrence(after, false).ok()?
                } else if target > after.date() {
                    let start = target.to_zoned(after.time_zone().clone()).ok()?;
                    self.cron.find_next_occurrence(&start, true).ok()?
                } else {
                    month = month.checked_add(1.month()).ok()?;
                    continue;
                };
                if found.date() == target {
                    return Some(found);
                }
            }
            month = month.checked_add(1.month()).ok()?;
        }
        None
    }

    /// Up to `limit` fire times in UTC at or after `from` (epoch ms), none after `until`.
    pub fn fires_utc(&self, from: i64, until: Option<i64>, limit: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let Ok(start) = jiff::Timestamp::from_millisecond(from - 1) else { return out };
        let mut at = start.to_zoned(jiff::tz::TimeZone::UTC);
        while out.len() < limit {
            let Some(next) = self.next_after(&at) else { break };
            let ms = next.timestamp().as_millisecond();
            if until.is_some_and(|end| ms > end) {
                break;
            }
            out.push(ms);
            at = next;
        }
        out
    }
}

/// Parses a cron expression in Spring, Quartz or Unix form.
pub fn parse_cron(text: &str) -> Result<CronExpr, String> {
    // An empty list item (`1,,2`, `,`) parses as a field that never matches, and croner then
    // searches years ahead for a fire time (found by fuzzing: 31 s for `*  , * * * * *`).
    if let Some(field) = text.split_whitespace().find(|f| f.split(',').any(str::is_empty)) {
        return Err(format!("`{text}`: the field `{field}` has an empty list item"));
    }
    let mut fields: Vec<&str> = match text.trim() {
        macro_name if macro_name.starts_with('@') => match spring_macro(macro_name) {
            Some(expanded) => expanded.split(' ').collect(),
            None => {
                return Err(format!(
                    "`{text}` is not a cron macro; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
                ));
            }
        },
        _ => text.split_whitespace().collect(),
    };
    if !(5..=7).contains(&fields.len()) {
        return Err(format!(
            "`{text}` has {} fields; a cron expression has 5 (minute first), 6 (second first) or 7 (with year)",
            fields.len()
        ));
    }
    let mut before_last = None;
    let day_of_month = if fields.len() == 5 { 2 } else { 3 };
    if let Some(offset) =
        fields.get(day_of_month).and_then(|f| f.strip_prefix(['L', 'l'])).and_then(|f| f.strip_prefix('-'))
    {
        let n: i8 =
            offset.parse().ok().filter(|n| (1..=30).contains(n)).ok_or_else(|| {
                format!("bad cron expression `{text}`: `L-{offset}` needs an offset from 1 to 30 days")
            })?;
        before_last = Some(n);
        fields[day_of_month] = "*";
    }
    if let Some(why) = impossible_date(&fields, day_of_month) {
        return Err(format!("`{text}` never fires: {why}"));
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Optional)
        .dom_and_dow(true)
        .sloppy_ranges(true)
        .build();
    let cron = parser.parse(&fields.join(" ")).map_err(|e| format!("bad cron expression `{text}`: {e}"))?;
    Ok(CronExpr { cron, before_last })
}

/// Why the day-of-month and month fields name no date that exists (`30 2`: February has no 30th),
/// when both are plain numbers or lists of them; `None` when some date fits or the fields are
/// not that simple (ranges, steps, `L`, `W` and names are left to the search).
fn impossible_date(fields: &[&str], day_of_month: usize) -> Option<String> {
    let numbers = |field: &str| -> Option<Vec<u32>> { field.split(',').map(|v| v.parse().ok()).collect() };
    let days = numbers(fields.get(day_of_month)?)?;
    let months = numbers(fields.get(day_of_month + 1)?)?;
    let longest = |m: u32| match m {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let fits = months.iter().any(|&m| days.iter().any(|&d| (1..=12).contains(&m) && d >= 1 && d <= longest(m)));
    (!fits).then(|| {
        let months: Vec<String> = months.iter().map(u32::to_string).collect();
        let days: Vec<String> = days.iter().map(u32::to_string).collect();
        format!("month {} has no day {}", months.join(","), days.join(","))
    })
}

/// Spring's macros, as Spring expands them.
fn spring_macro(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 0 1 1 *",
        "@monthly" => "0 0 0 1 * *",
        "@weekly" => "0 0 0 * * 0",
        "@daily" | "@midnight" => "0 0 0 * * *",
        "@hourly" => "0 0 * * * *",
        _ => return None,
    })
}

/// Parses a cron expression, sharing one parsed copy per distinct text. A parsed `Cron` holds
/// several KB of bitfields (its year field alone spans millennia), and real configurations
/// repeat a few expressions across many schedules, so 100,000 schedules stay small.
pub fn parse_cron_shared(text: &str) -> Result<Arc<CronExpr>, String> {
    static PARSED: OnceLock<Mutex<HashMap<String, Arc<CronExpr>>>> = OnceLock::new();
    let cache = PARSED.get_or_init(Mutex::default);
    if let Some(cron) = cache.lock().expect("cron cache").get(text) {
        return Ok(cron.clone());
    }
    let cron = Arc::new(parse_cron(text)?);
    cache.lock().expect("cron cache").insert(text.to_string(), cron.clone());
    Ok(cron)
}

#[cfg(test)]
mod tests;
