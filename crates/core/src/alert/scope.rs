//! Which notifiers, alerts and alert keys an ALERT task may use: a definition's team decides,
//! checked when the task runs (its names and labels may come from input), as secrets are.
//!
//! - A workflow a team owns pages that team's notifiers and shared ones (no team owns them), and
//!   raises alerts that are that team's or no team's (by labels, else by name: [`Teams::alert_owner`]).
//! - A shared workflow (no team owns it) written with a trusted authority (the config directory,
//!   an admin) may page and raise anything; written by anyone else, only what no team owns.
//! - A key that names another team's alert may be changed only by an observation of that team
//!   ([`may_change`]), so a team cannot resolve or take over another team's alert by writing its
//!   `dedupKey`. Alerts no team owns are shared, as notifiers no team owns are.

use super::AlertRequest;
use crate::team::{ObjectKind, Teams};

/// Refuses `request`, raised by workflow `workflow` with a `trusted` authority, when it names a
/// notifier or is an alert of a team it may not use; otherwise sets the teams whose alerts its
/// key may change ([`AlertRequest::within`]).
pub fn check(teams: &Teams, workflow: &str, trusted: bool, request: &mut AlertRequest) -> Result<(), String> {
    let own = teams.owner_by_name(ObjectKind::Workflows, workflow);
    let unbounded = own.is_none() && trusted;
    let may = |team: &str| unbounded || own == Some(team);
    let whose = || match own {
        Some(team) => format!("workflow `{workflow}` is team `{team}`'s and uses its own team's and shared ones only"),
        None => {
            format!("workflow `{workflow}` is shared and, written without an admin's authority, uses shared ones only")
        }
    };
    for name in &request.notifiers {
        if let Some(team) = teams.owner_by_name(ObjectKind::Notifiers, name).filter(|t| !may(t)) {
            return Err(format!("notifier `{name}` belongs to team `{team}`; {}", whose()));
        }
    }
    if let Some(team) = teams.alert_owner(&request.name, &request.labels).filter(|t| !may(t)) {
        return Err(format!(
            "alert `{}` with these labels would be team `{team}`'s (teams/: owns.labels or its name); {}",
            request.name,
            whose()
        ));
    }
    request.within = (!unbounded).then(|| own.map(str::to_string).into_iter().collect());
    Ok(())
}

/// Refuses a step of escalation notifier `escalation`, written with a `trusted` authority (an
/// admin) or not, that pages a notifier of a team it may not page: as an ALERT task, a team's
/// escalation steps through its own team's notifiers and shared ones, a shared one written
/// without an admin's authority through shared ones only. `steps` are each step's notifiers;
/// the error names the step and the notifier (`steps[1].notify[0]`).
pub fn check_steps(
    teams: &Teams,
    escalation: &str,
    trusted: bool,
    steps: &[Vec<String>],
) -> Result<(), (String, String)> {
    let own = teams.owner_by_name(ObjectKind::Notifiers, escalation);
    let unbounded = own.is_none() && trusted;
    for (i, names) in steps.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            let Some(team) = teams.owner_by_name(ObjectKind::Notifiers, name) else { continue };
            if unbounded || own == Some(team) {
                continue;
            }
            let whose = match own {
                Some(own) => format!(
                    "escalation `{escalation}` is team `{own}`'s and pages its own team's and shared notifiers only"
                ),
                None => format!(
                    "escalation `{escalation}` is shared and, written without an admin's authority, pages shared notifiers only"
                ),
            };
            return Err((
                format!("steps[{i}].notify[{j}]"),
                format!("notifier `{name}` belongs to team `{team}`; {whose}"),
            ));
        }
    }
    Ok(())
}

/// Whether `request` may change the alert `existing` its key names: one of the same source, of
/// no team, or of a team among those it may change (any, when it is unbounded). Why not, when not.
pub fn may_change(teams: &Teams, existing: &AlertRequest, request: &AlertRequest) -> Result<(), String> {
    let Some(within) = &request.within else { return Ok(()) };
    if existing.source == request.source {
        return Ok(());
    }
    let owner = teams.alert_owner(&existing.name, &existing.labels).or_else(|| teams.source_owner(&existing.source));
    match owner {
        Some(team) if !within.iter().any(|t| t == team) => Err(format!(
            "alert key `{}` names an alert of team `{team}` raised by `{}`; this workflow may not change it",
            request.dedup_key, existing.source
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::team::build_team;

    fn teams() -> Teams {
        let team = |v: serde_json::Value| build_team(&v).0.unwrap();
        Teams::new(vec![
            team(
                json!({"name": "alpha", "owns": {"workflows": ["a-*"], "notifiers": ["a-*"], "labels": {"team": "alpha"}}}),
            ),
            team(
                json!({"name": "beta", "owns": {"workflows": ["b-*"], "notifiers": ["b-*"], "monitors": ["b-*"], "labels": {"team": "beta"}}}),
            ),
        ])
    }

    fn request(workflow: &str, input: serde_json::Value) -> AlertRequest {
        AlertRequest::from_input(input.as_object().unwrap(), "page", workflow, "x".into()).unwrap()
    }

    #[test]
    fn a_team_workflow_pages_its_own_and_shared_notifiers_only() {
        let teams = teams();
        let mut own = request("a-evil", json!({"status": "firing", "notifiers": ["a-hook", "ops"]}));
        assert!(check(&teams, "a-evil", true, &mut own).is_ok());
        assert_eq!(own.within, Some(vec!["alpha".to_string()]));
        let mut other = request("a-evil", json!({"status": "firing", "notifiers": ["b-hook"]}));
        let why = check(&teams, "a-evil", true, &mut other).unwrap_err();
        assert!(why.contains("`b-hook` belongs to team `beta`"), "{why}");
        let mut labelled =
            request("a-evil", json!({"status": "firing", "notifiers": ["a-hook"], "labels": {"team": "beta"}}));
        assert!(check(&teams, "a-evil", true, &mut labelled).unwrap_err().contains("team `beta`'s"));
        let mut named = request("a-evil", json!({"status": "firing", "notifiers": ["a-hook"], "name": "b-db"}));
        assert!(check(&teams, "a-evil", true, &mut named).is_err(), "named as beta's monitor");
    }

    #[test]
    fn a_shared_workflow_is_bounded_unless_trusted() {
        let teams = teams();
        let mut r = request("shared", json!({"status": "firing", "notifiers": ["b-hook"]}));
        assert!(check(&teams, "shared", true, &mut r).is_ok());
        assert_eq!(r.within, None);
        let mut r = request("shared", json!({"status": "firing", "notifiers": ["b-hook"]}));
        assert!(check(&teams, "shared", false, &mut r).is_err());
        let mut r = request("shared", json!({"status": "firing", "notifiers": ["ops"]}));
        assert!(check(&teams, "shared", false, &mut r).is_ok());
        assert_eq!(r.within, Some(Vec::new()));
    }

    #[test]
    fn a_key_of_another_teams_alert_is_not_changed() {
        let teams = teams();
        let beta = request("b-etl", json!({"status": "firing", "notifiers": ["b-hook"], "dedupKey": "k"}));
        let mut monitor = beta.clone();
        monitor.source = "monitor/b-db".into();
        let mut shared = beta.clone();
        shared.source = "monitor/db".into();
        let mut alpha = request("a-evil", json!({"status": "resolved", "notifiers": ["a-hook"], "dedupKey": "k"}));
        check(&teams, "a-evil", true, &mut alpha).unwrap();
        assert!(may_change(&teams, &beta, &alpha).unwrap_err().contains("team `beta`"));
        assert!(may_change(&teams, &monitor, &alpha).is_err(), "beta's monitor's alert");
        assert!(may_change(&teams, &shared, &alpha).is_ok(), "a shared monitor's alert");
        let mut again = alpha.clone();
        again.failing = true;
        assert!(may_change(&teams, &alpha, &again).is_ok(), "its own alert");
        assert!(may_change(&teams, &beta, &beta).is_ok(), "unbounded");
    }
}
