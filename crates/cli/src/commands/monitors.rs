//! `vigil monitors [NAME]`: each monitor's worst tier, series count, last and next check, from a
//! running `vigil serve` (checks are not stored; the running node knows them). With NAME, each
//! series with its value and tier.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// One monitor, with its series.
    pub name: Option<String>,
    /// The running `vigil serve`.
    #[arg(long, env = "VIGIL_SERVER", default_value = "http://127.0.0.1:7700")]
    pub server: String,
    /// API token (when its auth is on).
    #[arg(long, env = "VIGIL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Prints the monitors.
pub async fn run(args: Args) -> Result<ExitCode> {
    let remote = super::remote::RemoteArgs { server: Some(args.server.clone()), token: args.token.clone() };
    let text = |v: &Value| {
        v.as_str().map_or_else(|| if v.is_null() { "-".to_string() } else { v.to_string() }, str::to_string)
    };
    match &args.name {
        None => {
            let list = remote.get(&args.server, "/api/v1/monitors").await?;
            crate::output::outln!(
                "{:<28} {:<11} {:<9} {:>6}  {:<24} {:<24}",
                "NAME",
                "SOURCE",
                "TIER",
                "SERIES",
                "LAST CHECK",
                "NEXT CHECK"
            );
            for m in list["items"].as_array().into_iter().flatten() {
                crate::output::outln!(
                    "{:<28} {:<11} {:<9} {:>6}  {:<24} {:<24}",
                    text(&m["name"]),
                    text(&m["source"]),
                    text(&m["tier"]),
                    text(&m["series"]),
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
            for s in m["series"].as_array().into_iter().flatten() {
                let note = if s["note"].is_null() { String::new() } else { format!("  ({})", text(&s["note"])) };
                crate::output::outln!(
                    "  {:<40} {:<9} {:>10}{note}",
                    text(&s["key"]),
                    text(&s["tier"]),
                    text(&s["value"])
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
