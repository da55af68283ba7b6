//! RESP2, Redis' protocol (<https://redis.io/docs/latest/develop/reference/protocol-spec/>):
//! commands as arrays of bulk strings, replies read by their first byte.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`.
    Error(String),
    /// `:1`.
    Integer(i64),
    /// `$n`, or `$-1` (nil).
    Bulk(Option<Vec<u8>>),
    /// `*n`, or `*-1` (nil).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The text of a simple or bulk string.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// The socket failed.
    #[error("Redis connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server's answer does not read as RESP.
    #[error("Redis sent something that is not RESP: {0}")]
    Protocol(String),
}

/// One connection.
pub struct Resp {
    stream: BufReader<TcpStream>,
}

impl Resp {
    /// Connects to `host:port`.
    pub async fn connect(host: &str, port: u16) -> Result<Self, RespError> {
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream: BufReader::new(stream) })
    }

    /// Sends `args` as one command and reads its reply.
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, RespError> {
        let mut frame = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            frame.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            frame.extend_from_slice(a);
            frame.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&frame).await?;
        self.read().await
    }

    fn read(&mut self) -> std::pin::Pin<Box<dyn Future<Output = Result<Reply, RespError>> + Send + '_>> {
        Box::pin(async move {
            let mut line = String::new();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(RespError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let line = line.trim_end_matches("\r\n");
            let (kind, rest) = line.split_at(line.len().min(1));
            let number = || rest.parse::<i64>().map_err(|_| RespError::Protocol(line.to_string()));
            Ok(match kind {
                "+" => Reply::Simple(rest.to_string()),
                "-" => Reply::Error(rest.to_string()),
                ":" => Reply::Integer(number()?),
                "$" => match number()? {
                    n if n < 0 => Reply::Bulk(None),
                    n => {
                        let mut body = vec![0u8; n as usize + 2];
                        self.stream.read_exact(&mut body).await?;
                        body.truncate(n as usize);
                        Reply::Bulk(Some(body))
                    }
                },
                "*" => match number()? {
                    n if n < 0 => Reply::Array(None),
                    n => {
                        let mut items = Vec::with_capacity(n as usize);
                        for _ in 0..n {
                            items.push(self.read().await?);
                        }
                        Reply::Array(Some(items))
                    }
                },
                _ => return Err(RespError::Protocol(line.to_string())),
            })
        })
    }
}
