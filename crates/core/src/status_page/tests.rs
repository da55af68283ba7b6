use serde_json::{Value, json};

use super::*;
use crate::diagnostic::Problem;

fn page(components: Value) -> Value {
    json!({"slug": "acme", "title": "Acme", "components": components})
}

fn errors_at(doc: &Value) -> Vec<String> {
    let (built, problems) = build_status_page(doc);
    assert!(built.is_none() || problems.iter().all(|p| !p.is_error()), "built despite errors");
    problems.into_iter().filter(Problem::is_error).map(|p| p.path).collect()
}

#[test]
fn a_page_of_one_monitor_a_series_and_a_group_builds() {
    let doc = page(json!([
        {"name": "Website", "monitor": "web"},
        {"name": "API in Europe", "monitor": "api", "series": "eu"},
        {"name": "Databases", "monitors": ["db-1", "db-2"], "description": "Primary and replica"}
    ]));
    let (built, problems) = build_status_page(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    let built = built.expect("built");
    assert_eq!(built.states, StateMap::default());
    let members: Vec<Vec<&str>> = built.components.iter().map(|c| c.members().collect()).collect();
    assert_eq!(members, [vec!["web"], vec!["api"], vec!["db-1", "db-2"]]);
}

#[test]
fn every_problem_is_reported_at_its_field() {
    let doc = json!({"slug": "Acme Status", "title": " ", "logo": "http://x/logo.png",
    "components": [
        {"name": "Web", "monitor": "web", "monitors": ["a"]},
        {"name": "Web", "monitor": "web2"},
        {"name": "Nothing"},
        {"name": "Series", "monitors": ["a"], "series": "eu"}
    ]});
    assert_eq!(
        errors_at(&doc),
        [
            "slug",
            "title",
            "logo",
            "components[0].monitors",
            "components[1].name",
            "components[2]",
            "components[3].series"
        ]
    );
}

#[test]
fn an_unknown_field_and_an_unknown_state_are_named() {
    let (_, problems) = build_status_page(&page(json!([{"name": "Web", "monitr": "web"}])));
    assert!(
        problems.iter().any(|p| p.path == "components[0].monitr" && p.message.contains("`monitor`")),
        "{problems:?}"
    );
    let mut doc = page(json!([{"name": "Web", "monitor": "web"}]));
    doc["states"] = json!({"warning": "sort_of_fine"});
    let (_, problems) = build_status_page(&doc);
    assert!(problems.iter().any(|p| p.path == "states.warning" && p.message.contains("sort_of_fine")), "{problems:?}");
    assert_eq!(errors_at(&page(json!([]))), ["components"]);
}

#[test]
fn a_logo_is_https_or_a_path_here() {
    for (logo, fine) in [
        ("https://acme.example/l.svg", true),
        ("/assets/l.svg", true),
        ("//evil.example/l.svg", false),
        ("javascript:x", false),
    ] {
        let mut doc = page(json!([{"name": "Web", "monitor": "web"}]));
        doc["logo"] = json!(logo);
        assert_eq!(errors_at(&doc).is_empty(), fine, "{logo}");
    }
}

#[test]
fn slugs_are_lowercase_path_segments() {
    for good in ["acme", "acme-status", "2026", "a"] {
        assert!(is_slug(good), "{good}");
    }
    for bad in ["", "-acme", "Acme", "acme/status", "acme.status", &"a".repeat(65)] {
        assert!(!is_slug(bad), "{bad}");
    }
}

#[test]
fn a_component_is_as_bad_as_its_worst_monitor_and_partly_out_when_some_are() {
    let map = StateMap::default();
    let (ok, warning, critical) = (Some(Tier::Ok), Some(Tier::Warning), Some(Tier::Critical));
    assert_eq!(map.component(&[ok]), Some(State::Operational));
    assert_eq!(map.component(&[warning, ok]), Some(State::Degraded));
    assert_eq!(map.component(&[critical]), Some(State::MajorOutage));
    assert_eq!(map.component(&[critical, critical]), Some(State::MajorOutage));
    assert_eq!(map.component(&[critical, ok]), Some(State::PartialOutage));
    assert_eq!(map.component(&[critical, None]), Some(State::PartialOutage), "one checked member is out");
    assert_eq!(map.component(&[None, None]), None, "nothing checked yet");
    let mild: StateMap = serde_json::from_value(json!({"critical": "degraded"})).unwrap();
    assert_eq!(mild, StateMap { critical: State::Degraded, ..StateMap::default() }, "unwritten tiers keep theirs");
    assert_eq!(mild.component(&[critical, ok]), Some(State::Degraded), "the page's own mapping");
    assert_eq!(overall(&[Some(State::Operational), None, Some(State::PartialOutage)]), Some(State::PartialOutage));
    assert_eq!(overall(&[None]), None);
}

/// A config directory of `files` (path → text), in a fresh directory of its own.
fn config_dir(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-status-page-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    dir
}

#[test]
fn status_pages_load_from_their_folder_with_located_problems() {
    let monitors = "- name: web\n  every: 1m\n  source:\n    http:\n      url: http://127.0.0.1:1/\n";
    let public =
        "slug: acme\ntitle: Acme\ncomponents:\n  - name: Website\n    monitor: web\n  - name: API\n    monitor: webb\n";
    let twin = "slug: acme\ntitle: Acme again\ncomponents:\n  - name: Website\n    monitor: web\n";
    let dir = config_dir(
        "load",
        &[("monitors/m.yaml", monitors), ("status-pages/a.yaml", public), ("status-pages/b.yaml", twin)],
    );
    let (config, diags) = crate::config::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(config.status_pages.len(), 1, "{diags:?}");
    assert_eq!(config.status_pages[0].title, "Acme", "the first file's page is kept");
    let unknown = diags.iter().find(|d| d.path == "components[1].monitor").expect("the unknown monitor");
    assert_eq!((unknown.severity, unknown.line), (crate::diagnostic::Severity::Warning, 7), "{unknown:?}");
    assert!(unknown.file.ends_with("status-pages/a.yaml") && unknown.message.contains("`webb`"), "{unknown:?}");
    assert_eq!(unknown.hint.as_deref(), Some("did you mean `web`?"), "{unknown:?}");
    let twice = diags.iter().find(|d| d.path == "slug").expect("the second page of one slug");
    assert!(twice.file.ends_with("status-pages/b.yaml") && twice.message.contains("a.yaml"), "{twice:?}");
    assert!(crate::config::has_errors(&diags));
}

#[test]
fn a_status_page_file_is_known_by_its_fields_outside_its_folder() {
    let page = "slug: acme\ntitle: Acme\ncomponents:\n  - name: Website\n    monitor: web\n";
    let dir = config_dir("guess", &[("acme.yaml", page)]);
    let (config, diags) = crate::config::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(config.status_pages.len(), 1, "{diags:?}");
    assert!(config.workflows.names().is_empty(), "not read as a workflow");
}

#[test]
fn declared_incidents_are_checked_at_their_fields_and_kept_in_time_order() {
    let mut doc = page(json!([{"name": "Website", "monitor": "web"}]));
    doc["incidents"] = json!([
        {"title": "Slow", "impact": "degraded", "components": ["Website"], "updates": [
            {"at": "2026-11-20T10:05:00Z", "status": "resolved", "message": "Fixed."},
            {"at": "2026-11-20T09:12:00+01:00", "status": "investigating", "message": "Looking."}
        ]},
        {"id": "planned", "title": "Everything", "updates": [{"at": 1000, "status": "monitoring", "message": "m"}]}
    ]);
    let (built, problems) = build_status_page(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    let built = built.unwrap();
    let slow = &built.incidents[0];
    assert_eq!(slow.id, "declared-0", "an id is given");
    let statuses: Vec<IncidentStatus> = slow.updates.iter().map(|u| u.status).collect();
    assert_eq!(statuses, [IncidentStatus::Investigating, IncidentStatus::Resolved], "in time order");
    assert_eq!(slow.opened_at(), 1_795_162_320_000, "09:12 at +01:00 is 08:12 UTC");
    assert_eq!(slow.resolved_at(), Some(1_795_169_100_000));
    assert!(slow.affects("Website") && !slow.affects("Billing"));
    let everything = &built.incidents[1];
    assert_eq!(
        (everything.id.as_str(), everything.impact, everything.resolved_at()),
        ("planned", State::MajorOutage, None)
    );
    assert!(everything.affects("Anything"), "no components: the whole page");

    doc["incidents"] = json!([
        {"title": " ", "components": ["Websit"], "updates": []},
        {"id": "x", "title": "t", "updates": [{"at": "2026-11-20T10:05:00Z", "status": "resolved", "message": " "}]},
        {"id": "x", "title": "t", "updates": [{"at": "2026-11-20T10:05:00Z", "status": "resolved", "message": "m"}]}
    ]);
    assert_eq!(
        errors_at(&doc),
        [
            "incidents[0].title",
            "incidents[0].updates",
            "incidents[0].components[0]",
            "incidents[1].updates[0].message",
            "incidents[2].id"
        ]
    );
    doc["incidents"] = json!([{"title": "t", "updates": [{"at": "yesterday", "status": "resolved", "message": "m"}]}]);
    let (_, problems) = build_status_page(&doc);
    assert!(
        problems.iter().any(|p| p.path.starts_with("incidents[0].updates[0]") && p.message.contains("RFC 3339")),
        "{problems:?}"
    );
}

#[test]
fn maintenance_holds_the_alerts_of_the_monitors_it_covers_while_it_lasts() {
    let mut doc = page(json!([
        {"name": "Website", "monitor": "web"},
        {"name": "API", "monitors": ["api-eu", "api-us", "web"]},
        {"name": "Billing", "monitor": "billing"}
    ]));
    doc["maintenance"] = json!([{"title": "Upgrade", "components": ["API"], "starts": 1_000, "ends": 2_000}]);
    let def = build_status_page(&doc).0.expect("built");
    let scheduled: Maintenance =
        serde_json::from_value(json!({"id": "m1", "title": "Whole page", "starts": 5_000, "ends": 6_000})).unwrap();
    let cancelled = Maintenance { cancelled: true, ..scheduled.clone() };
    assert_eq!(
        def.maintenance_silences(std::slice::from_ref(&scheduled), 2_000).len(),
        4,
        "the file's window is over at 2000"
    );
    let silences = def.maintenance_silences(&[scheduled, cancelled], 0);
    let labels = std::collections::BTreeMap::new();
    let muted = |name: &str, at: i64| silences.iter().any(|s| s.mutes(name, &labels, at));
    assert!(muted("api-eu", 1_000) && muted("api-us", 1_999) && muted("web", 1_500));
    assert!(!muted("billing", 1_500), "Billing is not under maintenance");
    assert!(!muted("api-eu", 999) && !muted("api-eu", 2_000), "only while it lasts");
    assert!(muted("billing", 5_000), "a window of the whole page covers every monitor");
    assert_eq!(silences.len(), 3 + 4, "one per window and monitor; the cancelled window none");
}
