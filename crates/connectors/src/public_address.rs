//! Where a URL given by anyone (a webhook subscribed from a public status page) may point: only
//! at public addresses, so the server cannot be made to reach its own network (loopback,
//! private, link-local, carrier-grade NAT, reserved and documentation ranges are refused). The
//! name is resolved once and the request is sent to the addresses checked, so a name that
//! resolves differently a moment later (DNS rebinding) reaches nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // "this network"
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 169 && b == 254)               // link-local
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 168)               // private
        || (a == 198 && (b == 18 || b == 19))   // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00          // unique local
        || (s[0] & 0xffc0) == 0xfe80          // link-local
        || (s[0] & 0xffc0) == 0xfec0          // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// Why a URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// Not an `http` or `https` URL with a host.
    #[error("`{0}` is not an http:// or https:// URL with a host")]
    NotHttp(String),
    /// Its name did not resolve.
    #[error("`{host}` does not resolve: {reason}")]
    Unresolved {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// It resolves to an address that is not public.
    #[error("`{host}` resolves to {ip}, which is not a public address")]
    NotPublic {
        /// The host.
        host: String,
        /// The address.
        ip: IpAddr,
    },
    /// It resolves to an address of vigil's own host or link ([`crate::egress::resolve_outward`]).
    #[error(
        "`{host}` resolves to {ip}, an address of vigil's own host or link; a webhook subscribed from a page may not \
         reach it unless the operator allows it (`vigil serve --probe-allow {target}`)"
    )]
    Inward {
        /// The host.
        host: String,
        /// The address.
        ip: IpAddr,
        /// `host:port`, as the operator would allow it.
        target: String,
    },
}

/// The addresses `url` reaches, all public; an error when any is not (a name with one private
/// address among public ones is refused too).
pub async fn resolve_public(url: &reqwest::Url) -> Result<Vec<SocketAddr>, AddressError> {
    let (host, _, addrs) = resolve(url).await?;
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(AddressError::NotPublic { host, ip: bad.ip() });
    }
    Ok(addrs)
}

/// The host, port and addresses an `http(s)` URL reaches, its name resolved once (none resolving
/// is an error).
pub async fn resolve(url: &reqwest::Url) -> Result<(String, u16, Vec<SocketAddr>), AddressError> {
    let (Some(host), true) = (url.host_str(), matches!(url.scheme(), "http" | "https")) else {
        return Err(AddressError::NotHttp(url.to_string()));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| AddressError::Unresolved { host: host.clone(), reason: e.to_string() })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(AddressError::Unresolved { host, reason: "no address".into() });
    }
    Ok((host, port, addrs))
}

/// A client for one request to `url` that reaches only `addrs` (those checked) and follows no
/// redirect (a redirect could point inside).
pub fn pinned_client(url: &reqwest::Url, addrs: &[SocketAddr], timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let host = url.host_str().unwrap_or_default();
    reqwest::Client::builder()
        .resolve_to_addrs(host, addrs)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_and_reserved_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_url_of_an_inner_address_is_refused_before_anything_is_sent() {
        for url in ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://localhost/hook", "https://10.0.0.5/x"] {
            let url = reqwest::Url::parse(url).unwrap();
            assert!(matches!(resolve_public(&url).await, Err(AddressError::NotPublic { .. })), "{url}");
        }
        let ftp = reqwest::Url::parse("ftp://example.org/").unwrap();
        assert!(matches!(resolve_public(&ftp).await, Err(AddressError::NotHttp(_))));
        let public = reqwest::Url::parse("https://1.1.1.1/hook").unwrap();
        assert_eq!(resolve_public(&public).await.unwrap(), vec!["1.1.1.1:443".parse().unwrap()]);
    }
}
