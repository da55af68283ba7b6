//! `vigil validate PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vigil_core::diagnostic::Severity;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// A config directory (with workflows/ and schedules/), a directory of definitions, or one file.
    pub path: PathBuf,
}

/// Prints every problem; exit 1 on any error.
pub fn run(args: Args) -> Result<ExitCode> {
    if !args.path.exists() {
        anyhow::bail!("{} does not exist", args.path.display());
    }
    let (notifiers, config, diags) = crate::setup::check(&args.path, None);
    for d in &diags {
        crate::output::outln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    if errors > 0 {
        crate::output::outln!("{errors} error(s), {warnings} warning(s)");
        return Ok(ExitCode::from(1));
    }
    let workflows = config.workflows.all().count();
    let schedules = config.schedules.len();
    let notifiers = notifiers.len();
    crate::output::outln!(
        "ok: {workflows} workflow(s), {schedules} schedule(s), {notifiers} notifier(s), {warnings} warning(s)"
    );
    Ok(ExitCode::SUCCESS)
}
