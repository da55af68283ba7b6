//! SQL: PostgreSQL, MySQL/MariaDB and SQLite. Each row of the answer is one series: its label
//! columns (by default every column whose value is not a number) are its labels, and every
//! column is a field, so `value` names the column compared.
//!
//! Values are read in the databases' text form (the simple query protocol), so every type a
//! query can return reads without a driver-specific decoder (PostgreSQL `numeric` from `avg()`,
//! MySQL `DECIMAL`); numbers are recognised when the value is compared. Connections are pooled
//! per URL (at most 4).
//!
//! **Read-only where the query cannot undo it** (docs/reliability.md#security):
//! - the query is one statement that reads (`SELECT`, `WITH`, `VALUES`, `TABLE`, `SHOW`,
//!   `EXPLAIN`, `DESCRIBE`; `PRAGMA` on SQLite). PostgreSQL and MariaDB parse it first as a
//!   prepared statement, which their servers refuse for more than one statement; SQLite's text
//!   is split by [`statement::single`];
//! - SQLite is opened read-only (`SQLITE_OPEN_READONLY`, which no pragma lifts, and attached
//!   files inherit);
//! - PostgreSQL and MariaDB run it inside a `READ ONLY` transaction opened just before it, with
//!   the statement timeout local to it; the transaction is rolled back after, and the session is
//!   reset (`RESET ALL`, advisory locks released) before it goes back to the pool; a session that
//!   cannot be reset is closed;
//! - vigil's own store is never opened ([`protect_store`]).
//!
//! A database role that may only read is still the first defence; the docs recommend one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::{Column, Row};
use vigil_core::monitor::evaluate::{Answer, Sample};

use super::SourceProblem;

pub mod jdbc;
pub mod statement;
pub mod typed;

/// What a monitor writes under `source: {sql: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SqlConfig {
    /// `postgres://user:password@host/db`, `mysql://...` (MariaDB too) or `sqlite:///path.db`.
    /// Either this or `connection`.
    #[serde(default)]
    pub url: String,
    /// A connection an admin declared: the secret of this name holds its URL.
    #[serde(default)]
    pub connection: Option<String>,
    /// The query (one statement that reads).
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
pub enum Kind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite.
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

/// Puts the URL of the connection a config names (`connection: NAME`, the secret `NAME`) in its
/// `url`. `lookup` reads a secret as the notifiers' credentials are read.
///
/// A declaration is the URL itself (a connection that reads), or
/// `{"url": "...", "writable": true}` for one that JDBC `UPDATE` may write through; the answer
/// says which (false for a config without `connection`).
pub fn resolve_connection(config: &mut Value, lookup: &dyn Fn(&str, &str) -> Option<String>) -> Result<bool, String> {
    let Value::Object(map) = config else { return Ok(false) };
    let Some(Value::String(name)) = map.get("connection").cloned() else { return Ok(false) };
    let declared = lookup("secrets", &name).ok_or_else(|| {
        format!("connection `{name}` is not declared (an admin declares it with `vigil secret set {name}`, its URL as the value)")
    })?;
    let (url, writable) = declaration(&declared).map_err(|e| format!("connection `{name}`: {e}"))?;
    map.remove("connection");
    map.insert("url".into(), Value::String(url));
    Ok(writable)
}

/// A connection's declared URL and whether it may be written through.
fn declaration(declared: &str) -> Result<(String, bool), String> {
    let text = declared.trim();
    if !text.starts_with('{') {
        return Ok((text.to_string(), false));
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Declared {
        url: String,
        #[serde(default)]
        writable: bool,
    }
    // The value is a secret: serde's message could quote it, so only its shape is described.
    let parsed: Declared = serde_json::from_str(text)
        .map_err(|_| "the declaration is a URL, or {\"url\": \"...\", \"writable\": true}".to_string())?;
    Ok((parsed.url, parsed.writable))
}

/// Where vigil keeps its own state; never opened as a source.
static PROTECTED: OnceLock<Mutex<Vec<Protected>>> = OnceLock::new();

#[derive(Debug, Clone, PartialEq)]
enum Protected {
    /// A SQLite file (its canonical path).
    File(std::path::PathBuf),
    /// A PostgreSQL database: host, port, database name.
    Server(String, u16, String),
}

/// Marks vigil's own store (a SQLite path, or a `postgres://` URL) as never to be opened by a
/// query: a definition must not read (or, through a bug, write) tokens, secrets or state.
pub fn protect_store(location: &str) {
    let entry = if matches!(kind_of(location), Some(Kind::Postgres)) {
        server_of(location)
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        let path = path.split('?').next().unwrap_or(path);
        Some(Protected::File(std::fs::canonicalize(path).unwrap_or_else(|_| path.into())))
    };
    if let Some(entry) = entry {
        PROTECTED.get_or_init(Mutex::default).lock().expect("lock").push(entry);
    }
}

/// Host, port and database of a PostgreSQL URL.
fn server_of(url: &str) -> Option<Protected> {
    let options: sqlx::postgres::PgConnectOptions = url.parse().ok()?;
    let host = options.get_host().to_ascii_lowercase();
    let host = if matches!(host.as_str(), "localhost" | "::1" | "[::1]") { "127.0.0.1".to_string() } else { host };
    let database = options.get_database().unwrap_or(options.get_username()).to_string();
    Some(Protected::Server(host, options.get_port(), database))
}

/// Refuses `url` when it opens vigil's own store.
fn refuse_store(url: &str, kind: Kind) -> Result<(), String> {
    let Some(protected) = PROTECTED.get() else { return Ok(()) };
    let protected = protected.lock().expect("lock").clone();
    let target = match kind {
        Kind::Postgres => server_of(url),
        Kind::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions =
                url.parse().map_err(|e| format!("bad database URL: {e}"))?;
            let path = options.get_filename();
            Some(Protected::File(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())))
        }
        Kind::Mysql => None,
    };
    match target {
        Some(t) if protected.contains(&t) => {
            Err("this URL opens vigil's own store, which a query may never read".into())
        }
        _ => Ok(()),
    }
}

impl SqlConfig {
    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), SourceProblem> {
        match (&self.connection, self.url.is_empty()) {
            (Some(_), false) => {
                return Err(SourceProblem {
                    path: "url".into(),
                    message: "give `connection` or `url`, not both".into(),
                });
            }
            (None, true) => {
                return Err(SourceProblem {
                    path: "url".into(),
                    message: "give `connection` (a connection an admin declared) or `url`".into(),
                });
            }
            (Some(_), true) => {}
            (None, false) if kind_of(&self.url).is_none() && !self.url.contains("${") => {
                return Err(SourceProblem {
                    path: "url".into(),
                    message: "`url` starts with postgres://, mysql:// (MariaDB too) or sqlite://".into(),
                });
            }
            (None, false) => {}
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
        if self.connection.is_some() {
            return Err("the connection was not resolved to a URL".into());
        }
        let Some(kind) = kind_of(&self.url) else {
            return Err(format!("`{}` is not a postgres://, mysql:// or sqlite:// URL", redact(&self.url)));
        };
        let query = statement::reading(&self.query, kind)?;
        refuse_store(&self.url, kind)?;
        match kind {
            Kind::Postgres => {
                let pool = pool::<sqlx::Postgres>(&self.url, kind, false)?;
                let mut conn = pool.acquire().await.map_err(|e| describe(&e))?;
                let begin = format!("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}");
                let rows = in_read_only(&mut conn, &begin, query).await;
                let reset =
                    reset::<sqlx::Postgres>(&mut *conn, &["ROLLBACK", "RESET ALL", "SELECT pg_advisory_unlock_all()"])
                        .await;
                if reset.is_err() {
                    conn.close_on_drop();
                }
                Ok(rows?.iter().map(text_row).collect())
            }
            Kind::Mysql => {
                let pool = pool::<sqlx::MySql>(&self.url, kind, false)?;
                let mut conn = pool.acquire().await.map_err(|e| describe(&e))?;
                for timeout in mysql_timeouts(ms) {
                    let _ = reset::<sqlx::MySql>(&mut *conn, &[&timeout]).await;
                }
                let rows = in_read_only(&mut conn, "START TRANSACTION READ ONLY", query).await;
                let reset = reset::<sqlx::MySql>(&mut *conn, &["ROLLBACK", "SET SESSION TRANSACTION READ ONLY"]).await;
                let _ = sqlx::raw_sql("DO RELEASE_ALL_LOCKS()").execute(&mut *conn).await;
                if reset.is_err() {
                    conn.close_on_drop();
                }
                Ok(rows?.iter().map(text_row).collect())
            }
            Kind::Sqlite => {
                let pool = pool::<sqlx::Sqlite>(&self.url, kind, false)?;
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_string()))
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| describe(&e))?;
                Ok(rows.iter().map(text_row).collect())
            }
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

/// Opens `begin` (a read-only transaction), checks with the server's own parser that `query` is
/// one statement (a prepared statement cannot hold more), then runs it in the text protocol.
async fn in_read_only<DB: sqlx::Database>(
    conn: &mut sqlx::pool::PoolConnection<DB>,
    begin: &str,
    query: &str,
) -> Result<Vec<DB::Row>, String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    use sqlx::Executor;
    let conn: &mut DB::Connection = conn;
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(begin.to_string()))).await.map_err(|e| describe(&e))?;
    let text = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(query.to_string()));
    conn.prepare(text).await.map_err(|e| format!("{} (a query is one statement that reads)", describe(&e)))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_string())).fetch_all(&mut *conn).await.map_err(|e| describe(&e))
}

/// The statement timeout, as MySQL (milliseconds) and MariaDB (seconds) each take it; each
/// refuses the other's, so they are sent one by one and their failures ignored.
fn mysql_timeouts(ms: u64) -> [String; 2] {
    [
        format!("SET SESSION max_execution_time = {ms}"),
        format!("SET SESSION max_statement_time = {}", ms as f64 / 1000.0),
    ]
}

/// Runs vigil's own session statements in order; the first failure is returned.
async fn reset<DB: sqlx::Database>(conn: &mut DB::Connection, statements: &[&str]) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut *conn).await?;
    }
    Ok(())
}

/// One pool per URL and mode, created on first use (connections are opened lazily). Reading
/// pools open SQLite read-only, and each query opens its own read-only transaction; writing pools
/// (JDBC `UPDATE` on a connection declared writable) are separate, so a session never carries
/// one mode into the other.
fn pool<DB: sqlx::Database>(url: &str, kind: Kind, writable: bool) -> Result<sqlx::Pool<DB>, String>
where
    <DB::Connection as sqlx::Connection>::Options: std::any::Any,
{
    type Pools = Mutex<HashMap<String, Box<dyn std::any::Any + Send + Sync>>>;
    // Reading pools, then writing ones.
    static POOLS: [OnceLock<Pools>; 2] = [OnceLock::new(), OnceLock::new()];
    let pools = POOLS[usize::from(writable)].get_or_init(Mutex::default);
    let mut pools = pools.lock().expect("lock");
    if let Some(existing) = pools.get(url).and_then(|p| p.downcast_ref::<sqlx::Pool<DB>>()) {
        return Ok(existing.clone());
    }
    let bad = |e: sqlx::Error| format!("bad database URL `{}`: {}", redact(url), e);
    let mut options = url.parse::<<DB::Connection as sqlx::Connection>::Options>().map_err(bad)?;
    if kind == Kind::Sqlite && !writable {
        let any: &mut dyn std::any::Any = &mut options;
        if let Some(sqlite) = any.downcast_mut::<sqlx::sqlite::SqliteConnectOptions>() {
            *sqlite = sqlite.clone().read_only(true).create_if_missing(false).pragma("query_only", "ON");
        }
    }
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
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

impl super::SourceConfig for SqlConfig {
    type Built = SqlConfig;

    fn build(self) -> Result<SqlConfig, SourceProblem> {
        self.check().map(|()| self)
    }
}

impl super::Ask for SqlConfig {
    async fn ask(&self, _client: &reqwest::Client, _now: vigil_core::time::Millis) -> Answer {
        Box::pin(SqlConfig::ask(self)).await
    }
}

#[cfg(test)]
mod tests;
