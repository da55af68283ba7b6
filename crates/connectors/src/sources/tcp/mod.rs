//! `tcp`: is a port open, and does it answer as it should? Connects to `tcp://host:port` within
//! the timeout, optionally sends `body` and reads what comes back, and judges the result with
//! conditions in Gatus' syntax: `[CONNECTED] == true` (the default), `[RESPONSE_TIME] < 500`,
//! `[BODY] == pat(+PONG*)`.
//!
//! Built as CONTRIBUTING.md's "add a monitor source" walkthrough: this folder, one line in core's
//! `source_kinds!`, one in `sources!` (and its `pub mod`).

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

/// At most this much of the answer is read and kept for `[BODY]`.
const MAX_READ: usize = 64 * 1024;

/// What a monitor writes under `source: {tcp: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpConfig {
    /// Where to connect: `tcp://host:port` (Gatus' form), or `host:port`.
    pub url: String,
    /// Text to send once connected (`\r\n` written as such in YAML's double quotes); the first
    /// answer read after it is `[BODY]`. Nothing is sent or read without it.
    #[serde(default)]
    pub body: Option<String>,
    /// Time the connection (and the exchange) may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[CONNECTED] == true`. `[STATUS]` has no
    /// meaning here.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A TCP source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpSource {
    /// `host:port`, or why not while the address still holds a `${...}` reference.
    address: Result<String, String>,
    send: Option<Vec<u8>>,
    timeout: Duration,
    judge: Judge,
}

impl SourceConfig for TcpConfig {
    type Built = TcpSource;

    fn build(self) -> Result<TcpSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let address = match host_port(&self.url) {
            Some(a) => Ok(a),
            None if self.url.contains("${") => Err(format!("tcp: `url` still holds a reference: {}", self.url)),
            None => {
                return Err(problem("url", format!("`{}` is not an address: write tcp://host:port", self.url)));
            }
        };
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a TCP check has no [STATUS]: use [CONNECTED], [RESPONSE_TIME] or [BODY]".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(TcpSource { address, send: self.body.map(String::into_bytes), timeout, judge })
    }
}

/// `host:port` of `tcp://host:port` or `host:port` (IPv6 in brackets), when the port reads.
fn host_port(url: &str) -> Option<String> {
    let rest = url.strip_prefix("tcp://").unwrap_or(url);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':')?;
    let plain = !host.is_empty() && !host.contains(['/', '$', ' ', '@']);
    (plain && port.parse::<u16>().is_ok_and(|p| p > 0)).then(|| rest.to_string())
}

impl TcpSource {
    /// What one connection saw: connected or not, the time it took, what came back.
    async fn observe(&self, address: &str) -> (Observed, Option<String>) {
        let started = Instant::now();
        let mut seen = Observed::default();
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(address).await.map_err(|e| (false, e.to_string()))?;
            let Some(send) = &self.send else { return Ok(Vec::new()) };
            stream.write_all(send).await.map_err(|e| (true, format!("sending failed: {e}")))?;
            let mut answer = vec![0u8; MAX_READ];
            let n = stream.read(&mut answer).await.map_err(|e| (true, format!("reading failed: {e}")))?;
            answer.truncate(n);
            Ok(answer)
        };
        let outcome = tokio::time::timeout(self.timeout, exchange).await;
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        let note = match outcome {
            Ok(Ok(answer)) => {
                seen.connected = true;
                seen.body = serde_json::Value::String(String::from_utf8_lossy(&answer).into_owned());
                None
            }
            Ok(Err((connected, why))) => {
                seen.connected = connected;
                Some(if connected { why } else { format!("could not connect to {address}: {why}") })
            }
            Err(_) => Some(format!("{address}: no answer within {:?}", self.timeout)),
        };
        (seen, note)
    }
}

impl Ask for TcpSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        let address = match &self.address {
            Ok(a) => a,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(address)).await;
        self.judge.judge(seen, note)
    }
}

#[cfg(test)]
mod tests;
