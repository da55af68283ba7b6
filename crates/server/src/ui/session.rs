//! Who is looking at the UI. Signing in (with an account's password, or with an API token) begins
//! a session of its own: a random 256-bit id in an HTTP-only, SameSite=Strict cookie, and in the
//! store only the id's SHA-256 and the account or token it stands for (so every node of a cluster
//! knows it). The session never holds a token or password: stealing the cookie steals neither. A
//! new id is drawn at every sign-in, so an id planted before it (session fixation) is worth
//! nothing. It ends at sign-out, when its token is revoked or its account's password changes or
//! the account is disabled, and after [`SESSION_SECONDS`]; each request reads it from the store
//! and takes the role and grants as they are then.
//!
//! Every UI request is checked with the API's roles; every form carries a CSRF token, a SHA-256
//! of the session id (which another site can neither read nor compute), checked before a POST
//! reaches its handler; a POST whose `Origin` names another host is refused as well. Without auth
//! the UI is open, but forms still carry and check a token (from a per-process secret), so a page
//! on another site cannot drive an open vigil on `localhost` either.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::auth::{Caller, Role, hex};

/// The session cookie's name.
pub const COOKIE: &str = "vigil_session";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// How long a sign-in lasts: 12 hours, an on-call shift.
pub const SESSION_SECONDS: u64 = 12 * 3600;

/// The viewer of a UI page: their role (`None` when auth is off: everything is allowed) and the
/// CSRF token their forms carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The token's role; `None` without auth.
    pub role: Option<Role>,
    /// The CSRF token for this session's forms.
    pub csrf: String,
    /// The account signed in, if the session is a person's (or its token belongs to one).
    pub user: Option<String>,
    /// Whether it may read the audit log: an admin everywhere (or auth is off), not one of a
    /// team only.
    pub audits: bool,
}

impl Viewer {
    /// This viewer as it stands on one object, where its role is `role` (what
    /// [`crate::access::Access::role_on_named`] says): its forms show only what it may do there.
    pub fn on_object(&self, role: Option<Role>) -> Viewer {
        // No role: auth is off, and stays so.
        Viewer { role: self.role.map(|_| role.unwrap_or(Role::Read)), ..self.clone() }
    }

    /// Whether this viewer may change things (start, control, pause, define).
    pub fn can_write(&self) -> bool {
        self.role.is_none_or(|r| r >= Role::Write)
    }

    /// Whether this viewer may respond: acknowledge, silence, run a check now.
    pub fn can_respond(&self) -> bool {
        self.role.is_none_or(|r| r >= Role::Respond)
    }

    /// Whether this viewer may read the audit log (its page and links to it).
    pub fn may_audit(&self) -> bool {
        self.audits
    }

    /// Whether a sign-out button makes sense.
    pub fn signed_in(&self) -> bool {
        self.role.is_some()
    }
}

fn process_secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| rand::rng().random())
}

/// The CSRF token of a session (`None`: auth is off, and the process has one token).
pub fn csrf_for(session: Option<&str>) -> String {
    let mut h = Sha256::new();
    match session {
        Some(id) => h.update(id.as_bytes()),
        None => h.update(process_secret()),
    }
    h.update(b"\0vigil-csrf");
    hex(&h.finalize())
}

/// A new session id: 32 random bytes, hex.
pub fn new_session_id() -> String {
    hex(&rand::rng().random::<[u8; 32]>())
}

/// What the store keeps of a session id.
pub fn session_hash(id: &str) -> String {
    hex(&Sha256::digest(id.as_bytes()))
}

/// Begins a session for `caller` (signed in through identity provider `provider`, if any);
/// gives the id for the cookie.
pub async fn begin(app: &AppState, caller: &Caller, provider: Option<&str>) -> Result<String, vigil_store::StoreError> {
    let id = new_session_id();
    let now = app.engine.now();
    let person = caller.id.starts_with("user:");
    let row = vigil_store::SessionRow {
        id_hash: session_hash(&id),
        token_id: if person { String::new() } else { caller.id.clone() },
        created_at: now,
        expires_at: now + SESSION_SECONDS as i64 * 1000,
        user_id: if person { caller.user.clone() } else { None },
        provider: provider.map(str::to_string),
    };
    app.engine.accounts().put_session(&row).await?;
    Ok(id)
}

/// Ends the session in `headers`' cookie, if any; gives the identity provider it signed in
/// through, if any.
pub async fn end(app: &AppState, headers: &HeaderMap) -> Result<Option<String>, vigil_store::StoreError> {
    let Some(id) = session_token(headers) else { return Ok(None) };
    let store = app.engine.accounts();
    let hash = session_hash(id);
    let provider = store.session(&hash, app.engine.now()).await?.and_then(|s| s.provider);
    store.delete_session(&hash).await?;
    Ok(provider)
}

/// The caller behind session `id`: none when the session ended or its token was revoked.
async fn resume(app: &AppState, id: &str) -> Result<Option<Caller>, vigil_store::StoreError> {
    let Some(row) = app.engine.accounts().session(&session_hash(id), app.engine.now()).await? else { return Ok(None) };
    Ok(match &row.user_id {
        Some(user) => app.auth.user_caller(user).await,
        None => app.auth.caller(&row.token_id).await,
    })
}

/// The session id in the request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// The value of the request's cookie `name`, if it has a non-empty one.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached vigil over HTTPS (its public URL says so, or the proxy in front
/// does): cookies are then `Secure`.
pub fn https(app: &AppState, headers: &HeaderMap) -> bool {
    app.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || headers.get("x-forwarded-proto").is_some_and(|v| v == "https")
}

/// The `Set-Cookie` value that holds session `id`. `secure` adds `Secure` (when vigil is reached
/// over HTTPS).
pub fn sign_in_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}")
}

/// The `Set-Cookie` value that signs out.
pub fn sign_out_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// UI routes anyone may reach: the sign-in pages and the static assets.
fn open(path: &str) -> bool {
    path == "/ui/signin" || path.starts_with("/ui/assets/") || path.starts_with("/ui/sso/")
}

/// The role a UI page (or, `posted`, its form) needs everywhere: none beyond a session for
/// signing out and one's own account; `read` to look; a responder's for acknowledging, silencing
/// and checking now; `write` for the rest. Every other page shows every team's objects, so roles
/// held only in teams do not reach it.
fn needed(path: &str, posted: bool) -> Option<Role> {
    let responds = matches!(path, "/ui/alerts/ack" | "/ui/silences")
        || (path.starts_with("/ui/silences/") && path.ends_with("/expire"))
        || (path.starts_with("/ui/monitors/") && path.ends_with("/check"));
    match path {
        "/ui/signout" => None,
        _ if path.starts_with("/ui/audit") => Some(Role::Admin),
        _ if path.starts_with("/ui/account") => None,
        _ if !posted => Some(Role::Read),
        _ if responds => Some(Role::Respond),
        _ => Some(Role::Write),
    }
}

/// Whether the page (or, `posted`, its form) shows or changes only what the viewer may see: its
/// handler filters by team and checks each object, so a role held only in teams reaches it.
fn checks_objects(path: &str, posted: bool) -> bool {
    let Some(rest) = path.strip_prefix("/ui/") else { return false };
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    if posted {
        return matches!(
            parts.as_slice(),
            ["alerts", "ack"]
                | ["silences"]
                | ["silences", _, "expire"]
                | ["monitors", _, "check"]
                | ["workflows", _, "start"]
                | ["instances", _, _]
                | ["schedules", _, _]
                | ["status-pages", _, "edit" | "delete" | "incidents" | "maintenance"]
                | ["status-pages", _, "incidents", _, "updates"]
                | ["status-pages", _, "subscribers", _, "remove"]
                | ["status-pages", _, "maintenance", _, "end"]
        ) && parts.get(1) != Some(&"new");
    }
    matches!(
        parts.as_slice(),
        ["monitors" | "alerts" | "workflows" | "instances" | "schedules" | "status-pages"]
            | ["monitors" | "workflows" | "instances" | "status-pages", _]
            | ["status-pages", _, "edit"]
            | ["live", "instances" | "monitors", _]
    ) && parts.get(1) != Some(&"new")
}

/// Why `caller` may not open a page needing `need` everywhere, as a sentence.
fn refusal(caller: &Caller, need: Role) -> String {
    if caller.role() < need {
        return format!("Your role is `{}`: this needs `{}`.", caller.role().as_str(), need.as_str());
    }
    let teams: Vec<&str> = caller.rights.teams.keys().map(String::as_str).collect();
    format!(
        "Your account has this role only in teams ({}), and this page shows every team's objects. The monitors, \
         alerts, workflows, instances, schedules and status pages (and the API) show each team its own; an admin \
         can give you a role everywhere.",
        teams.join(", ")
    )
}

/// Whether a POST's `Origin` (when it sends one) is this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The guard for UI routes, called by [`crate::auth::require`]: resolves the viewer from the
/// session cookie (redirecting a page request without one to the sign-in page), refuses changes
/// to a `read` token, and checks a POST's origin and CSRF token.
pub async fn guard(app: AppState, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let is_post = req.method() == Method::POST;
    if is_post && !same_origin(req.headers()) {
        return super::error_page(StatusCode::FORBIDDEN, "This form was sent from another site.");
    }
    if open(&path) {
        return next.run(req).await;
    }
    let session = session_token(req.headers()).map(str::to_string);
    let viewer = if app.auth.required() {
        let caller = match session.as_deref() {
            Some(id) => match resume(&app, id).await {
                Ok(caller) => caller,
                Err(e) => {
                    tracing::error!(error = %e, "Could not read a UI session.");
                    return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be read: try again.");
                }
            },
            None => None,
        };
        let Some(caller) = caller else {
            if is_post {
                return super::error_page(StatusCode::UNAUTHORIZED, "Your session has ended: sign in again.");
            }
            let back = req.uri().path_and_query().map_or("/", |p| p.as_str());
            return Redirect::to(&format!("/ui/signin?next={}", super::format::query_escape(back))).into_response();
        };
        let viewer = Viewer {
            role: Some(caller.role()),
            csrf: csrf_for(session.as_deref()),
            user: caller.user.clone(),
            audits: caller.everywhere_at_least(Role::Admin),
        };
        (viewer, Some(caller))
    } else {
        (Viewer { role: None, csrf: csrf_for(None), user: None, audits: true }, None)
    };
    let (viewer, caller) = viewer;
    if let Some(caller) = &caller
        && let Some(need) = needed(&path, is_post)
        && !caller.everywhere_at_least(need)
    {
        let in_teams = checks_objects(&path, is_post) && caller.rights.best().is_some_and(|r| r >= need);
        if path == "/" && !is_post && caller.rights.best().is_some() {
            // The overview counts every team's objects: a member starts at their monitors.
            return Redirect::to("/ui/monitors").into_response();
        }
        if !in_teams {
            return super::error_page(StatusCode::FORBIDDEN, &refusal(caller, need));
        }
    }
    let mut req = req;
    if let Some(caller) = caller {
        req.extensions_mut().insert(caller);
    }
    if is_post {
        req = match checked_form(req, &viewer.csrf).await {
            Ok(req) => req,
            Err(response) => return response,
        };
    }
    req.extensions_mut().insert(viewer);
    next.run(req).await
}

/// Reads a POST's form body, checks its CSRF field, and gives the request back with its body.
async fn checked_form(req: Request, expected: &str) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| super::error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
    let sent = form_urlencoded_value(&bytes, CSRF_FIELD).unwrap_or_default();
    let good: bool = sent.as_bytes().ct_eq(expected.as_bytes()).into();
    if !good {
        return Err(super::error_page(
            StatusCode::FORBIDDEN,
            "This form is out of date (vigil restarted, or you signed in again): reload the page and try again.",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The first value of `field` in an `application/x-www-form-urlencoded` body.
fn form_urlencoded_value(body: &[u8], field: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; vigil_session=vgl_ab_cd ; b=2"));
        assert_eq!(session_token(&h), Some("vgl_ab_cd"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("vigil_session="));
        assert_eq!(session_token(&empty), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_are_stable() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(csrf_for(Some(&a)), csrf_for(Some(&a)), "the same on every node");
        assert_ne!(csrf_for(Some(&a)), csrf_for(Some(&b)));
        assert_ne!(csrf_for(Some(&a)), session_hash(&a), "the stored hash is not the form's token");
        assert_eq!(csrf_for(None).len(), 64);
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let c = sign_in_cookie("vgl_x_y", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(sign_in_cookie("vgl_x_y", true).ends_with("; Secure"));
        assert!(sign_out_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn a_post_from_another_site_is_not_same_origin() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h), "no Origin: a same-site form or a non-browser client");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn responders_may_ack_silence_and_check_and_nothing_more() {
        assert_eq!(needed("/ui/alerts/ack", true), Some(Role::Respond));
        assert_eq!(needed("/ui/silences", true), Some(Role::Respond));
        assert_eq!(needed("/ui/silences/s1/expire", true), Some(Role::Respond));
        assert_eq!(needed("/ui/monitors/web/check", true), Some(Role::Respond));
        assert_eq!(needed("/ui/monitors/web/pause", true), Some(Role::Write));
        assert_eq!(needed("/ui/signout", true), None);
        assert_eq!(needed("/ui/account/password", true), None);
        assert_eq!(needed("/ui/monitors", false), Some(Role::Read), "every other page needs a role everywhere");
        assert_eq!(needed("/ui/account", false), None);
        assert_eq!(needed("/ui/audit", false), Some(Role::Admin), "who changed what is for admins");
    }

    #[test]
    fn only_pages_that_filter_by_team_take_a_role_held_in_teams() {
        for (path, posted) in [
            ("/ui/monitors", false),
            ("/ui/monitors/pay-api", false),
            ("/ui/alerts", false),
            ("/ui/alerts/ack", true),
            ("/ui/silences", true),
            ("/ui/silences/s-1/expire", true),
            ("/ui/monitors/pay-api/check", true),
            ("/ui/workflows", false),
            ("/ui/workflows/pay-job", false),
            ("/ui/workflows/pay-job/start", true),
            ("/ui/instances", false),
            ("/ui/instances/i-1", false),
            ("/ui/instances/i-1/retry", true),
            ("/ui/live/instances/i-1", false),
            ("/ui/schedules", false),
            ("/ui/schedules/pay-nightly/run", true),
            ("/ui/status-pages/pay", false),
            ("/ui/status-pages/pay/incidents", true),
            ("/ui/status-pages/pay/maintenance/m-1/end", true),
        ] {
            assert!(checks_objects(path, posted), "{path}");
        }
        for (path, posted) in [
            ("/", false),
            ("/ui/cluster", false),
            ("/ui/monitors/pay-api/evidence/5", false),
            ("/ui/monitors/pay-api/pause", true),
            ("/ui/status-pages/new", false),
            ("/ui/status-pages/new", true),
            ("/ui/instances//retry", true),
            ("/ui/audit", false),
            ("/ui/monitors", true),
        ] {
            assert!(!checks_objects(path, posted), "{path}");
        }
    }

    #[test]
    fn form_fields_are_read_from_urlencoded_bodies() {
        assert_eq!(form_urlencoded_value(b"a=1&csrf=x%2By&b=2", "csrf").as_deref(), Some("x+y"));
        assert_eq!(form_urlencoded_value(b"a=1", "csrf"), None);
    }
}
