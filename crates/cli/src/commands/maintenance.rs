//! `vigil maintenance schedule|end|list`: a status page's scheduled maintenance, through a
//! running server's API (`--server`, or `VIGIL_SERVER`), so every node's page shows it and its
//! subscribers are told.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use vigil_core::time::{format_millis, parse_duration, parse_until};

use super::remote::{RemoteArgs, encode};

/// `vigil maintenance ...`.
#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Schedules maintenance on a status page; its subscribers are told.
    Schedule {
        /// The page's slug.
        page: String,
        /// The window's title.
        #[arg(long)]
        title: String,
        /// When it starts: a duration from now (`3h`), a local time in a zone (`2026-12-01
        /// 22:00 Europe/Berlin`) or RFC 3339. Default: now.
        #[arg(long)]
        from: Option<String>,
        /// How long it lasts (`1h30m`).
        #[arg(long = "for")]
        length: String,
        /// What is done, and what readers may notice (Markdown).
        #[arg(long)]
        message: Option<String>,
        /// An affected component, by its name on the page (repeat; none: the whole page).
        #[arg(long = "component")]
        components: Vec<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Ends maintenance now: one to come is cancelled, one under way ends.
    End {
        /// The page's slug.
        page: String,
        /// The window's id (`vigil maintenance list` shows it).
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Lists a page's maintenance to come, under way and ended in the last 14 days.
    List {
        /// The page's slug.
        page: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

fn server(remote: &RemoteArgs) -> Result<&str> {
    remote
        .server
        .as_deref()
        .context("`vigil maintenance` talks to a running server: give --server URL (or VIGIL_SERVER)")
}

/// Runs `vigil maintenance ...`.
pub async fn run(cmd: MaintenanceCommand) -> Result<ExitCode> {
    match cmd {
        MaintenanceCommand::Schedule { page, title, from, length, message, components, remote } => {
            let now = jiff::Timestamp::now().as_millisecond();
            let starts = match from.as_deref() {
                None => now,
                Some(text) => parse_duration(text)
                    .map(|d| now + d)
                    .or_else(|_| parse_until(text))
                    .map_err(|e| anyhow::anyhow!("--from: {e}"))?,
            };
            let length = parse_duration(&length).map_err(|e| anyhow::anyhow!("--for: {e}"))?;
            if length <= 0 {
                bail!("--for: must be positive");
            }
            let body = json!({ "title": title, "message": message, "components": components, "starts": starts, "ends": starts + length });
            let path = format!("/api/v1/status-pages/{}/maintenance", encode(&page));
            let window = remote.post(server(&remote)?, &path, &body).await?;
            crate::output::outln!(
                "scheduled maintenance {} on {page}: {} to {}",
                window["id"].as_str().unwrap_or("?"),
                format_millis(starts),
                format_millis(starts + length)
            );
        }
        MaintenanceCommand::End { page, id, remote } => {
            let path = format!("/api/v1/status-pages/{}/maintenance/{}/end", encode(&page), encode(&id));
            let window = remote.post(server(&remote)?, &path, &json!({})).await?;
            let how = if window["cancelled"].as_bool() == Some(true) { "cancelled" } else { "ended" };
            crate::output::outln!("{how} maintenance {id} on {page}");
        }
        MaintenanceCommand::List { page, remote } => {
            let path = format!("/api/v1/status-pages/{}/maintenance", encode(&page));
            let listed = remote.get(server(&remote)?, &path).await?;
            crate::output::outln!("{:<22} {:<12} {:<26} {:<26} TITLE", "ID", "STATE", "STARTS", "ENDS");
            for w in listed["maintenance"].as_array().into_iter().flatten() {
                let at = |k: &str| w[k].as_i64().map(format_millis).unwrap_or_default();
                crate::output::outln!(
                    "{:<22} {:<12} {:<26} {:<26} {}",
                    w["id"].as_str().unwrap_or(""),
                    w["state"].as_str().unwrap_or(""),
                    at("starts"),
                    at("ends"),
                    w["title"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
