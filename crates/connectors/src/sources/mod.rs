//! Sources: where monitors (and their workflow task types) read values.
//!
//! Every source is a folder with the same shape as a notifier: its config (what the user writes
//! under `source:` in a monitor), a pure `request()` that builds the exact call the server
//! documents, and a pure `parse()` that turns the answer into series
//! ([`vigil_core::monitor::evaluate::Answer`]), tested on recorded answers. Asking is shared
//! ([`ask`]) and goes through an injected HTTP client.

mod body;
pub mod email;
pub mod http;
pub mod influxdb;
pub mod job_latency;
pub mod prometheus;
pub mod sql;

use std::time::Duration;

pub use body::MAX_ANSWER_BYTES;
pub(crate) use body::snippet;

use serde::de::DeserializeOwned;
use serde_json::Value;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::monitor::{SourceKind, SourceSpec};

/// Time a source call may take unless its config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A configured source.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// An HTTP check with conditions.
    Http(http::HttpSource),
    /// InfluxDB 1.x (InfluxQL) or 2.x (Flux).
    Influxdb(influxdb::InfluxConfig),
    /// Prometheus instant queries.
    Prometheus(prometheus::PrometheusConfig),
    /// A SQL query (PostgreSQL, MySQL/MariaDB, SQLite).
    Sql(sql::SqlConfig),
    /// A job's last run, read from a status endpoint, against its allowed latency.
    JobLatency(job_latency::JobLatencyConfig),
    /// An email expected each day in an IMAP folder.
    Email(email::EmailConfig),
}

/// A source block that does not read: the field path inside it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// Path below `source.<kind>`, e.g. `query`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// An HTTP call a source makes.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRequest {
    /// Method.
    pub method: &'static str,
    /// URL, with its query string encoded.
    pub url: String,
    /// Headers (values may hold credentials: never log them).
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<String>,
    /// Time the whole call may take.
    pub timeout: Duration,
}

impl Source {
    /// Reads a monitor's `source` block. Sources that are not built yet are named as such.
    pub fn from_spec(spec: &SourceSpec) -> Result<Source, SourceProblem> {
        match spec.kind {
            SourceKind::Http => typed(&spec.config).and_then(|c: http::HttpConfig| c.check().map(Source::Http)),
            SourceKind::Influxdb => {
                typed(&spec.config).and_then(|c: influxdb::InfluxConfig| c.check().map(|()| Source::Influxdb(c)))
            }
            SourceKind::Prometheus => typed(&spec.config)
                .and_then(|c: prometheus::PrometheusConfig| c.check().map(|()| Source::Prometheus(c))),
            SourceKind::Sql => typed(&spec.config).and_then(|c: sql::SqlConfig| c.check().map(|()| Source::Sql(c))),
            SourceKind::Email => {
                typed(&spec.config).and_then(|c: email::EmailConfig| c.check().map(|()| Source::Email(c)))
            }
            SourceKind::JobLatency => typed(&spec.config)
                .and_then(|c: job_latency::JobLatencyConfig| c.check().map(|()| Source::JobLatency(c))),
            SourceKind::Heartbeat => Err(SourceProblem {
                path: String::new(),
                message: "a heartbeat is pinged, not asked: it has no source to read".into(),
            }),
        }
    }

    /// Every problem of a `source` block that can be told apart in one reading: [`from_spec`]
    /// stops at the first, so a field it names is set aside and the block read again (at most
    /// 20 times). A problem found by a source's own check after reading ends the list.
    ///
    /// [`from_spec`]: Source::from_spec
    pub fn problems(spec: &SourceSpec) -> Vec<SourceProblem> {
        let mut spec = spec.clone();
        let mut found: Vec<SourceProblem> = Vec::new();
        let mut set_aside: Vec<String> = Vec::new();
        for _ in 0..20 {
            let Err(problem) = Source::from_spec(&spec) else { break };
            // Taking a field away can make it missing: already reported as wrong, not again.
            if set_aside.iter().any(|f| problem.message.contains(&format!("missing field `{f}`"))) {
                break;
            }
            let field = problem.path.split(['.', '[']).next().unwrap_or_default().to_string();
            let removed = match &mut spec.config {
                Value::Object(map) if !field.is_empty() => map.remove(&field).is_some(),
                _ => false,
            };
            found.push(problem);
            if !removed {
                break;
            }
            set_aside.push(field);
        }
        found
    }

    /// The call to make.
    pub fn request(&self) -> Result<SourceRequest, String> {
        match self {
            Source::Http(s) => Ok(s.request()),
            Source::Influxdb(c) => c.request(),
            Source::Prometheus(c) => c.request(),
            Source::JobLatency(c) => c.request(),
            Source::Sql(_) => Err("a SQL source is not asked over HTTP".into()),
            Source::Email(_) => Err("an email source is asked over IMAP, not HTTP".into()),
        }
    }

    /// Reads an answer: its HTTP status and body.
    pub fn parse(&self, status: u16, body: &[u8]) -> Answer {
        match self {
            Source::Http(s) => {
                let body = serde_json::from_slice(body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
                s.judge(http::Observed { connected: true, status, body, ..http::Observed::default() }, None)
            }
            Source::Influxdb(c) => c.parse(status, body),
            Source::Prometheus(c) => c.parse(status, body),
            Source::JobLatency(c) => c.parse_at(status, body, jiff::Timestamp::now().as_millisecond()),
            Source::Sql(_) => Answer::Failed(format!("a SQL source has no HTTP answer (status {status})")),
            Source::Email(_) => Answer::Failed(format!("an email source has no HTTP answer (status {status})")),
        }
    }
}

/// Asks `source` over HTTP and reads its answer; a failed call is an [`Answer::Failed`] naming
/// the server and the reason (never a credential).
pub async fn ask(client: &reqwest::Client, source: &Source) -> Answer {
    match source {
        // Timed, with its own client settings (redirects, TLS) and the certificate read.
        Source::Http(check) => return check.ask().await,
        // The other sources' calls are boxed: a future is as large as its largest state, and the
        // checks that run most (plain HTTP) should not carry a database or IMAP session's.
        Source::Sql(query) => return Box::pin(query.ask()).await,
        Source::Email(email) => return Box::pin(email.ask_at(None, jiff::Timestamp::now().as_millisecond())).await,
        Source::Influxdb(_) | Source::Prometheus(_) | Source::JobLatency(_) => {}
    }
    Box::pin(ask_over_http(client, source)).await
}

/// The call of a source that answers over HTTP through reqwest (InfluxDB, Prometheus, a job's
/// status endpoint).
async fn ask_over_http(client: &reqwest::Client, source: &Source) -> Answer {
    let req = match source.request() {
        Ok(r) => r,
        Err(e) => return Answer::Failed(e),
    };
    let where_ = host_of(&req.url);
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut call = client.request(method, &req.url).timeout(req.timeout);
    for (k, v) in &req.headers {
        call = call.header(k, v);
    }
    if let Some(body) = req.body {
        call = call.body(body);
    }
    let response = match call.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Answer::Failed(format!("{where_} did not answer within {:?}", req.timeout)),
        Err(e) => return Answer::Failed(format!("{where_} could not be reached: {}", root_cause(&e))),
    };
    let status = response.status().as_u16();
    match read_capped(response).await {
        Ok(body) => source.parse(status, &body),
        Err(why) => Answer::Failed(format!("{where_}: {why}")),
    }
}

/// An answer's body, at most [`MAX_ANSWER_BYTES`]; why not, otherwise.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| format!("reading the answer failed: {}", root_cause(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("answer larger than {} MiB", MAX_ANSWER_BYTES >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0))))
        .unwrap_or_else(|| "the source".into())
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Reads a config into its typed form, naming the field at fault.
fn typed<T: DeserializeOwned>(config: &Value) -> Result<T, SourceProblem> {
    serde_path_to_error::deserialize(config.clone()).map_err(|e| {
        let path = e.path().to_string();
        SourceProblem { path: if path == "." { String::new() } else { path }, message: e.into_inner().to_string() }
    })
}

/// A duration field such as `timeout: 5s`.
pub(crate) fn duration(text: Option<&str>, default: Duration) -> Result<Duration, SourceProblem> {
    match text {
        None => Ok(default),
        Some(t) => vigil_core::time::parse_duration(t)
            .map(|ms| Duration::from_millis(ms.max(1) as u64))
            .map_err(|e| SourceProblem { path: "timeout".into(), message: format!("`timeout`: {e}") }),
    }
}

/// Checks the settings expected-event sources share: `warnAt` (a fraction) and `timeout`.
pub(crate) fn check_warn_at_and_timeout(warn_at: Option<f64>, timeout: Option<&str>) -> Result<(), SourceProblem> {
    if let Some(f) = warn_at
        && !(0.0..=1.0).contains(&f)
    {
        return Err(SourceProblem {
            path: "warnAt".into(),
            message: format!("`warnAt` is a fraction from 0 to 1, got {f}"),
        });
    }
    if let Some(t) = timeout {
        vigil_core::time::parse_duration(t)
            .map_err(|e| SourceProblem { path: "timeout".into(), message: format!("`timeout`: {e}") })?;
    }
    Ok(())
}
