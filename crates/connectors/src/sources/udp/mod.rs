//! `udp`: does a UDP service answer? Sends `body` (text) or `bodyHex` (bytes) as one datagram to
//! `udp://host:port` and waits up to the timeout for one back. As Gatus judges its `udp://`
//! endpoints, `[CONNECTED]` is whether an answer came, `[BODY]` is the answer and
//! `[RESPONSE_TIME]` the time to it; `[CONNECTED] == false` checks that nothing answers.
//!
//! Built as CONTRIBUTING.md's "add a monitor source" walkthrough: this folder, one line in core's
//! `source_kinds!`, one in `sources!` (and its `pub mod`).

use std::time::{Duration, Instant};

use serde::Deserialize;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

/// The largest answer a datagram carries (IPv4's UDP payload limit).
const MAX_DATAGRAM: usize = 65_507;

/// What a monitor writes under `source: {udp: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UdpConfig {
    /// Where to send: `udp://host:port` (Gatus' form), or `host:port`.
    pub url: String,
    /// The datagram to send, as text (`\r\n` written as such in YAML's double quotes).
    #[serde(default)]
    pub body: Option<String>,
    /// The datagram to send, as hexadecimal bytes (`"1b00..."`; spaces allowed), for binary
    /// protocols. Either this or `body`.
    #[serde(default)]
    pub body_hex: Option<String>,
    /// Time to wait for the answer (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[CONNECTED] == true` (an answer came).
    /// `[STATUS]` has no meaning here.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A UDP source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpSource {
    /// `host:port`, or why not while the address still holds a `${...}` reference.
    address: Result<String, String>,
    send: Vec<u8>,
    timeout: Duration,
    judge: Judge,
}

impl SourceConfig for UdpConfig {
    type Built = UdpSource;

    fn build(self) -> Result<UdpSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let address = super::address::read(&self.url, "udp://")?;
        let send = match (self.body, self.body_hex) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(hex)) => hex_bytes(&hex)
                .ok_or_else(|| problem("bodyHex", format!("`{hex}` is not hexadecimal bytes (two digits a byte)")))?,
            (Some(_), Some(_)) => return Err(problem("bodyHex", "write `body` or `bodyHex`, not both".into())),
            (None, None) => {
                return Err(problem("body", "a UDP check sends a datagram: write `body` (text) or `bodyHex`".into()));
            }
        };
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]") || c.contains("[CERTIFICATE")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a UDP check has no status or certificate: use [CONNECTED], [RESPONSE_TIME] or [BODY]".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(UdpSource { address, send, timeout, judge })
    }
}

/// The bytes `hex` spells (whitespace ignored), if it spells whole bytes.
fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

impl UdpSource {
    /// What one exchange saw: whether (and how fast) an answer came, and the answer.
    async fn observe(&self, address: &str) -> (Observed, Option<String>) {
        let started = Instant::now();
        let mut seen = Observed::default();
        let exchange = async {
            let target = tokio::net::lookup_host(address)
                .await
                .map_err(|e| format!("could not resolve {address}: {e}"))?
                .next()
                .ok_or_else(|| format!("{address} resolves to no address"))?;
            let local = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let socket = tokio::net::UdpSocket::bind(local).await.map_err(|e| format!("no local socket: {e}"))?;
            // Connected, so an ICMP "port unreachable" comes back as an error, not as silence.
            socket.connect(target).await.map_err(|e| format!("could not reach {address}: {e}"))?;
            socket.send(&self.send).await.map_err(|e| format!("sending to {address} failed: {e}"))?;
            // Read into spare capacity: a datagram's room is not zeroed on every check.
            let mut answer = Vec::with_capacity(MAX_DATAGRAM);
            socket.recv_buf(&mut answer).await.map_err(|e| format!("{address} did not answer: {e}"))?;
            Ok::<_, String>(answer)
        };
        let outcome = tokio::time::timeout(self.timeout, exchange).await;
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        let note = match outcome {
            Ok(Ok(answer)) => {
                seen.connected = true;
                seen.body = serde_json::Value::String(String::from_utf8_lossy(&answer).into_owned());
                None
            }
            Ok(Err(why)) => Some(why),
            Err(_) => Some(format!("{address}: no answer within {:?}", self.timeout)),
        };
        (seen, note)
    }
}

impl Ask for UdpSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        let address = match &self.address {
            Ok(a) => a,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(address)).await;
        self.judge.judge(seen, note)
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests;
