//! Reads a team's document, reporting every problem with its field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Ownership, TeamDef};
use crate::def::typed::typed;
use crate::diagnostic::Problem;
use crate::principal::Role;

/// A team's document as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    members: BTreeMap<String, String>,
    #[serde(default)]
    groups: BTreeMap<String, String>,
    #[serde(default)]
    owns: Ownership,
}

/// The longest team name.
const MAX_NAME: usize = 64;

/// Whether `name` may name a team: 1 to 64 lowercase letters, digits, `-` and `_`.
pub fn is_team_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks `doc`; the team when it has no error, and every problem found.
pub fn build_team(doc: &Value) -> (Option<TeamDef>, Vec<Problem>) {
    let mut problems = Vec::new();
    if !doc.is_object() {
        return (None, vec![Problem::error("", "a team must be an object (name, members, owns)")]);
    }
    let Some(written) = typed::<Written>(doc, "", &mut problems) else { return (None, problems) };
    if !is_team_name(&written.name) {
        let msg =
            format!("`{}` is not a team name: 1 to {MAX_NAME} lowercase letters, digits, `-` and `_`", written.name);
        problems.push(Problem::error("name", msg));
    }
    let members = roles(&written.members, "members", &mut problems);
    let groups = roles(&written.groups, "groups", &mut problems);
    let mut owns = written.owns;
    owns.names.retain(|_, patterns| !patterns.is_empty());
    for (kind, patterns) in &owns.names {
        for (i, p) in patterns.iter().enumerate() {
            if p.trim().is_empty() || p.trim() == "*" {
                let msg = "a name or a pattern such as `payments-*` (`*` alone would claim every one: leave the \
                           object unowned, or give the role outside teams)";
                problems.push(Problem::error(format!("owns.{}[{i}]", kind.key()), msg));
            }
        }
    }
    for (i, folder) in owns.folders.iter().enumerate() {
        if folder.is_empty() || folder.starts_with('.') || folder.contains(['/', '\\']) {
            let msg = format!(
                "`{folder}` is not a folder name: the name of one folder directly inside a kind's folder \
                 (`payments` for `monitors/payments/api.yaml`)"
            );
            problems.push(Problem::error(format!("owns.folders[{i}]"), msg));
        }
    }
    for (key, value) in &owns.labels {
        if key.is_empty() || value.is_empty() {
            problems.push(Problem::error(format!("owns.labels.{key}"), "a label and its value may not be empty"));
        }
    }
    if problems.iter().any(|p| p.severity == crate::diagnostic::Severity::Error) {
        return (None, problems);
    }
    let team = TeamDef { name: written.name, description: written.description, members, groups, owns };
    (Some(team), problems)
}

/// Roles by name, each one of viewer, responder, editor or admin; a problem at `FIELD.NAME` for
/// each that is not.
pub(crate) fn roles(
    written: &BTreeMap<String, String>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, Role> {
    let mut out = BTreeMap::new();
    for (who, role) in written {
        match Role::parse(role) {
            Some(r) => {
                out.insert(who.clone(), r);
            }
            None => {
                let hint = crate::diagnostic::did_you_mean(role, ["viewer", "responder", "editor", "admin"]);
                let msg = format!("`{role}` is not a role: viewer, responder, editor or admin");
                problems.push(Problem::error(format!("{field}.{who}"), msg).with_hint(hint));
            }
        }
    }
    out
}
