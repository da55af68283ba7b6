//! A WebSocket client's side of a connection, over any stream: the upgrade (checked against the
//! key sent) and whole messages read back, pings answered on the way. The `websocket` source and
//! the browser check's DevTools connection both talk through it.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frame;

/// Why a conversation ended early: whether the upgrade had succeeded, and what happened.
pub(crate) type Failed = (bool, String);

/// Sends the upgrade request for `path` on `host` (with `headers`) and reads the answer: a `101`
/// whose `Sec-WebSocket-Accept` answers the key sent. What the server sent after it stays in `buf`.
pub(crate) async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    buf: &mut Vec<u8>,
) -> Result<(), Failed> {
    let nonce: Vec<u8> = [rand_mask(), rand_mask().map(|b| b.rotate_left(3)), rand_mask(), *b"vgil"].concat();
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let request = frame::upgrade_request(host, path, &key, headers);
    stream.write_all(request.as_bytes()).await.map_err(|e| (false, format!("sending the upgrade failed: {e}")))?;
    let head = read_head(stream, buf).await?;
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("101") {
        return Err((false, format!("the server did not upgrade: `{status_line}`")));
    }
    let accept = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, v)| v.trim().to_string());
    if accept.as_deref() != Some(frame::accept_key(&key).as_str()) {
        return Err((false, "the server's Sec-WebSocket-Accept does not answer the key sent".into()));
    }
    Ok(())
}

/// Reads until `buf` holds a whole HTTP head; returns it and leaves what follows in `buf`.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Result<String, Failed> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            return Ok(head);
        }
        if buf.len() > 16 << 10 {
            return Err((false, "the upgrade answer's head is over 16 KiB".into()));
        }
        let mut chunk = [0u8; 4096];
        let n =
            stream.read(&mut chunk).await.map_err(|e| (false, format!("reading the upgrade answer failed: {e}")))?;
        if n == 0 {
            return Err((false, "the server closed the connection during the upgrade".into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The next data message (at most `max` bytes), answering pings on the way; what follows it
/// stays in `buf` for the next call.
pub(crate) async fn read_message<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    max: u64,
) -> Result<Vec<u8>, Failed> {
    let mut message = Vec::new();
    loop {
        if let Some(frame::Head { fin, opcode, mask, len, size: at }) = frame::head(buf) {
            if len > max || message.len() as u64 + len > max {
                return Err((true, format!("a message over {max} bytes")));
            }
            let end = at + len as usize;
            if buf.len() >= end {
                let mut payload: Vec<u8> = buf[at..end].to_vec();
                if let Some(m) = mask {
                    payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
                }
                buf.drain(..end);
                match opcode {
                    frame::PING => {
                        let pong = frame::client_frame(frame::PONG, &payload, rand_mask());
                        stream.write_all(&pong).await.map_err(|e| (true, format!("answering a ping failed: {e}")))?;
                    }
                    frame::PONG => {}
                    frame::CLOSE => return Err((true, "the server closed the connection before answering".into())),
                    frame::TEXT | frame::BINARY | frame::CONTINUATION => {
                        message.extend_from_slice(&payload);
                        if fin {
                            return Ok(message);
                        }
                    }
                    other => return Err((true, format!("a frame of unknown opcode {other}"))),
                }
                continue;
            }
        }
        let mut chunk = [0u8; 16 << 10];
        let n = stream.read(&mut chunk).await.map_err(|e| (true, format!("reading failed: {e}")))?;
        if n == 0 {
            return Err((true, "the server closed the connection before answering".into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Bytes that differ from one use to the next (a frame's mask, a handshake's key).
pub(crate) fn rand_mask() -> [u8; 4] {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    (nanos ^ std::process::id().rotate_left(16)).to_be_bytes()
}
