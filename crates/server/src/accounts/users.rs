//! `/api/v1/me`, and `/api/v1/users` (admin): accounts through the API. An account is a person
//! (a password, an optional one-time code set up in the UI) or a service account (tokens only);
//! an admin makes tokens for either, never above the account's role. Passwords and their hashes
//! never come back.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_store::UserRow;

use crate::AppState;
use crate::accounts::{self, PERSON, SERVICE, password};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list, add))
        .routes(routes!(change))
        .routes(routes!(make_token))
}

fn shown(u: &UserRow) -> Value {
    json!({
        "name": u.id,
        "displayName": u.display_name,
        "email": u.email,
        "kind": u.kind,
        "source": u.source,
        "role": u.role,
        "oneTimeCode": u.totp_sealed.is_some(),
        "disabled": u.disabled_at.is_some(),
        "createdAt": u.created_at,
        "lastSignInAt": u.last_sign_in_at,
    })
}

/// Who is calling: the token's id and role, and its account if it has one (`null` with auth
/// off).
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Object)))]
async fn me(State(app): State<AppState>, caller: Option<axum::Extension<Caller>>) -> ApiResult<Json<Value>> {
    let Some(caller) = caller else { return Ok(Json(json!({"auth": false}))) };
    let account = match &caller.user {
        Some(id) => app.engine.accounts().user(id).await.map_err(ApiError::from)?.map(|u| shown(&u)),
        None => None,
    };
    let everywhere = caller.rights.everywhere.map(|r| r.as_str());
    let teams: serde_json::Map<String, Value> =
        caller.rights.teams.iter().map(|(t, r)| (t.clone(), json!(r.as_str()))).collect();
    Ok(Json(json!({"auth": true, "token": caller.id, "role": everywhere, "teams": teams, "account": account})))
}

/// Every account.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses((status = 200, body = Object)))]
async fn list(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let users = app.engine.accounts().users().await.map_err(ApiError::from)?;
    Ok(Json(json!({"users": users.iter().map(shown).collect::<Vec<_>>()})))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    /// The name to sign in with (`a-z 0-9 . _ @ -`).
    name: String,
    /// `person` (default) or `service`.
    #[serde(default)]
    kind: Option<String>,
    /// `viewer`, `responder`, `editor`, `admin`, or none.
    #[serde(default)]
    role: Option<String>,
    /// A person's password (at least 10 characters).
    #[serde(default)]
    password: Option<String>,
    /// A name to show.
    #[serde(default)]
    display_name: String,
    /// An email address.
    #[serde(default)]
    email: String,
}

fn role_field(role: Option<&str>) -> ApiResult<Option<String>> {
    match role {
        None | Some("none") => Ok(None),
        Some(text) => Role::parse(text).map(|r| Some(r.as_str().to_string())).ok_or_else(|| {
            ApiError::invalid("role", format!("`{text}` is not viewer, responder, editor, admin or none"))
        }),
    }
}

async fn password_field(kind: &str, password: Option<&str>) -> ApiResult<Option<String>> {
    match (kind, password) {
        (SERVICE, Some(_)) => Err(ApiError::invalid("password", "a service account has no password: it holds tokens")),
        (SERVICE, None) => Ok(None),
        (_, None) => Err(ApiError::invalid("password", "a person needs a password")),
        (_, Some(p)) => {
            password::check_strength(p).map_err(|e| ApiError::invalid("password", e.to_string()))?;
            Ok(Some(password::hash(p).await))
        }
    }
}

/// Adds an account: 201, or 409 when the name is taken.
#[utoipa::path(
    post, path = "/api/v1/users", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 409, body = ApiError))
)]
async fn add(State(app): State<AppState>, JsonBody(new): JsonBody<NewAccount>) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = accounts::normalize(&new.name);
    if !accounts::valid_name(&id) {
        return Err(ApiError::invalid("name", "use 1 to 64 of a-z, 0-9, `.`, `_`, `@` and `-`"));
    }
    let kind = new.kind.as_deref().unwrap_or(PERSON);
    if kind != PERSON && kind != SERVICE {
        return Err(ApiError::invalid("kind", format!("`{kind}` is not `person` or `service`")));
    }
    let row = UserRow {
        id: id.clone(),
        display_name: new.display_name,
        email: new.email,
        kind: kind.into(),
        source: "local".into(),
        role: role_field(new.role.as_deref())?,
        password_hash: password_field(kind, new.password.as_deref()).await?,
        created_at: app.engine.now(),
        ..UserRow::default()
    };
    if !app.engine.accounts().add_user(&row).await.map_err(ApiError::from)? {
        return Err(ApiError::new(ErrorCode::Conflict, format!("an account `{id}` exists already")));
    }
    app.auth.forget().await;
    Ok((StatusCode::CREATED, Json(shown(&row))))
}

/// What an admin changes of an account; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountChange {
    /// `viewer`, `responder`, `editor`, `admin` or `none`.
    #[serde(default)]
    role: Option<String>,
    /// Disables (it can neither sign in nor use its tokens) or enables it.
    #[serde(default)]
    disabled: Option<bool>,
    /// A new password (ends the person's sessions).
    #[serde(default)]
    password: Option<String>,
    /// Removes the one-time code (when it was lost; ends the person's sessions).
    #[serde(default)]
    reset_one_time_code: bool,
    /// A name to show.
    #[serde(default)]
    display_name: Option<String>,
    /// An email address.
    #[serde(default)]
    email: Option<String>,
}

async fn account(app: &AppState, name: &str) -> ApiResult<UserRow> {
    let id = accounts::normalize(name);
    app.engine
        .accounts()
        .user(&id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("no account `{id}`")))
}

/// Changes an account. A new password, a removed code or disabling it ends its UI sessions. The
/// password and the code are written on their own, so a change the person made meanwhile is
/// never written back over.
#[utoipa::path(
    patch, path = "/api/v1/users/{name}", tag = "accounts", request_body = AccountChange,
    params(("name" = String, Path, description = "The account")),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn change(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(change): JsonBody<AccountChange>,
) -> ApiResult<Json<Value>> {
    let mut user = account(&app, &name).await?;
    let store = app.engine.accounts();
    if let Some(role) = &change.role {
        user.role = role_field(Some(role))?;
    }
    let disabling = change.disabled == Some(true);
    if let Some(disabled) = change.disabled {
        user.disabled_at = if disabled { user.disabled_at.or(Some(app.engine.now())) } else { None };
    }
    if let Some(p) = &change.password {
        let hash = password_field(&user.kind, Some(p)).await?;
        store.set_password(&user.id, hash.as_deref()).await.map_err(ApiError::from)?;
        user.password_hash = hash;
    }
    if change.reset_one_time_code {
        store.set_totp(&user.id, None, true).await.map_err(ApiError::from)?;
        user.totp_sealed = None;
    }
    if let Some(d) = change.display_name {
        user.display_name = d;
    }
    if let Some(e) = change.email {
        user.email = e;
    }
    store.put_user(&user, disabling).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    Ok(Json(shown(&user)))
}

/// A token for an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountToken {
    /// What uses it.
    name: String,
    /// Its role: at most the account's.
    role: String,
    /// Days until it stops working (none: never).
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// Makes a token for account `name`, shown once: never above the account's role.
#[utoipa::path(
    post, path = "/api/v1/users/{name}/tokens", tag = "accounts", request_body = AccountToken,
    params(("name" = String, Path, description = "The account")),
    responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn make_token(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(t): JsonBody<AccountToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = account(&app, &name).await?;
    let role = Role::parse(&t.role).ok_or_else(|| ApiError::invalid("role", format!("`{}` is not a role", t.role)))?;
    let now = app.engine.now();
    let expires_at = t.expires_in_days.map(|d| now + i64::from(d.min(3650)) * 86_400_000);
    let minted = crate::auth::mint_for(&user, &app.engine.teams(), &t.name, role, Vec::new(), expires_at, now)
        .map_err(|why| ApiError::invalid("role", why))?;
    app.engine.accounts().put_token(&minted.row).await.map_err(ApiError::from)?;
    app.auth.forget().await;
    let body = json!({"id": minted.row.id, "token": minted.token, "role": role.as_str(), "user": user.id, "expiresAt": minted.row.expires_at});
    Ok((StatusCode::CREATED, Json(body)))
}
