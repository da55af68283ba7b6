//! A sink's address, parsed: `TYPE:NAME?KEY=VALUE&...` as Conductor writes its event queues.
//!
//! - `amqp_queue:NAME` (also `amqp:NAME`) and `amqp_exchange:NAME`, with Conductor's parameters
//!   (`AMQPSettings.fromURI`): `exchangeType` (`topic`), `routingKey`, `bindQueueName`,
//!   `durable` (true), `exclusive`, `autoDelete`, `deliveryMode` (2: persistent), `maxPriority`;
//! - `nats:SUBJECT[:QUEUE_GROUP]`, core NATS; `jsm:SUBJECT[:QUEUE_GROUP]` (also
//!   `nats_stream:`), JetStream, on the stream named after the subject as Conductor names it
//!   (`.` → `_`, `*` → `ANY`, `>` → `ALL`, upper case), created when missing; `ackWait` (seconds)
//!   bounds how long a consumed message may go unacknowledged;
//! - `mqtt:TOPIC?qos=1&retain=false`;
//! - `redis:STREAM?maxlen=N` (trimmed to about N entries);
//! - `conductor:WORKFLOW:NAME`, vigil's own queue, which event handlers read.

use vigil_core::sink::SinkError;

/// Why a sink's address does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Its type or name (see [`vigil_core::sink`]).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A parameter this type does not take.
    #[error("sink `{sink}`: unknown parameter `{key}` (known: {known})")]
    UnknownParam {
        /// The sink.
        sink: String,
        /// The parameter.
        key: String,
        /// The parameters the type takes.
        known: String,
    },
    /// A parameter's value is not of its type.
    #[error("sink `{sink}`: `{key}` is {what}, not `{value}`")]
    BadValue {
        /// The sink.
        sink: String,
        /// The parameter.
        key: String,
        /// Its value.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A RabbitMQ queue or exchange.
    Amqp(AmqpTarget),
    /// A NATS subject, core or JetStream.
    Nats(NatsTarget),
    /// An MQTT topic.
    Mqtt(MqttTarget),
    /// A Redis stream.
    Redis(RedisTarget),
    /// vigil's own queue (`conductor:WORKFLOW:NAME`), read by event handlers.
    Conductor(String),
}

/// An AMQP queue or exchange, with how it is declared and how messages are sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpTarget {
    /// An exchange (`amqp_exchange:`) rather than a queue.
    pub exchange: bool,
    /// The queue's or exchange's name.
    pub name: String,
    /// The exchange's type.
    pub exchange_type: String,
    /// The routing key an exchange's messages carry.
    pub routing_key: String,
    /// The queue consumers of an exchange read, bound to it with the routing key.
    pub bind_queue: Option<String>,
    /// Declared durable.
    pub durable: bool,
    /// Declared exclusive (a queue).
    pub exclusive: bool,
    /// Declared auto-delete.
    pub auto_delete: bool,
    /// 1: transient, 2: persistent.
    pub delivery_mode: u8,
    /// A queue's `x-max-priority`.
    pub max_priority: Option<u8>,
}

impl AmqpTarget {
    /// The queue consumers read: the queue itself, or the one bound to the exchange
    /// (`bound_to_NAME` unless `bindQueueName` names it, as Conductor's).
    pub fn consumer_queue(&self) -> String {
        match (&self.bind_queue, self.exchange) {
            (_, false) => self.name.clone(),
            (Some(q), true) => q.clone(),
            (None, true) => format!("bound_to_{}", self.name),
        }
    }
}

/// A NATS subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// The subject.
    pub subject: String,
    /// The queue group consumers join.
    pub queue_group: Option<String>,
    /// JetStream (`jsm:`, `nats_stream:`) rather than core NATS.
    pub jetstream: bool,
    /// JetStream: how long a consumed message may go unacknowledged before it is delivered
    /// again (`ackWait`, seconds; 30 by default).
    pub ack_wait: std::time::Duration,
}

impl NatsTarget {
    /// The JetStream stream holding the subject, named after it as Conductor names it.
    pub fn stream(&self) -> String {
        self.subject.replace('.', "_").replace('*', "ANY").replace('>', "ALL").to_uppercase()
    }
}

/// An MQTT topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTarget {
    /// The topic.
    pub topic: String,
    /// 0, 1 (default) or 2.
    pub qos: u8,
    /// Published retained.
    pub retain: bool,
}

/// A Redis stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// The stream's key.
    pub stream: String,
    /// Trimmed to about this many entries (`MAXLEN ~`).
    pub maxlen: Option<u64>,
}

impl Address {
    /// Parses `sink`.
    pub fn parse(sink: &str) -> Result<Address, AddressError> {
        let sink = sink.trim();
        let (kind, rest) = vigil_core::sink::split(sink)?;
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let name = name.trim();
        let params = Params::read(sink, query);
        let empty = || AddressError::Sink(SinkError::Empty(kind.to_string()));
        Ok(match kind {
            "amqp" | "amqp_queue" | "amqp_exchange" => {
                let exchange = kind == "amqp_exchange";
                let known: &[&str] = if exchange {
                    &[
                        "exchangeType",
                        "routingKey",
                        "bindQueueName",
                        "durable",
                        "exclusive",
                        "autoDelete",
                        "deliveryMode",
                    ]
                } else {
                    &["durable", "exclusive", "autoDelete", "deliveryMode", "maxPriority"]
                };
                params.only(known)?;
                if name.is_empty() {
                    return Err(empty());
                }
                let delivery_mode = params.number("deliveryMode", 2, "1 (transient) or 2 (persistent)")?;
                if !matches!(delivery_mode, 1 | 2) {
                    return Err(params.bad("deliveryMode", "1 (transient) or 2 (persistent)"));
                }
                let max_priority = match params.get("maxPriority") {
                    None => None,
                    Some(_) => Some(params.number("maxPriority", 0, "a priority from 1 to 255")?)
                        .filter(|p| (1..=255).contains(p))
                        .map(|p| p as u8)
                        .ok_or_else(|| params.bad("maxPriority", "a priority from 1 to 255"))
                        .map(Some)?,
                };
                let text = |key: &str, default: &str| -> Result<String, AddressError> {
                    match params.get(key) {
                        Some("") => Err(params.bad(key, "not empty")),
                        Some(v) => Ok(v.to_string()),
                        None => Ok(default.to_string()),
                    }
                };
                Address::Amqp(AmqpTarget {
                    exchange,
                    name: name.to_string(),
                    exchange_type: text("exchangeType", "topic")?,
                    routing_key: text("routingKey", "")?,
                    bind_queue: params.get("bindQueueName").filter(|q| !q.is_empty()).map(str::to_string),
                    durable: params.flag("durable", true)?,
                    exclusive: params.flag("exclusive", false)?,
                    auto_delete: params.flag("autoDelete", false)?,
                    delivery_mode: delivery_mode as u8,
                    max_priority,
                })
            }
            "nats" | "jsm" | "nats_stream" => {
                params.only(if kind == "nats" { &[] } else { &["ackWait"] })?;
                let ack_wait = params.number("ackWait", 30, "a number of seconds")?;
                let (subject, group) = match name.split_once(':') {
                    Some((s, g)) => (s.trim(), Some(g.trim().to_string()).filter(|g| !g.is_empty())),
                    None => (name, None),
                };
                if subject.is_empty() {
                    return Err(empty());
                }
                if subject.contains(char::is_whitespace) {
                    return Err(AddressError::BadValue {
                        sink: sink.to_string(),
                        key: "subject".into(),
                        value: subject.into(),
                        what: "a NATS subject without spaces",
                    });
                }
                Address::Nats(NatsTarget {
                    subject: subject.to_string(),
                    queue_group: group,
                    jetstream: kind != "nats",
                    ack_wait: std::time::Duration::from_secs(ack_wait.max(1)),
                })
            }
            "mqtt" => {
                params.only(&["qos", "retain"])?;
                if name.is_empty() {
                    return Err(empty());
                }
                let qos = params.number("qos", 1, "0, 1 or 2")?;
                if qos > 2 {
                    return Err(params.bad("qos", "0, 1 or 2"));
                }
                Address::Mqtt(MqttTarget {
                    topic: name.to_string(),
                    qos: qos as u8,
                    retain: params.flag("retain", false)?,
                })
            }
            "redis" => {
                params.only(&["maxlen"])?;
                if name.is_empty() {
                    return Err(empty());
                }
                let maxlen = match params.get("maxlen") {
                    None => None,
                    Some(_) => Some(params.number("maxlen", 0, "a number of entries")?),
                };
                Address::Redis(RedisTarget { stream: name.to_string(), maxlen })
            }
            _ => Address::Conductor(sink.to_string()),
        })
    }
}

/// A sink's `KEY=VALUE&...` parameters.
struct Params<'a> {
    sink: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Params<'a> {
    fn read(sink: &'a str, query: &'a str) -> Self {
        let pairs = query
            .split('&')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').map_or((p, ""), |(k, v)| (k.trim(), v.trim())))
            .collect();
        Self { sink, pairs }
    }

    fn only(&self, known: &[&str]) -> Result<(), AddressError> {
        match self.pairs.iter().find(|(k, _)| !known.iter().any(|n| n.eq_ignore_ascii_case(k))) {
            Some((key, _)) => Err(AddressError::UnknownParam {
                sink: self.sink.to_string(),
                key: key.to_string(),
                known: if known.is_empty() { "none".into() } else { known.join(", ") },
            }),
            None => Ok(()),
        }
    }

    /// Conductor reads parameter names case-insensitively.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v)
    }

    fn bad(&self, key: &str, what: &'static str) -> AddressError {
        AddressError::BadValue {
            sink: self.sink.to_string(),
            key: key.to_string(),
            value: self.get(key).unwrap_or_default().to_string(),
            what,
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, AddressError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(self.bad(key, "true or false")),
        }
    }

    fn number(&self, key: &str, default: u64, what: &'static str) -> Result<u64, AddressError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| self.bad(key, what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conductor_amqp_addresses_parse_with_their_defaults() {
        let Address::Amqp(q) =
            Address::parse("amqp_queue:myQueue?deliveryMode=1&autoDelete=true&exclusive=true").unwrap()
        else {
            panic!("not amqp")
        };
        assert_eq!((q.exchange, q.name.as_str(), q.delivery_mode), (false, "myQueue", 1));
        assert!(q.auto_delete && q.exclusive && q.durable);
        let Address::Amqp(x) = Address::parse(
            "amqp_exchange:myExchange?bindQueueName=myQueue&exchangeType=topic&routingKey=myRoutingKey&exclusive=true",
        )
        .unwrap() else {
            panic!("not amqp")
        };
        assert!(x.exchange);
        assert_eq!((x.exchange_type.as_str(), x.routing_key.as_str()), ("topic", "myRoutingKey"));
        assert_eq!(x.consumer_queue(), "myQueue");
        let Address::Amqp(plain) = Address::parse("amqp_exchange:alerts").unwrap() else { panic!("not amqp") };
        assert_eq!((plain.exchange_type.as_str(), plain.delivery_mode), ("topic", 2));
        assert_eq!(plain.consumer_queue(), "bound_to_alerts");
    }

    #[test]
    fn nats_subjects_take_a_queue_group_and_name_their_stream_as_conductor() {
        let Address::Nats(n) = Address::parse("jsm:jobs.done.*:workers").unwrap() else { panic!("not nats") };
        assert!(n.jetstream);
        assert_eq!((n.subject.as_str(), n.queue_group.as_deref()), ("jobs.done.*", Some("workers")));
        assert_eq!(n.stream(), "JOBS_DONE_ANY");
        let Address::Nats(core) = Address::parse("nats:heartbeats").unwrap() else { panic!("not nats") };
        assert!(!core.jetstream && core.queue_group.is_none());
    }

    #[test]
    fn a_bad_parameter_is_named() {
        let e = Address::parse("amqp_queue:q?deliveryMode=3").unwrap_err().to_string();
        assert!(e.contains("deliveryMode") && e.contains('3'), "{e}");
        let e = Address::parse("mqtt:devices/1?qos=1&retained=true").unwrap_err().to_string();
        assert!(e.contains("unknown parameter `retained`") && e.contains("retain"), "{e}");
        let e = Address::parse("redis:s?maxlen=many").unwrap_err().to_string();
        assert!(e.contains("maxlen") && e.contains("many"), "{e}");
        assert!(Address::parse("amqp_exchange:x?routingKey=").is_err(), "Conductor refuses an empty routing key");
        let Address::Mqtt(m) = Address::parse("mqtt:devices/+/beat?qos=0&retain=true").unwrap() else {
            panic!("not mqtt")
        };
        assert_eq!((m.qos, m.retain), (0, true));
    }
}
