//! Rights on objects: what a caller may do with one monitor, workflow, notifier, secret, alert or
//! silence, from its role everywhere and its roles in the team that owns the object
//! ([`vigil_core::team`]). Handlers of the routes [`crate::paths::checks_objects`] lists take an [`Access`] and
//! check each object they read or change; lists show only what the caller may read. Every other
//! route needs its role everywhere ([`crate::auth::may_enter`]), so a route that does not check
//! objects is closed to rights held only in teams.
//!
//! An object the caller may not read answers as if it did not exist (404); one it may read but
//! not change answers 403.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::Value;
use vigil_core::principal::Role;
use vigil_core::team::{ObjectKind, Teams};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

/// The caller of a request and the teams in force. With auth off there is no caller, and every
/// check passes.
pub struct Access {
    caller: Option<Caller>,
    teams: Arc<Teams>,
}

/// The labels a stored silence requires to equal a value: vigil's matchers are all equalities;
/// of Alertmanager's typed ones only `=` counts (`!=` and regexes require no value).
pub fn required_labels(stored: &str) -> BTreeMap<String, String> {
    let Ok(value) = serde_json::from_str::<Value>(stored) else { return BTreeMap::new() };
    if value.is_array() {
        use vigil_core::alertmanager::MatchType;
        let typed = vigil_core::alertmanager::matchers_from_json(&value).unwrap_or_default();
        return typed.into_iter().filter(|m| m.kind == MatchType::Equal).map(|m| (m.name, m.value)).collect();
    }
    serde_json::from_value(value).unwrap_or_default()
}

impl FromRequestParts<AppState> for Access {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        // The same teams the caller's rights were taken from.
        Ok(Self { caller: parts.extensions.get::<Caller>().cloned(), teams: app.auth.teams() })
    }
}

impl Access {
    /// Access for `caller` under `teams` (for the UI, which resolves its viewer itself).
    pub fn new(caller: Option<Caller>, teams: Arc<Teams>) -> Self {
        Self { caller, teams }
    }

    /// The teams in force.
    pub fn teams(&self) -> &Teams {
        &self.teams
    }

    /// The caller, when auth is on.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The principal the caller acts as (`None` when auth is off: not limited).
    pub fn principal(&self) -> Option<vigil_core::principal::Principal> {
        self.caller.as_ref().map(Caller::principal)
    }

    /// Who is acting, as a silence's `createdBy` records it: the account, else the token.
    pub fn author(&self) -> Option<String> {
        self.caller.as_ref().map(|c| c.user.clone().unwrap_or_else(|| format!("token {}", c.id)))
    }

    /// The caller's role on something owned by `owner` (admin when auth is off).
    pub fn role_on(&self, owner: Option<&str>) -> Option<Role> {
        match &self.caller {
            None => Some(Role::Admin),
            Some(c) => c.rights.on(owner),
        }
    }

    /// Whether the caller has `need` on object `name` of `kind`, known by name only.
    pub fn may(&self, kind: ObjectKind, name: &str, need: Role) -> bool {
        self.role_on(self.teams.owner_by_name(kind, name)).is_some_and(|r| r >= need)
    }

    /// The caller's role on object `name` of `kind`, known by name only.
    pub fn role_on_named(&self, kind: ObjectKind, name: &str) -> Option<Role> {
        self.role_on(self.teams.owner_by_name(kind, name))
    }

    /// Whether the caller may read object `name` of `kind`, known by name only.
    pub fn sees(&self, kind: ObjectKind, name: &str) -> bool {
        self.may(kind, name, Role::Read)
    }

    /// Whether the caller may read object `name` of `kind` with `labels`.
    pub fn sees_labelled(&self, kind: ObjectKind, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.role_on(self.teams.owner(kind, name, labels)).is_some()
    }

    /// Refuses unless the caller has `need` on object `name` of `kind`, known by name only.
    pub fn check(&self, kind: ObjectKind, name: &str, need: Role) -> Result<(), ApiError> {
        self.check_labelled(kind, name, &BTreeMap::new(), need)
    }

    /// Refuses unless the caller has `need` on object `name` of `kind` with `labels`: 404 when it
    /// may not even read it, 403 when it may read it only.
    pub fn check_labelled(
        &self,
        kind: ObjectKind,
        name: &str,
        labels: &BTreeMap<String, String>,
        need: Role,
    ) -> Result<(), ApiError> {
        if self.caller.is_none() {
            return Ok(()); // auth is off
        }
        let owner = self.teams.owner(kind, name, labels);
        self.check_owned(owner, need, || format!("{} `{name}`", kind.singular()))
    }

    /// Refuses unless the caller has `need` on something owned by `owner`, named by `what`.
    pub fn check_owned(&self, owner: Option<&str>, need: Role, what: impl Fn() -> String) -> Result<(), ApiError> {
        match self.role_on(owner) {
            Some(role) if role >= need => Ok(()),
            Some(role) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "{} needs the `{}` role{}; yours is `{}`",
                    what(),
                    need.as_str(),
                    owner.map(|t| format!(" in team `{t}`")).unwrap_or_default(),
                    role.as_str()
                ),
            )),
            None => Err(ApiError::not_found(format!("no {} here", what()))),
        }
    }

    /// Whether the caller's role on every object is at least `need` (so no object need be read
    /// to check it). True when auth is off.
    pub fn everywhere(&self, need: Role) -> bool {
        self.caller.as_ref().is_none_or(|c| c.everywhere_at_least(need))
    }

    /// Refuses unless the caller has `need` on instance `id`, whose rights are its workflow's.
    /// An instance that does not exist passes, for the route to answer 404 as it does.
    pub async fn check_instance(&self, app: &AppState, id: &str, need: Role) -> Result<(), ApiError> {
        if self.everywhere(need) {
            return Ok(());
        }
        let filter = vigil_store::InstanceFilter { id: Some(id.to_string()), limit: 1, ..Default::default() };
        let Some(found) = app.engine.instance_rows().list_instances(&filter).await?.pop() else { return Ok(()) };
        self.check_workflow_instance(id, &found.workflow_name, need)
    }

    /// Refuses unless the caller has `need` on instance `id` of workflow `workflow`.
    pub fn check_workflow_instance(&self, id: &str, workflow: &str, need: Role) -> Result<(), ApiError> {
        if self.everywhere(need) {
            return Ok(());
        }
        let owner = self.teams.owner_by_name(ObjectKind::Workflows, workflow);
        match self.role_on(owner) {
            // Answered as an instance that does not exist is.
            None => Err(crate::operations::instances::unknown(id)),
            Some(_) => self.check_owned(owner, need, || format!("instance `{id}`")),
        }
    }

    /// The workflows whose instances the caller may list, when it may not list them all: the
    /// defined workflows of the teams it reads.
    pub fn readable_workflows(&self, app: &AppState) -> Option<Vec<String>> {
        self.workflows_with(app, Role::Read)
    }

    /// The workflows whose instances the caller may purge, when it may not purge them all.
    pub fn writable_workflows(&self, app: &AppState) -> Option<Vec<String>> {
        self.workflows_with(app, Role::Write)
    }

    fn workflows_with(&self, app: &AppState, need: Role) -> Option<Vec<String>> {
        if self.everywhere(need) {
            return None;
        }
        let set = app.engine.workflows();
        let mut names: Vec<String> =
            set.all().filter(|d| self.may(ObjectKind::Workflows, &d.name, need)).map(|d| d.name.clone()).collect();
        names.dedup();
        Some(names)
    }

    /// Refuses `doc` (a definition about to be stored) when it references a secret or an
    /// environment variable the caller may not read: granted to its token, or of a team it edits.
    pub fn check_references(&self, doc: &Value) -> Result<(), ApiError> {
        let Some(caller) = &self.caller else { return Ok(()) };
        let team_of = |name: &str| self.teams.owner_by_name(ObjectKind::Secrets, name).map(str::to_string);
        caller.principal().check_references_owned(doc, &team_of).map_err(|d| ApiError::new(ErrorCode::Forbidden, d.0))
    }

    /// Refuses `doc`, the definition of `name` of `kind`, when it references a secret a team
    /// owns and that team does not own the definition: a team's secret serves its definitions
    /// only (the engine checks it again when the secret is read).
    pub fn check_secret_owners(&self, kind: ObjectKind, name: &str, doc: &Value) -> Result<(), ApiError> {
        for (path, reference) in vigil_core::params::references(doc, "") {
            let Some(secret) = vigil_core::params::secret_name(&reference) else { continue };
            if let Some(why) = self.teams.secret_refused(kind, name, &secret) {
                return Err(ApiError::new(ErrorCode::Forbidden, format!("`{path}`: {why}")));
            }
        }
        Ok(())
    }

    /// The team owning an alert: by its labels, else by its name as a monitor's or workflow's.
    pub fn alert_owner(&self, name: &str, state: &str) -> Option<String> {
        self.owner_of_alert(name, &alert_labels(state)).map(str::to_string)
    }

    /// The team owning an alert named `name` with `labels`: by its labels, else by its name as
    /// a monitor's or workflow's.
    pub fn owner_of_alert(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<&str> {
        self.teams.alert_owner(name, labels)
    }

    /// Whether the caller has `need` on an alert named `name` with `labels`.
    pub fn may_alert(&self, name: &str, labels: &BTreeMap<String, String>, need: Role) -> bool {
        self.everywhere(need) || self.role_on(self.owner_of_alert(name, labels)).is_some_and(|r| r >= need)
    }

    /// The team owning stored silence `s`: vigil's (`{"label": "value"}`) or Alertmanager's (typed
    /// matchers, of which the equalities count).
    pub fn stored_silence_owner(&self, s: &vigil_store::SilenceRow) -> Option<String> {
        self.silence_owner(&required_labels(&s.matchers))
    }

    /// The team owning a silence: the one whose labels its matchers require.
    pub fn silence_owner(&self, matchers: &BTreeMap<String, String>) -> Option<String> {
        self.teams.owner_by_labels(matchers).map(str::to_string)
    }

    /// Refuses a silence with `matchers` unless the caller responds for what it may match: the
    /// team whose labels it requires, or everything. The refusal names the labels that would do.
    pub fn check_silence(&self, matchers: &BTreeMap<String, String>) -> Result<(), ApiError> {
        if self.role_on(self.silence_owner(matchers).as_deref()).is_some_and(|r| r >= Role::Respond) {
            return Ok(());
        }
        let teams = self.caller.iter().flat_map(|c| &c.rights.teams).filter(|(_, r)| **r >= Role::Respond);
        let labels: Vec<String> = teams
            .filter_map(|(t, _)| self.teams.get(t))
            .filter(|t| !t.owns.labels.is_empty())
            .map(|t| t.owns.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
            .collect();
        let hint = match labels.is_empty() {
            true => String::new(),
            false => format!(": a silence of your team requires its labels ({})", labels.join(" or ")),
        };
        let msg = format!("a silence that may match alerts of other teams needs the `respond` role everywhere{hint}");
        Err(ApiError::new(ErrorCode::Forbidden, msg))
    }
}

/// The labels of a stored alert's state (its latest request's).
fn alert_labels(state: &str) -> BTreeMap<String, String> {
    let Ok(value) = serde_json::from_str::<Value>(state) else { return BTreeMap::new() };
    let labels = value.get("request").and_then(|r| r.get("labels")).or_else(|| value.get("labels"));
    labels.and_then(|l| serde_json::from_value(l.clone()).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_owned_by_its_labels_or_its_name() {
        let team = |doc| vigil_core::team::build_team(&doc).0.unwrap();
        let teams = Teams::new(vec![
            team(serde_json::json!({"name": "a", "owns": {"labels": {"team": "a"}}})),
            team(serde_json::json!({"name": "b", "owns": {"monitors": ["b-*"]}})),
        ]);
        let access = Access::new(None, Arc::new(teams));
        let state = r#"{"request": {"labels": {"team": "a"}}}"#;
        assert_eq!(access.alert_owner("x", state).as_deref(), Some("a"));
        assert_eq!(access.alert_owner("b-web", "{}").as_deref(), Some("b"));
        assert_eq!(access.alert_owner("c", "not json").as_deref(), None);
        let typed = r#"[{"name":"team","value":"a","isRegex":false,"isEqual":true},
            {"name":"env","value":"p.*","isRegex":true,"isEqual":true},{"name":"x","value":"y","isRegex":false,"isEqual":false}]"#;
        assert_eq!(required_labels(typed), BTreeMap::from([("team".to_string(), "a".to_string())]));
        assert_eq!(required_labels(r#"{"team":"b"}"#), BTreeMap::from([("team".to_string(), "b".to_string())]));
        assert!(required_labels("not json").is_empty());
    }
}
