//! A monitor source's task type (`PROMETHEUS_QUERY`, `INFLUXDB_QUERY`, `SQL_QUERY`, `HTTP_CHECK`,
//! `TCP_CHECK`, ... as `crate::source_kind` declares them), and Conductor's JDBC: the inputs
//! are the source's settings, the runtime asks the source, and the output is its series.

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::Action;
use crate::interpreter::run::Run;
use crate::locate::join_key;
use crate::source_kind::SourceKind;

/// A read-only query: repeating it is harmless.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `source`'s task: a `url` (or, for SQL, a declared `connection`) and, when the source asks
    /// one, a `query`.
    pub(crate) fn build_source_query(&mut self, raw: &TaskConfig, source: SourceKind, path: &str) -> TaskKind {
        let input_path = join_key(path, "inputParameters");
        let has = |k: &str| raw.input_parameters.contains_key(k);
        let named = source == SourceKind::Sql && (has("connection") || has("connectionId"));
        if !has("url") && !named {
            let why = if source == SourceKind::Sql {
                "an SQL task needs `connection` (a connection an admin declared, Conductor's `connectionId`) or `url`"
            } else {
                "a query task needs `url`, the server's address"
            };
            self.problems.push(Problem::error(join_key(&input_path, "url"), why));
        }
        if source.asks_query() && !has("query") && !has("statement") {
            self.problems.push(Problem::error(join_key(&input_path, "query"), "a query task needs `query`"));
        }
        TaskKind::Query { source, jdbc: false }
    }
}

impl Run<'_, '_> {
    /// Hands the source's settings to the runtime, once an SQL task's connection is authorized.
    pub(crate) fn start_source_query(&mut self, i: usize, source: SourceKind, jdbc: bool, input: Map<String, Value>) {
        let mut config = if jdbc { super::jdbc::jdbc_config(&input) } else { input };
        if source == SourceKind::Sql
            && let Err(reason) = self.authorize_connection(i, &mut config)
        {
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        let task_id = self.inst.tasks[i].task_id.clone();
        let reach = self.reach_of(i, &["url", "steps", "host"]);
        self.actions.push(Action::Query { task_id, source, jdbc, config: Value::Object(config), reach });
    }

    /// An SQL task names a connection an admin declared (`connection`, Conductor's
    /// `connectionId`), which its authority must be granted (`connection:NAME`), or gives a
    /// `url`, which only a trusted authority may type in.
    fn authorize_connection(&self, i: usize, config: &mut Map<String, Value>) -> Result<(), String> {
        // The field the definition wrote, whose text carries the authority checked.
        let written = self.task_def(&self.inst.tasks[i].def_ref).map(|t| &t.input);
        let field = ["connection", "connectionId", "integrationName"]
            .into_iter()
            .find(|f| written.is_some_and(|input| input.contains_key(*f)))
            .unwrap_or("connection");
        for alias in ["integrationName", "connectionId"] {
            if let Some(id) = config.remove(alias) {
                config.entry("connection".to_string()).or_insert(id);
            }
        }
        match config.get("connection") {
            Some(Value::String(name)) => {
                let authority = self.authority_for(i, field);
                if authority.allows(&format!("connection:{name}")) {
                    return Ok(());
                }
                Err(format!(
                    "connection `{name}` is not granted to {}; an admin grants it with `vigil token create --grant \
                     connection:{name}`",
                    authority.describe()
                ))
            }
            Some(other) => Err(format!("`connection` must name a connection, not {other}")),
            None => self.authority_for(i, "url").may_use_ad_hoc_url().map_err(|d| d.0),
        }
    }
}
