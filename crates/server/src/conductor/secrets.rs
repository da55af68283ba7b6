//! Orkes' secrets API under `/api/secrets`, over the same sealed store as `/api/v1/secrets`: put
//! (the body is the value, a JSON string or plain text), exists, list names, delete. A secret's
//! value is never answered: `GET /api/secrets/{key}` is refused with 403, where Orkes returns it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::operations::definitions::{remove_secret, secret_names, store_secret};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_secret, get_secret, delete_secret))
        .routes(routes!(secret_exists))
        .routes(routes!(list_all_secret_names, list_secrets_that_user_can_grant_access_to))
}

/// Sets a secret; new task executions, notifier sends and other nodes see it within a second.
#[utoipa::path(
    put, path = "/api/secrets/{key}", tag = "conductor",
    params(("key" = String, Path, description = "Secret name: letters, digits, `_`, `-`")),
    request_body(content = String, description = "The value: a JSON string, or plain text"),
    responses((status = 200, description = "Set"), (status = 400, body = ApiError), (status = 409, body = ApiError))
)]
async fn put_secret(State(app): State<AppState>, ApiPath(key): ApiPath<String>, body: Bytes) -> ApiResult<StatusCode> {
    let text = String::from_utf8(body.to_vec()).map_err(|_| ApiError::invalid("body", "the value is not UTF-8"))?;
    let value = serde_json::from_str::<String>(&text).unwrap_or(text);
    store_secret(&app, &key, &value).await?;
    Ok(StatusCode::OK)
}

/// Refused: vigil never answers a secret's value (`/exists` says whether one is set).
#[utoipa::path(
    get, path = "/api/secrets/{key}", tag = "conductor",
    params(("key" = String, Path, description = "Secret name")),
    responses((status = 403, description = "Values are never returned", body = ApiError))
)]
async fn get_secret(ApiPath(key): ApiPath<String>) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("vigil never returns a secret's value; GET /api/secrets/{key}/exists says whether it is set"),
    )
}

/// Whether a secret is set: `true` or `false`.
#[utoipa::path(
    get, path = "/api/secrets/{key}/exists", tag = "conductor",
    params(("key" = String, Path, description = "Secret name")),
    responses((status = 200, body = bool, content_type = "application/json"))
)]
async fn secret_exists(State(app): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Json<bool>> {
    Ok(Json(secret_names(&app).await?.contains(&key)))
}

/// Deletes a secret.
#[utoipa::path(
    delete, path = "/api/secrets/{key}", tag = "conductor",
    params(("key" = String, Path, description = "Secret name")),
    responses((status = 200, description = "Deleted"), (status = 404, body = ApiError))
)]
async fn delete_secret(State(app): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<StatusCode> {
    remove_secret(&app, &key).await?;
    Ok(StatusCode::OK)
}

/// Every secret's name (Orkes lists with a POST).
#[utoipa::path(post, path = "/api/secrets", tag = "conductor", responses((status = 200, body = Vec<String>)))]
async fn list_all_secret_names(State(app): State<AppState>) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(secret_names(&app).await?))
}

/// The names of the secrets the caller may grant: all of them (only admin tokens reach this).
#[utoipa::path(get, path = "/api/secrets", tag = "conductor", responses((status = 200, body = Vec<String>)))]
async fn list_secrets_that_user_can_grant_access_to(State(app): State<AppState>) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(secret_names(&app).await?))
}
