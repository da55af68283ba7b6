//! SQL: PostgreSQL, MySQL/MariaDB and SQLite. Each row of the answer is one series: its label
//! columns (by default every column whose value is not a number) are its labels, and every
//! column is a field, so `value` names the column compared.
//!
//! Values are read in the databases' text form (the simple query protocol), so every type a
//! query can return reads without a driver-specific decoder (PostgreSQL `numeric` from `avg()`,
//! MySQL `DECIMAL`); numbers are recognised when the value is compared. Connections are pooled
//! per URL (at most 4), sessions are read-only where the server allows it, and a statement
//! timeout is set on the server as well as kept by vigil. The query is the monitor author's own
//! text, run as written (`AssertSqlSafe`): nothing from a source answer or a request is put
//! into it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::{Column, Row};
use vigil_core::monitor::evaluate::{Answer, Sample};

use super::SourceProblem;

/// What a monitor writes under `source: {sql: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SqlConfig {
    /// `postgres://user:password@host/db`, `mysql://...` (MariaDB too) or `sqlite:///path.db`.
    pub url: String,
    /// The query (one statement).
    pub query: String,
    /// Columns that label a row's series; by default every column whose value is not a number.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Time the query may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The database kind, from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postgres,
    Mysql,
    Sqlite,
}

fn kind_of(url: &str) -> Option<Kind> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "postgres" | "postgresql" => Some(Kind::Postgres),
        "mysql" | "mariadb" => Some(Kind::Mysql),
        "sqlite" => Some(Kind::Sqlite),
        _ => None,
    }
}

impl SqlConfig {
    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), SourceProblem> {
        if kind_of(&self.url).is_none() && !self.url.contains("${") {
            return Err(SourceProblem {
                path: "url".into(),
                message: "`url` starts with postgres://, mysql:// (MariaDB too) or sqlite://".into(),
            });
        }
        if self.query.trim().is_empty() {
            return Err(SourceProblem { path: "query".into(), message: "`query` is empty".into() });
        }
        super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT).map(|_| ())
    }

    fn timeout(&self) -> Duration {
        super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT).unwrap_or(super::DEFAULT_TIMEOUT)
    }

    /// Runs the query and reads its rows.
    pub async fn ask(&self) -> Answer {
        let timeout = self.timeout();
        let rows = tokio::time::timeout(timeout, self.rows(timeout)).await;
        match rows {
            Err(_) => Answer::Failed(format!("the query did not finish within {timeout:?}")),
            Ok(Err(e)) => Answer::Failed(e),
            Ok(Ok(rows)) => Answer::Samples(self.samples(rows)),
        }
    }

    /// Rows as (column, text value or null) lists.
    async fn rows(&self, timeout: Duration) -> Result<Vec<Vec<(String, Option<String>)>>, String> {
        let ms = timeout.as_millis().max(1) as u64;
        match kind_of(&self.url) {
            Some(Kind::Postgres) => {
                let pool = pool::<sqlx::Postgres>(&self.url, move |c| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = {ms}"
                        ))))
                        .await
                        .map(|_| ())
                    })
                })?;
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(self.query.clone()))
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| describe(&e))?;
                Ok(rows.iter().map(text_row).collect())
            }
            Some(Kind::Mysql) => {
                let pool = pool::<sqlx::MySql>(&self.url, move |c| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        c.execute("SET SESSION TRANSACTION READ ONLY").await?;
                        // MySQL counts milliseconds, MariaDB seconds; each ignores the other's.
                        let _ = c
                            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "SET SESSION max_execution_time = {ms}"
                            ))))
                            .await;
                        let _ = c
                            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "SET SESSION max_statement_time = {}",
                                ms as f64 / 1000.0
                            ))))
                            .await;
                        Ok(())
                    })
                })?;
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(self.query.clone()))
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| describe(&e))?;
                Ok(rows.iter().map(text_row).collect())
            }
            Some(Kind::Sqlite) => {
                let pool = pool::<sqlx::Sqlite>(&self.url, |c| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        c.execute("PRAGMA query_only = ON").await.map(|_| ())
                    })
                })?;
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(self.query.clone()))
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| describe(&e))?;
                Ok(rows.iter().map(text_row).collect())
            }
            None => Err(format!("`{}` is not a postgres://, mysql:// or sqlite:// URL", redact(&self.url))),
        }
    }

    fn samples(&self, rows: Vec<Vec<(String, Option<String>)>>) -> Vec<Sample> {
        rows.into_iter()
            .map(|row| {
                let is_label = |column: &str, value: &Option<String>| match &self.labels {
                    Some(names) => names.iter().any(|n| n == column),
                    None => value.as_deref().is_some_and(|v| v.trim().parse::<f64>().is_err()),
                };
                let labels: BTreeMap<String, String> = row
                    .iter()
                    .filter(|(c, v)| is_label(c, v))
                    .map(|(c, v)| (c.clone(), v.clone().unwrap_or_default()))
                    .collect();
                let fields: Map<String, Value> =
                    row.into_iter().map(|(c, v)| (c, v.map_or(Value::Null, Value::String))).collect();
                Sample { labels, fields, ..Sample::default() }
            })
            .collect()
    }
}

/// Reads every column of a row as text (or null), unchecked: the simple query protocol sends
/// text for every type.
fn text_row<R: Row>(row: &R) -> Vec<(String, Option<String>)>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name().to_string(), row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()))
        .collect()
}

/// One pool per URL, created on first use (connections are opened lazily).
fn pool<DB: sqlx::Database>(
    url: &str,
    after_connect: impl for<'c> Fn(
        &'c mut DB::Connection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>,
    > + Send
    + Sync
    + 'static,
) -> Result<sqlx::Pool<DB>, String> {
    static POOLS: OnceLock<Mutex<HashMap<String, Box<dyn std::any::Any + Send + Sync>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Mutex::default);
    let mut pools = pools.lock().expect("lock");
    if let Some(existing) = pools.get(url).and_then(|p| p.downcast_ref::<sqlx::Pool<DB>>()) {
        return Ok(existing.clone());
    }
    let options = url
        .parse::<<DB::Connection as sqlx::Connection>::Options>()
        .map_err(|e| format!("bad database URL `{}`: {}", redact(url), e))?;
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |c, _| after_connect(c))
        .connect_lazy_with(options);
    pools.insert(url.to_string(), Box::new(pool.clone()));
    Ok(pool)
}

/// An error without the URL's password.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("the database refused the query: {}", db.message()),
        sqlx::Error::PoolTimedOut => "no connection to the database within 10s".into(),
        other => format!("database error: {other}"),
    }
}

/// The URL with its password replaced.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
