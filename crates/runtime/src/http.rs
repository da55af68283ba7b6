//! Performs HTTP task calls with reqwest and turns the response into Conductor's task output.

use std::time::Duration;

use serde_json::{Map, Value, json};
use vigil_core::interpreter::{HttpRequest, TaskResult};

/// Builds the shared HTTP client. Per-request read timeouts are applied per call.
pub fn client() -> reqwest::Client {
    vigil_connectors::http_client_builder()
        .connect_timeout(Duration::from_millis(vigil_core::interpreter::DEFAULT_CONNECT_TIMEOUT_MS))
        .pool_max_idle_per_host(64)
        .build()
        .expect("HTTP client")
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
        Err(e) => return failed(format!("{} {} failed: {}", req.method, req.uri, error_chain(&e)), json!({}), false),
    };
    let status = response.status();
    let mut headers = Map::new();
    for (k, v) in response.headers() {
        headers.insert(k.as_str().to_string(), Value::String(v.to_str().unwrap_or_default().to_string()));
    }
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return failed(
                format!("{} {}: reading the body failed: {}", req.method, req.uri, error_chain(&e)),
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
