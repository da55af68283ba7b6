//! `email`: an expected email in an IMAP inbox (Robopager's daily email check, for any provider).
//!
//! Each day (on the days `days` lists) a message from one of `senders` with one of `subjects`
//! must arrive between `delivery_time` and `check_time`, in `zone`
//! ([`vigil_core::monitor::daily::DailyWindow`]). A check logs in (TLS, or STARTTLS on a plain
//! port; a password, or an OAuth token through XOAUTH2), opens the folder read-only, narrows on
//! the server with `UID SEARCH SINCE … FROM … SUBJECT …`, fetches the candidates' headers and
//! arrival times, and matches exactly on the client: senders by address (case-insensitive),
//! subjects as written or as `/regular expressions/`. Nothing is marked read.

mod imap;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Deserialize;
use vigil_core::monitor::daily::{DailyWindow, Window, parse_clock, parse_days};
use vigil_core::monitor::evaluate::{Answer, Sample};
use vigil_core::time::Millis;

use super::SourceProblem;

/// What a monitor writes under `source: {email: ...}`.
#[derive(Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The IMAP server's host name.
    pub host: String,
    /// Its port (default 993 with `tls: true`, 143 with `starttls`).
    #[serde(default)]
    pub port: Option<u16>,
    /// `true` (TLS from the start, the default), `starttls`, or `false` (plain; local tests only).
    #[serde(default)]
    pub tls: Option<serde_json::Value>,
    /// A PEM file of certificates to trust besides the system's (a private CA).
    #[serde(default, rename = "caFile")]
    pub ca_file: Option<String>,
    /// The account.
    pub user: String,
    /// Its password (`${workflow.secrets.NAME}`).
    #[serde(default)]
    pub password: Option<String>,
    /// Or an OAuth 2 access token, sent with XOAUTH2 (Gmail, Microsoft 365).
    #[serde(default)]
    pub token: Option<String>,
    /// The folder (default `INBOX`).
    #[serde(default)]
    pub folder: Option<String>,
    /// Addresses a matching message comes from (any of them).
    pub senders: Vec<String>,
    /// Subjects it has (any of them): exact, or `/a regular expression/`.
    pub subjects: Vec<String>,
    /// From this time of day (`HH:MM`) on, arrivals count.
    pub delivery_time: String,
    /// From this time of day on, no match is critical.
    pub check_time: String,
    /// Re-checks count until this time of day (default: the next day's delivery time).
    #[serde(default)]
    pub close_time: Option<String>,
    /// The days it is expected: names, ranges, `weekdays`, `daily` (default every day).
    #[serde(default)]
    pub days: Vec<String>,
    /// The time zone of the times (default the monitor's `zone`, else UTC).
    #[serde(default)]
    pub zone: Option<String>,
    /// The fraction of delivery → check past which a missing email is a warning (default none).
    #[serde(default, rename = "warnAt")]
    pub warn_at: Option<f64>,
    /// Time a check may take (default 30s).
    #[serde(default)]
    pub timeout: Option<String>,
}

super::debug_without_secrets!(
    EmailConfig,
    host,
    port,
    tls,
    ca_file,
    user,
    folder,
    senders,
    subjects,
    delivery_time,
    check_time,
    close_time,
    days,
    zone,
    warn_at,
    timeout
);

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAPS, port 993).
    Tls,
    /// A plain connection upgraded with STARTTLS (port 143).
    StartTls,
    /// No TLS at all.
    Plain,
}

impl EmailConfig {
    /// Checks what can be checked before connecting.
    pub fn check(&self) -> Result<(), SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        if self.host.trim().is_empty() {
            return Err(problem("host", "`host` names the IMAP server, e.g. `imap.gmail.com`".into()));
        }
        self.security().map_err(|m| problem("tls", m))?;
        if self.password.is_none() && self.token.is_none() {
            return Err(problem("password", "give `password` (or `token` for XOAUTH2) from a secret".into()));
        }
        if self.senders.is_empty() && self.subjects.is_empty() {
            return Err(problem("senders", "give `senders`, `subjects` or both: what a matching email is".into()));
        }
        self.matcher().map_err(|(i, e)| problem(&format!("subjects[{i}]"), format!("bad regular expression: {e}")))?;
        self.window(None).map_err(|(path, m)| problem(&path, m))?;
        super::check_warn_at_and_timeout(self.warn_at, self.timeout.as_deref())
    }

    /// How to connect.
    pub fn security(&self) -> Result<Security, String> {
        match &self.tls {
            None | Some(serde_json::Value::Bool(true)) => Ok(Security::Tls),
            Some(serde_json::Value::Bool(false)) => Ok(Security::Plain),
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("starttls") => Ok(Security::StartTls),
            Some(other) => Err(format!("`tls` is true, false or `starttls`, got {other}")),
        }
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.security() == Ok(Security::Tls) { 993 } else { 143 })
    }

    /// The daily window; `zone` is the monitor's when the block names none.
    pub fn window(&self, monitor_zone: Option<&str>) -> Result<DailyWindow, (String, String)> {
        let zone_id = self.zone.as_deref().or(monitor_zone).unwrap_or("UTC");
        let zone = jiff::tz::TimeZone::get(zone_id)
            .map_err(|_| ("zone".to_string(), format!("unknown time zone `{zone_id}`")))?;
        let clock = |path: &str, text: &str| parse_clock(text).map_err(|e| (path.to_string(), e));
        Ok(DailyWindow {
            zone,
            days: parse_days(&self.days).map_err(|e| ("days".to_string(), e))?,
            delivery: clock("delivery_time", &self.delivery_time)?,
            check: clock("check_time", &self.check_time)?,
            close: self.close_time.as_deref().map(|t| clock("close_time", t)).transpose()?,
            warn_at: self.warn_at.unwrap_or(1.0),
        })
    }

    fn timeout(&self) -> Duration {
        const DEFAULT: Duration = Duration::from_secs(30);
        super::duration(self.timeout.as_deref(), DEFAULT).unwrap_or(DEFAULT)
    }

    /// The server-side search narrowing the candidates (exact matching is done on the client):
    /// arrivals since the day before the window (SINCE is a date, read in the server's zone),
    /// from any sender, with any exact subject. Strings that IMAP's quoted form cannot carry are
    /// left to the client.
    pub fn search_query(&self, window: &Window) -> String {
        let since = jiff::Timestamp::from_millisecond(window.delivery - 86_400_000)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
            .unwrap_or_default();
        let mut query = format!("SINCE {}", since.strftime("%d-%b-%Y"));
        let mut any = |key: &str, items: Vec<&String>| {
            let items: Vec<String> = items.into_iter().filter_map(|v| quoted(v)).collect();
            if let Some(clause) = or_all(key, &items) {
                query.push(' ');
                query.push_str(&clause);
            }
        };
        any("FROM", self.senders.iter().collect());
        if self.subjects.iter().all(|s| regex_of(s).is_none()) {
            any("SUBJECT", self.subjects.iter().collect());
        }
        query
    }

    /// The senders and subjects, ready to match messages (regular expressions compiled once per
    /// check, not per message); a bad expression is named by its index in `subjects`.
    pub fn matcher(&self) -> Result<Matcher, (usize, String)> {
        let subjects = self
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| match regex_of(s) {
                Some(pattern) => regex_lite::Regex::new(pattern).map(Subject::Pattern).map_err(|e| (i, e.to_string())),
                None => Ok(Subject::Exact(s.clone())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Matcher { senders: self.senders.iter().map(|s| s.trim().to_ascii_lowercase()).collect(), subjects })
    }

    /// Asks the server at `now` and judges the day's window.
    pub async fn ask_at(&self, monitor_zone: Option<&str>, now: Millis) -> Answer {
        let daily = match self.window(monitor_zone) {
            Ok(d) => d,
            Err((_, e)) => return Answer::Failed(e),
        };
        let Some(window) = daily.window_for(now) else {
            return Answer::Failed("no day in `days` has a window".into());
        };
        let found = match tokio::time::timeout(self.timeout(), imap::arrivals(self, &window)).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => return Answer::Failed(format!("{}:{}: {e}", self.host, self.port())),
            Err(_) => {
                return Answer::Failed(format!(
                    "{}:{} did not answer within {:?}",
                    self.host,
                    self.port(),
                    self.timeout()
                ));
            }
        };
        let verdict = daily.verdict(window, &found.iter().map(|m| m.at).collect::<Vec<_>>(), now);
        let first = found.iter().filter(|m| (window.delivery..window.close).contains(&m.at)).min_by_key(|m| m.at);
        let note = match first {
            Some(m) => format!("{} from {}: {}", verdict.note, m.from.join(", "), m.subject),
            None => verdict.note,
        };
        let minutes = first.map(|m| (m.at - window.delivery) as f64 / 60_000.0);
        Answer::Samples(vec![Sample {
            labels: Default::default(),
            fields: [("minutes_after_delivery".to_string(), minutes.map_or(serde_json::Value::Null, Into::into))]
                .into_iter()
                .collect(),
            tier: Some(verdict.tier),
            note: Some(note),
        }])
    }
}

/// What a matching message is: from any of `senders`, with any of `subjects` (none: any).
#[derive(Debug)]
pub struct Matcher {
    senders: Vec<String>,
    subjects: Vec<Subject>,
}

#[derive(Debug)]
enum Subject {
    Exact(String),
    Pattern(regex_lite::Regex),
}

impl Matcher {
    /// Whether a message from `from` (addresses, compared case-blind) with `subject` matches.
    pub fn matches(&self, from: &[String], subject: &str) -> bool {
        let sender_ok = self.senders.is_empty()
            || self.senders.iter().any(|s| from.iter().any(|f| f.trim().eq_ignore_ascii_case(s)));
        let subject_ok = self.subjects.is_empty()
            || self.subjects.iter().any(|s| match s {
                Subject::Exact(text) => text == subject,
                Subject::Pattern(re) => re.is_match(subject),
            });
        sender_ok && subject_ok
    }
}

/// A matching message the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// When it arrived (the server's INTERNALDATE).
    pub at: Millis,
    /// Its From addresses.
    pub from: Vec<String>,
    /// Its decoded subject.
    pub subject: String,
}

/// The pattern of a `/regex/` subject.
fn regex_of(subject: &str) -> Option<&str> {
    subject.strip_prefix('/').and_then(|s| s.strip_suffix('/')).filter(|s| !s.is_empty())
}

/// `v` as an IMAP quoted string, when it is printable ASCII (others are matched on the client).
fn quoted(v: &str) -> Option<String> {
    let printable = v.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
    (printable && !v.is_empty()).then(|| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// `OR KEY a (OR KEY b KEY c)`: any of `items`.
fn or_all(key: &str, items: &[String]) -> Option<String> {
    match items {
        [] => None,
        [one] => Some(format!("{key} {one}")),
        [first, rest @ ..] => Some(format!("OR {key} {first} ({})", or_all(key, rest)?)),
    }
}

impl super::SourceConfig for EmailConfig {
    type Built = EmailConfig;

    fn build(self) -> Result<EmailConfig, SourceProblem> {
        self.check().map(|()| self)
    }
}

impl super::Ask for EmailConfig {
    async fn ask(&self, _client: &reqwest::Client, now: Millis) -> Answer {
        Box::pin(self.ask_at(None, now)).await
    }
}
