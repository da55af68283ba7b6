//! A NATS client speaking the text protocol (<https://docs.nats.io/reference/reference-protocols/nats-protocol>):
//! CONNECT with headers and no-responders, publish with headers (HPUB), request/reply through
//! one wildcard inbox subscription, PING/PONG as a flush, and subscriptions delivering to a
//! channel. One task reads the socket; writes share a lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

/// How long a request or flush waits for the server.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A message the server delivered.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Its subject.
    pub subject: String,
    /// Where to reply (JetStream: the ack subject).
    pub reply: Option<String>,
    /// Its status line's code, when the headers have one (503: no responders).
    pub status: Option<u16>,
    /// Its headers.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub payload: Vec<u8>,
}

impl Delivery {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why the connection failed.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The socket failed.
    #[error("NATS connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server said `-ERR`.
    #[error("NATS server: {0}")]
    Server(String),
    /// The server did not answer in time.
    #[error("the NATS server did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection is closed.
    #[error("the NATS connection is closed")]
    Closed,
    /// The URL is not `nats://[user:password@]host:port`.
    #[error("the NATS URL is malformed: {0}")]
    Url(String),
}

#[derive(Default)]
struct Routes {
    /// Waiters for replies to requests, by the token ending their reply subject.
    replies: HashMap<u64, oneshot::Sender<Delivery>>,
    /// Waiters for PONGs, in the order their PINGs were sent.
    pongs: VecDeque<oneshot::Sender<()>>,
    /// Subscriptions, by sid.
    subs: HashMap<u64, mpsc::UnboundedSender<Delivery>>,
}

/// One connection to a NATS server.
pub struct Connection {
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    routes: Arc<std::sync::Mutex<Routes>>,
    open: Arc<AtomicBool>,
    inbox: String,
    next: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The sid of the inbox subscription.
const INBOX_SID: u64 = 1;

impl Connection {
    /// Connects to `url` (`nats://[user:password@]host:port`, or `nats://token@host:port`).
    pub async fn connect(url: &str) -> Result<Self, NatsError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| NatsError::Url(e.to_string()))?;
        let host = parsed.host_str().ok_or_else(|| NatsError::Url("no host".into()))?;
        let port = parsed.port().unwrap_or(4222);
        let stream = tokio::time::timeout(REPLY_TIMEOUT, TcpStream::connect((host, port)))
            .await
            .map_err(|_| NatsError::Timeout(REPLY_TIMEOUT))??;
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let mut line = String::new();
        tokio::time::timeout(REPLY_TIMEOUT, reader.read_line(&mut line))
            .await
            .map_err(|_| NatsError::Timeout(REPLY_TIMEOUT))??;
        if !line.starts_with("INFO ") {
            return Err(NatsError::Server(format!("expected INFO, got {:?}", line.trim_end())));
        }
        let mut connect = serde_json::json!({
            "verbose": false, "pedantic": false, "headers": true, "no_responders": true,
            "lang": "rust", "version": env!("CARGO_PKG_VERSION"), "protocol": 1, "name": "vigil",
        });
        let user = super::super::guard::percent_decode(parsed.username());
        match parsed.password() {
            Some(p) => {
                connect["user"] = user.into();
                connect["pass"] = super::super::guard::percent_decode(p).into();
            }
            None if !user.is_empty() => connect["auth_token"] = user.into(),
            None => {}
        }
        write.write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes()).await?;
        // The first answer is PONG, or -ERR (authorization).
        loop {
            line.clear();
            let n = tokio::time::timeout(REPLY_TIMEOUT, reader.read_line(&mut line))
                .await
                .map_err(|_| NatsError::Timeout(REPLY_TIMEOUT))??;
            if n == 0 {
                return Err(NatsError::Closed);
            }
            match line.trim_end() {
                "PONG" => break,
                "+OK" => {}
                l if l.starts_with("INFO ") => {}
                l if l.starts_with("-ERR") => return Err(NatsError::Server(l[4..].trim().trim_matches('\'').into())),
                other => return Err(NatsError::Server(format!("unexpected {other:?}"))),
            }
        }
        let inbox = format!("_INBOX.{}", uuid::Uuid::new_v4().simple());
        write.write_all(format!("SUB {inbox}.* {INBOX_SID}\r\n").as_bytes()).await?;
        let writer = Arc::new(tokio::sync::Mutex::new(write));
        let routes: Arc<std::sync::Mutex<Routes>> = Default::default();
        let open = Arc::new(AtomicBool::new(true));
        let reader = tokio::spawn(read_loop(reader, routes.clone(), open.clone(), writer.clone()));
        Ok(Self { writer, routes, open, inbox, next: AtomicU64::new(INBOX_SID + 1), reader })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Publishes `payload` to `subject` with `headers`, asking for replies at `reply`.
    async fn write_pub(
        &self,
        w: &mut OwnedWriteHalf,
        subject: &str,
        reply: Option<&str>,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<(), NatsError> {
        let mut head = String::from("NATS/1.0\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let reply = reply.map(|r| format!(" {r}")).unwrap_or_default();
        let mut frame = format!("HPUB {subject}{reply} {} {}\r\n", head.len(), head.len() + payload.len()).into_bytes();
        frame.extend_from_slice(head.as_bytes());
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        w.write_all(&frame).await?;
        Ok(())
    }

    /// Publishes, then waits until the server has read it (a PING answered after it).
    pub async fn publish(&self, subject: &str, headers: &[(&str, &str)], payload: &[u8]) -> Result<(), NatsError> {
        self.check_open()?;
        let (tx, rx) = oneshot::channel();
        {
            let mut w = self.writer.lock().await;
            // A frame cut short corrupts the stream.
            let guard = super::super::guard::CloseUnlessDone::new(&self.open);
            self.write_pub(&mut w, subject, None, headers, payload).await?;
            self.routes.lock().expect("lock").pongs.push_back(tx);
            w.write_all(b"PING\r\n").await?;
            guard.done();
        }
        self.wait(rx).await
    }

    /// Waits until the server has read everything sent before (a PING answered).
    pub async fn flush(&self) -> Result<(), NatsError> {
        self.check_open()?;
        let (tx, rx) = oneshot::channel();
        {
            let mut w = self.writer.lock().await;
            self.routes.lock().expect("lock").pongs.push_back(tx);
            w.write_all(b"PING\r\n").await.inspect_err(|_| self.close())?;
        }
        self.wait(rx).await
    }

    /// Publishes `payload` to `subject` asking for replies at `reply`, without waiting.
    pub async fn send_request(&self, subject: &str, reply: &str, payload: &[u8]) -> Result<(), NatsError> {
        self.check_open()?;
        let frame = [format!("PUB {subject} {reply} {}\r\n", payload.len()).as_bytes(), payload, b"\r\n"].concat();
        self.writer.lock().await.write_all(&frame).await.inspect_err(|_| self.close())?;
        Ok(())
    }

    /// A subject no one else receives on, for replies to a subscription of this connection.
    pub fn new_inbox(&self) -> String {
        format!("{}_s.{}", self.inbox, self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends a request and waits for its reply (a 503 status when nobody listens).
    pub async fn request(
        &self,
        subject: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<Delivery, NatsError> {
        self.check_open()?;
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.routes.lock().expect("lock").replies.insert(token, tx);
        let reply = format!("{}.{token}", self.inbox);
        let sent = {
            let mut w = self.writer.lock().await;
            let guard = super::super::guard::CloseUnlessDone::new(&self.open);
            let sent = self.write_pub(&mut w, subject, Some(&reply), headers, payload).await;
            if sent.is_ok() {
                guard.done();
            }
            sent
        };
        if let Err(e) = sent {
            self.routes.lock().expect("lock").replies.remove(&token);
            self.close();
            return Err(e);
        }
        let answer = self.wait(rx).await;
        self.routes.lock().expect("lock").replies.remove(&token);
        answer
    }

    /// Subscribes to `subject` (in `queue_group`, if any); deliveries arrive on the receiver.
    pub async fn subscribe(
        &self,
        subject: &str,
        queue_group: Option<&str>,
    ) -> Result<mpsc::UnboundedReceiver<Delivery>, NatsError> {
        self.check_open()?;
        let sid = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes.lock().expect("lock").subs.insert(sid, tx);
        let group = queue_group.map(|g| format!(" {g}")).unwrap_or_default();
        self.writer.lock().await.write_all(format!("SUB {subject}{group} {sid}\r\n").as_bytes()).await?;
        Ok(rx)
    }

    /// Publishes without waiting (an ack to JetStream's reply subject).
    pub async fn send(&self, subject: &str, payload: &[u8]) -> Result<(), NatsError> {
        self.check_open()?;
        let frame = [format!("PUB {subject} {}\r\n", payload.len()).as_bytes(), payload, b"\r\n"].concat();
        self.writer.lock().await.write_all(&frame).await.inspect_err(|_| self.close())?;
        Ok(())
    }

    fn check_open(&self) -> Result<(), NatsError> {
        if self.is_open() { Ok(()) } else { Err(NatsError::Closed) }
    }

    fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    async fn wait<T>(&self, rx: oneshot::Receiver<T>) -> Result<T, NatsError> {
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(NatsError::Closed),
            Err(_) => Err(NatsError::Timeout(REPLY_TIMEOUT)),
        }
    }
}

/// Reads the server's messages until the connection ends, routing each.
async fn read_loop(
    mut reader: BufReader<OwnedReadHalf>,
    routes: Arc<std::sync::Mutex<Routes>>,
    open: Arc<AtomicBool>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
) {
    let mut line = String::new();
    let outcome: Result<(), NatsError> = async {
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Err(NatsError::Closed);
            }
            let l = line.trim_end();
            let (op, args) = l.split_once(' ').unwrap_or((l, ""));
            match op {
                "PING" => writer.lock().await.write_all(b"PONG\r\n").await?,
                "PONG" => {
                    if let Some(tx) = routes.lock().expect("lock").pongs.pop_front() {
                        let _ = tx.send(());
                    }
                }
                "+OK" | "INFO" => {}
                "-ERR" => tracing::warn!(error = args, "The NATS server reported an error."),
                "MSG" | "HMSG" => {
                    let parts: Vec<&str> = args.split_whitespace().collect();
                    let (subject, sid, reply, header_len, total) = match (op, parts.as_slice()) {
                        ("MSG", [s, sid, n]) => (*s, *sid, None, 0, n.parse().unwrap_or(0)),
                        ("MSG", [s, sid, r, n]) => (*s, *sid, Some(*r), 0, n.parse().unwrap_or(0)),
                        ("HMSG", [s, sid, h, n]) => (*s, *sid, None, h.parse().unwrap_or(0), n.parse().unwrap_or(0)),
                        ("HMSG", [s, sid, r, h, n]) => {
                            (*s, *sid, Some(*r), h.parse().unwrap_or(0), n.parse().unwrap_or(0))
                        }
                        _ => return Err(NatsError::Server(format!("malformed {op}: {args}"))),
                    };
                    let mut body = vec![0u8; total + 2];
                    reader.read_exact(&mut body).await?;
                    body.truncate(total);
                    let payload = body.split_off(header_len.min(total));
                    let (status, headers) = parse_headers(&body);
                    let delivery = Delivery {
                        subject: subject.to_string(),
                        reply: reply.map(str::to_string),
                        status,
                        headers,
                        payload,
                    };
                    route(&routes, sid.parse().unwrap_or(0), delivery);
                }
                _ => {}
            }
        }
    }
    .await;
    if let Err(e) = outcome {
        tracing::debug!(error = %e, "A NATS connection ended.");
    }
    open.store(false, Ordering::Release);
    let mut r = routes.lock().expect("lock");
    r.replies.clear();
    r.pongs.clear();
    r.subs.clear();
}

fn route(routes: &std::sync::Mutex<Routes>, sid: u64, delivery: Delivery) {
    let mut r = routes.lock().expect("lock");
    if sid == INBOX_SID {
        let token = delivery.subject.rsplit('.').next().and_then(|t| t.parse().ok());
        if let Some(tx) = token.and_then(|t| r.replies.remove(&t)) {
            let _ = tx.send(delivery);
        }
    } else if let Some(tx) = r.subs.get(&sid)
        && tx.send(delivery).is_err()
    {
        r.subs.remove(&sid);
    }
}

/// `NATS/1.0 [code [text]]` then `Key: Value` lines.
fn parse_headers(block: &[u8]) -> (Option<u16>, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(block);
    let mut lines = text.split("\r\n");
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok());
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    (status, headers)
}
