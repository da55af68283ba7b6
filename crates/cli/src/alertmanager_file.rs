//! An `alertmanager.yml`: checked with every problem located (Alertmanager's own checks, and
//! whether vigil sends to each of its receivers), then handed to the engine, which publishes it
//! for every node.

use std::path::Path;

use anyhow::Result;
use vigil_core::alertmanager::config::AmConfig;
use vigil_core::alertmanager::config::check::check_file;
use vigil_core::diagnostic::{Diagnostic, Severity};
use vigil_core::locate::SourceMap;

/// The file's text and its problems (the text only when it has no error).
pub fn check(file: &Path) -> Result<(Option<String>, Vec<Diagnostic>)> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (config, mut diags) = check_file(file, &text);
    if let Some(config) = &config {
        diags.extend(receiver_problems(file, &text, config));
    }
    let ok = !diags.iter().any(|d| d.severity == Severity::Error);
    Ok((ok.then_some(text), diags))
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
                out.push(Diagnostic {
                    severity: Severity::Error,
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
