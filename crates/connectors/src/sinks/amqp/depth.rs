//! A RabbitMQ queue's depth: from the management API (`GET /api/queues/{vhost}/{name}`, all four
//! counts; RabbitMQ refreshes them every 5 s), or from a passive declaration over AMQP (ready
//! messages and consumers only).

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde_json::Value;

use super::super::queue_counts::Depth;
use super::super::{PublishError, without_password};
use super::AmqpClient;

/// The counts of `queue` in `vhost` from the management API at `url`
/// (`http://user:password@host:15672`).
pub(crate) async fn by_management(url: &str, vhost: &str, queue: &str) -> Result<Depth, PublishError> {
    let mut base = reqwest::Url::parse(url)
        .map_err(|e| PublishError::Broker(format!("the management API's URL is malformed: {e}")))?;
    let user = super::super::guard::percent_decode(base.username());
    let password = base.password().map(super::super::guard::percent_decode);
    let _ = base.set_username("");
    let _ = base.set_password(None);
    base.path_segments_mut()
        .map_err(|()| PublishError::Broker("the management API's URL cannot take a path".into()))?
        .pop_if_empty()
        .extend(["api", "queues", vhost, queue]);
    let mut request = crate::http_client().get(base.clone()).timeout(std::time::Duration::from_secs(10));
    if !user.is_empty() {
        request = request.basic_auth(user, password);
    }
    let failed = |e: String| PublishError::Broker(without_password(&format!("RabbitMQ's management API: {e}"), url));
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    match response.status().as_u16() {
        200 => {}
        404 => return Err(PublishError::Broker(format!("RabbitMQ has no queue `{queue}` in virtual host `{vhost}`"))),
        401 => return Err(failed("the user and password were refused (401)".into())),
        code => return Err(failed(format!("answered {code}"))),
    }
    let body: Value = response.json().await.map_err(|e| failed(format!("the answer does not read: {e}")))?;
    Ok(of_management(&body))
}

/// The counts in a management API queue object.
pub(crate) fn of_management(body: &Value) -> Depth {
    let n = |key: &str| body.get(key).and_then(Value::as_u64);
    Depth {
        depth: n("messages"),
        lag: n("messages_ready"),
        unacked: n("messages_unacknowledged"),
        consumers: n("consumers"),
    }
}

/// The ready messages and consumers of `queue`, declared passively over AMQP at `url` (the
/// queue is not created when missing).
pub(crate) async fn by_declaring(url: &str, queue: &str) -> Result<Depth, PublishError> {
    let client = AmqpClient::connect(url).await?;
    let options = QueueDeclareOptions { passive: true, ..Default::default() };
    let declared = client.channel().queue_declare(queue, options, FieldTable::default()).await;
    let _ = client.close().await;
    let declared = declared.map_err(|e| match e.to_string() {
        text if text.contains("NOT_FOUND") => PublishError::Broker(format!("RabbitMQ has no queue `{queue}`")),
        _ => client.failed(&format!("reading queue `{queue}`"), e),
    })?;
    let ready = u64::from(declared.message_count());
    Ok(Depth {
        depth: Some(ready),
        lag: Some(ready),
        unacked: None,
        consumers: Some(u64::from(declared.consumer_count())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_management_apis_counts_are_read_by_name() {
        let body = serde_json::json!({"name": "jobs", "messages": 12, "messages_ready": 10,
            "messages_unacknowledged": 2, "consumers": 1, "message_stats": {}});
        assert_eq!(
            of_management(&body),
            Depth { depth: Some(12), lag: Some(10), unacked: Some(2), consumers: Some(1) }
        );
        assert_eq!(of_management(&serde_json::json!({"name": "new"})), Depth::default(), "not yet counted");
    }
}
