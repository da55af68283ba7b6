//! `POST /api/token`: Conductor SDKs trade a key id and secret for a token. Here the key id is a
//! vigil token's id and the key secret its secret; the answer is the vigil token, which the SDK
//! then sends as `X-Authorization`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::JsonBody;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// A key id and secret.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyPair {
    /// The token id.
    key_id: String,
    /// The token secret.
    key_secret: String,
}

/// Trades a key id and secret for a token.
#[utoipa::path(
    post, path = "/api/token", tag = "conductor", request_body = KeyPair,
    responses(
        (status = 200, description = "`{\"token\"}`", body = Object), (status = 401, body = ApiError),
        (status = 404, description = "Auth is off: no token needed", body = ApiError),
    )
)]
async fn token(State(app): State<AppState>, JsonBody(k): JsonBody<KeyPair>) -> ApiResult<Json<Value>> {
    // Without auth there is nothing to trade; Conductor's SDKs read 404 as "open server".
    if !app.auth.required() {
        return Err(ApiError::not_found("auth is off: no token is needed"));
    }
    match app.auth.check(&k.key_id, &k.key_secret).await {
        Some(_) => Ok(Json(json!({"token": format!("vgl_{}_{}", k.key_id, k.key_secret)}))),
        None => Err(ApiError::new(ErrorCode::Unauthorized, "unknown key id or wrong secret")),
    }
}
