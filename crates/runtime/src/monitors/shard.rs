//! One shard of the monitors: its monitors' due times, checks and readings, on a
//! single-threaded runtime of its own (see the [module docs](super)).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use vigil_connectors::sources::Source;
use vigil_core::alert::Tier;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Answer, Memory, Reading, evaluate};
use vigil_core::time::{MaybeMillis, Millis};

use super::recent::{Outcome, Recent};
use super::table::{Key, Named, Table};
use super::{CheckCounts, Deps, Live, MAX_IN_FLIGHT, MonitorStatus, ask_with_store, observe, record};
use crate::alerting::messages::AlertMsg;

/// How often pending results are handed to the writer.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How many monitors' closed buckets go into each one-second batch of a history round, which
/// starts every `flush` and takes the monitors in name order (so each batch covers one range of
/// the index) spread over half of it. Written at once, 10,000 monitors' ten minutes of buckets
/// (140,000 rows with their rollups) grew SQLite's WAL to 60 MB before a checkpoint could restart
/// it, and built every row in memory at once (the soak's RSS dipped 11% below its mean each time
/// the freed rows were handed back); spread, a batch is about 34 monitors and 500 rows. Each
/// monitor is still written once per `flush`, so a crash loses no more.
fn history_chunk(monitors: usize, flush: Millis) -> usize {
    let ticks = (flush / 2 / FLUSH_EVERY.as_millis() as Millis).max(1) as usize;
    monitors.div_ceil(ticks).max(1)
}

/// Least time between two rounds of starting due checks. Checks due within it of each other start
/// together, on one wake of the shard's thread: at 10,000 monitors every 10 s a check fell due
/// every millisecond, and the thread slept and woke for each (W1 at 10,000 monitors, one shard:
/// 5 ms rounds cost 63-81 µs of CPU per check, 10 ms 64, 20 ms 53-58 but with a lag p99 of
/// 21 ms). It bounds how late a check starts: under the 20 ms lag p99 the benchmark asks for.
const ROUND_SPACING_MS: Millis = 10;

/// Longest a failing reading waits before it is told to the alert manager. Observations are sent
/// together, at most this often: each send woke the engine's runtime (its two workers and their
/// futexes), which at 1,000 checks a second with 5 % failing cost about a tenth of vigil's CPU.
/// A page is this much later at most, for a check made every few seconds or more.
const TELL_EVERY_MS: Millis = 100;

/// Longest sleep, so a wall-clock jump is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Which shard this is, of how many.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// This shard.
    pub index: usize,
    /// All shards.
    pub count: usize,
}

impl Place {
    /// Most checks this shard runs at once: its share of [`MAX_IN_FLIGHT`].
    fn max_in_flight(self) -> usize {
        MAX_IN_FLIGHT.div_ceil(self.count)
    }

    /// Whether monitor `name` belongs to this shard.
    pub fn holds(self, name: &str) -> bool {
        super::shard_of(name, self.count) == self.index
    }
}

/// Work for a shard, from the router.
pub enum Cmd {
    /// Replaces the shard's monitors: `defs`, where the shard now stands, and the monitors other
    /// shards handed over (their memory and schedule kept).
    Set {
        /// The monitors this shard runs now.
        defs: Vec<MonitorDef>,
        /// Where it stands among the shards in use.
        place: Place,
        /// Monitors moved here from other shards.
        adopted: Vec<Adopted>,
    },
    /// Hands every monitor over (the number of shards in use changes); a check under way is
    /// forgotten, and the monitor checked again at its next slot where it goes.
    HandOver(oneshot::Sender<Vec<Adopted>>),
    /// Runs a monitor now; answers with its status after the check.
    CheckNow(String, oneshot::Sender<Option<MonitorStatus>>),
    /// Every monitor's status.
    List(oneshot::Sender<Vec<MonitorStatus>>),
    /// One monitor's status, without a check.
    Get(String, oneshot::Sender<Option<MonitorStatus>>),
    /// What only memory holds of one monitor.
    Live(String, oneshot::Sender<Option<Live>>),
    /// Every monitor's checks so far per outcome ([`CheckCounts`]).
    Counts(oneshot::Sender<Vec<(String, CheckCounts)>>),
    /// Heartbeat states from pings, for this shard's monitors.
    Beats(Vec<vigil_store::HeartbeatRow>),
    /// Writes the open history buckets and pending results; answers when they are written.
    Stop(oneshot::Sender<()>),
}

/// A monitor moving between shards, with all it remembers.
pub struct Adopted(Box<Entry>);

impl Adopted {
    /// The monitor's name.
    pub fn name(&self) -> &str {
        &self.0.def.name
    }
}

/// Starts shard `index` on a thread of its own (`vigil-monitors-N`, one current-thread
/// runtime), with no monitors until the router sets them; it ends when the last sender of its
/// commands goes.
pub fn start(
    index: usize,
    deps: Deps,
    seeds: Arc<Seeds>,
    writer: mpsc::UnboundedSender<record::WriterMsg>,
) -> std::io::Result<mpsc::UnboundedSender<Cmd>> {
    let place = Place { index, count: 1 };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let actor = Actor {
        deps,
        writer,
        pending: record::Pending::default(),
        place,
        running: FuturesUnordered::new(),
        entries: Table::default(),
        due_at: BTreeSet::new(),
        queued: Default::default(),
        seeds: Some(seeds),
        salt: String::new(),
        draining: std::collections::VecDeque::new(),
        history_chunk: 1,
        gains: 0,
        check_seconds: None,
        told: Vec::new(),
        told_since: None,
    };
    std::thread::Builder::new().name(format!("vigil-monitors-{}", place.index)).spawn(move || {
        // This thread runs `runtime` for good: its checks may keep sockets (DNS, ping) open.
        vigil_connectors::sources::shared_socket::share_on_this_thread();
        // The actor is a task of the runtime, not the future `block_on` drives: a task woken
        // while the thread polls its sockets is queued on the thread, where waking the
        // `block_on` future writes to the runtime's eventfd (a syscall, and one more turn of
        // the reactor) each time a check's socket is ready.
        runtime.block_on(async move {
            let _ = tokio::spawn(actor.run(rx)).await;
        })
    })?;
    Ok(tx)
}

/// A check under way.
type Check = Pin<Box<dyn Future<Output = Done> + Send>>;

/// Who waits for a check's status (`CheckNow`).
type Waiting = Vec<oneshot::Sender<Option<MonitorStatus>>>;

/// What the shards learn from the store at start, read once for all of them (by the first shard
/// to ask) and freed when the last has seeded. A read that failed is an error for each.
#[derive(Default)]
pub struct Seeds {
    results: tokio::sync::OnceCell<Result<Vec<vigil_store::MonitorResultRow>, String>>,
    alerts: tokio::sync::OnceCell<Result<Vec<vigil_store::AlertRow>, String>>,
    salt: tokio::sync::OnceCell<Result<Option<String>, String>>,
    heartbeats: tokio::sync::OnceCell<Result<Vec<vigil_store::HeartbeatRow>, String>>,
}

/// The start-up read in `cell`, made by the first shard to ask (`read` is not polled after
/// that); `None`, after the warning `lost`, when it failed.
async fn shared_read<'a, T>(
    cell: &'a tokio::sync::OnceCell<Result<T, String>>,
    read: impl std::future::Future<Output = Result<T, vigil_store::StoreError>>,
    lost: &str,
) -> Option<&'a T> {
    match cell.get_or_init(|| async { read.await.map_err(|e| e.to_string()) }).await {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(error = %e, "{lost}");
            None
        }
    }
}

/// A finished check.
pub struct Done {
    key: Key,
    slot: Millis,
    started: Millis,
    took: Duration,
    answer: Answer,
    waiting: Vec<oneshot::Sender<Option<MonitorStatus>>>,
}

/// What `status` shows of a monitor's last check (not the check's whole [`Done`]); none while
/// `started` is none (an `Option` around it took 8 bytes more).
#[derive(Default)]
struct LastCheck {
    started: MaybeMillis,
    /// The source's error, when it failed.
    error: Option<Box<str>>,
    /// The last checks here, the newest with its duration (boxed: one allocation once checked).
    recent: Option<Box<Recent>>,
}

struct Entry {
    /// Its definition; `source.config` emptied once the source is built.
    def: Arc<MonitorDef>,
    /// The partition of its name (where it runs, in a cluster).
    part: u32,
    /// Cheap to clone: each source is shared within it. The error is an `Arc<String>`, one
    /// pointer wide: with a `String` the entry took 8 bytes more.
    source: Result<Source, Arc<String>>,
    memory: Memory,
    next: MaybeMillis,
    running: bool,
    last: LastCheck,
    /// Its series as last written or checked (the status's readings are rebuilt from it).
    log: record::Log,
    /// When the stored readings shown before the first check here were taken.
    stored_at: MaybeMillis,
    /// A heartbeat's pings, ping id and watch start (boxed: only heartbeats have them; every
    /// heartbeat has one).
    heartbeat: Option<Box<HeartbeatState>>,
    /// Its checks so far per outcome (`/metrics` renders them when scraped: a counter
    /// registered per monitor took about 300 bytes of the recorder's). They wrap after 2^32,
    /// which Prometheus reads as a counter reset.
    counts: [u32; 4],
}

/// What only a heartbeat's entry has.
struct HeartbeatState {
    /// Its pings so far.
    beats: vigil_core::monitor::expect::Beats,
    /// Its ping id.
    ping_id: Option<String>,
    /// When this node began watching it as a heartbeat (one that never pinged is due from here).
    since: Millis,
}

impl HeartbeatState {
    fn new(since: Millis) -> Box<HeartbeatState> {
        Box::new(HeartbeatState { beats: Default::default(), ping_id: None, since })
    }
}

impl Named for Entry {
    fn name(&self) -> &str {
        &self.def.name
    }
}

/// What an entry's source is until it is built (at once, where the entry is made): one shared
/// allocation, not one per monitor loaded.
fn not_built() -> Arc<String> {
    static NOT_BUILT: std::sync::LazyLock<Arc<String>> = std::sync::LazyLock::new(Arc::default);
    NOT_BUILT.clone()
}

impl Entry {
    /// A heartbeat's pings so far (none yet: the default).
    fn beats(&self) -> vigil_core::monitor::expect::Beats {
        self.heartbeat.as_ref().map(|h| h.beats).unwrap_or_default()
    }

    /// A monitor new to this shard (a heartbeat's state is made where its definition is set).
    fn new(def: Arc<MonitorDef>) -> Self {
        Entry {
            part: vigil_store::partition_of(&def.name),
            def,
            source: Err(not_built()),
            memory: Memory::default(),
            next: MaybeMillis::NONE,
            running: false,
            last: LastCheck::default(),
            log: record::Log::default(),
            stored_at: MaybeMillis::NONE,
            heartbeat: None,
            counts: [0; 4],
        }
    }
}

struct Actor {
    deps: Deps,
    writer: mpsc::UnboundedSender<record::WriterMsg>,
    pending: record::Pending,
    /// Where this shard stands among the others.
    place: Place,
    /// The checks under way. They are polled by the shard's own task, not spawned: a check
    /// woken by its socket wakes this task, which polls just that check (no task to allocate,
    /// schedule and copy the check into, and no channel back).
    running: FuturesUnordered<Check>,
    /// Boxed: the table's vector grows by doubling, and holds a pointer per slot, not an entry.
    entries: Table<Box<Entry>>,
    /// Due times, earliest first. A B-tree, not a binary heap: the earliest are taken from its
    /// left edge and the next ones (a cadence later) added near its right edge, both paths it
    /// keeps warm, where a heap's sift ran through 10,000 entries that rounds spaced 10 ms
    /// apart find cold in the cache (a tenth of the shard's own work at 1,000 checks a second).
    /// An entry whose monitor has moved on is stale, and skipped.
    due_at: BTreeSet<(Millis, Key)>,
    /// Due checks waiting for one to finish, oldest first (each marked running).
    queued: std::collections::VecDeque<(Key, Millis, Waiting)>,
    /// The store's start-up reads, shared by the shards; dropped once this shard has seeded.
    seeds: Option<Arc<Seeds>>,
    /// The store's salt for derived ping ids.
    salt: String,
    /// The monitors of the history write under way not drained yet, in name order.
    draining: std::collections::VecDeque<String>,
    /// Monitors drained per second in the history round under way ([`history_chunk`]).
    history_chunk: usize,
    /// The ownership's gains when last looked at.
    gains: u64,
    /// The check time histogram, once a check was timed.
    check_seconds: Option<metrics::Histogram>,
    /// Observations not yet sent to the alert manager, and when the oldest was made.
    told: Vec<AlertMsg>,
    told_since: Option<Millis>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        // The first round starts half a period in, so it ends a period in, as later rounds end a
        // period after their monitor's last drain: no monitor's buckets outgrow the room its log
        // reserves for one period.
        let mut last_history = self.deps.clock.now() - self.deps.history.flush / 2;
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One timer, moved only when the next round's time changes (not made anew per event).
        let sleep = tokio::time::sleep(MAX_SLEEP);
        tokio::pin!(sleep);
        let mut armed_for: Option<Millis> = None;
        let mut last_round = Millis::MIN / 2;
        loop {
            self.notice_gains();
            let now = self.deps.clock.now();
            let mut started = false;
            while self.due_at.first().is_some_and(|(at, _)| *at <= now) {
                let Some((at, key)) = self.due_at.pop_first() else { break };
                self.due(key, at, now, Vec::new());
                started = true;
            }
            if started {
                last_round = now;
            }
            if self.told_since.is_some_and(|since| now - since >= TELL_EVERY_MS) {
                self.tell();
            }
            // The next round: when the next check is due, but not sooner than a round's spacing
            // after the last, so checks due close together start together.
            let next = self.due_at.first().map(|(at, _)| (*at).max(last_round + ROUND_SPACING_MS));
            let target = next.unwrap_or(now + MAX_SLEEP.as_millis() as Millis);
            let target = self.told_since.map_or(target, |since| target.min(since + TELL_EVERY_MS));
            if armed_for != Some(target) {
                let wait = Duration::from_millis((target - now).max(1) as u64).min(MAX_SLEEP);
                sleep.as_mut().reset(tokio::time::Instant::now() + wait);
                armed_for = Some(target);
            }
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.apply(cmd).await,
                    None => return,
                },
                _ = &mut sleep => armed_for = None,
                Some(finished) = self.running.next(), if !self.running.is_empty() => {
                    self.finished(finished);
                    // Others that finished meanwhile, polled with this task's own waker.
                    while let Some(more) = std::future::poll_fn(|cx| match self.running.poll_next_unpin(cx) {
                        Poll::Ready(done) => Poll::Ready(done),
                        Poll::Pending => Poll::Ready(None),
                    })
                    .await
                    {
                        self.finished(more);
                    }
                }
                _ = flush.tick() => {
                    let now = self.deps.clock.now();
                    if now - last_history >= self.deps.history.flush && self.draining.is_empty() {
                        last_history = now;
                        let mut names: Vec<String> = self.entries.names().map(str::to_string).collect();
                        names.sort_unstable();
                        self.history_chunk = history_chunk(names.len(), self.deps.history.flush);
                        self.draining = names.into();
                    }
                    let mut batch = self.pending.take();
                    for name in self.draining.drain(..self.history_chunk.min(self.draining.len())) {
                        if let Some(entry) = self.entries.named_mut(&name) {
                            entry.log.drain(&name, &mut batch);
                        }
                    }
                    if !batch.is_empty() {
                        record::in_index_order(&mut batch);
                        let _ = self.writer.send(record::WriterMsg::Write(batch));
                    }
                }
            }
        }
    }

    /// After a cluster node gained partitions, every series is told to the alert manager again
    /// until it settles: an alert may have fired elsewhere while this node did not run the
    /// monitor. (A solo node gains every partition once, at start, and nobody ran them before
    /// but itself: what it read from the store at start holds.) A heartbeat is looked at again
    /// now: while another node ran it, this one merged its pings but judged nothing, and nothing
    /// is due for it here until it is judged once.
    fn notice_gains(&mut self) {
        let gains = self.deps.ownership.gains();
        if gains != self.gains {
            self.gains = gains;
            if self.deps.ownership.solo() {
                return;
            }
            let now = self.deps.clock.now();
            let names: Vec<String> = self.entries.names().map(str::to_string).collect();
            for name in names {
                let Some(key) = self.entries.key(&name) else { continue };
                let Some(entry) = self.entries.get_mut(key) else { continue };
                entry.memory.alerts_known = false;
                entry.memory.series.values_mut().for_each(|seen| seen.passing = 0);
                if entry.def.heartbeat.is_some() && !entry.def.paused && self.deps.ownership.owns(entry.part) {
                    entry.next = Some(now).into();
                    self.due_at.insert((now, key));
                }
            }
        }
    }

    /// Sends the observations waiting to be told.
    fn tell(&mut self) {
        self.told_since = None;
        for msg in self.told.drain(..) {
            let _ = self.deps.alerts.send(msg);
        }
    }

    async fn apply(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Set { defs, place, adopted } => {
                self.place = place;
                let adopted = adopted.into_iter().map(|Adopted(entry)| (entry.def.name.clone(), entry)).collect();
                self.set(defs, adopted).await
            }
            Cmd::HandOver(reply) => {
                self.tell();
                // Due times and waiting checks go with their monitors (checks under way finish
                // here, and are dropped: their keys find nothing).
                self.due_at.clear();
                self.queued.clear();
                let entries = self.entries.drain().into_iter().map(|mut entry| {
                    entry.running = false;
                    Adopted(entry)
                });
                let _ = reply.send(entries.collect());
            }
            Cmd::CheckNow(name, reply) => match self.entries.key(&name) {
                Some(key) => {
                    let now = self.deps.clock.now();
                    self.due(key, now, now, vec![reply]);
                }
                None => {
                    let _ = reply.send(None);
                }
            },
            Cmd::List(reply) => {
                // The router sorts what all shards list.
                let _ = reply.send(self.entries.values().map(|e| status(e)).collect());
            }
            Cmd::Counts(reply) => {
                let _ = reply
                    .send(self.entries.iter().map(|(name, e)| (name.to_string(), e.counts.map(u64::from))).collect());
            }
            Cmd::Get(name, reply) => {
                let _ = reply.send(self.entries.named(&name).map(|e| status(e)));
            }
            Cmd::Live(name, reply) => {
                let _ = reply.send(self.entries.named(&name).map(|e| live(e)));
            }
            Cmd::Beats(rows) => self.beats(rows),
            Cmd::Stop(reply) => {
                self.tell();
                let mut batch = self.pending.take();
                for entry in self.entries.values_mut() {
                    entry.log.close(&entry.def.name, &mut batch);
                }
                record::in_index_order(&mut batch);
                let _ = self.writer.send(record::WriterMsg::Flush(batch, reply));
            }
        }
    }

    /// Replaces the monitors, keeping the memory and schedule of those that stay the same (here,
    /// or `adopted` from another shard).
    async fn set(&mut self, defs: Vec<MonitorDef>, mut adopted: HashMap<String, Box<Entry>>) {
        let now = self.deps.clock.now();
        let names: std::collections::HashSet<&str> = defs.iter().map(|def| def.name.as_str()).collect();
        let old = self.entries.remove_unless(|name| names.contains(name));
        // Room for the new ones at once (a vector grown by doubling keeps up to twice the room).
        let held = self.entries.values().count();
        self.entries.reserve(defs.len().saturating_sub(held));
        for mut def in defs {
            let source = self.source(&def);
            // Built: the `source` block is not read here again (a JSON map of about 300 bytes
            // per monitor).
            def.source.forget_config();
            // A heartbeat is looked at once it is loaded (its verdict says when next).
            let first = if def.heartbeat.is_some() { Some(now) } else { def.cadence.next_after(now) };
            let paused = def.paused;
            let name = def.name.clone();
            let def = Arc::new(def);
            // A monitor that stays keeps its key, so its check under way still finds it.
            let key = match self.entries.key(&name) {
                Some(key) => key,
                None => {
                    let entry = adopted.remove(&name).unwrap_or_else(|| Box::new(Entry::new(def.clone())));
                    self.entries.insert(entry)
                }
            };
            // `part` stays: it is derived from the name, which is the key's.
            let entry = self.entries.get_mut(key).expect("just set");
            entry.def = def;
            entry.source = source;
            if entry.def.heartbeat.is_some() {
                entry.heartbeat.get_or_insert_with(|| HeartbeatState::new(now)).ping_id = None;
            }
            entry.next = if paused { MaybeMillis::NONE } else { entry.next.get().or(first).into() };
            if let Some(at) = entry.next.get() {
                self.due_at.insert((at, key));
            }
        }
        // A removed monitor's open buckets are kept; its latest readings go. (One handed over
        // and removed by the same reload was another shard's: its readings go here all the same.)
        let mut closing = vigil_store::MonitorBatch::default();
        for mut entry in old.into_iter().chain(adopted.into_values()) {
            entry.log.close(&entry.def.name, &mut closing);
            closing.results.clear();
            for key in entry.log.keys() {
                self.pending.remove(&entry.def.name, key);
            }
        }
        self.pending.keep_history(closing.history);
        if let Some(seeds) = self.seeds.take() {
            self.seed(&seeds).await;
        }
        self.set_ping_ids();
    }

    /// Gives each heartbeat its ping id (its file's, or one derived from the store's salt) and
    /// tells the ping route.
    fn set_ping_ids(&mut self) {
        let mut ids = HashMap::new();
        let mut feeds = Vec::new();
        for entry in self.entries.values_mut().filter(|e| e.def.heartbeat.is_some()) {
            let entry = &mut **entry;
            let name = entry.def.name.as_str();
            let Some(hb) = &entry.def.heartbeat else { continue };
            if let Some(feed) = &hb.queue {
                feeds.push(crate::pings::Feed {
                    monitor: name.to_string(),
                    queue: feed.queue.clone(),
                    condition: feed.condition.clone(),
                });
            }
            let id = match &hb.id {
                Some(given) if given.contains("${") => {
                    let mut value = serde_json::Value::String(given.clone());
                    let lookup = self.deps.credentials.clone();
                    let missing = vigil_connectors::credentials::substitute_credentials(&mut value, &*lookup);
                    if let Some((_, message)) = missing.first() {
                        tracing::warn!(monitor = %name, "heartbeat.id: {message}; its pings are refused until it resolves");
                        continue;
                    }
                    value.as_str().unwrap_or_default().to_string()
                }
                Some(given) => given.clone(),
                None => crate::pings::derived_id(&self.salt, name),
            };
            ids.insert(id.clone(), name.to_string());
            if let Some(heartbeat) = entry.heartbeat.as_mut() {
                heartbeat.ping_id = Some(id);
            }
        }
        let place = self.place;
        self.deps.pings.set_ids_where(move |monitor| place.holds(monitor), ids, feeds);
    }

    /// Heartbeat states from pings (this node's or, in a cluster, others'): merged, and looked at
    /// now where this node runs the monitor.
    fn beats(&mut self, rows: Vec<vigil_store::HeartbeatRow>) {
        let now = self.deps.clock.now();
        for row in rows {
            let Some(key) = self.entries.key(&row.monitor) else { continue };
            let Some(entry) = self.entries.get_mut(key) else { continue };
            let Some(heartbeat) = entry.heartbeat.as_mut() else { continue };
            let beats = &mut heartbeat.beats;
            let before = *beats;
            beats.merge(&row.beats);
            if *beats != before && !entry.def.paused {
                self.heartbeat(key, now, Vec::new());
            }
        }
    }

    /// Looks at a heartbeat now: its verdict becomes an observation; the next look is when the
    /// verdict would change.
    fn heartbeat(&mut self, key: Key, now: Millis, waiting: Waiting) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        let Some(hb) = entry.def.heartbeat.clone() else { return };
        if !self.deps.ownership.owns(entry.part) {
            for w in waiting {
                let _ = w.send(Some(status(entry)));
            }
            return;
        }
        let since = entry.heartbeat.as_ref().map_or(now, |h| h.since);
        let (reading, next) =
            vigil_core::monitor::expect::heartbeat_reading(&entry.def, &hb.expect, &entry.beats(), since, now);
        entry.next = next.filter(|_| !entry.def.paused).into();
        if let Some(at) = entry.next.get() {
            self.due_at.insert((at, key));
        }
        let done =
            Done { key, slot: now, started: now, took: Duration::ZERO, answer: Answer::Samples(Vec::new()), waiting };
        self.observe(done, vec![reading]);
    }

    /// The source with its credentials filled in; an error is shown on every check.
    fn source(&self, def: &MonitorDef) -> Result<Source, Arc<String>> {
        if def.heartbeat.is_some() {
            return Err(Arc::new("a heartbeat is pinged, not asked".into()));
        }
        let lookup = self.deps.credentials.clone();
        Source::build(&def.source, &*lookup)
            .map_err(|p| Arc::new(format!("source.{}.{}: {}", def.source.kind, p.path, p.message)))
    }

    /// Learns the series each monitor had alerts for, and its stored latest readings.
    async fn seed(&mut self, seeds: &Seeds) {
        self.seed_results(seeds).await;
        self.seed_alerts(seeds).await;
        self.seed_heartbeats(seeds).await;
    }

    /// The store's ping-id salt and every heartbeat's state, before any heartbeat is looked at.
    async fn seed_heartbeats(&mut self, seeds: &Seeds) {
        let store = &self.deps.store;
        match shared_read(&seeds.salt, store.setting("ping_salt"), "Could not read the ping salt.").await {
            Some(Some(salt)) => self.salt = salt.clone(),
            Some(None) => {
                tracing::warn!("The store has no ping_salt; derived ping ids are guessable from monitor names.")
            }
            None => {}
        }
        let lost = "Could not read heartbeat states; they resume with the next ping.";
        for row in shared_read(&seeds.heartbeats, store.heartbeats(0), lost).await.into_iter().flatten() {
            if let Some(heartbeat) = self.entries.named_mut(&row.monitor).and_then(|e| e.heartbeat.as_mut()) {
                heartbeat.beats.merge(&row.beats);
            }
        }
    }

    /// The stored latest readings, shown until each monitor's first check here.
    async fn seed_results(&mut self, seeds: &Seeds) {
        let lost = "Could not read stored monitor results; they show after each monitor's next check.";
        let Some(rows) = shared_read(&seeds.results, self.deps.store.monitor_results(""), lost).await else { return };
        for row in rows {
            let Some(entry) = self.entries.named_mut(&row.monitor) else {
                // A monitor no longer defined: its readings go (the shard it hashes to says so).
                if self.place.holds(&row.monitor) {
                    self.pending.remove(&row.monitor, &row.series);
                }
                continue;
            };
            let reading = Reading {
                key: row.series.clone(),
                labels: serde_json::from_str(&row.labels).unwrap_or_default(),
                value: row.value,
                tier: row.tier.as_deref().and_then(vigil_core::alert::Tier::parse),
                summary: String::new(),
                note: row.note.clone(),
            };
            entry.log.seed(row, &reading);
            if entry.last.started.get().is_none() {
                entry.stored_at = Some(row.checked_at).into();
            }
        }
    }

    /// Learns, from the stored alerts, the series each monitor may have an alert open for. When
    /// every stored alert was read, the other series have none ([`Memory::alerts_known`]).
    async fn seed_alerts(&mut self, seeds: &Seeds) {
        const MOST: u32 = 1_000_000;
        let lost =
            "Could not read stored alerts; series that vanished while vigil was down resolve only when seen again.";
        let Some(rows) = shared_read(&seeds.alerts, self.deps.store.alerts(false, MOST), lost).await else {
            return;
        };
        if rows.len() < MOST as usize {
            self.entries.values_mut().for_each(|entry| entry.memory.alerts_known = true);
        }
        for row in rows {
            let Ok(record) = serde_json::from_str::<crate::alerting::messages::AlertRecord>(&row.state) else {
                continue;
            };
            let Some(name) = record.request.source.strip_prefix("monitor/") else { continue };
            if let Some(entry) = self.entries.named_mut(name)
                && !record.state.is_quiet()
            {
                let seen = vigil_core::monitor::evaluate::Seen {
                    labels: record.request.labels.clone(),
                    missing: 0,
                    value: record.request.details.get("value").and_then(serde_json::Value::as_f64),
                    passing: 0,
                };
                entry.memory.series.or_insert(row.dedup_key.clone(), seen);
            }
        }
    }

    /// Slot `slot` of monitor `key` is due: start its check unless one still runs (or it is not
    /// ours).
    fn due(&mut self, key: Key, slot: Millis, now: Millis, waiting: Waiting) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        if entry.def.heartbeat.is_some() {
            if entry.next.get() == Some(slot) || !waiting.is_empty() {
                self.heartbeat(key, now, waiting);
            }
            return;
        }
        let scheduled = entry.next.get() == Some(slot);
        if scheduled {
            // The next slot after this one; slots already past are skipped and counted.
            let mut next = entry.def.cadence.next_after(slot);
            let mut skipped = 0u64;
            while let Some(at) = next.filter(|at| *at <= now) {
                skipped += 1;
                next = entry.def.cadence.next_after(at);
            }
            if skipped > 0 {
                metrics::counter!("vigil_monitor_checks_skipped_total", "reason" => "late").increment(skipped);
            }
            entry.next = next.filter(|_| !entry.def.paused).into();
            if let Some(at) = entry.next.get() {
                self.due_at.insert((at, key));
            }
        } else if waiting.is_empty() {
            return; // A stale due entry (the monitor was replaced or rescheduled).
        }
        if !self.deps.ownership.owns(entry.part) {
            return;
        }
        if entry.running {
            metrics::counter!("vigil_monitor_checks_skipped_total", "reason" => "running").increment(1);
            for w in waiting {
                let _ = w.send(Some(status(entry)));
            }
            return;
        }
        entry.running = true;
        if self.running.len() >= self.place.max_in_flight() {
            // No future until a place frees: a waiting check costs its key, not a future.
            self.queued.push_back((key, slot, waiting));
            return;
        }
        self.start(key, slot, waiting);
    }

    /// Starts a check of monitor `key` (marked running) among the shard's running checks.
    fn start(&mut self, key: Key, slot: Millis, waiting: Waiting) {
        let Some(entry) = self.entries.get(key) else { return };
        let source = entry.source.clone();
        // Only a browser check keeps something under its monitor's name (an empty name costs nothing).
        let monitor = match source.as_ref() {
            Ok(Source::Browser(_)) => entry.def.name.clone(),
            _ => String::new(),
        };
        let (store, started) = (self.deps.store.clone(), self.deps.clock.now());
        self.running.push(Box::pin(async move {
            let started_at = Instant::now();
            let answer = match source {
                Ok(source) => ask_with_store(&client(), &*store, &source, started, &monitor).await,
                Err(e) => Answer::Failed(e.to_string()),
            };
            Done { key, slot, started, took: started_at.elapsed(), answer, waiting }
        }));
    }

    fn finished(&mut self, done: Done) {
        while self.running.len() < self.place.max_in_flight()
            && let Some((key, slot, waiting)) = self.queued.pop_front()
        {
            self.start(key, slot, waiting);
        }
        let Some(entry) = self.entries.get_mut(done.key) else { return };
        entry.running = false;
        let readings = evaluate(&entry.def, &mut entry.memory, &done.answer);
        self.observe(done, readings);
    }

    /// Hands a check's readings to the alert manager, records them, and answers who waited.
    fn observe(&mut self, mut done: Done, readings: Vec<Reading>) {
        let Some(entry) = self.entries.get_mut(done.key) else { return };
        let part = entry.part;
        for reading in &readings {
            if observe::settled(&entry.def, &entry.memory, reading) {
                continue;
            }
            if let Some(request) = observe::request(&entry.def, reading, done.slot) {
                let from = crate::alerting::messages::ObservedFrom::Local { part };
                let msg = AlertMsg::Observe {
                    instance: String::new(),
                    task_id: String::new(),
                    request: Box::new(request),
                    from,
                };
                self.told.push(msg);
                self.told_since.get_or_insert(self.deps.clock.now());
            }
        }
        let outcome = match (&done.answer, readings.iter().filter_map(|r| r.tier).max()) {
            (Answer::Failed(_), _) => 3,
            (_, Some(Tier::Critical)) => 2,
            (_, Some(Tier::Warning)) => 1,
            _ => 0,
        };
        entry.counts[outcome] = entry.counts[outcome].wrapping_add(1);
        self.check_seconds
            .get_or_insert_with(|| metrics::histogram!("vigil_monitor_check_seconds"))
            .record(done.took.as_secs_f64());
        entry.log.record(&self.deps.history, &entry.def.name, &readings, done.slot, &mut self.pending);
        let waiting = std::mem::take(&mut done.waiting);
        // Only the error is shown later; the answer's samples (an HTTP body, say) are dropped.
        let error = match done.answer {
            Answer::Failed(e) => Some(e.into_boxed_str()),
            Answer::Samples(_) => None,
        };
        let took_us = u64::try_from(done.took.as_micros()).unwrap_or(u64::MAX);
        let mut recent = entry.last.recent.take().unwrap_or_default();
        recent.push(done.started, Outcome::of_index(outcome), took_us);
        entry.last = LastCheck { started: Some(done.started).into(), error, recent: Some(recent) };
        for w in waiting {
            let _ = w.send(Some(status(entry)));
        }
    }
}

/// The client non-HTTP-check sources share.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(vigil_connectors::http_client).clone()
}

fn status(entry: &Entry) -> MonitorStatus {
    let last = entry.last.started.get().map(|started| (started, &entry.last));
    MonitorStatus {
        name: entry.def.name.clone(),
        source: entry.def.source.kind.name().to_string(),
        last_check: last.map(|(started, _)| started).or(entry.stored_at.get()),
        took_ms: last.and_then(|(_, l)| l.recent.as_ref()?.last_took_us()).map(|us| us / 1000),
        error: last.and_then(|(_, l)| Some(l.error.as_deref()?.to_string())),
        series: entry.log.readings(&entry.def, &entry.memory),
        next_check: entry.next.get(),
        paused: entry.def.paused,
        public_badge: entry.def.public_badge,
        ping_id: entry.heartbeat.as_ref().and_then(|h| h.ping_id.clone()),
        ping_queue: entry.def.heartbeat.as_ref().and_then(|h| Some(h.queue.as_ref()?.queue.clone())),
        beats: entry.def.heartbeat.is_some().then(|| entry.beats()),
        warning: entry.def.warning,
        critical: entry.def.critical,
        labels: entry.def.labels.clone(),
    }
}

/// What only memory holds of `entry`: its last checks here and its history not written yet.
fn live(entry: &Entry) -> Live {
    Live {
        beats: entry.last.recent.as_ref().map(|r| r.beats()).unwrap_or_default(),
        unwritten: entry.log.unwritten(&entry.def.name),
    }
}

#[cfg(test)]
mod tests {
    use super::history_chunk;

    #[test]
    fn a_history_round_spreads_over_half_the_flush_period() {
        assert_eq!(history_chunk(10_000, 600_000), 34, "10,000 monitors over 300 one-second batches");
        assert_eq!(history_chunk(100, 600_000), 1);
        assert_eq!(history_chunk(0, 600_000), 1);
        assert_eq!(history_chunk(50, 1_000), 50, "a flush of a second or less writes everything at once");
        assert_eq!(history_chunk(50, 0), 50);
    }

    /// One boxed entry per monitor; mimalloc rounds an allocation up to its size class (…, 160,
    /// 160, 192): this keeps it in 160 (`docs/benchmarks.md`, issue 36).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_entry_fits_in_160_bytes() {
        assert!(std::mem::size_of::<super::Entry>() <= 160, "{} bytes", std::mem::size_of::<super::Entry>());
    }
}
