//! What the CLI writes to the audit log: changes made by a command on this machine (actor
//! `cli:LOCAL-USER`) and changes a config reload made live (actor `file:PATH`, one row per file
//! added, changed or removed, with the difference of its parsed content). Values under
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

/// One row per file that differs between `before` and `after`: (file, what happened, change).
pub fn file_changes(before: &Files, after: &Files) -> Vec<(String, &'static str, Value)> {
    let mut out = Vec::new();
    for (rel, text) in after {
        match before.get(rel) {
            None => out.push((rel.clone(), "added", json!({"created": redacted(parsed(rel, text))}))),
            Some(old) if old != text => {
                let changes = redacted_diff(&parsed(rel, old), &parsed(rel, text));
                out.push((rel.clone(), "changed", json!({"diff": changes})));
            }
            Some(_) => {}
        }
    }
    for (rel, old) in before {
        if !after.contains_key(rel) {
            out.push((rel.clone(), "removed", json!({"deleted": redacted(parsed(rel, old))})));
        }
    }
    out
}

/// Records the files a reload made live: actor `file:PATH`.
pub async fn reload(engine: &vigil_runtime::Engine, before: &Files, after: &Files) {
    let host = host();
    for (rel, action, mut change) in file_changes(before, after) {
        engine.scrub_secrets(&mut change);
        let (folder, file) = rel.split_once('/').unwrap_or(("", rel.as_str()));
        let name = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
        let row = AuditRow {
            at: engine.now(),
            actor: format!("file:{rel}"),
            source: "reload".into(),
            address: host.clone(),
            action: action.into(),
            kind: kind_of(folder),
            name: name.into(),
            change: change.to_string(),
            ..AuditRow::default()
        };
        if let Err(e) = engine.store().append_audit(&row).await {
            tracing::error!(error = %e, file = %rel, "Could not record a reloaded file in the audit log.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_changed_file_is_a_row_with_its_difference() {
        let files =
            |pairs: &[(&str, &str)]| -> Files { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let before = files(&[
            ("teams/pay.yaml", "name: pay\nmembers:\n  ana: editor\n"),
            ("notifiers/pager.yaml", "name: pager\ntype: pagerduty\nrouting_key: R0UT1NG\n"),
            ("monitors/old.yaml", "name: old\n"),
        ]);
        let after = files(&[
            ("teams/pay.yaml", "name: pay\nmembers:\n  ana: viewer\n"),
            ("notifiers/pager.yaml", "name: pager\ntype: pagerduty\nrouting_key: N3WKEY\n"),
            ("status-pages/main.yaml", "slug: main\n"),
        ]);
        let rows = file_changes(&before, &after);
        let text = serde_json::to_string(&rows).unwrap();
        assert!(!text.contains("R0UT1NG") && !text.contains("N3WKEY"), "{text}");
        let actions: Vec<(&str, &str)> = rows.iter().map(|(f, a, _)| (f.as_str(), *a)).collect();
        assert_eq!(
            actions,
            [
                ("notifiers/pager.yaml", "changed"),
                ("status-pages/main.yaml", "added"),
                ("teams/pay.yaml", "changed"),
                ("monitors/old.yaml", "removed")
            ]
        );
        assert_eq!(rows[2].2, json!({"diff": [{"path": "members.ana", "before": "editor", "after": "viewer"}]}));
        let key = json!({"diff": [{"path": "routing_key", "before": "<redacted>", "after": "<redacted>"}]});
        assert_eq!(rows[0].2, key, "a changed key is told, never shown");
        assert_eq!(kind_of("status-pages"), "status-page");
        assert_eq!(kind_of("event_handlers"), "event-handler");
        assert_eq!(kind_of("identity-providers"), "identity-provider");
    }
}
