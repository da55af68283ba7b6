//! Who an instance acts for. Every instance carries the principal that defined its workflow and
//! the one that started it, and everything it resolves at run time (a secret, an environment
//! variable, a definition that arrives as data, a secret update, an ad-hoc database URL) is
//! checked against them when it is resolved, not only when a definition is stored.
//!
//! The rule, in one place (docs/reliability.md#security):
//! - text written in a stored definition acts with its definer's authority (checked again at
//!   run time, so a definition can never do more than its author could when it runs);
//! - text that arrives as data and becomes a definition (FORK_JOIN_DYNAMIC's tasks and their
//!   inputs, a SUB_WORKFLOW's `workflowDefinition`, Conductor's inline `workflowDef`, a secret
//!   name computed from input) acts with the authority both principals share
//!   ([`Principal::meet`]): a trusted workflow cannot be made to leak or overwrite a secret by
//!   whoever starts it.
//!
//! The config directory, the engine itself and a server without auth are [`Principal::System`].

use serde::{Deserialize, Serialize};

/// What an API token or a user may do. Ordered: `Read < Respond < Write < Admin`; the names a
/// team's roles go by (viewer, responder, editor, admin) parse as the same roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read anything (a viewer).
    Read,
    /// Also acknowledge and silence alerts and run a check now (a responder).
    Respond,
    /// Also start, signal, control and purge instances, and change definitions (an editor).
    Write,
    /// Also manage tokens, secrets and connections.
    Admin,
}

impl Role {
    /// Parses `read`, `respond`, `write` or `admin`, or a team role's name (`viewer`,
    /// `responder`, `editor`).
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "read" | "viewer" => Some(Role::Read),
            "respond" | "responder" => Some(Role::Respond),
            "write" | "editor" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Respond => "respond",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// Who defined or started an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Principal {
    /// The config directory, vigil itself, or a server without auth: not limited.
    #[default]
    System,
    /// An API token (or a user's UI session), with the role and grants it had when it acted.
    #[serde(rename_all = "camelCase")]
    Token {
        /// The token's id (`vgl_<id>_...`); a UI session of a user without a token is `user:NAME`.
        id: String,
        /// The user or service account it belongs to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// Its role.
        role: Role,
        /// Secret names, and `env:NAME`, it may reference.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        grants: Vec<String>,
        /// Teams whose secrets it may reference besides: those it was an editor or admin of.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        teams: Vec<String>,
        /// When set, the only teams whose workflows it may start, sub-workflows included: its
        /// `write` role was held in those teams, not everywhere. `None`: any workflow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        starts: Option<Vec<String>>,
    },
}

/// Where an instance's calls and checks may reach, decided by the authority of the text that gave
/// their address, and checked by the runtime once the address is resolved (docs/reliability.md,
/// "Where calls and checks may go").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// Anywhere: the config directory and admins.
    #[default]
    Anywhere,
    /// Never vigil's own listen addresses, and no bytes of its own (a TCP, UDP or WebSocket
    /// `body`) to this host's addresses unless the operator allowed the target
    /// (`vigil serve --probe-allow`).
    Guarded,
}

/// Why a principal may not do something, as a sentence for a task's failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Principal {
    /// Whether this is [`Principal::System`].
    pub fn is_system(&self) -> bool {
        matches!(self, Principal::System)
    }

    /// Whether this principal has every power: the system or an admin token.
    pub fn is_trusted(&self) -> bool {
        match self {
            Principal::System => true,
            Principal::Token { role, .. } => *role >= Role::Admin,
        }
    }

    /// Where calls and checks whose address this principal wrote may reach.
    pub fn reach(&self) -> Reach {
        if self.is_trusted() { Reach::Anywhere } else { Reach::Guarded }
    }

    /// Whether it may use `grant`: a secret's name, or `env:NAME` for an environment variable.
    pub fn allows(&self, grant: &str) -> bool {
        match self {
            Principal::Token { grants, .. } if !self.is_trusted() => grants.iter().any(|g| g == grant),
            _ => true,
        }
    }

    /// Refuses reading secret `name` unless granted.
    pub fn may_read_secret(&self, name: &str) -> Result<(), Denied> {
        self.may_read_secret_of(name, None)
    }

    /// Refuses reading secret `name`, owned by team `team`, unless granted or one of its teams'.
    pub fn may_read_secret_of(&self, name: &str, team: Option<&str>) -> Result<(), Denied> {
        let of_its_team = match (self, team) {
            (Principal::Token { teams, .. }, Some(team)) => teams.iter().any(|t| t == team),
            _ => false,
        };
        if of_its_team || self.allows(name) {
            return Ok(());
        }
        Err(Denied(format!(
            "secret `{name}` is not granted to {}; an admin grants it with `vigil token create --grant {name}`",
            self.describe()
        )))
    }

    /// Refuses reading environment variable `name` unless granted (`env:NAME`).
    pub fn may_read_env(&self, name: &str) -> Result<(), Denied> {
        if self.allows(&format!("env:{name}")) {
            return Ok(());
        }
        Err(Denied(format!(
            "environment variable `{name}` is not granted to {}; an admin grants it with `vigil token create \
             --grant env:{name}`",
            self.describe()
        )))
    }

    /// Refuses writing secret `name` (UPDATE_SECRET) unless trusted: writing a secret is an
    /// admin's power, as the secrets API is.
    pub fn may_write_secret(&self, name: &str) -> Result<(), Denied> {
        if self.is_trusted() {
            return Ok(());
        }
        Err(Denied(format!(
            "UPDATE_SECRET of `{name}` needs an admin: {} may not write secrets (the config directory and admin \
             tokens may)",
            self.describe()
        )))
    }

    /// Refuses a database URL typed into a definition unless trusted; others name a connection
    /// an admin declared.
    pub fn may_use_ad_hoc_url(&self) -> Result<(), Denied> {
        if self.is_trusted() {
            return Ok(());
        }
        Err(Denied(format!(
            "{} may not connect to a database by URL; name a connection (`connection: NAME`) that an admin or \
             the config directory declared",
            self.describe()
        )))
    }

    /// Refuses starting workflow `name`, owned by team `owner` (`None`: shared), unless this
    /// principal may start that team's workflows: a role held in teams only starts their
    /// workflows, whatever name a definition or its input gives.
    pub fn may_start(&self, name: &str, owner: Option<&str>) -> Result<(), Denied> {
        let Principal::Token { starts: Some(teams), .. } = self else { return Ok(()) };
        if owner.is_some_and(|o| teams.iter().any(|t| t == o)) {
            return Ok(());
        }
        let whose = owner.map_or("a shared workflow".to_string(), |o| format!("a workflow of team `{o}`"));
        Err(Denied(format!(
            "workflow `{name}` is {whose}; {} may start workflows of its teams only ({})",
            self.describe(),
            if teams.is_empty() { "none".to_string() } else { teams.join(", ") }
        )))
    }

    /// Refuses `doc` (a definition about to run, or stored) when it references a secret or an
    /// environment variable this principal may not read. The error names the field.
    pub fn check_references(&self, doc: &serde_json::Value) -> Result<(), Denied> {
        self.check_references_owned(doc, &|_| None)
    }

    /// [`Principal::check_references`], where `team_of` tells the team owning a secret.
    pub fn check_references_owned(
        &self,
        doc: &serde_json::Value,
        team_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Denied> {
        if self.is_trusted() {
            return Ok(());
        }
        for (path, reference) in crate::params::references(doc, "") {
            let secret = crate::params::secret_name(&reference);
            let checked = match (secret, reference.split_once('.')) {
                (Some(name), _) => self.may_read_secret_of(&name, team_of(&name).as_deref()),
                (None, Some(("workflow", _))) => Ok(()),
                (None, Some(("env", name))) => self.may_read_env(name),
                _ if crate::params::SYSTEM_PARAMETERS[1..].contains(&reference.as_str()) => {
                    self.may_read_env(&reference)
                }
                _ => Ok(()),
            };
            if let Err(Denied(why)) = checked {
                let at = if path.is_empty() { String::new() } else { format!("`{path}`: ") };
                return Err(Denied(format!("{at}`${{{reference}}}`: {why}")));
            }
        }
        Ok(())
    }

    /// The authority two principals share: what data handed from `other` to `self` may do.
    pub fn meet(&self, other: &Principal) -> Principal {
        match (self, other) {
            (Principal::System, b) => b.clone(),
            (a, Principal::System) => a.clone(),
            (
                Principal::Token { id, user, role: r1, grants: g1, teams: t1, starts: s1 },
                Principal::Token { role: r2, grants: g2, teams: t2, starts: s2, .. },
            ) => {
                let starts = match (s1, s2) {
                    (None, s) | (s, None) => s.clone(),
                    (Some(a), Some(b)) => Some(a.iter().filter(|t| b.contains(t)).cloned().collect()),
                };
                let role = (*r1).min(*r2);
                let teams = match (r1, r2) {
                    (Role::Admin, _) => t2.clone(),
                    (_, Role::Admin) => t1.clone(),
                    _ => t1.iter().filter(|t| t2.contains(t)).cloned().collect(),
                };
                let grants = match (r1, r2) {
                    (Role::Admin, _) => g2.clone(),
                    (_, Role::Admin) => g1.clone(),
                    _ => g1.iter().filter(|g| g2.contains(g)).cloned().collect(),
                };
                Principal::Token { id: id.clone(), user: user.clone(), role, grants, teams, starts }
            }
        }
    }

    /// For messages: `the config directory`, `write token 1a2b3c`.
    pub fn describe(&self) -> String {
        match self {
            Principal::System => "the config directory".into(),
            Principal::Token { id, user: Some(user), role, .. } => format!("{} token {id} of {user}", role.as_str()),
            Principal::Token { id, role, .. } => format!("{} token {id}", role.as_str()),
        }
    }

    /// The principal of a definition stored through the API before principals were recorded:
    /// a `write` token granted exactly what its definition references (which is what was checked
    /// when it was stored).
    pub fn legacy(doc: &serde_json::Value) -> Principal {
        let mut grants: Vec<String> = crate::params::references(doc, "")
            .into_iter()
            .filter_map(|(_, r)| match r.split_once('.') {
                Some(("env", name)) => Some(format!("env:{name}")),
                _ => crate::params::secret_name(&r),
            })
            .collect();
        grants.sort();
        grants.dedup();
        Principal::Token {
            id: "unknown".into(),
            user: None,
            role: Role::Write,
            grants,
            teams: Vec::new(),
            starts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn token(role: Role, grants: &[&str]) -> Principal {
        let grants = grants.iter().map(|g| g.to_string()).collect();
        Principal::Token { id: "t1".into(), user: None, role, grants, teams: Vec::new(), starts: None }
    }

    #[test]
    fn a_write_token_reads_only_what_it_was_granted() {
        let p = token(Role::Write, &["pd_key", "env:REGION"]);
        let doc = |s: &str| json!({"tasks": [{"inputParameters": {"k": s}}]});
        assert!(p.check_references(&doc("${workflow.secrets.pd_key}")).is_ok());
        assert!(p.check_references(&doc("https://x/${env.REGION}")).is_ok());
        assert!(p.check_references(&doc("${workflow.input.x}")).is_ok());
        let err = p.check_references(&doc("${workflow.secrets.db_password}")).unwrap_err().0;
        assert!(err.contains("tasks[0].inputParameters.k") && err.contains("--grant db_password"), "{err}");
        assert!(p.check_references(&doc("${env.AWS_SECRET_ACCESS_KEY}")).is_err());
        let bracketed = p.check_references(&doc("${workflow.secrets['db_password']}")).unwrap_err().0;
        assert!(bracketed.contains("--grant db_password"), "read as resolution reads it: {bracketed}");
        assert!(p.check_references(&doc("${workflow.secrets.pd_key.field}")).is_ok());
        assert!(p.check_references(&doc("${NETFLIX_ENV}")).is_err());
        assert!(token(Role::Admin, &[]).check_references(&doc("${workflow.secrets.db_password}")).is_ok());
        assert!(Principal::System.check_references(&doc("${workflow.secrets.db_password}")).is_ok());
    }

    #[test]
    fn only_trusted_principals_reach_anywhere() {
        assert_eq!(token(Role::Write, &[]).reach(), Reach::Guarded);
        assert_eq!(token(Role::Admin, &[]).reach(), Reach::Anywhere);
        assert_eq!(Principal::System.reach(), Reach::Anywhere);
    }

    #[test]
    fn writing_secrets_and_ad_hoc_urls_need_a_trusted_principal() {
        assert!(token(Role::Write, &["adminsec"]).may_write_secret("adminsec").is_err());
        assert!(token(Role::Admin, &[]).may_write_secret("adminsec").is_ok());
        assert!(Principal::System.may_write_secret("x").is_ok());
        assert!(token(Role::Write, &[]).may_use_ad_hoc_url().unwrap_err().0.contains("connection"));
        assert!(Principal::System.may_use_ad_hoc_url().is_ok());
    }

    #[test]
    fn the_meet_of_two_principals_is_what_both_may_do() {
        let system = Principal::System;
        let write = token(Role::Write, &["a", "b"]);
        assert_eq!(system.meet(&write), write);
        assert_eq!(write.meet(&system), write);
        let other = token(Role::Write, &["b", "c"]);
        assert_eq!(write.meet(&other), token(Role::Write, &["b"]));
        assert_eq!(token(Role::Admin, &[]).meet(&write), write);
        assert_eq!(write.meet(&token(Role::Admin, &[])), write);
        assert!(token(Role::Admin, &[]).meet(&token(Role::Admin, &[])).is_trusted());
    }

    #[test]
    fn a_legacy_definition_keeps_what_it_referenced_and_nothing_more() {
        let p = Principal::legacy(&json!({"h": "${workflow.secrets.pd} ${env.R}"}));
        assert!(p.allows("pd") && p.allows("env:R") && !p.allows("other") && !p.is_trusted());
    }

    #[test]
    fn system_is_the_default_and_stored_tokens_read_back() {
        assert!(Principal::default().is_system());
        let p = token(Role::Write, &["a"]);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"kind":"token","id":"t1","role":"write","grants":["a"]}"#);
        assert_eq!(serde_json::from_str::<Principal>(&text).unwrap(), p);
        let of_user = Principal::Token {
            id: "t2".into(),
            user: Some("ana".into()),
            role: Role::Respond,
            grants: vec![],
            teams: vec![],
            starts: None,
        };
        let text = serde_json::to_string(&of_user).unwrap();
        assert_eq!(text, r#"{"kind":"token","id":"t2","user":"ana","role":"respond"}"#);
        assert_eq!(serde_json::from_str::<Principal>(&text).unwrap(), of_user);
        assert_eq!(of_user.describe(), "respond token t2 of ana");
    }

    #[test]
    fn a_team_member_reads_its_teams_secrets_without_a_grant() {
        let mut p = token(Role::Write, &[]);
        if let Principal::Token { teams, .. } = &mut p {
            teams.push("payments".into());
        }
        assert!(p.may_read_secret_of("pd", Some("payments")).is_ok());
        assert!(p.may_read_secret_of("pd", Some("search")).is_err());
        assert!(p.may_read_secret_of("pd", None).is_err());
        let doc = json!({"h": "${workflow.secrets.pd}"});
        assert!(p.check_references_owned(&doc, &|n| (n == "pd").then(|| "payments".into())).is_ok());
        assert!(p.check_references(&doc).is_err());
        let other = token(Role::Write, &[]);
        assert_eq!(p.meet(&other), other, "data from outside the team does not carry the team");
    }

    #[test]
    fn a_role_held_in_teams_starts_only_their_workflows() {
        let member = |teams: &[&str]| {
            let mut p = token(Role::Write, &[]);
            if let Principal::Token { starts, .. } = &mut p {
                *starts = Some(teams.iter().map(|t| t.to_string()).collect());
            }
            p
        };
        let pay = member(&["pay"]);
        assert!(pay.may_start("pay-job", Some("pay")).is_ok());
        let other = pay.may_start("search-job", Some("search")).unwrap_err().0;
        assert!(other.contains("team `search`") && other.contains("(pay)"), "{other}");
        assert!(pay.may_start("shared", None).unwrap_err().0.contains("a shared workflow"));
        assert!(token(Role::Write, &[]).may_start("shared", None).is_ok(), "a role everywhere starts any");
        assert!(Principal::System.may_start("search-job", Some("search")).is_ok());
        // Data handed between two principals starts what both may.
        assert_eq!(pay.meet(&Principal::System), pay);
        assert!(token(Role::Write, &[]).meet(&pay).may_start("search-job", Some("search")).is_err());
        assert!(pay.meet(&member(&["search"])).may_start("pay-job", Some("pay")).is_err());
        assert!(pay.meet(&token(Role::Admin, &[])).may_start("pay-job", Some("pay")).is_ok());
        let text = serde_json::to_string(&pay).unwrap();
        assert!(text.contains(r#""starts":["pay"]"#), "{text}");
        assert_eq!(serde_json::from_str::<Principal>(&text).unwrap(), pay);
    }

    #[test]
    fn team_role_names_parse_as_roles_in_order() {
        let names = ["viewer", "responder", "editor", "admin"];
        let roles: Vec<Role> = names.iter().map(|n| Role::parse(n).unwrap()).collect();
        assert_eq!(roles, [Role::Read, Role::Respond, Role::Write, Role::Admin]);
        assert!(roles.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Role::parse(Role::Respond.as_str()), Some(Role::Respond));
        assert_eq!(Role::parse("owner"), None);
    }
}
