//! `vigil import robopager CHECKLIST [--etl-cfg FILE] --out DIR`: a Robopager checklist (and its
//! `etl.cfg`) as vigil monitor and notifier files, with the `vigil secret set` commands for the
//! keys it names.
//!
//! - an `email` check becomes an `email` monitor on Gmail's IMAP server (`google_apps`), its
//!   delivery and check times in `timezone`; the account and password become secrets;
//! - a `batchy` check becomes a `job_latency` monitor on `GET {batchy}/get_status/{wf_name}`,
//!   polled every `poll_sec` from `check_time` to the end of the day, critical past
//!   `latency_min`, a warning at 80 % of it (Robopager's rule);
//! - each `pd_service` becomes a PagerDuty notifier whose routing key is a secret (checks sharing
//!   a key share the notifier); `heartbeat` becomes the `startup` notifier for
//!   `vigil serve --heartbeat startup`.
//!
//! Unlike Robopager, the monitors page once per incident and resolve when the check passes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::Value;

mod alertmanager;
mod gatus;
mod prometheus_rules;

/// `vigil import`.
#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// A Robopager checklist.yaml (and etl.cfg) as monitors and notifiers.
    Robopager(RobopagerArgs),
    /// Prometheus alerting rules (`groups`, `rules`) as monitors on the Prometheus source.
    PrometheusRules(prometheus_rules::Args),
    /// An Alertmanager configuration: receivers as notifiers (credentials as secrets), the
    /// routing tree kept.
    Alertmanager(alertmanager::Args),
    /// Gatus' configuration (a file or a directory): endpoints as monitors, alerting providers
    /// as notifiers (credentials as secrets).
    Gatus(gatus::Args),
}

/// `vigil import robopager`.
#[derive(clap::Args)]
pub struct RobopagerArgs {
    /// The checklist (YAML: one check per name).
    pub checklist: PathBuf,
    /// Robopager's etl.cfg: Gmail account, batchy server, heartbeat key, time zone.
    #[arg(long = "etl-cfg")]
    pub etl_cfg: Option<PathBuf>,
    /// The config directory to write (`monitors/`, `notifiers/`).
    #[arg(long)]
    pub out: PathBuf,
}

/// What an import produced.
#[derive(Debug, Default, PartialEq)]
pub struct Imported {
    /// Relative path → file text.
    pub files: BTreeMap<String, String>,
    /// Secret name → the value found for it (printed as a `vigil secret set` command).
    pub secrets: BTreeMap<String, String>,
    /// What the user should know (defaults taken, settings not carried over).
    pub notes: Vec<String>,
}

/// Runs the command.
pub async fn run(cmd: ImportCommand) -> Result<ExitCode> {
    let args = match cmd {
        ImportCommand::Robopager(args) => args,
        ImportCommand::PrometheusRules(args) => {
            let text = std::fs::read_to_string(&args.rules)
                .with_context(|| format!("could not read {}", args.rules.display()))?;
            let imported = prometheus_rules::import(&text, &args.url)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.rules.display()))?;
            return write_out(&imported, &args.out);
        }
        ImportCommand::Gatus(args) => {
            let config = gatus::read(&args.config)?;
            let imported = gatus::import(&config).map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
            return write_out(&imported, &args.out);
        }
        ImportCommand::Alertmanager(args) => {
            let text = std::fs::read_to_string(&args.config)
                .with_context(|| format!("could not read {}", args.config.display()))?;
            let imported = alertmanager::import(&args.config, &text)?;
            return write_out(&imported, &args.out);
        }
    };
    let checklist = std::fs::read_to_string(&args.checklist)
        .with_context(|| format!("could not read {}", args.checklist.display()))?;
    let etl = match &args.etl_cfg {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("could not read {}", p.display()))?),
        None => None,
    };
    let imported =
        robopager(&checklist, etl.as_deref()).map_err(|e| anyhow::anyhow!("{}: {e}", args.checklist.display()))?;
    write_out(&imported, &args.out)
}

/// Writes `imported` under `out` once it validates; prints the secrets to set and the notes.
fn write_out(imported: &Imported, out: &std::path::Path) -> Result<ExitCode> {
    // What is written must validate: checked in a scratch directory first, so a failed import
    // leaves `--out` as it was.
    let scratch = tempfile::tempdir().context("could not make a scratch directory")?;
    for (path, text) in &imported.files {
        let to = scratch.path().join(path);
        std::fs::create_dir_all(to.parent().expect("a file in a directory"))?;
        std::fs::write(&to, text)?;
    }
    let (_, _, diags) = crate::setup::check(scratch.path(), None);
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == vigil_core::diagnostic::Severity::Error).collect();
    if !errors.is_empty() {
        for d in &errors {
            eprintln!("{d}");
        }
        anyhow::bail!("the import would not validate ({} problem(s) above); nothing was written", errors.len());
    }
    for (path, text) in &imported.files {
        let to = out.join(path);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        }
        std::fs::write(&to, text).with_context(|| format!("could not write {}", to.display()))?;
        crate::output::outln!("wrote {}", to.display());
    }
    if !imported.secrets.is_empty() {
        crate::output::outln!("\nStore the keys it found as secrets (run where vigil's database is):");
    }
    for (name, value) in &imported.secrets {
        crate::output::outln!("  printf %s '{}' | vigil secret set {name}", value.replace('\'', "'\\''"));
    }
    for note in &imported.notes {
        crate::output::outln!("note: {note}");
    }
    crate::output::outln!("\nThen: vigil validate {0} && vigil serve --config {0}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Robopager's checklist (and etl.cfg) as vigil files.
pub fn robopager(checklist: &str, etl: Option<&str>) -> Result<Imported> {
    let doc: Value = serde_saphyr::from_str(checklist).map_err(|e| anyhow::anyhow!("not YAML: {e}"))?;
    let Value::Object(checks) = doc else { bail!("a checklist maps each check's name to its settings") };
    let cfg = etl.map(ini).unwrap_or_default();
    let section = |name: &str| cfg.get(name).cloned().unwrap_or_default();
    let mut out = Imported::default();
    let zone = first(&section("timezone"), &["timezone", "tz", "zone", "name"]).unwrap_or_else(|| {
        out.notes.push("no timezone in etl.cfg: times are read as UTC (set `zone:` in each monitor)".into());
        "UTC".into()
    });
    if jiff::tz::TimeZone::get(&zone).is_err() {
        bail!("etl.cfg [timezone]: `{zone}` is not a time zone (an IANA name such as America/New_York)");
    }
    let mut routes: BTreeMap<String, String> = BTreeMap::new();
    for (given, check) in &checks {
        // A check's name becomes a monitor's name and a file's: letters, digits, `-` and `_`.
        let name = &file_name(given);
        if name.trim_matches('-').is_empty() {
            bail!("`{given}`: a check name needs letters or digits");
        }
        if name != given {
            out.notes
                .push(format!("`{given}` is imported as monitor `{name}` (a name is letters, digits, `-` and `_`)"));
        }
        let text = |key: &str| check.get(key).and_then(scalar);
        let kind = text("type").with_context(|| format!("`{name}`: no `type` (email or batchy)"))?;
        let route = match text("pd_service") {
            Some(key) => {
                let next = format!("pagerduty-{}", routes.len() + 1);
                let notifier = routes.entry(key.clone()).or_insert(next).clone();
                out.secrets.insert(secret_name(&notifier), key);
                notifier
            }
            None => bail!("`{name}`: no `pd_service` (the PagerDuty integration key)"),
        };
        let summary = text("pd_description").unwrap_or_else(|| name.clone());
        let monitor = match kind.as_str() {
            "email" => email_monitor(name, check, &zone, &section("google_apps"), &mut out)?,
            "batchy" => batchy_monitor(name, check, &zone, &section("batchy"), &mut out)?,
            other => bail!("`{name}`: unknown check type `{other}` (Robopager has email and batchy)"),
        };
        let text = format!(
            "# Imported from Robopager's `{name}`.\n{monitor}notify: [{route}]\nsummary: {}\nrepeatInterval: never\n",
            quote(&format!("{summary}: ${{tier}}"))
        );
        out.files.insert(format!("monitors/{}.yaml", file_name(name)), text);
    }
    for notifier in routes.values() {
        out.files.insert(
            format!("notifiers/{notifier}.yaml"),
            format!(
                "name: {notifier}\ntype: pagerduty\nrouting_key: ${{workflow.secrets.{}}}\n",
                secret_name(notifier)
            ),
        );
    }
    if let Some(key) = first(&section("heartbeat"), &["key", "integration_key", "pd_service", "service"]) {
        out.secrets.insert("pagerduty_startup".into(), key);
        out.files.insert(
            "notifiers/startup.yaml".into(),
            "name: startup\ntype: pagerduty\nrouting_key: ${workflow.secrets.pagerduty_startup}\n".into(),
        );
        out.notes.push(
            "heartbeat: run `vigil serve --heartbeat startup`; it sends a PagerDuty change event, which opens no incident".into(),
        );
    }
    Ok(out)
}

fn email_monitor(
    name: &str,
    check: &Value,
    zone: &str,
    gmail: &BTreeMap<String, String>,
    out: &mut Imported,
) -> Result<String> {
    let list = |key: &str| -> Vec<String> {
        match check.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            Some(v) => scalar(v).into_iter().collect(),
            None => Vec::new(),
        }
    };
    let time = |key: &str| {
        check.get(key).and_then(clock).with_context(|| format!("`{name}`: `{key}` is not a time such as 03:15"))
    };
    let (delivery, check_time) = (time("delivery_time")?, time("check_time")?);
    if let Some(user) = first(gmail, &["email", "user", "username", "address"]) {
        out.secrets.insert("robopager_gmail_user".into(), user);
    } else {
        out.notes.push("no google_apps email in etl.cfg: set the secret robopager_gmail_user".into());
    }
    match first(gmail, &["password", "pwd", "pass"]) {
        Some(encoded) => {
            use base64::Engine;
            // Robopager keeps the password base64-encoded.
            let password = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or(encoded);
            out.secrets.insert("robopager_gmail_password".into(), password);
        }
        None => out.notes.push(
            "no google_apps password in etl.cfg: set the secret robopager_gmail_password (a Gmail app password)".into(),
        ),
    }
    let yaml_list = |items: Vec<String>| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    // Robopager's subjects are exact; vigil reads `/.../` as a regular expression, so an exact
    // subject of that shape becomes the expression that matches exactly it.
    let subjects: Vec<String> = list("subjects")
        .into_iter()
        .map(|subject| {
            if subject.len() > 2 && subject.starts_with('/') && subject.ends_with('/') {
                out.notes.push(format!(
                    "`{name}`: the exact subject `{subject}` reads as a /regex/ in vigil; written as one that matches it exactly"
                ));
                format!("/^{}$/", regex_lite::escape(&subject))
            } else {
                subject
            }
        })
        .collect();
    Ok(format!(
        "name: {}\nevery: 5m\nzone: {}\nsource:\n  email:\n    host: imap.gmail.com\n    user: ${{workflow.secrets.robopager_gmail_user}}\n    password: ${{workflow.secrets.robopager_gmail_password}}\n    senders: [{}]\n    subjects: [{}]\n    delivery_time: {}\n    check_time: {}\n",
        quote(name),
        quote(zone),
        yaml_list(list("senders")),
        yaml_list(subjects),
        quote(&delivery),
        quote(&check_time),
    ))
}

fn batchy_monitor(
    name: &str,
    check: &Value,
    zone: &str,
    batchy: &BTreeMap<String, String>,
    out: &mut Imported,
) -> Result<String> {
    let wf = check.get("wf_name").and_then(scalar).with_context(|| format!("`{name}`: no `wf_name`"))?;
    let latency: u64 = check
        .get("latency_min")
        .and_then(scalar)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("`{name}`: `latency_min` is a number of minutes"))?;
    let poll: u64 = match check.get("poll_sec").and_then(scalar) {
        None => 180,
        Some(v) => v
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .with_context(|| format!("`{name}`: `poll_sec` is a whole number of seconds above 0, not `{v}`"))?,
    };
    let start = check.get("check_time").and_then(clock).unwrap_or_else(|| "00:00".into());
    let hour: u32 = start[..2].parse().unwrap_or(0);
    // From check_time's hour to the end of the day, every poll_sec (cron with seconds).
    let cron = match poll {
        s if s < 60 => format!("*/{s} * {hour}-23 * * *"),
        s if s.is_multiple_of(60) && s < 3600 => format!("0 */{} {hour}-23 * * *", s / 60),
        _ => format!("0 0 {hour}-23 * * *"),
    };
    if !start.ends_with(":00") || (poll >= 60 && !poll.is_multiple_of(60)) || poll >= 3600 {
        out.notes.push(format!(
            "`{name}`: polled `{cron}` (from {hour}:00, the nearest cron to check_time {start} and poll_sec {poll})"
        ));
    }
    let base = match (first(batchy, &["server", "host"]), first(batchy, &["port"])) {
        (Some(host), port) => {
            let host = if host.starts_with("http://") || host.starts_with("https://") {
                host
            } else {
                format!("http://{host}")
            };
            match port {
                Some(p) => format!("{}:{p}", host.trim_end_matches('/')),
                None => host.trim_end_matches('/').to_string(),
            }
        }
        (None, _) => {
            out.notes.push(format!("no batchy server in etl.cfg: `{name}` asks http://localhost:8080 (edit its url)"));
            "http://localhost:8080".into()
        }
    };
    Ok(format!(
        "name: {}\ncron: {}\nzone: {}\nsource:\n  job_latency:\n    url: {}\n    latency: {latency}m\n    warnAt: 0.8\n",
        quote(name),
        quote(&cron),
        quote(zone),
        quote(&format!("{base}/get_status/{wf}")),
    ))
}

/// A scalar as text (numbers too).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `HH:MM`: as written, or the number YAML 1.1 makes of an unquoted `03:15` (base 60: 195).
fn clock(v: &Value) -> Option<String> {
    let text = match v {
        Value::Number(n) => {
            let minutes = n.as_u64()?;
            format!("{:02}:{:02}", minutes / 60, minutes % 60)
        }
        other => scalar(other)?,
    };
    let t = vigil_core::monitor::daily::parse_clock(&text).ok()?;
    Some(format!("{:02}:{:02}", t.hour(), t.minute()))
}

/// The first of `keys` the section has.
fn first(section: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| section.get(*k)).filter(|v| !v.trim().is_empty()).cloned()
}

/// An INI file: section → key → value (`key = value` or `key: value`; `#` and `;` comments).
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(['#', ';'])) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
        } else if let Some((k, v)) = line.split_once(['=', ':']) {
            out.entry(section.clone()).or_default().insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// A YAML double-quoted scalar (JSON's form, which YAML reads).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

pub(crate) fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

fn secret_name(notifier: &str) -> String {
    notifier.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's two examples, verbatim (seed 001).
    const CHECKLIST: &str = include_str!("../../../../../examples/robopager/checklist.yaml");

    #[test]
    fn the_readme_examples_become_an_email_and_a_job_latency_monitor_sharing_one_notifier() {
        let etl = "[google_apps]\nemail = robot@gmail.com\npassword = c2VjcmV0LXBhc3M=\n[batchy]\nserver = batchy.internal\nport = 8050\n[timezone]\ntimezone = America/New_York\n[heartbeat]\nkey = yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n";
        let out = robopager(CHECKLIST, Some(etl)).unwrap();
        let files: Vec<&str> = out.files.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "monitors/unique_email_check_job_name.yaml",
                "monitors/unique_latency_check_name.yaml",
                "notifiers/pagerduty-1.yaml",
                "notifiers/startup.yaml"
            ]
        );
        let email = &out.files["monitors/unique_email_check_job_name.yaml"];
        assert!(email.contains("delivery_time: \"03:00\"\n    check_time: \"03:15\""), "{email}");
        assert!(email.contains("zone: \"America/New_York\""), "{email}");
        let batchy = &out.files["monitors/unique_latency_check_name.yaml"];
        assert!(batchy.contains("cron: \"0 */3 9-23 * * *\""), "{batchy}");
        assert!(batchy.contains("url: \"http://batchy.internal:8050/get_status/intraday_latency_check\""), "{batchy}");
        assert_eq!(out.secrets["pagerduty_1"], "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        assert_eq!(out.secrets["robopager_gmail_password"], "secret-pass", "base64 as Robopager keeps it");
        assert_eq!(out.secrets["pagerduty_startup"], "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
    }

    #[test]
    fn yaml_1_1_sexagesimal_times_and_bad_checks() {
        assert_eq!(clock(&serde_json::json!(195)), Some("03:15".into()));
        assert_eq!(clock(&serde_json::json!("9:05")), Some("09:05".into()));
        let err = robopager("x:\n  type: sms\n  pd_service: k\n", None).unwrap_err().to_string();
        assert!(err.contains("unknown check type `sms`"), "{err}");
        let err = robopager("x:\n  type: batchy\n  pd_service: k\n  wf_name: w\n", None).unwrap_err().to_string();
        assert!(err.contains("latency_min"), "{err}");
    }

    #[test]
    fn names_zones_and_poll_intervals_that_would_not_work_are_refused_or_renamed() {
        let batchy = |name: &str, poll: &str| {
            format!("{name}:\n  type: batchy\n  pd_service: k\n  wf_name: w\n  latency_min: 30\n  poll_sec: {poll}\n")
        };
        let out = robopager(&batchy("'../../x'", "60"), None).unwrap();
        assert_eq!(out.files.keys().next().map(String::as_str), Some("monitors/------x.yaml"));
        let out = robopager(&batchy("'a/b'", "60"), None).unwrap();
        assert!(out.files["monitors/a-b.yaml"].contains("name: \"a-b\""), "{:?}", out.files);
        assert!(out.notes.iter().any(|n| n.contains("`a/b` is imported as monitor `a-b`")), "{:?}", out.notes);
        for bad in ["0", "-5", "soon"] {
            let err = robopager(&batchy("x", bad), None).unwrap_err().to_string();
            assert!(err.contains("`poll_sec` is a whole number of seconds above 0"), "{bad}: {err}");
        }
        let err = robopager(&batchy("x", "60"), Some("[timezone]\ntimezone = Mars/Base\n")).unwrap_err().to_string();
        assert!(err.contains("`Mars/Base` is not a time zone"), "{err}");
    }

    #[test]
    fn an_exact_subject_shaped_like_a_regex_still_matches_only_itself() {
        let check = "mail:\n  type: email\n  pd_service: k\n  senders: [a@b.c]\n  subjects: ['/var/log (1.2)/', plain]\n  \
                     delivery_time: '03:00'\n  check_time: '03:15'\n";
        let out = robopager(check, None).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&out.files["monitors/mail.yaml"]).unwrap();
        let email: vigil_connectors::sources::email::EmailConfig =
            serde_json::from_value(doc["source"]["email"].clone()).unwrap();
        let matcher = email.matcher().unwrap();
        let from = ["a@b.c".to_string()];
        assert!(matcher.matches(&from, "/var/log (1.2)/"));
        assert!(matcher.matches(&from, "plain"));
        for other in ["var/log (1.2)", "/var/log (1x2)/", "x/var/log (1.2)/", "/var/log (1.2)/ again"] {
            assert!(!matcher.matches(&from, other), "{other}");
        }
        assert!(out.notes.iter().any(|n| n.contains("reads as a /regex/")), "{:?}", out.notes);
    }
}
