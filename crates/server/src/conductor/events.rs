//! `/api/event`: Conductor's event handlers (register, update, list, list for a queue, remove),
//! and vigil's `/api/event/parked` for the messages they could not act on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_runtime::EventHandlerError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_handler, update_handler, list_handlers))
        .routes(routes!(parked))
        .routes(routes!(forget_parked))
        .routes(routes!(handlers_for_event, remove_handler))
}

fn handler_error(e: EventHandlerError) -> ApiError {
    match e {
        EventHandlerError::Invalid(_) => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
        EventHandlerError::Exists(_) | EventHandlerError::FromFiles(_) => {
            ApiError::new(ErrorCode::Conflict, e.to_string())
        }
        EventHandlerError::NotFound(_) => ApiError::not_found(e.to_string()),
        EventHandlerError::Store(cause) => ApiError::internal(cause),
    }
}

/// Registers an event handler (Conductor's EventHandler JSON); 409 when its name exists.
#[utoipa::path(
    post, path = "/api/event", tag = "conductor",
    request_body(content = Object, description = "A Conductor EventHandler"),
    responses((status = 200, description = "Registered"), (status = 400, body = ApiError), (status = 409, body = ApiError))
)]
async fn add_handler(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    JsonBody(handler): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let by = crate::auth::principal(caller.as_ref());
    app.engine.events().put(handler, true, &by).await.map_err(handler_error)?;
    Ok(StatusCode::OK)
}

/// Updates an event handler; 404 when its name does not exist.
#[utoipa::path(
    put, path = "/api/event", tag = "conductor",
    request_body(content = Object, description = "A Conductor EventHandler"),
    responses((status = 200, description = "Updated"), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn update_handler(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    JsonBody(handler): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let by = crate::auth::principal(caller.as_ref());
    app.engine.events().put(handler, false, &by).await.map_err(handler_error)?;
    Ok(StatusCode::OK)
}

/// Every event handler.
#[utoipa::path(get, path = "/api/event", tag = "conductor", responses((status = 200, body = Vec<Object>)))]
async fn list_handlers(State(app): State<AppState>) -> ApiResult<Json<Vec<Value>>> {
    Ok(Json(app.engine.events().list().into_iter().map(|(h, _)| json!(h)).collect()))
}

/// Query of the handlers of one queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActiveQuery {
    /// Only the active ones (default true, as Conductor).
    #[serde(default = "yes", rename = "activeOnly", deserialize_with = "crate::extract::lenient_bool")]
    active_only: bool,
}

fn yes() -> bool {
    true
}

/// The event handlers of a queue (`amqp_queue:orders`). (Conductor names this path's parameter
/// `event` for a GET and `name` for a DELETE; a router has one name per path.)
#[utoipa::path(
    get, path = "/api/event/{name}", tag = "conductor",
    params(("name" = String, Path, description = "The queue (`amqp_queue:orders`)"), ActiveQuery),
    responses((status = 200, body = Vec<Object>))
)]
async fn handlers_for_event(
    State(app): State<AppState>,
    ApiPath(event): ApiPath<String>,
    ApiQuery(q): ApiQuery<ActiveQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    let list = app
        .engine
        .events()
        .list()
        .into_iter()
        .filter(|(h, _)| h.event.trim() == event.trim() && (h.active || !q.active_only))
        .map(|(h, _)| json!(h))
        .collect();
    Ok(Json(list))
}

/// Removes an event handler registered through the API.
#[utoipa::path(
    delete, path = "/api/event/{name}", tag = "conductor", params(("name" = String, Path, description = "Handler name")),
    responses((status = 200, description = "Removed"), (status = 404, body = ApiError), (status = 409, body = ApiError))
)]
async fn remove_handler(State(app): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    app.engine.events().delete(&name).await.map_err(handler_error)?;
    Ok(StatusCode::OK)
}

/// Messages event handlers could not act on (the newest 1000), each with why.
#[utoipa::path(get, path = "/api/event/parked", tag = "conductor", responses((status = 200, body = Vec<Object>)))]
async fn parked(State(app): State<AppState>) -> ApiResult<Json<Vec<Value>>> {
    let rows = app.engine.events().parked(1000).await?;
    Ok(Json(
        rows.into_iter()
            .map(|p| {
                json!({"id": p.id, "event": p.event, "handler": p.handler, "messageId": p.message_id,
                       "payload": p.payload, "error": p.error, "attempts": p.attempts, "parkedAt": p.parked_at})
            })
            .collect(),
    ))
}

/// Forgets a parked message.
#[utoipa::path(
    delete, path = "/api/event/parked/{id}", tag = "conductor", params(("id" = i64, Path, description = "Its id")),
    responses((status = 200, description = "Forgotten"), (status = 404, body = ApiError))
)]
async fn forget_parked(State(app): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    if !app.engine.events().delete_parked(id).await? {
        return Err(ApiError::not_found(format!("no parked message {id}")));
    }
    Ok(StatusCode::OK)
}
