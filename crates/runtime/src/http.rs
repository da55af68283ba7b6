//! Performs HTTP task calls with reqwest and turns the response into Conductor's task output.

use std::time::Duration;

use serde_json::{Map, Value, json};
use vigil_core::interpreter::{HttpRequest, TaskResult};
use vigil_core::principal::Reach;

/// The client HTTP and query tasks call with, and the room for more calls at once.
pub(crate) struct Calls {
    /// The engine's client (see [`client_for`]).
    pub client: reqwest::Client,
    /// Most calls in flight at once.
    pub slots: tokio::sync::Semaphore,
}

impl Calls {
    /// A client and room for `most` calls at once.
    pub(crate) fn new(most: usize) -> Self {
        Self { client: client(), slots: tokio::sync::Semaphore::new(most) }
    }
}

/// Builds the shared HTTP client. Per-request read timeouts are applied per call.
pub fn client() -> reqwest::Client {
    client_of(Reach::Anywhere)
}

fn client_of(reach: Reach) -> reqwest::Client {
    vigil_connectors::http_client_builder()
        .connect_timeout(Duration::from_millis(vigil_core::interpreter::DEFAULT_CONNECT_TIMEOUT_MS))
        .pool_max_idle_per_host(64)
        .redirect(vigil_connectors::egress::redirect_policy(reach))
        .build()
        .expect("HTTP client")
}

/// The client for a call of `reach`: `shared` (the engine's) for the config directory's and
/// admins' calls, one whose redirects go only where a guarded call may for the others.
pub fn client_for(shared: &reqwest::Client, reach: Reach) -> reqwest::Client {
    static GUARDED: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    match reach {
        Reach::Anywhere => shared.clone(),
        Reach::Guarded => GUARDED.get_or_init(|| client_of(Reach::Guarded)).clone(),
    }
}

/// Performs `req`; non-2xx answers fail the task (retryable) with the response recorded.
pub async fn call(client: &reqwest::Client, req: HttpRequest) -> TaskResult {
    let method = match reqwest::Method::from_bytes(req.method.as_bytes()) {
        Ok(m) => m,
        Err(_) => return failed(format!("invalid HTTP method `{}`", req.method), json!({}), true),
    };
    // reqwest has no per-request read timeout: readTimeOut bounds the whole call, and the
    // client-wide connect timeout bounds connecting.
    let timeout = Duration::from_millis(req.read_timeout_ms);
    let mut builder = client.request(method, &req.uri).timeout(timeout).header("Accept", &req.accept);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(body) = &req.body {
        let text = match body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        builder = builder.header("Content-Type", &req.content_type).body(text);
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return failed(format!("{} {} timed out after {timeout:?}", req.method, req.uri), json!({}), false);
        }
        // Never the URL as reqwest writes it (percent-encoded, with its query): the request line
        // is named once, as resolved, where masking finds its secrets.
        Err(e) => {
            let e = e.without_url();
            return failed(format!("{} {} failed: {}", req.method, req.uri, error_chain(&e)), json!({}), false);
        }
    };
    let status = response.status();
    let mut headers = Map::new();
    for (k, v) in response.headers() {
        headers.insert(k.as_str().to_string(), Value::String(v.to_str().unwrap_or_default().to_string()));
    }
    let limit = max_body_bytes();
    let bytes = match read_capped(response, limit).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            let reason = format!(
                "{} {}: the response body is larger than {limit} bytes (VIGIL_MAX_HTTP_BODY_BYTES)",
                req.method, req.uri
            );
            return failed(reason, json!({}), true);
        }
        Err(e) => {
            return failed(
                format!("{} {}: reading the body failed: {}", req.method, req.uri, error_chain(&e.without_url())),
                json!({}),
                false,
            );
        }
    };
    let body = serde_json::from_slice::<Value>(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    let output = json!({"response": {
        "statusCode": status.as_u16(),
        "reasonPhrase": status.canonical_reason().unwrap_or_default(),
        "headers": headers,
        "body": body,
    }});
    if status.is_success() {
        TaskResult::Completed(output)
    } else {
        failed(format!("{} {} answered {status}", req.method, req.uri), output, false)
    }
}

/// The largest HTTP task response body kept (10 MiB, `VIGIL_MAX_HTTP_BODY_BYTES`): it is stored in
/// the instance, and a task cannot make vigil hold an unbounded answer in memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 << 20;

fn max_body_bytes() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("VIGIL_MAX_HTTP_BODY_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_BODY_BYTES)
    })
}

/// The body, or `None` once it passes `limit` (checked against Content-Length first, then as it
/// streams in, so an endless body is cut off).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

fn failed(reason: String, output: Value, terminal: bool) -> TaskResult {
    TaskResult::Failed { reason, output, terminal }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
