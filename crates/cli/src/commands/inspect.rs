//! `vigil instances`, `vigil status ID`, `vigil schedules`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vigil_core::instance::WorkflowStatus;
use vigil_core::time::{Clock, format_millis};
use vigil_runtime::SystemClock;
use vigil_store::InstanceFilter;

use crate::commands::remote::{RemoteArgs, encode};
use crate::output::instance_report;
use crate::setup::DbArgs;
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
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Lists instances.
pub async fn instances(args: InstancesArgs) -> Result<ExitCode> {
    let status = match &args.status {
        Some(s) => Some(WorkflowStatus::parse(s).ok_or_else(|| {
            anyhow::anyhow!("unknown status `{s}` (use RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED or PAUSED)")
        })?),
        None => None,
    };
    if let Some(server) = args.remote.server.clone() {
        return remote_instances(&args, &server, status).await;
    }
    let store = open_store(&args.db.db).await?;
    let rows = store
        .list_instances(&InstanceFilter {
            workflow_name: args.name,
            workflow_names: None,
            statuses: status.into_iter().collect(),
            limit: args.limit,
            ..Default::default()
        })
        .await?;
    crate::output::outln!("{:<40} {:<28} {:<11} {:<26} UPDATED", "ID", "WORKFLOW", "STATUS", "CREATED");
    for r in rows {
        crate::output::outln!(
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

async fn remote_instances(args: &InstancesArgs, server: &str, status: Option<WorkflowStatus>) -> Result<ExitCode> {
    let mut path = format!("/api/v1/instances?limit={}", args.limit.clamp(1, 1000));
    if let Some(name) = &args.name {
        path.push_str(&format!("&name={}", encode(name)));
    }
    if let Some(s) = status {
        path.push_str(&format!("&status={}", s.as_str()));
    }
    let page = args.remote.get(server, &path).await?;
    crate::output::outln!("{:<40} {:<28} {:<11} {:<26} UPDATED", "ID", "WORKFLOW", "STATUS", "CREATED");
    for r in page["instances"].as_array().into_iter().flatten() {
        crate::output::outln!(
            "{:<40} {:<28} {:<11} {:<26} {}",
            r["instanceId"].as_str().unwrap_or_default(),
            format!("{} v{}", r["name"].as_str().unwrap_or_default(), r["version"]),
            r["runtimeStatus"].as_str().unwrap_or_default(),
            r["createdTime"].as_str().unwrap_or_default(),
            r["lastUpdatedTime"].as_str().unwrap_or_default()
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
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Shows one instance.
pub async fn status(args: StatusArgs) -> Result<ExitCode> {
    if let Some(server) = args.remote.server.clone() {
        let body =
            args.remote.get(&server, &format!("/api/v1/instances/{}?showHistory=true", encode(&args.id))).await?;
        if args.json {
            crate::output::outln!("{}", serde_json::to_string_pretty(&body)?);
        } else {
            crate::output::out!("{}", remote_report(&body));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store(&args.db.db).await?;
    let Some(instance) = store.instance(&args.id).await? else {
        eprintln!("error: no instance `{}` in {}", args.id, args.db.db.display());
        return Ok(ExitCode::from(1));
    };
    if args.json {
        crate::output::outln!("{}", serde_json::to_string_pretty(&instance)?);
    } else {
        crate::output::out!("{}", instance_report(&instance));
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
        crate::output::outln!(
            "{}  `{}` {}  → {} ({state}, overlap {:?}, catch-up {})",
            s.name,
            s.cron_expression,
            s.zone_id,
            s.start.name,
            s.overlap,
            s.catch_up
        );
        for at in s.upcoming(now, 5) {
            crate::output::outln!("    {}", format_millis(at));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A status from the API, the way `instance_report` shows a stored one.
fn remote_report(s: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    let mut out = format!(
        "{} ({} v{})\n  status   {}\n  created  {}\n  updated  {}\n",
        text(&s["instanceId"]),
        text(&s["name"]),
        s["version"],
        text(&s["runtimeStatus"]),
        text(&s["createdTime"]),
        text(&s["lastUpdatedTime"])
    );
    if let Some(reason) = s["reason"].as_str() {
        out.push_str(&format!("  reason   {reason}\n"));
    }
    if !s["customStatus"].is_null() {
        out.push_str(&format!("  custom   {}\n", s["customStatus"]));
    }
    if !s["output"].is_null() {
        out.push_str(&format!("  output   {}\n", s["output"]));
    }
    out.push_str("  tasks:\n");
    for t in s["historyEvents"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "    {:<28} {:<18} {:<26} retry {}{}\n",
            text(&t["referenceTaskName"]),
            text(&t["taskType"]),
            text(&t["status"]),
            t["retryCount"],
            t["reason"].as_str().map(|r| format!("  ({r})")).unwrap_or_default()
        ));
    }
    out
}
