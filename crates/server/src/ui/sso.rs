//! Signing in through an identity provider (OpenID Connect's authorization code flow with PKCE).
//!
//! `GET /ui/sso/NAME` draws a `state`, a `nonce` and a PKCE verifier, keeps them in the store
//! (so the answer may come back to any node) with the SHA-256 of a binding cookie set in this
//! browser, and sends the browser to the provider. `GET /ui/sso/NAME/callback` takes the stored
//! sign-in once (a replayed or forged `state` finds nothing), checks that the browser holds its
//! binding cookie (a callback link sent to someone else's browser is refused: login CSRF),
//! exchanges the code with the verifier, verifies the ID token ([`crate::sso::id_token`]), finds
//! or creates the account ([`crate::sso::account`]) and begins a session with a new id. Where
//! the person goes afterwards was stored at the start, and is a local path.
//!
//! Signing out of a session begun here also signs out at the provider, when it offers an
//! `end_session_endpoint` (RP-initiated logout).

use axum::extract::{Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use vigil_core::identity::{IdentityProviderDef, OidcDef, Protocol};
use vigil_store::UserRow;

use super::session;
use crate::AppState;
use crate::accounts;
use crate::sso::{self, account};

/// The cookie that ties a pending sign-in to the browser that began it. Over HTTPS it is a
/// `__Host-` cookie, which no sibling subdomain can set (nor one with another path).
fn binding_cookie(secure: bool) -> &'static str {
    if secure { "__Host-vigil_sso" } else { "vigil_sso" }
}

/// `Set-Cookie` for the binding `value` (`Max-Age` `age`).
fn set_binding(value: &str, secure: bool, age: i64) -> String {
    let name = binding_cookie(secure);
    if secure {
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age={age}")
    } else {
        format!("{name}={value}; Path=/ui/sso/; HttpOnly; SameSite=Lax; Max-Age={age}")
    }
}

/// The client's address, for the sign-in throttle.
fn source_of(extensions: &axum::http::Extensions) -> std::net::IpAddr {
    crate::listen::client_ip(extensions).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}

/// Query of the start address.
#[derive(Debug, Deserialize)]
pub struct Start {
    next: Option<String>,
}

/// Query of the callback: a code and the state, or the provider's error.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The issuer that answered (RFC 9207), when the provider says: it must be this one's.
    iss: Option<String>,
}

/// The OpenID Connect providers' sign-in links for the sign-in page: (address, button text).
pub fn buttons(app: &AppState, next: &str) -> Vec<(String, String)> {
    let next = super::format::query_escape(next);
    let providers = app.engine.accounts().identity_providers();
    let oidc = providers.iter().filter(|p| matches!(p.protocol, Protocol::Oidc(_)));
    oidc.map(|p| (format!("/ui/sso/{}?next={next}", p.name), p.title.clone())).collect()
}

/// The OpenID Connect provider `name`, with its `oidc:` block.
fn provider(app: &AppState, name: &str) -> Option<(IdentityProviderDef, OidcDef)> {
    let providers = app.engine.accounts().identity_providers();
    let def = providers.iter().find(|p| p.name == name)?;
    match &def.protocol {
        Protocol::Oidc(o) => Some((def.clone(), o.clone())),
        Protocol::Ldap(_) => None,
    }
}

fn redirect_uri(app: &AppState, headers: &HeaderMap, name: &str) -> String {
    format!("{}/ui/sso/{name}/callback", crate::operations::instances::base_url(app, headers))
}

/// A refused sign-in, as a page that offers to begin again.
fn refused(status: StatusCode, message: &str) -> Response {
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            (super::layout::head("Sign-in refused", false))
            body { main.signin {
                h1 { "Not signed in" }
                p.error-box role="alert" { (message) }
                p { a href="/ui/signin" { "Sign in again" } }
            } }
        }
    };
    (status, page).into_response()
}

/// A page that sends the browser on to `to` (a new navigation from this site, so the SameSite
/// session cookie set with it goes along; a redirect at the end of a cross-site chain would not
/// carry it, nor may a form's redirect leave the site under the UI's `form-action` policy).
fn continue_to(to: &str, what: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(format!("0;url={to}"));
                title { (what) }
            }
            body { main.signin { p { (what) " " a #continue href=(to) { "Continue" } } } }
        }
    }
}

/// `GET /ui/sso/{name}`: sends the browser to the provider.
pub async fn start(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<Start>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let next = super::local_path(q.next.as_deref(), "/").to_string();
    if !app.auth.required() {
        return Redirect::to(&next).into_response();
    }
    // Each start writes to the store: a source that starts many and finishes none waits.
    let source = source_of(&extensions);
    if let Some(wait) = app.auth.sso_starts().wait(source, std::time::Instant::now()) {
        let msg = format!("Too many sign-ins begun from here: try again in {} s.", wait.as_secs_f64().ceil());
        return refused(StatusCode::TOO_MANY_REQUESTS, &msg);
    }
    app.auth.sso_starts().failed(source, std::time::Instant::now());
    let Some((_, oidc)) = provider(&app, &name) else {
        return refused(StatusCode::NOT_FOUND, "There is no such identity provider.");
    };
    let oidc = &oidc;
    let discovery = match app.auth.providers().discovery(oidc).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "Could not read an identity provider's discovery document.");
            return refused(StatusCode::BAD_GATEWAY, "vigil cannot reach the identity provider now: try again.");
        }
    };
    let (state, nonce, verifier) = (sso::random_value(), sso::random_value(), sso::random_value());
    // A browser keeps its binding across tabs, so two sign-ins begun at once both come back.
    let secure = session::https(&app, &headers);
    let binding = session::cookie(&headers, binding_cookie(secure))
        .filter(|b| b.len() == 43 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
        .map_or_else(sso::random_value, str::to_string);
    let now = app.engine.now();
    let pending = vigil_store::SignInStateRow {
        state_hash: sso::digest(&state),
        provider: name.clone(),
        nonce: nonce.clone(),
        verifier: verifier.clone(),
        binding_hash: sso::digest(&binding),
        next,
        expires_at: now + sso::PENDING_SECONDS * 1000,
    };
    if let Err(e) = app.engine.accounts().put_sign_in_state(&pending, now).await {
        tracing::error!(error = %e, "Could not store a pending sign-in.");
        return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
    }
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", &oidc.client_id),
        ("redirect_uri", &redirect_uri(&app, &headers, &name)),
        ("scope", &oidc.scopes.join(" ")),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &sso::challenge(&verifier)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let joiner = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    let to = format!("{}{joiner}{query}", discovery.authorization_endpoint);
    let bind = set_binding(&binding, secure, sso::PENDING_SECONDS);
    (StatusCode::SEE_OTHER, [(SET_COOKIE, bind), (LOCATION, to)]).into_response()
}

/// `GET /ui/sso/{name}/callback`: checks the provider's answer and begins a session.
pub async fn callback(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<Callback>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let secure = session::https(&app, &headers);
    if let Some(error) = &q.error {
        let error: String = error.chars().filter(|c| c.is_ascii_lowercase() || *c == '_').take(64).collect();
        tracing::info!(provider = %name, error = %error, "An identity provider did not sign someone in.");
        return refused(StatusCode::UNAUTHORIZED, &format!("The identity provider did not sign you in ({error})."));
    }
    let (Some(code), Some(state)) = (&q.code, &q.state) else {
        return refused(StatusCode::BAD_REQUEST, "The identity provider's answer is incomplete: sign in again.");
    };
    let now = app.engine.now();
    let store = app.engine.accounts().clone();
    let pending = match store.take_sign_in_state(&sso::digest(state), now).await {
        Ok(Some(p)) if p.provider == name => p,
        Ok(_) => {
            tracing::warn!(provider = %name, "A sign-in came back with a state that is unknown, used or expired.");
            return refused(StatusCode::BAD_REQUEST, "This sign-in has expired or was already used: sign in again.");
        }
        Err(e) => {
            tracing::error!(error = %e, "Could not read a pending sign-in.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be read: try again.");
        }
    };
    let bound = session::cookie(&headers, binding_cookie(secure))
        .is_some_and(|b| bool::from(sso::digest(b).as_bytes().ct_eq(pending.binding_hash.as_bytes())));
    if !bound {
        tracing::warn!(provider = %name, "A sign-in came back to a browser that did not begin it.");
        return refused(StatusCode::BAD_REQUEST, "This sign-in began in another browser: sign in again here.");
    }
    let Some((def, oidc)) = provider(&app, &name) else {
        return refused(StatusCode::NOT_FOUND, "There is no such identity provider.");
    };
    let oidc = &oidc;
    if q.iss.as_ref().is_some_and(|iss| *iss != oidc.issuer) {
        tracing::warn!(provider = %name, "A sign-in came back from another issuer (a mix-up attack?).");
        return refused(StatusCode::BAD_REQUEST, "This answer came from another identity provider: sign in again.");
    }
    let secret = match &oidc.client_secret {
        Some(secret_name) => match app.engine.secret_value(secret_name) {
            Some(value) => Some(value),
            None => {
                tracing::error!(provider = %name, secret = %secret_name, "The identity provider's client secret is not set: `vigil secret set`.");
                return refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Signing in this way is not set up completely: tell an admin.",
                );
            }
        },
        None => None,
    };
    let exchange = (code.as_str(), pending.verifier.as_str(), redirect_uri(&app, &headers, &name));
    let wanted = [oidc.username_claim.as_str(), oidc.groups_claim.as_str()];
    let claims = app
        .auth
        .providers()
        .claims(oidc, (exchange.0, exchange.1, &exchange.2), secret.as_deref(), (&pending.nonce, now / 1000, &wanted))
        .await;
    let claims = match claims {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "A sign-in through an identity provider was refused.");
            return refused(
                StatusCode::UNAUTHORIZED,
                "The identity provider's answer could not be verified: sign in again.",
            );
        }
    };
    let user = match account::person_of(&name, oidc, &claims) {
        Ok(person) => account::sign_in(store.as_ref(), &def, &app.auth.teams(), person, now).await,
        Err(e) => Err(e),
    };
    let user = match user {
        Ok(u) => u,
        Err(account::Refusal::Store(e)) => {
            tracing::error!(error = %e, "Could not store a signed-in account.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
        }
        Err(e) => {
            tracing::warn!(provider = %name, refusal = %e, "A sign-in through an identity provider was refused.");
            return refused(StatusCode::FORBIDDEN, &format!("vigil does not sign you in: {e}."));
        }
    };
    app.auth.forget().await;
    let Some(caller) = app.auth.user_caller(&user.id).await else {
        let msg = format!(
            "You are `{}`, and your account has no role in vigil yet: an admin gives it one, or lists one of your \
             groups in a team.",
            user.id
        );
        return refused(StatusCode::FORBIDDEN, &msg);
    };
    let id = match session::begin(&app, &caller, Some(&name)).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "Could not store a UI session.");
            return super::error_page(StatusCode::SERVICE_UNAVAILABLE, "The store cannot be written: try again.");
        }
    };
    tracing::info!(provider = %name, user = %user.id, "Signed in through an identity provider.");
    app.auth.sso_starts().succeeded(source_of(&extensions));
    let unbind = set_binding("", secure, 0);
    let cookies = AppendHeaders([(SET_COOKIE, session::sign_in_cookie(&id, secure)), (SET_COOKIE, unbind)]);
    (StatusCode::OK, cookies, continue_to(&pending.next, "Signed in.")).into_response()
}

/// Where signing out of a session begun through `provider` sends the browser, to sign out
/// there too; none when the provider has no `end_session_endpoint` or its `logout` is off.
pub async fn logout_at(app: &AppState, headers: &HeaderMap, provider_name: &str) -> Option<String> {
    let (_, oidc) = provider(app, provider_name)?;
    let oidc = &oidc;
    if !oidc.logout {
        return None;
    }
    let discovery = app.auth.providers().discovery(oidc).await.ok()?;
    let end = discovery.end_session_endpoint.as_deref()?;
    let back = format!("{}/ui/signin", crate::operations::instances::base_url(app, headers));
    let query =
        serde_urlencoded::to_string([("client_id", oidc.client_id.as_str()), ("post_logout_redirect_uri", &back)])
            .ok()?;
    let joiner = if end.contains('?') { '&' } else { '?' };
    Some(format!("{end}{joiner}{query}"))
}

/// The page that sends a signed-out browser on to the provider's sign-out.
pub fn leaving(to: &str) -> Markup {
    continue_to(to, "Signed out of vigil; signing out at the identity provider.")
}

/// Checks a name and password typed on the sign-in page against the LDAP directories: the one
/// that made `existing` (whose tries are counted and paced like a password's), or each in turn
/// for a name with no account yet. The account it signs in, and the directory's name.
pub async fn directory_sign_in(
    app: &AppState,
    name: &str,
    password: &str,
    existing: Option<&UserRow>,
) -> Result<(UserRow, String), accounts::SignInError> {
    use crate::accounts::SignInError;
    use crate::sso::ldap::{self, LdapError};
    let store = app.engine.accounts().clone();
    let now = app.engine.now();
    // Directories match names loosely (`ana` with a zero-width space finds Ana's entry): only
    // names vigil takes are asked, so each is one account with its tries counted.
    if !accounts::valid_name(name) {
        return Err(SignInError::Wrong);
    }
    if let Some(user) = existing {
        accounts::take_try(store.as_ref(), user, now).await?;
    }
    let maker = existing.and_then(|u| u.external_id.as_deref()).and_then(|e| e.split_once(':')).map(|(p, _)| p);
    let providers = app.engine.accounts().identity_providers();
    let mut unreachable = false;
    for def in providers.iter().filter(|p| maker.is_none_or(|m| m == p.name)) {
        let Protocol::Ldap(directory) = &def.protocol else { continue };
        let bind_password = match &directory.bind_password {
            Some(secret) => match app.engine.secret_value(secret) {
                Some(value) => Some(value),
                None => {
                    tracing::error!(provider = %def.name, secret = %secret, "The directory's bind password is not set: `vigil secret set`.");
                    unreachable = true;
                    continue;
                }
            },
            None => None,
        };
        let person = match ldap::authenticate(directory, bind_password.as_deref(), name, password).await {
            Ok(p) => p,
            Err(LdapError::Wrong) => continue,
            Err(e) => {
                tracing::warn!(provider = %def.name, error = %e, "Could not check a sign-in with a directory.");
                unreachable = true;
                continue;
            }
        };
        let person = account::Person {
            id: name.to_string(),
            external_id: format!("{}:{}", def.name, person.dn),
            display_name: if person.display_name.is_empty() { name.to_string() } else { person.display_name },
            email: person.email,
            groups: person.groups,
        };
        return match account::sign_in(store.as_ref(), def, &app.auth.teams(), person, now).await {
            Ok(user) => Ok((user, def.name.clone())),
            Err(account::Refusal::Store(e)) => Err(SignInError::Store(e)),
            Err(e) => {
                tracing::warn!(provider = %def.name, refusal = %e, "A directory sign-in was refused.");
                Err(SignInError::Wrong)
            }
        };
    }
    Err(if unreachable { SignInError::Directory } else { SignInError::Wrong })
}
