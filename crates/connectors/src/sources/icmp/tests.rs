//! The ICMP source against loopback (IPv4 and IPv6); a host that stops answering is in
//! `tests/icmp.rs` (it needs a network namespace).

use serde_json::{Value, json};
use vigil_core::alert::Tier;

use super::*;
use crate::sources::testing::verdict;

fn source(v: Value) -> Result<IcmpSource, SourceProblem> {
    serde_json::from_value::<IcmpConfig>(v).unwrap().build()
}

/// Whether this machine lets the tests ping at all (an unprivileged or a raw socket).
fn can_ping() -> bool {
    match open(false) {
        Ok(_) => true,
        Err(why) => {
            let required = std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(!required, "VIGIL_REQUIRE_SERVICES=1 but {why}");
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

#[tokio::test]
async fn loopback_answers_on_both_families_with_figures() {
    if !can_ping() {
        return;
    }
    let client = crate::http_client();
    for host in ["icmp://127.0.0.1", "::1", "localhost"] {
        let check = source(json!({"url": host, "count": 3, "interval": "20ms",
            "conditions": ["[CONNECTED] == true", "[RESPONSE_TIME] < 1000", "[BODY].packet_loss == 0", "[BODY].received == 3"]}))
        .unwrap();
        let (tier, note, fields) = verdict(check.ask(&client, 0).await);
        assert_eq!((tier, note), (Tier::Ok, None), "{host}: {fields:?}");
        let body = &fields["body"];
        assert!(body["rtt_min"].as_f64().unwrap() <= body["rtt_max"].as_f64().unwrap(), "{body}");
    }
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "icmp://db:5432"})), "url");
    assert_eq!(path(json!({"url": "10.0.0.1:22"})), "url");
    assert_eq!(path(json!({"url": "http://db/x"})), "url");
    assert_eq!(path(json!({"url": "db", "count": 0})), "count");
    assert_eq!(path(json!({"url": "db", "ip": "v5"})), "ip");
    assert_eq!(path(json!({"url": "db", "interval": "often"})), "interval");
    assert_eq!(path(json!({"url": "db", "conditions": ["[STATUS] == 200"]})), "conditions[0]");
    assert!(source(json!({"url": "icmp://${env.HOST}"})).unwrap().host.is_err());
    assert_eq!(source(json!({"url": "icmp://[::1]"})).unwrap().host, Ok("::1".to_string()));
    assert_eq!(source(json!({"url": "fe80::1"})).unwrap().host, Ok("fe80::1".to_string()));
}

#[tokio::test]
async fn checks_on_a_sharing_thread_ping_through_one_socket_per_family() {
    if !can_ping() {
        return;
    }
    crate::sources::shared_socket::share_on_this_thread();
    let client = crate::http_client();
    let checks: Vec<IcmpSource> = (0..30)
        .map(|n| {
            let host = ["127.0.0.1", "::1", "localhost"][n % 3];
            source(json!({"url": host, "count": 2, "interval": "10ms"})).unwrap()
        })
        .collect();
    let answers = futures_util::future::join_all(checks.iter().map(|c| c.ask(&client, 0))).await;
    for answer in answers {
        let (tier, note, fields) = verdict(answer);
        assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
        assert_eq!(fields["body"]["received"], json!(2), "{fields:?}");
    }
    KEPT.with(|kept| {
        for pinger in kept.borrow().iter() {
            let pinger = pinger.as_ref().expect("one pinger kept per family");
            assert_eq!((pinger.shared.claimed(), Arc::strong_count(&pinger.shared)), (0, 1));
        }
    });
}

#[tokio::test]
async fn a_raw_socket_is_handed_only_the_replies_to_its_own_id() {
    for v6 in [false, true] {
        let (domain, protocol, to) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6, SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)))
        } else {
            (Domain::IPV4, Protocol::ICMPV4, SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)))
        };
        let Ok(socket) = Socket::new(domain, Type::RAW, Some(protocol)) else {
            let required = std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(!required, "VIGIL_REQUIRE_SERVICES=1 but no raw ICMP socket opens (root or CAP_NET_RAW)");
            return eprintln!("SKIPPED: no raw ICMP socket (root or CAP_NET_RAW)");
        };
        keep_only_replies(&socket, v6, 7);
        socket.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        // Another id first: its request (looped back) and its reply must both be dropped.
        for id in [8u16, 7] {
            socket.send_to(&packet::echo_request(v6, id, 1), &to.into()).unwrap();
        }
        let mut datagram = [0u8; 1500];
        let n = std::io::Read::read(&mut &socket, &mut datagram).unwrap();
        assert_eq!(packet::echo_reply(&datagram[..n], v6, true), Some((7, 1)), "v6 {v6}: {:?}", &datagram[..n]);
    }
}
