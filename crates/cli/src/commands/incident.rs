//! `vigil incident open|update|list`: a status page's incidents, through a running server's API
//! (`--server`, or `VIGIL_SERVER`), so every node's page shows them at once.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{Value, json};
use vigil_core::time::format_millis;

use super::remote::{RemoteArgs, encode};

/// `vigil incident ...`.
#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Opens an incident on a status page.
    Open {
        /// The page's slug.
        page: String,
        /// The incident's title.
        #[arg(long)]
        title: String,
        /// The first update (Markdown).
        #[arg(long)]
        message: String,
        /// What the affected components show: degraded, partial_outage, major_outage, maintenance.
        #[arg(long, default_value = "major_outage")]
        impact: String,
        /// An affected component, by its name on the page (repeat; none: the whole page).
        #[arg(long = "component")]
        components: Vec<String>,
        /// investigating, identified, monitoring or resolved.
        #[arg(long, default_value = "investigating")]
        status: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Adds an update to an incident.
    Update {
        /// The page's slug.
        page: String,
        /// The incident's id (`vigil incident list` shows it).
        id: String,
        /// investigating, identified, monitoring or resolved.
        #[arg(long)]
        status: String,
        /// What is said (Markdown).
        #[arg(long)]
        message: String,
        /// A new impact.
        #[arg(long)]
        impact: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Lists a page's open incidents and those resolved in the last 14 days.
    List {
        /// The page's slug.
        page: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

fn server(remote: &RemoteArgs) -> Result<&str> {
    remote.server.as_deref().context("`vigil incident` talks to a running server: give --server URL (or VIGIL_SERVER)")
}

/// Runs `vigil incident ...`.
pub async fn run(cmd: IncidentCommand) -> Result<ExitCode> {
    match cmd {
        IncidentCommand::Open { page, title, message, impact, components, status, remote } => {
            let body = json!({ "title": title, "message": message, "impact": impact, "components": components, "status": status });
            let path = format!("/api/v1/status-pages/{}/incidents", encode(&page));
            let incident = remote.post(server(&remote)?, &path, &body).await?;
            crate::output::outln!("opened incident {} on {page}", incident["id"].as_str().unwrap_or("?"));
        }
        IncidentCommand::Update { page, id, status, message, impact, remote } => {
            let body = json!({ "status": status, "message": message, "impact": impact });
            let path = format!("/api/v1/status-pages/{}/incidents/{}/updates", encode(&page), encode(&id));
            remote.post(server(&remote)?, &path, &body).await?;
            crate::output::outln!("updated incident {id} on {page}: {status}");
        }
        IncidentCommand::List { page, remote } => {
            let path = format!("/api/v1/status-pages/{}/incidents", encode(&page));
            let listed = remote.get(server(&remote)?, &path).await?;
            crate::output::outln!("{:<14} {:<14} {:<26} TITLE", "ID", "STATUS", "SINCE");
            for i in listed["incidents"].as_array().into_iter().flatten() {
                crate::output::outln!(
                    "{:<14} {:<14} {:<26} {}",
                    text(&i["id"]),
                    last_status(i),
                    since(i),
                    text(&i["title"])
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn last_status(incident: &Value) -> String {
    incident["updates"].as_array().and_then(|u| u.last()).map(|u| text(&u["status"]).to_string()).unwrap_or_default()
}

fn since(incident: &Value) -> String {
    incident["updates"]
        .as_array()
        .and_then(|u| u.first())
        .and_then(|u| u["at"].as_i64())
        .map(format_millis)
        .unwrap_or_default()
}
