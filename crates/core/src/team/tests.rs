use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn team(doc: serde_json::Value) -> TeamDef {
    let (team, problems) = build_team(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    team.unwrap()
}

#[test]
fn patterns_match_with_stars_anywhere() {
    assert!(glob("payments-*", "payments-api"));
    assert!(glob("payments-*", "payments-"));
    assert!(!glob("payments-*", "payment-api"));
    assert!(glob("*-db", "orders-db") && !glob("*-db", "orders-dbx"));
    assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxcyyb"));
    assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    assert!(!glob("a*a", "a"));
}

#[test]
fn the_first_team_claiming_an_object_owns_it_by_name_or_labels() {
    let teams = Teams::new(vec![
        team(json!({"name": "payments", "owns": {"monitors": ["pay-*"], "labels": {"team": "payments"}}})),
        team(json!({"name": "search", "owns": {"monitors": ["search-*"], "secrets": ["es_*"]}})),
    ]);
    let none = BTreeMap::new();
    assert_eq!(teams.owner(ObjectKind::Monitors, "pay-api", &none), Some("payments"));
    assert_eq!(teams.owner(ObjectKind::Monitors, "web", &labels(&[("team", "payments")])), Some("payments"));
    assert_eq!(teams.owner(ObjectKind::Workflows, "pay-api", &none), None, "names are per kind");
    assert_eq!(teams.owner(ObjectKind::Secrets, "es_password", &none), Some("search"));
    assert_eq!(teams.owner_by_labels(&labels(&[("team", "payments"), ("severity", "page")])), Some("payments"));
    assert_eq!(teams.owner_by_labels(&labels(&[("team", "search")])), None, "search owns by no label");
}

#[test]
fn members_and_groups_give_the_best_of_their_roles() {
    let teams = Teams::new(vec![
        team(json!({"name": "a", "members": {"ana": "viewer"}, "groups": {"oncall": "responder"}})),
        team(json!({"name": "b", "members": {"ana": "editor"}})),
        team(json!({"name": "c", "groups": {"cn=ops,dc=corp": "admin"}})),
    ]);
    let got = teams.memberships("ana", &["oncall".into()]);
    assert_eq!(got, BTreeMap::from([("a".into(), Role::Respond), ("b".into(), Role::Write)]));
    assert_eq!(teams.memberships("bob", &[]), BTreeMap::new());
    assert_eq!(teams.memberships("bob", &["cn=ops,dc=corp".into()]).get("c"), Some(&Role::Admin));
}

#[test]
fn rights_on_an_object_are_the_role_everywhere_or_in_its_team_and_a_token_caps_them() {
    let rights = Rights { everywhere: None, teams: BTreeMap::from([("a".into(), Role::Admin)]) };
    assert_eq!(rights.on(Some("a")), Some(Role::Admin));
    assert_eq!(rights.on(Some("b")), None);
    assert_eq!(rights.on(None), None, "shared objects need a role outside teams");
    let capped = rights.clone().capped(Role::Read);
    assert_eq!(capped.on(Some("a")), Some(Role::Read));
    let viewer = Rights { everywhere: Some(Role::Read), ..rights };
    assert_eq!(viewer.on(Some("b")), Some(Role::Read));
    assert_eq!(viewer.on(Some("a")), Some(Role::Admin));
    assert_eq!(viewer.best(), Some(Role::Admin));
}

#[test]
fn bad_teams_are_refused_field_by_field() {
    let (team, problems) = build_team(&json!({
        "name": "Payments Team",
        "members": {"ana": "owner"},
        "owns": {"monitors": ["*"], "labels": {"team": ""}}
    }));
    assert!(team.is_none());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["name", "members.ana", "owns.monitors[0]", "owns.labels.team"], "{problems:?}");
    let (_, problems) = build_team(&json!({"name": "a", "owns": {"dashboards": ["x"]}}));
    assert!(problems[0].message.contains("dashboards"), "{problems:?}");
    let (_, problems) = build_team(&json!({"name": "a", "members": {"ana": "editr"}}));
    assert_eq!(problems[0].hint.as_deref(), Some("did you mean `editor`?"));
}

#[test]
fn a_teams_secret_serves_only_its_teams_definitions() {
    let teams = Teams::new(vec![team(
        json!({"name": "pay", "owns": {"workflows": ["pay-*"], "secrets": ["pay_*"], "statusPages": ["pay"]}}),
    )]);
    assert_eq!(teams.secret_refused(ObjectKind::Workflows, "pay-sync", "pay_key"), None);
    let why = teams.secret_refused(ObjectKind::Notifiers, "pager", "pay_key").unwrap();
    assert!(why.contains("team `pay`") && why.contains("notifier `pager`") && why.contains("owns.notifiers"), "{why}");
    assert_eq!(teams.secret_refused(ObjectKind::Workflows, "other", "shared"), None, "no team owns it");
    assert_eq!(teams.owner_by_name(ObjectKind::StatusPages, "pay"), Some("pay"), "keys read as files write them");
}

#[test]
fn a_team_owns_what_is_in_its_folder_of_the_config_directory() {
    let dir = std::env::temp_dir().join(format!("vigil-team-folders-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let beat = |name: &str| format!("- name: {name}\n  every: 1m\n  heartbeat:\n    grace: 1m\n");
    write("monitors/payments/api.yaml", &beat("api"));
    write("monitors/shared.yaml", &beat("dns"));
    write("monitors/.git/x.yaml", &beat("hidden"));
    write("workflows/payments/refund.yaml", "name: refund\ntasks:\n  - {name: w, taskReferenceName: w, type: WAIT}\n");
    write("teams/pay.yaml", "name: pay\nowns:\n  folders: [payments]\n");
    let (config, diags) = crate::config::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!crate::config::has_errors(&diags), "{diags:?}");
    let mut names: Vec<&str> = config.monitors.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["api", "dns"], "a folder's files are read, a hidden folder's are not");
    assert_eq!(config.folders.of(ObjectKind::Monitors, "api"), Some("payments"));
    assert_eq!(config.folders.of(ObjectKind::Workflows, "refund"), Some("payments"));
    assert_eq!(config.folders.of(ObjectKind::Monitors, "dns"), None);
    let teams = Teams::new(config.teams).with_folders(config.folders);
    assert_eq!(teams.owner_by_name(ObjectKind::Monitors, "api"), Some("pay"));
    assert_eq!(teams.owner_by_name(ObjectKind::Workflows, "refund"), Some("pay"));
    assert_eq!(teams.owner_by_name(ObjectKind::Monitors, "dns"), None);
    assert_eq!(teams.owner_by_name(ObjectKind::Schedules, "api"), None, "by kind and name");
    let (_, problems) = build_team(&json!({"name": "x", "owns": {"folders": ["../etc", ""]}}));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["owns.folders[0]", "owns.folders[1]"], "{problems:?}");
}
