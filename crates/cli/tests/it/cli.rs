//! Black-box tests of CLI behaviour: validation output, secrets, exit codes and error messages.

use crate::support;

use serde_json::json;
use support::*;
use vigil_store::InstanceStore;

#[test]
fn validate_reports_every_problem_located() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir.path().join("v.db"), &["validate", "tests/fixtures/broken"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// Fields Conductor ignores and references to missing tasks (which read null in Conductor) are
/// warnings, as a definition written for Conductor loads unchanged; `--strict` makes them errors.
#[test]
fn unknown_fields_warn_and_strict_makes_them_errors() {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(&defs).unwrap();
    let workflow = r#"{"name": "w", "onStateChange": {"x": 1}, "tasks": [{"name": "a", "taskReferenceName": "a",
        "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "expression": "1",
        "id": "${CPEWF_TASK_ID}", "gone": "${missing.output.x}"}, "inputParamters": {}}]}"#;
    std::fs::write(defs.join("w.json"), workflow).unwrap();
    let db = dir.path().join("v.db");
    let out = run(&db, &["validate", defs.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for said in [
        "warning: onStateChange: unknown workflow field `onStateChange` is ignored",
        "warning: tasks[0].inputParamters: unknown task field `inputParamters` is ignored, as Conductor ignores it (did you mean `inputParameters`?)",
        "warning: tasks[0].inputParameters.gone: `${missing.output.x}` refers to task `missing`, which does not exist",
        "ok: 1 workflow(s), 0 schedule(s), 0 notifier(s), 3 warning(s)",
    ] {
        assert!(text.contains(said), "{said} missing from:\n{text}");
    }
    assert!(!text.contains("CPEWF_TASK_ID"), "a system parameter is not a problem: {text}");
    let strict = run(&db, &["validate", "--strict", defs.to_str().unwrap()]);
    let text = String::from_utf8(strict.stdout).unwrap();
    assert_eq!(strict.status.code(), Some(1), "{text}");
    assert!(text.contains("0 error(s), 3 warning(s) (--strict: warnings count as errors)"), "{text}");
}

#[test]
fn validate_refuses_sub_workflow_cycles_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir.path().join("v.db"), &["validate", "tests/fixtures/cycles"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for cycle in ["`self` → `self`", "`a` → `b` → `a`", "`c` → `d` → `e` → `c`"] {
        assert!(text.contains(cycle), "{cycle} missing from:\n{text}");
    }
    assert!(text.contains("cycles.yaml:3:"), "located at the task: {text}");
}

#[test]
fn validate_accepts_every_shipped_example() {
    let dir = tempfile::tempdir().unwrap();
    let mut validated = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        // Robopager's own checklist and a Gatus configuration: the inputs of `vigil import
        // robopager` and `vigil import gatus` (tested there).
        if path.ends_with("robopager") || path.ends_with("gatus") {
            continue;
        }
        let out = run(&dir.path().join("v.db"), &["validate", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stdout));
        validated += 1;
    }
    assert!(validated >= 8, "only {validated} examples found");
}

/// Issue 61, item 11: a directory that holds no definitions (such as `examples/`) is not "ok: 0
/// workflows": it says so, names the config directories below, and exits 1; `--recursive`
/// validates each of them on its own and fails when one fails.
#[test]
fn validate_says_when_a_directory_holds_no_definitions_and_recursive_checks_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let examples = root().join("examples");
    let out = run(&db, &["validate", examples.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("holds no definitions") && text.contains("vigil validate --recursive"), "{text}");
    let out = run(&db, &["validate", "--recursive", examples.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("examples/quickstart:") && text.contains("ok: 1"), "{text}");
    let checked = text.lines().filter(|l| l.starts_with("ok: ") && l.contains("workflow(s)")).count();
    assert!(checked >= 8, "each example's own summary: {text}");

    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("team-a/workflows")).unwrap();
    std::fs::create_dir_all(tree.join("nested/team-b/schedules")).unwrap();
    let good = r#"{"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a", "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": "1"}}]}"#;
    std::fs::write(tree.join("team-a/workflows/w.json"), good).unwrap();
    std::fs::write(tree.join("nested/team-b/schedules/s.yaml"), "name: s\ncron: not a cron\nworkflow: w\n").unwrap();
    let out = run(&db, &["validate", "-r", tree.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 of 2 config directories have problems") && text.contains("team-b"), "{text}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&db, &["validate", "-r", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no config directory"));
}

#[test]
fn secrets_are_listed_by_name_only_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    set_secret(&db, "api_token", "very-secret-value");
    let listed = run(&db, &["secret", "list"]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(text, "api_token\t***\n");
    let raw = std::fs::read(&db).unwrap();
    assert!(!raw.windows(17).any(|w| w == b"very-secret-value"), "the database holds only ciphertext");
    assert!(run(&db, &["secret", "rm", "api_token"]).status.success());
    let again = run(&db, &["secret", "rm", "api_token"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("does not exist"));
}

#[test]
fn run_fails_clearly_on_bad_input_and_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = root().join("examples/job-monitor");
    let out = run(&db, &["run", "monitor_job", "--config", config.to_str().unwrap(), "--input", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input is not valid JSON"));
    let out = run(&db, &["run", "monitor_jobb", "--config", config.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("workflow `monitor_jobb` is not defined (known: job_status, monitor_job)")
    );
}

#[test]
fn run_exits_non_zero_when_the_instance_fails_and_names_the_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let file = dir.path().join("needs_secret.yaml");
    std::fs::write(
        &file,
        "name: needs_secret\ntasks:\n  - {name: a, taskReferenceName: a, type: INLINE, inputParameters: {evaluatorType: javascript, k: '${workflow.secrets.missing}', expression: '$.k'}}\n",
    )
    .unwrap();
    let out = run(&db, &["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FAILED") && stderr.contains("secret `missing` is not set"), "{stderr}");
}

#[test]
fn run_prints_output_json_and_status_shows_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let file = dir.path().join("add.json");
    let def = json!({"name": "add", "tasks": [
        {"name": "a", "taskReferenceName": "a", "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "x": "${workflow.input.x}", "expression": "$.x + 1"}}
    ], "outputParameters": {"y": "${a.output.result}"}});
    std::fs::write(&file, def.to_string()).unwrap();
    let out = run(&db, &["run", file.to_str().unwrap(), "--input", r#"{"x": 41}"#]);
    assert!(out.status.success());
    assert_eq!(stdout_json(&out), json!({"y": 42}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a") && stderr.contains("INLINE") && stderr.contains("COMPLETED"), "{stderr}");
    let listed = String::from_utf8(run(&db, &["instances", "--status", "completed"]).stdout).unwrap();
    let id = listed.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let status = String::from_utf8(run(&db, &["status", &id]).stdout).unwrap();
    assert!(status.contains("add v1") && status.contains("COMPLETED"));
    let missing = run(&db, &["status", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn conductor_export_loads_without_noise_and_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let out = run(&db, &["validate", "tests/fixtures/conductor-export"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text, "ok: 1 workflow(s), 0 schedule(s), 0 notifier(s), 0 warning(s)\n",
        "default-valued Conductor fields are not reported"
    );
    let file = "tests/fixtures/conductor-export/exported.json";
    let out = run(&db, &["run", file, "--input", r#"{"who": "vigil"}"#]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout_json(&out), json!({"message": "hello vigil"}));
}

#[test]
fn a_server_whose_starter_died_stops_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("examples/quickstart");
    // A shell starts vigil in the background and exits at once, as a killed test would.
    let cmd = format!(
        "VIGIL_EXIT_WITH_PARENT=$$ {} serve --config {} --listen 127.0.0.1:0 >/dev/null 2>&1 & echo $!",
        env!("CARGO_BIN_EXE_vigil"),
        config.display()
    );
    let mut shell = std::process::Command::new("sh");
    shell.args(["-c", &cmd]).env("VIGIL_DB", dir.path().join("v.db"));
    let pid = String::from_utf8(shell.output().unwrap().stdout).unwrap().trim().to_string();
    let alive = || {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while alive() {
        assert!(std::time::Instant::now() < deadline, "vigil {pid} outlived its starter");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn printing_commands_exit_quietly_when_their_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("examples/failure-alert");
    let config = config.to_str().unwrap();
    for args in [&["schedules", "--config", config][..], &["completions", "bash"], &["man"]] {
        let mut child = vigil(&dir.path().join("v.db"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn validate_reads_only_regular_files_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("config/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::os::unix::fs::symlink("/dev/zero", workflows.join("zero.json")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(workflows.join("fifo.yaml")).status().unwrap().success());
    std::fs::write(workflows.join("big.json"), vec![b' '; 2048]).unwrap();
    let bom = "\u{feff}{\"name\": \"bom\", \"tasks\": [{\"name\": \"s\", \"taskReferenceName\": \"s\", \"type\": \"SET_VARIABLE\", \"inputParameters\": {\"x\": 1}}]}";
    std::fs::write(workflows.join("bom.json"), bom).unwrap();
    let out = vigil(&dir.path().join("v.db"))
        .env("VIGIL_MAX_DEFINITION_BYTES", "1024")
        .args(["validate", dir.path().join("config").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("zero.json:1:1: error: not a regular file"), "{text}");
    assert!(text.contains("fifo.yaml:1:1: error: not a regular file"), "{text}");
    assert!(text.contains("big.json:1:1: error: file is 2048 bytes, over the 1024-byte limit"), "{text}");
    assert!(!text.contains("bom.json"), "a byte order mark is accepted: {text}");
}

/// `vigil test` runs monitor tests offline: a pass exits 0; a mismatch prints what differs and
/// the notices that would have gone out, and exits 1; a broken test block is a located error.
#[test]
fn vigil_test_reports_mismatches_with_a_diff_and_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let monitors = dir.path().join("config/monitors");
    std::fs::create_dir_all(&monitors).unwrap();
    let file = monitors.join("disk.yaml");
    let write = |expect: &str| {
        let text = format!(
            "name: disk\nevery: 1m\nsource:\n  sql:\n    url: postgres://db/x\n    query: select 1\nwarning: \"> 50\"\ncritical: \"> 95\"\nnotify: {{warning: [chat], critical: [oncall]}}\ntests:\n  - name: climbs\n    values: [50, 85, 97, 60, 10]\n    expect: {expect}\n    notices: 4\n"
        );
        std::fs::write(&file, text).unwrap();
    };
    let config = dir.path().join("config");
    write("[ok, warning, critical, warning, ok]");
    let out = run(&db, &["test", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    write("[ok, warning, warning, warning, ok]");
    let out = run(&db, &["test", config.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAILED  disk › climbs"), "{text}");
    assert!(text.contains("monitor/disk, run 3: expected warning, got critical"), "{text}");
    assert!(text.contains("run 3: change monitor/disk (critical) → oncall"), "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");

    write("[ok, warning]");
    let out = run(&db, &["test", config.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("disk.yaml:13:") && text.contains("tests[0].expect: 2 tiers for 5 runs"), "{text}");
}

/// Issue 32 item 12: the `values:` shorthand puts each value where the monitor's `value:` reads
/// it, a nested path (`body.v`) included.
#[test]
fn vigil_test_values_reach_a_nested_value_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let monitors = dir.path().join("config/monitors");
    std::fs::create_dir_all(&monitors).unwrap();
    std::fs::write(
        monitors.join("api.yaml"),
        "name: api\nevery: 1m\nsource:\n  http:\n    url: http://127.0.0.1:9/stats\nvalue: body.v\nwarning: \"> 50\"\ncritical: \"> 95\"\nnotify: []\ntests:\n  - name: climbs\n    values: [10, 60, 99]\n    expect: [ok, warning, critical]\n",
    )
    .unwrap();
    let out = run(&db, &["test", dir.path().join("config").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
}

/// A name defined twice is an error at the second definition, naming the file of the first
/// (definitions are built file by file, so the first file's parsed values are gone by then).
#[test]
fn validate_names_the_file_of_a_duplicate_definition() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    for sub in ["workflows", "schedules", "monitors"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let wf = "name: w\ntasks:\n  - {name: a, taskReferenceName: a, type: INLINE, inputParameters: {evaluatorType: javascript, expression: '1'}}\n";
    std::fs::write(config.join("workflows/a.yaml"), wf).unwrap();
    std::fs::write(config.join("workflows/b.yaml"), wf).unwrap();
    let schedule = "name: s\ncronExpression: '0 * * * * *'\nstartWorkflowRequest: {name: w}\n";
    std::fs::write(config.join("schedules/a.yaml"), format!("- {}", schedule.replace('\n', "\n  "))).unwrap();
    std::fs::write(config.join("schedules/b.yaml"), schedule).unwrap();
    let monitor = "name: m\nevery: 1m\nsource: {http: {url: 'http://127.0.0.1:9/'}}\nvalue: status\ncritical: '> 1'\n";
    std::fs::write(config.join("monitors/a.yaml"), monitor).unwrap();
    std::fs::write(config.join("monitors/b.yaml"), monitor).unwrap();
    let out = run(&dir.path().join("v.db"), &["validate", config.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (kind, what) in
        [("workflows", "workflow `w` version 1"), ("schedules", "schedule `s`"), ("monitors", "monitor `m`")]
    {
        let first = config.join(kind).join("a.yaml");
        let said = format!("{what} is also defined in {}", first.display());
        assert!(text.contains(&said), "{said} missing from:\n{text}");
        let second = format!("{}:1:", config.join(kind).join("b.yaml").display());
        assert!(text.lines().any(|l| l.contains(&second) && l.contains(&said)), "located in b.yaml:\n{text}");
    }
}

/// Writes workflow `name` into `config/workflows/`.
fn write_workflow(config: &std::path::Path, name: &str, doc: serde_json::Value) {
    std::fs::create_dir_all(config.join("workflows")).unwrap();
    std::fs::write(config.join(format!("workflows/{name}.json")), doc.to_string()).unwrap();
}

/// Issue 32 items 8 and 9: Conductor definitions that name a workflow only at run time validate
/// from a config directory, and run: `failureWorkflow: "$workflow.input.failureWfName"` (from
/// Conductor's own `simple_workflow_1_integration_test.json`) and a SUB_WORKFLOW whose
/// `subWorkflowParam.name` is `${workflow.input.subwf}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_named_at_run_time_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    let write = |name: &str, doc: serde_json::Value| write_workflow(&config, name, doc);
    write(
        "failing",
        serde_json::json!({"name": "failing", "failureWorkflow": "$workflow.input.failureWfName",
        "tasks": [{"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
            "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "on purpose"}}]}),
    );
    write(
        "cleanup",
        serde_json::json!({"name": "cleanup", "tasks": [{"name": "s", "taskReferenceName": "s",
        "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]}),
    );
    write(
        "parent",
        serde_json::json!({"name": "parent", "tasks": [{"name": "c", "taskReferenceName": "c",
        "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "${workflow.input.subwf}"}}],
        "outputParameters": {"child": "${c.output.subWorkflowId}"}}),
    );
    let cfg = config.to_str().unwrap();
    let out = run(&db, &["validate", cfg]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let out = run(&db, &["run", "failing", "--config", cfg, "--input", r#"{"failureWfName": "cleanup"}"#]);
    assert!(!out.status.success());
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let cleanup = instances_of(&store, "cleanup").await;
    assert_eq!(cleanup.len(), 1, "the failure workflow named by the input ran");
    store.close().await;
    let out = run(&db, &["run", "parent", "--config", cfg, "--input", r#"{"subwf": "cleanup"}"#]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let bad = serde_json::json!({"name": "bad", "failureWorkflow": "$workflow.variables.x",
        "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    write("bad", bad);
    let out = run(&db, &["validate", cfg]);
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("neither a workflow name nor `$workflow.input.KEY`"), "{text}");
}

/// Issue 32 item 11: a `job_latency` monitor of a workflow that is not in workflows/ is warned
/// about (it may be defined through the API), not accepted without a word.
#[test]
fn validate_warns_of_a_job_latency_monitor_on_an_unknown_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let monitors = dir.path().join("config/monitors");
    std::fs::create_dir_all(&monitors).unwrap();
    std::fs::write(
        monitors.join("late.yaml"),
        "name: late\nevery: 1m\nsource:\n  job_latency:\n    workflow: ghost\n    latency: 60m\nnotify: []\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    let out = run(&db, &["validate", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "a warning: {text}");
    assert!(text.contains("late.yaml:5:") && text.contains("workflow `ghost` is not defined"), "{text}");
    let strict = run(&db, &["validate", "--strict", config.to_str().unwrap()]);
    assert!(!strict.status.success());
}

/// START_WORKFLOW (the task type added through CONTRIBUTING.md's walkthrough): the workflow it
/// names starts durably with the step, on its own (the starter does not wait), with the given
/// input and correlation id, and runs to its end, also after the process that started it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_workflow_starts_a_workflow_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    let write = |name: &str, doc: serde_json::Value| write_workflow(&config, name, doc);
    write(
        "starter",
        json!({"name": "starter", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
            "inputParameters": {"startWorkflow": {"name": "report", "input": {"day": "${workflow.input.day}"},
            "correlationId": "report-${workflow.input.day}"}}}],
            "outputParameters": {"started": "${s.output.workflowId}"}}),
    );
    write(
        "report",
        json!({"name": "report", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT",
            "inputParameters": {"duration": "1s"}}], "outputParameters": {"day": "${workflow.input.day}"}}),
    );
    let cfg = config.to_str().unwrap();
    let out = run(&db, &["validate", cfg]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = run(&db, &["run", "starter", "--config", cfg, "--input", r#"{"day": "2026-11-26"}"#]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = stdout_json(&out)["started"].as_str().unwrap().to_string();

    // The starter ended without waiting; what it started is stored, and a server finishes it.
    let store = vigil_store::SqliteStore::open(&db).await.unwrap();
    let report = store.instance(&started).await.unwrap().expect("the started workflow is stored");
    assert_eq!(
        (report.workflow_name.as_str(), report.correlation_id.as_deref()),
        ("report", Some("report-2026-11-26"))
    );
    assert!(report.parent.is_none(), "not a child");
    let server = serve(&db, &config, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let now = store.instance(&started).await.unwrap().unwrap();
        if now.status.is_terminal() {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the started workflow did not finish: {:?}", now.status);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    stop(server);
    store.close().await;
    assert_eq!(done.status, vigil_core::instance::WorkflowStatus::Completed);
    assert_eq!(done.output, json!({"day": "2026-11-26"}));

    write(
        "starter",
        json!({"name": "starter", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
            "inputParameters": {"startWorkflow": {"name": "${workflow.input.which}"}}}]}),
    );
    let out = run(&db, &["run", "starter", "--config", cfg, "--input", r#"{"which": "ghost"}"#]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("Unable to start workflow `ghost`: it is not defined"), "{text}");
}

/// UPDATE_TASK (Orkes'): a workflow completes the WAIT task another one waits on, named by
/// workflow id and reference name, merging into its output; the waiting workflow goes on with
/// that output. Updating a task of a workflow that has ended fails with the reason.
#[tokio::test]
async fn update_task_completes_a_task_another_workflow_waits_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_workflow(
        &config,
        "approval",
        json!({"name": "approval", "tasks": [{"name": "wait", "taskReferenceName": "approve", "type": "WAIT"}],
            "outputParameters": {"by": "${approve.output.by}"}}),
    );
    write_workflow(
        &config,
        "approver",
        json!({"name": "approver", "tasks": [{"name": "u", "taskReferenceName": "u", "type": "UPDATE_TASK",
            "inputParameters": {"workflowId": "${workflow.input.id}", "taskRefName": "approve",
            "taskStatus": "${workflow.input.status}", "taskOutput": {"by": "${workflow.input.by}"}, "mergeOutput": true}}],
            "outputParameters": {"updated": "${u.output}"}}),
    );
    let out = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let (server, base) = serve_api(&db, &config, free_port(), &[]).await;
    let http = vigil_connectors::http_client();
    let start = |name: &'static str, input: serde_json::Value| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http.post(format!("{base}/api/workflow/{name}")).json(&input).send().await.unwrap();
            assert!(res.status().is_success(), "{}", res.text().await.unwrap());
            res.text().await.unwrap()
        }
    };
    let waiting = start("approval", json!({})).await;
    until_workflow(&http, &base, &waiting, |wf| wf["tasks"][0]["status"] == "IN_PROGRESS").await;

    let approver = start("approver", json!({"id": waiting, "status": "COMPLETED", "by": "ops"})).await;
    let done = until_workflow(&http, &base, &approver, |wf| wf["status"] != "RUNNING").await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let waited = until_workflow(&http, &base, &waiting, |wf| wf["status"] != "RUNNING").await;
    assert_eq!((waited["status"].clone(), waited["output"].clone()), (json!("COMPLETED"), json!({"by": "ops"})));
    let task_id = waited["tasks"][0]["taskId"].clone();
    assert_eq!(
        done["output"]["updated"],
        json!({"workflowId": waiting, "taskId": task_id, "taskStatus": "COMPLETED"}),
        "{done}"
    );

    // The task ended (COMPLETED) and so did its workflow: failing it now is refused.
    let late = start("approver", json!({"id": waiting, "status": "FAILED", "by": "ops"})).await;
    let refused = until_workflow(&http, &base, &late, |wf| wf["status"] != "RUNNING").await;
    assert_eq!(refused["status"], "FAILED", "{refused}");
    let reason = refused["tasks"][0]["reasonForIncompletion"].as_str().unwrap_or_default();
    assert_eq!(reason, format!("workflow `{waiting}` has already ended (COMPLETED)"), "{refused}");
    stop(server);
}
