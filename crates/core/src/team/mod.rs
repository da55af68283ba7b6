//! Teams: who owns which monitors, workflows, schedules, notifiers, secrets and status pages, and
//! what each member may do with them. Declared in the config directory's `teams/` (published to
//! every node of a cluster like any definition file) and read by the server, which checks every
//! request against the object it acts on ([`Teams::owner`], [`Teams::memberships`]).
//!
//! An object belongs to the first team (in file order) that claims it, by its labels (`owns.labels`:
//! every one must match) or by its name (`owns.monitors: ["payments-*"]`, one list per kind).
//! An alert belongs to the team its labels name, and a silence to the team whose labels its
//! matchers require. An object no team claims is shared: only roles given outside teams reach it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::principal::Role;

mod build;

pub(crate) use build::roles;
pub use build::{build_team, is_team_name};

/// The kinds of object a team owns by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// A monitor (heartbeats included).
    Monitors,
    /// A workflow definition, and its instances.
    Workflows,
    /// A schedule.
    Schedules,
    /// A notifier.
    Notifiers,
    /// A secret.
    Secrets,
    /// A status page.
    StatusPages,
}

impl ObjectKind {
    /// The key under `owns` (`statusPages`), as the file writes it.
    pub fn key(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// One object of the kind, for messages (`monitor`).
    pub fn singular(self) -> String {
        if self == ObjectKind::StatusPages {
            return "status page".into();
        }
        let key = self.key();
        key.strip_suffix('s').unwrap_or(&key).to_string()
    }
}

/// A team as declared in `teams/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamDef {
    /// Its name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// What it is, for the UI.
    pub description: Option<String>,
    /// Accounts in the team, with their role in it.
    pub members: BTreeMap<String, Role>,
    /// Groups of an identity provider (an OIDC group claim's values, an LDAP group's name or DN)
    /// whose members are in the team, with their role in it.
    pub groups: BTreeMap<String, Role>,
    /// What it owns.
    pub owns: Ownership,
}

/// What a team owns, as `owns` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Ownership {
    /// Objects carrying every one of these labels (monitors, alerts, silences requiring them).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Folders of the config directory: every workflow, schedule, monitor, notifier and status
    /// page whose file is in one (`monitors/payments/api.yaml` is in `payments`).
    #[serde(default)]
    pub folders: Vec<String>,
    /// Objects by name, per kind (`monitors: [...]`): a name, or a pattern where `*` stands for
    /// any text.
    #[serde(flatten)]
    pub names: BTreeMap<ObjectKind, Vec<String>>,
}

impl Ownership {
    /// Whether an object of `kind` named `name` with `labels` is owned.
    pub fn claims(&self, kind: ObjectKind, name: &str, labels: &BTreeMap<String, String>) -> bool {
        let by_name = self.names.get(&kind).is_some_and(|patterns| patterns.iter().any(|p| glob(p, name)));
        by_name || self.claims_labels(labels)
    }

    /// Whether `labels` carry every label this team owns by (never, when it owns by none).
    pub fn claims_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.labels.is_empty() && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// The folder of the config directory each object's file is in, by kind and name: the monitors
/// of `monitors/payments/api.yaml` are in `payments`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folders(HashMap<(ObjectKind, String), std::sync::Arc<str>>);

impl Folders {
    /// Records that object `name` of `kind` is in `folder`.
    pub fn insert(&mut self, kind: ObjectKind, name: &str, folder: &std::sync::Arc<str>) {
        self.0.insert((kind, name.to_string()), folder.clone());
    }

    /// The folder object `name` of `kind` is in.
    pub fn of(&self, kind: ObjectKind, name: &str) -> Option<&str> {
        self.0.get(&(kind, name.to_string())).map(|f| &**f)
    }

    /// How many objects are in folders.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no object is in a folder.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any text (also none).
pub fn glob(pattern: &str, name: &str) -> bool {
    let Some((first, after)) = pattern.split_once('*') else { return pattern == name };
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let (middle, last) = after.rsplit_once('*').unwrap_or(("", after));
    for part in middle.split('*').filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Every team, in the order they were declared (file by file, sorted by name), with who is in
/// which (looked up on every request, so indexed once here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Teams {
    teams: Vec<TeamDef>,
    /// Account → (index of a team it is a member of, its role there).
    by_member: HashMap<String, Vec<(usize, Role)>>,
    /// Group → (index of a team its members are in, their role there).
    by_group: HashMap<String, Vec<(usize, Role)>>,
    /// The config directory's folders that objects are in.
    folders: Folders,
}

impl Teams {
    /// The teams `defs`, in this order.
    pub fn new(defs: Vec<TeamDef>) -> Self {
        let (mut by_member, mut by_group) = (HashMap::new(), HashMap::new());
        for (i, team) in defs.iter().enumerate() {
            for (who, role) in &team.members {
                by_member.entry(who.clone()).or_insert_with(Vec::new).push((i, *role));
            }
            for (group, role) in &team.groups {
                by_group.entry(group.clone()).or_insert_with(Vec::new).push((i, *role));
            }
        }
        Self { teams: defs, by_member, by_group, folders: Folders::default() }
    }

    /// These teams, where objects are in `folders` (a team owning a folder owns what is in it).
    pub fn with_folders(mut self, folders: Folders) -> Self {
        self.folders = folders;
        self
    }

    /// The folder of the config directory object `name` of `kind` is in, if any.
    pub fn folder_of(&self, kind: ObjectKind, name: &str) -> Option<&str> {
        self.folders.of(kind, name)
    }

    /// Whether no team is declared.
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
    }

    /// Team `name`.
    pub fn get(&self, name: &str) -> Option<&TeamDef> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// The team owning an object of `kind` named `name` with `labels`: the first that claims it.
    pub fn owner(&self, kind: ObjectKind, name: &str, labels: &BTreeMap<String, String>) -> Option<&str> {
        let folder = self.folders.of(kind, name);
        let in_folder = |t: &TeamDef| folder.is_some_and(|f| t.owns.folders.iter().any(|o| o == f));
        self.teams.iter().find(|t| t.owns.claims(kind, name, labels) || in_folder(t)).map(|t| t.name.as_str())
    }

    /// The team owning an object of `kind` named `name` that carries no labels.
    pub fn owner_by_name(&self, kind: ObjectKind, name: &str) -> Option<&str> {
        self.owner(kind, name, &BTreeMap::new())
    }

    /// Why definition `name` of `kind` may not read secret `secret`: the secret belongs to a
    /// team that does not own the definition. `None` when it may (also when no team owns it). The
    /// one rule, checked when a definition is stored and when a secret is read at run time.
    pub fn secret_refused(&self, kind: ObjectKind, name: &str, secret: &str) -> Option<String> {
        let team = self.owner_by_name(ObjectKind::Secrets, secret)?;
        if self.owner_by_name(kind, name) == Some(team) {
            return None;
        }
        Some(format!(
            "secret `{secret}` belongs to team `{team}`, and {} `{name}` is not one of `{team}`'s (teams/: owns.{})",
            kind.singular(),
            kind.key()
        ))
    }

    /// The team owning an alert named `name` with `labels`: by its labels, else by its name as a
    /// monitor's or a workflow's. The one rule for who sees an alert and who may raise it.
    pub fn alert_owner(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<&str> {
        self.owner_by_labels(labels)
            .or_else(|| self.owner(ObjectKind::Monitors, name, labels))
            .or_else(|| self.owner(ObjectKind::Workflows, name, labels))
    }

    /// The team owning whatever raised an alert: `monitor/<name>`'s monitor, else the workflow
    /// named `source`.
    pub fn source_owner(&self, source: &str) -> Option<&str> {
        match source.strip_prefix("monitor/") {
            Some(monitor) => self.owner_by_name(ObjectKind::Monitors, monitor),
            None => self.owner_by_name(ObjectKind::Workflows, source),
        }
    }

    /// The team owning something known only by its labels (an alert, a silence's matchers).
    pub fn owner_by_labels(&self, labels: &BTreeMap<String, String>) -> Option<&str> {
        self.teams.iter().find(|t| t.owns.claims_labels(labels)).map(|t| t.name.as_str())
    }

    /// The teams of account `user`, who is in the identity provider's `groups`, with the best
    /// role each gives them.
    pub fn memberships(&self, user: &str, groups: &[String]) -> BTreeMap<String, Role> {
        let as_member = self.by_member.get(user).into_iter().flatten();
        let by_group = groups.iter().filter_map(|g| self.by_group.get(g)).flatten();
        let mut out = BTreeMap::new();
        for &(i, role) in as_member.chain(by_group) {
            let best = out.entry(self.teams[i].name.clone()).or_insert(role);
            *best = (*best).max(role);
        }
        out
    }
}

/// What one caller may do: a role everywhere, and roles in teams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rights {
    /// The role on every object, owned or not (`None`: none outside its teams).
    pub everywhere: Option<Role>,
    /// The role on each team's objects.
    pub teams: BTreeMap<String, Role>,
}

impl Rights {
    /// Rights limited to a role everywhere.
    pub fn everywhere(role: Role) -> Self {
        Self { everywhere: Some(role), teams: BTreeMap::new() }
    }

    /// The role on an object owned by `owner` (`None`: shared).
    pub fn on(&self, owner: Option<&str>) -> Option<Role> {
        let in_team = owner.and_then(|o| self.teams.get(o).copied());
        self.everywhere.max(in_team)
    }

    /// The best role anywhere.
    pub fn best(&self) -> Option<Role> {
        self.everywhere.max(self.teams.values().copied().max())
    }

    /// The same rights, none above `cap` (a token's own role).
    pub fn capped(mut self, cap: Role) -> Self {
        self.everywhere = self.everywhere.map(|r| r.min(cap));
        for role in self.teams.values_mut() {
            *role = (*role).min(cap);
        }
        self
    }
}

#[cfg(test)]
mod tests;
