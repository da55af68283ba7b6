//! A person's own account: their role, their password (changed with the current one), a
//! one-time code (set up by scanning or typing a secret, then confirming a code from it), and
//! their API tokens (made with a role no higher than their own, an expiry, shown once; listed
//! with their last use; revoked). Only a person's own session reaches the forms: a session
//! begun with a token, even one of theirs, may not change the account that token belongs to.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use vigil_core::principal::Role;
use vigil_core::time::Millis;
use vigil_store::{TokenRow, UserRow};

use super::format;
use super::layout::{self, Nav, csrf};
use super::session::Viewer;
use super::{UiResult, done};
use crate::accounts::{self, SignInError, password, totp};
use crate::auth::Caller;
use crate::{ApiError, AppState, ErrorCode};

/// How long a code's setup may take between showing the secret and confirming a code.
const SETUP_MS: Millis = 10 * 60 * 1000;
/// What a new token's expiry may be, in days (0: never).
const EXPIRY_DAYS: [(u32, &str); 5] = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "a year"), (0, "never")];

/// The account a person's own session stands for; anything else is refused.
async fn own_account(app: &AppState, caller: Option<&Extension<Caller>>) -> Result<UserRow, ApiError> {
    let forbidden =
        || ApiError::new(ErrorCode::Forbidden, "this page is a person's own: sign in with your name and password");
    let caller = caller.ok_or_else(forbidden)?;
    let user = caller.user.as_deref().filter(|u| caller.id == format!("user:{u}")).ok_or_else(forbidden)?;
    app.engine.accounts().user(user).await.map_err(ApiError::from)?.ok_or_else(forbidden)
}

/// Notes shown once after a change, by the `done` query.
#[derive(Debug, Deserialize, Default)]
pub struct Shown {
    done: Option<String>,
}

/// `GET /ui/account`.
pub async fn page(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    caller: Option<Extension<Caller>>,
    axum::extract::Query(shown): axum::extract::Query<Shown>,
) -> UiResult<Response> {
    let user = match own_account(&app, caller.as_ref()).await {
        Ok(user) => user,
        Err(_) => {
            let body = html! { p { "You signed in with an API token. Accounts sign in with a name and password to see this page." } };
            return Ok(layout::page(&viewer, Nav::Account, "Your account", body).into_response());
        }
    };
    let tokens = own_tokens(&app, &user.id).await?;
    let body = html! {
        (layout::flash(shown.done.as_deref()))
        (account_body(&app, &viewer, &user, &tokens, None))
    };
    Ok(layout::page(&viewer, Nav::Account, "Your account", body).into_response())
}

async fn own_tokens(app: &AppState, user: &str) -> Result<Vec<TokenRow>, ApiError> {
    let all = app.engine.accounts().tokens().await.map_err(ApiError::from)?;
    Ok(all.into_iter().filter(|t| t.user_id.as_deref() == Some(user) && t.revoked_at.is_none()).collect())
}

fn account_body(app: &AppState, viewer: &Viewer, user: &UserRow, tokens: &[TokenRow], problem: Option<&str>) -> Markup {
    let now = app.engine.now();
    let role = accounts::role_of(user);
    let rights = crate::auth::rights_of(user, &app.auth.teams());
    let best = rights.best();
    html! {
        @if let Some(p) = problem { p.error-box role="alert" { (p) } }
        section.panel {
            dl.facts {
                dt { "Name" } dd #account-name { (user.id) }
                @if !user.display_name.is_empty() { dt { "Shown as" } dd { (user.display_name) } }
                dt { "Role everywhere" } dd #account-role { (role.map_or("none", |r| r.as_str())) }
                @if !rights.teams.is_empty() {
                    dt { "Teams" }
                    dd #account-teams {
                        @for (i, (team, r)) in rights.teams.iter().enumerate() {
                            @if i > 0 { ", " }
                            (team) " (" (r.as_str()) ")"
                        }
                    }
                }
                dt { "Signed in from" } dd { (user.source) }
                @if !user.groups.is_empty() { dt { "Groups" } dd #account-groups { (user.groups.join(", ")) } }
                @if user.source == "local" {
                    dt { "One-time code" } dd #account-code { @if user.totp_sealed.is_some() { "set up" } @else { "not set up" } }
                }
            }
        }
        @if user.source == "local" {
            h2 { "Password" }
            form.stack.panel #password-form method="post" action="/ui/account/password" {
                (csrf(viewer))
                label for="current" { "Current password" }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { "New password (at least " (password::MIN_CHARS) " characters)" }
                input #new type="password" name="new" autocomplete="new-password" required minlength=(password::MIN_CHARS);
                button.primary type="submit" { "Change the password" }
            }
            @if user.totp_sealed.is_none() {
                h2 { "One-time code" }
                form.panel #code-setup method="post" action="/ui/account/code" {
                    (csrf(viewer))
                    p { "Sign-ins will ask for a code from an authenticator app as well as your password." }
                    button type="submit" { "Set up a one-time code" }
                }
            }
        }
        h2 { "Your API tokens" }
        section.panel {
            @if tokens.is_empty() { p.muted { "None yet." } }
            @else {
                table #tokens {
                    thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "Expires" } th { "Last used" } th {} } }
                    tbody {
                        @for t in tokens {
                            tr data-token=(t.id) {
                                td { (t.name) " " span.muted { "(" (t.id) ")" } }
                                td { (t.role) }
                                td { (format::when(t.created_at, now)) }
                                td { @if let Some(at) = t.expires_at { (format::when(at, now)) } @else { "never" } }
                                td { @if let Some(at) = t.last_used_at { (format::when(at, now)) } @else { "never" } }
                                td {
                                    form.inline method="post" action={ "/ui/account/tokens/" (t.id) "/revoke" } {
                                        (csrf(viewer))
                                        button type="submit" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.stack #token-form method="post" action="/ui/account/tokens" {
                (csrf(viewer))
                label for="token-name" { "Name" }
                input #token-name type="text" name="name" required maxlength="100" placeholder="what uses it";
                label for="token-role" { "Role (at most yours)" }
                select #token-role name="role" {
                    @for r in [Role::Read, Role::Respond, Role::Write, Role::Admin] {
                        @if best.is_some_and(|mine| r <= mine) { option value=(r.as_str()) selected[Some(r) == best] { (r.as_str()) } }
                    }
                }
                label for="token-expires" { "Expires in" }
                select #token-expires name="days" {
                    @for (days, text) in EXPIRY_DAYS { option value=(days) selected[days == 90] { (text) } }
                }
                button type="submit" { "Make a token" }
            }
        }
    }
}

/// `POST /ui/account/password`'s fields.
#[derive(Debug, Deserialize)]
pub struct NewPassword {
    current: String,
    new: String,
}

/// `POST /ui/account/password`: the current password, then the new one; every session of the
/// account ends but this one's browser is sent to sign in again.
pub async fn change_password(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    caller: Option<Extension<Caller>>,
    Form(f): Form<NewPassword>,
) -> UiResult<Response> {
    let user = own_account(&app, caller.as_ref()).await?;
    let refuse = |problem: &str| -> UiResult<Response> {
        let body = account_body(&app, &viewer, &user, &[], Some(problem));
        Ok((StatusCode::BAD_REQUEST, layout::page(&viewer, Nav::Account, "Your account", body)).into_response())
    };
    let store = app.engine.accounts();
    let now = app.engine.now();
    match accounts::check_password(store.as_ref(), &user, &f.current, now).await {
        Ok(()) => store.user_signed_in(&user.id, now).await.map_err(ApiError::from)?,
        Err(SignInError::Paused(s)) => return refuse(&format!("Too many wrong tries: try again in {s} s.")),
        Err(SignInError::Store(e)) => return Err(ApiError::from(e).into()),
        Err(_) => return refuse("The current password is wrong."),
    }
    if let Err(weak) = password::check_strength(&f.new) {
        return refuse(&format!("The new password was not taken: {weak}."));
    }
    let hash = password::hash(&f.new).await;
    store.set_password(&user.id, Some(&hash)).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    Ok(axum::response::Redirect::to("/ui/signin?next=/ui/account").into_response())
}

/// A code's setup in progress: sealed into the form, so any node confirms it and nobody can
/// read or change it on the way.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    user: String,
    secret: String,
    until: Millis,
}

/// `POST /ui/account/code`: a new secret, shown with its `otpauth://` URI, and a form to
/// confirm a code from it.
pub async fn start_code(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    caller: Option<Extension<Caller>>,
) -> UiResult<Response> {
    let user = own_account(&app, caller.as_ref()).await?;
    refuse_second_code(&user)?;
    let sealer = app.secret_box.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::Conflict, "one-time codes need vigil's secret key (VIGIL_SECRET_KEY or its key file)")
    })?;
    let secret = totp::new_secret();
    let pending = Pending { user: user.id.clone(), secret: totp::base32(&secret), until: app.engine.now() + SETUP_MS };
    let sealed = sealer.seal_text(&serde_json::to_string(&pending).map_err(|e| ApiError::internal(e.to_string()))?);
    let markup = layout::page(
        &viewer,
        Nav::Account,
        "Set up a one-time code",
        code_form(&viewer, &user, &secret, &sealed, None),
    );
    Ok(no_store(markup.into_response()))
}

/// A code already set up is not replaced from a session (a stolen cookie would enrol its own):
/// an admin resets it first.
fn refuse_second_code(user: &UserRow) -> Result<(), ApiError> {
    match user.totp_sealed {
        Some(_) => Err(ApiError::new(
            ErrorCode::Conflict,
            "a one-time code is set up already; an admin resets it (vigil user reset-code) before a new one",
        )),
        None => Ok(()),
    }
}

/// Keeps a page with a secret on it out of every cache.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

fn code_form(viewer: &Viewer, user: &UserRow, secret: &[u8], sealed: &str, problem: Option<&str>) -> Markup {
    html! {
        @if let Some(p) = problem { p.error-box role="alert" { (p) } }
        section.panel {
            p { "Add this account to your authenticator app with the key below (or open the link on your phone), then type the code it shows." }
            dl.facts {
                dt { "Key" } dd { code #code-secret { (totp::base32(secret)) } }
                dt { "Link" } dd { a #code-uri href=(totp::uri("vigil", &user.id, secret)) { "otpauth://…" } }
            }
            form.stack #code-confirm method="post" action="/ui/account/code/confirm" {
                (csrf(viewer))
                input type="hidden" name="pending" value=(sealed);
                label for="confirm-code" { "Code from the app" }
                input #confirm-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7";
                button.primary type="submit" { "Turn it on" }
            }
        }
    }
}

/// `POST /ui/account/code/confirm`'s fields.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    pending: String,
    code: String,
}

/// `POST /ui/account/code/confirm`: the code must come from the secret shown, within
/// [`SETUP_MS`]; then the secret is kept, sealed, and the code's step taken.
pub async fn confirm_code(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    caller: Option<Extension<Caller>>,
    Form(f): Form<Confirm>,
) -> UiResult<Response> {
    let user = own_account(&app, caller.as_ref()).await?;
    refuse_second_code(&user)?;
    let sealer = app.secret_box.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Conflict, "no secret key"))?;
    let now = app.engine.now();
    let pending: Pending = sealer
        .open_text(&f.pending)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .filter(|p: &Pending| p.user == user.id && p.until > now)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "this setup ended or is not yours: start it again"))?;
    let secret = totp::from_base32(&pending.secret).unwrap_or_default();
    let step = totp::matching_step(&secret, &f.code, now);
    let taken = match step {
        Some(step) => app.engine.accounts().claim_totp_step(&user.id, step).await.map_err(ApiError::from)?,
        None => false,
    };
    if !taken {
        let markup = code_form(
            &viewer,
            &user,
            &secret,
            &f.pending,
            Some("That code is not the app's code now: try the next one."),
        );
        let page = layout::page(&viewer, Nav::Account, "Set up a one-time code", markup);
        return Ok(no_store((StatusCode::BAD_REQUEST, page).into_response()));
    }
    let sealed = sealer.seal_text(&pending.secret);
    app.engine.accounts().set_totp(&user.id, Some(&sealed), false).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    Ok(done("/ui/account", "code"))
}

/// `POST /ui/account/tokens`'s fields.
#[derive(Debug, Deserialize)]
pub struct NewToken {
    name: String,
    role: String,
    days: u32,
}

/// `POST /ui/account/tokens`: a token of this account, with a role no higher than its own,
/// shown once on the page that answers.
pub async fn make_token(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    caller: Option<Extension<Caller>>,
    Form(f): Form<NewToken>,
) -> UiResult<Response> {
    let user = own_account(&app, caller.as_ref()).await?;
    let role = Role::parse(&f.role).ok_or_else(|| ApiError::invalid("role", format!("`{}` is not a role", f.role)))?;
    let now = app.engine.now();
    let name = f.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "a token needs a name of 1 to 100 characters").into());
    }
    let expires_at = (f.days > 0).then(|| now + i64::from(f.days.min(3650)) * 86_400_000);
    let minted = crate::auth::mint_for(&user, &app.engine.teams(), name, role, Vec::new(), expires_at, now)
        .map_err(|why| ApiError::new(ErrorCode::Forbidden, why))?;
    app.engine.accounts().put_token(&minted.row).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    let tokens = own_tokens(&app, &user.id).await?;
    let body = html! {
        section.panel.flash #new-token role="status" {
            p { "Your new token, " b { (name) } ", is shown only now: copy it." }
            p { code #new-token-value { (minted.token) } }
        }
        (account_body(&app, &viewer, &user, &tokens, None))
    };
    Ok(no_store(layout::page(&viewer, Nav::Account, "Your account", body).into_response()))
}

/// `POST /ui/account/tokens/{id}/revoke`: one of this account's tokens.
pub async fn revoke_token(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let user = own_account(&app, caller.as_ref()).await?;
    let mine = own_tokens(&app, &user.id).await?.iter().any(|t| t.id == id);
    if !mine {
        return Err(ApiError::new(ErrorCode::NotFound, "no such token of yours").into());
    }
    app.engine.accounts().revoke_token(&id, app.engine.now()).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    Ok(done("/ui/account", "token-revoked"))
}
