//! Conductor's `JDBC` task: one statement with bound parameters on a declared connection.
//!
//! - `type: SELECT` reads, with every guarantee of the SQL source (one statement that reads, in a
//!   `READ ONLY` transaction, SQLite opened read-only); output `{"result": [row, ...]}`, each row
//!   a map of column to typed value ([`super::typed`]).
//! - `type: UPDATE` (Orkes' `INSERT` and `DELETE` too) runs only on a connection an admin
//!   declared writable. It runs in a transaction; with `expectedUpdateCount` above 0 and another
//!   count, it is rolled back and the task fails (Conductor's rule and message). Output
//!   `{"update_count": n}`.
//!
//! `parameters` are bound, never spliced: `?` in the statement, as in JDBC (`??` for a literal
//! `?` on PostgreSQL). A string binds as text, a number as an integer or a double, a boolean as a
//! boolean, `null` as `NULL`, an array or object as its JSON text.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Kind, describe, kind_of, mysql_timeouts, pool, redact, refuse_store, statement, typed};

/// What the interpreter hands over (the connection already resolved to its `url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JdbcConfig {
    /// The database URL, from the declared connection (or an ad-hoc `url`).
    pub url: String,
    /// The statement, `?` for each parameter.
    pub statement: String,
    /// Values for the placeholders, in order.
    #[serde(default)]
    pub parameters: Vec<Value>,
    /// `SELECT` or `UPDATE` (`INSERT` and `DELETE` are `UPDATE`).
    #[serde(rename = "type")]
    pub operation: String,
    /// For `UPDATE`: the count to require (0: any).
    #[serde(default)]
    pub expected_update_count: i64,
    /// Time the statement may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// How a JDBC task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JdbcOutcome {
    /// Done; the task's output.
    Done(Value),
    /// Failed; a retry may succeed (the database refused, or the count did not match).
    Failed {
        /// Why.
        reason: String,
        /// Output kept with the failure (`update_count` on a mismatch).
        output: Value,
    },
    /// Failed for good: the task itself is wrong (not writable, unknown type, bad URL).
    Refused(String),
}

/// Runs the task that `config` describes. `writable`: its connection was declared writable (read
/// from the declaration by [`super::resolve_connection`], never from the task).
pub async fn run(config: Value, writable: bool) -> JdbcOutcome {
    let config: JdbcConfig = match serde_json::from_value(config) {
        Ok(c) => c,
        Err(e) => return JdbcOutcome::Refused(format!("JDBC: {e}")),
    };
    let Some(kind) = kind_of(&config.url) else {
        return JdbcOutcome::Refused(format!(
            "`{}` is not a postgres://, mysql:// or sqlite:// URL",
            redact(&config.url)
        ));
    };
    if let Err(e) = refuse_store(&config.url, kind) {
        return JdbcOutcome::Refused(e);
    }
    let timeout = super::super::duration(config.timeout.as_deref(), super::super::DEFAULT_TIMEOUT)
        .unwrap_or(super::super::DEFAULT_TIMEOUT);
    let work = async {
        match config.operation.to_ascii_uppercase().as_str() {
            "SELECT" => select(&config, kind, timeout).await,
            "UPDATE" | "INSERT" | "DELETE" if !writable => JdbcOutcome::Refused(
                "UPDATE runs only on a connection an admin declared writable (`vigil secret set NAME` with \
                 {\"url\": \"...\", \"writable\": true}); this one reads only"
                    .into(),
            ),
            "UPDATE" | "INSERT" | "DELETE" => update(&config, kind, timeout).await,
            other => JdbcOutcome::Refused(format!("JDBC `type` is SELECT or UPDATE, not `{other}`")),
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(outcome) => outcome,
        Err(_) => JdbcOutcome::Failed {
            reason: format!("the statement did not finish within {timeout:?}"),
            output: json!({}),
        },
    }
}

/// A session's statements around a task's statement: how it opens, and what resets it after.
struct Session<'a> {
    /// Run first, each failure ignored: MySQL and MariaDB each refuse the other's timeout.
    prelude: &'a [String],
    begin: &'a str,
    reset: &'a [&'a str],
}

/// What every backend can bind and run.
trait Backend: sqlx::Database
where
    for<'c> &'c mut Self::Connection: sqlx::Executor<'c, Database = Self>,
{
    fn bind_value<'q>(
        query: sqlx::query::Query<'q, Self, Self::Arguments>,
        value: &Value,
    ) -> sqlx::query::Query<'q, Self, Self::Arguments>;
    fn affected(done: &Self::QueryResult) -> u64;

    /// `text` with `parameters` bound in order.
    fn bound<'q>(text: String, parameters: &[Value]) -> sqlx::query::Query<'q, Self, Self::Arguments> {
        parameters.iter().fold(sqlx::query::<Self>(sqlx::AssertSqlSafe(text)), Self::bind_value)
    }
}

macro_rules! backend {
    ($db:ty, $result:ty) => {
        impl Backend for $db {
            fn bind_value<'q>(
                query: sqlx::query::Query<'q, Self, Self::Arguments>,
                value: &Value,
            ) -> sqlx::query::Query<'q, Self, Self::Arguments> {
                match value {
                    Value::Null => query.bind(None::<String>),
                    Value::Bool(b) => query.bind(*b),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => query.bind(i),
                        None => query.bind(n.as_f64().unwrap_or(f64::NAN)),
                    },
                    Value::String(s) => query.bind(s.clone()),
                    other => query.bind(other.to_string()),
                }
            }
            fn affected(done: &$result) -> u64 {
                done.rows_affected()
            }
        }
    };
}
backend!(sqlx::Postgres, sqlx::postgres::PgQueryResult);
backend!(sqlx::MySql, sqlx::mysql::MySqlQueryResult);
backend!(sqlx::Sqlite, sqlx::sqlite::SqliteQueryResult);

/// The statement as `kind` takes it, refusing a second statement.
fn prepared(config: &JdbcConfig, kind: Kind, reading: bool) -> Result<String, String> {
    let one = if reading {
        statement::reading(&config.statement, kind)?
    } else {
        statement::single(&config.statement, kind)?
    };
    let (text, count) = statement::placeholders(one, kind);
    if count != config.parameters.len() {
        return Err(format!(
            "the statement has {count} `?` placeholder(s) and `parameters` has {} value(s)",
            config.parameters.len()
        ));
    }
    Ok(text)
}

/// Opens a session from `pool` and runs its `begin`.
async fn open<DB: Backend>(
    pool: &sqlx::Pool<DB>,
    session: &Session<'_>,
) -> Result<sqlx::pool::PoolConnection<DB>, String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut conn = pool.acquire().await.map_err(|e| describe(&e))?;
    for statement in session.prelude {
        let _ = super::reset::<DB>(&mut conn, &[statement]).await;
    }
    if !session.begin.is_empty() {
        super::reset::<DB>(&mut conn, &[session.begin]).await.map_err(|e| describe(&e))?;
    }
    Ok(conn)
}

/// Runs `end` then the session's reset; a session that cannot be reset is closed, not reused.
async fn close<DB: Backend>(
    mut conn: sqlx::pool::PoolConnection<DB>,
    end: &[&str],
    session: &Session<'_>,
) -> Result<(), String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let ended = super::reset::<DB>(&mut conn, end).await;
    if ended.is_err() || super::reset::<DB>(&mut conn, session.reset).await.is_err() {
        conn.close_on_drop();
    }
    ended.map_err(|e| describe(&e))
}

/// Runs a reading statement and decodes its rows.
async fn fetch<DB: Backend>(
    url: &str,
    kind: Kind,
    session: Session<'_>,
    text: String,
    parameters: &[Value],
    decode: fn(&DB::Row) -> Map<String, Value>,
) -> Result<Vec<Map<String, Value>>, String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    <DB::Connection as sqlx::Connection>::Options: std::any::Any,
{
    let pool = pool::<DB>(url, kind, false)?;
    let mut conn = open(&pool, &session).await?;
    let query = DB::bound(text, parameters);
    let rows = query.fetch_all(&mut *conn).await.map_err(|e| describe(&e));
    let _ = close(conn, &[], &session).await;
    Ok(rows?.iter().map(decode).collect())
}

/// Runs a writing statement in a transaction; commits only when `commit` says so for its count.
async fn execute<DB: Backend>(
    url: &str,
    kind: Kind,
    session: Session<'_>,
    text: String,
    parameters: &[Value],
    commit: impl Fn(u64) -> bool,
) -> Result<u64, String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    <DB::Connection as sqlx::Connection>::Options: std::any::Any,
{
    let pool = pool::<DB>(url, kind, true)?;
    let mut conn = open(&pool, &session).await?;
    let query = DB::bound(text, parameters);
    let done = query.execute(&mut *conn).await.map(|d| DB::affected(&d)).map_err(|e| describe(&e));
    let end = if done.as_ref().is_ok_and(|&n| commit(n)) { "COMMIT" } else { "ROLLBACK" };
    let ended = close(conn, &[end], &session).await;
    let count = done?;
    ended?;
    Ok(count)
}

async fn select(config: &JdbcConfig, kind: Kind, timeout: Duration) -> JdbcOutcome {
    let text = match prepared(config, kind, true) {
        Ok(t) => t,
        Err(e) => return JdbcOutcome::Refused(e),
    };
    let ms = timeout.as_millis().max(1) as u64;
    let (url, parameters) = (config.url.as_str(), config.parameters.as_slice());
    let rows = match kind {
        Kind::Postgres => {
            let begin = format!("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}");
            let reset = ["ROLLBACK", "RESET ALL", "SELECT pg_advisory_unlock_all()"];
            let session = Session { prelude: &[], begin: &begin, reset: &reset };
            fetch::<sqlx::Postgres>(url, kind, session, text, parameters, typed::postgres_row).await
        }
        Kind::Mysql => {
            let prelude = mysql_timeouts(ms);
            let reset = ["ROLLBACK", "SET SESSION TRANSACTION READ ONLY"];
            let session = Session { prelude: &prelude, begin: "START TRANSACTION READ ONLY", reset: &reset };
            fetch::<sqlx::MySql>(url, kind, session, text, parameters, typed::mysql_row).await
        }
        Kind::Sqlite => {
            let session = Session { prelude: &[], begin: "", reset: &[] };
            fetch::<sqlx::Sqlite>(url, kind, session, text, parameters, typed::sqlite_row).await
        }
    };
    match rows {
        Ok(rows) => JdbcOutcome::Done(json!({"result": rows})),
        Err(reason) => JdbcOutcome::Failed { reason, output: json!({}) },
    }
}

async fn update(config: &JdbcConfig, kind: Kind, timeout: Duration) -> JdbcOutcome {
    let text = match prepared(config, kind, false) {
        Ok(t) => t,
        Err(e) => return JdbcOutcome::Refused(e),
    };
    let ms = timeout.as_millis().max(1) as u64;
    let expected = config.expected_update_count;
    let matches = |count: u64| expected <= 0 || count == expected as u64;
    let (url, parameters) = (config.url.as_str(), config.parameters.as_slice());
    let counted = match kind {
        Kind::Postgres => {
            let begin = format!("BEGIN; SET LOCAL statement_timeout = {ms}");
            let reset = ["RESET ALL", "SELECT pg_advisory_unlock_all()"];
            let session = Session { prelude: &[], begin: &begin, reset: &reset };
            execute::<sqlx::Postgres>(url, kind, session, text, parameters, matches).await
        }
        Kind::Mysql => {
            let prelude = mysql_timeouts(ms);
            let session = Session { prelude: &prelude, begin: "START TRANSACTION", reset: &[] };
            execute::<sqlx::MySql>(url, kind, session, text, parameters, matches).await
        }
        Kind::Sqlite => {
            let session = Session { prelude: &[], begin: "BEGIN IMMEDIATE", reset: &[] };
            execute::<sqlx::Sqlite>(url, kind, session, text, parameters, matches).await
        }
    };
    match counted {
        Ok(count) if !matches(count) => JdbcOutcome::Failed {
            reason: format!("Update count {count} does not match with expected update count {expected}"),
            output: json!({"update_count": count}),
        },
        Ok(count) => JdbcOutcome::Done(json!({"update_count": count})),
        Err(reason) => JdbcOutcome::Failed { reason, output: json!({}) },
    }
}

#[cfg(test)]
#[path = "jdbc_tests.rs"]
mod tests;
