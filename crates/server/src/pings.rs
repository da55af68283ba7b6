//! Heartbeat ping routes, speaking Healthchecks' ping protocol so a crontab's `curl` line keeps
//! working with a new host (`hc/api/views.py` and `hc/api/urls.py` at healthchecks/healthchecks
//! 29b5ec2): `/ping/{id}` (a trailing slash too), `/ping/{id}/start`, `/fail`, `/log` and
//! `/{exit-status}`; any method; `?rid=` (a UUID) pairs a start with its end. They need no API
//! token (the id is the secret), answer `OK` only once the ping is stored, keep the first
//! [`MAX_BODY_BYTES`] of the body byte for byte, and record the method, user agent, client
//! address (`X-Forwarded-For`) and scheme (`X-Forwarded-Proto`). Answers carry
//! `Access-Control-Allow-Origin: *` and never-cache headers, a success also `Ping-Body-Limit`.
//! Unlike Healthchecks, pings are rate-limited per id (a runaway loop cannot flood the store).
//!
//! Slug URLs, `/ping/{ping-key}/{slug}` and the same suffixes, reach the heartbeat whose name is
//! the slug when the ping key is the secret `ping_key` (Healthchecks' per-project key; without it
//! slug URLs are off). A slug is lower-case letters, digits, `-` and `_`. With `?create=1`, a slug
//! no monitor has creates a heartbeat of that name (Healthchecks' auto-provisioning: `201
//! Created`, kept in the store and run on every node), up to a limit past which the answer is
//! `404` as for an unknown slug.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::StreamExt;
use vigil_core::monitor::expect::PingKind;
use vigil_runtime::pings::{MAX_BODY_BYTES, Ping, PingError};
use vigil_store::PingOrigin;

use crate::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ping/{id}", any(plain))
        .route("/ping/{id}/", any(plain))
        .route("/ping/{id}/{action}", any(with_action))
        .route("/ping/{key}/{slug}/{action}", any(slug_with_action))
}

/// The ping id a slug URL names, and whether this ping created its heartbeat (`?create=1`, a
/// name no monitor has, with the right ping key: Healthchecks' auto-provisioning); `Err` with
/// the answer when it names none.
async fn by_slug(
    app: &AppState,
    key: &str,
    slug: &str,
    create: bool,
) -> Result<(String, bool), (StatusCode, &'static str)> {
    let slug_ok = !slug.is_empty()
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !slug_ok {
        return Err((StatusCode::BAD_REQUEST, "invalid url format"));
    }
    let known_key = app.engine.secret_value("ping_key").filter(|k| !k.is_empty());
    let key_matches = known_key.is_some_and(|k| {
        let same: bool = subtle::ConstantTimeEq::ct_eq(k.as_bytes(), key.as_bytes()).into();
        same
    });
    if !key_matches {
        return Err((StatusCode::NOT_FOUND, "not found"));
    }
    if let Some(id) = app.engine.ping_id_of(slug) {
        return Ok((id, false));
    }
    if !create || slug.len() > MAX_CREATED_NAME {
        return Err((StatusCode::NOT_FOUND, "not found"));
    }
    match app.engine.create_heartbeat(slug).await {
        Ok(id) => Ok((id, true)),
        // Past the limit, Healthchecks answers as for an unknown slug.
        Err(e) => {
            tracing::warn!(slug = %slug, error = %e, "A ping asked to create a heartbeat; none was created.");
            Err((StatusCode::NOT_FOUND, "not found"))
        }
    }
}

/// The longest name a ping may create a heartbeat of.
const MAX_CREATED_NAME: usize = 100;

/// A ping's answer, as created (`201 Created`) when it created its heartbeat.
fn created(answer: Response, created: bool) -> Response {
    if !created || answer.status() != StatusCode::OK {
        return answer;
    }
    let (mut parts, _) = answer.into_parts();
    parts.status = StatusCode::CREATED;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from("Created"))
}

async fn slug_with_action(
    State(app): State<AppState>,
    Path((key, slug, action)): Path<(String, String, String)>,
    Query(q): Query<PingQuery>,
    req: Request,
) -> Response {
    match by_slug(&app, &key, &slug, q.create.as_deref() == Some("1")).await {
        Ok((id, new)) => created(record(&app, &id, action_of(&action), q.rid, req).await, new),
        Err((status, text)) => answer(status, text),
    }
}

/// Bytes of a body read past the kept ones before the rest is left unread.
const MAX_BODY_DRAINED: usize = 16 << 20;

/// Query parameters of a ping.
#[derive(Debug, serde::Deserialize)]
struct PingQuery {
    rid: Option<String>,
    create: Option<String>,
}

async fn plain(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PingQuery>,
    req: Request,
) -> Response {
    record(&app, &id, Ok((PingKind::Success, None)), q.rid, req).await
}

async fn with_action(
    State(app): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Query(q): Query<PingQuery>,
    req: Request,
) -> Response {
    // `/ping/{id}/{action}`, or a slug URL `/ping/{ping-key}/{slug}`, as Healthchecks routes them.
    if app.engine.ping_monitor(&id).is_none() {
        return match by_slug(&app, &id, &action, q.create.as_deref() == Some("1")).await {
            Ok((found, new)) => created(record(&app, &found, Ok((PingKind::Success, None)), q.rid, req).await, new),
            Err((status, text)) => answer(status, text),
        };
    }
    record(&app, &id, action_of(&action), q.rid, req).await
}

/// A ping's kind and exit status from its URL's last part; `Err` with the status of the answer.
fn action_of(action: &str) -> Result<(PingKind, Option<i32>), StatusCode> {
    match action {
        "start" => Ok((PingKind::Start, None)),
        "fail" => Ok((PingKind::Fail, None)),
        "log" => Ok((PingKind::Log, None)),
        code if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => match code.parse::<u32>() {
            Ok(0) => Ok((PingKind::Success, Some(0))),
            Ok(n @ 1..=255) => Ok((PingKind::Fail, Some(n as i32))),
            _ => Err(StatusCode::BAD_REQUEST),
        },
        // Healthchecks routes any other word to its slug URL, where it names no check.
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// Whether `rid` is a UUID in its 8-4-4-4-12 hex form (either case), as Healthchecks requires.
fn is_uuid(rid: &str) -> bool {
    let groups: Vec<&str> = rid.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An answer with the headers every ping answer carries.
fn answer(status: StatusCode, text: &'static str) -> Response {
    let mut res = (status, text).into_response();
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    if status == StatusCode::OK {
        h.insert("ping-body-limit", HeaderValue::from(MAX_BODY_BYTES));
    }
    res
}

/// Where a ping came from: its method, user agent (200 characters), the first
/// `X-Forwarded-For` address (without an IPv4 port) or the peer's, and the scheme.
fn origin(req: &Request) -> PingOrigin {
    let headers: &HeaderMap = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let forwarded = text("x-forwarded-for").and_then(|v| v.split(',').next()).map(str::trim).map(|addr| {
        // `1.1.1.1:1234` is an IPv4 address with a port; an IPv6 address has several colons.
        match addr.split_once(':') {
            Some((ip, port)) if !port.contains(':') && ip.contains('.') => ip.to_string(),
            _ => addr.to_string(),
        }
    });
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    PingOrigin {
        method: Some(req.method().as_str().to_string()),
        user_agent: text("user-agent").map(|ua| ua.chars().take(200).collect()),
        remote_addr: forwarded.or(peer),
        scheme: Some(text("x-forwarded-proto").unwrap_or("http").to_string()),
        queue: None,
        message_id: None,
    }
}

/// The first [`MAX_BODY_BYTES`] of the body; the rest is read and dropped (up to a bound).
async fn kept_body(body: Body) -> Result<Vec<u8>, Response> {
    let mut stream = body.into_data_stream();
    let (mut kept, mut seen) = (Vec::new(), 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| answer(StatusCode::BAD_REQUEST, "could not read the body"))?;
        seen += chunk.len();
        if kept.len() < MAX_BODY_BYTES {
            let take = (MAX_BODY_BYTES - kept.len()).min(chunk.len());
            kept.extend_from_slice(&chunk[..take]);
        }
        if seen > MAX_BODY_DRAINED {
            break;
        }
    }
    Ok(kept)
}

async fn record(
    app: &AppState,
    id: &str,
    action: Result<(PingKind, Option<i32>), StatusCode>,
    rid: Option<String>,
    req: Request,
) -> Response {
    // The check first (an unknown id is a 404 whatever follows it), then the URL, then the rid.
    if app.engine.ping_monitor(id).is_none() {
        return answer(StatusCode::NOT_FOUND, "not found");
    }
    let (kind, exit_code) = match action {
        Ok(action) => action,
        Err(StatusCode::BAD_REQUEST) => return answer(StatusCode::BAD_REQUEST, "invalid url format"),
        Err(_) => return answer(StatusCode::NOT_FOUND, "not found"),
    };
    let rid = match rid {
        Some(r) if !is_uuid(&r) => return answer(StatusCode::BAD_REQUEST, "invalid uuid format"),
        Some(r) => Some(r.to_ascii_lowercase()),
        None => None,
    };
    let origin = origin(&req);
    let body = match kept_body(req.into_body()).await {
        Ok(body) => (!body.is_empty()).then_some(body),
        Err(res) => return res,
    };
    match app.engine.ping(id, Ping { kind, exit_code, rid, body, origin }).await {
        Ok(_) => answer(StatusCode::OK, "OK"),
        Err(PingError::Unknown) => answer(StatusCode::NOT_FOUND, "not found"),
        Err(PingError::TooMany) => answer(StatusCode::TOO_MANY_REQUESTS, "too many pings for this check"),
        Err(PingError::Store(_)) => answer(StatusCode::SERVICE_UNAVAILABLE, "could not store the ping: try again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_exit_statuses_read_as_healthchecks_reads_them() {
        assert_eq!(action_of("start"), Ok((PingKind::Start, None)));
        assert_eq!(action_of("0"), Ok((PingKind::Success, Some(0))));
        assert_eq!(action_of("007"), Ok((PingKind::Fail, Some(7))), "leading zeros");
        assert_eq!(action_of("255"), Ok((PingKind::Fail, Some(255))));
        assert_eq!(action_of("256"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(action_of("99999999999999"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(action_of("reboot"), Err(StatusCode::NOT_FOUND));
        assert_eq!(action_of("-1"), Err(StatusCode::NOT_FOUND));
    }

    #[test]
    fn run_ids_are_uuids_in_either_case() {
        assert!(is_uuid("07c2f548-9850-4b27-af5d-6c9dc157ec02"));
        assert!(is_uuid("07C2F548-9850-4B27-AF5D-6C9DC157EC02"));
        assert!(!is_uuid("07c2f54898504b27af5d6c9dc157ec02"));
        assert!(!is_uuid(""));
        assert!(!is_uuid("run-1"));
    }
}
