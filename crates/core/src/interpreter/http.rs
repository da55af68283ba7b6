//! The HTTP task's request, read from Conductor's `http_request` input (or the flat form).

use serde_json::{Map, Value};

/// Default connect timeout. Conductor's is 100 ms.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Default read timeout. Conductor's 150 ms fails most real APIs; vigil waits 30 s.
pub const DEFAULT_READ_TIMEOUT_MS: u64 = 30_000;

/// A fully resolved HTTP call.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Absolute URL.
    pub uri: String,
    /// Upper-case method.
    pub method: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body: strings are sent as they are, other values as JSON.
    pub body: Option<Value>,
    /// `Accept` header.
    pub accept: String,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// Connect timeout.
    pub connect_timeout_ms: u64,
    /// Read timeout.
    pub read_timeout_ms: u64,
}

impl HttpRequest {
    /// Reads the request from a resolved task input.
    pub fn from_input(input: &Map<String, Value>) -> Result<Self, String> {
        let req = match input.get("http_request") {
            Some(Value::Object(r)) => r,
            Some(_) => return Err("`http_request` must be an object".into()),
            None => input,
        };
        let uri = match req.get("uri") {
            Some(Value::String(u)) if !u.is_empty() => u.clone(),
            _ => return Err("`http_request.uri` is missing or not a string".into()),
        };
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Err(format!("`http_request.uri` must start with http:// or https://, got `{uri}`"));
        }
        let method = req.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
        let headers = match req.get("headers") {
            Some(Value::Object(h)) => h
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        let text = |key: &str, default: &str| req.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
        let millis =
            |key: &str, default: u64| req.get(key).and_then(Value::as_u64).filter(|v| *v > 0).unwrap_or(default);
        Ok(Self {
            uri,
            method,
            headers,
            body: req.get("body").filter(|b| !b.is_null()).cloned(),
            accept: text("accept", "application/json"),
            content_type: text("contentType", "application/json"),
            connect_timeout_ms: millis("connectionTimeOut", DEFAULT_CONNECT_TIMEOUT_MS),
            read_timeout_ms: millis("readTimeOut", DEFAULT_READ_TIMEOUT_MS),
        })
    }
}
