//! Query tasks (`INFLUXDB_QUERY`, `PROMETHEUS_QUERY`, `SQL_QUERY`, `HTTP_CHECK`): the same
//! sources as monitors, asked once, their series as the task's output
//! (`{"series": [{"labels": {...}, "fields": {...}, "tier": ..., "note": ...}], "count": n}`; `tier`
//! is what the source judged itself, an HTTP check's conditions). Conductor's `JDBC` runs its
//! statement as Conductor does ([`jdbc`]).

use serde_json::{Value, json};
use vigil_connectors::sources::sql::jdbc::{self, JdbcOutcome};
use vigil_connectors::sources::{Source, ask};
use vigil_core::interpreter::TaskResult;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::monitor::{SourceKind, SourceSpec};
use vigil_core::principal::Reach;

/// Runs Conductor's JDBC task with `config` (its connection resolved); `writable`: the connection
/// was declared writable (read from its declaration, never the task).
pub async fn jdbc(config: Value, writable: bool) -> TaskResult {
    match jdbc::run(config, writable).await {
        JdbcOutcome::Done(output) => TaskResult::Completed(output),
        JdbcOutcome::Failed { reason, output } => TaskResult::Failed { reason, output, terminal: false },
        JdbcOutcome::Refused(reason) => TaskResult::Failed { reason, output: json!({}), terminal: true },
    }
}

/// Asks `source` with `config` (secrets revealed) and reports the task's result; its addresses,
/// resolved, are checked against `reach` first ([`vigil_connectors::egress`]).
pub async fn run(client: &reqwest::Client, source: SourceKind, config: Value, reach: Reach) -> TaskResult {
    if let Err(reason) =
        vigil_connectors::egress::check(reach, &vigil_connectors::egress::targets(source, &config)).await
    {
        return TaskResult::Failed { reason, output: json!({}), terminal: true };
    }
    let spec = SourceSpec::new(source, config);
    let mut source = match Source::from_spec(&spec) {
        Ok(s) => s,
        Err(p) => {
            let at = if p.path.is_empty() { String::new() } else { format!("{}: ", p.path) };
            return TaskResult::Failed { reason: format!("{at}{}", p.message), output: json!({}), terminal: true };
        }
    };
    match &mut source {
        Source::Browser(browser) => std::sync::Arc::make_mut(browser).set_reach(reach),
        Source::Http(http) => std::sync::Arc::make_mut(http).set_reach(reach),
        _ => {}
    }
    match ask(client, &source).await {
        Answer::Samples(samples) => {
            let series: Vec<Value> = samples
                .into_iter()
                .map(|s| json!({"labels": s.labels, "fields": s.fields, "tier": s.tier, "note": s.note}))
                .collect();
            TaskResult::Completed(json!({"count": series.len(), "series": series}))
        }
        Answer::Failed(reason) => TaskResult::Failed { reason, output: json!({}), terminal: false },
    }
}
