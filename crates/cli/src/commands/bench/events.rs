//! `vigil bench events`: event handlers consuming RabbitMQ and NATS JetStream into the 5-task
//! workflow on SQLite. Throughput: a backlog of messages, each starting one instance, until
//! every instance is committed `COMPLETED`. Latency: messages published at a steady rate, from
//! each one's publication to its instance's first step.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use anyhow::{Context, Result};
use serde_json::json;
use vigil_connectors::sinks::{Brokers, Message, Publisher};
use vigil_core::event_handler::build_event_handler;
use vigil_core::time::Clock;
use vigil_runtime::{Engine, EngineConfig, SecretValues, SystemClock};
use vigil_store::SqliteStore;

use super::measure::{cpu_seconds, five_tasks, rss_mb, workflow, write_bytes};

/// What to run.
#[derive(clap::Args, Clone)]
pub struct Plan {
    /// Messages in the backlog, per broker.
    #[arg(long, default_value_t = 50_000)]
    pub messages: usize,
    /// Messages a second in the latency round.
    #[arg(long, default_value_t = 1_000)]
    pub rate: usize,
    /// Seconds of the latency round.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// RabbitMQ.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub amqp_url: String,
    /// NATS with JetStream.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Only these brokers (`amqp`, `nats`).
    #[arg(long, value_delimiter = ',', default_value = "amqp,nats")]
    pub only: Vec<String>,
    /// Instances whose status changes (started, completed: two events each) go to JetStream in
    /// the status listener round (0: no such round).
    #[arg(long, default_value_t = 20_000)]
    pub status_instances: usize,
}

/// Runs every round and prints the figures.
pub async fn run(plan: Plan) -> Result<()> {
    let brokers =
        Brokers { amqp: Some(plan.amqp_url.clone()), nats: Some(plan.nats_url.clone()), ..Brokers::default() };
    crate::output::outln!(
        "events: a handler starts the 5-task workflow per message, durable on SQLite (one process: \
         publisher, broker client and engine share the machine)"
    );
    for broker in &plan.only {
        let queue = match broker.as_str() {
            "amqp" => format!("amqp_queue:vigil-bench-{}", vigil_runtime::new_instance_id().replace('-', "")),
            "nats" => format!("jsm:vigil.bench.{}", vigil_runtime::new_instance_id().replace('-', "")),
            other => anyhow::bail!("--only takes amqp and nats, not `{other}`"),
        };
        let t = throughput(&brokers, &queue, plan.messages).await.with_context(|| format!("{broker} throughput"))?;
        crate::output::outln!(
            "  {broker}: {} messages consumed into committed instances in {:.2}s: {:.0} events/s; CPU {:.1} µs/event, \
             {:.0} bytes written/event, RSS {:.0} MB",
            plan.messages,
            t.seconds,
            plan.messages as f64 / t.seconds,
            t.cpu * 1e6 / plan.messages as f64,
            t.bytes as f64 / plan.messages as f64,
            t.rss
        );
        let queue = format!("{queue}-latency");
        let l =
            latency(&brokers, &queue, plan.rate, plan.seconds).await.with_context(|| format!("{broker} latency"))?;
        crate::output::outln!(
            "  {broker}: {} msg/s for {} s, publish to first step: p50 {} ms, p99 {} ms, max {} ms ({} of {})",
            plan.rate,
            plan.seconds,
            l.p50,
            l.p99,
            l.max,
            l.measured,
            l.sent
        );
    }
    if plan.status_instances == 0 {
        return Ok(());
    }
    let s = status_events(&brokers, plan.status_instances).await.context("status listener")?;
    crate::output::outln!(
        "  status listener: {} events (started, completed) of {} instances published to JetStream in {:.2}s: \
         {:.0} events/s; CPU {:.1} µs/event",
        2 * plan.status_instances,
        plan.status_instances,
        s.seconds,
        (2 * plan.status_instances) as f64 / s.seconds,
        s.cpu * 1e6 / (2 * plan.status_instances) as f64
    );
    Ok(())
}

/// Starts `n` instances of the 5-task workflow with every status change going to a JetStream
/// stream, and times until the stream holds them all.
async fn status_events(brokers: &Brokers, n: usize) -> Result<Throughput> {
    let subject = format!("vigil.bench.status.{}", vigil_runtime::new_instance_id().replace('-', ""));
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let status_listeners =
        vigil_runtime::status_events::config::StatusListenerConfig { sink: Some(format!("jsm:{subject}")), all: true };
    let config = EngineConfig { brokers: brokers.clone(), status_listeners, ..EngineConfig::default() };
    let engine =
        Engine::start(store.clone(), Arc::new(SystemClock), config, workflow(five_tasks())?, SecretValues::default())
            .await?;
    let nats = brokers.nats.clone().context("the NATS URL")?;
    let client = vigil_connectors::sinks::nats::NatsClient::connect(&nats).await?;
    let stream = subject.replace('.', "_").to_uppercase();
    let (cpu, bytes) = (cpu_seconds(), write_bytes());
    let started = Instant::now();
    for i in 0..n {
        engine.start_instance(vigil_runtime::StartRequest {
            name: "five".into(),
            input: json!({"n": i}),
            ..vigil_runtime::StartRequest::default()
        })?;
    }
    loop {
        let info = client.api(&format!("STREAM.INFO.{stream}"), &json!({})).await?;
        if info["state"]["messages"].as_u64().unwrap_or(0) >= 2 * n as u64 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the stream got {} events",
            info["state"]["messages"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Throughput {
        seconds: started.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu,
        bytes: write_bytes() - bytes,
        rss: rss_mb(),
    };
    client.api(&format!("STREAM.DELETE.{stream}"), &json!({})).await?;
    engine.shutdown().await;
    let _ = store.count_instances().await;
    Ok(t)
}

struct Throughput {
    seconds: f64,
    cpu: f64,
    bytes: u64,
    rss: f64,
}

struct Latency {
    p50: i64,
    p99: i64,
    max: i64,
    measured: usize,
    sent: usize,
}

/// A fresh engine on SQLite with the 5-task workflow and the brokers.
async fn engine(brokers: &Brokers) -> Result<(Engine, Arc<SqliteStore>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let config = EngineConfig { brokers: brokers.clone(), ..EngineConfig::default() };
    let engine =
        Engine::start(store.clone(), Arc::new(SystemClock), config, workflow(five_tasks())?, SecretValues::default())
            .await?;
    Ok((engine, store, dir))
}

/// The handler starting `five` with the message's `n` and `sentAt`.
fn handler(queue: &str) -> Result<vigil_core::event_handler::EventHandler> {
    let doc = json!({"name": "bench", "event": queue, "active": true, "actions": [{"action": "start_workflow",
        "start_workflow": {"name": "five", "input": {"n": "${n}", "sentAt": "${sentAt}"}}}]});
    let (h, problems) = build_event_handler(&doc);
    h.with_context(|| format!("the benchmark's handler is invalid: {problems:?}"))
}

/// Publishes `n` messages, 64 at a time.
async fn publish(publisher: &Arc<Publisher>, queue: &str, from: usize, n: usize) -> Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..64 {
        let (publisher, queue) = (publisher.clone(), queue.to_string());
        tasks.spawn(async move {
            for i in (from + lane..from + n).step_by(64) {
                let body = json!({"n": i, "sentAt": SystemClock.now()});
                let m = Message { id: format!("m{i}"), payload: body.to_string().into_bytes() };
                publisher.publish(&queue, &m).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn until_finished(engine: &Engine, n: u64, limit: Duration) -> Result<()> {
    let started = Instant::now();
    while engine.finished_count() < n {
        anyhow::ensure!(started.elapsed() < limit, "only {} of {n} instances finished", engine.finished_count());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

async fn throughput(brokers: &Brokers, queue: &str, n: usize) -> Result<Throughput> {
    let publisher = Arc::new(Publisher::new(brokers.clone()));
    publish(&publisher, queue, 0, n).await?;
    let (engine, _store, _dir) = engine(brokers).await?;
    let (cpu, bytes) = (cpu_seconds(), write_bytes());
    let started = Instant::now();
    engine.events().set_files(vec![handler(queue)?]).await?;
    until_finished(&engine, n as u64, Duration::from_secs(600)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let t = Throughput { seconds, cpu: cpu_seconds() - cpu, bytes: write_bytes() - bytes, rss: rss_mb() };
    engine.shutdown().await;
    Ok(t)
}

async fn latency(brokers: &Brokers, queue: &str, rate: usize, seconds: u64) -> Result<Latency> {
    let publisher = Arc::new(Publisher::new(brokers.clone()));
    // The queue (or stream) exists before the consumer starts.
    publish(&publisher, queue, 0, 64).await?;
    let (engine, store, _dir) = engine(brokers).await?;
    engine.events().set_files(vec![handler(queue)?]).await?;
    until_finished(&engine, 64, Duration::from_secs(30)).await?;
    let total = rate * seconds as usize;
    let tick = Duration::from_secs(1) / 100;
    let per_tick = rate.div_ceil(100);
    let mut sent = 64;
    let mut next = tokio::time::Instant::now();
    while sent < 64 + total {
        let k = per_tick.min(64 + total - sent);
        let mut tasks = tokio::task::JoinSet::new();
        for i in sent..sent + k {
            let (publisher, queue) = (publisher.clone(), queue.to_string());
            tasks.spawn(async move {
                let body = json!({"n": i, "sentAt": SystemClock.now()});
                publisher
                    .publish(&queue, &Message { id: format!("m{i}"), payload: body.to_string().into_bytes() })
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        sent += k;
        next += tick;
        tokio::time::sleep_until(next).await;
    }
    until_finished(&engine, sent as u64, Duration::from_secs(120)).await?;
    let mut lags = Vec::new();
    for s in store
        .list_instances(&vigil_store::InstanceFilter {
            workflow_name: Some("five".into()),
            limit: (sent + 10) as u32,
            ..Default::default()
        })
        .await?
    {
        let Some(i) = store.instance(&s.id).await? else { continue };
        let Some(sent_at) = i.input["sentAt"].as_i64() else { continue };
        if i.input["n"].as_i64().unwrap_or(0) < 64 {
            continue;
        }
        let Some(first) = i.tasks.iter().filter_map(|t| t.start_time).min() else { continue };
        lags.push(first - sent_at);
    }
    engine.shutdown().await;
    lags.sort_unstable();
    let at = |q: f64| lags.get(((lags.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0);
    Ok(Latency {
        p50: at(0.5),
        p99: at(0.99),
        max: lags.last().copied().unwrap_or(0),
        measured: lags.len(),
        sent: total,
    })
}
