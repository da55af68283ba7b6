//! Where a workflow's calls and checks may go, decided when their addresses are resolved, not
//! when a definition is stored: `${workflow.input.u}` is only an address once the instance runs.
//!
//! The rule (docs/reliability.md, "Where calls and checks may go"):
//! - A browser visit opens `http://` and `https://` pages only, whoever wrote it: no `file:`,
//!   `data:`, `chrome:` or other scheme, by a step or by a redirect ([`browsable`]).
//! - An address written with less than an admin's authority ([`Reach::Guarded`]: a `write` token,
//!   a team's editor, data handed in by whoever started the run) never reaches vigil's own listen
//!   addresses, and sends no bytes of its own (a TCP, UDP or WebSocket `body`) to this host's
//!   addresses, unless the operator allowed that target (`vigil serve --probe-allow HOST:PORT`).
//!
//! The config directory and admin tokens reach anywhere ([`Reach::Anywhere`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::RwLock;

use serde_json::Value;
use vigil_core::principal::Reach;

use crate::public_address::AddressError;
use vigil_core::source_kind::SourceKind;

/// What bounds guarded calls on this node: its own listen addresses, and the targets the operator
/// allowed (`host:port`).
#[derive(Debug, Default)]
struct Bounds {
    own: Vec<SocketAddr>,
    allowed: Vec<String>,
}

static BOUNDS: RwLock<Bounds> = RwLock::new(Bounds { own: Vec::new(), allowed: Vec::new() });

/// Sets this node's own listen addresses and the probe targets its operator allowed (`host:port`,
/// as `--probe-allow` gives them). `vigil serve` calls it once it listens.
pub fn configure(own: Vec<SocketAddr>, allowed: Vec<String>) {
    *BOUNDS.write().expect("lock") = Bounds { own, allowed };
}

/// One address a call reaches: its URL as resolved, the port its scheme implies when it gives
/// none, and whether the call sends bytes of its own there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL or `host:port`, resolved.
    pub url: String,
    /// The port when the URL gives none (0: none known).
    pub default_port: u16,
    /// Whether the call sends a body the definition wrote (not just its protocol's greeting).
    pub sends_bytes: bool,
}

/// The addresses a query task of `kind` with settings `config` (resolved) reaches.
pub fn targets(kind: SourceKind, config: &Value) -> Vec<Target> {
    let text = |key: &str| config.get(key).and_then(Value::as_str);
    let has = |key: &str| config.get(key).is_some_and(|v| !v.is_null());
    let (default_port, sends_bytes) = match kind {
        SourceKind::Tcp => (0, has("body")),
        SourceKind::Udp => (0, has("body") || has("bodyHex") || has("body_hex")),
        SourceKind::Websocket => (0, has("body")),
        SourceKind::Dns => (53, false),
        SourceKind::Ssh => (22, false),
        // A database is reached through a connection an admin declared (a URL typed in needs a
        // trusted authority already).
        SourceKind::Sql => return Vec::new(),
        _ => (0, false),
    };
    let mut found: Vec<Target> = ["url", "host"]
        .into_iter()
        .filter_map(text)
        .map(|url| Target { url: url.into(), default_port, sends_bytes })
        .collect();
    if kind == SourceKind::Browser {
        let gotos = config.get("steps").and_then(Value::as_array).into_iter().flatten();
        found.extend(gotos.filter_map(|s| s.get("goto")?.as_str()).map(|url| Target {
            url: url.into(),
            default_port: 0,
            sends_bytes: false,
        }));
    }
    found
}

/// Refuses the first of `targets` a call of `reach` may not go to, saying why.
pub async fn check(reach: Reach, targets: &[Target]) -> Result<(), String> {
    if reach == Reach::Anywhere {
        return Ok(());
    }
    for target in targets {
        check_one(target).await?;
    }
    Ok(())
}

/// Refuses `url` (resolved) when a guarded call may not go there: vigil's own listen addresses.
pub async fn check_url(reach: Reach, url: &str) -> Result<(), String> {
    check(reach, &[Target { url: url.into(), default_port: 0, sends_bytes: false }]).await
}

async fn check_one(target: &Target) -> Result<(), String> {
    let Some((host, port)) = host_and_port(&target.url, target.default_port) else { return Ok(()) };
    // A name that does not resolve reaches nothing: the call itself fails and says so.
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => addrs.collect(),
            Err(_) => return Ok(()),
        },
    };
    let bounds = BOUNDS.read().expect("lock");
    let allowed = |addr: &SocketAddr| {
        let named = format!("{host}:{port}");
        bounds.allowed.iter().any(|a| a.eq_ignore_ascii_case(&named) || a.parse::<SocketAddr>().ok() == Some(*addr))
    };
    for addr in &addrs {
        if is_own(*addr, &bounds.own) && !allowed(addr) {
            return Err(format!(
                "`{host}:{port}` is vigil's own listen address; only the config directory and admins may call it"
            ));
        }
        if target.sends_bytes && is_this_host(addr.ip()) && !allowed(addr) {
            return Err(format!(
                "`{host}:{port}` is on vigil's own host; only the config directory and admins may send it a `body` \
                 unless the operator allows the target (`vigil serve --probe-allow {host}:{port}`)"
            ));
        }
    }
    Ok(())
}

/// Most redirects a call follows.
const MOST_REDIRECTS: usize = 10;

/// How a call of `reach` follows redirects: up to 10, and for a guarded call none to where it may
/// not go itself (vigil's own listen addresses), so a server that answers `302 Location:
/// http://127.0.0.1:<vigil's port>/...` does not carry a call there.
pub fn redirect_policy(reach: Reach) -> reqwest::redirect::Policy {
    match reach {
        Reach::Anywhere => reqwest::redirect::Policy::limited(MOST_REDIRECTS),
        Reach::Guarded => reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MOST_REDIRECTS {
                return attempt.error(format!("more than {MOST_REDIRECTS} redirects"));
            }
            match hop_refused(attempt.url()) {
                Some(why) => attempt.error(why),
                None => attempt.follow(),
            }
        }),
    }
}

/// Why a guarded call may not be redirected to `url`, if it may not. The name is resolved where
/// the redirect is decided (reqwest's policy is not async); only guarded calls pay for it.
fn hop_refused(url: &reqwest::Url) -> Option<String> {
    let (host, port) = host_and_port(url.as_str(), 0)?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect).unwrap_or_default()
        }
    };
    let bounds = BOUNDS.read().expect("lock");
    let named = format!("{host}:{port}");
    let allowed = |addr: &SocketAddr| {
        bounds.allowed.iter().any(|a| a.eq_ignore_ascii_case(&named) || a.parse::<SocketAddr>().ok() == Some(*addr))
    };
    addrs.iter().find(|a| is_own(**a, &bounds.own) && !allowed(a)).map(|_| {
        format!("redirected to `{host}:{port}`, vigil's own listen address; only the config directory and admins may call it")
    })
}

/// The addresses an `http(s)` webhook that anyone may subscribe (a status page's form with
/// `webhook_form: any`) reaches, all allowed: none on loopback, link-local or unspecified, and
/// none of vigil's own listen addresses, unless the operator allowed the target
/// (`--probe-allow`). The name is resolved once; send to these addresses only
/// ([`crate::public_address::pinned_client`]), so a name that resolves elsewhere a moment later
/// reaches nothing else.
pub async fn resolve_outward(url: &reqwest::Url) -> Result<Vec<SocketAddr>, AddressError> {
    let (host, port, addrs) = crate::public_address::resolve(url).await?;
    let bounds = BOUNDS.read().expect("lock");
    let target = format!("{host}:{port}");
    for addr in &addrs {
        let ip = local_form(addr.ip());
        let inward = ip.is_loopback() || link_local(ip) || is_own(*addr, &bounds.own);
        let allowed = bounds
            .allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&target) || a.parse::<SocketAddr>().ok() == Some(*addr));
        if inward && !allowed {
            return Err(AddressError::Inward { host, ip: addr.ip(), target });
        }
    }
    Ok(addrs)
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The host and port a URL or `host:port` names (`default_port` when it names none).
fn host_and_port(url: &str, default_port: u16) -> Option<(String, u16)> {
    let parsed = if url.contains("://") {
        reqwest::Url::parse(url).ok()?
    } else {
        reqwest::Url::parse(&format!("probe://{url}")).ok()?
    };
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = parsed.port_or_known_default().or(Some(default_port).filter(|p| *p > 0)).unwrap_or(0);
    Some((host, port))
}

/// Whether a connection to `addr` reaches one of `own` (listen addresses; an unspecified one
/// listens on every address of this host).
fn is_own(addr: SocketAddr, own: &[SocketAddr]) -> bool {
    let ip = local_form(addr.ip());
    own.iter()
        .any(|o| o.port() == addr.port() && (local_form(o.ip()) == ip || (o.ip().is_unspecified() && is_this_host(ip))))
}

/// `ip` as a connection sees it: the unspecified address reaches this host's loopback, and an
/// IPv4-mapped address is its IPv4 one.
fn local_form(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is an address of this host: loopback, unspecified, or one an interface holds
/// (binding a socket to it succeeds only then).
pub fn is_this_host(ip: IpAddr) -> bool {
    let ip = local_form(ip);
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Refuses a page a browser may not open: anything but an `http://` or `https://` URL with a host
/// (`file:`, `data:`, `chrome:`, `javascript:` ...), whoever wrote it.
pub fn browsable(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(u) => Err(format!("a browser check opens http:// and https:// pages only, not `{}:` ones", u.scheme())),
        Err(e) => Err(format!("`{}` is not a URL ({e})", crate::sources::body::snippet(url.as_bytes()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_opens_web_pages_only() {
        for bad in [
            "file:///etc/hostname#${x}",
            "data:text/html,hi",
            "chrome://settings",
            "javascript:alert(1)",
            "about:blank",
        ] {
            assert!(browsable(bad).is_err(), "{bad}");
        }
        assert!(browsable("https://example.org/a?b").is_ok());
        assert!(browsable("http://127.0.0.1:8080/").is_ok());
    }

    #[test]
    fn own_addresses_include_every_local_address_when_listening_on_all() {
        let all: SocketAddr = "0.0.0.0:7700".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:7700".parse().unwrap();
        for target in ["127.0.0.1:7700", "0.0.0.0:7700", "[::ffff:127.0.0.1]:7700"] {
            assert!(is_own(target.parse().unwrap(), &[all]), "{target}");
            assert!(is_own(target.parse().unwrap(), &[lo]), "{target}");
        }
        assert!(!is_own("127.0.0.1:7701".parse().unwrap(), &[lo]));
        assert!(!is_own("127.0.0.2:7700".parse().unwrap(), &[lo]), "bound to one address, another does not reach it");
        assert!(!is_own("1.1.1.1:7700".parse().unwrap(), &[all]));
    }

    #[test]
    fn a_task_names_its_addresses_with_their_ports() {
        let tcp = serde_json::json!({"url": "tcp://127.0.0.1:6379", "body": "FLUSHALL\r\n"});
        assert!(targets(SourceKind::Tcp, &tcp)[0].sends_bytes);
        assert_eq!(host_and_port("tcp://127.0.0.1:6379", 0), Some(("127.0.0.1".into(), 6379)));
        assert_eq!(host_and_port("localhost:22", 0), Some(("localhost".into(), 22)));
        assert_eq!(host_and_port("https://[::1]/x", 0), Some(("::1".into(), 443)));
        let browser = serde_json::json!({"url": "https://a.example", "steps": [{"goto": "http://127.0.0.1:7700/api"}]});
        assert_eq!(targets(SourceKind::Browser, &browser).len(), 2);
    }

    #[tokio::test]
    async fn a_webhook_anyone_subscribes_reaches_no_inward_address() {
        for url in [
            "http://127.0.0.1:9/h",
            "http://[::1]/h",
            "http://169.254.169.254/latest",
            "http://localhost/h",
            "http://0.0.0.0:80/",
        ] {
            let why = resolve_outward(&reqwest::Url::parse(url).unwrap()).await.unwrap_err().to_string();
            assert!(why.contains("--probe-allow"), "{url}: {why}");
        }
        let inner = reqwest::Url::parse("http://10.0.0.5:8080/hook").unwrap();
        assert_eq!(
            resolve_outward(&inner).await.unwrap(),
            vec!["10.0.0.5:8080".parse().unwrap()],
            "a private network is fine"
        );
    }

    #[tokio::test]
    async fn guarded_calls_keep_off_vigil_and_send_no_bytes_to_its_host() {
        configure(vec!["127.0.0.1:47700".parse().unwrap()], vec!["127.0.0.1:6380".into()]);
        let own = Target { url: "http://localhost:47700/api/v1/secrets".into(), default_port: 0, sends_bytes: false };
        let why = check(Reach::Guarded, std::slice::from_ref(&own)).await.unwrap_err();
        assert!(why.contains("own listen address"), "{why}");
        assert!(check(Reach::Anywhere, std::slice::from_ref(&own)).await.is_ok());
        let redis = Target { url: "tcp://127.0.0.1:6379".into(), default_port: 0, sends_bytes: true };
        let why = check(Reach::Guarded, std::slice::from_ref(&redis)).await.unwrap_err();
        assert!(why.contains("--probe-allow 127.0.0.1:6379"), "{why}");
        let allowed = Target { url: "tcp://127.0.0.1:6380".into(), default_port: 0, sends_bytes: true };
        assert!(check(Reach::Guarded, &[allowed]).await.is_ok(), "the operator allowed it");
        let open = Target { url: "tcp://127.0.0.1:6379".into(), default_port: 0, sends_bytes: false };
        assert!(check(Reach::Guarded, &[open]).await.is_ok(), "an open port's check sends nothing of its own");
        configure(Vec::new(), Vec::new());
    }
}
