//! Loads `<config>/notifiers/*.yaml|json`, one notifier per file (or a list), with located errors.
//!
//! Credentials are written as `${workflow.secrets.NAME}` or `${env.NAME}` and are substituted when
//! the notifier is loaded for sending; `vigil validate` checks the files without them.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vigil_core::config::parse_text;
use vigil_core::diagnostic::{Diagnostic, Severity};
use vigil_core::locate::SourceMap;

use super::NotifierConfig;

pub use crate::credentials::Credentials;
use crate::credentials::substitute;

/// Loads every notifier under `dir`. With `credentials`, references are substituted (a missing one
/// is an error); without, they are left as text.
pub fn load_dir(dir: &Path, credentials: Option<Credentials<'_>>) -> (Vec<NotifierConfig>, Vec<Diagnostic>) {
    let (out, _, diags) = load_dir_in_folders(dir, credentials);
    (out, diags)
}

/// [`load_dir`], reading the folders one level below `dir` too (`notifiers/payments/pd.yaml`),
/// with the folder each notifier was found in (`None` for `dir` itself), in the same order.
pub fn load_dir_in_folders(
    dir: &Path,
    credentials: Option<Credentials<'_>>,
) -> (Vec<NotifierConfig>, Vec<Option<String>>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut folders = Vec::new();
    let mut diags = Vec::new();
    if !dir.is_dir() {
        return (out, folders, diags);
    }
    let named = |d: &Path| -> Vec<PathBuf> {
        let entries = std::fs::read_dir(d).into_iter().flatten().filter_map(|e| e.ok().map(|e| e.path()));
        entries.filter(|p| !p.is_dir() && is_definition(p)).collect()
    };
    let mut files: Vec<(PathBuf, Option<String>)> = named(dir).into_iter().map(|p| (p, None)).collect();
    for (folder, path) in vigil_core::config::folders_of(dir) {
        files.extend(named(&path).into_iter().map(|p| (p, Some(folder.clone()))));
    }
    files.sort();
    let mut first_file: Vec<(String, PathBuf)> = Vec::new();
    for (file, folder) in files {
        let before = out.len();
        load_file(&file, credentials, &mut out, &mut diags);
        folders.resize(out.len(), folder);
        for n in &out[before..] {
            match first_file.iter().find(|(name, _)| name == n.name()) {
                Some((_, first)) => {
                    let (line, col) =
                        SourceMap::build(&std::fs::read_to_string(&file).unwrap_or_default()).position("name");
                    let msg = format!("notifier `{}` is also defined in {}", n.name(), first.display());
                    diags.push(error(&file, line, col, "name", msg));
                }
                None => first_file.push((n.name().to_string(), file.clone())),
            }
        }
    }
    (out, folders, diags)
}

/// Whether `path` is named as a definition file (whatever it is: reading says if it is no file).
fn is_definition(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml"))
}

/// Warnings for the credentials notifier files under `dir` reference but `exists` does not know
/// (`exists(kind, name)` with kind `secrets` or `env`), located. `vigil validate` reports them
/// from the secret names in the database, without decrypting anything.
pub fn missing_credentials(dir: &Path, exists: &dyn Fn(&str, &str) -> bool) -> Vec<Diagnostic> {
    let lookup = |kind: &str, name: &str| exists(kind, name).then(String::new);
    let (_, diags) = load_dir(dir, Some(&lookup));
    diags
        .into_iter()
        .filter(|d| d.message.contains("is not set ("))
        .map(|mut d| {
            d.severity = Severity::Warning;
            d
        })
        .collect()
}

/// Builds one notifier from a document (as the API receives it), substituting credentials; the
/// errors name the field.
pub fn from_value(mut doc: Value, credentials: Credentials<'_>) -> Result<NotifierConfig, Vec<(String, String)>> {
    let mut missing = Vec::new();
    substitute(&mut doc, "", credentials, &mut missing);
    if !missing.is_empty() {
        return Err(missing);
    }
    parse_config(&doc).map_err(|e| vec![(e.path.clone(), e.message_with_hint())])
}

/// Why a notifier document does not build: the field path, what is wrong, and a suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Field path (`url`, `headers.X`), empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// "did you mean ...?"
    pub hint: Option<String>,
}

impl ConfigError {
    fn message_with_hint(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} ({h})", self.message),
            None => self.message.clone(),
        }
    }
}

/// The notifier types, as `type:` takes them.
pub const TYPES: &[&str] = NotifierConfig::TYPES;

/// Builds a notifier in two phases, so errors keep their field path: `type` picks the config
/// struct, then the rest is read into it (serde loses paths inside an internally tagged enum).
pub fn parse_config(doc: &Value) -> Result<NotifierConfig, ConfigError> {
    let err = |path: &str, message: String, hint: Option<String>| ConfigError { path: path.into(), message, hint };
    let Value::Object(map) = doc else {
        return Err(err("", "a notifier must be an object with `name` and `type`".into(), None));
    };
    let kind = match map.get("type") {
        Some(Value::String(k)) => k.as_str(),
        Some(other) => return Err(err("type", format!("`type` must be a string, got {other}"), None)),
        None => return Err(err("type", format!("`type` is missing (one of {})", TYPES.join(", ")), None)),
    };
    let mut body = map.clone();
    body.remove("type");
    let body = Value::Object(body);
    match NotifierConfig::read(kind, body) {
        Some(read) => read,
        None => Err(err(
            "type",
            format!("unknown notifier type `{kind}` (one of {})", TYPES.join(", ")),
            vigil_core::diagnostic::did_you_mean(kind, TYPES.iter().copied()),
        )),
    }
}

pub(crate) fn typed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize::<_, T>(body).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let path = if path == "." { String::new() } else { path };
        let hint = unknown_field_hint(&message);
        ConfigError { path, message, hint }
    })
}

/// "did you mean" for serde's ``unknown field `x`, expected one of `a`, `b` `` messages.
fn unknown_field_hint(message: &str) -> Option<String> {
    let (field, rest) = message.strip_prefix("unknown field `")?.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    vigil_core::diagnostic::did_you_mean(field, expected)
}

fn error(file: &Path, line: usize, column: usize, path: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_path_buf(),
        line,
        column,
        path: path.into(),
        message,
        hint: None,
    }
}

fn load_file(
    file: &Path,
    credentials: Option<Credentials<'_>>,
    out: &mut Vec<NotifierConfig>,
    diags: &mut Vec<Diagnostic>,
) {
    let text = match vigil_core::config::read_definition_file(file) {
        Ok(t) => t,
        Err(e) => return diags.push(error(file, 1, 1, "", e)),
    };
    let value = match parse_text(file, &text) {
        Ok(v) => v,
        Err(d) => return diags.push(d),
    };
    let map = SourceMap::build(&text);
    let docs: Vec<(String, Value)> = match value {
        Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)).collect(),
        other => vec![(String::new(), other)],
    };
    for (prefix, mut doc) in docs {
        let locate = |path: &str| {
            let full = match (prefix.is_empty(), path.is_empty()) {
                (true, _) => path.to_string(),
                (false, true) => prefix.clone(),
                (false, false) => format!("{prefix}.{path}"),
            };
            let (line, col) = map.position(&full);
            (full, line, col)
        };
        if let Some(lookup) = credentials {
            let mut missing = Vec::new();
            substitute(&mut doc, "", lookup, &mut missing);
            if !missing.is_empty() {
                for (path, message) in missing {
                    let (full, line, col) = locate(&path);
                    diags.push(error(file, line, col, &full, message));
                }
                continue;
            }
        }
        match parse_config(&doc) {
            Ok(n) => out.push(n),
            Err(e) => {
                let (full, line, col) = locate(&e.path);
                let mut diag = error(file, line, col, &full, e.message);
                diag.hint = e.hint;
                diags.push(diag);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_with_credentials_and_reports_problems_located() {
        let dir = std::env::temp_dir().join(format!("vigil-notifiers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir, "a_oncall.yaml", "name: oncall\ntype: pagerduty\nrouting_key: ${workflow.secrets.pd_key}\n");
        write(&dir, "b_chat.yaml", "name: chat\ntype: slak\nurl: http://x\n");
        write(&dir, "c_bot.yaml", "name: bot\ntype: lark\nurl: http://x\nsecrett: s\n");
        write(&dir, "d_missing.yaml", "name: ops\ntype: opsgenie\napi_key: ${env.VIGIL_TEST_UNSET_KEY}\n");
        let lookup = |kind: &str, name: &str| {
            (kind == "secrets" && name == "pd_key").then(|| "0123456789abcdef0123456789abcdef".to_string())
        };
        let (loaded, diags) = load_dir(&dir, Some(&lookup));
        assert_eq!(loaded.len(), 1);
        match &loaded[0] {
            NotifierConfig::Pagerduty(pd) => assert_eq!(pd.routing_key, "0123456789abcdef0123456789abcdef"),
            other => panic!("{other:?}"),
        }
        let text: Vec<String> = diags
            .iter()
            .map(|d| {
                let hint = d.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
                let file = d.file.file_name().unwrap().to_string_lossy().to_string();
                format!("{file}:{}:{}: {}: {}{hint}", d.line, d.column, d.path, d.message)
            })
            .collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(text[0].starts_with("b_chat.yaml:2:1: type: unknown notifier type `slak`"), "{text:#?}");
        assert!(text[0].ends_with("(did you mean `slack`?)"), "{text:#?}");
        assert!(text[1].starts_with("c_bot.yaml:4:1: secrett: unknown field `secrett`"), "{text:#?}");
        assert!(text[1].ends_with("(did you mean `secret`?)"), "{text:#?}");
        assert!(text[2].starts_with("d_missing.yaml:3:1:") && text[2].contains("VIGIL_TEST_UNSET_KEY"), "{text:#?}");
        let (unresolved, diags) = load_dir(&dir, None);
        assert_eq!((unresolved.len(), diags.len()), (2, 2), "without credentials, references stay as text");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
