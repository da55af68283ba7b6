//! The sign-in page: an API token in, a session of its own out (an HTTP-only SameSite cookie);
//! wrong tokens from one source are slowed down ([`super::throttle`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::session;
use crate::AppState;

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    token: String,
    next: Option<String>,
}

/// Where to go after signing in: a local path only.
fn local(next: Option<&str>) -> String {
    super::local_path(next, "/").to_string()
}

fn form_page(next: &str, problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::layout::head("Sign in", false))
            body {
                main.signin {
                    h1 { "Sign in to vigil" }
                    @if let Some(p) = problem {
                        p.error-box role="alert" { (p) }
                    }
                    form.stack method="post" action="/ui/signin" {
                        label for="token" { "API token" }
                        input #token type="password" name="token" autocomplete="current-password" required
                            placeholder="vgl_…" autofocus;
                        input type="hidden" name="next" value=(next);
                        button.primary type="submit" { "Sign in" }
                    }
                    p.muted { "An admin mints tokens with " code { "vigil token create NAME --role read|write|admin" } "." }
                }
            }
        }
    }
}

/// `GET /ui/signin`.
pub async fn form(State(app): State<AppState>, Query(q): Query<Next>) -> Response {
    if !app.auth.required() {
        return Redirect::to(&local(q.next.as_deref())).into_response();
    }
    form_page(&local(q.next.as_deref()), None).into_response()
}

/// `POST /ui/signin`: checks the token as the API would and begins a session.
pub async fn submit(
    State(app): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    let next = local(f.next.as_deref());
    let source = extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let throttle = app.auth.sign_ins();
    if let Some(wait) = throttle.wait(source, Instant::now()) {
        let seconds = wait.as_secs_f64().ceil() as u64;
        let problem = format!("Too many wrong tokens from your address: try again in {seconds} s.");
        let page = form_page(&next, Some(&problem));
        return (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, seconds.to_string())], page).into_response();
    }
    let caller = match crate::auth::split(f.token.trim()) {
        Some((id, secret)) => app.auth.check(id, secret).await,
        None => None,
    };
    let Some(caller) = caller else {
        throttle.failed(source, Instant::now());
        let page = form_page(&next, Some("That token is not valid (or was revoked)."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    };
    throttle.succeeded(source);
    let session = match session::begin(&app, &caller).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "Could not store a UI session.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
        }
    };
    let secure = app.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || headers.get("x-forwarded-proto").is_some_and(|v| v == "https");
    (StatusCode::SEE_OTHER, [(SET_COOKIE, session::sign_in_cookie(&session, secure))], Redirect::to(&next))
        .into_response()
}

/// `POST /ui/signout`: ends the session everywhere, and clears the cookie.
pub async fn sign_out(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = session::end(&app, &headers).await {
        tracing::error!(error = %e, "Could not end a UI session.");
        return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
    }
    (StatusCode::SEE_OTHER, [(SET_COOKIE, session::sign_out_cookie())], Redirect::to("/ui/signin")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local(Some("/ui/instances?x=1")), "/ui/instances?x=1");
        assert_eq!(local(Some("https://evil.example/")), "/");
        assert_eq!(local(Some("//evil.example/")), "/");
        assert_eq!(local(Some("/\\evil.example")), "/");
        assert_eq!(local(None), "/");
    }
}
