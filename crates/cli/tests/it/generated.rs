//! The generated files in `docs/` match what this build generates (CI fails when one is stale),
//! and every shipped example validates against the generated JSON Schemas.
//!
//! `VIGIL_UPDATE_GENERATED=1 cargo test -p vigil --test it generated::` rewrites the files.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::root;

/// Runs `vigil ARGS` and returns its stdout.
fn generate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil")).args(args).output().expect("run vigil");
    assert!(out.status.success(), "vigil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every generated file: where it is committed, and the command that makes it.
fn files() -> Vec<(PathBuf, Vec<&'static str>)> {
    let docs = root().join("docs");
    let mut files = vec![(docs.join("man/vigil.1"), vec!["man"]), (docs.join("configuration.md"), vec!["reference"])];
    for kind in ["workflow", "schedule", "monitor", "notifier", "status-page"] {
        files.push((docs.join(format!("schema/{kind}.schema.json")), vec!["schema", kind]));
    }
    files
}

#[test]
fn generated_files_are_current() {
    let update = std::env::var_os("VIGIL_UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (path, args) in files() {
        let fresh = generate(&args);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            stale.push(path.strip_prefix(root()).unwrap().display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}; run `VIGIL_UPDATE_GENERATED=1 cargo test -p vigil --test it generated::` and commit them"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef vigil"), ("fish", "complete -c vigil")] {
        let script = generate(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(
            script.contains("serve") && script.contains("retain-completed"),
            "{shell} knows the commands and flags"
        );
    }
}

#[test]
fn logs_can_be_json_lines() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = support::vigil(&dir.path().join("v.db"))
        .env("RUST_LOG", "info")
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(root().join("examples/quickstart"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = loop {
        let line = lines.next().expect("vigil serve logged that it serves").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
        if v["fields"]["message"] == "vigil is serving." {
            break v;
        }
    };
    assert!(serving["fields"]["listen"].is_string(), "fields stay fields: {serving}");
    support::stop(child);
    let bad = support::vigil(&dir.path().join("v.db")).args(["--log-format", "xml", "validate", "."]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values: text, json"));
}

/// The shipped example definitions of `kind`, as JSON.
fn examples(kind: &str) -> Vec<(PathBuf, serde_json::Value)> {
    let mut out = Vec::new();
    let dirs = std::fs::read_dir(root().join("examples")).unwrap();
    for example in dirs.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Ok(files) = std::fs::read_dir(example.join(format!("{kind}s"))) else { continue };
        for file in files.filter_map(|e| e.ok()).map(|e| e.path()) {
            let text = std::fs::read_to_string(&file).unwrap();
            let doc: serde_json::Value = match file.extension().and_then(|e| e.to_str()) {
                Some("json") => serde_json::from_str(&text).unwrap(),
                Some("yaml" | "yml") => serde_saphyr::from_str(&text).unwrap(),
                _ => continue,
            };
            out.push((file, doc));
        }
    }
    out
}

/// Whether Python's `jsonschema` (the reference validator yaml-language-server's users rely on
/// the behaviour of) is installed.
fn python_jsonschema() -> bool {
    Command::new("python3").args(["-c", "import jsonschema"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn every_example_validates_against_its_schema() {
    if !python_jsonschema() {
        let why = "python3 with the jsonschema package is not installed (pip install jsonschema)";
        assert!(std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(), "VIGIL_REQUIRE_SERVICES is set but {why}");
        eprintln!("SKIPPED every_example_validates_against_its_schema: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for kind in ["workflow", "schedule", "monitor", "notifier", "status-page"] {
        let schema = dir.path().join(format!("{kind}.json"));
        std::fs::write(&schema, generate(&["schema", kind])).unwrap();
        let docs = examples(kind);
        assert!(!docs.is_empty(), "examples have {kind}s");
        let list = dir.path().join(format!("{kind}-docs.json"));
        let named: Vec<serde_json::Value> =
            docs.iter().map(|(p, d)| serde_json::json!({"file": p.display().to_string(), "doc": d})).collect();
        std::fs::write(&list, serde_json::to_string(&named).unwrap()).unwrap();
        let out = validate(&schema, &list);
        assert!(out.is_empty(), "{kind} examples that do not validate:\n{out}");
        checked += docs.len();
    }
    // And a broken document is refused, so the check can fail.
    let schema = dir.path().join("workflow.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"[{"file": "bad", "doc": {"name": "x", "tasks": [{"name": "a", "taskReferenceName": "a", "type": "NOPE"}], "retention": {"keeplast": 3}}}]"#).unwrap();
    let out = validate(&schema, &bad);
    assert!(out.contains("NOPE") && out.contains("keeplast"), "{out}");
    // A source's and a notifier type's own fields are checked too (their schemas come from the
    // settings types): a misspelled field, a field of another type, a missing required one.
    let monitor = dir.path().join("monitor.json");
    std::fs::write(&bad, r#"[{"file": "m", "doc": {"name": "m", "source": {"influxdb": {"url": "http://i", "query": "q", "databse": "d"}}}}]"#).unwrap();
    let out = validate(&monitor, &bad);
    assert!(out.contains("databse"), "{out}");
    let notifier = dir.path().join("notifier.json");
    std::fs::write(&bad, r#"[{"file": "n", "doc": {"name": "n", "type": "slack", "url": "https://x", "routing_key": "k"}}, {"file": "t", "doc": {"name": "t", "type": "teams"}}, {"file": "ok", "doc": {"name": "ok", "type": "slack", "url": "https://x"}}]"#).unwrap();
    let out = validate(&notifier, &bad);
    let refused: Vec<&str> = out.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(refused, ["n", "t"], "{out}");
    eprintln!("{checked} example definitions validate against the generated schemas");
}

/// Validates each `{file, doc}` in `list` against `schema` with Python's jsonschema; returns the
/// errors, one per line.
fn validate(schema: &Path, list: &Path) -> String {
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        v = jsonschema.Draft202012Validator(schema)\n\
        for item in json.load(open(sys.argv[2])):\n\
        \x20   for e in v.iter_errors(item['doc']):\n\
        \x20       print(item['file'], list(e.absolute_path), e.message)\n";
    let out = Command::new("python3").arg("-c").arg(script).arg(schema).arg(list).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
