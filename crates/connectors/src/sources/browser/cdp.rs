//! The Chrome DevTools Protocol over a WebSocket (`websocket/client.rs`): commands answered by
//! id, and the events that arrive between answers, kept for the page to read.

use std::collections::VecDeque;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::super::websocket::{client, frame};

/// The largest message read (a screenshot of a tall page is the largest there is).
const MAX_MESSAGE: u64 = 64 << 20;

/// A DevTools connection to a browser.
pub struct Cdp {
    stream: TcpStream,
    /// What was read and not yet taken as a message.
    buf: Vec<u8>,
    next_id: u64,
    /// Events read while waiting for answers, oldest first.
    pub events: VecDeque<Value>,
}

impl Cdp {
    /// Connects to a browser's DevTools endpoint (`ws://127.0.0.1:port/devtools/browser/...`).
    pub async fn connect(endpoint: &str) -> Result<Cdp, String> {
        let rest = endpoint.strip_prefix("ws://").ok_or_else(|| format!("not a ws:// endpoint: {endpoint}"))?;
        let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
        let mut stream = TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connecting to Chromium's DevTools at {authority}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut buf = Vec::new();
        client::upgrade(&mut stream, authority, &path, &[], &mut buf)
            .await
            .map_err(|(_, why)| format!("Chromium's DevTools: {why}"))?;
        Ok(Cdp { stream, buf, next_id: 0, events: VecDeque::new() })
    }

    /// The next message, answering pings on the way.
    pub async fn next_message(&mut self) -> Result<Value, String> {
        let message = client::read_message(&mut self.stream, &mut self.buf, MAX_MESSAGE)
            .await
            .map_err(|(_, why)| format!("Chromium's DevTools: {why}"))?;
        serde_json::from_slice(&message).map_err(|e| format!("a DevTools message: {e}"))
    }

    /// Sends `method` (to the page attached as `session`, or to the browser) and waits for its
    /// answer; events read meanwhile are kept in [`Cdp::events`].
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            command["sessionId"] = json!(s);
        }
        let bytes = frame::client_frame(frame::TEXT, command.to_string().as_bytes(), client::rand_mask());
        self.stream.write_all(&bytes).await.map_err(|e| format!("writing to Chromium: {e}"))?;
        loop {
            let mut message = self.next_message().await?;
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                self.events.push_back(message);
                continue;
            }
            if let Some(error) = message.get("error") {
                let text = error.get("message").and_then(Value::as_str).unwrap_or("an error");
                return Err(format!("{method}: {text}"));
            }
            return Ok(message.get_mut("result").map(Value::take).unwrap_or(Value::Null));
        }
    }
}
