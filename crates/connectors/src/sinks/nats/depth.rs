//! A JetStream stream's depth and a durable consumer's lag, from JetStream's API
//! (`STREAM.INFO`, `CONSUMER.INFO`).

use serde_json::{Value, json};

use super::super::PublishError;
use super::super::address::NatsTarget;
use super::super::queue_counts::Depth;
use super::NatsClient;

/// The counts of `to`'s stream and of its consumer `consumer` (vigil's name for its own
/// consumer unless `named`: vigil's consumer may not exist yet, a named one must).
pub(crate) async fn measure(url: &str, to: &NatsTarget, consumer: &str, named: bool) -> Result<Depth, PublishError> {
    let client = NatsClient::connect(url).await?;
    let stream = to.stream();
    let info = client.api(&format!("STREAM.INFO.{stream}"), &json!({})).await?;
    if let Some(err) = info.get("error") {
        return Err(PublishError::Broker(format!("JetStream stream `{stream}`: {}", super::describe(err))));
    }
    let durable = if named { consumer.to_string() } else { super::consumer::jetstream_durable(consumer) };
    let of_consumer = client.api(&format!("CONSUMER.INFO.{stream}.{durable}"), &json!({})).await?;
    let of_consumer = match of_consumer.get("error") {
        None => Some(of_consumer),
        Some(err) if !named && err.get("code").and_then(Value::as_u64) == Some(404) => None,
        Some(err) => {
            return Err(PublishError::Broker(format!(
                "JetStream consumer `{durable}` of stream `{stream}`: {}",
                super::describe(err)
            )));
        }
    };
    Ok(of_info(&info, of_consumer.as_ref()))
}

/// The counts in a stream's info and a consumer's.
pub(crate) fn of_info(stream: &Value, consumer: Option<&Value>) -> Depth {
    let n = |v: &Value, path: &[&str]| path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_u64);
    Depth {
        depth: n(stream, &["state", "messages"]),
        lag: consumer.and_then(|c| n(c, &["num_pending"])),
        unacked: consumer.and_then(|c| n(c, &["num_ack_pending"])),
        consumers: n(stream, &["state", "consumer_count"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_and_its_consumer_are_read_by_name() {
        let stream = json!({"config": {"name": "JOBS"}, "state": {"messages": 40, "consumer_count": 2}});
        let consumer = json!({"name": "c", "num_pending": 7, "num_ack_pending": 3, "num_redelivered": 0});
        let both = of_info(&stream, Some(&consumer));
        assert_eq!(both, Depth { depth: Some(40), lag: Some(7), unacked: Some(3), consumers: Some(2) });
        assert_eq!(of_info(&stream, None).lag, None, "no consumer: no lag");
    }
}
