//! `websocket`: does a WebSocket endpoint accept a connection, and answer as it should? Opens
//! `ws://` or `wss://` (verified against the system's roots, or a pinned `caFile`), upgrades
//! (RFC 6455: the server's `Sec-WebSocket-Accept` must match the key sent), sends `body` as a text
//! message when given and reads the first message back. As Gatus judges a WebSocket endpoint,
//! `[CONNECTED]` is whether the upgrade succeeded and `[BODY]` the message read.

pub(super) mod client;
pub(super) mod frame;

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

/// The largest message read (longer ones end the check).
const MAX_MESSAGE: u64 = 1 << 20;

/// What a monitor writes under `source: {websocket: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebSocketConfig {
    /// `ws://host[:port]/path` or `wss://...`.
    pub url: String,
    /// Headers of the upgrade request (`Authorization`, say).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// A text message to send once connected; the first message back is `[BODY]`. Nothing is
    /// sent or read without it.
    #[serde(default)]
    pub body: Option<String>,
    /// `wss://`: a PEM file of the CA (or the certificate) the server's chain must verify
    /// against, alone.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Time the whole exchange may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[CONNECTED] == true`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A WebSocket source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketSource {
    /// (secure, host, port, path), or why not while the url still holds a `${...}` reference.
    target: Result<(bool, String, u16, String), String>,
    headers: Vec<(String, String)>,
    send: Option<String>,
    ca_file: Option<String>,
    timeout: Duration,
    judge: Judge,
}

/// `(secure, host, port, path)` of a `ws://` or `wss://` URL.
fn target(url: &str) -> Option<(bool, String, u16, String)> {
    let (secure, rest) = match url.split_once("://")? {
        ("ws", rest) => (false, rest),
        ("wss", rest) => (true, rest),
        _ => return None,
    };
    let (authority, path) = rest.find(['/', '?']).map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    let default = if secure { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(port) if !h.contains(':') || h.starts_with('[') => (h.to_string(), port),
            _ => (authority.to_string(), default),
        },
        _ => (authority.to_string(), default),
    };
    (!host.is_empty() && !host.contains(['@', ' ', '$'])).then_some((secure, host, port, path))
}

impl SourceConfig for WebSocketConfig {
    type Built = WebSocketSource;

    fn build(self) -> Result<WebSocketSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let target = match target(&self.url) {
            Some(t) => Ok(t),
            None if self.url.contains("${") => Err(format!("websocket: `url` still holds a reference: {}", self.url)),
            None => {
                return Err(problem(
                    "url",
                    format!("`{}` is not a WebSocket URL: write ws://host/path or wss://", self.url),
                ));
            }
        };
        if self.ca_file.is_some() && matches!(&target, Ok((false, ..))) {
            return Err(problem("caFile", "only wss:// verifies a certificate".into()));
        }
        if let Some(path) = &self.ca_file {
            super::tls::client_config(Some(path), true).map_err(|e| problem("caFile", e))?;
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a WebSocket check has no [STATUS]: use [CONNECTED] or [BODY]".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(WebSocketSource {
            target,
            headers: self.headers.into_iter().collect(),
            send: self.body,
            ca_file: self.ca_file,
            timeout,
            judge,
        })
    }
}

impl WebSocketSource {
    /// The upgrade, then the message sent and the one read back.
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        host: &str,
        port: u16,
        path: &str,
    ) -> Result<Vec<u8>, client::Failed> {
        let host_header = if [80, 443].contains(&port) { host.to_string() } else { format!("{host}:{port}") };
        let mut buf = Vec::new();
        client::upgrade(stream, &host_header, path, &self.headers, &mut buf).await?;
        let Some(send) = &self.send else {
            let _ =
                stream.write_all(&frame::client_frame(frame::CLOSE, &1000u16.to_be_bytes(), client::rand_mask())).await;
            return Ok(Vec::new());
        };
        let message = frame::client_frame(frame::TEXT, send.as_bytes(), client::rand_mask());
        stream.write_all(&message).await.map_err(|e| (true, format!("sending the message failed: {e}")))?;
        let answer = client::read_message(stream, &mut buf, MAX_MESSAGE).await?;
        let _ = stream.write_all(&frame::client_frame(frame::CLOSE, &1000u16.to_be_bytes(), client::rand_mask())).await;
        Ok(answer)
    }

    async fn observe(
        &self,
        (secure, host, port, path): &(bool, String, u16, String),
        now: Millis,
    ) -> (Observed, Option<String>) {
        let started = Instant::now();
        let mut expires = None;
        let conversation = async {
            let mut tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| (false, format!("could not connect to {host}:{port}: {e}")))?;
            if !secure {
                return self.converse(&mut tcp, host, *port, path).await;
            }
            let config = super::tls::client_config(self.ca_file.as_deref(), true).map_err(|e| (false, e))?;
            let name = host.trim_start_matches('[').trim_end_matches(']');
            let mut tls = super::tls::handshake(config, name, tcp).await.map_err(|e| (false, e))?;
            expires = super::tls::peer_not_after(&tls);
            self.converse(&mut tls, host, *port, path).await
        };
        let outcome = tokio::time::timeout(self.timeout, conversation).await;
        let place = format!("{host}:{port}");
        super::conversation::observed(
            outcome,
            &place,
            (started, self.timeout),
            expires.map(|at| at - now),
            super::conversation::text,
        )
    }
}

impl Ask for WebSocketSource {
    async fn ask(&self, _client: &reqwest::Client, now: Millis) -> Answer {
        let target = match &self.target {
            Ok(t) => t,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(target, now)).await;
        self.judge.judge(seen, note)
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn source(v: Value) -> Result<WebSocketSource, SourceProblem> {
        serde_json::from_value::<WebSocketConfig>(v).unwrap().build()
    }

    #[test]
    fn urls_and_settings_are_read() {
        assert_eq!(target("ws://echo.test/feed?x=1"), Some((false, "echo.test".into(), 80, "/feed?x=1".into())));
        assert_eq!(target("wss://echo.test:8443"), Some((true, "echo.test".into(), 8443, "/".into())));
        assert_eq!(target("ws://[::1]:9000/"), Some((false, "[::1]".into(), 9000, "/".into())));
        assert_eq!(target("ws://echo.test?x"), Some((false, "echo.test".into(), 80, "/?x".into())));
        assert_eq!(target("http://echo.test/"), None);
        let path = |v: Value| source(v).unwrap_err().path;
        assert_eq!(path(json!({"url": "http://echo.test/"})), "url");
        assert_eq!(path(json!({"url": "ws://echo.test/", "caFile": "/x.pem"})), "caFile");
        assert_eq!(path(json!({"url": "ws://echo.test/", "conditions": ["[STATUS] == 101"]})), "conditions[0]");
        assert!(source(json!({"url": "wss://${env.HOST}/"})).unwrap().target.is_err());
    }
}
