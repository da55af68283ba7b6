//! Hot reload of `--config DIR`: when a file under it changes, vigil loads the whole directory
//! again, and only if it validates replaces the running workflows, schedules and notifiers. A
//! reload that fails keeps what runs and reports every problem, located, in the log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vigil_core::schedule::ScheduleDef;
use vigil_runtime::Engine;
use vigil_runtime::scheduler::SchedulerCmd;
use vigil_store::Store;

use crate::commands::schedule_names::ScheduleNames;
use crate::commands::shared_config;
use crate::setup::{load_all, load_secrets};

/// How often the directory is looked at.
const EVERY: Duration = Duration::from_secs(1);
/// How often the published copy is looked at when no notice came.
const POLL: Duration = Duration::from_secs(10);

/// Every file under `dir` with its modification time and size: a change to any is a change here.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => out.push((path, m.modified().ok(), m.len())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| anyhow::anyhow!("the reload task failed: {e}"))?
}

/// [`fingerprint`] on the blocking pool (a large directory takes a while to walk).
async fn fingerprint_off_runtime(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let dir = dir.to_path_buf();
    blocking(move || Ok(fingerprint(&dir))).await.unwrap_or_default()
}

/// Watches `dir` until the process ends. `file_schedules` are the schedules the directory defined
/// at start (so a schedule whose file goes away stops).
/// With `publish` (a cluster), a change that validates is also published for the other nodes.
pub async fn watch(
    engine: Engine,
    store: Arc<dyn Store>,
    db: PathBuf,
    (dir, publish): (PathBuf, bool),
    file_schedules: ScheduleNames,
) {
    let mut seen = fingerprint_off_runtime(&dir).await;
    let mut scheduled = file_schedules;
    let mut hangups = Hangups::new();
    // The files as last made live, for the audit log's record of what a reload changed.
    let mut live = read_files(&dir).await.unwrap_or_default();
    loop {
        // SIGHUP (systemd's `ExecReload`) reloads at once, changed or not.
        let asked = tokio::select! {
            _ = tokio::time::sleep(EVERY) => false,
            _ = hangups.next() => true,
        };
        let now = fingerprint_off_runtime(&dir).await;
        if now == seen && !asked {
            continue;
        }
        seen = now;
        match reload(&engine, store.as_ref(), &db, &dir, &scheduled).await {
            Ok(names) => {
                scheduled = names;
                match read_files(&dir).await {
                    Ok(files) => {
                        crate::commands::audit::reload(&engine, &live, &files).await;
                        if publish && let Err(e) = shared_config::publish(store.as_ref(), &files).await {
                            tracing::error!(
                                error = format!("{e:#}"),
                                "Could not publish the config directory to the other nodes."
                            );
                        }
                        live = files;
                    }
                    Err(e) => tracing::error!(error = format!("{e:#}"), "Could not read the config directory again."),
                }
            }
            Err(e) => tracing::error!(
                config = %dir.display(),
                error = format!("{e:#}"),
                "The config directory changed but does not validate; the running definitions stay (problems above)."
            ),
        }
    }
}

/// The definition files of `dir`, read on the blocking pool.
async fn read_files(dir: &Path) -> anyhow::Result<shared_config::Files> {
    let dir = dir.to_path_buf();
    blocking(move || shared_config::files(&dir)).await
}

/// Loads `dir` and, only if it validates, makes it what runs; returns its schedules' names.
pub(crate) async fn reload(
    engine: &Engine,
    store: &dyn Store,
    db: &Path,
    dir: &Path,
    before: &ScheduleNames,
) -> anyhow::Result<ScheduleNames> {
    let secrets = load_secrets(store, db).await?;
    // Reading, parsing and validating a large directory takes seconds: never on the runtime's
    // threads, which answer the API and fire schedules meanwhile.
    let (config, notifiers) = blocking({
        let dir = dir.to_path_buf();
        move || load_all(&dir, Some(&secrets))
    })
    .await?;
    let (workflows, schedules) = (config.workflows.all().count(), config.schedules.len());
    engine.set_workflows(config.workflows);
    engine.set_monitors(config.monitors);
    engine.set_teams_in_folders(config.teams, config.folders);
    engine.accounts().set_identity_providers(config.identity_providers);
    engine.events().set_files(config.event_handlers).await?;
    engine.status_pages().set_status_pages(config.status_pages);
    engine.definitions().load_api_definitions().await?;
    let notifier_count = engine.load_notifiers(notifiers).await?;
    let names = ScheduleNames::new(config.schedules.iter().map(|s| s.name.as_str()));
    for gone in before.iter().filter(|n| !names.contains(n)) {
        engine.schedule_command(SchedulerCmd::Remove(gone.to_string()));
    }
    let running: Vec<(ScheduleDef, _)> = engine.schedules().await;
    let running: std::collections::HashMap<&str, String> =
        running.iter().map(|(r, _)| (r.name.as_str(), format!("{r:?}"))).collect();
    for def in config.schedules {
        // The file is the truth for its schedules: anything different is put again.
        let unchanged = running.get(def.name.as_str()).is_some_and(|r| *r == format!("{def:?}"));
        if !unchanged {
            engine.schedule_command(SchedulerCmd::Put(Box::new(def)));
        }
    }
    vigil_core::memory::give_back();
    tracing::info!(workflows, schedules, notifiers = notifier_count, config = %dir.display(), "Config directory reloaded.");
    Ok(names)
}

/// SIGHUP, which asks for a reload (and no longer ends the process, its default).
struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    fn new() -> Self {
        #[cfg(unix)]
        {
            Self { signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok() }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Resolves at the next SIGHUP; never where there is none.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.signal.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}

/// Follows the published copy until the process ends: on a notice (or every [`POLL`]), if it
/// changed, writes it to `dir` and reloads from there, exactly as a changed local directory.
pub async fn follow_published(
    engine: Engine,
    store: Arc<dyn Store>,
    db: PathBuf,
    dir: PathBuf,
    mut scheduled: ScheduleNames,
) {
    let mut applied = shared_config::fetch(store.as_ref()).await.unwrap_or_default();
    loop {
        tokio::select! {
            _ = engine.definitions_changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        let published = match shared_config::fetch(store.as_ref()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "Could not read the published config; will retry.");
                continue;
            }
        };
        if published == applied {
            continue;
        }
        applied = published;
        if let Err(e) = shared_config::materialize(&applied, &dir) {
            tracing::error!(error = format!("{e:#}"), "Could not write the published config locally.");
            continue;
        }
        match reload(&engine, store.as_ref(), &db, &dir, &scheduled).await {
            Ok(names) => scheduled = names,
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                "The published config does not validate on this node; the running definitions stay."
            ),
        }
    }
}
