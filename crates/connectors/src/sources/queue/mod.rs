//! `queue`: how full a queue is, or how far its consumer is behind, as a value to judge with
//! `warning`/`critical` thresholds: RabbitMQ (its management API, or a passive declaration over
//! AMQP), JetStream (stream and consumer info) and Redis streams (`XLEN`, `XINFO GROUPS`). The
//! counts are read by [`crate::sinks::depth`].
//!
//! Built as CONTRIBUTING.md's "add a monitor source" walkthrough: this folder, one line in core's
//! `source_kinds!`, one in `sources!` (and its `pub mod`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, json};
use vigil_core::monitor::evaluate::{Answer, Sample};
use vigil_core::time::Millis;

use super::{Ask, SourceConfig, SourceProblem};
use crate::sinks::Address;
use crate::sinks::depth::{Depth, measure};

/// Which count a `queue` monitor judges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Messages held: waiting, or delivered and not yet acknowledged (the default).
    #[default]
    Depth,
    /// Messages not yet delivered to the consumer.
    Lag,
    /// Messages delivered and not yet acknowledged.
    Unacked,
    /// Consumers attached (`< 1`: nobody reads the queue).
    Consumers,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Depth => "depth",
            Metric::Lag => "lag",
            Metric::Unacked => "unacked",
            Metric::Consumers => "consumers",
        }
    }

    fn of(self, d: &Depth) -> Option<u64> {
        match self {
            Metric::Depth => d.depth,
            Metric::Lag => d.lag,
            Metric::Unacked => d.unacked,
            Metric::Consumers => d.consumers,
        }
    }
}

/// What a monitor writes under `source: {queue: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueueConfig {
    /// The queue, written as a sink: `amqp_queue:jobs`, `amqp_exchange:orders?...` (its bound
    /// queue), `jsm:orders.created`, `redis:events`.
    pub queue: String,
    /// Where to read it: RabbitMQ's management API (`http://user:password@host:15672`: every
    /// count) or its AMQP port (`amqp://...`: depth, lag and consumers), the NATS server
    /// (`nats://...`), Redis (`redis://...`). A password as `${workflow.secrets.NAME}`.
    pub url: String,
    /// Which count: `depth` (messages held, the default), `lag` (not yet delivered to the
    /// consumer), `unacked` (delivered, not acknowledged) or `consumers`.
    #[serde(default)]
    pub metric: Metric,
    /// The JetStream durable consumer, or the Redis consumer group, whose lag and unacked
    /// messages count (by default vigil's own, which reads the queue for its event handlers and
    /// heartbeats).
    #[serde(default)]
    pub consumer: Option<String>,
    /// RabbitMQ's virtual host, for the management API (default `/`).
    #[serde(default)]
    pub vhost: Option<String>,
    /// Time the reading may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// A queue source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSource {
    queue: String,
    url: String,
    metric: Metric,
    consumer: Option<String>,
    vhost: String,
    timeout: Duration,
}

impl SourceConfig for QueueConfig {
    type Built = QueueSource;

    fn build(self) -> Result<QueueSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let to = Address::parse(&self.queue).map_err(|e| problem("queue", e.to_string()))?;
        let scheme = self.url.split("://").next().unwrap_or_default();
        let reference = self.url.contains("${") && !self.url.contains("://");
        let fits: &[&str] = match &to {
            Address::Amqp(_) => &["http", "https", "amqp", "amqps"],
            Address::Nats(n) if n.jetstream => &["nats"],
            Address::Redis(_) => &["redis"],
            Address::Nats(_) | Address::Mqtt(_) => {
                return Err(problem(
                    "queue",
                    format!(
                        "`{}` keeps no messages, so it has no depth: use a RabbitMQ queue, `jsm:` or `redis:`",
                        self.queue
                    ),
                ));
            }
            Address::Conductor(_) => {
                return Err(problem("queue", "vigil's own queue has no broker to ask".into()));
            }
        };
        if !reference && !fits.contains(&scheme) {
            return Err(problem(
                "url",
                format!(
                    "`{}` is read at a {} URL, got `{scheme}://`",
                    self.queue,
                    fits.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(" or ")
                ),
            ));
        }
        if self.metric == Metric::Unacked && matches!(scheme, "amqp" | "amqps") {
            return Err(problem(
                "metric",
                "RabbitMQ tells unacknowledged messages through its management API only: give its http:// URL".into(),
            ));
        }
        if self.consumer.is_some() && matches!(to, Address::Amqp(_)) {
            return Err(problem(
                "consumer",
                "a RabbitMQ queue's consumers all read the queue itself: leave `consumer` out".into(),
            ));
        }
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(QueueSource {
            queue: self.queue.trim().to_string(),
            url: self.url,
            metric: self.metric,
            consumer: self.consumer,
            vhost: self.vhost.unwrap_or_else(|| "/".into()),
            timeout,
        })
    }
}

impl QueueSource {
    /// The answer for counts `d`: one series, the chosen count as a field of its name.
    fn answer(&self, d: &Depth) -> Answer {
        let metric = self.metric.name();
        let Some(n) = self.metric.of(d) else {
            let whose = self.consumer.as_deref().map_or("vigil's own consumer".to_string(), |c| format!("`{c}`"));
            return Answer::Failed(match self.metric {
                Metric::Lag | Metric::Unacked if self.consumer.is_none() => format!(
                    "`{}` has no {metric} to tell: {whose} does not read it yet (name another in `consumer`)",
                    self.queue
                ),
                _ => format!("the broker does not tell the {metric} of `{}`", self.queue),
            });
        };
        let mut fields = Map::new();
        fields.insert(metric.to_string(), json!(n));
        Answer::Samples(vec![Sample { fields, ..Sample::default() }])
    }
}

impl Ask for QueueSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        if self.url.contains("${") {
            return Answer::Failed(format!("queue: `url` still holds a reference: {}", self.url));
        }
        let reading = measure(&self.url, &self.queue, self.consumer.as_deref(), &self.vhost);
        match tokio::time::timeout(self.timeout, Box::pin(reading)).await {
            Ok(Ok(d)) => self.answer(&d),
            Ok(Err(e)) => Answer::Failed(e.to_string()),
            Err(_) => Answer::Failed(format!("`{}`: no answer within {:?}", self.queue, self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests;
