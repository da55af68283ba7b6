//! `vigil check NAME`: runs one monitor now against its real source and prints each series'
//! value, tier and the notice it would send. Nothing is sent unless `--notify` says so (Robopager's
//! `-c` pages for real, which its users regret). Exit codes follow the Nagios plugin convention:
//! 0 ok, 1 warning, 2 critical, 3 unknown (the source failed, or the monitor could not be run).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use vigil_connectors::notifiers::{AlertMessage, NotifierConfig, Outcome, Severity, deliver};
use vigil_connectors::sources::Source;
use vigil_core::alert::{Notice, Tier};
use vigil_core::instance::SecretSource;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Answer, Memory, evaluate};
use vigil_core::time::Clock;
use vigil_runtime::SystemClock;

use crate::setup::DbArgs;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The monitor.
    pub name: String,
    /// The config directory.
    #[arg(long, env = "VIGIL_CONFIG", default_value = ".")]
    pub config: PathBuf,
    /// Send the notices for real.
    #[arg(long)]
    pub notify: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Nagios' "unknown".
const UNKNOWN: u8 = 3;

/// Runs the check; any failure to run it is "unknown", never mistaken for "critical".
pub async fn run(args: Args) -> Result<ExitCode> {
    match check(&args).await {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(UNKNOWN))
        }
    }
}

async fn check(args: &Args) -> Result<ExitCode> {
    let store = crate::setup::open_store(&args.db.db).await?;
    let secrets = crate::setup::load_secrets(store.as_ref(), &args.db.db).await?;
    // Notifiers' credentials matter only to send, and only the monitor's own: a secret another
    // notifier names and nobody set does not stop a dry run.
    let (config, _) = crate::setup::load_all(&args.config, None)?;
    let Some(def) = config.monitors.iter().find(|m| m.name == args.name) else {
        let known: Vec<&str> = config.monitors.iter().map(|m| m.name.as_str()).collect();
        let hint = vigil_core::diagnostic::did_you_mean(&args.name, known.iter().copied()).unwrap_or_default();
        anyhow::bail!(
            "monitor `{}` is not defined in {} {hint} (known: {})",
            args.name,
            args.config.display(),
            known.join(", ")
        );
    };
    let (readings, answer) = match &def.heartbeat {
        Some(hb) => heartbeat_readings(store.as_ref(), def, hb).await?,
        None => ask_source(store.as_ref(), def, &secrets).await?,
    };
    let mut worst = None::<Tier>;
    let mut to_send = Vec::new();
    for r in &readings {
        let value = r.value.map_or_else(|| "-".to_string(), |v| v.to_string());
        let tier = r.tier.map_or("unchanged", Tier::as_str);
        let note = r.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        crate::output::outln!("  {}  value {value}  {tier}{note}", r.key);
        if let Some(t) = r.tier {
            worst = Some(worst.map_or(t, |w| w.max(t)));
        }
        if let Some(t) = r.tier.filter(|t| *t > Tier::Ok) {
            let route = def.notify.get(t).to_vec();
            let to = if route.is_empty() { "nobody (no notifier for this tier)".to_string() } else { route.join(", ") };
            let verb = if args.notify { "sends" } else { "would send" };
            crate::output::outln!("    {verb} a trigger ({}) to {to}: {}", t.as_str(), r.summary);
            to_send.push((r.clone(), t, route));
        }
    }
    if args.notify {
        let notifiers = used_notifiers(def, &args.config, &secrets)?;
        send(def, &to_send, &notifiers).await?;
    } else if !to_send.is_empty() {
        crate::output::outln!("  (nothing sent: add --notify to send)");
    }
    Ok(match (worst, &answer) {
        (_, Answer::Failed(_)) if worst.is_none() => ExitCode::from(UNKNOWN),
        (Some(Tier::Critical), _) => ExitCode::from(2),
        (Some(Tier::Warning), _) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// The notifiers `def` routes to, with their credentials; a problem in one of them is an error,
/// a problem in another is not.
fn used_notifiers(
    def: &MonitorDef,
    config: &std::path::Path,
    secrets: &vigil_runtime::SecretValues,
) -> Result<Vec<NotifierConfig>> {
    let lookup = |kind: &str, name: &str| if kind == "secrets" { secrets.secret(name) } else { secrets.env(name) };
    let (loaded, diags) = vigil_connectors::notifiers::load::load_dir(&config.join("notifiers"), Some(&lookup));
    let used: std::collections::BTreeSet<&String> = def.notify.names().collect();
    let missing: Vec<&String> =
        used.iter().copied().filter(|n| !loaded.iter().any(|l| l.name() == n.as_str())).collect();
    if !missing.is_empty() {
        for d in &diags {
            eprintln!("{d}");
        }
        let names: Vec<&str> = missing.iter().map(|n| n.as_str()).collect();
        anyhow::bail!("notifier(s) {} of monitor `{}` did not load (problems above)", names.join(", "), def.name);
    }
    Ok(loaded)
}

/// Asks the monitor's source once and evaluates the answer.
async fn ask_source(
    store: &dyn vigil_store::Store,
    def: &MonitorDef,
    secrets: &vigil_runtime::SecretValues,
) -> Result<(Vec<vigil_core::monitor::evaluate::Reading>, Answer)> {
    let lookup = |kind: &str, name: &str| if kind == "secrets" { secrets.secret(name) } else { secrets.env(name) };
    let source = Source::build(&def.source, &lookup)
        .map_err(|p| anyhow::anyhow!("source.{}.{}: {}", def.source.kind, p.path, p.message))?;
    let started = Instant::now();
    let mut evidence = None;
    let answer = match &source {
        // A browser check's evidence is shown here, not kept in the store.
        Source::Browser(browser) => {
            let (answer, left) = browser.visit().await;
            evidence = left;
            answer
        }
        _ => {
            let client = vigil_connectors::http_client();
            vigil_runtime::monitors::ask_with_store(&client, store, &source, SystemClock.now(), &def.name).await
        }
    };
    let took = started.elapsed();
    crate::output::outln!("{}: {} source answered in {} ms", def.name, def.source.kind, took.as_millis());
    if let Answer::Failed(error) = &answer {
        crate::output::outln!("  source error: {error}");
    }
    if let Some(e) = evidence {
        show_evidence(&def.name, &e);
    }
    let readings = evaluate(def, &mut Memory::default(), &answer);
    Ok((readings, answer))
}

/// Where a failed browser check's screenshot went, and its page's console.
fn show_evidence(monitor: &str, e: &vigil_connectors::sources::browser::Evidence) {
    crate::output::outln!("  failed: {}", e.note);
    if !e.screenshot.is_empty() {
        let name: String =
            monitor.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let path = std::env::temp_dir().join(format!("vigil-check-{name}.png"));
        match std::fs::write(&path, &e.screenshot) {
            Ok(()) => crate::output::outln!("  screenshot: {}", path.display()),
            Err(error) => crate::output::outln!("  screenshot not written to {}: {error}", path.display()),
        }
    }
    if !e.console.is_empty() {
        crate::output::outln!("  console:");
        for line in e.console.lines() {
            crate::output::outln!("    {line}");
        }
    }
}

/// A heartbeat's verdict now, from the pings stored so far (a heartbeat is pinged, not asked).
async fn heartbeat_readings(
    store: &dyn vigil_store::Store,
    def: &MonitorDef,
    hb: &vigil_core::monitor::HeartbeatDef,
) -> Result<(Vec<vigil_core::monitor::evaluate::Reading>, Answer)> {
    let state = store.heartbeats(0).await?.into_iter().find(|h| h.monitor == def.name);
    let now = SystemClock.now();
    let beats = state.as_ref().map(|h| h.beats).unwrap_or_default();
    match beats.success.max(beats.start).max(beats.fail) {
        Some(at) => crate::output::outln!("{}: heartbeat, last ping {}", def.name, vigil_core::time::format_millis(at)),
        None => crate::output::outln!("{}: heartbeat, no ping stored yet", def.name),
    }
    // Without any ping, watching starts now: the first ping is due one period from here.
    let (reading, _) = vigil_core::monitor::expect::heartbeat_reading(def, &hb.expect, &beats, now, now);
    Ok((vec![reading], Answer::Samples(Vec::new())))
}

/// Sends each trigger to its route now, outside the engine (no alert state is kept).
async fn send(
    def: &MonitorDef,
    to_send: &[(vigil_core::monitor::evaluate::Reading, Tier, Vec<String>)],
    notifiers: &[NotifierConfig],
) -> Result<()> {
    let client = vigil_connectors::http_client();
    let now = SystemClock.now();
    for (reading, tier, route) in to_send {
        let msg = AlertMessage {
            notice: Notice::Trigger,
            dedup_key: reading.key.clone(),
            name: def.name.clone(),
            severity: if *tier == Tier::Critical { Severity::Critical } else { Severity::Warning },
            summary: reading.summary.clone(),
            details: serde_json::json!({"value": reading.value, "note": reading.note}),
            labels: reading.labels.clone().into_iter().collect::<BTreeMap<_, _>>(),
            source: format!("vigil/monitor/{}", def.name),
            firing_since: now,
            at: now,
            links: Vec::new(),
            test: false,
            rendered: Default::default(),
        };
        for name in route {
            let target = notifiers
                .iter()
                .find(|n| n.name() == name)
                .with_context(|| format!("notifier `{name}` is not defined"))?;
            match deliver(&client, target, &msg, now, Duration::from_secs(10)).await {
                Outcome::Delivered => crate::output::outln!("    sent to {name}"),
                Outcome::Retry { reason, .. } | Outcome::Permanent { reason } => {
                    crate::output::outln!("    {name} did not accept it: {reason}")
                }
            }
        }
    }
    Ok(())
}
