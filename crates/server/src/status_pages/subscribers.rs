//! `/api/v1/status-pages/{slug}/subscribers`: a status page's subscribers, for operators
//! (write role: the list holds people's addresses). Webhooks are added here (the answer holds
//! the secret their signatures are checked with, once); email addresses subscribe themselves
//! on the page and confirm by the link they are sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::status_pages::subscribers::SubscribeError;
use vigil_store::SubscriberRow;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(remove))
}

impl From<SubscribeError> for ApiError {
    fn from(e: SubscribeError) -> Self {
        match e {
            SubscribeError::NoPage(_) => ApiError::not_found(e.to_string()),
            SubscribeError::NotOffered(..) | SubscribeError::NoLinks | SubscribeError::Busy => {
                ApiError::new(ErrorCode::Conflict, e.to_string())
            }
            SubscribeError::Invalid(message) => ApiError::invalid("body", message),
            SubscribeError::BadLink => ApiError::new(ErrorCode::Forbidden, e.to_string()),
            SubscribeError::Store(e) => ApiError::internal(e),
        }
    }
}

fn shown(s: &SubscriberRow) -> Value {
    json!({
        "id": s.id,
        "kind": s.kind,
        "address": s.address,
        "components": serde_json::from_str::<Value>(&s.components).unwrap_or(Value::Null),
        "confirmed_at": s.confirmed_at,
        "created_at": s.created_at,
    })
}

/// A new webhook subscriber.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    /// Where updates are posted.
    webhook: String,
    /// The components it follows (display names); none: the whole page.
    #[serde(default)]
    components: Vec<String>,
}

/// The page's subscribers, oldest first.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{slug}/subscribers", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn list(State(app): State<AppState>, access: Access, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let subscribers = app.engine.status_pages().page_subscribers(&slug).await?;
    Ok(Json(json!({ "subscribers": subscribers.iter().map(shown).collect::<Vec<_>>() })))
}

/// Adds a webhook subscriber: `webhook` (its URL) and optionally `components`. The answer's
/// `secret` (`whsec_...`, shown only here) checks the `webhook-signature` of what it is sent
/// (Standard Webhooks).
#[utoipa::path(
    post, path = "/api/v1/status-pages/{slug}/subscribers", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    request_body(content = Object, description = "The webhook"),
    responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn add(
    State(app): State<AppState>,
    access: Access,
    ApiPath(slug): ApiPath<String>,
    JsonBody(new): JsonBody<NewWebhook>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let (row, secret) = app.engine.status_pages().add_webhook_subscriber(&slug, &new.webhook, &new.components).await?;
    let mut answer = shown(&row);
    answer["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Removes a subscriber.
#[utoipa::path(
    delete, path = "/api/v1/status-pages/{slug}/subscribers/{id}", tag = "status pages",
    params(("slug" = String, Path, description = "The status page"), ("id" = String, Path, description = "The subscriber")),
    responses((status = 204), (status = 404, body = ApiError))
)]
async fn remove(
    State(app): State<AppState>,
    access: Access,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    if app.engine.status_pages().remove_subscriber(&slug, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("status page `{slug}` has no subscriber `{id}`")))
    }
}
