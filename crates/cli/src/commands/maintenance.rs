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
        repeat: Box<RepeatArgs>,
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

/// How a window repeats (none of these: it happens once).
#[derive(clap::Args)]
pub struct RepeatArgs {
    /// Repeats every `day`, `week` or `month`, or a count of them (`2 weeks`); `--for` is each
    /// occurrence's length, `--from` when the series begins.
    #[arg(long, conflicts_with = "cron")]
    every: Option<String>,
    /// With --every: the local time each starts (`02:00`; midnight by default).
    #[arg(long, requires = "every")]
    at: Option<String>,
    /// With --every week: a weekday (`mon`); with --every month: a day of the month (`15`,
    /// `last`). Repeat for more.
    #[arg(long = "day", requires = "every")]
    days: Vec<String>,
    /// Repeats at each time of this cron expression (`0 2 * * 1-5`).
    #[arg(long)]
    cron: Option<String>,
    /// The IANA time zone of --at and --cron (UTC by default).
    #[arg(long = "tz", value_name = "ZONE")]
    timezone: Option<String>,
    /// When a recurring window stops repeating (a duration from now, a zoned time or RFC
    /// 3339); never by default.
    #[arg(long)]
    until: Option<String>,
    /// Tells the page's subscribers of each occurrence.
    #[arg(long)]
    notify: bool,
}

impl RepeatArgs {
    /// The API's `repeat`, when the window repeats.
    fn body(&self, length: &str) -> Option<serde_json::Value> {
        if self.every.is_none() && self.cron.is_none() {
            return None;
        }
        let days: Vec<serde_json::Value> =
            self.days.iter().map(|d| d.parse::<i64>().map_or_else(|_| json!(d), |n| json!(n))).collect();
        Some(json!({
            "every": self.every, "cron": self.cron, "at": self.at, "days": days,
            "timezone": self.timezone, "for": length, "notify": self.notify,
        }))
    }
}

/// A time as `--from` and `--until` take it, in milliseconds.
fn time_arg(flag: &str, text: &str, now: i64) -> Result<i64> {
    parse_duration(text).map(|d| now + d).or_else(|_| parse_until(text)).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// A scheduled series in words: how it repeats.
fn repeat_words(window: &serde_json::Value) -> String {
    let r = &window["repeat"];
    let what = match r["cron"].as_str() {
        Some(cron) => format!("at `{cron}`"),
        None => format!("every {} at {}", r["every"].as_str().unwrap_or("?"), r["at"].as_str().unwrap_or("00:00")),
    };
    format!("{what} ({}), for {}", r["timezone"].as_str().unwrap_or("UTC"), r["for"].as_str().unwrap_or("?"))
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
        MaintenanceCommand::Schedule {
            page,
            title,
            from,
            length: length_text,
            message,
            components,
            repeat,
            remote,
        } => {
            let now = jiff::Timestamp::now().as_millisecond();
            let starts = match from.as_deref() {
                None => now,
                Some(text) => time_arg("--from", text, now)?,
            };
            let length = parse_duration(&length_text).map_err(|e| anyhow::anyhow!("--for: {e}"))?;
            if length <= 0 {
                bail!("--for: must be positive");
            }
            let path = format!("/api/v1/status-pages/{}/maintenance", encode(&page));
            if let Some(rule) = repeat.body(&length_text) {
                let until = repeat.until.as_deref().map(|t| time_arg("--until", t, now)).transpose()?;
                let body = json!({ "title": title, "message": message, "components": components, "starts": starts, "ends": until.unwrap_or(0), "repeat": rule });
                let window = remote.post(server(&remote)?, &path, &body).await?;
                crate::output::outln!(
                    "scheduled recurring maintenance {} on {page}: {}",
                    window["id"].as_str().unwrap_or("?"),
                    repeat_words(&window)
                );
                return Ok(ExitCode::SUCCESS);
            }
            if repeat.until.is_some() || repeat.notify || repeat.timezone.is_some() {
                bail!("--until, --notify and --tz go with a recurring window (--every or --cron)");
            }
            let body = json!({ "title": title, "message": message, "components": components, "starts": starts, "ends": starts + length });
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
                // A recurring window: its occurrence under way or next.
                let shown = if w["next"].is_object() { &w["next"] } else { w };
                let at = |k: &str| shown[k].as_i64().map(format_millis).unwrap_or_default();
                let repeats = w["repeats"].as_str().map(|r| format!(" (repeats {r})")).unwrap_or_default();
                crate::output::outln!(
                    "{:<22} {:<12} {:<26} {:<26} {}{repeats}",
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
