//! The sign-in page: an API token in, an HTTP-only SameSite cookie out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
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

/// `POST /ui/signin`: checks the token as the API would and sets the session cookie.
pub async fn submit(State(app): State<AppState>, headers: HeaderMap, Form(f): Form<SignIn>) -> Response {
    let next = local(f.next.as_deref());
    let token = f.token.trim();
    let caller = match crate::auth::split(token) {
        Some((id, secret)) => app.auth.check(id, secret).await,
        None => None,
    };
    if caller.is_none() {
        let page = form_page(&next, Some("That token is not valid (or was revoked)."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let secure = app.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || headers.get("x-forwarded-proto").is_some_and(|v| v == "https");
    (StatusCode::SEE_OTHER, [(SET_COOKIE, session::sign_in_cookie(token, secure))], Redirect::to(&next)).into_response()
}

/// `POST /ui/signout`.
pub async fn sign_out() -> Response {
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
