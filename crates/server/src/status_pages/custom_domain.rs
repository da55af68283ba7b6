//! Status pages on their own domains (`domains:` in a page's file): a request whose `Host` is
//! one of a page's domains is that page's. `/` is the page, `/feed.rss`, `/history/2026-11` and
//! the subscription paths are its own, and `/status/{slug}/...` and its badges answer as on any
//! host; nothing else (the API, the web UI, another page) answers there. This runs before
//! routing and before the host check, which takes the page's domains as well as the server's
//! names.

use axum::extract::{Request, State};
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

use crate::paths::OnPageDomain;

/// The host name of a `Host` header: lowercase, without a port.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let bare = match host.rsplit_once(':') {
        _ if host.starts_with('[') => host.find(']').map_or(host, |end| &host[..=end]),
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    bare.trim_end_matches('.').to_ascii_lowercase()
}

/// Where a path on page `slug`'s domain goes; `None`: nowhere.
fn mapped(slug: &str, path: &str) -> Option<String> {
    let own = format!("/status/{slug}");
    let badge = path.starts_with("/badge/") || (path.starts_with("/api/v1/endpoints/") && path.ends_with("/badge.svg"));
    let page_path = matches!(path, "/feed.rss" | "/feed.atom" | "/subscribe")
        || path.starts_with("/history/")
        || path.starts_with("/subscriptions/");
    match path {
        "/" | "" => Some(own),
        p if p == own || p.starts_with(&format!("{own}/")) || badge => Some(p.to_string()),
        p if page_path => Some(format!("{own}{p}")),
        _ => None,
    }
}

/// The middleware.
pub async fn route(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(host) = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(host_name) else {
        return next.run(req).await;
    };
    let pages = app.engine.status_pages().all();
    let Some(page) = pages.iter().find(|p| p.domains.contains(&host)) else {
        return next.run(req).await;
    };
    let Some(path) = mapped(&page.slug, req.uri().path()) else {
        return crate::status_pages::public::not_found();
    };
    let with_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    match with_query.parse::<Uri>() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return crate::status_pages::public::not_found(),
    }
    req.extensions_mut().insert(OnPageDomain);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_domain_serves_that_page_and_nothing_else() {
        assert_eq!(mapped("acme", "/").as_deref(), Some("/status/acme"));
        assert_eq!(mapped("acme", "/feed.rss").as_deref(), Some("/status/acme/feed.rss"));
        assert_eq!(mapped("acme", "/history/2026-11").as_deref(), Some("/status/acme/history/2026-11"));
        assert_eq!(
            mapped("acme", "/subscriptions/ab/confirm").as_deref(),
            Some("/status/acme/subscriptions/ab/confirm")
        );
        assert_eq!(mapped("acme", "/status/acme/history/2026-11").as_deref(), Some("/status/acme/history/2026-11"));
        assert_eq!(mapped("acme", "/badge/acme.svg").as_deref(), Some("/badge/acme.svg"));
        for elsewhere in ["/api/v1/monitors", "/ui/", "/status/other", "/status/acmeish", "/healthz", "/ack/x"] {
            assert_eq!(mapped("acme", elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn host_names_are_compared_without_port_case_or_final_dot() {
        assert_eq!(host_name("Status.Acme.COM:8443"), "status.acme.com");
        assert_eq!(host_name("status.acme.com."), "status.acme.com");
        assert_eq!(host_name("[::1]:80"), "[::1]");
    }
}
