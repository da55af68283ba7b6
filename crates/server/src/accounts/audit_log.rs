//! `GET /api/v1/audit` (admin): the audit log, newest first, filtered by object, actor and time,
//! a page at a time (`before` is the last id seen), or all of it as JSON lines
//! (`format=jsonl`), streamed a page at a time for an export.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::time::{format_millis, parse_until};
use vigil_store::{AuditQuery, AuditRow};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

/// The most rows one page gives.
const MAX_PAGE: u32 = 1000;

/// The audit log's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Of this kind of object only (`workflow`, `secret`, `silence`, `user`, `team`, ...).
    kind: Option<String>,
    /// Of this object only.
    name: Option<String>,
    /// By this actor only (`user:ana`, `token:ID`, `file:teams/pay.yaml`, `cli:root`).
    actor: Option<String>,
    /// Not before this time (RFC 3339, or a duration ago such as `24h`).
    since: Option<String>,
    /// Rows older than this id (the next page).
    before: Option<i64>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// `json` (default) or `jsonl`: every matching row, one JSON object a line.
    format: Option<String>,
}

/// One row as the API shows it.
pub fn shown(row: &AuditRow) -> Value {
    json!({
        "id": row.id,
        "at": format_millis(row.at),
        "actor": row.actor,
        "source": row.source,
        "address": row.address,
        "action": row.action,
        "kind": row.kind,
        "name": row.name,
        "change": serde_json::from_str::<Value>(&row.change).unwrap_or(Value::Null),
    })
}

/// The audit log, newest first: `{"items": [...], "next": ID}` (`next` is the `before` of the
/// next page), or JSON lines with `format=jsonl`.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "accounts", params(AuditFilter),
    responses((status = 200, body = Object), (status = 400, body = ApiError))
)]
async fn list(State(app): State<AppState>, ApiQuery(f): ApiQuery<AuditFilter>) -> ApiResult<Response> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=MAX_PAGE as usize).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 1000"));
    }
    let since = match &f.since {
        Some(text) => Some(since_of(text, app.engine.now())?),
        None => None,
    };
    let query =
        AuditQuery { kind: f.kind, name: f.name, actor: f.actor, since, before_id: f.before, limit: limit as u32 };
    match f.format.as_deref() {
        None | Some("json") => {
            let rows = app.engine.accounts().audit_log(&query).await.map_err(ApiError::from)?;
            let next = (rows.len() == query.limit as usize).then(|| rows.last().map(|r| r.id)).flatten();
            Ok(Json(json!({"items": rows.iter().map(shown).collect::<Vec<_>>(), "next": next})).into_response())
        }
        Some("jsonl") => Ok(export(app, AuditQuery { limit: MAX_PAGE, ..query })),
        Some(other) => Err(ApiError::invalid("format", format!("`{other}` is not `json` or `jsonl`"))),
    }
}

/// Every row matching `query` as JSON lines, read a page at a time while the body is sent.
fn export(app: AppState, query: AuditQuery) -> Response {
    let pages = futures_util::stream::unfold(Some(query), move |next| {
        let store = app.engine.accounts().clone();
        async move {
            let query = next?;
            match store.audit_log(&query).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let mut text = String::new();
                    for row in &rows {
                        text.push_str(&shown(row).to_string());
                        text.push('\n');
                    }
                    let more = (rows.len() == query.limit as usize)
                        .then(|| AuditQuery { before_id: rows.last().map(|r| r.id), ..query });
                    Some((Ok::<_, std::io::Error>(text), more))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    ([(CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(pages)).into_response()
}

/// `since` as a time: RFC 3339, or a duration before `now`.
fn since_of(text: &str, now: vigil_core::time::Millis) -> Result<vigil_core::time::Millis, ApiError> {
    if let Ok(ago) = vigil_core::time::parse_duration(text) {
        return Ok(now - ago);
    }
    parse_until(text).map_err(|e| ApiError::invalid("since", e))
}
