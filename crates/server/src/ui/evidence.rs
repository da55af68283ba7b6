//! On a monitor's page, what its last failed browser check left: why, the page's console and
//! its screenshot (served from the store by `GET /ui/monitors/{name}/evidence/{at}`).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use vigil_core::time::Millis;

use super::UiResult;
use super::format::{self, query_escape};
use crate::{ApiError, AppState};

/// The section for `name`'s newest evidence; nothing when it has none.
pub async fn section(app: &AppState, name: &str, now: Millis) -> UiResult<Markup> {
    let kept = app.engine.monitor_rows().check_evidence(name, 1).await.map_err(ApiError::from)?;
    let Some(e) = kept.first() else { return Ok(html! {}) };
    let png = format!("/ui/monitors/{}/evidence/{}", query_escape(name), e.at);
    Ok(html! {
        h2 { "Last failed visit" }
        section.panel {
            p { (format::when(e.at, now)) ": " span.error-box { (e.note) } }
            @if e.screenshot_bytes > 0 {
                a href=(png) { img.screenshot src=(png) alt={"The page when the check failed"} loading="lazy"; }
            }
            @if e.console.is_empty() { p.muted { "The page wrote nothing to its console." } }
            @else { h3 { "Console" } pre { (e.console) } }
        }
    })
}

/// `GET /ui/monitors/{name}/evidence/{at}`: the screenshot, as a PNG.
pub async fn screenshot(State(app): State<AppState>, Path((name, at)): Path<(String, i64)>) -> UiResult<Response> {
    Ok(crate::evidence::png(&app, &name, at).await?)
}
