//! An `alertmanager.yml`: checked with every problem located (Alertmanager's own checks, and
//! whether vigil sends to each of its receivers), then handed to the engine, which publishes it
//! for every node.

use std::path::Path;

use anyhow::Result;
use vigil_core::alertmanager::config::AmConfig;
use vigil_core::alertmanager::config::check::check_file;
use vigil_core::diagnostic::{Diagnostic, Severity};
use vigil_core::locate::SourceMap;

/// The file's text, with the texts of the template files it names bundled in (what is
/// published for every node), and its problems (the text only when it has no error).
pub fn check(file: &Path) -> Result<(Option<String>, Vec<Diagnostic>)> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (config, mut diags) = check_file(file, &text);
    let mut texts = serde_json::Map::new();
    if let Some(config) = &config {
        diags.extend(receiver_problems(file, &text, config));
        let (found, problems) = template_files(file, &text, config);
        diags.extend(problems);
        texts = found;
    }
    let ok = !diags.iter().any(|d| d.severity == Severity::Error);
    if !ok {
        return Ok((None, diags));
    }
    if texts.is_empty() {
        return Ok((Some(text), diags));
    }
    // Bundled as JSON (which YAML reads): the configuration and its templates travel together.
    let mut doc = vigil_core::config::parse_text(file, &text).map_err(|d| anyhow::anyhow!("{d}"))?;
    doc[vigil_core::alertmanager::config::TEMPLATE_TEXTS] = serde_json::Value::Object(texts);
    Ok((Some(serde_json::to_string_pretty(&doc)?), diags))
}

/// The template files `config`'s `templates:` globs match (relative to `file`'s directory, as
/// Alertmanager reads them), each checked with vigil's Go-template subset.
fn template_files(
    file: &Path,
    text: &str,
    config: &AmConfig,
) -> (serde_json::Map<String, serde_json::Value>, Vec<Diagnostic>) {
    let map = SourceMap::build(text);
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut found = serde_json::Map::new();
    let mut diags = Vec::new();
    for (i, pattern) in config.templates.iter().enumerate() {
        let path = format!("templates[{i}]");
        let (line, column) = map.position(&path);
        let problem = |message: String| Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            path: path.clone(),
            message,
            hint: None,
        };
        for matched in glob(dir, pattern) {
            match std::fs::read_to_string(&matched) {
                Ok(t) => match vigil_core::gotemplate::Templates::default().add(&t) {
                    Ok(()) => {
                        found.insert(matched.display().to_string(), serde_json::Value::String(t));
                    }
                    Err(e) => diags.push(Diagnostic {
                        file: matched.clone(),
                        line: e.line,
                        column: 1,
                        path: String::new(),
                        ..problem(format!("{e}: vigil runs a subset of Go templates (docs/alerting.md#templates)"))
                    }),
                },
                Err(e) => diags.push(problem(format!("cannot read {}: {e}", matched.display()))),
            }
        }
    }
    (found, diags)
}

/// The files `pattern` matches (`*` and `?` in its last part), relative to `dir`.
fn glob(dir: &Path, pattern: &str) -> Vec<std::path::PathBuf> {
    let full = dir.join(pattern);
    let name = full.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if full.is_file() { vec![full] } else { Vec::new() };
    }
    let parent = full.parent().unwrap_or(dir);
    let mut out: Vec<std::path::PathBuf> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn wildcard(pattern: &str, name: &str) -> bool {
    match (pattern.chars().next(), name.chars().next()) {
        (None, None) => true,
        (Some('*'), _) => {
            wildcard(&pattern[1..], name)
                || (!name.is_empty() && wildcard(pattern, &name[name.chars().next().map_or(1, char::len_utf8)..]))
        }
        (Some('?'), Some(c)) => wildcard(&pattern[1..], &name[c.len_utf8()..]),
        (Some(p), Some(c)) if p == c => wildcard(&pattern[p.len_utf8()..], &name[c.len_utf8()..]),
        _ => false,
    }
}

/// The text of a file without errors; otherwise every problem, one per line.
pub fn load(file: &Path) -> Result<String> {
    let (text, diags) = check(file)?;
    for d in diags.iter().filter(|d| d.severity == Severity::Warning) {
        tracing::warn!("{d}");
    }
    text.ok_or_else(|| {
        let lines: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        anyhow::anyhow!("{} does not load:\n{}", file.display(), lines.join("\n"))
    })
}

/// Whether `file` reads as an Alertmanager configuration rather than vigil's definitions.
pub fn looks_like(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else { return false };
    vigil_core::config::parse_text(file, &text).is_ok_and(|v| vigil_core::alertmanager::config::looks_like(&v))
}

/// Each integration vigil cannot send to, at its field.
fn receiver_problems(file: &Path, text: &str, config: &AmConfig) -> Vec<Diagnostic> {
    let map = SourceMap::build(text);
    let mut out = Vec::new();
    for receiver in &config.receivers {
        for i in &receiver.integrations {
            if let Err(message) =
                vigil_connectors::notifiers::from_alertmanager::notifier(&receiver.name, i, &config.global)
            {
                let (line, column) = map.position(&i.path);
                // Alertmanager reads a `*_file` secret when it sends, not when it loads: a file
                // missing here (another machine's path) is worth a warning, not a refusal.
                let severity = if message.contains(": cannot read ") { Severity::Warning } else { Severity::Error };
                out.push(Diagnostic {
                    severity,
                    file: file.to_path_buf(),
                    line,
                    column,
                    path: i.path.clone(),
                    message,
                    hint: None,
                });
            }
        }
    }
    out
}
