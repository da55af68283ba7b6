//! The alerting shell around [`vigil_core::alert`]: one manager owns every dedup key's state,
//! applies observations and timer ticks in order, and commits each batch of new states together
//! with the notifications they caused (the outbox) before anything is sent. [`delivery`] then
//! sends the outbox.

mod commit;
pub mod delivery;
mod groups;
mod in_flight;
pub(crate) mod messages;
pub(crate) mod port;
mod refresh;
mod telling;

pub use messages::{AlertMsg, AlertRecord, ObservedFrom};
pub(crate) use port::AlertingPort;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use vigil_connectors::notifiers::{AlertMessage, Link, NotifierConfig, Severity};
use vigil_core::alert::{AlertRequest, AlertState, Condition, Notice, Silence};
use vigil_core::interpreter::{Event, TaskResult};
use vigil_core::time::Millis;
use vigil_store::{AlertBatch, AlertRow, NewOutboxEntry, OutboxEntry, partition_of};

use crate::cluster::inbox::InboxMsg;
use crate::cluster::ownership::Ownership;
use crate::router::Router;
use telling::Telling;
use vigil_core::time::Clock;

/// How often silences are re-read from the store.
const SILENCE_REFRESH: Duration = Duration::from_secs(2);

/// Silences until resolved are looked at every this many silence refreshes.
const UNTIL_RESOLVED_EVERY: u64 = 2;

pub(crate) use commit::LoseParts;
use commit::{Commit, Committer, Reply, RoutedOut};

/// What the alert manager needs of the engine, and nothing more.
pub(crate) struct AlertDeps {
    /// Where alert states and the outbox are committed.
    pub store: Arc<dyn vigil_store::Store>,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// The partitions this node runs: the alert keys it owns.
    pub ownership: Arc<Ownership>,
    /// The configured notifiers, by name.
    pub notifiers: delivery::Notifiers,
    /// The Alertmanager configuration routed alerts go by.
    pub routing: crate::routing::SharedRouting,
    /// Opens the published Alertmanager configuration.
    pub sealer: Option<Arc<vigil_store::SecretBox>>,
    /// Reaches the instances whose ALERT tasks wait for their observation's result.
    pub router: Router,
    /// Stops running partitions whose leases were lost (`cluster::lose`).
    pub lose: LoseParts,
    /// The inbox messages handed over: an observation from the inbox that cannot be applied yet
    /// is let go, to be handed over again.
    pub inbox: Arc<crate::cluster::handed::Handed>,
    /// Signs the acknowledgement links pages carry (with a public URL and a key).
    pub ack_links: Option<crate::ack_link::AckLinks>,
    /// The status pages in force: their maintenance windows hold back their monitors' alerts.
    pub status_pages: Arc<std::sync::RwLock<Arc<Vec<vigil_core::status_page::StatusPageDef>>>>,
    /// The monitors' own maintenance windows hold back their alerts too.
    pub declared_monitors: crate::monitors::declared::SharedDeclared,
    /// The secrets in force, with the teams: who owns an alert that an observation's key names.
    pub secrets: crate::secrets::SharedSecrets,
    /// vigil's public URL without its trailing `/` (`--public-url`; empty without): the
    /// `externalURL` of Alertmanager's notifications.
    pub external_url: String,
}

/// Runs the manager until its channel closes.
pub async fn run(
    mut rx: mpsc::UnboundedReceiver<AlertMsg>,
    mut results: mpsc::UnboundedReceiver<Vec<delivery::Recorded>>,
    deps: AlertDeps,
    (delivery, recorded): (mpsc::UnboundedSender<OutboxEntry>, mpsc::UnboundedSender<Vec<delivery::Recorded>>),
) {
    let (refreshed_tx, mut refreshed_rx) = mpsc::unbounded_channel();
    let side_by_side = deps.store.alert_commits_side_by_side();
    let mut m = Manager {
        deps,
        delivery,
        recorded,
        cache: HashMap::new(),
        quiet: HashMap::new(),
        loaded: BTreeSet::new(),
        wakes: BTreeSet::new(),
        silences: Vec::new(),
        silences_read: None,
        refreshed: HashMap::new(),
        refresh_due: BTreeSet::new(),
        wake_of: HashMap::new(),
        acks_to_clear: Vec::new(),
        groups: groups::Groups::default(),
        routing_seen: None,
        routed_notifiers: Vec::new(),
        parents_firing: std::collections::HashSet::new(),
        watched_parents: BTreeSet::new(),
        refreshes: 0,
        remote_sources: Vec::new(),
        in_flight: in_flight::InFlight::new(side_by_side),
        refreshing: false,
        refreshed_tx,
        looked: None,
        windows_seen: None,
    };
    let mut msgs = Vec::new();
    let mut sent = Vec::new();
    let mut delivering = true;
    loop {
        let now = m.deps.clock.now();
        let wait = m
            .wakes
            .first()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(m.groups.next_wake())
            .min()
            .map(|at| Duration::from_millis((at - now).clamp(1, 60_000) as u64))
            .unwrap_or(Duration::from_secs(60));
        tokio::select! {
            n = rx.recv_many(&mut msgs, 1024) => if n == 0 { m.settle().await; return },
            n = results.recv_many(&mut sent, 64), if delivering => delivering = n > 0,
            Some(r) = refreshed_rx.recv() => { m.refreshing = false; m.looked = Some(r) }
            _ = tokio::time::sleep(wait.min(SILENCE_REFRESH)) => {}
        }
        while let Ok(more) = results.try_recv() {
            sent.push(more);
        }
        m.step(std::mem::take(&mut msgs), sent.drain(..).flatten().collect()).await;
    }
}

struct Manager {
    deps: AlertDeps,
    delivery: mpsc::UnboundedSender<OutboxEntry>,
    /// Send results go back to delivery once committed.
    recorded: mpsc::UnboundedSender<Vec<delivery::Recorded>>,
    /// The keys of the owned partitions (and only those)...
    /// (Boxed: the map's spare slots cost a pointer each, not a record.)
    cache: HashMap<String, Box<AlertRecord>>,
    /// ...all loaded for these partitions: a key of one of them missing from the cache is new.
    loaded: BTreeSet<u32>,
    /// Monitor series observed passing and never anything else (no record in `cache`): the newest
    /// slot seen of each, for the stale check. A passing observation of a key with no alert
    /// changes nothing but that time, so it keeps no record and writes nothing; most series of
    /// most monitors live here, at a few bytes each.
    quiet: HashMap<String, Millis>,
    wakes: BTreeSet<(Millis, String)>,
    silences: Vec<Silence>,
    silences_read: Option<std::time::Instant>,
    /// Acknowledgement requests applied in this step, cleared from the store after its commit.
    acks_to_clear: Vec<String>,
    /// The wake time of each key in `wakes`, so a key's old wake is removed without a scan.
    wake_of: HashMap<String, Millis>,
    /// When each firing alert is next re-sent to each Alertmanager notifier...
    refreshed: HashMap<(String, String), Millis>,
    /// ...and the same in time order, so a step looks only at the refreshes that are due.
    refresh_due: BTreeSet<(Millis, String, String)>,
    /// The notification groups of the owned partitions.
    groups: groups::Groups,
    /// The published Alertmanager configuration last looked at, as stored (sealed).
    routing_seen: Option<String>,
    /// The notifiers its receivers added to the notifier map.
    routed_notifiers: Vec<String>,
    /// Monitors that others depend on (`dependsOn`) with an alert firing: their dependents'
    /// notifications are held. Read from the store with the silences (any node's alerts), and
    /// added to at once when this node's own alert of one fires.
    parents_firing: std::collections::HashSet<String>,
    /// The monitors some observation said it depends on.
    watched_parents: BTreeSet<String>,
    /// Silence refreshes so far.
    refreshes: u64,
    /// Firing alerts other nodes own that an inhibition rule's source matches (key, labels):
    /// they inhibit here too. Read with the silences, in a cluster with inhibition rules.
    remote_sources: Vec<(String, std::collections::BTreeMap<String, String>)>,
    /// The commits of earlier steps, while they run: they return the partitions they lost.
    in_flight: in_flight::InFlight,
    /// A look at the store is running ([`refresh`]); its result comes through `refreshed_tx`...
    refreshing: bool,
    refreshed_tx: mpsc::UnboundedSender<refresh::Refreshed>,
    /// ...and waits here for the next step.
    looked: Option<refresh::Refreshed>,
    /// The status pages and monitors whose maintenance windows the last look read: when either
    /// is replaced (start, reload), the next step looks again before anything is told, and a
    /// look of the older ones in flight is not taken for the silences.
    windows_seen: Option<refresh::Windows>,
}

impl Manager {
    /// Loads the keys and undelivered notifications of `parts` not loaded yet.
    async fn load(&mut self, parts: &[u32]) -> Result<(), vigil_store::StoreError> {
        if self.groups.ids_low() {
            self.groups.add_ids(self.deps.store.reserve_id_block(groups::MEMBER_IDS).await?);
        }
        let parts: Vec<u32> = parts.iter().copied().filter(|p| !self.loaded.contains(p)).collect();
        if parts.is_empty() {
            return Ok(());
        }
        // The commit in flight first: what it wrote is read, and a partition it lost is not loaded.
        if !self.settle().await.is_empty() {
            let parts: Vec<u32> = parts.into_iter().filter(|p| self.deps.ownership.owns(*p)).collect();
            return Box::pin(self.load(&parts)).await;
        }
        let rows = self.deps.store.alerts_in(&parts).await?;
        let entries = self.deps.store.pending_outbox_in(&parts).await?;
        self.groups.load(self.deps.store.groups_in(&parts).await?);
        for row in rows {
            let Ok(record) = serde_json::from_str::<AlertRecord>(&row.state) else { continue };
            // Alertmanager may have expired firing alerts while nobody ran them: re-send them to
            // it at once (other notifiers are skipped when due).
            if record.state.condition == Condition::Firing && record.state.notified_firing {
                let now = self.deps.clock.now();
                for name in &record.paged {
                    self.refreshed.insert((row.dedup_key.clone(), name.clone()), now);
                    self.refresh_due.insert((now, row.dedup_key.clone(), name.clone()));
                }
            }
            if let Some(at) = row.next_wake {
                self.wakes.insert((at, row.dedup_key.clone()));
                self.wake_of.insert(row.dedup_key.clone(), at);
            }
            self.cache.insert(row.dedup_key, Box::new(record));
        }
        entries.into_iter().for_each(|e| drop(self.delivery.send(e)));
        self.loaded.extend(parts);
        Ok(())
    }

    /// Forgets the keys of `parts` (another node owns them now).
    fn forget(&mut self, parts: &[u32]) {
        let gone = |key: &str| parts.contains(&partition_of(key));
        self.cache.retain(|k, _| !gone(k));
        self.quiet.retain(|k, _| !gone(k));
        self.wakes.retain(|(_, k)| !gone(k));
        self.wake_of.retain(|k, _| !gone(k));
        self.refreshed.retain(|(k, _), _| !gone(k));
        self.refresh_due.retain(|(_, k, _)| !gone(k));
        self.groups.forget(parts);
        for p in parts {
            self.loaded.remove(p);
        }
    }

    /// Deletes the owned resolved alerts last changed before `before`, in chunks, and forgets
    /// them: a month of distinct keys does not stay in memory.
    async fn expire(&mut self, before: Millis) -> u64 {
        const CHUNK: u32 = 500;
        self.settle().await;
        let parts = (!self.deps.ownership.solo()).then(|| self.deps.ownership.parts());
        let mut total = 0;
        loop {
            match self.deps.store.purge_resolved_alerts(before, parts.as_deref(), CHUNK).await {
                Ok(keys) => {
                    total += keys.len() as u64;
                    let done = keys.len() < CHUNK as usize;
                    for key in &keys {
                        self.cache.remove(key);
                    }
                    if !self.refreshed.is_empty() {
                        let gone: std::collections::HashSet<String> = keys.into_iter().collect();
                        self.refreshed.retain(|(k, _), _| !gone.contains(k));
                        self.refresh_due.retain(|(_, k, _)| !gone.contains(k));
                    }
                    if done {
                        return total;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Could not delete resolved alerts; trying again later.");
                    return total;
                }
            }
        }
    }

    /// Takes the last look at the store ([`refresh`]), and starts the next every few seconds. The
    /// first look is waited for: nothing is told before the silences are known.
    async fn look_at_store(&mut self, msgs: &mut Vec<AlertMsg>) {
        if let Some(r) = self.looked.take() {
            self.take_refresh(r, msgs);
        }
        let windows = refresh::Windows {
            pages: self.deps.status_pages.read().expect("lock").clone(),
            monitors: self.deps.declared_monitors.read().expect("lock").clone(),
        };
        let replaced = self.windows_seen.as_ref().is_some_and(|seen| !seen.same(&windows));
        if !replaced && (self.refreshing || self.silences_read.is_some_and(|t| t.elapsed() < SILENCE_REFRESH)) {
            return;
        }
        self.windows_seen = Some(windows.clone());
        let rules = self.deps.routing.read().expect("lock").as_ref().map(|r| r.config.inhibit_rules.clone());
        self.refreshes += 1;
        let look = refresh::Look {
            store: self.deps.store.clone(),
            clock: self.deps.clock.clone(),
            ownership: self.deps.ownership.clone(),
            rules: rules.unwrap_or_default(),
            watched: self.watched_parents.iter().cloned().collect(),
            windows,
            // Silences until resolved end on one node: the owner of partition 0.
            end_until_resolved: self.refreshes.is_multiple_of(UNTIL_RESOLVED_EVERY) && self.deps.ownership.owns(0),
        };
        let first = (self.silences_read.is_none() && self.refreshes == 1) || replaced;
        self.silences_read = Some(std::time::Instant::now());
        if first {
            let r = look.read().await;
            self.take_refresh(r, msgs);
            return;
        }
        self.refreshing = true;
        let tx = self.refreshed_tx.clone();
        tokio::spawn(async move { drop(tx.send(look.read().await)) });
    }

    /// Applies a look at the store: acknowledgement requests become messages of this step.
    fn take_refresh(&mut self, r: refresh::Refreshed, msgs: &mut Vec<AlertMsg>) {
        match r.acks {
            Ok(keys) => {
                // Each node applies the requests for the keys it owns.
                for dedup_key in keys.into_iter().filter(|k| self.deps.ownership.owns_key(k)) {
                    self.acks_to_clear.push(dedup_key.clone());
                    let (reply, _) = tokio::sync::oneshot::channel();
                    msgs.push(AlertMsg::Acknowledge { dedup_key, reply });
                }
            }
            Err(e) => tracing::error!(error = %e, "Could not read acknowledgement requests."),
        }
        let stale = self.windows_seen.as_ref().is_some_and(|seen| !seen.same(&r.windows));
        match r.silences.and_then(|rows| Ok((rows, r.maintenance?))) {
            // A look at windows since replaced: the look that replaced them holds.
            Ok(_) if stale => {}
            Ok((rows, maintenance)) => {
                let silences: Vec<Silence> = rows
                    .into_iter()
                    .filter_map(|r| Some(Silence::from_stored(&r.matchers, r.ends_at)?.starting(r.starts_at)))
                    .chain(maintenance)
                    .collect();
                if silences != self.silences {
                    // A silence was added, removed or changed: look at every held-back page again.
                    self.wake_held_back(self.deps.clock.now());
                }
                self.silences = silences;
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not read the silences; reading them again.");
                self.silences_read = None;
            }
        }
        if r.ended_until_resolved {
            self.silences_read = None;
        }
        if let Some(sources) = r.remote_sources {
            self.remote_sources = sources;
        }
        match r.firing_parents {
            Ok(names) => {
                // This node's own firing parents count at once, committed or not.
                let own = self.cache.values().filter(|r| {
                    r.state.condition == Condition::Firing
                        && r.request.source.starts_with("monitor/")
                        && self.watched_parents.contains(&r.request.name)
                });
                let firing: std::collections::HashSet<String> =
                    names.into_iter().chain(own.map(|r| r.request.name.clone())).collect();
                let released = self.parents_firing.iter().any(|p| !firing.contains(p));
                self.parents_firing = firing;
                if released {
                    self.wake_held_back(self.deps.clock.now());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not read which monitors fire; their dependents stay as they are.")
            }
        }
        match r.routing {
            Ok(Some(stored)) => self.take_routing(stored),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "Could not read the published Alertmanager configuration."),
        }
    }

    /// Takes the published Alertmanager configuration, `stored` (sealed), when it is new: routes
    /// by it, and its receivers join the notifier map (once the map is loaded).
    fn take_routing(&mut self, stored: String) {
        if self.routing_seen.as_ref() == Some(&stored) {
            return;
        }
        let text = match crate::routing::open(&stored, self.deps.sealer.as_deref()) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(error = %e, "Could not open the published Alertmanager configuration.");
                self.routing_seen = Some(stored);
                return;
            }
        };
        crate::routing::install(&self.deps.routing, &text);
        let routing = self.deps.routing.read().expect("lock").clone();
        let mut guard = self.deps.notifiers.write().expect("lock");
        let Some(map) = guard.as_deref() else { return };
        let mut map = map.clone();
        for name in self.routed_notifiers.drain(..) {
            map.remove(&name);
        }
        for n in routing.iter().flat_map(|r| r.notifiers.iter()) {
            self.routed_notifiers.push(n.name().to_string());
            map.insert(n.name().to_string(), Arc::new(n.clone()));
        }
        *guard = Some(Arc::new(map));
        self.routing_seen = Some(stored);
    }

    /// Puts routed alert `key` into its groups: those of this node's partitions now; the others
    /// through their owners' inboxes, in this step's transaction. The local ones are also kept as
    /// inbox messages, sent should their partitions be lost before the commit.
    async fn route_member(
        &mut self,
        routed: vigil_core::alertmanager::group::Routed,
        key: &str,
        now: Millis,
        out: &mut RoutedOut,
    ) {
        // Alone, no lease is lost before the commit: the local joins need no copy to resend.
        let solo = self.deps.ownership.solo();
        let count = routed.groups.len();
        let mut alert = Some(routed.alert);
        for (i, g) in routed.groups.into_iter().enumerate() {
            let part = partition_of(&g.id);
            let a = if i + 1 == count { alert.take() } else { alert.clone() }.expect("one alert per group");
            if self.deps.ownership.owns(part) && self.load(&[part]).await.is_ok() {
                if !solo {
                    let msg = InboxMsg::Member {
                        group: Box::new(g.clone()),
                        key: key.to_string(),
                        alert: Box::new(a.clone()),
                    };
                    out.local.push((part, msg));
                }
                self.groups.join(&g, key, a, now);
            } else {
                let msg = InboxMsg::Member { group: Box::new(g), key: key.to_string(), alert: Box::new(a) };
                out.remote.push((part, msg));
            }
        }
    }

    fn silenced(&self, request: &AlertRequest, now: Millis) -> bool {
        self.silences.iter().any(|s| s.mutes(&request.name, &request.labels, now))
    }

    /// Whether `request`'s notifications are held: a silence mutes it, or a monitor it depends on
    /// fires.
    fn held(&self, request: &AlertRequest, now: Millis) -> bool {
        self.silenced(request, now) || request.depends_on.iter().any(|p| self.parents_firing.contains(p))
    }

    /// Starts watching the monitors in `parents`: those of this node that fire hold their
    /// dependents at once (the store, read with the silences, tells of the other nodes' too).
    fn watch_parents(&mut self, parents: &[String]) {
        let new: Vec<&String> = parents.iter().filter(|p| !self.watched_parents.contains(*p)).collect();
        if new.is_empty() {
            return;
        }
        for record in self.cache.values() {
            let firing = record.state.condition == Condition::Firing && record.request.source.starts_with("monitor/");
            if firing && new.contains(&&record.request.name) {
                self.parents_firing.insert(record.request.name.clone());
            }
        }
        self.watched_parents.extend(parents.iter().cloned());
    }

    /// Looks at every held-back page again at once (a silence or a parent let go).
    fn wake_held_back(&mut self, now: Millis) {
        for (key, record) in &self.cache {
            if record.state.held_back() {
                if let Some(old) = self.wake_of.insert(key.clone(), now) {
                    self.wakes.remove(&(old, key.clone()));
                }
                self.wakes.insert((now, key.clone()));
            }
        }
    }

    /// When every silence muting `request`'s alert has ended (the time to release a held-back
    /// page).
    fn silence_end(&self, request: &AlertRequest, now: Millis) -> Option<Millis> {
        self.silences.iter().filter(|s| s.mutes(&request.name, &request.labels, now)).map(|s| s.ends_at).max()
    }

    /// Applies `msgs` and due timers, then commits the new states, their notifications and the
    /// send results `sent` in one transaction, and only then sends or replies.
    async fn step(&mut self, mut msgs: Vec<AlertMsg>, sent: Vec<delivery::Recorded>) {
        self.look_at_store(&mut msgs).await;
        // Expiry first, before this step changes anything the store does not have yet.
        for msg in msgs.extract_if(.., |m| matches!(m, AlertMsg::Expire { .. })) {
            if let AlertMsg::Expire { before, reply } = msg {
                let _ = reply.send(self.expire(before).await);
            }
        }
        let now = self.deps.clock.now();
        let (known, ack) = (self.deps.notifiers.read().expect("lock").clone(), self.deps.ack_links.clone());
        let external_url = self.deps.external_url.clone();
        let tell = Telling { known: known.as_deref(), ack: ack.as_ref(), external_url: &external_url };
        let mut dirty: Vec<String> = Vec::new();
        let mut outbox: Vec<NewOutboxEntry> = Vec::new();
        let mut replies: Vec<Reply> = Vec::new();
        let mut acks = Vec::new();
        let mut flushed = Vec::new();
        let mut committed = Vec::new();
        let mut inbox_done: Vec<(u32, i64)> = Vec::new();
        let mut routed_out = RoutedOut::default();
        // vigil's own alerts told nobody by name, which the routing tree tells.
        let mut own_routed: Vec<(String, vigil_core::alertmanager::Alert)> = Vec::new();
        for msg in msgs {
            match msg {
                AlertMsg::Gained(parts) => {
                    if let Err(e) = self.load(&parts).await {
                        tracing::error!(error = %e, "Could not load the alerts of newly owned partitions; loading them on first use.");
                    }
                }
                AlertMsg::Lost(parts) => self.forget(&parts),
                AlertMsg::Expire { .. } => unreachable!("taken out above"),
                AlertMsg::Member { group, key, alert, inbox } => {
                    let part = partition_of(&group.id);
                    if self.deps.ownership.owns(part) && self.load(&[part]).await.is_ok() {
                        self.groups.join(&group, &key, *alert, now);
                        if let Some(id) = inbox {
                            inbox_done.push((part, id));
                        }
                    } else if let Some(id) = inbox {
                        self.deps.inbox.release(id);
                    }
                }
                AlertMsg::Routed { key, routed } => self.route_member(*routed, &key, now, &mut routed_out).await,
                AlertMsg::Observe { instance, task_id, mut request, from } => {
                    let key = request.dedup_key.clone();
                    let part = partition_of(&key);
                    let ready = self.deps.ownership.owns(part)
                        && self
                            .load(&[part])
                            .await
                            .map_err(
                                |e| tracing::error!(error = %e, "Could not load alert states; the observation waits."),
                            )
                            .is_ok();
                    if !ready {
                        // The key moved away meanwhile (its new owner takes the observation), or
                        // its states could not be read: it goes through the inbox, to be taken
                        // again. One from the inbox is still there.
                        match from {
                            ObservedFrom::Local { part: reply_part } => {
                                let msg = InboxMsg::Observe { instance, task_id, request, reply_part };
                                crate::cluster::inbox::send_later(
                                    self.deps.store.clone(),
                                    self.deps.clock.now(),
                                    part,
                                    msg,
                                );
                            }
                            ObservedFrom::Inbox { id, .. } => self.deps.inbox.release(id),
                        }
                        continue;
                    }
                    if let ObservedFrom::Inbox { id, .. } = from {
                        inbox_done.push((part, id));
                    }
                    if let Some(routed) = request.routed.take() {
                        let member = vigil_core::alertmanager::fingerprint_hex(&routed.alert.labels);
                        self.route_member(*routed, &member, now, &mut routed_out).await;
                    }
                    let from_monitor = instance.is_empty();
                    if from_monitor && !request.failing && !self.cache.contains_key(&key) {
                        let newest = self.quiet.entry(key).or_insert(request.observed_at);
                        *newest = (*newest).max(request.observed_at);
                        continue;
                    }
                    // A key that names another team's alert is not this workflow's to change.
                    // Only an ALERT task bounded to its team is checked: monitors and pushed alerts
                    // (the intake's hot path) take no lock here.
                    if let Some(existing) = self.cache.get(&key).filter(|_| request.within.is_some()) {
                        let secrets = self.deps.secrets.read().expect("lock").clone();
                        if let Err(reason) =
                            vigil_core::alert::scope::may_change(secrets.teams(), &existing.request, &request)
                        {
                            let remote = match from {
                                ObservedFrom::Inbox { reply_part, .. } if !self.deps.ownership.owns(reply_part) => {
                                    Some(reply_part)
                                }
                                _ => None,
                            };
                            let result = TaskResult::Failed { reason, output: json!({}), terminal: true };
                            let event = Event::TaskResult { task_id, result };
                            replies.push(Reply { key, instance, event, remote, resend: None });
                            continue;
                        }
                    }
                    // Every stored alert of this partition is loaded and this manager is its only
                    // writer, so a key missing from the cache is new: no store read per observation.
                    let quiet_until = self.quiet.remove(&key);
                    self.cache.entry(key.clone()).or_insert_with(|| {
                        let mut fresh = (*request).clone();
                        fresh.observation_id = String::new();
                        let state = AlertState { last_observed_at: quiet_until, ..AlertState::default() };
                        Box::new(AlertRecord {
                            request: fresh,
                            state,
                            paged: Vec::new(),
                            paged_severity: None,
                            escalations: Vec::new(),
                        })
                    });
                    self.watch_parents(&request.depends_on);
                    let silenced = self.held(&request, now);
                    let resend = match from {
                        ObservedFrom::Local { part: reply_part } if !from_monitor => Some((
                            part,
                            InboxMsg::Observe {
                                instance: instance.clone(),
                                task_id: task_id.clone(),
                                request: request.clone(),
                                reply_part,
                            },
                        )),
                        _ => None,
                    };
                    let record = self.cache.get_mut(&key).expect("cached");
                    // The same observation again (an ALERT task re-issued after a restart) counts once.
                    // One about an older slot than one already applied changes nothing.
                    let repeat = record.request.observation_id == request.observation_id;
                    let stale = !repeat && record.state.is_stale(request.observed_at);
                    let mut steady = false;
                    let notices = if repeat || stale {
                        Vec::new()
                    } else {
                        let (rule, obs, at) = (request.rule.clone(), request.observation(), request.observed_at);
                        let before = from_monitor.then(|| record.state.clone());
                        let notices = record.state.observe_at(&rule, obs, at, now, silenced).unwrap_or_default();
                        record.state.hold_until(obs, request.expires_at);
                        // A monitor observation that changes nothing but its time (the same tier
                        // again, no run under way) is not written: a check costs no write. Its
                        // summary and value stay current in memory; the stored row is refreshed at
                        // the next change. (ALERT tasks always write: after a restart their late
                        // fires are judged by the stored newest slot.)
                        steady = before.is_some_and(|mut b| {
                            b.last_observed_at = record.state.last_observed_at;
                            b == record.state
                        }) && notices.is_empty()
                            && record.request.notifiers == request.notifiers
                            && record.request.labels == request.labels;
                        record.request = *request;
                        record.state.labels.clear();
                        notices
                    };
                    outbox.extend(entries(record, &notices, now, tell));
                    own_routed.extend(own_member(record, &notices, now).map(|a| (key.clone(), a)));
                    // The result goes to the instance: through its shard here, or through the inbox
                    // of the node that runs it.
                    let remote = match from {
                        ObservedFrom::Inbox { reply_part, .. } if !self.deps.ownership.owns(reply_part) => {
                            Some(reply_part)
                        }
                        _ => None,
                    };
                    if !from_monitor {
                        let output = json!({
                            "dedupKey": key,
                            "condition": record.state.condition.as_str(),
                            "tier": record.state.tier.as_str(),
                            "notices": notices,
                            "notifiers": record.request.notifiers,
                            "silenced": silenced,
                            "stale": stale,
                        });
                        let event = Event::TaskResult { task_id, result: TaskResult::Completed(output) };
                        replies.push(Reply { key: key.clone(), instance, event, remote, resend });
                    }
                    let monitor = record.request.source.starts_with("monitor/");
                    let firing = record.state.condition == Condition::Firing;
                    let name = record.request.name.clone();
                    // A monitor of this node that fires holds its dependents from this step on.
                    // Alone, one none of whose series fires any more lets them go at once (in a
                    // cluster other nodes may hold its other series: the store says, every 2 s).
                    if monitor && firing && self.watched_parents.contains(&name) {
                        self.parents_firing.insert(name);
                    } else if monitor
                        && !firing
                        && self.deps.ownership.solo()
                        && self.parents_firing.contains(&name)
                        && !self
                            .cache
                            .values()
                            .any(|r| r.request.name == name && r.state.condition == Condition::Firing)
                    {
                        self.parents_firing.remove(&name);
                        self.wake_held_back(now);
                    }
                    if !steady {
                        dirty.push(key);
                    }
                }
                AlertMsg::Acknowledge { dedup_key, reply } => {
                    if let Err(e) = self.load(&[partition_of(&dedup_key)]).await {
                        tracing::error!(error = %e, "Could not load alert states to acknowledge.");
                    }
                    if !self.cache.contains_key(&dedup_key)
                        && let Some(entries) = self.groups.acknowledge(&dedup_key, now, tell)
                    {
                        acks.push((reply, !entries.is_empty()));
                        outbox.extend(entries);
                        continue;
                    }
                    let notices = match self.cache.get_mut(&dedup_key) {
                        Some(record) => record.state.acknowledge(now),
                        None => Vec::new(),
                    };
                    if let Some(record) = self.cache.get_mut(&dedup_key) {
                        outbox.extend(entries(record, &notices, now, tell));
                        dirty.push(dedup_key);
                    }
                    acks.push((reply, !notices.is_empty()));
                }
                AlertMsg::Flush(reply) => flushed.push(reply),
                AlertMsg::Committed(reply) => committed.push(reply),
            }
        }
        while let Some((at, key)) = self.wakes.first().cloned().filter(|(at, _)| *at <= now) {
            self.wakes.remove(&(at, key.clone()));
            self.wake_of.remove(&key);
            let silenced = self.cache.get(&key).is_some_and(|r| self.held(&r.request, now));
            // A held escalation step waits for the silence's end (or looks again in a minute,
            // while a monitor it depends on fires).
            let held_until = self
                .cache
                .get(&key)
                .filter(|_| silenced)
                .map(|r| self.silence_end(&r.request, now).unwrap_or(now + 60_000));
            if let Some(record) = self.cache.get_mut(&key) {
                let notices = record.state.tick(&record.request.rule, now, silenced);
                outbox.extend(entries(record, &notices, now, tell));
                outbox.extend(escalate(record, now, held_until, tell));
                own_routed.extend(own_member(record, &notices, now).map(|a| (key.clone(), a)));
                dirty.push(key);
            }
        }
        let routing = self.deps.routing.read().expect("lock").clone();
        for (key, alert) in std::mem::take(&mut own_routed) {
            if let Some(routing) = &routing {
                self.route_member(routing.route(alert), &key, now, &mut routed_out).await;
            }
        }
        outbox.extend(self.flush_groups(now, tell));
        outbox.extend(self.alertmanager_refreshes(now));
        self.schedule_refreshes(&outbox, now);
        dirty.sort();
        dirty.dedup();
        let deliveries = sent.iter().map(|r| (r.id, r.update.clone())).collect();
        let changes = self.groups.take_changes(now);
        let mut batch = AlertBatch {
            outbox,
            deliveries,
            groups: changes.rows,
            group_members: changes.members,
            groups_gone: changes.gone,
            group_members_gone: changes.members_gone,
            ..Default::default()
        };
        for key in &dirty {
            let record = &self.cache[key];
            let held_until = record.state.held_back().then(|| self.silence_end(&record.request, now)).flatten();
            let next =
                [record.state.next_wake(&record.request.rule), held_until, telling::next_step(&record.escalations)]
                    .into_iter()
                    .flatten()
                    .min();
            if let Some(old) = self.wake_of.remove(key) {
                self.wakes.remove(&(old, key.clone()));
            }
            if let Some(at) = next {
                self.wakes.insert((at, key.clone()));
                self.wake_of.insert(key.clone(), at);
            }
            batch.alerts.push(row(key, record, next, now));
        }
        let mut commit = Commit {
            batch,
            replies,
            routed_out,
            inbox_done,
            acks,
            flushed,
            committed,
            sent,
            acks_to_clear: std::mem::take(&mut self.acks_to_clear),
            now,
        };
        // One commit at a time, in step order: the previous step's first, unless both only add
        // alerts to groups (`in_flight`). The partitions lost are forgotten, and this step's
        // changes to them left out.
        let mut lost = self.reap().await;
        if !self.in_flight.may_start(&commit) {
            lost.extend(self.settle().await);
        }
        if !lost.is_empty() {
            commit.drop_lost(&lost, &self.committer());
        }
        if commit.writes_nothing() {
            self.acks_to_clear = std::mem::take(&mut commit.acks_to_clear);
            for reply in commit.flushed.into_iter().chain(commit.committed) {
                let _ = reply.send(());
            }
            return;
        }
        let committer = self.committer();
        self.in_flight.start(commit, committer);
    }

    /// What the commits need of the engine.
    fn committer(&self) -> Committer {
        Committer {
            store: self.deps.store.clone(),
            ownership: self.deps.ownership.clone(),
            lose: self.deps.lose.clone(),
            delivery: self.delivery.clone(),
            recorded: self.recorded.clone(),
            router: self.deps.router.clone(),
        }
    }

    /// Waits for the commits in flight, and forgets the partitions they lost; returns them.
    async fn settle(&mut self) -> Vec<u32> {
        let lost = self.in_flight.settle().await;
        if !lost.is_empty() {
            self.forget(&lost);
        }
        lost
    }

    /// Takes the commits in flight that have ended, and forgets the partitions they lost;
    /// returns them.
    async fn reap(&mut self) -> Vec<u32> {
        let lost = self.in_flight.reap().await;
        if !lost.is_empty() {
            self.forget(&lost);
        }
        lost
    }
}

impl Manager {
    /// Flushes the notification groups due at `now`. A silenced alert, or one an inhibition rule
    /// mutes while its source fires, is held back.
    fn flush_groups(&mut self, now: Millis, tell: Telling) -> Vec<NewOutboxEntry> {
        let Some(routing) = self.deps.routing.read().expect("lock").clone() else {
            // Nobody to tell yet: flushing would drop resolved alerts untold.
            self.groups.postpone_due(now, now + SILENCE_REFRESH.as_millis() as Millis);
            return Vec::new();
        };
        let rules = &routing.config.inhibit_rules;
        // Routed pushed alerts live in the groups: those that could inhibit, when a flush is due.
        let due = self.groups.next_wake().is_some_and(|at| at <= now);
        let members = if rules.is_empty() || !due { Vec::new() } else { self.groups.inhibiting(rules, now) };
        let firing: Vec<(&String, &std::collections::BTreeMap<String, String>)> = if rules.is_empty() {
            Vec::new()
        } else {
            self.cache
                .iter()
                .filter(|(_, r)| r.state.condition == Condition::Firing)
                .map(|(k, r)| (k, &r.request.labels))
                .chain(members.iter().map(|(k, l)| (k, l)))
                .chain(self.remote_sources.iter().map(|(k, l)| (k, l)))
                .collect()
        };
        let silences = &self.silences;
        let inhibitors = vigil_core::alertmanager::config::inhibit::InhibitIndex::new(rules, firing.iter().copied());
        let muted = |_: &str, alert: &vigil_core::alertmanager::Alert| {
            let name = alert.labels.get(vigil_core::alert::ALERT_NAME_LABEL).map_or("", |n| n.as_str());
            silences.iter().any(|s| s.mutes(name, &alert.labels, now))
                || inhibitors.inhibited_by(&alert.labels).is_some()
        };
        self.groups.flush_due(now, &routing, tell, muted)
    }

    /// Alertmanager forgets an alert whose `endsAt` passes, so firing alerts are re-sent to
    /// Alertmanager notifiers every `resend_interval_seconds`, as Prometheus does. Only the
    /// refreshes that are due are looked at: the step costs nothing per quiet alert.
    fn alertmanager_refreshes(&mut self, now: Millis) -> Vec<NewOutboxEntry> {
        let mut out = Vec::new();
        // Until the notifiers are loaded nobody can tell which are Alertmanagers: keep waiting.
        let Some(known) = self.deps.notifiers.read().expect("lock").clone() else { return out };
        while let Some((at, key, name)) = self.refresh_due.first().cloned().filter(|(at, _, _)| *at <= now) {
            self.refresh_due.remove(&(at, key.clone(), name.clone()));
            self.refreshed.remove(&(key.clone(), name.clone()));
            let Some(record) = self.cache.get(&key) else { continue };
            let firing = record.state.condition == Condition::Firing && record.state.notified_firing;
            let alertmanager = matches!(known.get(&name).map(|n| n.as_ref()), Some(NotifierConfig::Alertmanager(_)));
            if firing && alertmanager && record.paged.contains(&name) {
                let msg = serde_json::to_string(&message(record, Notice::Remind, now)).expect("message serializes");
                out.push(NewOutboxEntry {
                    dedup_key: key,
                    notifier: name,
                    notice: "remind".into(),
                    message: msg,
                    created_at: now,
                });
            }
        }
        out
    }

    /// Schedules the next Alertmanager re-send for every firing notice in `outbox`.
    fn schedule_refreshes(&mut self, outbox: &[NewOutboxEntry], now: Millis) {
        let Some(known) = self.deps.notifiers.read().expect("lock").clone() else { return };
        for entry in outbox {
            let Some(NotifierConfig::Alertmanager(c)) = known.get(&entry.notifier).map(|n| n.as_ref()) else {
                continue;
            };
            if entry.notice == Notice::Resolve.as_str() {
                continue;
            }
            let at = now + c.resend_interval_seconds as Millis * 1000;
            let slot = (entry.dedup_key.clone(), entry.notifier.clone());
            if let Some(old) = self.refreshed.insert(slot.clone(), at) {
                self.refresh_due.remove(&(old, slot.0.clone(), slot.1.clone()));
            }
            self.refresh_due.insert((at, slot.0, slot.1));
        }
    }
}

fn severity(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        "info" => Severity::Info,
        _ => Severity::Error,
    }
}

/// The message every notifier receives for `notice`.
pub fn message(record: &AlertRecord, notice: Notice, now: Millis) -> AlertMessage {
    let r = &record.request;
    let told = match notice {
        Notice::Trigger | Notice::Change => &r.severity,
        _ => record.paged_severity.as_ref().unwrap_or(&r.severity),
    };
    AlertMessage {
        notice,
        dedup_key: r.dedup_key.clone(),
        name: r.name.clone(),
        severity: severity(told),
        summary: r.summary.clone(),
        details: r.details.clone(),
        labels: r.labels.clone(),
        source: format!("vigil/{}", r.source),
        firing_since: record.state.firing_since.unwrap_or(now),
        at: now,
        links: r
            .links
            .iter()
            .filter_map(|l| {
                Some(Link {
                    href: l.get("href")?.as_str()?.to_string(),
                    text: l.get("text").and_then(|t| t.as_str()).unwrap_or("link").to_string(),
                })
            })
            .collect(),
        test: false,
        rendered: Default::default(),
    }
}

fn entries(record: &mut AlertRecord, notices: &[Notice], now: Millis, tell: Telling) -> Vec<NewOutboxEntry> {
    let mut out = Vec::new();
    for notice in notices {
        // A trigger goes to the current notifiers (an escalation policy's first step) and
        // remembers them; later notices about the same incident go to whoever was paged.
        let (targets, joining) = match notice {
            Notice::Trigger => {
                let (targets, started) = tell.expand(&record.request.notifiers, &[], now);
                record.escalations = started;
                record.paged = targets;
                (record.paged.clone(), Vec::new())
            }
            // A change of tier reaches whoever was paged and whoever the new tier routes to (a
            // step up to critical brings in the on-call route), and they are all paged now. One
            // that joins here has no incident yet: it gets a trigger, not an update of an
            // incident it never opened (Opsgenie's priority update of an alias never created).
            Notice::Change => {
                let (expanded, started) = tell.expand(&record.request.notifiers, &record.escalations, now);
                record.escalations.extend(started);
                let joining: Vec<String> = expanded.into_iter().filter(|n| !record.paged.contains(n)).collect();
                let targets = record.paged.clone();
                record.paged.extend(joining.iter().cloned());
                (targets, joining)
            }
            _ if !record.paged.is_empty() => (record.paged.clone(), Vec::new()),
            _ => (tell.expand(&record.request.notifiers, &[], now).0, Vec::new()),
        };
        if matches!(notice, Notice::Trigger | Notice::Change) {
            record.paged_severity = Some(record.request.severity.clone());
        }
        if matches!(notice, Notice::Resolve | Notice::Acknowledge) {
            // Someone has it, or it is over: nobody else is told.
            record.escalations.iter_mut().for_each(|e| e.stop());
        }
        out.extend(notify(record, *notice, &targets, now, tell));
        out.extend(notify(record, Notice::Trigger, &joining, now, tell));
    }
    out
}

/// The outbox entries telling `notifiers` of `notice` about `record`'s alert. A page (trigger,
/// change, reminder) carries a signed link that acknowledges the incident.
fn notify(
    record: &AlertRecord,
    notice: Notice,
    notifiers: &[String],
    now: Millis,
    tell: Telling,
) -> Vec<NewOutboxEntry> {
    if notifiers.is_empty() {
        return Vec::new();
    }
    let mut msg = message(record, notice, now);
    if let (Some(links), Some(since), true) =
        (tell.ack, record.state.firing_since, matches!(notice, Notice::Trigger | Notice::Change | Notice::Remind))
    {
        msg.links.push(Link { href: links.link(&record.request.dedup_key, since, now), text: "Acknowledge".into() });
    }
    let msg = serde_json::to_string(&msg).expect("message serializes");
    notifiers
        .iter()
        .map(|notifier| NewOutboxEntry {
            dedup_key: record.request.dedup_key.clone(),
            notifier: notifier.clone(),
            notice: notice.as_str().into(),
            message: msg.clone(),
            created_at: now,
        })
        .collect()
}

/// Moves `record`'s escalations on at `now`: each step that came due pages its notifiers (a
/// trigger for those not paged yet, a reminder for a repeat round's). An alert no longer firing
/// or acknowledged stops them; one held (`held_until`) puts the step off.
fn escalate(record: &mut AlertRecord, now: Millis, held_until: Option<Millis>, tell: Telling) -> Vec<NewOutboxEntry> {
    if !record.escalations.iter().any(|e| e.is_due(now)) {
        return Vec::new();
    }
    let s = &record.state;
    if s.condition != Condition::Firing || !s.notified_firing || s.acknowledged {
        record.escalations.iter_mut().for_each(|e| e.stop());
        return Vec::new();
    }
    if let Some(until) = held_until {
        record.escalations.iter_mut().for_each(|e| e.postpone(until));
        return Vec::new();
    }
    let mut out = Vec::new();
    let steps = tell.advance(&mut record.escalations, now);
    for step in steps {
        let (fresh, told): (Vec<String>, Vec<String>) =
            step.notify.into_iter().filter(|n| tell.policy(n).is_none()).partition(|n| !record.paged.contains(n));
        record.paged.extend(fresh.iter().cloned());
        out.extend(notify(record, Notice::Trigger, &fresh, now, tell));
        if step.again {
            out.extend(notify(record, Notice::Remind, &told, now, tell));
        }
    }
    out
}

/// vigil's own alert (a monitor's, an ALERT task's) that names no notifier, as a member of the
/// routing tree's groups, when `notices` change what they should know: firing from a trigger or
/// change of tier, resolved from a resolve (reminders are the groups' own). Held-back pages have no
/// notices, so the groups hear only of alerts a notifier would have been told of.
fn own_member(record: &AlertRecord, notices: &[Notice], now: Millis) -> Option<vigil_core::alertmanager::Alert> {
    let r = &record.request;
    if !r.notifiers.is_empty() || r.source == vigil_core::alertmanager::request::SOURCE {
        return None;
    }
    let resolved = notices.contains(&Notice::Resolve);
    if !resolved && !notices.iter().any(|n| matches!(n, Notice::Trigger | Notice::Change)) {
        return None;
    }
    let mut labels = r.labels.clone();
    labels.entry(vigil_core::alert::ALERT_NAME_LABEL.to_string()).or_insert_with(|| r.name.clone());
    labels
        .entry("severity".to_string())
        .or_insert_with(|| record.paged_severity.clone().unwrap_or_else(|| r.severity.clone()));
    let starts = record.state.firing_since.unwrap_or(now);
    Some(vigil_core::alertmanager::Alert {
        labels,
        annotations: [("summary".to_string(), r.summary.clone())].into(),
        starts_at: starts,
        ends_at: if resolved { now } else { 0 },
        generator_url: r.links.iter().find_map(|l| l.get("href")?.as_str().map(str::to_string)).unwrap_or_default(),
        updated_at: now,
        timeout: false,
        row: 0,
    })
}

fn row(key: &str, record: &AlertRecord, next_wake: Option<Millis>, now: Millis) -> AlertRow {
    AlertRow {
        dedup_key: key.to_string(),
        name: record.request.name.clone(),
        condition: record.state.condition.as_str().into(),
        firing_since: record.state.firing_since.filter(|_| record.state.condition == Condition::Firing),
        last_notified: record.state.last_notified,
        acknowledged: record.state.acknowledged,
        next_wake,
        updated_at: now,
        state: serde_json::to_string(record).expect("record serializes"),
    }
}
