//! Which part of the server a path belongs to.

use axum::http::Method;

/// Whether `path` belongs to the web UI (its requests are guarded by a session, not a token).
pub fn is_ui_path(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with("/ui/")
}

/// Whether `path` is an acknowledgement link (`/ack/{token}`, [`crate::ack`]): open without a
/// token, and its page's form posts as forms do.
pub fn is_ack_path(path: &str) -> bool {
    path.starts_with("/ack/")
}

/// Whether `path` is a public status page's (`/status/{slug}`, [`crate::status_pages::public`]): open to
/// anyone.
pub fn is_status_path(path: &str) -> bool {
    path.starts_with("/status/")
}

/// Whether `path` is a badge's ([`crate::status_pages::badges`]): open to anyone.
pub fn is_badge_path(path: &str) -> bool {
    path.starts_with("/badge/") || (path.starts_with("/api/v1/endpoints/") && path.ends_with("/badge.svg"))
}

/// Marks a request that came to a status page's own domain ([`crate::status_pages::custom_domain`]).
#[derive(Debug, Clone)]
pub struct OnPageDomain;

/// Percent-encodes `text` for a query string value or a path segment.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the API route at `path` checks every object it acts on ([`crate::access`]), so rights
/// held only in teams may reach it.
pub fn checks_objects(method: &Method, path: &str) -> bool {
    // Alertmanager's silences (amtool, Grafana) are checked as vigil's are.
    match (method.as_str(), path.strip_prefix("/api/v2/")) {
        ("GET" | "POST", Some("silences" | "alerts")) => return true,
        ("GET", Some("alerts/groups")) => return true,
        ("GET" | "DELETE", Some(rest)) if rest.starts_with("silence/") && !rest[8..].contains('/') => return true,
        (_, Some(_)) => return false,
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        // Conductor's workflow and metadata routes (its SDKs), checked as the native ones are.
        let parts: Vec<&str> = rest.split('/').collect();
        let m = method.as_str();
        let conductor = match parts.as_slice() {
            ["workflow"] => m == "POST",
            ["workflow", "search"] => m == "GET",
            ["workflow", _] => matches!(m, "GET" | "POST" | "DELETE"),
            ["workflow", _, "remove"] => m == "DELETE",
            ["workflow", _, "pause" | "resume"] => m == "PUT",
            ["workflow", _, "resetcallbacks" | "rerun" | "restart" | "retry"] => m == "POST",
            ["workflow", _, "skiptask", _] => m == "PUT",
            ["metadata", "workflow"] => matches!(m, "GET" | "POST" | "PUT"),
            ["metadata", "workflow", _] => m == "GET",
            ["metadata", "workflow", _, _] => m == "DELETE",
            _ => false,
        };
        if conductor {
            return true;
        }
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else { return false };
    let parts: Vec<&str> = rest.split('/').collect();
    let get = *method == Method::GET;
    match parts.as_slice() {
        ["me"] => get,
        ["monitors"] => get,
        ["monitors", _] => get || *method == Method::DELETE,
        ["monitors", _, "history" | "pings" | "evidence"] => get,
        ["monitors", _, "evidence", _, "screenshot"] => get,
        ["monitors", _, "check"] => *method == Method::POST,
        ["workflows"] => get,
        ["workflows", _] => get || *method == Method::PUT || *method == Method::DELETE,
        ["workflows", _, "instances"] => *method == Method::POST,
        ["instances"] | ["instances", _] => get || *method == Method::DELETE,
        ["instances", _, "events", _] => *method == Method::POST,
        ["instances", _, "terminate" | "suspend" | "resume" | "restart" | "retry"] => *method == Method::POST,
        ["schedules"] => get,
        ["schedules", _] => get || *method == Method::PUT || *method == Method::DELETE,
        ["schedules", _, "pause" | "resume" | "run"] => *method == Method::POST,
        ["status-pages"] => get,
        ["status-pages", _] => get || *method == Method::PUT || *method == Method::DELETE,
        ["status-pages", _, "incidents" | "maintenance" | "subscribers"] => get || *method == Method::POST,
        ["status-pages", _, "incidents", _, "updates"] | ["status-pages", _, "maintenance", _, "end"] => {
            *method == Method::POST
        }
        ["status-pages", _, "subscribers", _] => *method == Method::DELETE,
        ["notifiers"] => get,
        ["notifiers", _] => get || *method == Method::PUT || *method == Method::DELETE,
        ["secrets"] => get,
        ["secrets", _] => *method == Method::PUT || *method == Method::DELETE,
        ["alerts"] => get,
        ["alerts", "ack"] => *method == Method::POST,
        ["silences"] => get || *method == Method::POST,
        ["silences", _] => *method == Method::DELETE,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routes_that_check_objects_open_to_team_rights() {
        assert!(checks_objects(&Method::GET, "/api/v1/monitors"));
        assert!(checks_objects(&Method::POST, "/api/v1/monitors/web/check"));
        assert!(checks_objects(&Method::DELETE, "/api/v1/secrets/pd"));
        assert!(!checks_objects(&Method::GET, "/api/v1/secrets/pd"));
        assert!(checks_objects(&Method::GET, "/api/v1/instances"));
        assert!(checks_objects(&Method::POST, "/api/v1/workflows/x/instances"));
        assert!(checks_objects(&Method::POST, "/api/v1/instances/i1/events/approve"));
        assert!(checks_objects(&Method::POST, "/api/v1/instances/i1/retry"));
        assert!(!checks_objects(&Method::POST, "/api/v1/instances/i1/unknown"));
        assert!(checks_objects(&Method::GET, "/api/workflow/i1"), "Conductor's workflow routes check too");
        assert!(checks_objects(&Method::PUT, "/api/metadata/workflow"));
        assert!(!checks_objects(&Method::GET, "/api/tasks/poll/x"), "a worker's poll needs a role everywhere");
        assert!(!checks_objects(&Method::GET, "/api/metadata/taskdefs"));
        assert!(!checks_objects(&Method::GET, "/api/event"));
        assert!(!checks_objects(&Method::GET, "/api/v1/users"));
        assert!(!checks_objects(&Method::POST, "/api/v1/tokens"));
        assert!(checks_objects(&Method::GET, "/api/v2/silences"), "amtool silence query");
        assert!(checks_objects(&Method::POST, "/api/v2/silences"));
        assert!(checks_objects(&Method::DELETE, "/api/v2/silence/abc"));
        assert!(checks_objects(&Method::POST, "/api/v2/alerts"), "a team pushes its own alerts");
        assert!(checks_objects(&Method::GET, "/api/v2/alerts"));
        assert!(checks_objects(&Method::GET, "/api/v2/alerts/groups"));
        assert!(!checks_objects(&Method::GET, "/api/v2/status"));
        assert!(!checks_objects(&Method::DELETE, "/api/v2/silence/abc/x"));
    }
}
