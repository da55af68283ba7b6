//! Which part of the server a path belongs to.

/// Whether `path` belongs to the web UI (its requests are guarded by a session, not a token).
pub fn is_ui_path(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with("/ui/")
}

/// Whether `path` is an acknowledgement link (`/ack/{token}`, [`crate::ack`]): open without a
/// token, and its page's form posts as forms do.
pub fn is_ack_path(path: &str) -> bool {
    path.starts_with("/ack/")
}

/// Whether `path` is a public status page's (`/status/{slug}`, [`crate::status_page`]): open to
/// anyone.
pub fn is_status_path(path: &str) -> bool {
    path.starts_with("/status/")
}

/// Whether `path` is a badge's ([`crate::badges`]): open to anyone.
pub fn is_badge_path(path: &str) -> bool {
    path.starts_with("/badge/") || (path.starts_with("/api/v1/endpoints/") && path.ends_with("/badge.svg"))
}

/// Marks a request that came to a status page's own domain ([`crate::custom_domain`]).
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
