//! The stylesheet and script, compiled into the binary with `include_str!`: two small files
//! need no embedding crate, and a build needs nothing but `cargo`. Their URLs carry vigil's
//! version, so browsers cache them for an hour and an upgrade's files are fetched anew.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

/// The stylesheet's URL (versioned by the build).
pub const CSS_PATH: &str = concat!("/ui/assets/ui-", env!("CARGO_PKG_VERSION"), ".css");
/// The script's URL (versioned by the build).
pub const JS_PATH: &str = concat!("/ui/assets/ui-", env!("CARGO_PKG_VERSION"), ".js");

const CACHE: &str = "public, max-age=3600";

/// `GET` the stylesheet.
pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], CSS)
}

/// `GET` the script.
pub async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], JS)
}
