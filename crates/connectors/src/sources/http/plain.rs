//! Plain `http://` checks without the general client.
//!
//! Most checks are a GET to an `http://` endpoint on a kept-alive connection. Through reqwest
//! such a check builds a request, checks a connection out of hyper's pool, hands the request to
//! the connection's own task over a channel and waits for the answer on another, waking two tasks
//! (often on two threads) per check. Here the request's bytes are prepared once per monitor; a
//! check takes an idle connection (or opens one), writes them, and reads and frames the answer
//! itself: one task, woken by the socket.
//!
//! Only what this handles fully takes this path: `http://` without user info, no proxy in the
//! environment, and headers that are plain text. A redirect that is to be followed goes back to
//! the general client, which follows it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sources::MAX_ANSWER_BYTES;

/// How long an idle connection is kept for the next check (reqwest's pool keeps them 30 s here).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// Most idle connections kept per host.
const MAX_IDLE_PER_HOST: usize = 1_024;

/// Time to open a connection (as the general client's connect timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Most answer headers read.
const MAX_HEADERS: usize = 64;

/// A request made ready once: where it goes and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// `host:port`, to connect to and to pool by (boxed slices: exactly as long as they are, and
    /// 16 bytes inline each instead of 24).
    authority: Box<str>,
    /// The whole request.
    bytes: Box<[u8]>,
}

/// What came back.
#[derive(Debug)]
pub struct Answered {
    /// The status code.
    pub status: u16,
    /// The body (at most [`MAX_ANSWER_BYTES`]).
    pub body: Vec<u8>,
    /// The address that answered (`[IP]`).
    pub peer: Option<std::net::IpAddr>,
}

/// Why a call did not produce an answer.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// No answer: connecting, writing, or reading the answer's head failed.
    Unanswered(String),
    /// The head came (with this status) but the body could not be read.
    Body(u16, String),
}

impl Prepared {
    /// The request's bytes, or `None` when this path does not handle it.
    pub fn new(url: &reqwest::Url, method: &str, headers: &[(String, String)], body: Option<&str>) -> Option<Self> {
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() || proxied() {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let plain = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !headers.iter().all(|(k, v)| token(k) && plain(v)) {
            return None;
        }
        let given = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if given("content-length") || given("transfer-encoding") || given("connection") {
            return None;
        }
        let mut target = url.path().to_string();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let mut text = format!("{method} {target} HTTP/1.1\r\n");
        if !given("host") {
            match url.port() {
                Some(p) => text.push_str(&format!("host: {host}:{p}\r\n")),
                None => text.push_str(&format!("host: {host}\r\n")),
            }
        }
        if !given("user-agent") {
            text.push_str(concat!("user-agent: vigil/", env!("CARGO_PKG_VERSION"), "\r\n"));
        }
        if !given("accept") {
            text.push_str("accept: */*\r\n");
        }
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            text.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        text.push_str("\r\n");
        text.push_str(body);
        Some(Prepared { authority: format!("{host}:{port}").into(), bytes: text.into_bytes().into() })
    }

    /// Sends the request on an idle connection (one that turns out closed is replaced once) or a
    /// new one, and reads the answer. The caller bounds the time.
    pub async fn call(&self) -> Result<Answered, Failure> {
        if let Some(stream) = pool(|p| p.take(&self.authority)) {
            match self.exchange(stream).await {
                // A kept connection the server had closed meanwhile: not an answer; open a new one.
                Err(Failure::Unanswered(_)) => {}
                done => return done,
            }
        }
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&*self.authority)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Failure::Unanswered(e.to_string())),
            Err(_) => return Err(Failure::Unanswered(format!("no connection within {CONNECT_TIMEOUT:?}"))),
        };
        let _ = stream.set_nodelay(true);
        self.exchange(stream).await
    }

    /// One request and its answer on `stream`, which goes back to the pool when it can be reused.
    async fn exchange(&self, mut stream: TcpStream) -> Result<Answered, Failure> {
        let unanswered = |e: std::io::Error| Failure::Unanswered(e.to_string());
        let peer = stream.peer_addr().ok().map(|a| a.ip());
        stream.write_all(&self.bytes).await.map_err(unanswered)?;
        let mut buf = Vec::with_capacity(4096);
        let head = loop {
            match parse_head(&buf) {
                Ok(Some(head)) if (100..200).contains(&head.status) && head.status != 101 => {
                    buf.drain(..head.length); // `100 Continue` and the like: the answer follows.
                    continue;
                }
                Ok(Some(head)) => break head,
                Ok(None) if buf.len() > 64 << 10 => {
                    return Err(Failure::Unanswered("answer head larger than 64 KiB".into()));
                }
                Ok(None) => {}
                Err(e) => return Err(Failure::Unanswered(e)),
            }
            if read_more(&mut stream, &mut buf).await.map_err(unanswered)? == 0 {
                return Err(Failure::Unanswered("connection closed before an answer".into()));
            }
        };
        let status = head.status;
        buf.drain(..head.length);
        // A HEAD request's answer has no body whatever it says (read from the request's first
        // bytes: a flag beside them took 8 bytes per monitor).
        let bodiless = self.bytes.starts_with(b"HEAD ") || status == 204 || status == 304;
        let framing = if bodiless {
            Framing::Length(0)
        } else if head.chunked {
            Framing::Chunked
        } else if let Some(n) = head.length_header {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        let body = read_body(&mut stream, buf, framing).await.map_err(|e| Failure::Body(status, e))?;
        if head.keep_alive && !matches!(framing, Framing::UntilClose) {
            pool(|p| p.put(&self.authority, stream));
        }
        Ok(Answered { status, body, peer })
    }
}

/// Whether the environment names a proxy (which the general client honours).
fn proxied() -> bool {
    static PROXIED: OnceLock<bool> = OnceLock::new();
    *PROXIED.get_or_init(|| {
        ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
    })
}

/// An answer's head.
#[derive(Debug, PartialEq)]
struct Head {
    status: u16,
    /// Bytes the head takes in the buffer.
    length: usize,
    length_header: Option<usize>,
    chunked: bool,
    /// The connection may carry the next request.
    keep_alive: bool,
}

/// The head at the start of `buf`; `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP answer: {e}")),
    };
    let status = response.code.unwrap_or(0);
    let mut head =
        Head { status, length, length_header: None, chunked: false, keep_alive: response.version == Some(1) };
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value.parse().map_err(|_| format!("bad content-length `{value}`"))?;
            if head.length_header.is_some_and(|m| m != n) {
                return Err("conflicting content-length headers".into());
            }
            head.length_header = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            let has = |word: &str| value.split(',').any(|t| t.trim().eq_ignore_ascii_case(word));
            if has("close") {
                head.keep_alive = false;
            } else if has("keep-alive") {
                head.keep_alive = true;
            }
        }
    }
    Ok(Some(head))
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads into `buf`'s spare room (growing it); the bytes read, 0 at the end.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(buf.capacity().max(4096));
    }
    stream.read_buf(buf).await
}

fn too_large() -> String {
    format!("answer larger than {} MiB", MAX_ANSWER_BYTES >> 20)
}

/// The body after the head; `buf` holds what was read past the head already.
async fn read_body(stream: &mut TcpStream, mut buf: Vec<u8>, framing: Framing) -> Result<Vec<u8>, String> {
    let failed = |e: std::io::Error| format!("reading the answer failed: {e}");
    let cut = || "reading the answer failed: connection closed before the whole body".to_string();
    match framing {
        Framing::Length(n) => {
            if n > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            while buf.len() < n {
                buf.reserve_exact(n - buf.len());
                if read_more(stream, &mut buf).await.map_err(failed)? == 0 {
                    return Err(cut());
                }
            }
            buf.truncate(n);
            Ok(buf)
        }
        Framing::UntilClose => loop {
            if buf.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            if read_more(stream, &mut buf).await.map_err(failed)? == 0 {
                return Ok(buf);
            }
        },
        Framing::Chunked => {
            let mut body = Vec::new();
            let mut at = 0; // Where the next unread chunk starts in `buf`.
            loop {
                match dechunk(&buf[at..], &mut body) {
                    Ok(Some(Step::Read(n))) => at += n,
                    Ok(Some(Step::End)) => return Ok(body),
                    Ok(None) => {
                        buf.drain(..at);
                        at = 0;
                        if read_more(stream, &mut buf).await.map_err(failed)? == 0 {
                            return Err(cut());
                        }
                    }
                    Err(e) => return Err(format!("reading the answer failed: {e}")),
                }
                if body.len() > MAX_ANSWER_BYTES {
                    return Err(too_large());
                }
            }
        }
    }
}

enum Step {
    /// A chunk of this many bytes (size line, data and its line end) went into the body.
    Read(usize),
    /// The last chunk and the trailers.
    End,
}

/// The chunk at the start of `buf` into `body`; `None` while incomplete.
fn dechunk(buf: &[u8], body: &mut Vec<u8>) -> Result<Option<Step>, String> {
    let (start, size) = match httparse::parse_chunk_size(buf) {
        Ok(httparse::Status::Complete(found)) => found,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("a bad chunk size".into()),
    };
    if size == 0 {
        // Trailers, if any, end with an empty line.
        let rest = &buf[start..];
        if rest.starts_with(b"\r\n") {
            return Ok(Some(Step::End));
        }
        return Ok(rest.windows(4).any(|w| w == b"\r\n\r\n").then_some(Step::End));
    }
    let size = usize::try_from(size).map_err(|_| "a chunk too large".to_string())?;
    if size > MAX_ANSWER_BYTES {
        return Err("a chunk too large".into());
    }
    let end = start + size;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err("a chunk without its line end".into());
    }
    body.extend_from_slice(&buf[start..end]);
    Ok(Some(Step::Read(end + 2)))
}

/// Idle connections by `host:port`, newest last, one pool per thread.
///
/// Per thread, not per process: a socket is registered with the reactor of the runtime that
/// opened it, and its readiness is delivered by that runtime's thread. The monitor shards are one
/// current-thread runtime each, so a connection taken from a shared pool by another shard was
/// woken through the first shard's thread (an extra wake of a thread, and of an eventfd, per
/// check); from its own thread's pool it never leaves the thread that reads it.
#[derive(Default)]
struct Pool {
    idle: HashMap<String, Vec<(TcpStream, Instant)>>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

fn pool<T>(f: impl FnOnce(&mut Pool) -> T) -> T {
    POOL.with(|pool| f(&mut pool.borrow_mut()))
}

impl Pool {
    /// The newest idle connection to `authority` that is young enough.
    fn take(&mut self, authority: &str) -> Option<TcpStream> {
        let kept = self.idle.get_mut(authority)?;
        while let Some((stream, since)) = kept.pop() {
            if since.elapsed() < IDLE_FOR {
                return Some(stream);
            }
            kept.clear(); // Older ones are older still.
        }
        None
    }

    fn put(&mut self, authority: &str, stream: TcpStream) {
        let kept = match self.idle.get_mut(authority) {
            Some(kept) => kept,
            None => self.idle.entry(authority.to_string()).or_default(),
        };
        // The oldest are first: drop those past their time, and the oldest beyond the limit.
        let stale = kept.iter().take_while(|(_, since)| since.elapsed() >= IDLE_FOR).count();
        let over = (kept.len() - stale + 1).saturating_sub(MAX_IDLE_PER_HOST);
        kept.drain(..stale + over);
        kept.push((stream, Instant::now()));
    }
}

#[cfg(test)]
mod tests;
