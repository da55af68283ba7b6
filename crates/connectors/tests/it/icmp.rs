//! The ICMP source against a host that stops answering: a network namespace of its own behind a
//! veth pair, which answers pings until it is told to ignore them
//! (`net.ipv4.icmp_echo_ignore_all`). And without `CAP_NET_RAW`: this test binary run again in a
//! namespace of its own, where `net.ipv4.ping_group_range` allows unprivileged ICMP sockets or
//! not, by `setpriv` with `CAP_NET_RAW` out of its bounding set. They need root, iproute2 and
//! util-linux; without them they are skipped with a message, unless `VIGIL_REQUIRE_SERVICES=1`
//! (CI).

use std::process::Command;

use serde_json::{Value, json};
use vigil_connectors::sources::icmp::IcmpConfig;
use vigil_connectors::sources::{Ask, SourceConfig};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::Answer;

fn skip(msg: &str) {
    assert!(
        std::env::var("VIGIL_REQUIRE_SERVICES").map(|v| v != "1").unwrap_or(true),
        "VIGIL_REQUIRE_SERVICES=1 but {msg}"
    );
    eprintln!("SKIPPED: {msg}");
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    out.status
        .success()
        .then_some(())
        .ok_or_else(|| format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)))
}

/// A host of its own: a network namespace at the far end of a veth pair; gone when dropped.
struct Host {
    namespace: String,
    address: String,
}

impl Host {
    fn start() -> Result<Host, String> {
        let pid = std::process::id();
        let namespace = format!("vigil-icmp-{pid}");
        let (near, far) = (format!("vi{}a", pid % 100_000), format!("vi{}b", pid % 100_000));
        let net = pid % 250;
        ip(&["netns", "add", &namespace])?;
        let host = Host { namespace: namespace.clone(), address: format!("10.213.{net}.2") };
        ip(&["link", "add", &near, "type", "veth", "peer", "name", &far, "netns", &namespace])?;
        ip(&["addr", "add", &format!("10.213.{net}.1/30"), "dev", &near])?;
        ip(&["link", "set", &near, "up"])?;
        ip(&["netns", "exec", &namespace, "ip", "addr", "add", &format!("{}/30", host.address), "dev", &far])?;
        ip(&["netns", "exec", &namespace, "ip", "link", "set", &far, "up"])?;
        Ok(host)
    }

    /// From now on the host ignores echo requests.
    fn go_quiet(&self) -> Result<(), String> {
        ip(&["netns", "exec", &self.namespace, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"])
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = ip(&["netns", "del", &self.namespace]);
    }
}

fn verdict(answer: Answer) -> (Tier, Option<String>, serde_json::Map<String, Value>) {
    match answer {
        Answer::Samples(mut s) => {
            let s = s.remove(0);
            (s.tier.unwrap(), s.note, s.fields)
        }
        Answer::Failed(e) => panic!("failed: {e}"),
    }
}

#[tokio::test]
async fn a_host_that_stops_answering_loses_every_packet() {
    let host = match Host::start() {
        Ok(h) => h,
        Err(why) => return skip(&format!("no network namespace for a host of its own ({why})")),
    };
    let client = vigil_connectors::http_client();
    let check = |extra: Value| {
        let mut config = json!({"url": format!("icmp://{}", host.address), "count": 2, "interval": "20ms", "timeout": "500ms", "failing": "warning"});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<IcmpConfig>(config).unwrap().build().unwrap()
    };
    let (tier, note, fields) = verdict(check(json!({})).ask(&client, 0).await);
    assert_eq!((tier, note), (Tier::Ok, None), "the host answers at first: {fields:?}");
    assert_eq!(fields["body"]["received"], json!(2));

    host.go_quiet().unwrap();
    let (tier, note, fields) = verdict(check(json!({})).ask(&client, 0).await);
    assert_eq!((tier, &fields["connected"]), (Tier::Warning, &json!(false)));
    assert_eq!((&fields["body"]["packet_loss"], &fields["body"]["rtt_avg"]), (&json!(100.0), &Value::Null));
    assert!(note.unwrap().contains("no reply to 2 echo requests"));
    let down_wanted = check(json!({"conditions": ["[CONNECTED] == false"]}));
    assert_eq!(verdict(down_wanted.ask(&client, 0).await).0, Tier::Ok);
}

/// A network namespace with loopback up and `net.ipv4.ping_group_range` (a namespace's own) set
/// to `range`; gone when dropped.
struct Namespace(String);

impl Namespace {
    fn start(tag: &str, range: &str) -> Result<Namespace, String> {
        let name = format!("vigil-{tag}-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let namespace = Namespace(name.clone());
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"])?;
        ip(&["netns", "exec", &name, "sysctl", "-qw", &format!("net.ipv4.ping_group_range={range}")])?;
        Ok(namespace)
    }

    /// Runs [`without_cap_net_raw`] in the namespace without `CAP_NET_RAW`, expecting `expect`:
    /// its output when it fails.
    fn run_without_cap_net_raw(&self, expect: &str) -> Result<(), String> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "setpriv", "--bounding-set", "-net_raw"])
            .arg(me)
            .args(["--exact", "icmp::without_cap_net_raw", "--ignored", "--nocapture"])
            .env("VIGIL_ICMP_EXPECT", expect)
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success() && text.contains("1 passed")).then_some(()).ok_or(text)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.0]);
    }
}

#[test]
fn without_cap_net_raw_a_ping_takes_an_unprivileged_socket_or_says_what_is_missing() {
    if Command::new("setpriv").arg("--version").output().is_err() {
        return skip("setpriv (util-linux) is not installed");
    }
    let allowed = match Namespace::start("ping-allowed", "0 2147483647") {
        Ok(n) => n,
        Err(why) => return skip(&format!("no network namespace of its own ({why})")),
    };
    allowed.run_without_cap_net_raw("replies").unwrap_or_else(|out| panic!("ping_group_range allows it:\n{out}"));
    let refused = Namespace::start("ping-refused", "1 0").unwrap();
    refused.run_without_cap_net_raw("what is missing").unwrap_or_else(|out| panic!("neither socket opens:\n{out}"));
}

/// Run by the test above, in a namespace of its own and without `CAP_NET_RAW`: pings loopback
/// (IPv4, IPv6) and finds what `VIGIL_ICMP_EXPECT` says.
#[tokio::test]
#[ignore = "run by without_cap_net_raw_a_ping_takes_an_unprivileged_socket_or_says_what_is_missing"]
async fn without_cap_net_raw() {
    let expect = std::env::var("VIGIL_ICMP_EXPECT").expect("run by the test above");
    let raw = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::RAW, Some(socket2::Protocol::ICMPV4));
    assert!(raw.is_err(), "a raw socket opened: CAP_NET_RAW is still there");
    let client = vigil_connectors::http_client();
    for host in ["127.0.0.1", "::1"] {
        let check = serde_json::from_value::<IcmpConfig>(json!({"url": host, "count": 2, "interval": "10ms"}))
            .unwrap()
            .build()
            .unwrap();
        let (tier, note, fields) = verdict(check.ask(&client, 0).await);
        if expect == "replies" {
            assert_eq!((tier, note), (Tier::Ok, None), "{host}: {fields:?}");
            assert_eq!(fields["body"]["received"], json!(2), "{host}: {fields:?}");
        } else {
            let note = note.unwrap_or_default();
            assert_eq!(tier, Tier::Critical, "{host}: {fields:?}");
            assert!(
                note.contains("no unprivileged ICMP socket")
                    && note.contains("ping_group_range is `1 0`")
                    && note.contains("CAP_NET_RAW"),
                "{note}"
            );
        }
    }
}
