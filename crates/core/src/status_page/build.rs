//! Checking a status page as written: each problem at its field's path.

use serde_json::Value;

use super::StatusPageDef;
use crate::def::typed::typed;
use crate::diagnostic::Problem;

/// The longest slug (it is a path segment and a file name).
const MAX_SLUG: usize = 64;

/// Checks `doc`; the page when it has no error, and every problem found.
pub fn build_status_page(doc: &Value) -> (Option<StatusPageDef>, Vec<Problem>) {
    let mut problems = Vec::new();
    if !doc.is_object() {
        return (None, vec![Problem::error("", "a status page must be an object (slug, title, components)")]);
    }
    let Some(mut page) = typed::<StatusPageDef>(doc, "", &mut problems) else { return (None, problems) };
    if !is_slug(&page.slug) {
        problems.push(Problem::error(
            "slug",
            format!(
                "`{}` is not a slug: 1 to {MAX_SLUG} lowercase letters, digits and `-`, starting with a letter or digit",
                page.slug
            ),
        ));
    }
    if page.title.trim().is_empty() {
        problems.push(Problem::error("title", "a status page needs a `title`"));
    }
    if let Some(logo) = &page.logo
        && !(logo.starts_with("https://") || (logo.starts_with('/') && !logo.starts_with("//")))
    {
        problems.push(Problem::error("logo", "a logo is an `https://` URL or a path on this server (`/...`)"));
    }
    for (i, domain) in page.domains.iter().enumerate() {
        if !is_host_name(domain) {
            problems.push(Problem::error(
                format!("domains[{i}]"),
                format!("`{domain}` is not a host name: lowercase letters, digits, `-` and dots, without a scheme, port or path (status.example.com)"),
            ));
        }
    }
    if page.components.is_empty() {
        problems.push(Problem::error("components", "a status page needs at least one component"));
    }
    let mut names = std::collections::HashSet::new();
    for (i, c) in page.components.iter().enumerate() {
        let at = |field: &str| format!("components[{i}].{field}");
        if c.name.trim().is_empty() {
            problems.push(Problem::error(at("name"), "a component needs the `name` the public sees"));
        } else if !names.insert(c.name.trim()) {
            problems.push(Problem::error(at("name"), format!("`{}` is shown twice on this page", c.name)));
        }
        match (&c.monitor, c.monitors.is_empty()) {
            (Some(_), false) => problems.push(Problem::error(
                at("monitors"),
                "a component shows `monitor` (one) or `monitors` (a group), not both",
            )),
            (None, true) => problems.push(Problem::error(
                format!("components[{i}]"),
                "a component shows a `monitor` or a group of `monitors`",
            )),
            _ => {}
        }
        if c.series.is_some() && c.monitor.is_none() {
            problems.push(Problem::error(at("series"), "`series` picks one series of `monitor`: it needs one"));
        }
        if c.members().any(|m| m.trim().is_empty()) {
            problems.push(Problem::error(
                at(if c.monitor.is_some() { "monitor" } else { "monitors" }),
                "an empty monitor name",
            ));
        }
    }
    let names: Vec<&str> = page.components.iter().map(|c| c.name.as_str()).collect();
    let mut ids = std::collections::HashSet::new();
    for (i, incident) in page.incidents.iter().enumerate() {
        problems.extend(incident.problems(&format!("incidents[{i}]."), &names));
        if !incident.id.is_empty() && !ids.insert(incident.id.as_str()) {
            problems.push(Problem::error(format!("incidents[{i}].id"), format!("`{}` is used twice", incident.id)));
        }
    }
    for (i, window) in page.maintenance.iter().enumerate() {
        problems.extend(window.problems(&format!("maintenance[{i}]."), &names));
    }
    if problems.iter().any(Problem::is_error) {
        return (None, problems);
    }
    for (i, incident) in page.incidents.iter_mut().enumerate() {
        if incident.id.is_empty() {
            incident.id = format!("declared-{i}");
        }
        incident.updates.sort_by_key(|u| u.at);
    }
    (Some(page), problems)
}

/// Whether `s` is a lowercase DNS name of at least two labels.
fn is_host_name(s: &str) -> bool {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    s.len() <= 253 && s.contains('.') && s.split('.').all(label)
}

/// Whether `s` is a slug: `[a-z0-9][a-z0-9-]*`, at most [`MAX_SLUG`] long.
pub fn is_slug(s: &str) -> bool {
    let first_ok = s.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok && s.len() <= MAX_SLUG && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
