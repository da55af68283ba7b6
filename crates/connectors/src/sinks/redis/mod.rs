//! Redis streams: `redis:STREAM` sinks append an entry with `XADD` (fields `id`, the message id,
//! and `payload`, the JSON), trimmed with `MAXLEN ~ N` when the sink sets `maxlen`.

pub mod consumer;
pub(crate) mod depth;
pub mod resp;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use resp::{Reply, Resp};

use super::address::RedisTarget;
use super::{Message, PublishError};

/// How long a command waits for Redis.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One connection to Redis; commands take turns on it.
pub struct RedisClient {
    conn: tokio::sync::Mutex<Resp>,
    open: AtomicBool,
}

impl RedisClient {
    /// Connects to `url` (`redis://[[user]:password@]host:port[/db]`), authenticating and
    /// selecting the database it names.
    pub async fn connect(url: &str) -> Result<Self, PublishError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| PublishError::Broker(format!("the Redis URL is malformed: {e}")))?;
        let host = parsed.host_str().ok_or_else(|| PublishError::Broker("the Redis URL has no host".into()))?;
        let broken = |e: String| PublishError::Broker(super::without_password(&format!("Redis: {e}"), url));
        let mut conn = tokio::time::timeout(TIMEOUT, Resp::connect(host, parsed.port().unwrap_or(6379)))
            .await
            .map_err(|_| broken(format!("no connection within {TIMEOUT:?}")))?
            .map_err(|e| broken(e.to_string()))?;
        if let Some(password) = parsed.password() {
            let password = super::guard::percent_decode(password);
            let user = super::guard::percent_decode(parsed.username());
            let args: Vec<&[u8]> = if user.is_empty() {
                vec![b"AUTH", password.as_bytes()]
            } else {
                vec![b"AUTH", user.as_bytes(), password.as_bytes()]
            };
            if let Reply::Error(e) = conn.call(&args).await.map_err(|e| broken(e.to_string()))? {
                return Err(broken(format!("authentication refused: {e}")));
            }
        }
        let db = parsed.path().trim_start_matches('/');
        if !db.is_empty()
            && let Reply::Error(e) = conn.call(&[b"SELECT", db.as_bytes()]).await.map_err(|e| broken(e.to_string()))?
        {
            return Err(broken(format!("database {db}: {e}")));
        }
        Ok(Self { conn: tokio::sync::Mutex::new(conn), open: AtomicBool::new(true) })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Sends one command; a failed connection is marked closed (reconnected on next use).
    pub async fn call(&self, args: &[&[u8]]) -> Result<Reply, PublishError> {
        let mut conn = self.conn.lock().await;
        // A call cut short leaves its reply unread: the next would read it as its own.
        let guard = super::guard::CloseUnlessDone::new(&self.open);
        let answer = tokio::time::timeout(TIMEOUT, conn.call(args)).await;
        if matches!(answer, Ok(Ok(_))) {
            guard.done();
        }
        match answer {
            Ok(Ok(Reply::Error(e))) => Err(PublishError::Broker(format!("Redis refused: {e}"))),
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                self.open.store(false, Ordering::Release);
                Err(PublishError::Broker(e.to_string()))
            }
            Err(_) => {
                self.open.store(false, Ordering::Release);
                Err(PublishError::Broker(format!("Redis did not answer within {TIMEOUT:?}")))
            }
        }
    }

    /// Appends `message` to `to`'s stream.
    pub async fn publish(&self, to: &RedisTarget, message: &Message) -> Result<(), PublishError> {
        let maxlen = to.maxlen.map(|n| n.to_string());
        let mut args: Vec<&[u8]> = vec![b"XADD", to.stream.as_bytes()];
        if let Some(n) = &maxlen {
            args.extend([b"MAXLEN".as_slice(), b"~", n.as_bytes()]);
        }
        args.extend([b"*".as_slice(), b"id", message.id.as_bytes(), b"payload", &message.payload]);
        self.call(&args).await.map(|_| ())
    }
}
