//! `tcp`: is a port open, and does it answer as it should? Connects to `tcp://host:port` within
//! the timeout, optionally completes a TLS handshake (`tls: true`, or Gatus' `tls://host:port`:
//! the chain verified against the system's roots or a pinned `caFile`, the certificate's name
//! against the host or `serverName`), optionally sends `body` and reads what comes back, and
//! judges the result with conditions in Gatus' syntax: `[CONNECTED] == true` (the default),
//! `[RESPONSE_TIME] < 500`, `[BODY] == pat(+PONG*)`, `[CERTIFICATE_EXPIRATION] > 7d`.
//!
//! With `protocol` (SMTP, IMAP, POP3, FTP, SSH) it reads the server's greeting, which must be
//! that protocol's (it is `[BODY]`), and with `starttls` switches the connection to TLS the
//! protocol's way (Gatus' `starttls://host:port` is SMTP's) and reads the certificate.
//!
//! Built as CONTRIBUTING.md's "add a monitor source" walkthrough: this folder, one line in core's
//! `source_kinds!`, one in `sources!` (and its `pub mod`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};
pub use protocol::Protocol;

mod protocol;

/// Longest line of a greeting or reply read; lines past it end the conversation.
const MAX_LINE: usize = 4096;
/// Most lines of one reply (SMTP's EHLO lists capabilities, one per line).
const MAX_LINES: usize = 64;

/// At most this much of the answer is read and kept for `[BODY]`.
const MAX_READ: usize = 64 * 1024;
/// The room of an answer's first read.
const FIRST_READ: usize = 4 * 1024;

/// What a monitor writes under `source: {tcp: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpConfig {
    /// Where to connect: `tcp://host:port` (Gatus' form), `host:port`, `tls://host:port` (the
    /// same as `tls: true`), or `starttls://host:port` (SMTP with STARTTLS, as Gatus has it).
    pub url: String,
    /// The protocol the server speaks first: `smtp`, `imap`, `pop3`, `ftp` or `ssh`. Its
    /// greeting is read and must be that protocol's (`220`, `* OK`, `+OK`, `220`, `SSH-`); it is
    /// `[BODY]` unless `body` is sent.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// After the greeting, switch to TLS the protocol's way (SMTP `STARTTLS` after `EHLO`, IMAP
    /// `STARTTLS`, POP3 `STLS`, FTP `AUTH TLS`), verified as with `tls`; a refusal or a failed
    /// handshake is `[CONNECTED] == false`.
    #[serde(default)]
    pub starttls: bool,
    /// Complete a TLS handshake once connected (default false): the server's chain must verify
    /// and its certificate name the host; a failed handshake is `[CONNECTED] == false`.
    /// `[CERTIFICATE_EXPIRATION]` reads the certificate.
    #[serde(default)]
    pub tls: bool,
    /// A PEM file of the CA (or the self-signed certificate) to trust in place of the system's
    /// roots: the chain is pinned to it. Implies `tls`.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// The name the server's certificate must carry, when it is not the URL's host (an address
    /// by IP, say). Implies `tls`.
    #[serde(default)]
    pub server_name: Option<String>,
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
    tls: Option<Tls>,
    /// The protocol spoken first, and whether TLS starts after its greeting.
    protocol: Option<(Protocol, bool)>,
    send: Option<Vec<u8>>,
    timeout: Duration,
    judge: Judge,
}

/// How a TCP check's TLS handshake is made: whom it trusts (built once) and the name it checks.
#[derive(Clone)]
struct Tls {
    ca_file: Option<String>,
    server_name: Option<String>,
    config: Arc<rustls::ClientConfig>,
}

impl PartialEq for Tls {
    fn eq(&self, other: &Self) -> bool {
        (&self.ca_file, &self.server_name) == (&other.ca_file, &other.server_name)
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("ca_file", &self.ca_file).field("server_name", &self.server_name).finish()
    }
}

impl SourceConfig for TcpConfig {
    type Built = TcpSource;

    fn build(self) -> Result<TcpSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let scheme = ["tls://", "starttls://"].into_iter().find(|s| self.url.starts_with(s)).unwrap_or("tcp://");
        let address = super::address::read(&self.url, scheme)?;
        let starttls = self.starttls || scheme == "starttls://";
        let protocol = match (self.protocol, scheme) {
            (None, "starttls://") => Some(Protocol::Smtp),
            (p, _) => p,
        };
        if starttls && protocol.is_none_or(|p| p.starttls().is_none()) {
            let what = protocol.map_or("a `protocol`".to_string(), |p| format!("`{}`, which has none", p.name()));
            return Err(problem(
                "starttls",
                format!("STARTTLS needs smtp, imap, pop3 or ftp as the protocol, not {what}"),
            ));
        }
        if starttls && (self.tls || scheme == "tls://") {
            return Err(problem(
                "starttls",
                "`tls` starts TLS at once, `starttls` after the greeting: pick one".into(),
            ));
        }
        if protocol == Some(Protocol::Ssh) && (self.tls || scheme == "tls://") {
            return Err(problem("protocol", "SSH is not spoken over TLS".into()));
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a TCP check has no [STATUS]: use [CONNECTED], [RESPONSE_TIME] or [BODY]".into(),
            ));
        }
        let tls = self.tls
            || starttls
            || self.url.starts_with("tls://")
            || self.ca_file.is_some()
            || self.server_name.is_some();
        if !tls && let Some(i) = self.conditions.iter().position(|c| c.contains("[CERTIFICATE_EXPIRATION]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "[CERTIFICATE_EXPIRATION] needs a certificate: set `tls: true` or `starttls: true` (or write tls://host:port)".into(),
            ));
        }
        let tls = match tls {
            false => None,
            true => Some(Tls {
                config: super::tls::client_config(self.ca_file.as_deref(), true).map_err(|e| problem("caFile", e))?,
                ca_file: self.ca_file,
                server_name: self.server_name,
            }),
        };
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        let protocol = protocol.map(|p| (p, starttls));
        Ok(TcpSource { address, tls, protocol, send: self.body.map(String::into_bytes), timeout, judge })
    }
}

/// What a check's conversation came to: the answer read, or whether it had connected and why not.
type Exchanged = super::conversation::Ended<Vec<u8>>;

/// One line of a reply, without its line end.
async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> Result<String, (bool, String)> {
    // A byte at a time: nothing after the reply may be taken from the stream (a TLS handshake
    // follows STARTTLS's reply on the same connection).
    let mut line = Vec::new();
    loop {
        let byte = stream.read_u8().await.map_err(|e| (true, format!("the server closed the connection: {e}")))?;
        if byte == b'\n' {
            break;
        }
        line.push(byte);
        if line.len() > MAX_LINE {
            return Err((true, format!("a line longer than {MAX_LINE} bytes")));
        }
    }
    Ok(String::from_utf8_lossy(&line).trim_end_matches('\r').to_string())
}

/// A whole reply of `protocol` whose positive form starts with `expect`: its lines, and whether
/// its last line is positive.
async fn reply<S: AsyncRead + Unpin>(
    stream: &mut S,
    protocol: Protocol,
    expect: &str,
) -> Result<(Vec<String>, bool), (bool, String)> {
    let mut lines = Vec::new();
    while lines.len() < MAX_LINES {
        let line = read_line(stream).await?;
        let last = protocol.ends_reply(&line, expect);
        lines.push(line);
        if last {
            let positive = lines.last().is_some_and(|l| l.starts_with(expect));
            return Ok((lines, positive));
        }
    }
    Err((true, format!("{} sent more than {MAX_LINES} lines without ending its reply", protocol.name())))
}

/// Reads `protocol`'s greeting: its first line, when it is the protocol's positive greeting. A
/// server that greets otherwise did not answer as that protocol: not connected, with what it said.
async fn greet<S: AsyncRead + Unpin>(stream: &mut S, protocol: Protocol) -> Result<Vec<u8>, (bool, String)> {
    let (lines, positive) = reply(stream, protocol, protocol.greeting()).await.map_err(|(_, why)| (false, why))?;
    let last = lines.last().cloned().unwrap_or_default();
    if !positive {
        return Err((
            false,
            format!("no {} greeting (`{}`...): the server said `{last}`", protocol.name(), protocol.greeting()),
        ));
    }
    Ok(last.into_bytes())
}

/// Asks to switch to TLS the way `protocol` does; an answer other than yes ends the check.
async fn start_tls<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    protocol: Protocol,
) -> Result<(), (bool, String)> {
    for (command, expect) in protocol.starttls().unwrap_or_default() {
        stream
            .write_all(command.as_bytes())
            .await
            .map_err(|e| (false, format!("sending {} failed: {e}", command.trim())))?;
        let (lines, positive) = reply(stream, protocol, expect).await.map_err(|(_, why)| (false, why))?;
        if !positive {
            let said = lines.last().cloned().unwrap_or_default();
            return Err((false, format!("{} refused `{}`: `{said}`", protocol.name(), command.trim())));
        }
    }
    Ok(())
}

/// The rest of a conversation: `send` and its answer (or the greeting as the answer), then the
/// protocol's goodbye.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    protocol: Option<(Protocol, bool)>,
    send: Option<&[u8]>,
    greeting: Vec<u8>,
) -> Exchanged {
    let answer = if send.is_some() { exchange(stream, send).await? } else { greeting };
    if let Some(goodbye) = protocol.and_then(|(p, _)| p.goodbye()) {
        // The server answers the goodbye and closes. Waiting for that, briefly, lets it end the
        // session its own way before vigil's reset: its log shows a clean QUIT, not a connection
        // lost mid-session (which fail2ban's stricter mail filters count against the client).
        if stream.write_all(goodbye.as_bytes()).await.is_ok() {
            let _ = tokio::time::timeout(GOODBYE_WAIT, until_closed(stream)).await;
        }
    }
    Ok(answer)
}

/// How long a check waits for the server to close after the protocol's goodbye.
const GOODBYE_WAIT: Duration = Duration::from_millis(500);

/// Reads (and drops) what the server still sends until it closes, at most a few KiB.
async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        if !matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
            return;
        }
    }
}

/// Sends `send` (if any) over `stream` and reads the first answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, send: Option<&[u8]>) -> Exchanged {
    let Some(send) = send else { return Ok(Vec::new()) };
    stream.write_all(send).await.map_err(|e| (true, format!("sending failed: {e}")))?;
    // The first answer is what one read finds. It is read into a small buffer (a 64 KiB one per
    // check cost fresh, zeroed pages from the allocator, about a tenth of a check's CPU); when
    // that fills, what has already arrived is taken too, up to MAX_READ, without waiting.
    let mut answer = Vec::with_capacity(FIRST_READ);
    stream.read_buf(&mut answer).await.map_err(|e| (true, format!("reading failed: {e}")))?;
    while answer.len() == answer.capacity() && answer.len() < MAX_READ {
        answer.reserve_exact(answer.len().min(MAX_READ - answer.len()));
        match futures_util::FutureExt::now_or_never(stream.read_buf(&mut answer)) {
            Some(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    answer.truncate(MAX_READ);
    Ok(answer)
}

impl TcpSource {
    /// What one connection saw: connected or not, the time it took, the certificate's expiry,
    /// what came back.
    async fn observe(&self, address: &str, now: Millis) -> (Observed, Option<String>) {
        let started = Instant::now();
        let mut expires = None;
        let conversation = async {
            let mut stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| (false, format!("could not connect to {address}: {e}")))?;
            // The check ends the connection with a reset: nothing is left in TIME_WAIT on
            // vigil's side (a port held a minute per check otherwise), and no closing handshake
            // is paid for. What the check sent was answered by then.
            let _ = stream.set_zero_linger();
            let host = self
                .tls
                .as_ref()
                .and_then(|t| t.server_name.as_deref())
                .unwrap_or_else(|| super::address::host_of(address));
            let (tls, starts_later) = match (&self.tls, self.protocol) {
                (None, _) => (None, false),
                (Some(tls), Some((_, true))) => (Some(tls), true),
                (Some(tls), _) => (Some(tls), false),
            };
            let Some(tls) = tls else {
                let greeting = match self.protocol {
                    Some((p, _)) => greet(&mut stream, p).await?,
                    None => Vec::new(),
                };
                return finish(&mut stream, self.protocol, self.send.as_deref(), greeting).await;
            };
            let mut greeting = Vec::new();
            if starts_later && let Some((p, _)) = self.protocol {
                greeting = greet(&mut stream, p).await?;
                start_tls(&mut stream, p).await?;
            }
            let mut stream = super::tls::handshake(tls.config.clone(), host, stream).await.map_err(|e| (false, e))?;
            expires = super::tls::peer_not_after(&stream);
            if !starts_later && let Some((p, _)) = self.protocol {
                greeting = greet(&mut stream, p).await?;
            }
            finish(&mut stream, self.protocol, self.send.as_deref(), greeting).await
        };
        let outcome = tokio::time::timeout(self.timeout, conversation).await;
        super::conversation::observed(
            outcome,
            address,
            (started, self.timeout),
            expires.map(|at| at - now),
            super::conversation::text,
        )
    }
}

impl Ask for TcpSource {
    async fn ask(&self, _client: &reqwest::Client, now: Millis) -> Answer {
        let address = match &self.address {
            Ok(a) => a,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(address, now)).await;
        self.judge.judge(seen, note)
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests;
