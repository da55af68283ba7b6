//! The DNS source's settings; answers from a real resolver are in `tests/dns.rs` (dnsmasq).

use serde_json::{Value, json};

use super::*;

fn source(v: Value) -> Result<DnsSource, SourceProblem> {
    serde_json::from_value::<DnsConfig>(v).unwrap().build()
}

#[test]
fn resolvers_are_read_with_their_transport_and_default_port() {
    let transport = |url: &str| source(json!({"url": url, "queryName": "example.org"})).unwrap().transport.unwrap();
    assert_eq!(transport("8.8.8.8"), Transport::Udp("8.8.8.8:53".into()));
    assert_eq!(transport("udp://127.0.0.1:5353"), Transport::Udp("127.0.0.1:5353".into()));
    assert_eq!(transport("2001:db8::53"), Transport::Udp("[2001:db8::53]:53".into()));
    assert_eq!(transport("tcp://[::1]:5353"), Transport::Tcp("[::1]:5353".into()));
    assert!(
        matches!(transport("tls://dns.quad9.net"), Transport::Tls { address, name, .. } if address == "dns.quad9.net:853" && name == "dns.quad9.net")
    );
    assert_eq!(transport("https://dns.google/dns-query"), Transport::Https("https://dns.google/dns-query".into()));
    let ptr = source(json!({"url": "1.1.1.1", "queryName": "192.0.2.10", "queryType": "ptr"})).unwrap();
    assert_eq!((ptr.name.as_str(), ptr.qtype), ("10.2.0.192.in-addr.arpa.", 12));
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "ftp://x", "queryName": "a.org"})), "url");
    assert_eq!(path(json!({"url": "1.1.1.1:dns", "queryName": "a.org"})), "url");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a.org", "queryType": "BOGUS"})), "queryType");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a..org"})), "queryName");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a.org", "caFile": "/x.pem"})), "caFile");
    assert_eq!(
        path(json!({"url": "1.1.1.1", "queryName": "a.org", "conditions": ["[STATUS] == 200"]})),
        "conditions[0]"
    );
    assert_eq!(
        path(json!({"url": "1.1.1.1", "queryName": "a.org", "conditions": ["[DNS_CODE] == NOERROR"]})),
        "conditions[0]"
    );
    assert!(source(json!({"url": "${env.RESOLVER}", "queryName": "a.org"})).unwrap().transport.is_err());
}
