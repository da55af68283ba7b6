//! Per-connection deadlines that tell a slow request apart from an idle keep-alive connection.
//!
//! hyper's own `header_read_timeout` starts counting as soon as a response is sent, so an idle
//! keep-alive connection is closed after the same short time a slowloris client gets. A client
//! that reuses its pooled connection just as that time runs out (a worker polling or a scraper
//! scraping every 10 s against a 10 s limit) then sees "connection closed" on a healthy server.
//! [`Deadlined`] counts the head's deadline from the request's first byte instead, and gives an
//! idle connection a longer one of its own.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a connection's deadlines run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a request's first byte to the blank line that ends its head.
    pub head: Duration,
    /// From the last byte written or read to the next request's first byte.
    pub idle: Duration,
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request; `idle` runs.
    Idle,
    /// A request's head is arriving; `head` runs. The number is how much of `\r\n\r\n` the last
    /// bytes matched.
    Head(u8),
    /// The head is in; the body's own timeout and the handler take over.
    Past,
}

/// A connection whose reads fail with [`io::ErrorKind::TimedOut`] when a head or an idle spell
/// runs past its [`Limits`].
pub struct Deadlined<S> {
    inner: S,
    limits: Limits,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Deadlined<S> {
    /// Wraps a fresh connection, which starts idle.
    pub fn new(inner: S, limits: Limits) -> Self {
        Self { inner, limits, phase: Phase::Idle, deadline: Box::pin(tokio::time::sleep(limits.idle)) }
    }

    fn enter(&mut self, phase: Phase, within: Duration) {
        self.phase = phase;
        self.deadline.as_mut().reset(Instant::now() + within);
    }

    /// Follows the bytes just read through the head's end marker.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut matched = match self.phase {
            Phase::Past => return,
            Phase::Idle => {
                self.enter(Phase::Head(0), self.limits.head);
                0
            }
            Phase::Head(matched) => matched,
        };
        for &b in bytes {
            matched = match (matched, b) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                self.phase = Phase::Past;
                return;
            }
        }
        self.phase = Phase::Head(matched);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlined<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.phase != Phase::Past && self.deadline.as_mut().poll(cx).is_ready() => {
                let what = if self.phase == Phase::Idle { "idle" } else { "the request head" };
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("{what} took too long"))))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadlined<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S> Deadlined<S> {
    /// A response is going out: the connection counts as idle from here until the next request
    /// (a streamed response keeps it so by writing).
    fn wrote(&mut self) {
        let idle = self.limits.idle;
        self.enter(Phase::Idle, idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMITS: Limits = Limits { head: Duration::from_millis(300), idle: Duration::from_secs(3) };

    /// A tiny server: answers each head with "ok", as often as asked.
    async fn echo_heads() -> (std::net::SocketAddr, tokio::task::JoinHandle<io::Result<()>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let mut conn = Deadlined::new(stream, LIMITS);
            let mut buf = [0u8; 256];
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                if conn.phase == Phase::Past {
                    conn.write_all(b"ok").await?;
                }
            }
        });
        (addr, server)
    }

    #[tokio::test]
    async fn an_idle_connection_outlives_the_head_limit() {
        let (addr, server) = echo_heads().await;
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut answer = [0u8; 2];
        for _ in 0..2 {
            client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
            client.read_exact(&mut answer).await.unwrap();
            assert_eq!(&answer, b"ok");
            // Idle for longer than a head may take, shorter than the idle limit.
            tokio::time::sleep(LIMITS.head * 3).await;
        }
        drop(client);
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_trickled_head_is_cut_off() {
        let (addr, server) = echo_heads().await;
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let err = server.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("request head"), "{err}");
    }

    #[tokio::test]
    async fn the_end_of_a_head_is_found_across_reads() {
        let (addr, server) = echo_heads().await;
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        for part in [&b"GET / HTTP/1.1\r\nHost: x\r"[..], b"\n\r", b"\n"] {
            client.write_all(part).await.unwrap();
            client.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut answer = [0u8; 2];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ok");
        drop(client);
        server.await.unwrap().unwrap();
    }

    #[test]
    fn a_lone_cr_restarts_the_match() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let mut conn = Deadlined::new(tokio::io::empty(), LIMITS);
            conn.saw(b"a\r\r\n\r");
            assert_eq!(conn.phase, Phase::Head(3));
            conn.saw(b"x\r\n\r\n");
            assert_eq!(conn.phase, Phase::Past);
        });
    }
}
