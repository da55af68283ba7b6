//! The status pages' UI: the list, a page with its incidents, windows and subscribers, and the
//! editor of pages written through the UI. Served under the UI's layers ([`crate::ui::routes`]).

mod editor;
mod maintenance;
mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// The status pages' UI routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/status-pages", get(pages::list))
        .route("/ui/status-pages/new", get(editor::new_form).post(editor::create))
        .route("/ui/status-pages/{slug}", get(pages::page))
        .route("/ui/status-pages/{slug}/edit", get(editor::edit_form).post(editor::save))
        .route("/ui/status-pages/{slug}/delete", post(editor::delete))
        .route("/ui/status-pages/{slug}/incidents", post(pages::open))
        .route("/ui/status-pages/{slug}/incidents/{id}/updates", post(pages::update))
        .route("/ui/status-pages/{slug}/subscribers/{id}/remove", post(pages::remove_subscriber))
        .route("/ui/status-pages/{slug}/maintenance", post(maintenance::schedule))
        .route("/ui/status-pages/{slug}/maintenance/{id}/end", post(maintenance::end))
}
