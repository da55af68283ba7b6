//! Shared definitions for a cluster on PostgreSQL. The node given `--config DIR` publishes the
//! directory's files to the database (table `definitions`, kind `config`, one row per file) at
//! start and whenever a change validates; every node follows the published copy, loaded with the
//! same loader and hot reload as a local directory. So all nodes run the same workflows,
//! schedules, monitors (heartbeats included), notifiers, event handlers and status pages, nodes
//! started without `--config` included. When two nodes publish different directories, the last one wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use vigil_core::time::Clock;
use vigil_runtime::SystemClock;
use vigil_store::{DefinitionRow, Notice, Store};

/// The `definitions` kind of published config files.
const KIND: &str = "config";
/// The subdirectories a config directory holds (the loaders read these, one level deep): every
/// one the definitions' loader reads, and the notifiers'. Taken from the loader's own list, so a
/// new kind of definition file is published without a line here.
fn subdirs() -> impl Iterator<Item = &'static str> {
    vigil_core::config::DEFINITION_DIRS.iter().map(|(dir, _)| *dir).chain([vigil_core::config::NOTIFIERS_DIR])
}

/// The files of a config directory, text by path relative to it (`workflows/a.yaml`).
pub type Files = BTreeMap<String, String>;

/// Whether `rel` names a file the loaders read: `<subdir>/<name>.{json,yaml,yml}`, or one
/// folder below (`monitors/payments/api.yaml`, a folder a team may own), nothing else (a
/// published path is written on other hosts, so it must not escape the directory).
fn is_config_path(rel: &str) -> bool {
    let Some((sub, rest)) = rel.split_once('/') else { return false };
    let name = match rest.split_once('/') {
        Some((folder, name)) if is_plain(folder) => name,
        Some(_) => return false,
        None => rest,
    };
    subdirs().any(|d| d == sub)
        && is_plain(name)
        && !name.contains('/')
        && [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext))
}

/// A file or folder name that stays where it is written: not empty, not hidden, no separator.
fn is_plain(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// The definition files under `dir`, and in the folders one level below each kind's.
pub fn files(dir: &Path) -> Result<Files> {
    let mut out = Files::new();
    for sub in subdirs() {
        // The kind's folder, then the folders one level below it that the loaders read.
        let below = vigil_core::config::folders_of(&dir.join(sub)).into_iter().map(|(f, p)| (format!("{sub}/{f}"), p));
        for (prefix, folder) in std::iter::once((sub.to_string(), dir.join(sub))).chain(below) {
            let Ok(entries) = std::fs::read_dir(&folder) else { continue };
            for entry in entries.flatten() {
                add_file(&mut out, &entry.path(), format!("{prefix}/{}", entry.file_name().to_string_lossy()))?;
            }
        }
    }
    Ok(out)
}

/// Adds file `path`, published as `rel`, when it is one the loaders read.
fn add_file(out: &mut Files, path: &Path, rel: String) -> Result<()> {
    if path.is_file() && is_config_path(&rel) {
        let text =
            vigil_core::config::read_definition_file(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        out.insert(rel, text);
    }
    Ok(())
}

/// The published files.
pub async fn fetch(store: &dyn Store) -> Result<Files> {
    Ok(store.definitions(KIND).await?.into_iter().map(|d| (d.name, d.body)).collect())
}

/// Makes the published copy equal to `local` and tells the other nodes.
pub async fn publish(store: &dyn Store, local: &Files) -> Result<()> {
    let stored = fetch(store).await?;
    let now = SystemClock.now();
    let mut changed = false;
    for (path, text) in local {
        if stored.get(path) != Some(text) {
            let row = DefinitionRow {
                kind: KIND.into(),
                name: path.clone(),
                version: 0,
                body: text.clone(),
                updated_at: now,
                defined_by: None,
            };
            store.put_definition(&row).await?;
            changed = true;
        }
    }
    for path in stored.keys().filter(|p| !local.contains_key(*p)) {
        store.delete_definition(KIND, path, None).await?;
        changed = true;
    }
    if changed {
        store.notify(&Notice::Definitions).await?;
        tracing::info!(files = local.len(), "Published the config directory to the database for every node.");
    }
    Ok(())
}

/// Writes `files` into `dir`, replacing what it held.
pub fn materialize(files: &Files, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    for sub in subdirs() {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (rel, text) in files {
        if !is_config_path(rel) {
            tracing::warn!(path = %rel, "Ignoring a published config file with an unexpected path.");
            continue;
        }
        let path = dir.join(rel);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Where this node keeps its copy of the published files.
pub fn copy_dir(node_id: &str) -> PathBuf {
    let safe: String = node_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    std::env::temp_dir().join(format!("vigil-config-{safe}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_definition_files_one_level_deep_are_published() {
        assert!(is_config_path("workflows/a.yaml"));
        assert!(is_config_path("notifiers/pd.json"));
        assert!(is_config_path("monitors/checks.yaml"), "monitors are published too");
        assert!(is_config_path("event_handlers/on_ship.json"), "and event handlers");
        assert!(is_config_path("status-pages/public.yaml"), "and status pages");
        assert!(!is_config_path("workflows/../../etc/passwd.json"));
        assert!(!is_config_path("/etc/a.json"));
        assert!(!is_config_path("other/a.json"));
        assert!(!is_config_path("workflows/notes.txt"));
        assert!(!is_config_path("workflows/.hidden.json"));
        assert!(is_config_path("monitors/payments/api.yaml"), "one folder below, a team's");
        assert!(!is_config_path("monitors/a/b/api.yaml"), "no deeper");
        assert!(!is_config_path("monitors/../api.yaml"));
        assert!(!is_config_path("monitors/.git/api.yaml"));
        assert!(!is_config_path("monitors//api.yaml"));
    }

    #[test]
    fn a_published_copy_round_trips_through_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Files::new();
        f.insert("workflows/a.yaml".into(), "name: a\n".into());
        f.insert("schedules/s.json".into(), "{}".into());
        f.insert("monitors/payments/api.yaml".into(), "name: api\n".into());
        materialize(&f, dir.path()).unwrap();
        assert_eq!(files(dir.path()).unwrap(), f);
    }
}
