//! `vigil validate PATH`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use vigil_core::diagnostic::Severity;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// A config directory (with workflows/, schedules/ and monitors/), a directory of definitions,
    /// or one file.
    pub path: PathBuf,
    /// When this database exists, the secrets that notifiers reference are looked up in it (by
    /// name; nothing is decrypted) and missing ones are reported as warnings.
    #[command(flatten)]
    pub db: crate::setup::DbArgs,
    /// Counts warnings as errors (exit 1): fields vigil does not know and references to tasks
    /// that do not exist, which Conductor ignores and vigil warns about.
    #[arg(long)]
    pub strict: bool,
    /// Validates every config directory below PATH (one holding `workflows/`, `monitors/`,
    /// `notifiers/` ... or an `alertmanager.yml`), each on its own, such as `examples/`.
    #[arg(long, short = 'r')]
    pub recursive: bool,
}

/// Folders a config directory search does not enter.
const NOT_SEARCHED: [&str; 3] = ["target", "node_modules", "vendor"];

/// How deep `--recursive` looks for config directories.
const MAX_DEPTH: usize = 6;

/// Prints every problem; exit 1 on any error (on any problem with `--strict`).
pub async fn run(args: Args) -> Result<ExitCode> {
    if !args.path.exists() {
        anyhow::bail!("{} does not exist", args.path.display());
    }
    if args.recursive {
        return recursive(&args).await;
    }
    if args.path.is_file() && crate::alertmanager_file::looks_like(&args.path) {
        return alertmanager(&args);
    }
    if args.path.is_dir() && !is_config_dir(&args.path) && !holds_definition_files(&args.path) {
        let below = config_dirs_below(&args.path);
        crate::output::outln!("{}: holds no definitions", args.path.display());
        crate::output::outln!(
            "  a config directory has workflows/, schedules/, monitors/, notifiers/, status-pages/, teams/ or an \
             alertmanager.yml; a definition directory has .json or .yaml files"
        );
        if !below.is_empty() {
            let shown: Vec<String> = below.iter().take(5).map(|d| d.display().to_string()).collect();
            let more = if below.len() > 5 { format!(" and {} more", below.len() - 5) } else { String::new() };
            crate::output::outln!(
                "  {} config directories are below it ({}{more}): validate them all with `vigil validate --recursive {}`",
                below.len(),
                shown.join(", "),
                args.path.display()
            );
        }
        return Ok(ExitCode::from(1));
    }
    one(&args.path, &args).await
}

/// Validates `path` (a config or definition directory, or a file), printing every problem.
async fn one(path: &Path, args: &Args) -> Result<ExitCode> {
    let (notifiers, config, mut diags) = crate::setup::check(path, None);
    diags.extend(missing_credentials(path, &args.db.db).await);
    diags.extend(missing_programs(&config));
    let am_files = vigil_core::config::ALERTMANAGER_FILES.iter().map(|n| path.join(n));
    for file in am_files.filter(|f| path.is_dir() && f.is_file()) {
        diags.extend(crate::alertmanager_file::check(&file)?.1);
    }
    diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    for d in &diags {
        crate::output::outln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    if errors > 0 || (args.strict && warnings > 0) {
        let strict = if args.strict && warnings > 0 { " (--strict: warnings count as errors)" } else { "" };
        crate::output::outln!("{errors} error(s), {warnings} warning(s){strict}");
        return Ok(ExitCode::from(1));
    }
    let workflows = config.workflows.all().count();
    let schedules = config.schedules.len();
    let notifiers = notifiers.len();
    let monitors = match config.monitors.len() {
        0 => String::new(),
        n => format!("{n} monitor(s), "),
    };
    let counted = |n: usize, what: &str| if n == 0 { String::new() } else { format!("{n} {what}(s), ") };
    let pages = counted(config.status_pages.len(), "status page");
    let teams = counted(config.teams.len(), "team");
    let providers = counted(config.identity_providers.len(), "identity provider");
    crate::output::outln!(
        "ok: {workflows} workflow(s), {schedules} schedule(s), {monitors}{notifiers} notifier(s), {pages}{teams}{providers}{warnings} warning(s)"
    );
    Ok(ExitCode::SUCCESS)
}

/// `--recursive`: each config directory below `args.path` (itself included), validated on its
/// own under a heading; exit 1 when any has an error, or when there is none.
async fn recursive(args: &Args) -> Result<ExitCode> {
    let mut dirs = if is_config_dir(&args.path) { vec![args.path.clone()] } else { Vec::new() };
    dirs.extend(config_dirs_below(&args.path));
    if dirs.is_empty() {
        crate::output::outln!("{}: no config directory at or below it", args.path.display());
        return Ok(ExitCode::from(1));
    }
    let mut failed = Vec::new();
    for dir in &dirs {
        crate::output::outln!("{}:", dir.display());
        if one(dir, args).await? != ExitCode::SUCCESS {
            failed.push(dir.display().to_string());
        }
    }
    if failed.is_empty() {
        crate::output::outln!("ok: {} config director{}", dirs.len(), if dirs.len() == 1 { "y" } else { "ies" });
        return Ok(ExitCode::SUCCESS);
    }
    crate::output::outln!("{} of {} config directories have problems: {}", failed.len(), dirs.len(), failed.join(", "));
    Ok(ExitCode::from(1))
}

/// Whether `dir` is a config directory: it has a folder of definitions, notifiers, or an
/// Alertmanager configuration.
fn is_config_dir(dir: &Path) -> bool {
    vigil_core::config::DEFINITION_DIRS
        .iter()
        .map(|(name, _)| *name)
        .chain([vigil_core::config::NOTIFIERS_DIR])
        .any(|d| dir.join(d).is_dir())
        || vigil_core::config::ALERTMANAGER_FILES.iter().any(|f| dir.join(f).is_file())
}

/// Whether `dir` holds definition files itself (a `workflows/` folder given alone, say).
fn holds_definition_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        e.path().is_file() && [".json", ".yaml", ".yml"].iter().any(|x| name.ends_with(x))
    })
}

/// The config directories below `dir` (not `dir` itself), in name order, a config directory's own
/// folders not searched; hidden folders and build output are skipped.
fn config_dirs_below(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                !name.starts_with('.') && !NOT_SEARCHED.contains(&name.as_str())
            })
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            if is_config_dir(&entry) {
                found.push(entry);
            } else if depth < MAX_DEPTH {
                walk(&entry, depth + 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, 1, &mut found);
    found
}

/// Checks an Alertmanager configuration.
fn alertmanager(args: &Args) -> Result<ExitCode> {
    let (text, diags) = crate::alertmanager_file::check(&args.path)?;
    for d in &diags {
        crate::output::outln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    if text.is_none() || (args.strict && warnings > 0) {
        crate::output::outln!("{errors} error(s), {warnings} warning(s)");
        return Ok(ExitCode::from(1));
    }
    let config = vigil_core::alertmanager::config::parse(text.as_deref().unwrap_or_default()).unwrap_or_default();
    crate::output::outln!(
        "ok: Alertmanager configuration: {} route(s), {} receiver(s), {} inhibition rule(s), {} time interval(s), {warnings} warning(s)",
        config.route.walk().len(),
        config.receivers.len(),
        config.inhibit_rules.len(),
        config.time_intervals.len(),
    );
    Ok(ExitCode::SUCCESS)
}

/// A warning on each check that runs a program this machine lacks: Chromium for a browser check,
/// OpenSSH's client for an SSH login.
fn missing_programs(config: &vigil_core::config::Config) -> Vec<vigil_core::diagnostic::Diagnostic> {
    use vigil_core::monitor::SourceKind;
    let chromium = vigil_connectors::sources::browser::chromium::find().err();
    let ssh = vigil_connectors::sources::ssh::client().err();
    config
        .monitors
        .iter()
        .filter_map(|m| {
            let (field, why) = match m.source.kind {
                SourceKind::Browser => ("source.browser", chromium.as_ref()?),
                SourceKind::Ssh => ("source.ssh", ssh.as_ref()?),
                _ => return None,
            };
            let message = format!("monitor `{}` will fail on this machine: {why}", m.name);
            let mut d = config.monitor_origins.get(&m.name)?.error(field, message);
            d.severity = Severity::Warning;
            Some(d)
        })
        .collect()
}

/// Credentials referenced by notifier files that neither the database (when it exists) nor the
/// environment has.
async fn missing_credentials(path: &Path, db: &Path) -> Vec<vigil_core::diagnostic::Diagnostic> {
    let dir = path.join("notifiers");
    let exists_db = crate::setup::postgres_url(db).is_some() || db.exists();
    if !dir.is_dir() || !exists_db {
        return Vec::new();
    }
    let Ok(store) = crate::setup::open_store(db).await else { return Vec::new() };
    let names: Vec<String> = store.secrets().await.unwrap_or_default().into_iter().map(|(n, _)| n).collect();
    store.close().await;
    let exists = |kind: &str, name: &str| match kind {
        "secrets" => names.iter().any(|n| n == name),
        _ => std::env::var_os(name).is_some(),
    };
    vigil_connectors::notifiers::load::missing_credentials(&dir, &exists)
}
