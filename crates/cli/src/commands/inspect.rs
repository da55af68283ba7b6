//! `vigil instances`, `vigil status ID`, `vigil schedules`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vigil_core::instance::WorkflowStatus;
use vigil_core::time::{Clock, format_millis};
use vigil_runtime::SystemClock;
use vigil_store::{InstanceFilter, Store};

use crate::DbArgs;
use crate::output::instance_report;
use crate::setup::{load_config, open_store};

/// Arguments of `vigil instances`.
#[derive(clap::Args)]
pub struct InstancesArgs {
    /// Only this workflow.
    #[arg(long)]
    pub name: Option<String>,
    /// Only this status (RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED).
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Lists instances.
pub async fn instances(args: InstancesArgs) -> Result<ExitCode> {
    let status = match &args.status {
        Some(s) => Some(WorkflowStatus::parse(s).ok_or_else(|| {
            anyhow::anyhow!("unknown status `{s}` (use RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED or PAUSED)")
        })?),
        None => None,
    };
    let store = open_store(&args.db.db).await?;
    let rows = store
        .list_instances(&InstanceFilter { workflow_name: args.name, status, limit: args.limit, ..Default::default() })
        .await?;
    println!("{:<40} {:<28} {:<11} {:<26} UPDATED", "ID", "WORKFLOW", "STATUS", "CREATED");
    for r in rows {
        println!(
            "{:<40} {:<28} {:<11} {:<26} {}",
            r.id,
            format!("{} v{}", r.workflow_name, r.workflow_version),
            r.status.as_str(),
            format_millis(r.created_at),
            format_millis(r.updated_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Instance id.
    pub id: String,
    /// Print the whole state as JSON (secrets are already masked in it).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Shows one instance.
pub async fn status(args: StatusArgs) -> Result<ExitCode> {
    let store = open_store(&args.db.db).await?;
    let Some(instance) = store.instance(&args.id).await? else {
        eprintln!("error: no instance `{}` in {}", args.id, args.db.db.display());
        return Ok(ExitCode::from(1));
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&instance)?);
    } else {
        print!("{}", instance_report(&instance));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil schedules`.
#[derive(clap::Args)]
pub struct SchedulesArgs {
    /// Config directory.
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: PathBuf,
}

/// Lists schedules and their next 5 fire times.
pub async fn schedules(args: SchedulesArgs) -> Result<ExitCode> {
    let config = load_config(&args.config)?;
    let now = SystemClock.now();
    for s in &config.schedules {
        let state = if s.paused { "paused" } else { "active" };
        println!(
            "{}  `{}` {}  → {} ({state}, overlap {:?}, catch-up {})",
            s.name, s.cron_expression, s.zone_id, s.start.name, s.overlap, s.catch_up
        );
        for at in s.upcoming(now, 5) {
            println!("    {}", format_millis(at));
        }
    }
    Ok(ExitCode::SUCCESS)
}
