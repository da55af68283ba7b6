//! `vigil alerts`, `vigil alert ack`, `vigil silence ...`, `vigil notify test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use vigil_connectors::notifiers::{AlertMessage, NotifierConfig, Outcome, Severity, deliver};
use vigil_core::alert::Notice;
use vigil_core::time::{Clock, format_millis, parse_duration};
use vigil_runtime::SystemClock;
use vigil_store::{OutboxStatus, SilenceRow};

use crate::setup::DbArgs;
use crate::setup::{load_all, load_secrets, open_store};

/// Arguments of `vigil alerts`.
#[derive(clap::Args)]
pub struct AlertsArgs {
    /// Also list alerts that are not firing or pending.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Lists alerts with state, since when, and when last notified; then failed notifications.
pub async fn list(args: AlertsArgs) -> Result<ExitCode> {
    let store = open_store(&args.db.db).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let rows = vigil_runtime::alert_rows::read(&*store, !args.all, 500, now).await?;
    crate::output::outln!("{:<48} {:<8} {:<5} {:<26} LAST NOTIFIED", "DEDUP KEY", "STATE", "ACK", "SINCE");
    for r in rows {
        let since = r.firing_since.map(format_millis).unwrap_or_else(|| "-".into());
        let last = r.last_notified.map(format_millis).unwrap_or_else(|| "-".into());
        let ack = if r.acknowledged { "yes" } else { "no" };
        crate::output::outln!("{:<48} {:<8} {ack:<5} {since:<26} {last}", r.dedup_key, r.condition);
    }
    let failed = store.outbox(OutboxStatus::Failed, 20).await?;
    if !failed.is_empty() {
        crate::output::outln!("\nnotifications that failed for good (newest first):");
        for f in failed {
            let at = f.finished_at.map(format_millis).unwrap_or_default();
            crate::output::outln!(
                "  {at}  {} → {} ({}): {}",
                f.dedup_key,
                f.notifier,
                f.notice,
                f.last_error.unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vigil alert ...`.
#[derive(Subcommand)]
pub enum AlertCommand {
    /// Acknowledge an alert: reminders stop and providers are told (applied within seconds by
    /// the running `vigil serve`, or at its next start).
    Ack {
        /// The dedup key, as `vigil alerts` shows it.
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs `vigil alert ...`.
pub async fn alert(cmd: AlertCommand) -> Result<ExitCode> {
    let AlertCommand::Ack { key, db } = cmd;
    let store = open_store(&db.db).await?;
    let Some(row) = store.alert(&key).await? else {
        // A routed pushed alert has no record of its own: its groups are acknowledged.
        let groups = vigil_runtime::alert_rows::groups_holding(&*store, &key).await?;
        if groups.is_empty() {
            eprintln!("error: no alert with dedup key `{key}` (see `vigil alerts --all`)");
            return Ok(ExitCode::from(1));
        }
        for group in &groups {
            store.request_ack(group, SystemClock.now()).await?;
        }
        crate::output::outln!("acknowledgement of `{key}` recorded (through its {} group(s))", groups.len());
        return Ok(ExitCode::SUCCESS);
    };
    if row.condition != "firing" {
        eprintln!("error: alert `{key}` is {}, not firing", row.condition);
        return Ok(ExitCode::from(1));
    }
    let state: serde_json::Value = serde_json::from_str(&row.state).unwrap_or_default();
    if state["state"]["notified_firing"] != serde_json::Value::Bool(true) {
        eprintln!("error: alert `{key}` has not paged anyone yet (a silence holds it back); nothing to acknowledge");
        return Ok(ExitCode::from(1));
    }
    store.request_ack(&key, SystemClock.now()).await?;
    crate::output::outln!("acknowledgement of `{key}` recorded");
    Ok(ExitCode::SUCCESS)
}

/// `vigil silence ...`.
#[derive(Subcommand)]
pub enum SilenceCommand {
    /// Silence alerts whose labels match every `--match label=value`.
    Add {
        /// `label=value`; repeat for more.
        #[arg(long = "match", required = true, value_name = "LABEL=VALUE")]
        matchers: Vec<String>,
        /// How long, such as `2h` or `30m` (with `--until-resolved`: the longest, 7 days by
        /// default).
        #[arg(long = "for", required_unless_present = "until_resolved")]
        duration: Option<String>,
        /// End once nothing it matches fires (refused when nothing it matches fires now).
        #[arg(long)]
        until_resolved: bool,
        /// When it starts, for a maintenance window to come (`2026-12-01 22:00 Europe/Berlin`,
        /// RFC 3339, or a duration from now such as `3h`); now by default.
        #[arg(long)]
        from: Option<String>,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List silences.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a silence.
    Rm {
        /// Silence id.
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs `vigil silence ...`.
pub async fn silence(cmd: SilenceCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        SilenceCommand::Add { matchers, duration, until_resolved, from, comment, db } => {
            let mut labels = BTreeMap::new();
            for m in &matchers {
                let (k, v) = m
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .with_context(|| format!("--match `{m}` must look like label=value"))?;
                labels.insert(k.to_string(), v.to_string());
            }
            let ms = match duration {
                Some(d) => parse_duration(&d).map_err(|e| anyhow::anyhow!("--for: {e}"))?,
                None => vigil_runtime::until_resolved::LONGEST_MS,
            };
            let start = match from.as_deref() {
                None => now,
                Some(text) => parse_duration(text)
                    .map(|d| now + d)
                    .or_else(|_| vigil_core::time::parse_until(text))
                    .map_err(|e| anyhow::anyhow!("--from: {e}"))?,
            };
            let id = format!("s-{now:x}");
            let store = open_store(&db.db).await?;
            let row = SilenceRow {
                id: id.clone(),
                matchers: serde_json::to_string(&labels)?,
                ends_at: start + ms,
                starts_at: (start > now).then_some(start),
                created_at: now,
                comment,
                created_by: None,
                until_resolved,
            };
            if until_resolved && !vigil_runtime::until_resolved::matches_firing(&*store, &row, now).await? {
                eprintln!(
                    "error: nothing that fires matches these matchers: a silence until resolved would end at once"
                );
                return Ok(ExitCode::from(1));
            }
            store.put_silence(&row).await?;
            if until_resolved {
                crate::output::outln!(
                    "silence {id} until nothing it matches fires, at the latest {}",
                    format_millis(start + ms)
                );
            } else if start > now {
                crate::output::outln!("silence {id} from {} until {}", format_millis(start), format_millis(start + ms));
            } else {
                crate::output::outln!("silence {id} until {}", format_millis(start + ms));
            }
        }
        SilenceCommand::List { db } => {
            let store = open_store(&db.db).await?;
            crate::output::outln!("{:<16} {:<26} {:<8} MATCHERS", "ID", "ENDS", "ACTIVE");
            for s in store.silences().await? {
                let active = match s.starts_at {
                    _ if s.ends_at <= now => "expired".to_string(),
                    Some(start) if start > now => format!("from {}", format_millis(start)),
                    _ if s.until_resolved => "until resolved".to_string(),
                    _ => "yes".to_string(),
                };
                crate::output::outln!(
                    "{:<16} {:<26} {active:<8} {}  {}",
                    s.id,
                    format_millis(s.ends_at),
                    s.matchers,
                    s.comment.unwrap_or_default()
                );
            }
        }
        SilenceCommand::Rm { id, db } => {
            let store = open_store(&db.db).await?;
            if !store.delete_silence(&id).await? {
                eprintln!("error: no silence `{id}`");
                return Ok(ExitCode::from(1));
            }
            crate::output::outln!("silence {id} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vigil notify ...`.
#[derive(Subcommand)]
pub enum NotifyCommand {
    /// Send a clearly marked test message through one notifier, now.
    Test {
        /// Notifier name.
        notifier: String,
        /// Config directory with `notifiers/`.
        #[arg(long, env = "VIGIL_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs `vigil notify test`.
pub async fn notify(cmd: NotifyCommand) -> Result<ExitCode> {
    let NotifyCommand::Test { notifier, config, db } = cmd;
    let store = open_store(&db.db).await?;
    let secrets = load_secrets(store.as_ref(), &db.db).await?;
    let (_, notifiers) = load_all(&config, Some(&secrets))?;
    let Some(target) = notifiers.iter().find(|n| n.name() == notifier) else {
        let known: Vec<&str> = notifiers.iter().map(|n| n.name()).collect();
        eprintln!("error: notifier `{notifier}` is not defined (known: {})", known.join(", "));
        return Ok(ExitCode::from(1));
    };
    let summary = format!("Test message from vigil to notifier `{notifier}`; no action needed");
    match send_info(target, &format!("vigil-test/{notifier}"), &summary, "vigil/notify-test", true).await {
        Outcome::Delivered => {
            crate::output::outln!("test message delivered through `{notifier}`");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Retry { reason, .. } | Outcome::Permanent { reason } => {
            // The endpoint's answer may echo a secret-bearing URL or header.
            let reason = vigil_core::interpreter::Secrets::scrub_text(&secrets, reason);
            eprintln!("error: `{notifier}` did not accept the test message: {reason}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Sends a clearly marked informational message (`[TEST]`), and closes it again on incident
/// tools so nothing stays open. Used by `vigil notify test` and the startup heartbeat.
pub async fn send_info(target: &NotifierConfig, key: &str, summary: &str, source: &str, test: bool) -> Outcome {
    let now = SystemClock.now();
    let msg = AlertMessage {
        notice: Notice::Trigger,
        dedup_key: format!("{key}/{now}"),
        name: "vigil notice".into(),
        severity: Severity::Info,
        summary: summary.to_string(),
        details: serde_json::json!({"sent_at": format_millis(now)}),
        labels: BTreeMap::new(),
        source: source.into(),
        firing_since: now,
        at: now,
        links: Vec::new(),
        test,
        rendered: Default::default(),
    };
    let client = vigil_connectors::http_client();
    // PagerDuty: a Change Event, which opens no incident (a trigger and a resolve would page).
    if let NotifierConfig::Pagerduty(pd) = target {
        return match pd.change_request(summary, source, msg.details.clone(), now) {
            Ok(req) => vigil_connectors::notifiers::send(&client, target, &req, Duration::from_secs(10)).await,
            Err(e) => Outcome::Permanent { reason: e.to_string() },
        };
    }
    // Opsgenie has no informational message: the startup notice pings its heartbeat, if one is
    // named, instead of opening and closing an alert (a test message still shows as an alert).
    if let (NotifierConfig::Opsgenie(og), false) = (target, test) {
        return match og.heartbeat_request() {
            Some(req) => vigil_connectors::notifiers::send(&client, target, &req, Duration::from_secs(10)).await,
            None => Outcome::Permanent {
                reason: "Opsgenie has no informational message: name an Opsgenie heartbeat (`heartbeat: NAME`) for vigil to ping".into(),
            },
        };
    }
    let outcome = deliver(&client, target, &msg, now, Duration::from_secs(10)).await;
    if outcome == Outcome::Delivered && matches!(target, NotifierConfig::Pagerduty(_) | NotifierConfig::Opsgenie(_)) {
        let resolve = AlertMessage { notice: Notice::Resolve, ..msg };
        let _ = deliver(&client, target, &resolve, now, Duration::from_secs(10)).await;
    }
    outcome
}
