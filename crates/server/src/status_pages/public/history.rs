//! `/status/{slug}/history/{YYYY-MM}`: a page's incidents of one month, newest first, with
//! links to the months before and after.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use maud::{DOCTYPE, html};
use vigil_core::time::Millis;

use crate::AppState;

/// The month holding `at`, as `YYYY-MM` (UTC).
pub fn month_of(at: Millis) -> String {
    jiff::Timestamp::from_millisecond(at).map_or_else(|_| "1970-01".into(), |t| t.strftime("%Y-%m").to_string())
}

/// The first day of month `YYYY-MM`.
fn parse_month(text: &str) -> Option<Date> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    Date::new(year.parse().ok()?, month.parse().ok()?, 1).ok()
}

fn millis(day: Date) -> Millis {
    day.to_zoned(jiff::tz::TimeZone::UTC).map_or(0, |z| z.timestamp().as_millisecond())
}

pub(super) async fn show(
    State(app): State<AppState>,
    Path((slug, month)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(first) = parse_month(&month) else { return super::not_found() };
    let (Ok(before), Ok(after)) =
        (first.checked_sub(jiff::Span::new().months(1)), first.checked_add(jiff::Span::new().months(1)))
    else {
        return super::not_found();
    };
    let Some(page) = app.engine.status_pages().all().iter().find(|p| p.slug == slug).cloned() else {
        return super::not_found();
    };
    let incidents = match app.engine.status_pages().incidents(&slug, millis(first), millis(after)).await {
        Ok(incidents) => incidents,
        Err(e) => {
            tracing::error!(error = %e, slug, "Could not read a status page's incidents.");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")]).into_response();
        }
    };
    let title = format!("{}: incidents in {}", page.title, first.strftime("%B %Y"));
    let link = |d: Date| format!("/status/{slug}/history/{}", d.strftime("%Y-%m"));
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (super::head_of(&title, Some((&slug, &page.title))))
            body {
                main {
                    p { a href={ "/status/" (slug) } { "← " (page.title) } }
                    h1 { (title) }
                    @if incidents.is_empty() { p.muted { "No incidents this month." } }
                    @for i in &incidents { (super::incident(i)) }
                    nav.legend {
                        a href=(link(before)) { "← " (before.strftime("%B %Y")) }
                        a href=(link(after)) { (after.strftime("%B %Y")) " →" }
                    }
                }
            }
        }
    };
    super::cached(markup.into_string(), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_strictly() {
        assert_eq!(parse_month("2026-11"), Date::new(2026, 11, 1).ok());
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "2026-11-01", "x"] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(month_of(millis(Date::new(2026, 2, 1).unwrap()) - 1), "2026-01");
    }
}
