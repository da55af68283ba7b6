//! Heartbeat pings: the log of pings received and each heartbeat's state.
//!
//! A batch of pings is written in one transaction: the pings are appended, each heartbeat's state
//! row is created if missing, read (locked, on PostgreSQL), advanced by the batch's pings in the
//! order they arrived ([`Beats::apply_run`]), and written back. A ping is answered only after its
//! batch commits, so a ping that got its 200 survives a crash.

use vigil_core::monitor::expect::{Beats, PingKind, rid_hash};
use vigil_core::time::Millis;

/// A ping as received.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRow {
    /// The monitor it is for.
    pub monitor: String,
    /// What it reports.
    pub kind: PingKind,
    /// The exit code it gave (`/ping/{id}/{code}`).
    pub exit_code: Option<i32>,
    /// Its run id (`?rid=`).
    pub rid: Option<String>,
    /// Its body as sent, capped (not always text).
    pub body: Option<Vec<u8>>,
    /// Where it came from.
    pub origin: PingOrigin,
    /// When it arrived.
    pub received_at: Millis,
}

/// Where a ping came from, as Healthchecks keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingOrigin {
    /// The HTTP method.
    pub method: Option<String>,
    /// The `User-Agent`, at most 200 characters.
    pub user_agent: Option<String>,
    /// The client's address: the first `X-Forwarded-For` entry, else the peer's.
    pub remote_addr: Option<String>,
    /// `http` or `https` (`X-Forwarded-Proto`).
    pub scheme: Option<String>,
    /// A queue's message: the queue (`mqtt:devices/42/alive`).
    pub queue: Option<String>,
    /// A queue's message: its id. Of two pings of one monitor with one message id (the message
    /// delivered again), the second is not recorded.
    pub message_id: Option<String>,
}

impl PingRow {
    /// The stored name of its kind.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }
}

/// The stored name of a kind.
pub fn kind_name(kind: PingKind) -> &'static str {
    match kind {
        PingKind::Success => "success",
        PingKind::Start => "start",
        PingKind::Fail => "fail",
        PingKind::Log => "log",
    }
}

/// A kind from its stored name.
pub fn kind_of(name: &str) -> PingKind {
    match name {
        "start" => PingKind::Start,
        "fail" => PingKind::Fail,
        "log" => PingKind::Log,
        _ => PingKind::Success,
    }
}

/// A heartbeat's state as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRow {
    /// The monitor.
    pub monitor: String,
    /// Its beats.
    pub beats: Beats,
    /// When a ping last changed it.
    pub updated_at: Millis,
}

/// Advances `beats` by `pings` (those of its monitor, in arrival order).
pub fn advance<'a>(beats: &mut Beats, pings: impl Iterator<Item = &'a PingRow>) {
    for p in pings {
        beats.apply_run(p.kind, p.received_at, p.exit_code, p.rid.as_deref().map(rid_hash));
    }
}

/// Rows per multi-row statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// The columns of a state row.
pub(crate) const STATE_COLUMNS: &str = "monitor, success, start, fail, exit_code, start_rid, start_ended, updated_at";

/// Reads a state row from either backend.
macro_rules! heartbeat_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        crate::pings::HeartbeatRow {
            monitor: r.try_get("monitor")?,
            beats: vigil_core::monitor::expect::Beats {
                success: r.try_get("success")?,
                start: r.try_get("start")?,
                fail: r.try_get("fail")?,
                exit_code: r.try_get::<Option<i64>, _>("exit_code")?.map(|c| c as i32),
                start_rid: r.try_get::<Option<i64>, _>("start_rid")?.map(|h| h as u64),
                start_ended: r.try_get::<i64, _>("start_ended")? != 0,
            },
            updated_at: r.try_get("updated_at")?,
        }
    }};
}

/// Writes a batch of pings inside an open transaction of either backend (`$db`: `Sqlite` or
/// `Postgres`; `$lock`: `""` or `" FOR UPDATE"`) and evaluates to the new states.
macro_rules! write_pings {
    ($db:ty, $tx:expr, $pings:expr, $now:expr, $lock:expr) => {{
        use crate::pings as p;
        let all: &[p::PingRow] = $pings;
        // A message's ping is recorded once: one delivered again is left out, here and below.
        let mut fresh: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
        let (from_messages, plain): (Vec<&p::PingRow>, Vec<&p::PingRow>) =
            all.iter().partition(|r| r.origin.message_id.is_some());
        for (chunk, from_message) in plain
            .chunks(p::ROWS_PER_STATEMENT)
            .map(|c| (c, false))
            .chain(from_messages.chunks(p::ROWS_PER_STATEMENT).map(|c| (c, true)))
        {
            let mut q: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO pings (monitor, kind, exit_code, rid, body, body_raw, method, user_agent, remote_addr, scheme, queue, message_id, received_at) ");
            q.push_values(chunk, |mut b, r| {
                // Text is kept as text (searchable, readable in SQL); other bytes as they came.
                let (text, raw) = match r.body.as_deref().map(std::str::from_utf8) {
                    Some(Ok(text)) => (Some(text), None),
                    Some(Err(_)) => (None, r.body.as_deref()),
                    None => (None, None),
                };
                b.push_bind(&r.monitor)
                    .push_bind(r.kind_name())
                    .push_bind(r.exit_code.map(i64::from))
                    .push_bind(&r.rid)
                    .push_bind(text)
                    .push_bind(raw)
                    .push_bind(&r.origin.method)
                    .push_bind(&r.origin.user_agent)
                    .push_bind(&r.origin.remote_addr)
                    .push_bind(&r.origin.scheme)
                    .push_bind(&r.origin.queue)
                    .push_bind(&r.origin.message_id)
                    .push_bind(r.received_at);
            });
            if !from_message {
                q.build().execute(&mut *$tx).await?;
                continue;
            }
            q.push(" ON CONFLICT DO NOTHING RETURNING monitor, message_id");
            for row in q.build().fetch_all(&mut *$tx).await? {
                use sqlx::Row;
                fresh.insert((row.try_get(0)?, row.try_get(1)?));
            }
        }
        // Of one message's pings only the first inserted counts (twice in one batch: once).
        let pings: Vec<&p::PingRow> = all
            .iter()
            .filter(|r| match r.origin.message_id.as_deref() {
                None => true,
                Some(id) => fresh.remove(&(r.monitor.clone(), id.to_string())),
            })
            .collect();
        // Each monitor's pings in arrival order, found once (not by a scan per state row).
        let mut by_monitor: std::collections::HashMap<&str, Vec<&p::PingRow>> = std::collections::HashMap::new();
        for r in pings {
            by_monitor.entry(r.monitor.as_str()).or_default().push(r);
        }
        let mut monitors: Vec<&str> = by_monitor.keys().copied().collect();
        monitors.sort_unstable();
        let mut states = Vec::with_capacity(monitors.len());
        for chunk in monitors.chunks(p::ROWS_PER_STATEMENT) {
            let mut q: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO heartbeats (monitor, start_ended, updated_at) ");
            q.push_values(chunk, |mut b, m| {
                b.push_bind(*m).push_bind(0i64).push_bind($now);
            });
            q.push(" ON CONFLICT (monitor) DO NOTHING");
            q.build().execute(&mut *$tx).await?;
            let mut q: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new(format!("SELECT {} FROM heartbeats WHERE monitor IN (", p::STATE_COLUMNS));
            let mut list = q.separated(", ");
            for m in chunk {
                list.push_bind(*m);
            }
            q.push(") ORDER BY monitor");
            q.push($lock);
            for row in q.build().fetch_all(&mut *$tx).await? {
                let mut state = crate::pings::heartbeat_row!(&row);
                let before = state.beats;
                let mine = by_monitor.get(state.monitor.as_str()).map(Vec::as_slice).unwrap_or_default();
                p::advance(&mut state.beats, mine.iter().copied());
                if state.beats != before {
                    state.updated_at = $now;
                }
                states.push(state);
            }
        }
        for chunk in states.chunks(p::ROWS_PER_STATEMENT) {
            let mut q: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new(format!("INSERT INTO heartbeats ({}) ", p::STATE_COLUMNS));
            q.push_values(chunk, |mut b, s| {
                b.push_bind(&s.monitor)
                    .push_bind(s.beats.success)
                    .push_bind(s.beats.start)
                    .push_bind(s.beats.fail)
                    .push_bind(s.beats.exit_code.map(i64::from))
                    .push_bind(s.beats.start_rid.map(|h| h as i64))
                    .push_bind(i64::from(s.beats.start_ended))
                    .push_bind(s.updated_at);
            });
            q.push(
                " ON CONFLICT (monitor) DO UPDATE SET success = excluded.success, start = excluded.start, \
                 fail = excluded.fail, exit_code = excluded.exit_code, start_rid = excluded.start_rid, \
                 start_ended = excluded.start_ended, updated_at = excluded.updated_at",
            );
            q.build().execute(&mut *$tx).await?;
        }
        states
    }};
}

pub(crate) use {heartbeat_row, write_pings};
