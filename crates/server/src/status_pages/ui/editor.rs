//! Writing status pages in the web UI (a write role): a new page, or an edit of one written here
//! or through the API, as the text its file would hold (YAML), checked as that file would be.
//! A page with problems is shown again with them, by line, and nothing is written. Pages of the
//! config directory change in their files.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use vigil_core::diagnostic::Diagnostic;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::status_pages::stored::PageError;

use crate::access::Access;
use crate::ui::format::query_escape;
use crate::ui::layout::{self, Nav, csrf};
use crate::ui::session::Viewer;
use crate::ui::{UiResult, done};
use crate::{ApiError, AppState};

/// What a new page's editor starts with.
const TEMPLATE: &str = "slug: acme\ntitle: Acme status\ndescription: How our services are doing\ncomponents:\n  - name: Website\n    monitor: web          # a monitor's name; or monitors: [a, b] for a group\n# subscribers:\n#   email: mail         # an email notifier\n#   webhook_form: public\n";

fn editor(viewer: &Viewer, action: &str, text: &str, problems: &[Diagnostic], button: &str) -> Markup {
    html! {
        @if !problems.is_empty() {
            section.panel role="alert" {
                p.error { "The page was not saved: " (problems.len()) " problem(s)." }
                ul #page-problems {
                    @for p in problems {
                        li {
                            "line " (p.line) ", column " (p.column) ": "
                            @if !p.path.is_empty() { code { (p.path) } ": " }
                            (p.message)
                            @if let Some(hint) = &p.hint { " (" (hint) ")" }
                        }
                    }
                }
            }
        }
        section.panel {
            form.stack.page-editor method="post" action=(action) {
                (csrf(viewer))
                label for="page-text" { "The page, as its file would hold it (YAML; see docs/status-pages.md)" }
                textarea #page-text.mono name="text" rows="24" spellcheck="false" required { (text) }
                button.primary type="submit" { (button) }
            }
        }
    }
}

fn text_of(body: &Bytes) -> Result<String, ApiError> {
    let f: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| ApiError::invalid("form", e))?;
    Ok(f.into_iter().find(|(k, _)| k == "text").map(|(_, v)| v.replace("\r\n", "\n")).unwrap_or_default())
}

/// The editor again with `problems`, as 400: nothing was written, and the text is kept.
fn refused(viewer: &Viewer, title: &str, action: &str, text: &str, e: PageError, button: &str) -> UiResult<Response> {
    let problems = match e {
        PageError::Invalid(problems) => problems,
        other => return Err(ApiError::from(other).into()),
    };
    let body = editor(viewer, action, text, &problems, button);
    Ok((StatusCode::BAD_REQUEST, layout::page(viewer, Nav::StatusPages, title, body)).into_response())
}

/// `GET /ui/status-pages/new`.
pub async fn new_form(Extension(viewer): Extension<Viewer>) -> Markup {
    let body = editor(&viewer, "/ui/status-pages/new", TEMPLATE, &[], "Create the page");
    layout::page(&viewer, Nav::StatusPages, "New status page", body)
}

/// `POST /ui/status-pages/new`.
pub async fn create(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    body: Bytes,
) -> UiResult<Response> {
    let text = text_of(&body)?;
    crate::status_pages::access::check_page_text(&app, &access, &text).await?;
    match app.engine.status_pages().put_status_page(&text, None).await {
        Ok(page) => {
            app.status_pages.drop_page(&page.slug);
            Ok(done(&format!("/ui/status-pages/{}", query_escape(&page.slug)), "page-saved"))
        }
        Err(e) => refused(&viewer, "New status page", "/ui/status-pages/new", &text, e, "Create the page"),
    }
}

/// `GET /ui/status-pages/{slug}/edit`.
pub async fn edit_form(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Path(slug): Path<String>,
) -> UiResult<Markup> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let text =
        app.engine.status_pages().stored_page_text(&slug).await.map_err(ApiError::internal)?.ok_or_else(|| {
            ApiError::not_found(format!(
                "status page `{slug}` was not written here: pages of the config directory change in their files"
            ))
        })?;
    let action = format!("/ui/status-pages/{}/edit", query_escape(&slug));
    let body = editor(&viewer, &action, &text, &[], "Save the page");
    Ok(layout::page(&viewer, Nav::StatusPages, &format!("Edit status page {slug}"), body))
}

/// `POST /ui/status-pages/{slug}/edit`.
pub async fn save(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Path(slug): Path<String>,
    body: Bytes,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let text = text_of(&body)?;
    crate::status_pages::access::check_page_text(&app, &access, &text).await?;
    match app.engine.status_pages().put_status_page(&text, Some(&slug)).await {
        Ok(_) => {
            app.status_pages.drop_page(&slug);
            Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "page-saved"))
        }
        Err(e) => {
            let action = format!("/ui/status-pages/{}/edit", query_escape(&slug));
            refused(&viewer, &format!("Edit status page {slug}"), &action, &text, e, "Save the page")
        }
    }
}

/// `POST /ui/status-pages/{slug}/delete`.
pub async fn delete(State(app): State<AppState>, access: Access, Path(slug): Path<String>) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    app.engine.status_pages().delete_status_page(&slug).await.map_err(ApiError::from)?;
    app.status_pages.drop_page(&slug);
    Ok(done("/ui/status-pages", "page-deleted"))
}

/// On a page's screen: how it is changed.
pub fn source_panel(viewer: &Viewer, slug: &str, from_file: bool) -> Markup {
    let path = format!("/ui/status-pages/{}", query_escape(slug));
    html! {
        @if from_file {
            p.muted { "Declared in the config directory (status-pages/): it changes in its file." }
        } @else if viewer.can_write() {
            div.row {
                a.button href={ (path) "/edit" } { "Edit the page" }
                form method="post" action={ (path) "/delete" } {
                    (csrf(viewer))
                    button type="submit" { "Delete the page" }
                }
            }
        } @else {
            p.muted { "Written in the web UI or through the API." }
        }
    }
}
