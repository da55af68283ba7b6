//! What a check that opens its own connection (`tcp`, `websocket`, `grpc`) saw, from how its
//! conversation ended: what it read, or whether it had connected and why not, or no end within
//! the time allowed.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::conditions::Observed;

/// How a conversation ended: what it read, or whether it had connected and why not.
pub(crate) type Ended<T> = Result<T, (bool, String)>;

/// The check's observation and note: `outcome` of a conversation with `place`, begun at
/// `started`, limited to `timeout`; `read` turns what it read into `[BODY]`; `expires_in` is
/// the certificate's time left, when TLS was made.
pub(crate) fn observed<T>(
    outcome: Result<Ended<T>, tokio::time::error::Elapsed>,
    place: &str,
    (started, timeout): (Instant, Duration),
    expires_in: Option<i64>,
    read: impl FnOnce(T) -> Value,
) -> (Observed, Option<String>) {
    let mut seen = Observed {
        response_time_ms: started.elapsed().as_millis() as i64,
        certificate_expires_in_ms: expires_in,
        ..Observed::default()
    };
    let note = match outcome {
        Ok(Ok(answer)) => {
            seen.connected = true;
            seen.body = read(answer);
            None
        }
        Ok(Err((connected, why))) => {
            seen.connected = connected;
            Some(why)
        }
        Err(_) => Some(format!("{place}: no answer within {timeout:?}")),
    };
    (seen, note)
}

/// Bytes read as `[BODY]`: text, invalid UTF-8 replaced.
pub(crate) fn text(bytes: Vec<u8>) -> Value {
    Value::String(String::from_utf8_lossy(&bytes).into_owned())
}
