//! `vigil monitors [show] [NAME]`: each monitor's worst tier, series count, last and next check,
//! and uptime over 24 hours, 7 days and 30 days, from a running `vigil serve`. With NAME, each
//! series with its value, tier and uptime. `vigil monitors show NAME --workflow` prints the equivalent Conductor
//! workflow from the config files instead (`--schedule`: the schedule that runs it), so a check can
//! graduate to a hand-written workflow.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// One monitor, with its series (`show NAME` reads the same).
    #[arg(num_args = 0..=2, value_name = "NAME")]
    pub words: Vec<String>,
    /// Print the monitor as an equivalent Conductor workflow (JSON), from the config files.
    #[arg(long, conflicts_with = "schedule")]
    pub workflow: bool,
    /// Print the schedule (Conductor's JSON) that runs that workflow as often as the monitor runs.
    #[arg(long)]
    pub schedule: bool,
    /// The config directory, for `--workflow` and `--schedule`.
    #[arg(long, env = "VIGIL_CONFIG", default_value = ".")]
    pub config: std::path::PathBuf,
    /// The running `vigil serve`.
    #[arg(long, env = "VIGIL_SERVER", default_value = "http://127.0.0.1:7700")]
    pub server: String,
    /// API token (when its auth is on).
    #[arg(long, env = "VIGIL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Prints the monitors.
pub async fn run(mut args: Args) -> Result<ExitCode> {
    if args.words.first().is_some_and(|w| w == "show") && args.words.len() == 2 {
        args.words.remove(0);
    }
    if args.words.len() > 1 {
        anyhow::bail!("expected `vigil monitors [NAME]` or `vigil monitors show NAME`, got `{}`", args.words.join(" "));
    }
    let name = args.words.pop();
    if args.workflow || args.schedule {
        let Some(name) = name else {
            anyhow::bail!("--workflow and --schedule need a monitor: `vigil monitors show NAME --workflow`")
        };
        return export(&args, &name);
    }
    let remote = super::remote::RemoteArgs { server: Some(args.server.clone()), token: args.token.clone() };
    let text = |v: &Value| {
        v.as_str().map_or_else(|| if v.is_null() { "-".to_string() } else { v.to_string() }, str::to_string)
    };
    match &name {
        None => {
            let list = remote.get(&args.server, "/api/v1/monitors").await?;
            crate::output::outln!(
                "{:<28} {:<11} {:<9} {:>6}  {:>8} {:>8} {:>8}  {:<24} {:<24}",
                "NAME",
                "SOURCE",
                "TIER",
                "SERIES",
                "UP 24H",
                "UP 7D",
                "UP 30D",
                "LAST CHECK",
                "NEXT CHECK"
            );
            for m in list["items"].as_array().into_iter().flatten() {
                crate::output::outln!(
                    "{:<28} {:<11} {:<9} {:>6}  {:>8} {:>8} {:>8}  {:<24} {:<24}",
                    text(&m["name"]),
                    text(&m["source"]),
                    text(&m["tier"]),
                    text(&m["series"]),
                    percent(&m["uptime"]["24h"]),
                    percent(&m["uptime"]["7d"]),
                    percent(&m["uptime"]["30d"]),
                    text(&m["lastCheck"]),
                    if m["paused"] == Value::Bool(true) { "paused".to_string() } else { text(&m["nextCheck"]) }
                );
            }
        }
        Some(name) => {
            let m = remote.get(&args.server, &format!("/api/v1/monitors/{}", super::remote::encode(name))).await?;
            crate::output::outln!(
                "{}: {} source, {}; last check {} ({} ms), next {}",
                text(&m["name"]),
                text(&m["source"]),
                text(&m["tier"]),
                text(&m["lastCheck"]),
                text(&m["tookMs"]),
                text(&m["nextCheck"])
            );
            if !m["error"].is_null() {
                crate::output::outln!("  source error: {}", text(&m["error"]));
            }
            let up = &m["uptime"];
            crate::output::outln!(
                "  uptime: 24h {}, 7d {}, 30d {}",
                percent(&up["24h"]),
                percent(&up["7d"]),
                percent(&up["30d"])
            );
            for s in m["series"].as_array().into_iter().flatten() {
                let note = if s["note"].is_null() { String::new() } else { format!("  ({})", text(&s["note"])) };
                let uptime = format!(
                    "  uptime {} / {} / {}",
                    percent(&s["uptime"]["24h"]),
                    percent(&s["uptime"]["7d"]),
                    percent(&s["uptime"]["30d"])
                );
                crate::output::outln!(
                    "  {:<40} {:<9} {:>10}{uptime}{note}",
                    text(&s["key"]),
                    text(&s["tier"]),
                    text(&s["value"])
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An uptime ratio as a percentage (`-` without checks).
fn percent(v: &Value) -> String {
    v.as_f64().map_or("-".to_string(), |u| format!("{:.2}%", u * 100.0))
}

/// `--workflow` / `--schedule`: the monitor from the config files, as a workflow or schedule.
fn export(args: &Args, name: &str) -> Result<ExitCode> {
    let config = crate::setup::load_config(&args.config)?;
    let Some(def) = config.monitors.iter().find(|m| m.name == name) else {
        let known: Vec<&str> = config.monitors.iter().map(|m| m.name.as_str()).collect();
        let hint = vigil_core::diagnostic::did_you_mean(name, known.iter().copied()).unwrap_or_default();
        anyhow::bail!("monitor `{name}` is not defined in {} {hint}", args.config.display());
    };
    use vigil_core::monitor::export;
    if let Some(why) = export::no_equivalent(def) {
        anyhow::bail!("monitor `{name}` has no workflow equivalent: {why}");
    }
    let doc = if args.schedule {
        export::schedule(def).map_err(|e| anyhow::anyhow!("monitor `{name}`: {e}"))?
    } else {
        for limit in export::limits(def) {
            eprintln!("note: unlike the monitor, {limit}");
        }
        export::to_workflow(def).ok_or_else(|| anyhow::anyhow!("monitor `{name}` has no workflow equivalent"))?
    };
    crate::output::outln!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}
