//! The Chrome DevTools Protocol over a WebSocket: commands answered by id, and the events that
//! arrive between answers, kept for the page to read.

use std::collections::VecDeque;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::websocket::frame;

/// The largest message read (a screenshot of a tall page is the largest there is).
const MAX_MESSAGE: usize = 64 << 20;

/// A DevTools connection to a browser.
pub struct Cdp {
    stream: TcpStream,
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
        let key = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
        let request = frame::upgrade_request(authority, &path, &key, &[]);
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("DevTools upgrade: {e}"))?;
        let mut cdp = Cdp { stream, buf: Vec::new(), next_id: 0, events: VecDeque::new() };
        let head = cdp.read_head().await?;
        if head.split_whitespace().nth(1) != Some("101") {
            return Err(format!("Chromium's DevTools did not upgrade: `{}`", head.lines().next().unwrap_or("")));
        }
        let accepted = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .any(|(k, v)| k.trim().eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == frame::accept_key(&key));
        if !accepted {
            return Err("Chromium's DevTools did not answer the WebSocket key".into());
        }
        Ok(cdp)
    }

    async fn read_head(&mut self) -> Result<String, String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return Ok(head);
            }
            if self.buf.len() > 16 << 10 {
                return Err("DevTools' upgrade answer is over 16 KiB".into());
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = vec![0u8; 64 << 10];
        let n = self.stream.read(&mut chunk).await.map_err(|e| format!("reading from Chromium: {e}"))?;
        if n == 0 {
            return Err("Chromium closed its DevTools connection".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The next message, answering pings on the way.
    pub async fn next_message(&mut self) -> Result<Value, String> {
        let mut message = Vec::new();
        loop {
            let Some(head) = frame::head(&self.buf) else {
                self.fill().await?;
                continue;
            };
            let end = head.size + head.len as usize;
            if head.len as usize > MAX_MESSAGE || message.len() + head.len as usize > MAX_MESSAGE {
                return Err(format!("a DevTools message over {MAX_MESSAGE} bytes"));
            }
            while self.buf.len() < end {
                self.fill().await?;
            }
            let mut payload: Vec<u8> = self.buf.drain(..end).skip(head.size).collect();
            if let Some(m) = head.mask {
                payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
            }
            match head.opcode {
                frame::PING => {
                    let pong = frame::client_frame(frame::PONG, &payload, mask());
                    self.stream.write_all(&pong).await.map_err(|e| format!("answering a ping: {e}"))?;
                }
                frame::CLOSE => return Err("Chromium closed its DevTools connection".into()),
                frame::TEXT | frame::BINARY | frame::CONTINUATION => {
                    message.extend_from_slice(&payload);
                    if head.fin {
                        return serde_json::from_slice(&message).map_err(|e| format!("a DevTools message: {e}"));
                    }
                }
                _ => {}
            }
        }
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
        let bytes = frame::client_frame(frame::TEXT, command.to_string().as_bytes(), mask());
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

/// A frame mask: any four bytes that change from frame to frame.
fn mask() -> [u8; 4] {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}
