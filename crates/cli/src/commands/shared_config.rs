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

/// Whether `rel` names a file the loaders read: `<subdir>/<name>.{json,yaml,yml}`, nothing else
/// (a published path is written on other hosts, so it must not escape the directory).
fn is_config_path(rel: &str) -> bool {
    let Some((sub, name)) = rel.split_once('/') else { return false };
    subdirs().any(|d| d == sub)
        && !name.is_empty()
        && !name.contains('/')
        && !name.starts_with('.')
        && [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext))
}

/// The definition files under `dir`.
pub fn files(dir: &Path) -> Result<Files> {
    let mut out = Files::new();
    for sub in subdirs() {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        for entry in entries.flatten() {
            let rel = format!("{sub}/{}", entry.file_name().to_string_lossy());
            if entry.path().is_file() && is_config_path(&rel) {
                let text = vigil_core::config::read_definition_file(&entry.path())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", entry.path().display()))?;
                out.insert(rel, text);
            }
        }
    }
    Ok(out)
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
        std::fs::write(dir.join(rel), text).with_context(|| format!("cannot write {}", dir.join(rel).display()))?;
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
    }

    #[test]
    fn a_published_copy_round_trips_through_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Files::new();
        f.insert("workflows/a.yaml".into(), "name: a\n".into());
        f.insert("schedules/s.json".into(), "{}".into());
        materialize(&f, dir.path()).unwrap();
        assert_eq!(files(dir.path()).unwrap(), f);
    }
}
