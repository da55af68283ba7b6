//! `/api/v1/status-pages/{slug}/incidents`: a status page's incidents, opened and updated by
//! operators (write role), shown at once on the page of every node.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::status_pages::incidents::{IncidentError, NewIncident, NewUpdate, RECENT};

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, open)).routes(routes!(update))
}

impl From<IncidentError> for ApiError {
    fn from(e: IncidentError) -> Self {
        match e {
            IncidentError::NoPage(_) | IncidentError::NoIncident { .. } => ApiError::not_found(e.to_string()),
            IncidentError::Declared(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            IncidentError::Invalid { field, message } => ApiError::invalid(&field, message),
            IncidentError::Store(e) => ApiError::internal(e),
        }
    }
}

/// The page's incidents not resolved, and those resolved in the last 14 days, newest first.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{slug}/incidents", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn list(State(app): State<AppState>, access: Access, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Read)?;
    let now = app.engine.now();
    let incidents = app.engine.status_pages().incidents(&slug, now - RECENT, now + 1).await?;
    Ok(Json(json!({ "incidents": incidents })))
}

/// Opens an incident: `title`, `message` (Markdown), optionally `impact` (`major_outage` by
/// default), `components` (display names; none: the whole page) and `status` (`investigating`).
#[utoipa::path(
    post, path = "/api/v1/status-pages/{slug}/incidents", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    request_body(content = Object, description = "The incident"),
    responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn open(
    State(app): State<AppState>,
    access: Access,
    ApiPath(slug): ApiPath<String>,
    JsonBody(new): JsonBody<NewIncident>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let incident = app.engine.status_pages().open_incident(&slug, new).await?;
    app.status_pages.drop_page(&slug);
    Ok((StatusCode::CREATED, Json(json!(incident))))
}

/// Adds an update to an incident: `status` (`investigating`, `identified`, `monitoring`,
/// `resolved`), `message` (Markdown), optionally a new `impact`.
#[utoipa::path(
    post, path = "/api/v1/status-pages/{slug}/incidents/{id}/updates", tag = "status pages",
    params(("slug" = String, Path, description = "The status page"), ("id" = String, Path, description = "The incident")),
    request_body(content = Object, description = "The update"),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 409, description = "Declared in the page's file", body = ApiError))
)]
async fn update(
    State(app): State<AppState>,
    access: Access,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    JsonBody(update): JsonBody<NewUpdate>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let incident = app.engine.status_pages().update_incident(&slug, &id, update).await?;
    app.status_pages.drop_page(&slug);
    Ok(Json(json!(incident)))
}
