//! Public status pages, as one feature in one folder: the public pages themselves ([`public`],
//! with their feeds, history and subscription forms), badges, pages on their own domains, the
//! API for pages, incidents, maintenance windows and subscribers, and the UI's pages.
//!
//! Every route here reaches the feature through its runtime handle
//! ([`vigil_runtime::status_pages::StatusPages`], `app.engine.status_pages()`), never the store.

pub(crate) mod access;
pub(crate) mod badges;
pub(crate) mod custom_domain;
pub(crate) mod definitions;
pub(crate) mod incidents;
pub(crate) mod maintenance;
pub(crate) mod public;
pub(crate) mod subscribers;
mod ui;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub use public::cache::PageCache;

/// The feature's API routes, in the OpenAPI document: pages, incidents, maintenance windows,
/// subscribers.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(incidents::routes())
        .merge(maintenance::routes())
        .merge(definitions::routes())
        .merge(subscribers::routes())
}

/// The public pages and badges, open to anyone the page is public to.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().merge(public::routes()).merge(badges::routes())
}

/// The UI's status-page routes, for [`crate::ui::routes`] to serve under its layers.
pub(crate) fn ui_routes() -> Router<AppState> {
    ui::routes()
}
