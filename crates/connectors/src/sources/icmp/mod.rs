//! `icmp`: does a host answer ping? Sends `count` ICMP echo requests (IPv4 or IPv6) to
//! `icmp://host` (Gatus' form) or a bare host, `interval` apart, and waits up to `timeout` after
//! the last for the replies. As Gatus judges an `icmp://` endpoint, `[CONNECTED]` is whether a
//! reply came and `[RESPONSE_TIME]` the mean round trip; `[BODY]` holds the run's figures
//! (`[BODY].packet_loss < 20`, `[BODY].rtt_max < 100`).
//!
//! It opens an unprivileged ICMP socket where the kernel allows one (`net.ipv4.ping_group_range`
//! holds the process's group), a raw socket otherwise (`CAP_NET_RAW`), and says which is missing
//! when neither opens.

mod packet;

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use socket2::{Domain, Protocol, Socket, Type};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::shared_socket::{SharedSocket, sharing_here};
use super::{Ask, SourceConfig, SourceProblem};
use packet::Figures;

/// Told apart from other runs on a raw socket, which sees every reply on the host.
static NEXT_ID: AtomicU16 = AtomicU16::new(0);
/// Most echo requests one check sends.
const MAX_COUNT: u32 = 100;

/// What a monitor writes under `source: {icmp: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IcmpConfig {
    /// The host: `icmp://host` (Gatus' form), a name or an address (IPv6 without brackets).
    pub url: String,
    /// Echo requests per check (default 3, at most 100).
    #[serde(default)]
    pub count: Option<u32>,
    /// Time between requests (default 500ms).
    #[serde(default)]
    pub interval: Option<String>,
    /// Time to wait for replies after the last request (default 2s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// `v4` or `v6`: which of the name's addresses to ping (default the first it resolves to).
    #[serde(default)]
    pub ip: Option<String>,
    /// Conditions that must all hold; by default `[CONNECTED] == true` (a reply came).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// An ICMP source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct IcmpSource {
    /// The host, or why not while it still holds a `${...}` reference.
    host: Result<String, String>,
    family: Option<bool>,
    count: u32,
    interval: Duration,
    timeout: Duration,
    judge: Judge,
}

impl SourceConfig for IcmpConfig {
    type Built = IcmpSource;

    fn build(self) -> Result<IcmpSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let host = self.url.strip_prefix("icmp://").unwrap_or(&self.url).trim_end_matches('/');
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // A colon belongs to an IPv6 address only: `host:port` is not a host to ping.
        let has_port = bare.contains(':') && bare.parse::<std::net::Ipv6Addr>().is_err();
        let host = if host.contains("${") {
            Err(format!("icmp: `url` still holds a reference: {}", self.url))
        } else if bare.is_empty() || bare.contains(['/', ' ', '@']) || has_port {
            return Err(problem("url", format!("`{}` is not a host: write icmp://host (no port)", self.url)));
        } else {
            Ok(bare.to_string())
        };
        let family = match self.ip.as_deref() {
            None => None,
            Some("v4") => Some(false),
            Some("v6") => Some(true),
            Some(other) => return Err(problem("ip", format!("`ip` is v4 or v6, got `{other}`"))),
        };
        let count = self.count.unwrap_or(3);
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(problem("count", format!("`count` is 1 to {MAX_COUNT}, got {count}")));
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]") || c.contains("[CERTIFICATE")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a ping has no status or certificate: use [CONNECTED], [RESPONSE_TIME] or [BODY].packet_loss".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[CONNECTED] == true", self.failing.as_deref(), false)?;
        let interval = super::duration(self.interval.as_deref(), Duration::from_millis(500)).map_err(|e| {
            SourceProblem { path: "interval".into(), message: e.message.replacen("`timeout`", "`interval`", 1) }
        })?;
        let timeout = super::duration(self.timeout.as_deref(), Duration::from_secs(2))?;
        Ok(IcmpSource { host, family, count, interval, timeout, judge })
    }
}

/// An ICMP socket for `v6`, unprivileged if the kernel allows, else raw: the socket and whether
/// it is raw. When neither opens, what is missing.
fn open(v6: bool) -> Result<(Socket, bool), String> {
    let (domain, protocol) = if v6 { (Domain::IPV6, Protocol::ICMPV6) } else { (Domain::IPV4, Protocol::ICMPV4) };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => (s, false),
        Err(unprivileged) => match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => (s, true),
            Err(raw) => {
                let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap_or_default();
                return Err(format!(
                    "cannot ping: no unprivileged ICMP socket ({unprivileged}; net.ipv4.ping_group_range is `{}`, \
                     which must include this process's group) and no raw socket ({raw}; it needs CAP_NET_RAW)",
                    range.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        },
    };
    socket.set_nonblocking(true).map_err(|e| format!("cannot ping: {e}"))?;
    let _ = socket.set_recv_buffer_size(super::shared_socket::RECEIVE_BUFFER);
    Ok((socket, raw))
}

/// Lets only echo replies with `id` reach a raw socket ([`packet::reply_filter`]). Best effort:
/// without it the reader sorts them out itself.
fn keep_only_replies(socket: &Socket, v6: bool, id: u16) {
    let program: Vec<socket2::SockFilter> = packet::reply_filter(v6, id)
        .into_iter()
        .map(|(code, jt, jf, k)| socket2::SockFilter::new(code, jt, jf, k))
        .collect();
    let _ = socket.attach_filter(&program);
}

impl IcmpSource {
    /// The address to ping.
    async fn address(&self, host: &str) -> Result<IpAddr, String> {
        let found = tokio::net::lookup_host((host, 0)).await.map_err(|e| format!("could not resolve {host}: {e}"))?;
        let mut addresses = found.map(|a| a.ip()).filter(|ip| self.family.is_none_or(|v6| ip.is_ipv6() == v6));
        addresses
            .next()
            .ok_or_else(|| format!("{host} has no {} address", if self.family == Some(true) { "IPv6" } else { "IPv4" }))
    }

    /// Pings `target`: the round trips of the replies that came (ms).
    async fn run(&self, target: IpAddr) -> Result<Vec<f64>, String> {
        let v6 = target.is_ipv6();
        let pinger = Pinger::for_family(v6)?;
        let count = self.count as usize;
        let (claim, mut replies) = pinger
            .shared
            .claim(count, || (target, pinger.next_seq.fetch_add(1, Ordering::Relaxed)))
            .ok_or_else(|| format!("cannot ping {target}: too many pings under way on this thread"))?;
        let to = SocketAddr::new(target, 0);
        let start = tokio::time::Instant::now();
        let end = start + self.interval * count.saturating_sub(1) as u32 + self.timeout;
        let mut sent_at: Vec<Option<Instant>> = vec![None; count];
        let mut round_trips = vec![None; count];
        let mut next = 0usize;
        loop {
            let next_send = start + self.interval * next as u32;
            tokio::select! {
                _ = tokio::time::sleep_until(next_send), if next < count => {
                    let request = packet::echo_request(v6, pinger.id, claim.keys[next].1);
                    let sent = Instant::now();
                    pinger.shared.socket().send_to(&request, to).await.map_err(|e| format!("sending to {target} failed: {e}"))?;
                    sent_at[next] = Some(sent);
                    next += 1;
                }
                Some(heard) = replies.recv() => {
                    // An error an ICMP socket reports is not a reply: the ping waits on.
                    let Ok((seq, at)) = heard else { continue };
                    let Some(i) = claim.keys.iter().position(|k| k.1 == seq) else { continue };
                    if let Some(sent) = sent_at[i] {
                        round_trips[i].get_or_insert(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                    }
                    if next == count && round_trips.iter().all(Option::is_some) {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(end), if next == count => break,
            }
        }
        Ok(round_trips.into_iter().flatten().collect())
    }
}

/// An ICMP socket pings go out on, its replies sorted to the pings waiting for them by the
/// replying address and the sequence number. One per family is kept on a monitor shard's thread
/// ([`super::shared_socket::share_on_this_thread`]); elsewhere each check opens its own.
#[derive(Clone)]
struct Pinger {
    shared: Arc<SharedSocket<(IpAddr, u16), (u16, Instant)>>,
    /// The id of this socket's requests: a raw socket sees every reply on the host, told apart by
    /// it (a datagram socket's id is the kernel's, and only its own replies reach it).
    id: u16,
    next_seq: Arc<AtomicU16>,
}

thread_local! {
    /// The pingers kept on this thread, IPv4 and IPv6.
    static KEPT: RefCell<[Option<Pinger>; 2]> = const { RefCell::new([None, None]) };
}

impl Pinger {
    /// A new socket for `v6`, read on the current runtime.
    fn open(v6: bool) -> Result<Pinger, String> {
        let (socket, raw) = open(v6)?;
        let id = (std::process::id() as u16).wrapping_add(NEXT_ID.fetch_add(1, Ordering::Relaxed));
        if raw {
            keep_only_replies(&socket, v6, id);
        }
        let socket = tokio::net::UdpSocket::from_std(socket.into()).map_err(|e| format!("cannot ping: {e}"))?;
        let shared = SharedSocket::new(socket, move |datagram, from| {
            let (reply_id, seq) = packet::echo_reply(datagram, v6, raw)?;
            (!raw || reply_id == id).then(|| ((from.ip(), seq), (seq, Instant::now())))
        });
        Ok(Pinger { shared: Arc::new(shared), id, next_seq: Arc::default() })
    }

    /// The pinger for `v6`: the thread's kept one where sockets are shared, a new one otherwise.
    fn for_family(v6: bool) -> Result<Pinger, String> {
        if !sharing_here() {
            return Pinger::open(v6);
        }
        KEPT.with(|kept| {
            let mut kept = kept.borrow_mut();
            let slot = &mut kept[usize::from(v6)];
            if let Some(pinger) = slot {
                return Ok(pinger.clone());
            }
            let pinger = Pinger::open(v6)?;
            *slot = Some(pinger.clone());
            Ok(pinger)
        })
    }
}

impl Ask for IcmpSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        let host = match &self.host {
            Ok(h) => h,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let ran = async {
            let target = self.address(host).await?;
            Ok::<_, String>((target, Box::pin(self.run(target)).await?))
        };
        match ran.await {
            Ok((target, round_trips)) => {
                let figures = Figures::of(self.count as usize, &round_trips);
                let round = |x: f64| (x * 1000.0).round() / 1000.0;
                let (min, avg, max) = figures
                    .rtt
                    .map_or((None, None, None), |(a, b, c)| (Some(round(a)), Some(round(b)), Some(round(c))));
                let seen = Observed {
                    connected: figures.received > 0,
                    response_time_ms: avg.map_or(0, |a| a.round() as i64),
                    body: json!({"address": target.to_string(), "sent": figures.sent, "received": figures.received,
                        "packet_loss": figures.packet_loss, "rtt_min": min, "rtt_avg": avg, "rtt_max": max}),
                    ..Observed::default()
                };
                let note = (figures.received == 0)
                    .then(|| format!("{host} ({target}): no reply to {} echo requests", figures.sent));
                self.judge.judge(seen, note)
            }
            // Not reaching the host (no address, no socket) is a failed check, not a failed
            // source: a condition may want exactly that.
            Err(why) => self.judge.judge(
                Observed { body: json!({"sent": 0, "received": 0, "packet_loss": 100.0}), ..Observed::default() },
                Some(why),
            ),
        }
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests;
