//! `dns`: does a resolver answer a name as it should? Asks `url` (a resolver: `host[:port]` or
//! `udp://` for UDP, falling back to TCP when the answer is truncated; `tcp://`; `tls://` for DNS
//! over TLS, port 853; `https://.../dns-query` for DNS over HTTPS) for `queryName` of
//! `queryType` (A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, SOA, PTR, ANY; a PTR for an address asks
//! its reverse name). As Gatus judges a DNS endpoint, `[DNS_RCODE]` is the answer's code
//! (`NOERROR`, `NXDOMAIN`, ...), `[BODY]` the answers' values (one per line; `pat(*1.2.3.4*)`
//! matches one of several) and `[CONNECTED]` whether an answer came. With `dnssec: true` the query
//! sets the DNSSEC OK bit and the sample's `authenticated` says whether the resolver validated it
//! (the AD bit).

mod wire;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::shared_socket::{SharedSocket, sharing_here};
use super::{Ask, SourceConfig, SourceProblem};

/// A UDP socket kept for one resolver, answers sorted to the questions by id.
type Resolver = SharedSocket<u16, Vec<u8>>;

/// How long a kept resolver socket serves new questions before another (on another port)
/// replaces it: a forged answer must guess the port as well as the id.
const KEEP_SOCKET_FOR: Duration = Duration::from_secs(60);

thread_local! {
    /// The resolver sockets kept on this thread, by resolver, with when each opened.
    static KEPT: RefCell<HashMap<SocketAddr, (Arc<Resolver>, Instant)>> = RefCell::new(HashMap::new());
}

/// A UDP socket connected to `target` (so only its datagrams arrive), read on the current
/// runtime.
fn open_resolver(target: SocketAddr) -> std::io::Result<Arc<Resolver>> {
    let socket = std::net::UdpSocket::bind(if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
    socket.connect(target)?;
    socket.set_nonblocking(true)?;
    let socket = socket2::Socket::from(socket);
    // Room for a burst of answers while the thread is busy (the kernel caps it at rmem_max).
    let _ = socket.set_recv_buffer_size(super::shared_socket::RECEIVE_BUFFER);
    let socket = tokio::net::UdpSocket::from_std(socket.into())?;
    Ok(Arc::new(SharedSocket::new(socket, |datagram, _| {
        (datagram.len() >= 12).then(|| (u16::from_be_bytes([datagram[0], datagram[1]]), datagram.to_vec()))
    })))
}

/// The socket for questions to `target`: the thread's kept one where sockets are shared
/// (renewed every [`KEEP_SOCKET_FOR`]), a new one otherwise.
fn resolver_for(target: SocketAddr) -> std::io::Result<Arc<Resolver>> {
    if !sharing_here() {
        return open_resolver(target);
    }
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some((resolver, opened)) = kept.get(&target)
            && opened.elapsed() < KEEP_SOCKET_FOR
        {
            return Ok(resolver.clone());
        }
        let resolver = open_resolver(target)?;
        // Resolvers no monitor asks any more (a name's address that moved) are let go.
        kept.retain(|_, (_, opened)| opened.elapsed() < KEEP_SOCKET_FOR);
        kept.insert(target, (resolver.clone(), Instant::now()));
        Ok(resolver)
    })
}

/// What a monitor writes under `source: {dns: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsConfig {
    /// The resolver: `host[:port]` or `udp://host[:port]` (port 53), `tcp://host[:port]`,
    /// `tls://host[:port]` (DNS over TLS, port 853), or a DNS-over-HTTPS URL
    /// (`https://dns.example/dns-query`).
    pub url: String,
    /// The name to ask about (for a PTR, an IP address may be written).
    pub query_name: String,
    /// The record type (default A).
    #[serde(default)]
    pub query_type: Option<String>,
    /// Ask for DNSSEC (the DO bit) and report the resolver's validation (`authenticated`).
    #[serde(default)]
    pub dnssec: bool,
    /// DNS over TLS: a PEM file of the CA (or the certificate) the resolver's chain must verify
    /// against, alone.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// DNS over TLS: the name the resolver's certificate must carry (default: the url's host).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Time to wait for the answer (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[DNS_RCODE] == NOERROR`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// How the question travels.
#[derive(Debug, Clone, PartialEq)]
enum Transport {
    /// UDP to `host:port`, TCP when the answer comes back truncated.
    Udp(String),
    /// TCP to `host:port`.
    Tcp(String),
    /// TLS to `host:port`, verified for `name`.
    Tls { address: String, name: String, config: TlsConfig },
    /// An HTTP POST of the message (RFC 8484).
    Https(String),
}

/// A TLS client configuration, compared by what it was made from.
#[derive(Clone)]
struct TlsConfig {
    config: std::sync::Arc<rustls::ClientConfig>,
    ca_file: Option<String>,
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.ca_file == other.ca_file
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("ca_file", &self.ca_file).finish()
    }
}

/// A DNS source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsSource {
    /// Where to ask, or why not while the url still holds a `${...}` reference.
    transport: Result<Transport, String>,
    name: String,
    qtype: u16,
    dnssec: bool,
    timeout: Duration,
    judge: Judge,
}

/// `host:port` of `rest`, the port `default` when none is written (an IPv6 address bare or in
/// brackets).
fn with_port(rest: &str, default: u16) -> Option<String> {
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', ' ', '@', '$']) {
        return None;
    }
    if rest.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some(format!("[{rest}]:{default}"));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Some(rest.to_string()),
        Some(_) => None,
        None => Some(format!("{rest}:{default}")),
    }
}

impl SourceConfig for DnsConfig {
    type Built = DnsSource;

    fn build(self) -> Result<DnsSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let qtype_name = self.query_type.as_deref().unwrap_or("A");
        let qtype = wire::type_number(qtype_name).ok_or_else(|| {
            let known: Vec<&str> = wire::TYPES.iter().map(|(n, _)| *n).collect();
            problem(
                "queryType",
                format!("`{qtype_name}` is not a record type vigil asks for (one of {})", known.join(", ")),
            )
        })?;
        let name = if qtype == 12 { wire::reverse_name(&self.query_name) } else { self.query_name.clone() };
        if !name.contains("${") {
            wire::query(0, &name, qtype, false).map_err(|e| problem("queryName", e))?;
        }
        let transport = if self.url.contains("${") {
            Err(format!("dns: `url` still holds a reference: {}", self.url))
        } else {
            let bad = || {
                problem(
                    "url",
                    format!("`{}` is not a resolver: write host[:port], tcp://, tls:// or https://", self.url),
                )
            };
            let (scheme, rest) = self.url.split_once("://").unwrap_or(("udp", &self.url));
            Ok(match scheme {
                "udp" | "dns" => Transport::Udp(with_port(rest, 53).ok_or_else(bad)?),
                "tcp" => Transport::Tcp(with_port(rest, 53).ok_or_else(bad)?),
                "tls" => {
                    let address = with_port(rest, 853).ok_or_else(bad)?;
                    let host = super::address::host_of(&address).to_string();
                    let config =
                        super::tls::client_config(self.ca_file.as_deref(), true).map_err(|e| problem("caFile", e))?;
                    Transport::Tls {
                        address,
                        name: self.server_name.clone().unwrap_or(host),
                        config: TlsConfig { config, ca_file: self.ca_file.clone() },
                    }
                }
                "https" | "http" => Transport::Https(self.url.clone()),
                _ => return Err(bad()),
            })
        };
        if (self.ca_file.is_some() || self.server_name.is_some()) && !matches!(transport, Ok(Transport::Tls { .. })) {
            let field = if self.ca_file.is_some() { "caFile" } else { "serverName" };
            return Err(problem(field, "only DNS over TLS (`tls://`) verifies a certificate".into()));
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]") || c.contains("[CERTIFICATE")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a DNS check has no status or certificate: use [DNS_RCODE], [BODY], [CONNECTED] or [RESPONSE_TIME]"
                    .into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[DNS_RCODE] == NOERROR", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(DnsSource { transport, name, qtype, dnssec: self.dnssec, timeout, judge })
    }
}

/// A length-prefixed exchange over a stream (TCP, TLS).
async fn over_stream<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    query: &[u8],
) -> Result<Vec<u8>, String> {
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(|e| format!("sending the query failed: {e}"))?;
    let len = stream.read_u16().await.map_err(|e| format!("no answer: {e}"))?;
    let mut answer = vec![0u8; usize::from(len)];
    stream.read_exact(&mut answer).await.map_err(|e| format!("the answer was cut off: {e}"))?;
    Ok(answer)
}

async fn over_tcp(address: &str, query: &[u8]) -> Result<Vec<u8>, String> {
    let mut tcp =
        tokio::net::TcpStream::connect(address).await.map_err(|e| format!("could not connect to {address}: {e}"))?;
    over_stream(&mut tcp, query).await
}

impl DnsSource {
    /// One exchange with the resolver, asking with `id` (over UDP another, when a question
    /// already waits on it): the id asked with and the raw answer.
    async fn exchange(
        &self,
        transport: &Transport,
        client: &reqwest::Client,
        id: u16,
    ) -> Result<(u16, Vec<u8>), String> {
        let query = wire::query(id, &self.name, self.qtype, self.dnssec)?;
        match transport {
            Transport::Udp(address) => {
                let target = tokio::net::lookup_host(address.as_str())
                    .await
                    .map_err(|e| format!("could not resolve {address}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("{address} resolves to no address"))?;
                let resolver = resolver_for(target).map_err(|e| format!("could not reach {address}: {e}"))?;
                // An id no other question to this resolver waits on: `id`, or a random one.
                let mut ids = std::iter::once(id).chain(std::iter::repeat_with(rand::random));
                let (claim, mut answers) = resolver
                    .claim(1, || ids.next().unwrap_or_default())
                    .ok_or_else(|| format!("no free query id for {address}"))?;
                let mut query = query;
                query[..2].copy_from_slice(&claim.keys[0].to_be_bytes());
                resolver
                    .socket()
                    .send_to(&query, target)
                    .await
                    .map_err(|e| format!("sending to {address} failed: {e}"))?;
                loop {
                    let answer = answers
                        .recv()
                        .await
                        .ok_or_else(|| format!("{address} did not answer"))?
                        .map_err(|e| format!("{address} did not answer: {e}"))?;
                    // Only the answer to this question: an answer with this id to another
                    // question (late, or forged) is dropped. Only a refusal (FORMERR, NOTIMP,
                    // REFUSED) may leave the question out.
                    let same_question = match wire::question(&answer) {
                        Some(asked) => Some(asked) == wire::question(&query),
                        None => answer.len() >= 4 && matches!(answer[3] & 0x0F, 1 | 4 | 5),
                    };
                    if !same_question {
                        continue;
                    }
                    // Truncated (TC, in the header's flags): ask again over TCP. The answer is
                    // read once, by the caller.
                    let asked = claim.keys[0];
                    if answer.len() >= 4 && answer[2] & 0x02 != 0 {
                        return Ok((asked, over_tcp(address, &query).await?));
                    }
                    return Ok((asked, answer));
                }
            }
            Transport::Tcp(address) => Ok((id, over_tcp(address, &query).await?)),
            Transport::Tls { address, name, config } => {
                let tcp = tokio::net::TcpStream::connect(address.as_str())
                    .await
                    .map_err(|e| format!("could not connect to {address}: {e}"))?;
                let mut tls = super::tls::handshake(config.config.clone(), name, tcp).await?;
                Ok((id, over_stream(&mut tls, &query).await?))
            }
            Transport::Https(url) => {
                let answer = client
                    .post(url)
                    .header("content-type", "application/dns-message")
                    .header("accept", "application/dns-message")
                    .body(query)
                    .send()
                    .await
                    .map_err(|e| format!("DNS over HTTPS failed: {}", e.without_url()))?;
                let status = answer.status();
                if !status.is_success() {
                    return Err(format!("DNS over HTTPS answered HTTP {}", status.as_u16()));
                }
                Ok((id, answer.bytes().await.map_err(|e| format!("DNS over HTTPS: {}", e.without_url()))?.to_vec()))
            }
        }
    }
}

impl Ask for DnsSource {
    async fn ask(&self, client: &reqwest::Client, _now: Millis) -> Answer {
        let transport = match &self.transport {
            Ok(t) => t,
            Err(why) => return Answer::Failed(why.clone()),
        };
        // RFC 8484 asks DNS over HTTPS to use id 0, so answers cache; elsewhere a random id
        // makes a forged answer a guess.
        let id = match transport {
            Transport::Https(_) => 0,
            _ => rand::random(),
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, Box::pin(self.exchange(transport, client, id))).await;
        let response_time_ms = started.elapsed().as_millis() as i64;
        let read = match outcome {
            Ok(Ok((asked, bytes))) => wire::response(&bytes).and_then(|r| {
                if r.id == asked { Ok(r) } else { Err(format!("the answer is to another question (id {})", r.id)) }
            }),
            Ok(Err(why)) => Err(why),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        match read {
            Ok(r) => {
                let rcode = wire::rcode_name(r.rcode);
                let body: Vec<&str> = r.answers.iter().map(|a| a.value.as_str()).collect();
                let seen = Observed {
                    connected: true,
                    response_time_ms,
                    body: Value::String(body.join("\n")),
                    dns_rcode: Some(rcode.clone()),
                    ..Observed::default()
                };
                let mut answer = self.judge.judge(seen, None);
                if let Answer::Samples(samples) = &mut answer {
                    let records: Vec<Value> = r
                        .answers
                        .iter()
                        .map(|a| json!({"name": a.name, "type": a.kind, "ttl": a.ttl, "value": a.value}))
                        .collect();
                    samples[0].fields.insert("dns_rcode".into(), Value::String(rcode));
                    samples[0].fields.insert("answers".into(), Value::Array(records));
                    if self.dnssec {
                        samples[0].fields.insert("authenticated".into(), Value::Bool(r.authenticated));
                    }
                }
                answer
            }
            Err(why) => self
                .judge
                .judge(Observed { response_time_ms, ..Observed::default() }, Some(format!("{}: {why}", self.name))),
        }
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests;
