//! Badges for READMEs, for what a status page makes public (a page, or one of its components:
//! [`vigil_runtime::status_pages::badges`]), at the addresses Gatus and Healthchecks use, so a badge pointing
//! at either works by changing the host:
//! - `/api/v1/endpoints/{key}/health/badge.svg`, `.../uptimes/{duration}/badge.svg` and
//!   `.../response-times/{duration}/badge.svg` (Gatus; `1h`, `24h`, `7d`, `30d`, `90d`);
//! - `/badge/{key}.svg`, `/badge/{key}.json` and `/badge/{key}.shields` (Healthchecks; the last
//!   is a shields.io endpoint).
//!
//! They answer anyone, as the page does.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use vigil_core::status_page::State as Shown;
use vigil_runtime::status_pages::badges::{Target, window};

use crate::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/endpoints/{key}/health/badge.svg", get(health))
        .route("/api/v1/endpoints/{key}/uptimes/{duration}/badge.svg", get(uptime))
        .route("/api/v1/endpoints/{key}/response-times/{duration}/badge.svg", get(response_time))
        .route("/badge/{file}", get(healthchecks))
}

/// A badge's message and colour (a shields.io colour name).
struct Said {
    message: String,
    color: &'static str,
}

fn state_said(state: Option<Shown>) -> Said {
    let (message, color) = match state {
        Some(Shown::Operational) => ("up", "brightgreen"),
        Some(Shown::Degraded) => ("degraded", "yellow"),
        Some(Shown::PartialOutage) => ("partial outage", "orange"),
        Some(Shown::MajorOutage) => ("down", "red"),
        Some(Shown::Maintenance) => ("maintenance", "blue"),
        None => ("unknown", "lightgrey"),
    };
    Said { message: message.into(), color }
}

fn uptime_said(uptime: Option<f64>) -> Said {
    let Some(u) = uptime else { return Said { message: "no checks".into(), color: "lightgrey" } };
    let color = match u * 100.0 {
        p if p >= 99.9 => "brightgreen",
        p if p >= 99.0 => "green",
        p if p >= 97.0 => "yellowgreen",
        p if p >= 95.0 => "yellow",
        p if p >= 90.0 => "orange",
        _ => "red",
    };
    Said { message: crate::ui::format::percent(Some(u)), color }
}

fn response_time_said(mean: Option<f64>) -> Said {
    let Some(ms) = mean else { return Said { message: "no data".into(), color: "lightgrey" } };
    let color = match ms {
        ms if ms < 50.0 => "brightgreen",
        ms if ms < 200.0 => "green",
        ms if ms < 300.0 => "yellowgreen",
        ms if ms < 500.0 => "yellow",
        ms if ms < 750.0 => "orange",
        _ => "red",
    };
    Said { message: format!("{}ms", ms.round() as i64), color }
}

fn no_badge() -> Response {
    (StatusCode::NOT_FOUND, "no public badge by that key\n").into_response()
}

fn unavailable(e: vigil_store::StoreError) -> Response {
    tracing::error!(error = %e, "Could not read a badge's figures.");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

/// A badge's body, worked out at most once per [`crate::status_pages::public::cache::FRESH`] for everyone
/// asking (a page's state reads every monitor on it), sent as `kind`.
async fn kept(
    app: &AppState,
    key: String,
    kind: &'static str,
    body: impl AsyncFnOnce() -> Result<String, vigil_store::StoreError>,
) -> Response {
    match app.status_pages.get(&format!("badge {key}"), app.engine.now(), async || body().await.map(Some)).await {
        Ok(Some(r)) => ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=60")], r.html.clone())
            .into_response(),
        Ok(None) => no_badge(),
        Err(e) => unavailable(e),
    }
}

const SVG: &str = "image/svg+xml";

async fn health(State(app): State<AppState>, Path(key): Path<String>) -> Response {
    let Some(target) = app.engine.status_pages().public_badge_target(&key).await else { return no_badge() };
    let engine = app.engine.clone();
    kept(&app, format!("health {key}"), SVG, async move || {
        Ok(svg("health", &state_said(engine.status_pages().badge_state(&target).await?)))
    })
    .await
}

async fn uptime(State(app): State<AppState>, Path((key, duration)): Path<(String, String)>) -> Response {
    figures_badge(&app, &key, &duration, "uptime", |f| uptime_said(f.uptime())).await
}

async fn response_time(State(app): State<AppState>, Path((key, duration)): Path<(String, String)>) -> Response {
    figures_badge(&app, &key, &duration, "response time", |f| response_time_said(f.mean())).await
}

async fn figures_badge(
    app: &AppState,
    key: &str,
    duration: &str,
    label: &str,
    said: impl Fn(&vigil_runtime::status_pages::badges::Figures) -> Said,
) -> Response {
    let Some((span, width)) = window(duration) else {
        return (StatusCode::BAD_REQUEST, "the duration is one of 1h, 24h, 7d, 30d, 90d\n").into_response();
    };
    let Some(target) = app.engine.status_pages().public_badge_target(key).await else { return no_badge() };
    let engine = app.engine.clone();
    kept(app, format!("{label} {duration} {key}"), SVG, async move || {
        Ok(svg(
            &format!("{label} {duration}"),
            &said(&engine.status_pages().badge_figures(&target, span, width).await?),
        ))
    })
    .await
}

/// Healthchecks' `/badge/{key}.svg`, `.json` and `.shields`.
async fn healthchecks(State(app): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((key, format)) = file.rsplit_once('.') else { return StatusCode::NOT_FOUND.into_response() };
    let kind = match format {
        "svg" => SVG,
        "json" | "shields" => "application/json",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(target) = app.engine.status_pages().public_badge_target(key).await else { return no_badge() };
    let label = match &target {
        Target::Page(page) => page.title.clone(),
        Target::Component(_, c) => c.name.clone(),
        Target::Monitor(name) => name.clone(),
    };
    let engine = app.engine.clone();
    kept(&app, format!("healthchecks {file}"), kind, async move || {
        let said = state_said(engine.status_pages().badge_state(&target).await?);
        Ok(match format {
            "svg" => svg(&label, &said),
            "json" => json!({ "status": said.message }).to_string(),
            _ => {
                json!({ "schemaVersion": 1, "label": label, "message": said.message, "color": said.color }).to_string()
            }
        })
    })
    .await
}

/// Shields' hex for a colour name.
fn hex(color: &str) -> &'static str {
    match color {
        "brightgreen" => "#4c1",
        "green" => "#97ca00",
        "yellowgreen" => "#a4a61d",
        "yellow" => "#dfb317",
        "orange" => "#fe7d37",
        "red" => "#e05d44",
        "blue" => "#007ec6",
        _ => "#9f9f9f",
    }
}

/// Text width in pixels at 11 px Verdana, near enough (shields measures each glyph).
fn text_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii_uppercase() || c == 'm' || c == 'w' { 9 } else { 7 }).sum::<usize>()
}

/// A flat badge, as shields.io draws one: the label on grey, the message on its colour. It is a
/// document of its own, so XML: every element closed.
fn svg(label: &str, said: &Said) -> String {
    let (lw, mw) = (text_width(label) + 10, text_width(&said.message) + 10);
    let total = lw + mw;
    let title = format!("{label}: {}", said.message);
    let markup = maud::html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total) height="20" role="img" aria-label=(title) {
            title { (title) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(total) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(lw) height="20" fill="#555" {}
                rect x=(lw) width=(mw) height="20" fill=(hex(said.color)) {}
                rect width=(total) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11" {
                text x=(lw / 2) y="14" { (label) }
                text x=(lw + mw / 2) y="14" { (said.message) }
            }
        }
    };
    markup.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_figures() {
        assert_eq!(uptime_said(Some(0.9995)).color, "brightgreen");
        assert_eq!(uptime_said(Some(0.96)).color, "yellow");
        assert_eq!(uptime_said(None).message, "no checks");
        assert_eq!(response_time_said(Some(123.4)).message, "123ms");
        assert_eq!(state_said(Some(Shown::MajorOutage)).message, "down");
        use crate::paths::is_badge_path;
        assert!(is_badge_path("/api/v1/endpoints/acme_web/health/badge.svg"));
        assert!(!is_badge_path("/api/v1/endpoints/acme_web/statuses"), "only badges are open");
        assert!(is_badge_path("/badge/acme.shields"));
    }

    /// An SVG image is XML: a browser draws nothing of one that is not well-formed.
    #[test]
    fn a_badge_is_well_formed_xml() {
        let text = svg("uptime 24h", &Said { message: "99.5% <&>".into(), color: "green" });
        let mut open = Vec::new();
        for tag in text.split('<').skip(1).map(|t| t.split('>').next().unwrap()) {
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name.to_string()), "closed in order: {text}");
            } else if !tag.ends_with('/') {
                open.push(tag.split(' ').next().unwrap().to_string());
            }
        }
        assert!(open.is_empty(), "every element closed: {open:?} in {text}");
        assert!(text.contains("99.5% &lt;&amp;&gt;"), "{text}");
    }
}
