//! The sign-in page: an account's name and password (and its one-time code, if it has one), or
//! an API token; a session of its own out (an HTTP-only SameSite cookie, a new id each time).
//! Wrong tries from one source are slowed down ([`crate::throttle`]), and wrong passwords on one
//! account as well ([`crate::accounts`]).

use std::net::IpAddr;
use std::time::Instant;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::session;
use crate::AppState;
use crate::accounts::{self, Credentials, SignInError};
use crate::auth::Caller;

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in forms' fields: an account's (`name`, `password`, `code`) or a `token`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
    next: Option<String>,
}

/// Where to go after signing in: a local path only.
fn local(next: Option<&str>) -> String {
    super::local_path(next, "/").to_string()
}

/// What the page shows again after a refused try.
#[derive(Default)]
struct Again<'a> {
    problem: Option<&'a str>,
    name: &'a str,
    ask_code: bool,
}

fn form_page(app: &AppState, next: &str, again: Again<'_>) -> Markup {
    let providers = super::sso::buttons(app, next);
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::layout::head("Sign in", false))
            body {
                main.signin {
                    h1 { "Sign in to vigil" }
                    @if let Some(p) = again.problem {
                        p.error-box role="alert" { (p) }
                    }
                    @if !providers.is_empty() {
                        nav.stack #providers aria-label="Single sign-on" {
                            @for (href, title) in &providers {
                                a.button.primary href=(href) { (title) }
                            }
                        }
                        p.muted { "Or with a vigil account:" }
                    }
                    form.stack #account-signin method="post" action="/ui/signin" {
                        label for="name" { "Name" }
                        input #name type="text" name="name" autocomplete="username" required value=(again.name)
                            autocapitalize="none" spellcheck="false" autofocus[!again.ask_code];
                        label for="password" { "Password" }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        label for="code" { "One-time code" @if !again.ask_code { span.muted { " (if you set one up)" } } }
                        input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                            pattern="[0-9 ]{6,7}" maxlength="7" required[again.ask_code] autofocus[again.ask_code];
                        input type="hidden" name="next" value=(next);
                        button.primary type="submit" { "Sign in" }
                    }
                    details #token-signin {
                        summary { "Sign in with an API token" }
                        form.stack method="post" action="/ui/signin" {
                            label for="token" { "API token" }
                            input #token type="password" name="token" autocomplete="off" required placeholder="vgl_…";
                            input type="hidden" name="next" value=(next);
                            button type="submit" { "Sign in with the token" }
                        }
                        p.muted { "An admin mints tokens with " code { "vigil token create --role read|respond|write|admin" } "." }
                    }
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
    form_page(&app, &local(q.next.as_deref()), Again::default()).into_response()
}

/// A pause, per address or per account: one sentence for both, so it does not tell whether the
/// account exists.
fn too_many(app: &AppState, next: &str, name: &str, seconds: u64) -> Response {
    let problem = format!("Too many wrong tries: try again in {seconds} s.");
    let page = form_page(app, next, Again { problem: Some(&problem), name, ask_code: false });
    (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, seconds.to_string())], page).into_response()
}

/// `POST /ui/signin`: checks an account's password and code, or a token as the API would, and
/// begins a session.
pub async fn submit(
    State(app): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    let next = local(f.next.as_deref());
    let source = crate::listen::client_ip(&extensions).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let throttle = app.auth.sign_ins();
    let name = f.name.as_deref().unwrap_or_default();
    if let Some(wait) = throttle.wait(source, Instant::now()) {
        return too_many(&app, &next, name, wait.as_secs_f64().ceil() as u64);
    }
    // Counted before it is checked (a success clears it), so tries sent at once count too.
    throttle.failed(source, Instant::now());
    let (caller, directory) = match (&f.token, &f.password) {
        (Some(token), _) => {
            let caller = match crate::auth::split(token.trim()) {
                Some((id, secret)) => app.auth.check(id, secret).await,
                None => None,
            };
            let Some(caller) = caller else {
                let again = Again { problem: Some("That token is not valid (or was revoked)."), ..Again::default() };
                return (StatusCode::UNAUTHORIZED, form_page(&app, &next, again)).into_response();
            };
            (caller, None)
        }
        (None, Some(password)) => {
            let typed = Credentials { name, password, code: f.code.as_deref() };
            match account_caller(&app, typed).await {
                Ok(caller) => caller,
                Err(SignInError::Paused(seconds)) => return too_many(&app, &next, name, seconds),
                Err(SignInError::CodeNeeded) => {
                    let again = Again {
                        problem: Some("Enter the one-time code from your authenticator app, with your password."),
                        name,
                        ask_code: true,
                    };
                    return (StatusCode::UNAUTHORIZED, form_page(&app, &next, again)).into_response();
                }
                Err(SignInError::Wrong) => {
                    let again =
                        Again { problem: Some("Wrong name, password or one-time code."), name, ask_code: false };
                    return (StatusCode::UNAUTHORIZED, form_page(&app, &next, again)).into_response();
                }
                Err(SignInError::Directory) => {
                    let again = Again {
                        problem: Some("The directory cannot be reached: try again in a moment, or tell an admin."),
                        name,
                        ask_code: false,
                    };
                    return (StatusCode::SERVICE_UNAVAILABLE, form_page(&app, &next, again)).into_response();
                }
                Err(SignInError::Store(e)) => {
                    tracing::error!(error = %e, "Could not check a sign-in.");
                    return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be read: try again.");
                }
            }
        }
        (None, None) => return (StatusCode::BAD_REQUEST, form_page(&app, &next, Again::default())).into_response(),
    };
    throttle.succeeded(source);
    let session = match session::begin(&app, &caller, directory.as_deref()).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "Could not store a UI session.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
        }
    };
    let secure = session::https(&app, &headers);
    (StatusCode::SEE_OTHER, [(SET_COOKIE, session::sign_in_cookie(&session, secure))], Redirect::to(&next))
        .into_response()
}

/// The caller an account's sign-in begins a session for; an account without a role has nothing
/// to see, and is told so as a wrong try would be.
/// A local account's password is checked here; an LDAP directory's account, or a name with no
/// account while directories are set up, is checked by the directories. Gives the directory too.
async fn account_caller(app: &AppState, typed: Credentials<'_>) -> Result<(Caller, Option<String>), SignInError> {
    let store = app.auth.accounts().clone();
    let existing = store.user(&accounts::normalize(typed.name)).await?;
    // A directory among the providers (named `name`, or any).
    let is_directory = |name: Option<&str>| {
        let providers = app.engine.accounts().identity_providers();
        providers
            .iter()
            .any(|p| matches!(p.protocol, vigil_core::identity::Protocol::Ldap(_)) && name.is_none_or(|n| p.name == n))
    };
    // An account made for a directory (`vigil user add --provider`) is that directory's too.
    let by_directory = match &existing {
        Some(user) => {
            let made_for = user.external_id.as_deref().and_then(|e| e.strip_suffix(':'));
            user.source == "ldap" || made_for.is_some_and(|p| is_directory(Some(p)))
        }
        None => is_directory(None),
    };
    let (user, directory) = if by_directory {
        let name = accounts::normalize(typed.name);
        let (user, directory) = super::sso::directory_sign_in(app, &name, typed.password, existing.as_ref()).await?;
        (user, Some(directory))
    } else {
        let decoys = app.auth.decoys();
        (accounts::sign_in(store.as_ref(), app.secret_box.as_deref(), decoys, typed, app.engine.now()).await?, None)
    };
    app.auth.forget().await;
    let caller = app.auth.user_caller(&user.id).await.ok_or(SignInError::Wrong)?;
    Ok((caller, directory))
}

/// `POST /ui/signout`: ends the session everywhere, and clears the cookie; a session begun
/// through an identity provider goes on to sign out there.
pub async fn sign_out(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let provider = match session::end(&app, &headers).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "Could not end a UI session.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
        }
    };
    let clear = [(SET_COOKIE, session::sign_out_cookie())];
    let at_provider = match provider {
        Some(name) => super::sso::logout_at(&app, &headers, &name).await,
        None => None,
    };
    match at_provider {
        Some(to) => (StatusCode::OK, clear, super::sso::leaving(&to)).into_response(),
        None => (StatusCode::SEE_OTHER, clear, Redirect::to("/ui/signin")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local(Some("/ui/instances?x=1")), "/ui/instances?x=1");
        assert_eq!(local(Some("https://evil.example/")), "/");
        assert_eq!(local(Some("//evil.example/")), "/");
        assert_eq!(local(Some("/\t/evil.example/")), "/", "browsers drop the tab");
        assert_eq!(local(Some("/\n/evil.example/")), "/");
        assert_eq!(local(Some("/\\evil.example")), "/");
        assert_eq!(local(None), "/");
    }
}
