//! An `alertmanager.yml` file checked: read as vigil reads definition files (YAML or JSON, with
//! located syntax errors), then every problem placed at its line and column. Apart from the rest of
//! the configuration's reading, which needs no file.

use crate::diagnostic::{Diagnostic, Problem};

use super::AmConfig;

/// Reads the file `file` holding `text`: the configuration (when it has no error) and every
/// problem, located at its line and column.
pub fn check_file(file: &std::path::Path, text: &str) -> (Option<AmConfig>, Vec<Diagnostic>) {
    let value = match crate::config::parse_text(file, text) {
        Ok(v) => v,
        Err(d) => return (None, vec![d]),
    };
    let (config, problems) = super::read(&value);
    let map = crate::locate::SourceMap::build(text);
    let failed = problems.iter().any(Problem::is_error);
    let diags = problems.into_iter().map(|p| map.locate(file, p)).collect();
    ((!failed).then_some(config), diags)
}
