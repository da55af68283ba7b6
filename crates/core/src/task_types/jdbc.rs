//! JDBC (Conductor's): a statement on a connection an admin declared, run as vigil's SQL source
//! (`source_query`).

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::diagnostic::did_you_mean;
use crate::locate::join_key;
use crate::source_kind::SourceKind;

/// Conductor runs its system tasks at least once, and so does vigil: a JDBC UPDATE that committed
/// just before a crash runs again, as on Conductor.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// A connection, a statement, its `type`, and the fields that go with them.
    pub(crate) fn build_jdbc(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        self.check_jdbc(raw, &join_key(path, "inputParameters"));
        Some(TaskKind::Query { source: SourceKind::Sql, jdbc: true })
    }

    /// Conductor's JDBC task: a connection, a statement, its `type`, and the fields that go
    /// with them; any other input is named, since the task would not read it.
    fn check_jdbc(&mut self, raw: &TaskConfig, input_path: &str) {
        const READ: &[&str] = &[
            "connectionId",
            "connection",
            "integrationName",
            "url",
            "statement",
            "query",
            "parameters",
            "type",
            "expectedUpdateCount",
            "timeout",
            "schemaName",
        ];
        let input = &raw.input_parameters;
        let at = |field: &str| join_key(input_path, field);
        let names = ["connectionId", "connection", "integrationName"];
        let named = names.iter().any(|k| input.contains_key(*k));
        if !named && !input.contains_key("url") {
            self.problems.push(Problem::error(
                at("connectionId"),
                "a JDBC task needs `connectionId`, a connection an admin declared (`vigil secret set NAME`, its URL \
                 as the value)",
            ));
        }
        if !input.contains_key("statement") && !input.contains_key("query") {
            self.problems.push(Problem::error(at("statement"), "a JDBC task needs `statement`, its SQL"));
        }
        let literal = |v: Option<&Value>| v.and_then(Value::as_str).filter(|t| !t.contains("${")).map(str::to_string);
        let kind = literal(input.get("type"));
        match (input.get("type"), kind.as_deref()) {
            (None, _) => self.problems.push(Problem::error(at("type"), "a JDBC task needs `type`: SELECT or UPDATE")),
            (_, Some(t)) if !["SELECT", "UPDATE", "INSERT", "DELETE"].contains(&t) => {
                self.bad_enum(&at("type"), t, &["SELECT", "UPDATE"])
            }
            _ => {}
        }
        let writes = kind.as_deref().is_some_and(|t| t != "SELECT");
        if writes && !named {
            self.problems.push(Problem::error(
                at("type"),
                "UPDATE runs only on a connection an admin declared writable (`connectionId`), never on a `url`",
            ));
        }
        match input.get("expectedUpdateCount") {
            Some(v) if kind.as_deref() == Some("SELECT") => self.problems.push(Problem::warning(
                at("expectedUpdateCount"),
                format!("`expectedUpdateCount` ({v}) is read only by an UPDATE"),
            )),
            Some(Value::Number(n)) if n.as_i64().is_some_and(|c| c >= 0) => {}
            Some(Value::String(t)) if t.contains("${") => {}
            Some(v) => self.problems.push(Problem::error(
                at("expectedUpdateCount"),
                format!("`expectedUpdateCount` is a count of rows (0: any), not {v}"),
            )),
            None => {}
        }
        match input.get("parameters") {
            None | Some(Value::Array(_)) => {}
            Some(Value::String(t)) if t.contains("${") => {}
            Some(v) => self.problems.push(Problem::error(
                at("parameters"),
                format!("`parameters` is a list of values for the statement's `?`s, not {v}"),
            )),
        }
        for key in input.keys().filter(|k| !READ.contains(&k.as_str())) {
            let hint = did_you_mean(key, READ.iter().copied());
            self.problems.push(
                Problem::warning(at(key), format!("a JDBC task does not read `{key}`; it is ignored")).with_hint(hint),
            );
        }
    }
}

/// What Conductor's `JDBC` task reads from its input (`query` is taken for `statement`, and
/// `integrationName`, Orkes' name, for `connectionId`); nothing else reaches the database.
pub(crate) fn jdbc_config(input: &Map<String, Value>) -> Map<String, Value> {
    let mut config = Map::new();
    for field in ["connection", "connectionId", "integrationName", "url", "statement", "parameters", "type", "timeout"]
    {
        if let Some(value) = input.get(field) {
            config.insert(field.to_string(), value.clone());
        }
    }
    if let (None, Some(query)) = (config.get("statement"), input.get("query")) {
        config.insert("statement".into(), query.clone());
    }
    if let Some(count) = input.get("expectedUpdateCount") {
        config.insert("expectedUpdateCount".into(), count.clone());
    }
    config
}
