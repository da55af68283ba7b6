//! `/api/v1/status-pages` and `/api/v1/status-pages/{slug}`: status pages written through the
//! API (write role), beside those of the config directory, served at once by every node. The
//! body of a `PUT` is the page as its file would hold it: JSON (`Content-Type:
//! application/json`) or YAML; problems come back located by line.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::status_pages::stored::PageError;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read, put, delete))
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Invalid(problems) => ApiError::new(
                ErrorCode::InvalidRequest,
                problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            ),
            PageError::Declared(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            PageError::NoPage(_) => ApiError::not_found(e.to_string()),
            PageError::Store(e) => ApiError::internal(e),
        }
    }
}

fn source(app: &AppState, slug: &str) -> &'static str {
    if app.engine.status_pages().status_page_from_file(slug) { "file" } else { "api" }
}

/// The status pages in force: each one's `slug`, `title`, `source` (`file`: the config
/// directory's; `api`: written through the API or the UI) and number of components.
#[utoipa::path(get, path = "/api/v1/status-pages", tag = "status pages", responses((status = 200, body = Object)))]
async fn list(State(app): State<AppState>, access: Access) -> Json<Value> {
    let pages = app.engine.status_pages().all();
    let listed: Vec<Value> = pages
        .iter()
        .filter(|p| access.sees(ObjectKind::StatusPages, &p.slug))
        .map(|p| json!({"slug": p.slug, "title": p.title, "source": source(&app, &p.slug), "components": p.components.len()}))
        .collect();
    Json(json!({ "pages": listed }))
}

/// One page: its definition as in force, its `source`, and for a page written through the API
/// its `text` as written.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{slug}", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn read(State(app): State<AppState>, access: Access, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::StatusPages, &slug, Role::Read)?;
    let pages = app.engine.status_pages().all();
    let page =
        pages.iter().find(|p| p.slug == slug).ok_or_else(|| ApiError::not_found(format!("no status page `{slug}`")))?;
    let text = app.engine.status_pages().stored_page_text(&slug).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"page": page, "source": source(&app, &slug), "text": text})))
}

/// Writes page `slug` (new, or replacing the one written before): the page's document, JSON or
/// YAML, whose `slug` is this one. A page of the config directory is not replaced (409).
#[utoipa::path(
    put, path = "/api/v1/status-pages/{slug}", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    request_body(content = Object, description = "The page, as its file would hold it (JSON or YAML)"),
    responses((status = 200, body = Object), (status = 400, body = ApiError), (status = 409, description = "Declared in the config directory", body = ApiError))
)]
async fn put(
    State(app): State<AppState>,
    access: Access,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("body", "not UTF-8 text"))?;
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    // JSON is checked as JSON, so its syntax errors say so; the text is kept as sent.
    if json && let Err(e) = serde_json::from_str::<Value>(text) {
        return Err(ApiError::invalid(
            "body",
            format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()),
        ));
    }
    crate::status_pages::access::check_page_text(&app, &access, text).await?;
    let existed = app.engine.status_pages().stored_page_text(&slug).await.map_err(ApiError::internal)?.is_some();
    let page = app.engine.status_pages().put_status_page(text, Some(&slug)).await?;
    app.status_pages.drop_page(&slug);
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({"page": page, "source": "api"}))))
}

/// Removes page `slug` written through the API or the UI.
#[utoipa::path(
    delete, path = "/api/v1/status-pages/{slug}", tag = "status pages",
    params(("slug" = String, Path, description = "The status page")),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, description = "Declared in the config directory", body = ApiError))
)]
async fn delete(State(app): State<AppState>, access: Access, ApiPath(slug): ApiPath<String>) -> ApiResult<StatusCode> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    app.engine.status_pages().delete_status_page(&slug).await?;
    app.status_pages.drop_page(&slug);
    Ok(StatusCode::NO_CONTENT)
}
