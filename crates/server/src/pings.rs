//! Heartbeat ping routes, in Healthchecks' shape so a crontab's `curl` line keeps working with a
//! new host: `/ping/{id}`, `/ping/{id}/start`, `/ping/{id}/fail`, `/ping/{id}/log`,
//! `/ping/{id}/{exit-code}`; GET, POST or HEAD; the body (capped) is kept as the ping's log;
//! `?rid=` pairs a start with its end. They need no API token (the id is the secret), answer
//! `OK` only once the ping is stored, and are rate-limited per id.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use vigil_core::monitor::expect::PingKind;
use vigil_runtime::pings::{Ping, PingError};

use crate::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ping/{id}", any(plain)).route("/ping/{id}/{action}", any(with_action))
}

/// Query parameters of a ping.
#[derive(Debug, serde::Deserialize)]
struct PingQuery {
    rid: Option<String>,
}

async fn plain(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PingQuery>,
    body: Bytes,
) -> Response {
    record(&app, &id, PingKind::Success, None, q.rid, body).await
}

async fn with_action(
    State(app): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Query(q): Query<PingQuery>,
    body: Bytes,
) -> Response {
    let (kind, code) = match action.as_str() {
        "start" => (PingKind::Start, None),
        "fail" => (PingKind::Fail, None),
        "log" => (PingKind::Log, None),
        code => match code.parse::<u8>() {
            Ok(0) => (PingKind::Success, Some(0)),
            Ok(n) => (PingKind::Fail, Some(i32::from(n))),
            Err(_) => {
                let msg = format!("unknown ping `{action}`: use start, fail, log or an exit code 0-255\n");
                return (StatusCode::BAD_REQUEST, msg).into_response();
            }
        },
    };
    record(&app, &id, kind, code, q.rid, body).await
}

async fn record(
    app: &AppState,
    id: &str,
    kind: PingKind,
    exit_code: Option<i32>,
    rid: Option<String>,
    body: Bytes,
) -> Response {
    let body = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    let rid = rid.filter(|r| !r.is_empty()).map(|r| r.chars().take(64).collect());
    match app.engine.ping(id, Ping { kind, exit_code, rid, body }).await {
        Ok(_) => (StatusCode::OK, "OK\n").into_response(),
        Err(PingError::Unknown) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        Err(e @ PingError::TooMany) => (StatusCode::TOO_MANY_REQUESTS, format!("{e}\n")).into_response(),
        Err(e @ PingError::Store(_)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}
