//! `/api/v1/monitors/{name}/evidence`: what a monitor's failed browser checks left, newest first
//! (why, the page's console, and where its screenshot is), and each screenshot as a PNG.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::time::format_millis;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(screenshot))
}

/// A failed browser check's evidence, newest first: when (`at`, and `atMillis` for the
/// screenshot's address), why, the page's console, and the screenshot's address and size.
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}/evidence", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn list(
    State(app): State<AppState>,
    access: crate::access::Access,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    crate::monitors::owned_monitor(&app, &access, &name, vigil_core::principal::Role::Read).await?;
    let kept = app.engine.monitor_rows().check_evidence(&name, 10).await.map_err(ApiError::from)?;
    let items: Vec<Value> = kept
        .iter()
        .map(|e| {
            let screenshot = (e.screenshot_bytes > 0).then(|| {
                let monitor = crate::paths::query_escape(&name);
                format!("/api/v1/monitors/{monitor}/evidence/{}/screenshot", e.at)
            });
            json!({"at": format_millis(e.at), "atMillis": e.at, "note": e.note, "console": e.console,
                   "screenshot": screenshot, "screenshotBytes": e.screenshot_bytes})
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// The screenshot a failed browser check took (`image/png`).
#[utoipa::path(
    get, path = "/api/v1/monitors/{name}/evidence/{at}/screenshot", tag = "monitors",
    params(("name" = String, Path, description = "Monitor name"),
           ("at" = i64, Path, description = "The check's time, in milliseconds (`atMillis`)")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = ApiError))
)]
async fn screenshot(
    State(app): State<AppState>,
    access: crate::access::Access,
    ApiPath((name, at)): ApiPath<(String, i64)>,
) -> ApiResult<Response> {
    crate::monitors::owned_monitor(&app, &access, &name, vigil_core::principal::Role::Read).await?;
    png(&app, &name, at).await
}

/// The screenshot `name`'s failed check took at `at`, as a PNG response (the API's and the UI's).
pub(crate) async fn png(app: &AppState, name: &str, at: i64) -> ApiResult<Response> {
    let png = app.engine.monitor_rows().check_screenshot(name, at).await.map_err(ApiError::from)?;
    match png.filter(|p| !p.is_empty()) {
        Some(png) => {
            let headers = [(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=86400")];
            Ok((headers, png).into_response())
        }
        None => Err(ApiError::not_found(format!("monitor `{name}` kept no screenshot at {at}"))),
    }
}
