//! Sources: where monitors (and their workflow task types) read values.
//!
//! Every source is a folder listed once in `sources!` below: its settings (what the user writes
//! under `source:` in a monitor, [`SourceConfig`]), built once into the source that runs, which
//! is asked ([`Ask`]) and turns the answer into series
//! ([`vigil_core::monitor::evaluate::Answer`]). A source that answers over HTTP builds its call
//! once and reads the answer with a pure parser, tested on recorded answers; the call itself is
//! shared (`ask_over_http`) and goes through an injected HTTP client.

mod address;
pub(crate) mod body;
pub mod browser;
pub mod conditions;
mod conversation;
pub mod dns;
pub mod domain;
pub mod email;
pub mod grpc;
pub mod http;
pub mod icmp;
pub mod influxdb;
pub mod job_latency;
mod program;
pub mod prometheus;
pub mod queue;
mod registry;
pub mod shared_socket;
mod source;
pub mod sql;
pub mod ssh;
pub mod tcp;
#[cfg(test)]
mod testing;
pub(crate) mod tls;
pub mod udp;
pub mod websocket;

use std::time::Duration;

pub use body::MAX_ANSWER_BYTES;
pub(crate) use body::snippet;
pub(crate) use registry::sources;
pub use source::{Ask, SourceConfig};

use serde::de::DeserializeOwned;
use serde_json::Value;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::monitor::{SourceKind, SourceSpec};

use crate::credentials::Credentials;

/// Time a source call may take unless its config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

sources! {
    /// An HTTP check with conditions.
    Http(http::HttpConfig),
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
    /// A TCP port: open, and answering as it should.
    Tcp(tcp::TcpConfig),
    /// A queue's depth, or its consumer's lag.
    Queue(queue::QueueConfig),
    /// A UDP service: does it answer a datagram, and how.
    Udp(udp::UdpConfig),
    /// A host that should answer ping.
    Icmp(icmp::IcmpConfig),
    /// A resolver's answer to a name.
    Dns(dns::DnsConfig),
    /// A domain's registration expiry, over RDAP.
    Domain(domain::DomainConfig),
    /// A WebSocket endpoint.
    Websocket(websocket::WebSocketConfig),
    /// A gRPC server's health service.
    Grpc(grpc::GrpcConfig),
    /// A scripted visit in headless Chromium.
    Browser(browser::BrowserConfig),
    /// A login to an SSH server with a key, and a command's exit status.
    Ssh(ssh::SshConfig),
}

/// A source block that does not read: the field path inside it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// Path below `source.<kind>`, e.g. `query`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// `Debug` for a type that holds credentials: the fields named are printed, the others (the
/// credentials among them) left out, so no log line or error can carry them.
macro_rules! debug_without_secrets {
    ($ty:ident, $($field:ident),+) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))$(.field(stringify!($field), &self.$field))+.finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_without_secrets;

/// An HTTP call a source makes.
#[derive(Clone, PartialEq)]
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

impl std::fmt::Debug for SourceRequest {
    /// The headers' names only: their values may be credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("SourceRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Builds the source a monitor asks: credentials substituted through `lookup` (a missing one
    /// is named), an SQL `connection` resolved to its declared URL, then read as
    /// [`from_spec`](Source::from_spec) reads it. Once per monitor load, not per check.
    pub fn build(spec: &SourceSpec, lookup: Credentials<'_>) -> Result<Source, SourceProblem> {
        let mut spec = spec.clone();
        let missing = crate::credentials::substitute_credentials(spec.config_mut(), lookup);
        if let Some((path, message)) = missing.into_iter().next() {
            return Err(SourceProblem { path, message });
        }
        if spec.kind == SourceKind::Sql {
            sql::resolve_connection(spec.config_mut(), lookup)
                .map_err(|message| SourceProblem { path: "connection".into(), message })?;
        }
        Self::from_spec(&spec)
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
            let removed = match spec.config_mut() {
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
}

/// Asks `source` once, at the wall clock's time (a workflow's query task; monitors go through
/// [`ask_at`] with the engine's clock).
pub async fn ask(client: &reqwest::Client, source: &Source) -> Answer {
    ask_at(client, source, jiff::Timestamp::now().as_millisecond()).await
}

/// The call of a source that answers over HTTP through reqwest (InfluxDB, Prometheus, a job's
/// status endpoint), its answer read by `parse`.
pub(crate) async fn ask_over_http(
    client: &reqwest::Client,
    call: &SourceRequest,
    parse: impl FnOnce(u16, &[u8]) -> Answer,
) -> Answer {
    let where_ = host_of(&call.url);
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = client.request(method, &call.url).timeout(call.timeout);
    for (k, v) in &call.headers {
        req = req.header(k, v);
    }
    if let Some(body) = &call.body {
        req = req.body(body.clone());
    }
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Answer::Failed(format!("{where_} did not answer within {:?}", call.timeout));
        }
        Err(e) => return Answer::Failed(format!("{where_} could not be reached: {}", root_cause(&e))),
    };
    let status = response.status().as_u16();
    match read_capped(response).await {
        Ok(body) => parse(status, &body),
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

#[cfg(test)]
mod no_secret_in_debug {
    use serde_json::json;

    /// Each config that holds a credential, with `SECRET-VALUE` in it, printed with `{:?}`.
    #[test]
    fn credentials_never_print() {
        let secret = "SECRET-VALUE";
        let printed = [
            format!("{:?}", serde_json::from_value::<super::ssh::SshConfig>(json!({"url": "h", "user": "u", "privateKey": secret})).unwrap()),
            format!("{:?}", serde_json::from_value::<super::prometheus::PrometheusConfig>(json!({"url": "http://p", "query": "up", "token": secret})).unwrap()),
            format!("{:?}", serde_json::from_value::<super::influxdb::InfluxConfig>(json!({"url": "http://i", "query": "q", "password": secret, "token": secret})).unwrap()),
            format!("{:?}", serde_json::from_value::<super::email::EmailConfig>(json!({"host": "imap", "user": "u", "password": secret, "token": secret, "senders": ["a@b"], "subjects": ["x"], "delivery_time": "09:00", "check_time": "10:00"})).unwrap()),
            format!("{:?}", super::SourceRequest { method: "GET", url: "http://p".into(), headers: vec![("Authorization".into(), secret.into())], body: None, timeout: super::DEFAULT_TIMEOUT }),
        ];
        for p in printed {
            assert!(!p.contains(secret) && p.contains(".."), "{p}");
        }
    }
}
