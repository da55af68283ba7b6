//! Instances: start (or find the one an id names), read paging tokens and ids, and the base
//! URL of management links.

use axum::http::HeaderMap;
use axum::http::header::HOST;
use serde_json::Value;
use vigil_runtime::StartRequest;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Longest instance id.
const MAX_ID_LEN: usize = 200;

/// Starts `req`, or answers the id of the instance that already runs under `req.id` for the same
/// workflow (a start with an id is idempotent); 409 when that id runs another workflow, 400 when
/// the input is not an object.
pub(crate) async fn start_or_existing(app: &AppState, req: StartRequest) -> ApiResult<String> {
    if !matches!(req.input, Value::Object(_) | Value::Null) {
        return Err(ApiError::invalid("body", "the input must be a JSON object (or empty)"));
    }
    let existing = match &req.id {
        Some(id) => app.engine.instance(id).await?,
        None => None,
    };
    match existing {
        Some(other) if other.workflow_name != req.name => {
            // Not naming the other workflow: the caller may not be one who reads it.
            let message =
                format!("instance `{}` exists and runs another workflow than `{}`", other.workflow_id, req.name);
            Err(ApiError::new(crate::ErrorCode::Conflict, message))
        }
        Some(same) => Ok(same.workflow_id),
        None => Ok(app.engine.start_durable(req).await?),
    }
}

/// Reads a continuation token (`<created_at>.<id>`) this API handed out.
pub(crate) fn parse_token(token: &str) -> Option<(i64, String)> {
    let (at, id) = token.split_once('.')?;
    Some((at.parse().ok()?, id.to_string()))
}

/// The 404 for an unknown instance.
pub(crate) fn unknown(id: &str) -> ApiError {
    ApiError::not_found(format!("instance `{id}` does not exist"))
}

/// Instance ids are path segments and go into URIs: keep them plain.
pub(crate) fn check_id(id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "instanceId",
            format!("1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, `-`, `_`, `.`, `:`"),
        ))
    }
}

/// `http://host` as the client reached us, for the management URIs.
pub(crate) fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &app.public_url {
        return url.trim_end_matches('/').to_string();
    }
    match headers.get(HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", app.listen),
    }
}
