//! A Redis stream's length and a consumer group's lag (`XLEN`, `XINFO GROUPS`).

use super::super::PublishError;
use super::super::address::RedisTarget;
use super::super::queue_counts::Depth;
use super::RedisClient;
use super::resp::Reply;

/// The counts of `to`'s stream and of consumer group `group` (by default vigil's, `vigil`, which
/// may not exist yet; a named one must).
pub(crate) async fn measure(url: &str, to: &RedisTarget, group: Option<&str>) -> Result<Depth, PublishError> {
    let client = RedisClient::connect(url).await?;
    let length = match client.call(&[b"XLEN", to.stream.as_bytes()]).await? {
        Reply::Integer(n) => n.max(0) as u64,
        other => return Err(PublishError::Broker(format!("Redis answered XLEN with {other:?}"))),
    };
    let name = group.unwrap_or(super::consumer::GROUP);
    let groups = match client.call(&[b"XINFO", b"GROUPS", to.stream.as_bytes()]).await {
        Ok(reply) => reply,
        // A stream that does not exist has no groups (XLEN counted it as empty).
        Err(e) if e.to_string().contains("no such key") => Reply::Array(Some(Vec::new())),
        Err(e) => return Err(e),
    };
    let found = of_group(&groups, name);
    if found.is_none() && group.is_some() {
        return Err(PublishError::Broker(format!("Redis stream `{}` has no consumer group `{name}`", to.stream)));
    }
    let (lag, unacked, consumers) = found.unwrap_or_default();
    Ok(Depth { depth: Some(length), lag, unacked, consumers })
}

/// Group `name`'s lag, pending entries and consumers in an `XINFO GROUPS` reply (each group a
/// flat list of names and values; `lag` is nil when Redis cannot tell it, and absent before 7.0).
pub(crate) fn of_group(reply: &Reply, name: &str) -> Option<(Option<u64>, Option<u64>, Option<u64>)> {
    let Reply::Array(Some(groups)) = reply else { return None };
    groups.iter().find_map(|g| {
        let Reply::Array(Some(fields)) = g else { return None };
        let value =
            |key: &str| fields.chunks(2).find(|kv| kv[0].text().as_deref() == Some(key)).and_then(|kv| kv.get(1));
        if value("name")?.text()? != name {
            return None;
        }
        let n = |key: &str| match value(key) {
            Some(Reply::Integer(n)) => Some((*n).max(0) as u64),
            _ => None,
        };
        Some((n("lag"), n("pending"), n("consumers")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Reply {
        Reply::Bulk(Some(s.as_bytes().to_vec()))
    }

    #[test]
    fn a_groups_counts_are_read_by_name() {
        let group = |name: &str, lag: Reply| {
            Reply::Array(Some(vec![
                text("name"),
                text(name),
                text("consumers"),
                Reply::Integer(2),
                text("pending"),
                Reply::Integer(5),
                text("last-delivered-id"),
                text("0-0"),
                text("lag"),
                lag,
            ]))
        };
        let reply = Reply::Array(Some(vec![group("other", Reply::Integer(1)), group("vigil", Reply::Integer(9))]));
        assert_eq!(of_group(&reply, "vigil"), Some((Some(9), Some(5), Some(2))));
        let unknown = Reply::Array(Some(vec![group("vigil", Reply::Bulk(None))]));
        assert_eq!(of_group(&unknown, "vigil"), Some((None, Some(5), Some(2))), "Redis cannot tell the lag");
        assert_eq!(of_group(&reply, "none"), None);
    }
}
