//! Conductor's own integration scenarios, run black-box against `vigil serve`.
//!
//! `tests/conductor/harness/*.yaml` translate conductor-oss/conductor's Spock specifications
//! (`test-harness/src/test/groovy/.../test/integration/*.groovy`) step by step into calls of
//! Conductor's REST API; `defs/` holds the workflow definitions those specifications register,
//! copied unchanged from `test-harness/src/test/resources` (Apache-2.0; see `defs/NOTICE`).
//!
//! A scenario marked `differs: <why>` is one where vigil still behaves differently: it must fail
//! (the test says so when it starts to pass, so the list stays true), and the README lists it.
//! An `expect` step marked `differs: <why>` is a state of Conductor's that vigil does not show:
//! it must not hold, and the scenario goes on. Every other scenario must pass. `VIGIL_HARNESS_ONLY=<Spec>[,<Spec>]` runs some files only.
//! With `-- --nocapture` it prints each scenario's outcome and the time each specification took.

use crate::support;

#[path = "../conductor/harness/runner.rs"]
mod runner;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::*;

/// Outcome of one scenario.
enum Outcome {
    /// Every step as Conductor's, but for the steps marked `differs` (why each did).
    Passed(Vec<String>),
    Failed(String),
    Skipped,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductors_integration_scenarios_behave_as_conductors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    // As Conductor's test configuration: conductor.app.max-workflow-variables-payload-size-threshold=2KB.
    // A spec that needs RabbitMQ (`needs: amqp`) runs on it when it is up, else it is skipped.
    let amqp = broker_url("RabbitMQ", "VIGIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
    let mut args = vec!["--max-variables-kb".to_string(), "2".into()];
    if let Some(url) = &amqp {
        args.extend(["--amqp-url".to_string(), url.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, base) = serve_api(&db, &config, free_port(), &args).await;
    let _child = KillOnDrop(child);
    let http = vigil_connectors::http_client();
    let harness = root().join("crates/cli/tests/conductor/harness");
    let defs_dir = harness.join("defs");
    let task_defs = runner::harness_task_defs();
    let resp = http.post(format!("{base}/api/metadata/taskdefs")).json(&task_defs).send().await.unwrap();
    assert!(resp.status().is_success(), "registering the harness task definitions: {}", resp.text().await.unwrap());

    let only: Option<Vec<String>> =
        std::env::var("VIGIL_HARNESS_ONLY").ok().map(|s| s.split(',').map(str::to_string).collect());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&harness)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            only.as_ref().is_none_or(|o| o.contains(&stem))
        })
        .collect();
    files.sort();

    let mut table = Vec::new();
    let mut wrong = Vec::new();
    let mut took = Vec::new();
    for file in &files {
        let file_started = std::time::Instant::now();
        let text = std::fs::read_to_string(file).unwrap();
        let mut spec: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let spec_name = spec["spec"].as_str().unwrap_or("?").to_string();
        // A queue of a broker vigil does not speak, replaced in the spec's files and steps.
        let swap = spec
            .get("replace")
            .map(|r| (r["from"].as_str().unwrap().to_string(), r["to"].as_str().unwrap().to_string()));
        let replace = |v: &Value| -> Value {
            let Some((from, to)) = &swap else { return v.clone() };
            serde_json::from_str(&v.to_string().replace(from.as_str(), to)).unwrap()
        };
        spec["scenarios"] = replace(&spec["scenarios"]);
        let unavailable = (spec["needs"] == "amqp" && amqp.is_none()).then(|| "RabbitMQ is not running".to_string());
        // A definition vigil refuses fails every scenario of the file, with vigil's reason.
        let mut refused = None;
        for file in spec["definitions"].as_array().into_iter().flatten() {
            let file = file.as_str().unwrap();
            let def = replace(&runner::read_definition(&defs_dir.join(file)).unwrap());
            let list = if def.is_array() { def } else { Value::Array(vec![def]) };
            let resp = http.put(format!("{base}/api/metadata/workflow")).json(&list).send().await.unwrap();
            if !resp.status().is_success() {
                refused = Some(format!("registering {file} was refused: {}", resp.text().await.unwrap()));
            }
        }
        for file in spec["eventHandlers"].as_array().into_iter().flatten() {
            let file = file.as_str().unwrap();
            let handler = replace(&runner::read_definition(&defs_dir.join(file)).unwrap());
            let resp = http.post(format!("{base}/api/event")).json(&handler).send().await.unwrap();
            if !resp.status().is_success() {
                refused = Some(format!("registering {file} was refused: {}", resp.text().await.unwrap()));
            }
        }
        for scenario in spec["scenarios"].as_array().into_iter().flatten() {
            let name = scenario["name"].as_str().unwrap_or("?").to_string();
            let differs = scenario.get("differs").and_then(Value::as_str).map(str::to_string);
            let outcome = if scenario.get("skip").is_some() || unavailable.is_some() {
                Outcome::Skipped
            } else if let Some(why) = &refused {
                Outcome::Failed(why.clone())
            } else {
                // A scenario known to differ waits 1 s per step, not 5, before it is counted as
                // differing (one that starts to pass within that is reported either way).
                let settle = Duration::from_secs(if differs.is_some() { 1 } else { 5 });
                run_scenario(&http, &base, &defs_dir, &task_defs, scenario, settle).await
            };
            match (&outcome, &differs) {
                (Outcome::Failed(why), None) => wrong.push(format!("{spec_name} / {name}: {why}")),
                (Outcome::Passed(_), Some(_)) => {
                    wrong.push(format!("{spec_name} / {name}: passes now; remove its `differs` note"))
                }
                _ => {}
            }
            table.push((spec_name.clone(), name, outcome, differs));
        }
        took.push(format!("{spec_name} {:.1} s", file_started.elapsed().as_secs_f64()));
    }

    let run = table.iter().filter(|t| !matches!(t.2, Outcome::Skipped)).count();
    let passed = table.iter().filter(|t| matches!(t.2, Outcome::Passed(_))).count();
    eprintln!("Conductor's integration scenarios against vigil: {passed} of {run} behave as Conductor's");
    for (spec, name, outcome, differs) in &table {
        let mark = match outcome {
            Outcome::Passed(steps) if steps.is_empty() => "same   ".to_string(),
            Outcome::Passed(steps) => format!("same    (a step differs: {})", steps.join("; ")),
            Outcome::Skipped => "skipped".to_string(),
            Outcome::Failed(_) => "differs".to_string(),
        };
        let note = differs.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        eprintln!("  {mark} {spec} / {name}{note}");
    }
    eprintln!("Time per specification: {}", took.join(", "));
    assert!(wrong.is_empty(), "{} scenario(s) did not turn out as recorded:\n{}", wrong.len(), wrong.join("\n\n"));
}

/// Runs the steps of `scenario`, then terminates whatever it left running so the next scenario
/// polls only its own tasks.
async fn run_scenario(
    http: &reqwest::Client,
    base: &str,
    defs: &std::path::Path,
    task_defs: &[Value],
    scenario: &Value,
    settle: Duration,
) -> Outcome {
    let mut run = runner::Scenario::new(http, base, defs, task_defs);
    run.settle = settle;
    let mut outcome = None;
    for (i, step) in scenario["steps"].as_array().into_iter().flatten().enumerate() {
        if let Err(why) = run.step(step).await {
            let shown = serde_json::to_string(step).unwrap_or_default();
            outcome = Some(Outcome::Failed(format!("step {} {shown}: {why}", i + 1)));
            break;
        }
    }
    let outcome = outcome.unwrap_or_else(|| Outcome::Passed(std::mem::take(&mut run.differences)));
    // As Conductor's specs clear every workflow after a feature: what the scenario started, and
    // the failure workflows those started (`failureWorkflow: $workflow.input.failureWfName`).
    for id in &run.started {
        let _ = http.delete(format!("{base}/api/workflow/{id}?reason=cleanup")).send().await;
        let _ = http.delete(format!("{base}/api/workflow/{id}.failure?reason=cleanup")).send().await;
    }
    // Restore every task definition a scenario may have changed.
    let _ = http.post(format!("{base}/api/metadata/taskdefs")).json(&task_defs).send().await;
    outcome
}
