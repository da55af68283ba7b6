//! Addresses of sources that open their own sockets (`tcp`, `udp`): `scheme://host:port` or
//! `host:port`, IPv6 in brackets.

use super::SourceProblem;

/// A source's `url` read once: its `host:port`, or why not yet (it still holds a `${...}`
/// reference, taken on trust until run time); a problem at `url` when it is no address at all.
pub fn read(url: &str, scheme: &str) -> Result<Result<String, String>, SourceProblem> {
    let kind = scheme.trim_end_matches("://");
    match host_port(url, scheme) {
        Some(address) => Ok(Ok(address)),
        None if url.contains("${") => Ok(Err(format!("{kind}: `url` still holds a reference: {url}"))),
        None => Err(SourceProblem {
            path: "url".into(),
            message: format!("`{url}` is not an address: write {scheme}host:port"),
        }),
    }
}

/// `host:port` of `scheme://host:port` (or `host:port`), when the port reads and the host is
/// plain (no path, user or `${...}` reference left).
pub fn host_port(url: &str, scheme: &str) -> Option<String> {
    let rest = url.strip_prefix(scheme).unwrap_or(url);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':')?;
    let plain = !host.is_empty() && !host.contains(['/', '$', ' ', '@']);
    (plain && port.parse::<u16>().is_ok_and(|p| p > 0)).then(|| rest.to_string())
}

/// The host of `host:port` (an IPv6 address without its brackets).
pub fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}
