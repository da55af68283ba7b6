//! The web UI, served by the binary at `/` and under `/ui/`: server-rendered HTML (maud, which
//! escapes every value it writes), charts and diagrams as inline SVG drawn here, one stylesheet
//! and one small script compiled into the binary, and server-sent events that keep the
//! overview and a running instance's page live. Nothing is fetched from another host.
//!
//! Pages read what the API reads (the engine and the store) and actions call what the API
//! calls, so the UI can do nothing the API cannot; [`session`] maps the API's tokens and roles
//! onto a cookie and guards every form against cross-site requests.

mod account;
mod alerts;
mod assets;
pub(crate) mod audit;
mod cache;
mod charts;
mod cluster;
mod evidence;
pub(crate) mod format;
mod gantt;
mod graph;
mod instances;
pub(crate) mod layout;
mod live;
mod monitors;
mod overview;
mod schedules;
pub mod session;
mod signin;
mod sso;
mod workflows;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{DOCTYPE, html};

use crate::{ApiError, AppState};

/// The UI's routes, with the cache its overview reads, and the UI pages of the features that
/// keep theirs in their own folder (`features`), under the same layers.
pub fn routes(features: Router<AppState>) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/ui", get(|| async { axum::response::Redirect::to("/") }))
        .route("/ui/live/overview", get(live::overview))
        .route("/ui/signin", get(signin::form).post(signin::submit))
        .route("/ui/signout", post(signin::sign_out))
        .route("/ui/sso/{name}", get(sso::start))
        .route("/ui/sso/{name}/callback", get(sso::callback))
        .route("/ui/account", get(account::page))
        .route("/ui/account/password", post(account::change_password))
        .route("/ui/account/code", post(account::start_code))
        .route("/ui/account/code/confirm", post(account::confirm_code))
        .route("/ui/account/tokens", post(account::make_token))
        .route("/ui/account/tokens/{id}/revoke", post(account::revoke_token))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .route("/ui/monitors", get(monitors::list))
        .route("/ui/monitors/{name}", get(monitors::detail))
        .route("/ui/monitors/{name}/check", post(monitors::check_now))
        .route("/ui/monitors/{name}/evidence/{at}", get(evidence::screenshot))
        .route("/ui/alerts", get(alerts::page))
        .route("/ui/alerts/ack", post(alerts::ack))
        .route("/ui/silences", post(alerts::add_silence))
        .route("/ui/silences/{id}/expire", post(alerts::expire_silence))
        .route("/ui/instances", get(instances::list))
        .route("/ui/instances/{id}", get(instances::detail))
        .route("/ui/live/instances/{id}", get(live::instance))
        .route("/ui/live/monitors/{name}", get(live::monitor))
        .route("/ui/instances/{id}/event", post(instances::raise_event))
        .route("/ui/instances/{id}/{action}", post(instances::control))
        .route("/ui/workflows", get(workflows::list))
        .route("/ui/workflows/{name}", get(workflows::detail))
        .route("/ui/workflows/{name}/start", post(workflows::start))
        .route("/ui/schedules", get(schedules::page))
        .route("/ui/schedules/{name}/{action}", post(schedules::control))
        .route("/ui/cluster", get(cluster::page))
        .route("/ui/audit", get(audit::page))
        .merge(features)
        .layer(Extension(Arc::new(cache::Sparklines::default())))
        .layer(axum::middleware::map_response(security_headers))
}

/// What every UI response carries: a content security policy that allows only vigil's own
/// stylesheet, script and live stream (no inline script, no other host, no framing), and no
/// MIME sniffing or cross-site referrers.
async fn security_headers(mut response: Response) -> Response {
    use axum::http::HeaderValue;
    use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A page's failure, shown as a page (not JSON): the API's error with its status.
#[derive(Debug)]
pub struct UiError(ApiError);

impl<E: Into<ApiError>> From<E> for UiError {
    fn from(e: E) -> Self {
        UiError(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        error_page(self.0.code.status(), &self.0.message)
    }
}

/// What UI handlers return.
pub type UiResult<T> = Result<T, UiError>;

/// A bare page with `message`, for errors before (or without) a signed-in viewer.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head(&status.as_u16().to_string(), false))
            body {
                main {
                    h1 { (status.canonical_reason().unwrap_or("Error")) }
                    p.error-box role="alert" { (message) }
                    p { a href="/" { "Overview" } }
                }
            }
        }
    };
    (status, markup).into_response()
}

/// `path` when it is a path on this server, else `fallback`: what a form or link says to go back
/// to after an action or a sign-in, so no page can send anyone to another site (`//host` and
/// `/\\host` are other sites to a browser).
pub fn local_path<'a>(path: Option<&'a str>, fallback: &'a str) -> &'a str {
    match path {
        // Browsers drop tabs and line breaks from addresses: `/\t/evil.example` is `//evil.example`.
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.contains(char::is_control) => {
            p
        }
        _ => fallback,
    }
}

/// One page of a list paged in memory: which page (from 1) of how many, and its items' range.
pub struct Paged {
    /// The page shown.
    pub page: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
    /// The shown items' range in the list.
    pub range: std::ops::Range<usize>,
}

impl Paged {
    /// Page `requested` (clamped; the first when absent) of `len` items, `per` a page.
    pub fn of(len: usize, per: usize, requested: Option<usize>) -> Paged {
        let pages = len.div_ceil(per.max(1)).max(1);
        let page = requested.unwrap_or(1).clamp(1, pages);
        Paged { page, pages, range: (page - 1) * per..(page * per).min(len) }
    }

    /// The pager under the list (nothing when one page holds it): previous, where we are, next.
    /// `link` gives a page's URL; `what` names the items (`"120 monitors, worst first"`).
    pub fn pager(&self, link: impl Fn(usize) -> String, what: &str) -> maud::Markup {
        html! {
            @if self.pages > 1 {
                div.pager {
                    @if self.page > 1 { a href=(link(self.page - 1)) { "← Previous" } }
                    span.muted { "page " (self.page) " of " (self.pages) " · " (what) }
                    @if self.page < self.pages { a rel="next" href=(link(self.page + 1)) { "Next →" } }
                }
            }
        }
    }
}

/// The query of a page a form redirects back to: what was done, for its flash message.
#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    /// What was done ([`layout::flash`] words it).
    pub done: Option<String>,
}

/// Redirects after a form: back to `to` with `?done=<what>` for the flash message.
pub fn done(to: &str, what: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    axum::response::Redirect::to(&format!("{to}{sep}done={what}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/ui/instances?x=1"), "/"), "/ui/instances?x=1");
        assert_eq!(local_path(Some("https://evil.example/"), "/"), "/");
        assert_eq!(local_path(Some("//evil.example/"), "/"), "/");
        assert_eq!(local_path(Some("/\\evil.example"), "/ui/alerts"), "/ui/alerts");
        assert_eq!(local_path(None, "/"), "/");
    }

    #[test]
    fn pages_clamp_and_cover_the_list() {
        let p = Paged::of(250, 120, Some(9));
        assert_eq!((p.page, p.pages, p.range.clone()), (3, 3, 240..250));
        assert_eq!(Paged::of(0, 120, None).range, 0..0);
        let markup = Paged::of(250, 120, Some(2)).pager(|n| format!("/?page={n}"), "250 monitors").into_string();
        assert!(markup.contains("/?page=1") && markup.contains("/?page=3") && markup.contains("page 2 of 3"));
        assert!(Paged::of(10, 120, None).pager(|n| n.to_string(), "x").into_string().is_empty());
    }
}
