//! A subset of Go's `text/template` (and `html/template`'s escaping), enough for Alertmanager's
//! notification templates: its `default.tmpl` runs unchanged, and so do custom templates that
//! keep to what is listed here.
//!
//! Supported: text and `{{ actions }}` with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! pipelines (`a | b`) with fields (`.A.B`), variables (`$x := ...`, `$x = ...`, `$`),
//! parentheses, string (`"..."`, `` `...` ``), number, boolean and `nil` constants; `if` with
//! `else if` and `else`; `range` over lists, maps (in key order) and counts, with `$i, $e :=`
//! and `else`; `with` with `else`; `define`, `template` and `block`. Alertmanager's methods on its
//! template data: `.SortedPairs`, `.Names`, `.Values`, `.Remove LIST`, `.Alerts.Firing`,
//! `.Alerts.Resolved`, and `.Format LAYOUT` on times. The functions are in [`funcs::NAMES`].
//!
//! Not supported: `break`/`continue`, `else with`, `slice`, `call`, `js`, methods beyond those
//! above, `printf` verbs beyond `%s %v %q %d %f %x`, `now` and `since` (a notification is
//! rendered on the alert manager's clock, so a template gets its time from the alerts), and
//! html/template's per-context escaping: in HTML mode every printed value is escaped as HTML
//! text (`safeHtml`/`safeUrl` values are not), which is never less safe.

mod eval;
mod funcs;
mod parse;
#[cfg(test)]
mod tests;
mod value;

use std::collections::BTreeMap;

pub use funcs::NAMES as FUNCTIONS;
pub use parse::ParseError;
pub use value::ExecError;

use parse::Node;

/// A template failed: to read or to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// It does not parse.
    #[error("template: {0}")]
    Parse(#[from] ParseError),
    /// It failed while running.
    #[error("template: {0}")]
    Exec(#[from] ExecError),
}

/// Named templates (`define`d), to render texts with.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    defines: BTreeMap<String, Vec<Node>>,
}

fn is_function(name: &str) -> bool {
    funcs::NAMES.contains(&name)
}

impl Templates {
    /// Adds the templates `text` defines (a templates file); what it prints outside them is
    /// ignored.
    pub fn add(&mut self, text: &str) -> Result<(), ParseError> {
        let (_, defines) = parse::parse(text, &is_function)?;
        self.defines.extend(defines);
        Ok(())
    }

    /// Whether a template of this name is defined.
    pub fn has(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }

    /// Checks that `text` parses (with these templates), without running it.
    pub fn check(&self, text: &str) -> Result<(), ParseError> {
        parse::parse(text, &is_function).map(|_| ())
    }

    /// Runs `text` over `data`: as text, or as HTML (printed values escaped).
    pub fn render(&self, text: &str, data: &serde_json::Value, html: bool) -> Result<String, TemplateError> {
        let (nodes, local) = parse::parse(text, &is_function)?;
        let defines;
        let all = if local.is_empty() {
            &self.defines
        } else {
            defines = self.defines.clone().into_iter().chain(local).collect();
            &defines
        };
        let mut run = eval::Run::new(all, html, data);
        run.nodes(&nodes, data)?;
        Ok(run.out)
    }
}
