//! The floor under a check's CPU: the same exchange with the same peer, made by a bare client
//! (blocking sockets on a thread of its own, only that thread's CPU counted). On loopback the
//! kernel does much of the peer's side of a connection in the sender's system call (a TCP
//! handshake's server half runs inside the client's `connect`), so that work is counted as the
//! client's, vigil's or this one's alike: what vigil spends above the floor is its own.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::probe_servers::Kind;

/// The floor thread's name.
const FLOOR_THREAD: &str = "bench-floor";

/// How long the bare client runs (its CPU is read in clock ticks: a few seconds keep the error
/// under one per cent).
const RUN_FOR: Duration = Duration::from_secs(3);

/// The bare client's CPU per exchange with `base` (the peer of `kind`), in µs, asking as monitor
/// `index`; `None` for pings when this process may not open a raw ICMP socket.
pub(crate) fn cpu_per_exchange_us(kind: Kind, base: &str, index: usize) -> Result<Option<f64>> {
    let exchange: Box<dyn FnMut() -> Result<()> + Send> = match kind {
        Kind::Icmp => match loopback_ping() {
            Some(ping) => Box::new(ping),
            None => return Ok(None),
        },
        Kind::Http => Box::new(kept_alive_get(base, index)?),
        Kind::Tcp => {
            let addr = base.to_string();
            Box::new(move || connect_send_read_reset(&addr, index))
        }
        Kind::Dns => Box::new(dns_query(base, index)?),
    };
    let run = std::thread::Builder::new().name(FLOOR_THREAD.into()).spawn(move || run(exchange))?;
    let (rounds, cpu) = run.join().map_err(|_| anyhow::anyhow!("the floor's client panicked"))??;
    Ok(Some(1e6 * cpu / rounds.max(1) as f64))
}

/// Runs `exchange` for [`RUN_FOR`]; returns the rounds made and this thread's CPU seconds.
fn run(mut exchange: Box<dyn FnMut() -> Result<()> + Send>) -> Result<(u64, f64)> {
    let cpu0 = thread_cpu_seconds();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < RUN_FOR {
        exchange()?;
        rounds += 1;
    }
    Ok((rounds, thread_cpu_seconds() - cpu0))
}

/// This thread's user and system CPU seconds.
fn thread_cpu_seconds() -> f64 {
    super::measure::stat_cpu_seconds(std::path::Path::new("/proc/thread-self/stat"))
}

/// What a TCP check does: connect, send `PING m{index}`, read the answer, end with a reset.
fn connect_send_read_reset(addr: &str, index: usize) -> Result<()> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    stream.write_all(format!("PING m{index}\r\n").as_bytes())?;
    let mut answer = [0u8; 64];
    if stream.read(&mut answer)? == 0 {
        bail!("the TCP peer closed without answering");
    }
    Ok(())
}

/// What an HTTP check does on a kept-alive connection: `GET /m/{index}`, its whole answer read.
fn kept_alive_get(base: &str, index: usize) -> Result<impl FnMut() -> Result<()> + Send + use<>> {
    let addr = base.strip_prefix("http://").context("the HTTP peer's address")?.to_string();
    let mut stream = TcpStream::connect(&addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let request = format!("GET /m/{index} HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes();
    let mut buf = Vec::with_capacity(1024);
    Ok(move || {
        stream.write_all(&request)?;
        buf.clear();
        loop {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                bail!("the HTTP peer closed the kept-alive connection");
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(length) = whole_response(&buf) {
                if length == buf.len() {
                    return Ok(());
                }
                bail!("the HTTP peer answered more than one response");
            }
        }
    })
}

/// The length of the response at the start of `buf` once all of it is there (its head and a
/// `content-length` body).
fn whole_response(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_ascii_lowercase();
    let length: usize = head.split("\r\n").find_map(|l| l.strip_prefix("content-length:"))?.trim().parse().ok()?;
    (buf.len() >= head_end + length).then_some(head_end + length)
}

/// What a DNS check does: an `A` query for `m{index}.bench.test` over UDP, its answer read.
fn dns_query(addr: &str, index: usize) -> Result<impl FnMut() -> Result<()> + Send + use<>> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(addr).with_context(|| format!("the DNS peer {addr}"))?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in [format!("m{index}"), "bench".into(), "test".into()] {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut answer = [0u8; 512];
    Ok(move || {
        socket.send(&query)?;
        socket.recv(&mut answer).context("the DNS peer did not answer")?;
        Ok(())
    })
}

/// What a ping check does: one echo request to loopback over a raw socket, its reply read (a
/// raw socket sees the request too). `None` without the privilege to open one.
fn loopback_ping() -> Option<impl FnMut() -> Result<()> + Send + use<>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let to = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)).into();
    let id = std::process::id() as u16;
    let mut seq = 0u16;
    let mut buf = [0u8; 256];
    Some(move || {
        seq = seq.wrapping_add(1);
        let mut request = [8, 0, 0, 0, (id >> 8) as u8, id as u8, (seq >> 8) as u8, seq as u8];
        let sum = checksum(&request);
        request[2..4].copy_from_slice(&sum.to_be_bytes());
        socket.send_to(&request, &to)?;
        loop {
            let n = (&socket).read(&mut buf).context("loopback did not answer the ping")?;
            let header = usize::from(buf[0] & 0x0f) * 4;
            let icmp = buf[..n].get(header..).unwrap_or_default();
            if icmp.len() >= 8 && icmp[0] == 0 && icmp[4..8] == request[4..8] {
                return Ok(());
            }
        }
    })
}

/// The Internet checksum of `bytes` (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_whole_once_its_body_is_there() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(whole_response(head), None, "the head alone");
        let whole = [&head[..], b"{\"v\""].concat();
        assert_eq!(whole_response(&whole[..whole.len() - 1]), None, "a byte short");
        assert_eq!(whole_response(&whole), Some(whole.len()));
    }

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071's example, section 3: its one's-complement sum is ddf2.
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        let mut request = [8, 0, 0, 0, 0x12, 0x34, 0, 1];
        let sum = checksum(&request);
        request[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&request), 0, "a packet with its checksum sums to zero");
    }
}
