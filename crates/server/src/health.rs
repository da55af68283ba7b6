//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers a read.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 503, body = ApiError))
)]
async fn readyz(State(app): State<AppState>) -> ApiResult<&'static str> {
    match app.engine.instance("readyz-probe").await {
        Ok(_) => Ok("ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "Not ready: the store does not answer.");
            Err(ApiError::new(crate::ErrorCode::ShuttingDown, "the store does not answer"))
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(State(app): State<AppState>) -> (StatusCode, String) {
    let mut text = (app.metrics)();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    checks_total(&mut text, &app.engine.monitor_check_counts().await);
    (StatusCode::OK, text)
}

/// Appends `vigil_monitor_checks_total{monitor,outcome}`: each monitor's checks on this node per
/// outcome, counted by the monitor itself (a counter per monitor in the metrics recorder took
/// about 300 bytes each). An outcome never seen has no series, as with the recorder.
fn checks_total(out: &mut String, counts: &[(String, vigil_runtime::monitors::CheckCounts)]) {
    use std::fmt::Write;
    if counts.iter().all(|(_, c)| c.iter().all(|n| *n == 0)) {
        return;
    }
    out.push_str("# HELP vigil_monitor_checks_total Checks each monitor made on this node, by outcome.\n");
    out.push_str("# TYPE vigil_monitor_checks_total counter\n");
    for (monitor, counts) in counts {
        let monitor = label_value(monitor);
        for (outcome, n) in vigil_runtime::monitors::OUTCOMES.iter().zip(counts).filter(|(_, n)| **n > 0) {
            let _ = writeln!(out, "vigil_monitor_checks_total{{monitor=\"{monitor}\",outcome=\"{outcome}\"}} {n}");
        }
    }
}

/// A label value escaped as the exposition format asks: backslash, double quote and newline.
fn label_value(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\\', '"', '\n']) {
        return text.into();
    }
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_total_names_each_seen_outcome_with_escaped_names() {
        let mut out = String::new();
        checks_total(&mut out, &[("disk \"a\"\\b".into(), [3, 0, 1, 0]), ("web".into(), [0, 0, 0, 0])]);
        assert_eq!(
            out,
            "# HELP vigil_monitor_checks_total Checks each monitor made on this node, by outcome.\n\
             # TYPE vigil_monitor_checks_total counter\n\
             vigil_monitor_checks_total{monitor=\"disk \\\"a\\\"\\\\b\",outcome=\"ok\"} 3\n\
             vigil_monitor_checks_total{monitor=\"disk \\\"a\\\"\\\\b\",outcome=\"critical\"} 1\n"
        );
        let mut none = String::new();
        checks_total(&mut none, &[("web".into(), [0; 4])]);
        assert_eq!(none, "", "no monitor checked: no family");
    }
}
