//! `vigil test [PATH]`: runs the `tests:` blocks of monitors offline, on a manual clock, with
//! canned source answers (no network, no store, no notices sent), and prints a diff for each
//! mismatch. Exit 0 when every test passes, 1 when one fails or a definition is invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vigil_core::diagnostic::Severity;
use vigil_core::monitor::testing;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// A config directory (its monitors/), a directory of monitor files, or one file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Also print every notice each test would send.
    #[arg(long, short)]
    pub verbose: bool,
}

/// A monitor's source when it is judged by conditions (HTTP, TCP, DNS, ...), so canned answers
/// (`status`, `body`, `response_time`, `dns_rcode`, ...) are judged as a live check would be.
fn conditions_source(def: &vigil_core::monitor::MonitorDef) -> Option<vigil_connectors::sources::Source> {
    let source = vigil_connectors::sources::Source::from_spec(&def.source).ok()?;
    source.judge().is_some().then_some(source)
}

/// `test` with each canned answer passed through the source's conditions.
fn judged(source: &vigil_connectors::sources::Source, test: &testing::MonitorTest) -> testing::MonitorTest {
    use serde_json::Value;
    use vigil_core::monitor::evaluate::Answer;
    let judge = source.judge().expect("a source judged by conditions");
    let answers = test
        .answers
        .iter()
        .map(|answer| match answer {
            Answer::Samples(samples) if samples.len() == 1 => {
                let f = &samples[0].fields;
                let seen = vigil_connectors::sources::conditions::Observed {
                    connected: f.get("connected").and_then(Value::as_bool).unwrap_or(true),
                    status: f.get("status").and_then(Value::as_u64).unwrap_or(if judge.reports_status() {
                        200
                    } else {
                        0
                    }) as u16,
                    response_time_ms: f.get("response_time").and_then(Value::as_i64).unwrap_or(0),
                    body: f.get("body").cloned().unwrap_or(Value::Null),
                    certificate_expires_in_ms: f.get("certificate_expiration").and_then(Value::as_i64),
                    dns_rcode: f.get("dns_rcode").and_then(Value::as_str).map(str::to_string),
                    ip: f.get("ip").and_then(Value::as_str).map(str::to_string),
                    domain_expires_in_ms: f.get("domain_expiration").and_then(Value::as_i64),
                };
                judge.judge(seen, None)
            }
            other => other.clone(),
        })
        .collect();
    testing::MonitorTest { answers, ..test.clone() }
}

/// When test clocks start: a fixed time, so every run of a test is the same.
const TEST_START: vigil_core::time::Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Runs every monitor test under `path`.
pub async fn run(args: Args) -> Result<ExitCode> {
    if !args.path.exists() {
        anyhow::bail!("{} does not exist", args.path.display());
    }
    let (config, diags) = vigil_core::config::load(&args.path);
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() {
        for d in &errors {
            crate::output::outln!("{d}");
        }
        crate::output::outln!("{} error(s): fix them first (`vigil validate` shows warnings too)", errors.len());
        return Ok(ExitCode::from(1));
    }
    let (mut passed, mut failed, mut untested) = (0, 0, Vec::new());
    for def in &config.monitors {
        if def.tests().is_empty() {
            untested.push(def.name.as_str());
            continue;
        }
        let judge = conditions_source(def);
        for test in def.tests() {
            let test = match &judge {
                Some(source) => judged(source, test),
                None => test.clone(),
            };
            let outcome = testing::run(def, &test, TEST_START);
            if outcome.failures.is_empty() {
                passed += 1;
                crate::output::outln!("ok      {} › {}", def.name, outcome.name);
            } else {
                failed += 1;
                crate::output::outln!("FAILED  {} › {}", def.name, outcome.name);
                for line in &outcome.failures {
                    crate::output::outln!("          {line}");
                }
            }
            if args.verbose || !outcome.failures.is_empty() {
                for s in &outcome.sent {
                    crate::output::outln!(
                        "          run {}: {} {} ({}) → {}: {}",
                        s.run,
                        s.notice.as_str(),
                        s.key,
                        s.tier.as_str(),
                        if s.notifiers.is_empty() { "nobody".to_string() } else { s.notifiers.join(", ") },
                        s.summary
                    );
                }
            }
        }
    }
    if !untested.is_empty() {
        crate::output::outln!("{} monitor(s) without tests: {}", untested.len(), untested.join(", "));
    }
    crate::output::outln!("{passed} passed, {failed} failed");
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
