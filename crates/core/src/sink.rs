//! Sinks: where an EVENT task, a status listener or a queue notifier publishes, written as
//! Conductor writes an event queue, `TYPE:REST` (`amqp_queue:orders`, `nats:jobs.done`,
//! `conductor`). This module knows the types and Conductor's naming of its own queue; the
//! connectors parse the rest of each type's address and publish.

/// The sink types, as written before the first `:`.
pub const SINK_TYPES: &[&str] =
    &["amqp_queue", "amqp_exchange", "amqp", "nats", "jsm", "nats_stream", "mqtt", "redis", "conductor"];

/// Why a sink cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// It names no type vigil publishes to.
    #[error("sink `{0}` names no known type: write TYPE:NAME with TYPE one of {types}", types = SINK_TYPES.join(", "))]
    UnknownType(String),
    /// It has a type but no queue, subject, topic or stream.
    #[error("sink `{0}` names no queue: write {0}:NAME")]
    Empty(String),
    /// `conductor` followed by something other than `:`.
    #[error("sink `{0}` is not Conductor's queue: write `conductor` or `conductor:NAME`")]
    Conductor(String),
}

/// Splits `sink` into its type and the rest, checking the type and that the rest is not empty
/// (`conductor` alone is whole).
pub fn split(sink: &str) -> Result<(&str, &str), SinkError> {
    let sink = sink.trim();
    if sink == "conductor" {
        return Ok(("conductor", ""));
    }
    let Some((kind, rest)) = sink.split_once(':') else {
        if sink.starts_with("conductor") {
            return Err(SinkError::Conductor(sink.to_string()));
        }
        return Err(SinkError::UnknownType(sink.to_string()));
    };
    if !SINK_TYPES.contains(&kind) {
        if kind.starts_with("conductor") {
            return Err(SinkError::Conductor(sink.to_string()));
        }
        return Err(SinkError::UnknownType(sink.to_string()));
    }
    if rest.trim().is_empty() {
        return Err(SinkError::Empty(kind.to_string()));
    }
    Ok((kind, rest))
}

/// Whether `sink` is vigil's own queue (`conductor`, `conductor:...`), which has no broker.
pub fn is_own_queue(sink: &str) -> bool {
    matches!(split(sink), Ok(("conductor", _)))
}

/// The queue an EVENT task of workflow `workflow`, reference `reference`, publishes to, as
/// Conductor names it: `conductor` is `conductor:WORKFLOW:REFERENCE`, `conductor:NAME` is
/// `conductor:WORKFLOW:NAME`, any other sink is itself.
pub fn event_queue(sink: &str, workflow: &str, reference: &str) -> Result<String, SinkError> {
    let sink = sink.trim();
    let (kind, rest) = split(sink)?;
    Ok(match kind {
        "conductor" if rest.is_empty() => format!("conductor:{workflow}:{reference}"),
        "conductor" => format!("conductor:{workflow}:{rest}"),
        _ => sink.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conductor_names_its_own_queue_after_the_workflow() {
        assert_eq!(event_queue("conductor", "wf", "ev").unwrap(), "conductor:wf:ev");
        assert_eq!(event_queue("conductor:q1", "wf", "ev").unwrap(), "conductor:wf:q1");
        assert_eq!(event_queue("amqp_queue:orders", "wf", "ev").unwrap(), "amqp_queue:orders");
        assert_eq!(event_queue("conductorx", "wf", "ev"), Err(SinkError::Conductor("conductorx".into())));
        assert!(is_own_queue("conductor") && is_own_queue(" conductor:wf:ev"));
        assert!(!is_own_queue("conductorx:q") && !is_own_queue("nats:conductor"));
    }

    #[test]
    fn a_sink_has_a_known_type_and_a_name() {
        assert_eq!(split("nats:jobs.done").unwrap(), ("nats", "jobs.done"));
        assert_eq!(split("sqs:q"), Err(SinkError::UnknownType("sqs:q".into())));
        assert_eq!(split("orders"), Err(SinkError::UnknownType("orders".into())));
        assert_eq!(split("mqtt:"), Err(SinkError::Empty("mqtt".into())));
        let message = split("kafka:t").unwrap_err().to_string();
        assert!(message.contains("amqp_queue") && message.contains("redis"), "{message}");
    }
}
