//! Which shard runs which monitor, and how many shards are in use.
//!
//! The shards' threads are started once (one per core by default), but only as many are used as
//! the monitors' load needs: one per [`CHECKS_PER_SHARD`] checks a second. Every shard wakes for
//! its own rounds and its own answers, and on a virtual machine a thread's wake costs more than a
//! check's work: W1 at 10,000 monitors (1,000 checks a second) cost 49-51 µs of CPU per check on
//! one shard and 64-70 on two, while 25,000 checks a second need both cores.
//!
//! The router is a task that owns the shards' senders, so every command reaches a shard after
//! the monitors it names were moved there: when a reload changes the number in use, the shards
//! hand over their monitors (memory, history log, next due time) and the router deals them out
//! again before it forwards anything else.

use tokio::sync::{mpsc, oneshot};
use vigil_core::monitor::MonitorDef;
use vigil_core::time::Millis;

use super::shard::{self, Adopted, Cmd, Place};
use super::{MonitorCmd, shard_of};

/// Checks a second one shard takes before the monitors spread over one more.
pub const CHECKS_PER_SHARD: u64 = 5_000;

/// Loads are counted in checks per million seconds, in whole numbers (a monitor every 10 s makes
/// 100,000), so that 50,000 of them make 5,000 checks a second exactly.
const PER: u64 = 1_000_000;

/// How the monitors are split over threads.
#[derive(Debug, Clone, Copy)]
pub struct Sharding {
    /// Most shards (threads).
    pub most: usize,
    /// Checks a second one shard takes before the monitors spread over one more.
    pub checks_per_shard: u64,
}

/// Routes the handle's commands and heartbeat states to the shards in use until the handle goes.
pub async fn run(
    shards: Vec<mpsc::UnboundedSender<Cmd>>,
    sharding: Sharding,
    mut commands: mpsc::UnboundedReceiver<MonitorCmd>,
    mut beats: mpsc::UnboundedReceiver<Vec<vigil_store::HeartbeatRow>>,
    clock: std::sync::Arc<dyn vigil_core::time::Clock>,
) {
    let mut router = Router { shards, active: 1, checks_per_shard: sharding.checks_per_shard };
    let mut beating = true;
    loop {
        // Heartbeat states first: a ping's state is queued before its 200, so a status asked
        // for after the 200 finds it applied (the shard's queue keeps the order).
        tokio::select! {
            biased;
            rows = beats.recv(), if beating => match rows {
                Some(rows) => router.beats(rows),
                None => beating = false,
            },
            cmd = commands.recv() => match cmd {
                Some(MonitorCmd::Set(defs)) => router.set(defs, clock.now()).await,
                Some(cmd) => router.forward(cmd),
                None => return,
            },
        }
    }
}

struct Router {
    shards: Vec<mpsc::UnboundedSender<Cmd>>,
    /// The shards in use: the first `active`.
    active: usize,
    checks_per_shard: u64,
}

impl Router {
    fn shard(&self, name: &str) -> &mpsc::UnboundedSender<Cmd> {
        &self.shards[shard_of(name, self.active)]
    }

    /// Deals the monitors out over the shards their load needs, moving those that change shard.
    async fn set(&mut self, defs: Vec<MonitorDef>, now: Millis) {
        let active = shards_for(&defs, now, self.checks_per_shard, self.shards.len());
        let mut adopted: Vec<Vec<Adopted>> = self.shards.iter().map(|_| Vec::new()).collect();
        if active != self.active {
            let moved = self.hand_over().await;
            if !moved.is_empty() {
                tracing::info!(
                    shards = active,
                    before = self.active,
                    monitors = moved.len(),
                    "The monitors move to another number of shards."
                );
            }
            for one in moved {
                adopted[shard_of(one.name(), active)].push(one);
            }
            self.active = active;
        }
        metrics::gauge!("vigil_monitor_shards").set(active as f64);
        let mut split: Vec<Vec<MonitorDef>> = vec![Vec::new(); self.shards.len()];
        for def in defs {
            split[shard_of(&def.name, active)].push(def);
        }
        // Every shard hears, also of none: it drops the monitors it had.
        for (index, ((tx, defs), adopted)) in self.shards.iter().zip(split).zip(adopted).enumerate() {
            let place = Place { index, count: active };
            let _ = tx.send(Cmd::Set { defs, place, adopted });
        }
    }

    /// Every shard's monitors, taken from them.
    async fn hand_over(&self) -> Vec<Adopted> {
        let mut all = Vec::new();
        for rx in ask_each(&self.shards, Cmd::HandOver) {
            all.extend(rx.await.unwrap_or_default());
        }
        all
    }

    fn forward(&self, cmd: MonitorCmd) {
        match cmd {
            MonitorCmd::Set(_) => unreachable!("routed by `set`"),
            MonitorCmd::CheckNow(name, reply) => {
                let _ = self.shard(&name).send(Cmd::CheckNow(name, reply));
            }
            MonitorCmd::Get(name, reply) => {
                let _ = self.shard(&name).send(Cmd::Get(name, reply));
            }
            MonitorCmd::Live(name, reply) => {
                let _ = self.shard(&name).send(Cmd::Live(name, reply));
            }
            MonitorCmd::List(reply) => {
                let replies = ask_each(&self.shards[..self.active], Cmd::List);
                gather(replies, |a, b| a.name.cmp(&b.name), reply);
            }
            MonitorCmd::Counts(reply) => {
                let replies = ask_each(&self.shards[..self.active], Cmd::Counts);
                gather(replies, |a, b| a.0.cmp(&b.0), reply);
            }
            MonitorCmd::Stop(reply) => {
                // Every shard, in use or not: one no longer in use may still hold results.
                let written = ask_each(&self.shards, Cmd::Stop);
                tokio::spawn(async move {
                    for rx in written {
                        let _ = rx.await;
                    }
                    let _ = reply.send(());
                });
            }
        }
    }

    /// Heartbeat states go to the shard of their monitor.
    fn beats(&self, rows: Vec<vigil_store::HeartbeatRow>) {
        let mut split: Vec<Vec<vigil_store::HeartbeatRow>> = vec![Vec::new(); self.active];
        for row in rows {
            split[shard_of(&row.monitor, self.active)].push(row);
        }
        for (tx, rows) in self.shards.iter().zip(split) {
            if !rows.is_empty() {
                let _ = tx.send(Cmd::Beats(rows));
            }
        }
    }
}

/// Joins the shards' lists, sorted by `order`, into `reply`: gathered on a task of its own, so
/// the router goes on meanwhile.
fn gather<T: Send + 'static>(
    replies: Vec<oneshot::Receiver<Vec<T>>>,
    order: fn(&T, &T) -> std::cmp::Ordering,
    reply: oneshot::Sender<Vec<T>>,
) {
    tokio::spawn(async move {
        let mut all = Vec::new();
        for rx in replies {
            all.extend(rx.await.unwrap_or_default());
        }
        all.sort_by(order);
        let _ = reply.send(all);
    });
}

/// Sends `ask` to each of `shards` with a reply channel of its own; the answers to wait for.
fn ask_each<T>(shards: &[mpsc::UnboundedSender<Cmd>], ask: fn(oneshot::Sender<T>) -> Cmd) -> Vec<oneshot::Receiver<T>> {
    shards
        .iter()
        .filter_map(|tx| {
            let (reply, rx) = oneshot::channel();
            tx.send(ask(reply)).ok().map(|()| rx)
        })
        .collect()
}

/// The shards `defs` need at `now`: one per `checks_per_shard` checks a second, from one to
/// `most`.
pub fn shards_for(defs: &[MonitorDef], now: Millis, checks_per_shard: u64, most: usize) -> usize {
    let load: u64 = defs.iter().map(|def| checks_per_million_seconds(def, now)).sum();
    (load.div_ceil(checks_per_shard.max(1) * PER) as usize).clamp(1, most.max(1))
}

/// How many checks `def` makes in a million seconds around `now` (none for a paused monitor or a
/// heartbeat, which is pinged, not asked).
fn checks_per_million_seconds(def: &MonitorDef, now: Millis) -> u64 {
    if def.paused || def.heartbeat.is_some() {
        return 0;
    }
    let Some(first) = def.cadence.next_after(now) else { return 0 };
    match def.cadence.next_after(first) {
        Some(second) if second > first => (PER * 1_000).div_ceil((second - first) as u64),
        _ => 0,
    }
}

/// Starts the shards' threads: `count` of them, none in use until the first [`MonitorCmd::Set`].
pub fn start_shards(
    count: usize,
    deps: &super::Deps,
    writer: &mpsc::UnboundedSender<super::record::WriterMsg>,
) -> std::io::Result<Vec<mpsc::UnboundedSender<Cmd>>> {
    let seeds = std::sync::Arc::new(shard::Seeds::default());
    (0..count.max(1)).map(|index| shard::start(index, deps.clone(), seeds.clone(), writer.clone())).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn monitor(name: &str, every: &str) -> MonitorDef {
        let doc = json!({"name": name, "every": every, "source": {"http": {"url": "http://x/"}}});
        let (def, problems) = MonitorDef::build(&doc);
        def.unwrap_or_else(|| panic!("{problems:?}"))
    }

    #[test]
    fn one_shard_per_five_thousand_checks_a_second_up_to_the_most() {
        let many = |n: usize, every: &str| (0..n).map(|i| monitor(&format!("m{i}"), every)).collect::<Vec<_>>();
        assert_eq!(shards_for(&[], 0, CHECKS_PER_SHARD, 2), 1);
        assert_eq!(shards_for(&many(10_000, "10s"), 0, CHECKS_PER_SHARD, 2), 1, "1,000 checks a second");
        assert_eq!(shards_for(&many(50_000, "10s"), 0, CHECKS_PER_SHARD, 4), 1, "5,000 checks a second");
        assert_eq!(shards_for(&many(60_000, "10s"), 0, CHECKS_PER_SHARD, 4), 2, "6,000 checks a second");
        assert_eq!(shards_for(&many(250_000, "10s"), 0, CHECKS_PER_SHARD, 2), 2, "25,000 checks a second, two cores");
        assert_eq!(shards_for(&many(250_000, "10s"), 0, CHECKS_PER_SHARD, 8), 5);
        assert_eq!(shards_for(&many(10_000, "1s"), 0, CHECKS_PER_SHARD, 0), 1, "at least one");
    }

    #[test]
    fn paused_monitors_and_heartbeats_make_no_checks() {
        let mut paused = monitor("p", "2s");
        paused.paused = true;
        assert_eq!(checks_per_million_seconds(&paused, 0), 0);
        assert_eq!(checks_per_million_seconds(&monitor("m", "2s"), 0), 500_000);
        let doc = json!({"name": "hb", "every": "1s", "heartbeat": {"grace": "1h"}});
        let (def, problems) = MonitorDef::build(&doc);
        let def = def.unwrap_or_else(|| panic!("{problems:?}"));
        assert_eq!(checks_per_million_seconds(&def, 0), 0);
    }
}
