//! HTTP starters: a workflow's `http` block names a route under `/api/` whose requests start it,
//! as an Azure Functions HTTP-triggered starter (`@app.route(route=...)` calling `start_new`) does.
//!
//! ```yaml
//! http:
//!   route: job_status/{jobId}   # GET /api/job_status/42 starts it with input {jobId: "42"}
//!   methods: [GET]              # default [POST]
//!   respond: output             # answer with the output once it ends (default: status, a 202
//!   wait: 30s                   # with the management URIs); how long `output` waits (default 30s)
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::time::parse_duration;

/// First segments that belong to vigil's own APIs (native, Conductor, Orkes), which a starter may
/// not take.
pub const RESERVED_FIRST_SEGMENTS: &[&str] =
    &["v1", "v2", "workflow", "metadata", "tasks", "scheduler", "secrets", "event", "queue", "admin", "pings", "token"];

/// Longest a starter answering with the output may wait for it.
const MAX_WAIT_MS: i64 = 300_000;

/// A checked HTTP starter.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTrigger {
    /// The route as written (without `/api/`).
    pub route: String,
    /// Its segments.
    pub segments: Vec<Segment>,
    /// Upper-case HTTP methods it answers.
    pub methods: Vec<String>,
    /// What a request answers.
    pub respond: Respond,
}

/// One path segment of a route.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Matched as written.
    Literal(String),
    /// `{name}`: matches any one segment, which becomes input field `name`.
    Param(String),
}

/// What a starter answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Respond {
    /// 202 with the instance id and its management URIs (Durable Functions'
    /// `create_check_status_response`).
    Status,
    /// 200 with the output once the instance ends within `wait_ms`, else the 202 of `Status`
    /// (Durable Functions' `wait_for_completion_or_create_check_status_response`).
    Output {
        /// Milliseconds.
        wait_ms: i64,
    },
}

impl HttpTrigger {
    /// The route parameters when `method` and `path` (the part after `/api/`, no query) are this
    /// starter's.
    pub fn matches(&self, method: &str, path: &str) -> Option<Map<String, Value>> {
        if !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return None;
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Map::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(text) if text == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), Value::String(part.to_string()));
                }
            }
        }
        Some(params)
    }

    /// How many segments are literal: the more specific of two matching routes wins.
    pub fn literal_count(&self) -> usize {
        self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()
    }
}

/// The `http` block as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    route: String,
    #[serde(default)]
    methods: Option<Vec<String>>,
    #[serde(default)]
    respond: Option<String>,
    #[serde(default)]
    wait: Option<String>,
}

/// Checks the `http` block at `path`, reporting every problem.
pub(crate) fn build(value: &Value, path: &str, problems: &mut Vec<Problem>) -> Option<HttpTrigger> {
    let raw: RawTrigger = super::typed::typed(value, path, problems)?;
    let before = problems.len();
    let at = |field: &str| format!("{path}.{field}");
    let route = raw.route.trim().trim_start_matches('/').trim_end_matches('/').to_string();
    let route = route.strip_prefix("api/").map(str::to_string).unwrap_or(route);
    let mut segments = Vec::new();
    if route.is_empty() {
        problems.push(Problem::error(at("route"), "the route is empty"));
    }
    for part in route.split('/').filter(|_| !route.is_empty()) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                problems.push(Problem::error(
                    at("route"),
                    format!("`{part}`: a parameter is `{{name}}` of letters, digits and `_`"),
                ));
            } else if segments.contains(&Segment::Param(name.to_string())) {
                problems.push(Problem::error(at("route"), format!("parameter `{name}` appears twice")));
            }
            segments.push(Segment::Param(name.to_string()));
        } else if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            problems.push(Problem::error(
                at("route"),
                format!("segment `{part}` must be letters, digits, `-`, `_` or `.`"),
            ));
        } else {
            segments.push(Segment::Literal(part.to_string()));
        }
    }
    if let Some(Segment::Literal(first)) = segments.first()
        && RESERVED_FIRST_SEGMENTS.contains(&first.as_str())
    {
        problems.push(Problem::error(at("route"), format!("`/api/{first}/...` belongs to vigil's own API")));
    }
    let methods: Vec<String> =
        raw.methods.unwrap_or_else(|| vec!["POST".into()]).iter().map(|m| m.trim().to_ascii_uppercase()).collect();
    if methods.is_empty() {
        problems.push(Problem::error(at("methods"), "name at least one method"));
    }
    for m in &methods {
        if !["GET", "POST", "PUT", "DELETE"].contains(&m.as_str()) {
            problems.push(Problem::error(at("methods"), format!("unknown method `{m}` (GET, POST, PUT, DELETE)")));
        }
    }
    let wait_ms = match raw.wait.as_deref().map(parse_duration) {
        None => 30_000,
        Some(Ok(ms)) if (1..=MAX_WAIT_MS).contains(&ms) => ms,
        Some(Ok(_)) => {
            problems.push(Problem::error(at("wait"), "between 1 ms and 5 minutes"));
            30_000
        }
        Some(Err(e)) => {
            problems.push(Problem::error(at("wait"), e));
            30_000
        }
    };
    let respond = match raw.respond.as_deref() {
        None | Some("status") => Respond::Status,
        Some("output") => Respond::Output { wait_ms },
        Some(other) => {
            problems.push(Problem::error(at("respond"), format!("unknown value `{other}` (status, output)")));
            Respond::Status
        }
    };
    if raw.wait.is_some() && respond == Respond::Status {
        problems.push(Problem::warning(at("wait"), "only `respond: output` waits"));
    }
    let failed = problems[before..].iter().any(Problem::is_error);
    (!failed).then_some(HttpTrigger { route, segments, methods, respond })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn built(value: Value) -> (Option<HttpTrigger>, Vec<Problem>) {
        let mut problems = Vec::new();
        (build(&value, "http", &mut problems), problems)
    }

    #[test]
    fn a_route_matches_its_method_and_path_and_names_its_parameters() {
        let (t, problems) = built(json!({"route": "job_status/{jobId}", "methods": ["get"], "respond": "output"}));
        assert!(problems.is_empty(), "{problems:?}");
        let t = t.unwrap();
        assert_eq!(t.matches("GET", "job_status/42"), Some(json!({"jobId": "42"}).as_object().unwrap().clone()));
        assert_eq!(t.matches("POST", "job_status/42"), None);
        assert_eq!(t.matches("GET", "job_status"), None);
        assert_eq!(t.matches("GET", "job_status/"), None);
        assert_eq!(t.matches("GET", "job_status/4/2"), None);
        assert_eq!(t.respond, Respond::Output { wait_ms: 30_000 });
        let (t, _) = built(json!({"route": "/api/start_monitoring_job"}));
        assert_eq!(t.unwrap().matches("POST", "start_monitoring_job"), Some(Map::new()));
    }

    #[test]
    fn bad_routes_methods_and_waits_are_named() {
        for (value, field, says) in [
            (json!({"route": ""}), "http.route", "empty"),
            (json!({"route": "a/{b c}"}), "http.route", "parameter"),
            (json!({"route": "a/{x}/{x}"}), "http.route", "twice"),
            (json!({"route": "workflow/{id}"}), "http.route", "vigil's own API"),
            (json!({"route": "a?b"}), "http.route", "segment"),
            (json!({"route": "a", "methods": ["PATCH"]}), "http.methods", "PATCH"),
            (json!({"route": "a", "respond": "body"}), "http.respond", "status, output"),
            (json!({"route": "a", "respond": "output", "wait": "1 fortnight"}), "http.wait", "fortnight"),
            (json!({"route": "a", "verb": "GET"}), "http", "verb"),
        ] {
            let (t, problems) = built(value.clone());
            assert!(t.is_none(), "{value}");
            let p = problems.iter().find(|p| p.is_error()).unwrap_or_else(|| panic!("{value}: {problems:?}"));
            assert!(p.path.starts_with(field) && p.message.contains(says), "{value}: {p:?}");
        }
    }
}
