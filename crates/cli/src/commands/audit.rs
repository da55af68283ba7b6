//! What the CLI writes to the audit log: changes made by a command on this machine (actor
//! `cli:LOCAL-USER`) and changes a config reload made live (actor `file:PATH`, one row per object
//! of a file added, changed or removed, with the difference of its parsed content). Values under
//! credential-like field names are redacted, and every form of every stored secret is masked.

use serde_json::{Value, json};
use vigil_core::audit::{redact, redacted_diff};
use vigil_core::time::Clock;
use vigil_store::{AuditRow, Store};

use crate::commands::shared_config::Files;

/// This machine's name, for `address`.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The local user running the command: `$USER` (or `$LOGNAME`), else the name `/etc/passwd`
/// gives the process's user id, else that id.
fn local_user() -> String {
    if let Some(user) = ["USER", "LOGNAME"].iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty())) {
        return user;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else { return "unknown".into() };
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let named =
            passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.get(2) == Some(&&*uid.to_string()));
        named.map_or_else(|| format!("uid {uid}"), |f| f[0].to_string())
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}

/// Records a CLI command's change to `kind` `name` (`change` redacted here). A failure to record
/// is reported and does not undo the change.
pub async fn command(store: &dyn Store, action: &str, kind: &str, name: &str, mut change: Value) {
    redact(&mut change);
    let row = AuditRow {
        at: vigil_runtime::SystemClock.now(),
        actor: format!("cli:{}", local_user()),
        source: "cli".into(),
        address: host(),
        action: action.into(),
        kind: kind.into(),
        name: name.into(),
        change: change.to_string(),
        ..AuditRow::default()
    };
    if let Err(e) = store.append_audit(&row).await {
        eprintln!("warning: the change was made, but the audit log could not record it: {e}");
    }
}

/// The kind of object a config folder holds (`status-pages` → `status-page`).
fn kind_of(folder: &str) -> String {
    let singular = folder.strip_suffix('s').unwrap_or(folder);
    singular.replace('_', "-")
}

/// The parsed content of a config file (text that does not parse is kept as text).
fn parsed(rel: &str, text: &str) -> Value {
    vigil_core::config::parse_text(std::path::Path::new(rel), text).unwrap_or_else(|_| Value::String(text.into()))
}

/// `value` with credentials redacted.
fn redacted(mut value: Value) -> Value {
    redact(&mut value);
    value
}

/// A change a reload made live: one object of one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileChange {
    /// The file, relative to the config directory (`monitors/payments/api.yaml`).
    pub file: String,
    /// The object: its `name` (or a status page's `slug`), else the file's stem.
    pub name: String,
    /// `added`, `changed` or `removed`.
    pub action: &'static str,
    /// What changed, redacted.
    pub change: Value,
}

/// The objects a config file defines, by name and version (a workflow's versions are objects
/// of one name): each of a list, or the one it holds (a file without names is one object named
/// after the file).
fn objects(rel: &str, text: &str) -> Vec<((String, Option<u64>), Value)> {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem).to_string();
    let named = |v: &Value| ["name", "slug"].iter().find_map(|k| v.get(k)?.as_str().map(str::to_string));
    let key = |name: String, v: &Value| (name, v.get("version").and_then(Value::as_u64));
    match parsed(rel, text) {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (key(named(&v).unwrap_or_else(|| format!("{stem}[{i}]")), &v), v))
            .collect(),
        one => vec![(key(named(&one).unwrap_or(stem), &one), one)],
    }
}

/// One row per object that differs between `before` and `after`, file by file: added, changed
/// (with the difference) or removed.
pub fn file_changes(before: &Files, after: &Files) -> Vec<FileChange> {
    let mut out = Vec::new();
    let files: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for rel in files {
        let (old, new) = (before.get(rel), after.get(rel));
        if old == new {
            continue;
        }
        type Objects = std::collections::BTreeMap<(String, Option<u64>), Value>;
        let was: Objects = old.map_or_else(Vec::new, |t| objects(rel, t)).into_iter().collect();
        let is: Objects = new.map_or_else(Vec::new, |t| objects(rel, t)).into_iter().collect();
        let row = |(name, _): &(String, Option<u64>), action, change| FileChange {
            file: rel.clone(),
            name: name.clone(),
            action,
            change,
        };
        for (name, value) in &is {
            match was.get(name) {
                None => out.push(row(name, "added", json!({"created": redacted(value.clone())}))),
                Some(old) if old != value => out.push(row(name, "changed", json!({"diff": redacted_diff(old, value)}))),
                Some(_) => {}
            }
        }
        for (name, value) in was.iter().filter(|(n, _)| !is.contains_key(*n)) {
            out.push(row(name, "removed", json!({"deleted": redacted(value.clone())})));
        }
    }
    out
}

/// Records the objects a reload made live: actor `file:PATH`, one row per object.
pub async fn reload(engine: &vigil_runtime::Engine, before: &Files, after: &Files) {
    let host = host();
    for FileChange { file, name, action, mut change } in file_changes(before, after) {
        engine.scrub_secrets(&mut change);
        let folder = file.split('/').next().unwrap_or_default();
        let row = AuditRow {
            at: engine.now(),
            actor: format!("file:{file}"),
            source: "reload".into(),
            address: host.clone(),
            action: action.into(),
            kind: kind_of(folder),
            name,
            change: change.to_string(),
            ..AuditRow::default()
        };
        if let Err(e) = engine.store().append_audit(&row).await {
            tracing::error!(error = %e, file = %file, "Could not record a reloaded file in the audit log.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_changed_object_is_a_row_with_its_difference() {
        let files =
            |pairs: &[(&str, &str)]| -> Files { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let before = files(&[
            ("teams/pay.yaml", "name: pay\nmembers:\n  ana: editor\n"),
            ("notifiers/pager.yaml", "name: pager\ntype: pagerduty\nrouting_key: R0UT1NG\n"),
            ("monitors/old.yaml", "name: old\n"),
            ("monitors/payments/checks.yaml", "- name: api\n  every: 1m\n- name: db\n  every: 1m\n"),
            ("workflows/w.yaml", "- {name: w, version: 1, x: 1}\n- {name: w, version: 2, x: 1}\n"),
        ]);
        let after = files(&[
            ("teams/pay.yaml", "name: pay\nmembers:\n  ana: viewer\n"),
            ("notifiers/pager.yaml", "name: pager\ntype: pagerduty\nrouting_key: N3WKEY\n"),
            ("status-pages/main.yaml", "slug: main\n"),
            ("monitors/payments/checks.yaml", "- name: api\n  every: 5m\n- name: db\n  every: 1m\n- name: web\n"),
            ("workflows/w.yaml", "- {name: w, version: 1, x: 2}\n- {name: w, version: 2, x: 1}\n"),
        ]);
        let rows = file_changes(&before, &after);
        let text = serde_json::to_string(&rows).unwrap();
        assert!(!text.contains("R0UT1NG") && !text.contains("N3WKEY"), "{text}");
        let actions: Vec<(&str, &str, &str)> =
            rows.iter().map(|r| (r.file.as_str(), r.name.as_str(), r.action)).collect();
        assert_eq!(
            actions,
            [
                ("monitors/old.yaml", "old", "removed"),
                ("monitors/payments/checks.yaml", "api", "changed"),
                ("monitors/payments/checks.yaml", "web", "added"),
                ("notifiers/pager.yaml", "pager", "changed"),
                ("status-pages/main.yaml", "main", "added"),
                ("teams/pay.yaml", "pay", "changed"),
                ("workflows/w.yaml", "w", "changed"),
            ],
            "one row per object, named as it is, not after its file"
        );
        assert_eq!(rows[5].change, json!({"diff": [{"path": "members.ana", "before": "editor", "after": "viewer"}]}));
        assert_eq!(rows[1].change, json!({"diff": [{"path": "every", "before": "1m", "after": "5m"}]}));
        assert_eq!(rows[6].change, json!({"diff": [{"path": "x", "before": 1, "after": 2}]}), "version 1's change");
        let key = json!({"diff": [{"path": "routing_key", "before": "<redacted>", "after": "<redacted>"}]});
        assert_eq!(rows[3].change, key, "a changed key is told, never shown");
        assert_eq!(kind_of("status-pages"), "status-page");
        assert_eq!(kind_of("event_handlers"), "event-handler");
        assert_eq!(kind_of("identity-providers"), "identity-provider");
    }
}
