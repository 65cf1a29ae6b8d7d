//! The client's real address: the peer of the connection, or — when that peer is one of the
//! configured trusted proxies — the address the proxies say they received the request from
//! (`X-Forwarded-For`, read from the right, skipping trusted hops). A client that is not a
//! trusted proxy cannot choose its own address by sending the header.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::AppState;

/// The client's address, when the server knows it (not in in-process tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts, state))
    }
}

impl ClientAddress {
    /// The address the request in `parts` came from.
    pub fn of(parts: &Parts, state: &AppState) -> Self {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        ClientAddress(peer.map(|peer| client_address(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

/// The address a request came from, given the connection's `peer`, the request's headers and
/// the proxies trusted to say where it came from.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, as one list; each trusted hop appended the
    // address it received the request from. Read from the nearest hop outwards.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().map(|v| v.split(',').collect::<Vec<_>>()).unwrap_or_else(|_| vec!["?"]))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = canonical(ip);
                if !is_trusted(&client) {
                    return client;
                }
            }
            // What a trusted proxy handed on cannot be read: the request is taken to come
            // from that proxy.
            None => return client,
        }
    }
    client
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `192.0.2.1:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4 addresses mapped into IPv6 (`::ffff:192.0.2.1`, as a dual-stack socket reports them)
/// as the IPv4 addresses they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().expect("header"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().expect("net"), "2001:db8:1::/48".parse().expect("net")]
    }

    #[test]
    fn a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
        let forged = headers(&["203.0.113.9"]);
        assert_eq!(client_address(ip("198.51.100.7"), &forged, &proxies()), ip("198.51.100.7"));
        assert_eq!(client_address(ip("198.51.100.7"), &forged, &[]), ip("198.51.100.7"));
        // Without trusted proxies configured, even a private peer is the client.
        assert_eq!(client_address(ip("10.0.0.2"), &forged, &[]), ip("10.0.0.2"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        // The client put a forged address first; the proxy appended the real one.
        let chain = headers(&["203.0.113.9, 198.51.100.7"]);
        assert_eq!(client_address(ip("10.0.0.2"), &chain, &proxies()), ip("198.51.100.7"));
        // Two proxies, in two headers.
        let two = headers(&["203.0.113.9, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(client_address(ip("10.0.0.2"), &two, &proxies()), ip("198.51.100.7"));
        // Ports and brackets, and a mapped IPv4 peer.
        let ported = headers(&["[2001:db8:2::5]:443"]);
        assert_eq!(client_address(ip("::ffff:10.0.0.2"), &ported, &proxies()), ip("2001:db8:2::5"));
    }

    #[test]
    fn what_cannot_be_read_leaves_the_request_with_the_last_trusted_hop() {
        assert_eq!(client_address(ip("10.0.0.2"), &HeaderMap::new(), &proxies()), ip("10.0.0.2"));
        let garbage = headers(&["198.51.100.7, not-an-address"]);
        assert_eq!(client_address(ip("10.0.0.2"), &garbage, &proxies()), ip("10.0.0.2"));
        let through = headers(&["garbage, 10.9.9.9"]);
        assert_eq!(client_address(ip("10.0.0.2"), &through, &proxies()), ip("10.9.9.9"));
    }
}
