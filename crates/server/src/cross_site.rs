//! Another web site must not drive a vigil it can reach through someone's browser (a vigil on
//! `localhost` with auth off, say). Two checks, before auth:
//!
//! - **Host**: the server answers only the host names it is meant for, which defeats DNS
//!   rebinding (a page on `evil.example` whose name is re-pointed at 127.0.0.1 sends
//!   `Host: evil.example`). Listening on loopback, those are `localhost`, `127.0.0.1` and `[::1]`,
//!   plus the `--public-url`'s host and `VIGIL_ALLOWED_HOSTS`; listening elsewhere, any host unless
//!   `VIGIL_ALLOWED_HOSTS` lists them. `/healthz` and `/readyz` answer any name (load balancers).
//! - **Cross-site changes**: a request that changes something (any method but GET, HEAD and
//!   OPTIONS) is refused when the browser says it comes from another site (`Sec-Fetch-Site:
//!   cross-site`/`same-site`, or an `Origin` whose host is not the `Host`), and, outside the UI's
//!   forms, the open ping routes and acknowledgement links, when its body has a type an HTML form or a no-preflight
//!   `fetch` can send (`application/x-www-form-urlencoded`, `multipart/form-data`, `text/plain`):
//!   the API reads JSON. Clients that are not browsers send neither header.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// The host names a server answers: `None` for any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(pub Option<Vec<String>>);

impl AllowedHosts {
    /// The hosts for a server listening on `listen`, reached at `public_url`, plus `extra`
    /// (`VIGIL_ALLOWED_HOSTS`, comma-separated; `*` for any).
    pub fn for_listen(listen: std::net::SocketAddr, public_url: Option<&str>, extra: &str) -> Self {
        let extra: Vec<String> =
            extra.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        if extra.iter().any(|h| h == "*") || (!listen.ip().is_loopback() && extra.is_empty()) {
            return AllowedHosts(None);
        }
        let mut hosts = extra;
        if listen.ip().is_loopback() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        }
        if let Some(authority) =
            public_url.and_then(|u| u.split_once("://")).map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
        {
            let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            hosts.push(host_name(authority).to_ascii_lowercase());
        }
        AllowedHosts(Some(hosts))
    }

    /// Whether a `Host` header value (with or without its port) is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let Some(hosts) = &self.0 else { return true };
        let host = host_name(host_header).to_ascii_lowercase();
        hosts.contains(&host)
    }
}

/// `example.com:7700` → `example.com`; `[::1]:7700` → `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h)
}

/// Why a request is refused as cross-site, if it is.
pub fn refusal(
    method: &Method,
    path: &str,
    headers: &axum::http::HeaderMap,
    allowed: &AllowedHosts,
) -> Option<&'static str> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    // Health probes come from load balancers under any name, and tell nothing.
    let probe = matches!(path, "/healthz" | "/readyz");
    if !allowed.allows(host) && !probe {
        return Some("this server does not answer to that host name (set VIGIL_ALLOWED_HOSTS)");
    }
    change_refusal(method, path, headers)
}

/// Why a change is refused as sent from another site (or by a form where only JSON is taken),
/// if it is; whatever the host name.
pub fn change_refusal(method: &Method, path: &str, headers: &axum::http::HeaderMap) -> Option<&'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).unwrap_or_default();
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if matches!(headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("cross-site" | "same-site")) {
        return Some("a change sent from another site is refused");
    }
    if let Some(origin) = text(header::ORIGIN) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if !origin_host.eq_ignore_ascii_case(host) {
            return Some("a change sent from another site is refused");
        }
    }
    let ui_form = crate::paths::is_ui_path(path);
    // Pings, acknowledgement links and status pages' forms (and RFC 8058's one-click
    // unsubscribe, which mail providers post) take form bodies.
    let open = path.starts_with("/ping/") || crate::paths::is_ack_path(path) || crate::paths::is_status_path(path);
    let form_type =
        text(header::CONTENT_TYPE).map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let sendable_by_a_form = matches!(
        form_type.as_deref(),
        Some("application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain")
    );
    if sendable_by_a_form && !ui_form && !open {
        return Some(JSON_ONLY);
    }
    None
}

/// Why a body a form can send is refused (the same words as the JSON extractor's).
const JSON_ONLY: &str = "the body must be JSON (Content-Type: application/json)";

/// The middleware.
pub async fn guard(State(allowed): State<AllowedHosts>, req: Request, next: Next) -> Response {
    // A status page's own domain is a host name the page named (`domains:`), on its paths only.
    let why = match req.extensions().get::<crate::paths::OnPageDomain>() {
        Some(_) => change_refusal(req.method(), req.uri().path(), req.headers()),
        None => refusal(req.method(), req.uri().path(), req.headers(), &allowed),
    };
    match why {
        None => next.run(req).await,
        Some(JSON_ONLY) => ApiError::new(ErrorCode::UnsupportedMediaType, JSON_ONLY).into_response(),
        Some(why) => ApiError::new(ErrorCode::Forbidden, why).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn loopback() -> AllowedHosts {
        AllowedHosts::for_listen("127.0.0.1:7700".parse().unwrap(), None, "")
    }

    #[test]
    fn a_loopback_server_answers_only_loopback_names() {
        let allowed = loopback();
        for ok in ["127.0.0.1:7700", "localhost:7700", "localhost", "[::1]:7700", "LOCALHOST:1"] {
            assert!(allowed.allows(ok), "{ok}");
        }
        for rebound in ["evil.example", "evil.example:7700", "127.0.0.1.evil.example", ""] {
            assert!(!allowed.allows(rebound), "{rebound}");
        }
        let public = AllowedHosts::for_listen("127.0.0.1:7700".parse().unwrap(), Some("https://vigil.corp/x"), "");
        assert!(public.allows("vigil.corp"));
        assert_eq!(AllowedHosts::for_listen("0.0.0.0:7700".parse().unwrap(), None, ""), AllowedHosts(None));
        let listed = AllowedHosts::for_listen("0.0.0.0:7700".parse().unwrap(), None, "vigil.corp, ops.corp");
        assert!(listed.allows("ops.corp:443") && !listed.allows("evil.example"));
    }

    #[test]
    fn changes_from_other_sites_and_form_bodies_are_refused() {
        let allowed = loopback();
        let post = Method::POST;
        let evil = headers(&[("host", "127.0.0.1:7700"), ("origin", "http://evil.example")]);
        assert!(refusal(&post, "/api/v1/schedules/yearly/pause", &evil, &allowed).is_some());
        let plain = headers(&[("host", "127.0.0.1:7700"), ("content-type", "text/plain")]);
        assert!(refusal(&post, "/api/v1/workflows/starter/instances", &plain, &allowed).is_some());
        let form = headers(&[("host", "localhost:7700"), ("content-type", "application/x-www-form-urlencoded")]);
        assert!(refusal(&post, "/api/v1/workflows/x/instances", &form, &allowed).is_some());
        assert!(
            refusal(&post, "/ui/schedules/x/pause", &form, &allowed).is_none(),
            "the UI's forms have their own guard"
        );
        let cross = headers(&[("host", "127.0.0.1:7700"), ("sec-fetch-site", "cross-site")]);
        assert!(refusal(&post, "/api/v1/instances/x/terminate", &cross, &allowed).is_some());
        assert!(refusal(&Method::GET, "/api/v1/instances", &evil, &allowed).is_none(), "reads are not changes");
        let rebound = headers(&[("host", "evil.example:7700")]);
        assert!(refusal(&Method::GET, "/ui/", &rebound, &allowed).is_some());
        assert!(refusal(&Method::GET, "/healthz", &rebound, &allowed).is_none(), "probes come under any name");
        let json = headers(&[
            ("host", "127.0.0.1:7700"),
            ("origin", "http://127.0.0.1:7700"),
            ("content-type", "application/json"),
        ]);
        assert!(refusal(&post, "/api/v1/workflows/x/instances", &json, &allowed).is_none());
        let cli = headers(&[("host", "127.0.0.1:7700")]);
        assert!(refusal(&post, "/api/v1/schedules/x/pause", &cli, &allowed).is_none(), "curl and SDKs send no Origin");
        let ping = headers(&[("host", "127.0.0.1:7700"), ("content-type", "text/plain")]);
        assert!(refusal(&post, "/ping/abc", &ping, &allowed).is_none());
    }
}
