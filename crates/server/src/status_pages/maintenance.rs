//! `/api/v1/status-pages/{slug}/maintenance`: a status page's scheduled maintenance, scheduled
//! and ended by operators (write role), shown at once on the page of every node and told to its
//! subscribers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::status_pages::maintenance::{MaintenanceError, NewMaintenance, RECENT};

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, schedule)).routes(routes!(end))
}

impl From<MaintenanceError> for ApiError {
    fn from(e: MaintenanceError) -> Self {
        match e {
            MaintenanceError::NoPage(_) | MaintenanceError::NoWindow { .. } => ApiError::not_found(e.to_string()),
            MaintenanceError::Declared(_) | MaintenanceError::Over(_) => {
                ApiError::new(ErrorCode::Conflict, e.to_string())
            }
            MaintenanceError::Invalid { field, message } => ApiError::invalid(&field, message),
            MaintenanceError::Store(e) => ApiError::internal(e),
        }
    }
}

/// The page's windows to come and under way, and those that ended in the last 14 days (declared
/// in its file and scheduled), soonest first. A declared window's `id` is derived from its
/// title and start.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{slug}/maintenance", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn list(State(app): State<AppState>, access: Access, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Read)?;
    let now = app.engine.now();
    let windows = app.engine.status_pages().maintenance_windows(&slug, now - RECENT).await?;
    let listed: Vec<Value> = windows
        .iter()
        .map(|w| {
            let mut v = json!(w);
            v["id"] = json!(w.key());
            v["declared"] = json!(w.id.is_empty());
            v["state"] = json!(if w.active(now) {
                "in_progress"
            } else if w.upcoming(now) {
                "scheduled"
            } else {
                "completed"
            });
            if let Some(repeat) = &w.repeat {
                v["repeats"] = json!(repeat.describe());
                if let Some(next) = w.current_or_next(now) {
                    v["next"] = json!({ "starts": next.starts, "ends": next.ends });
                }
            }
            v
        })
        .collect();
    Ok(Json(json!({ "maintenance": listed })))
}

/// Schedules a window: `title`, `starts` and `ends` (RFC 3339 or milliseconds), optionally
/// `message` (Markdown) and `components` (display names; none: the whole page). The page's
/// subscribers are told at once. With `repeat` (`every` or `cron`, `at`, `days`, `timezone`,
/// `for`, `notify`) it is a recurring window: `starts` and `ends` bound the series (none: from
/// now, for ever), and its occurrences are told only with `notify`.
#[utoipa::path(
    post, path = "/api/v1/status-pages/{slug}/maintenance", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    request_body(content = Object, description = "The window"),
    responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 404, body = ApiError))
)]
async fn schedule(
    State(app): State<AppState>,
    access: Access,
    ApiPath(slug): ApiPath<String>,
    JsonBody(new): JsonBody<NewMaintenance>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    // A window silences the page's monitors: it needs a responder's role on each.
    if let Some(page) = app.engine.status_pages().all().iter().find(|p| p.slug == slug) {
        crate::status_pages::access::check_page_monitors(&app, &access, page, Role::Respond).await?;
    }
    let window = app.engine.status_pages().schedule_maintenance(&slug, new).await?;
    app.status_pages.drop_page(&slug);
    Ok((StatusCode::CREATED, Json(json!(window))))
}

/// Ends a window now: one to come is cancelled, one under way ends (its subscribers are told
/// either way).
#[utoipa::path(
    post, path = "/api/v1/status-pages/{slug}/maintenance/{id}/end", tag = "status pages",
    params(("slug" = String, Path, description = "The status page"), ("id" = String, Path, description = "The window")),
    responses((status = 200, body = Object), (status = 404, body = ApiError), (status = 409, description = "Declared in the page's file, or over", body = ApiError))
)]
async fn end(
    State(app): State<AppState>,
    access: Access,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let window = app.engine.status_pages().end_maintenance(&slug, &id).await?;
    app.status_pages.drop_page(&slug);
    Ok(Json(json!(window)))
}
