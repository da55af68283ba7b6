//! The peers of `vigil bench monitors --kind tcp|dns|icmp`: a TCP server answering `PING m{n}`
//! and a DNS server answering `m{n}.bench.test`, each recording when monitor `n`'s check arrived
//! (as the HTTP check server does), and the monitors that ask them. ICMP asks loopback, which the
//! kernel answers: its arrivals are not seen.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_core::monitor::MonitorDef;
use vigil_core::time::Clock;
use vigil_runtime::SystemClock;

use super::lag::{PEER_THREAD, Seen};

/// What the monitors check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// HTTP GET of a JSON value, judged by a threshold.
    Http,
    /// A TCP connection, `PING` sent and `+PONG` expected.
    Tcp,
    /// A DNS A query over UDP, `NOERROR` expected.
    Dns,
    /// One ICMP echo request to loopback.
    Icmp,
}

/// The index `n` of `m{n}` at the start of `text`.
fn monitor_index(text: &[u8]) -> Option<usize> {
    let rest = text.strip_prefix(b"m")?;
    let digits: Vec<u8> = rest.iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// `PING m{n}\r\n` → `+PONG\r\n` (`-ERR\r\n` for the first `failing`), then closed.
pub(crate) async fn tcp_server(failing: usize, seen: Seen) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let index = buf[..n].strip_prefix(b"PING ").and_then(monitor_index);
                if let Some(i) = index {
                    seen.lock().expect("lock").record(i, SystemClock.now());
                }
                let reply: &[u8] = if index.is_some_and(|i| i >= failing) { b"+PONG\r\n" } else { b"-ERR\r\n" };
                let _ = conn.write_all(reply).await;
            });
        }
    });
    Ok(format!("{addr}"))
}

/// Answers `m{n}.bench.test A` with 127.0.0.1 (NXDOMAIN for the first `failing`).
pub(crate) async fn dns_server(failing: usize, seen: Seen) -> Result<String> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let query = &buf[..n];
            if query.len() < 17 {
                continue;
            }
            // The question: labels from byte 12 to their zero, then type and class.
            let mut end = 12;
            while end < query.len() && query[end] != 0 {
                end += 1 + usize::from(query[end]);
            }
            let question_end = (end + 5).min(query.len());
            let index = query.get(13..).and_then(monitor_index);
            if let Some(i) = index {
                seen.lock().expect("lock").record(i, SystemClock.now());
            }
            let found = index.is_some_and(|i| i >= failing);
            let mut answer =
                vec![query[0], query[1], 0x81, if found { 0x80 } else { 0x83 }, 0, 1, 0, u8::from(found), 0, 0, 0, 0];
            answer.extend_from_slice(&query[12..question_end]);
            if found {
                answer.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
            }
            let _ = socket.send_to(&answer, from).await;
        }
    });
    Ok(format!("{addr}"))
}

/// Runs `server` on the bench's peer thread, so its CPU counts apart from vigil's.
pub(crate) fn on_peer_thread<F, Fut>(server: F) -> Result<String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<String>>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name(PEER_THREAD.into()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(async move {
                let _ = tx.send(server().await);
                std::future::pending::<()>().await
            }),
            Err(e) => {
                let _ = tx.send(Err(e.into()));
            }
        }
    })?;
    rx.recv().context("the check server's thread stopped")?
}

/// `count` monitors of `kind` against `address`, every `every` seconds, paged through `hook`.
pub(crate) fn monitors(kind: Kind, address: &str, count: usize, every: u64) -> Result<Vec<MonitorDef>> {
    (0..count)
        .map(|n| {
            let source: Value = match kind {
                Kind::Http => unreachable!("the HTTP monitors are W1's"),
                Kind::Tcp => json!({"tcp": {"url": format!("tcp://{address}"), "body": format!("PING m{n}\r\n"), "timeout": "5s",
                    "conditions": ["[BODY] == pat(+PONG*)"]}}),
                Kind::Dns => json!({"dns": {"url": address, "queryName": format!("m{n}.bench.test"), "timeout": "5s"}}),
                Kind::Icmp => json!({"icmp": {"url": "127.0.0.1", "count": 1, "timeout": "2s"}}),
            };
            let doc = json!({"name": format!("m{n}"), "every": format!("{every}s"), "source": source, "notify": ["hook"], "repeatInterval": "never"});
            let (def, problems) = MonitorDef::build(&doc);
            def.with_context(|| format!("monitor {n}: {problems:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_indexes_are_read_from_what_the_checks_send() {
        assert_eq!(monitor_index(b"m42\r\n"), Some(42));
        assert_eq!(monitor_index(b"m7.bench.test"), Some(7));
        assert_eq!(monitor_index(b"x1"), None);
    }
}
