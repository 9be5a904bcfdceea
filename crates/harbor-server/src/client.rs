//! Who is on the other end of a request: the client's address and whether it reached us
//! over HTTPS. Both come from the connection, or, when the connection is from a trusted
//! reverse proxy (`auth.trusted_proxies`), from its `X-Forwarded-For` and
//! `X-Forwarded-Proto` headers. Anyone else's forwarding headers are ignored, so a client
//! cannot pick the address its failed sign-ins are counted under.
//!
//! [`resolve`] runs in front of every route and leaves a [`ClientInfo`] in the request's
//! extensions. The connection's address is axum's `ConnectInfo<SocketAddr>`: the
//! `harbor-server` accept loop provides it, and an embedding application should serve
//! with `into_make_service_with_connect_info::<SocketAddr>()`; without it, sign-in
//! failures are counted per account only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client of a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Its address, when known.
    pub ip: Option<IpAddr>,
    /// It reached us over HTTPS (through a trusted proxy that says so).
    pub https: bool,
}

/// Marks a request that arrived on a TLS connection this process terminated (the
/// `harbor-server` accept loop with `tls.cert` set; an embedding application serving
/// HTTPS itself may insert it too).
#[derive(Clone, Copy, Debug)]
pub struct TlsConnection;

/// Reverse proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `trusted_proxies` entry that is neither an address nor a CIDR range.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range")]
pub struct BadProxy(String);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.5`) and ranges (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadProxy> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(e.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind a connection from `peer` with these headers.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientInfo {
        let Some(peer) = peer.map(canonical) else {
            return ClientInfo::default();
        };
        if !self.trusts(peer) {
            return ClientInfo {
                ip: Some(peer),
                https: false,
            };
        }
        // The right-most address a trusted proxy did not add is the client's.
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        let ip = forwarded
            .iter()
            .rev()
            .find(|a| !self.trusts(**a))
            .or(forwarded.first())
            .copied()
            .unwrap_or(peer);
        let https = headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        ClientInfo {
            ip: Some(ip),
            https,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Middleware: records the request's [`ClientInfo`] (unless an outer layer did).
pub(crate) async fn resolve(
    State(proxies): State<Arc<TrustedProxies>>,
    mut req: Request,
    next: Next,
) -> Response {
    let tls = req.extensions().get::<TlsConnection>().is_some();
    if tls && !req.headers().contains_key("x-forwarded-proto") {
        // This hop is HTTPS: what derives URLs from the request (the token realm) says so.
        req.headers_mut().insert(
            "x-forwarded-proto",
            axum::http::HeaderValue::from_static("https"),
        );
    }
    if req.extensions().get::<ClientInfo>().is_none() {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let mut info = proxies.client(peer, req.headers());
        // A direct client on TLS used HTTPS; a trusted proxy's header says for its client.
        if tls && peer.is_some_and(|p| !proxies.trusts(p)) {
            info.https = true;
        }
        req.extensions_mut().insert(info);
    }
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(of(parts))
    }
}

/// The client of a request (unknown when [`resolve`] did not run).
pub(crate) fn of(parts: &Parts) -> ClientInfo {
    parts
        .extensions
        .get::<ClientInfo>()
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.1"]).unwrap();
        let spoof = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            proxies.client(Some(stranger), &spoof),
            ClientInfo {
                ip: Some(stranger),
                https: false
            }
        );
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            proxies.client(Some(proxy), &spoof),
            ClientInfo {
                ip: Some("1.2.3.4".parse().unwrap()),
                https: true
            }
        );
        // A client's own X-Forwarded-For entries left of the real one are not believed.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.9.9.9")]);
        assert_eq!(
            proxies.client(Some(proxy), &chain).ip,
            Some("198.51.100.7".parse().unwrap())
        );
        // A trusted proxy without the header is the client itself.
        assert_eq!(
            proxies.client(Some(proxy), &HeaderMap::new()).ip,
            Some(proxy)
        );
        let mapped: IpAddr = "::ffff:192.168.1.1".parse().unwrap();
        assert_eq!(
            proxies.client(Some(mapped), &spoof).ip,
            Some("1.2.3.4".parse().unwrap())
        );
        assert!(TrustedProxies::parse(&["nonsense"]).is_err());
        assert_eq!(proxies.client(None, &spoof), ClientInfo::default());
    }
}
