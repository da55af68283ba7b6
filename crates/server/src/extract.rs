//! Request extractors whose failures are API errors that name the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};

/// A JSON body. An empty body reads as `null`; a parse error names the field path, as in
/// ``invalid request: `tasks[2].type`: unknown variant``.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = json_bytes(req, state).await?;
        parse(body.as_deref().unwrap_or(b"null")).map(JsonBody)
    }
}

/// A JSON body's bytes, checked as [`JsonBody`] checks them (type, size, time, a byte order mark
/// dropped), for a handler that reads them itself; `None` for an empty body.
pub struct JsonBytes(pub Option<axum::body::Bytes>);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        json_bytes(req, state).await.map(JsonBytes)
    }
}

/// A start's input: a JSON object, or an empty body for none (`{}`). An explicit `null`, array
/// or scalar is refused, naming what it was.
pub struct InputBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for InputBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Some(body) = json_bytes(req, state).await? else { return Ok(InputBody(Value::Object(Default::default()))) };
        match parse::<Value>(&body)? {
            input @ Value::Object(_) => Ok(InputBody(input)),
            other => {
                let what = match other {
                    Value::Null => "null",
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    _ => "a boolean",
                };
                Err(ApiError::invalid("body", format!("the input is a JSON object (or an empty body), not {what}")))
            }
        }
    }
}

/// The body of a JSON request, without a byte order mark; `None` when empty or blank.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Bytes>, ApiError> {
    let json_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("application/json") || v.contains("+json"));
    let read = tokio::time::timeout(crate::listen::BODY_READ_TIMEOUT, Bytes::from_request(req, state));
    let bytes = read.await.map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("the body did not arrive within {:?}", crate::listen::BODY_READ_TIMEOUT),
        )
    })?;
    let bytes = bytes.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than the limit")
        } else {
            ApiError::new(ErrorCode::InvalidRequest, format!("could not read the body: {e}"))
        }
    })?;
    if !json_type && !bytes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    // A UTF-8 byte order mark (some Windows clients send one) is not part of the JSON.
    let body = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => bytes.slice(bytes.len() - rest.len()..),
        None => bytes,
    };
    Ok((!body.iter().all(u8::is_ascii_whitespace)).then_some(body))
}

/// Parses `bytes` as `T`, naming the field path on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {inner}"))
        } else {
            ApiError::invalid(&path, inner)
        }
    })
}

/// Query parameters; a bad one is named (serde_urlencoded's message carries the name).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(q)) => Ok(ApiQuery(q)),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidRequest, format!("query: {}", e.body_text()))),
        }
    }
}

/// A boolean query parameter read as people and SDKs write it: `true`, `True`, `1`, `false`, ...
/// (Conductor's Python SDK sends `overwrite=True`).
pub fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = String::deserialize(d)?;
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(serde::de::Error::custom(format!("`{text}` is not true or false"))),
    }
}

/// [`lenient_bool`] for an optional parameter.
pub fn lenient_opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    lenient_bool(d).map(Some)
}

/// Path parameters; a bad one is a JSON error naming it.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(p)) => Ok(ApiPath(p)),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidRequest, format!("path: {}", e.body_text()))),
        }
    }
}

/// A definition body put at `/{kind}s/{name}`: it must be an object, and its `name` must match the
/// path (or is taken from it when absent).
pub fn named_body(doc: &mut serde_json::Value, name: &str, kind: &str) -> Result<(), ApiError> {
    let Some(obj) = doc.as_object_mut() else {
        return Err(ApiError::invalid("body", format!("a {kind} is a JSON object")));
    };
    match obj.get("name").and_then(serde_json::Value::as_str) {
        Some(given) if given != name => {
            Err(ApiError::invalid("name", format!("`{given}` does not match the path's `{name}`")))
        }
        Some(_) => Ok(()),
        None => {
            obj.insert("name".into(), serde_json::Value::String(name.to_string()));
            Ok(())
        }
    }
}
