//! Which addresses the client may connect to (protection against server-side request
//! forgery): enforced on resolved addresses by [`PolicyResolver`], on IP-literal hosts before
//! each request and on every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use ipnet::IpNet;

use crate::error::Error;

/// The addresses a client may connect to. The default allows public addresses only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow loopback addresses (127.0.0.0/8, ::1).
    pub allow_loopback: bool,
    /// Allow private addresses: RFC 1918, carrier-grade NAT (100.64.0.0/10), IPv6 unique
    /// local (fc00::/7) and IPv6 link-local (fe80::/10). IPv4 link-local 169.254.0.0/16,
    /// where clouds serve instance metadata, is *not* included: list it in `allowed_hosts`.
    pub allow_private: bool,
    /// Host names (exact, case-insensitive) and IP addresses or CIDR blocks that are always
    /// allowed, whatever they resolve to or are.
    pub allowed_hosts: Vec<String>,
}

/// The class of an address, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Routable on the internet.
    Public,
    /// Loopback.
    Loopback,
    /// RFC 1918, CGNAT, IPv6 ULA or IPv6 link-local.
    Private,
    /// IPv4 link-local 169.254.0.0/16 (cloud instance metadata).
    LinkLocal,
    /// Unspecified, multicast, broadcast or reserved: never a registry.
    Special,
}

impl AddressClass {
    /// Classifies an address; IPv4-mapped, IPv4-compatible and NAT64 IPv6 addresses are
    /// classified by the IPv4 address they carry.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => classify_v4(v4),
            IpAddr::V6(v6) => match embedded_v4(v6) {
                Some(v4) => classify_v4(v4),
                None => classify_v6(v6),
            },
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        AddressClass::Private
    } else if a == 0 || a >= 224 {
        // 0.0.0.0/8, multicast 224/4, reserved 240/4 and broadcast.
        AddressClass::Special
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_unspecified() || first & 0xff00 == 0xff00 {
        AddressClass::Special
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80 {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    // IPv4-compatible (deprecated), but not :: and ::1.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(tail);
    }
    None
}

impl AddressPolicy {
    /// A policy that allows everything (tests, or a deliberately trusted network).
    pub fn allow_all() -> Self {
        AddressPolicy {
            allow_loopback: true,
            allow_private: true,
            allowed_hosts: vec!["0.0.0.0/0".into(), "::/0".into()],
        }
    }

    /// Whether the host name is listed in `allowed_hosts`.
    pub fn host_listed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.allowed_hosts
            .iter()
            .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(host))
    }

    fn ip_listed(&self, ip: IpAddr) -> bool {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.allowed_hosts.iter().any(|entry| {
            let entry = entry.trim().trim_start_matches('[').trim_end_matches(']');
            if let Ok(net) = entry.parse::<IpNet>() {
                net.contains(&ip) || net.contains(&canonical)
            } else if let Ok(listed) = entry.parse::<IpAddr>() {
                listed == ip || listed == canonical
            } else {
                false
            }
        })
    }

    /// Checks one address reached through `host`: `Ok` or why it is refused.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Error> {
        if self.host_listed(host) || self.ip_listed(ip) {
            return Ok(());
        }
        let refuse = |what: &str, setting: &str| {
            Err(Error::AddressRefused {
                host: host.to_owned(),
                reason: format!("{ip} is {what}; {setting}"),
            })
        };
        match AddressClass::of(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            AddressClass::Private if self.allow_private => Ok(()),
            AddressClass::Loopback => refuse(
                "a loopback address",
                "set allow_loopback or list the host in allowed_hosts to allow it",
            ),
            AddressClass::Private => refuse(
                "a private address",
                "set allow_private or list the host in allowed_hosts to allow it",
            ),
            AddressClass::LinkLocal => refuse(
                "a link-local address (where clouds serve instance metadata)",
                "only listing the host or address in allowed_hosts allows it",
            ),
            AddressClass::Special => refuse(
                "not a unicast address",
                "only listing it in allowed_hosts allows it",
            ),
        }
    }

    /// Checks a URL's host when it is an IP literal (names are checked when resolved).
    pub fn check_url(&self, url: &url::Url) -> Result<(), Error> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(&ip.to_string(), IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => match name.parse::<IpAddr>() {
                Ok(ip) => self.check(name, ip),
                Err(_) => Ok(()),
            },
            None => Err(Error::InvalidInput(format!("URL without a host: {url}"))),
        }
    }

    /// Keeps the allowed addresses among those `host` resolved to, or says why none is.
    pub fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Error> {
        let mut refused = None;
        let mut kept = Vec::with_capacity(addrs.len());
        for a in addrs {
            match self.check(host, a.ip()) {
                Ok(()) => kept.push(a),
                Err(e) => refused = Some(e),
            }
        }
        match (kept.is_empty(), refused) {
            (false, _) => Ok(kept),
            (true, Some(e)) => Err(e),
            (true, None) => Err(Error::Network(format!("{host} resolved to no address"))),
        }
    }
}

/// A DNS resolver for reqwest that drops addresses the policy refuses, so the connection
/// goes to an address that was checked (a second, different answer cannot sneak in).
#[derive(Clone, Debug)]
pub struct PolicyResolver {
    policy: Arc<AddressPolicy>,
}

impl PolicyResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        PolicyResolver { policy }
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = host.clone();
            let addrs = tokio::task::spawn_blocking(move || {
                (lookup.as_str(), 0u16)
                    .to_socket_addrs()
                    .map(|it| it.collect::<Vec<_>>())
            })
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let kept = policy.filter(&host, addrs)?;
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn refused(p: &AddressPolicy, host: &str, addr: &str) -> bool {
        matches!(p.check(host, ip(addr)), Err(Error::AddressRefused { .. }))
    }

    #[test]
    fn default_allows_public_only() {
        let p = AddressPolicy::default();
        for ok in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(p.check("h", ip(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.5.5.5",
            "::1",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::10.0.0.1",
        ] {
            assert!(refused(&p, "h", bad), "{bad} should be refused");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(AddressClass::of(ip("::ffff:8.8.8.8")), AddressClass::Public);
        assert_eq!(
            AddressClass::of(ip("::ffff:127.0.0.1")),
            AddressClass::Loopback
        );
        assert_eq!(AddressClass::of(ip("169.254.1.1")), AddressClass::LinkLocal);
        assert_eq!(AddressClass::of(ip("fe80::1")), AddressClass::Private);
        assert_eq!(AddressClass::of(ip("fd00:ec2::254")), AddressClass::Private);
        assert_eq!(AddressClass::of(ip("240.0.0.1")), AddressClass::Special);
    }

    #[test]
    fn loopback_and_private_switches() {
        let p = AddressPolicy {
            allow_loopback: true,
            ..Default::default()
        };
        assert!(p.check("localhost", ip("127.0.0.1")).is_ok());
        assert!(p.check("localhost", ip("::1")).is_ok());
        assert!(p.check("x", ip("::ffff:127.0.0.1")).is_ok());
        assert!(refused(&p, "x", "10.0.0.1"));

        let p = AddressPolicy {
            allow_private: true,
            ..Default::default()
        };
        for ok in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.0.1",
            "100.64.0.1",
            "fc00::1",
            "fe80::1",
        ] {
            assert!(p.check("h", ip(ok)).is_ok(), "{ok}");
        }
        // Metadata stays refused with allow_private, and loopback is a separate switch.
        assert!(refused(&p, "h", "169.254.169.254"));
        assert!(refused(&p, "h", "::ffff:169.254.169.254"));
        assert!(refused(&p, "h", "127.0.0.1"));
    }

    #[test]
    fn allowed_hosts_entries() {
        let p = AddressPolicy {
            allowed_hosts: vec![
                "Registry.Internal".into(),
                "10.1.0.0/16".into(),
                "169.254.169.254".into(),
                "[fd00::5]".into(),
            ],
            ..Default::default()
        };
        assert!(p.check("registry.internal", ip("10.9.9.9")).is_ok());
        assert!(p.check("registry.internal.", ip("127.0.0.1")).is_ok());
        assert!(p.check("other", ip("10.1.200.3")).is_ok());
        assert!(p.check("other", ip("::ffff:10.1.200.3")).is_ok());
        assert!(refused(&p, "other", "10.2.0.1"));
        assert!(p.check("other", ip("169.254.169.254")).is_ok());
        assert!(refused(&p, "other", "169.254.169.253"));
        assert!(p.check("other", ip("fd00::5")).is_ok());
        assert!(refused(&p, "other", "fd00::6"));
    }

    #[test]
    fn refusal_names_the_setting() {
        let p = AddressPolicy::default();
        let msg = p
            .check("metadata", ip("169.254.169.254"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("metadata") && msg.contains("allowed_hosts"),
            "{msg}"
        );
        let msg = p.check("db", ip("10.0.0.1")).unwrap_err().to_string();
        assert!(msg.contains("allow_private"), "{msg}");
    }

    #[test]
    fn urls_and_filtering() {
        let p = AddressPolicy::default();
        let u = |s: &str| url::Url::parse(s).expect("test url");
        assert!(p.check_url(&u("http://127.0.0.1:5000/v2/")).is_err());
        assert!(p.check_url(&u("http://[::1]:5000/v2/")).is_err());
        assert!(p.check_url(&u("http://[::ffff:a9fe:a9fe]/")).is_err());
        assert!(p.check_url(&u("https://registry.example.com/v2/")).is_ok());
        let addrs = vec![
            SocketAddr::new(ip("10.0.0.1"), 443),
            SocketAddr::new(ip("93.184.216.34"), 443),
        ];
        assert_eq!(
            p.filter("mixed", addrs).expect("one public"),
            vec![SocketAddr::new(ip("93.184.216.34"), 443)]
        );
        let only_private = vec![SocketAddr::new(ip("192.168.0.1"), 443)];
        assert!(matches!(
            p.filter("rebind", only_private),
            Err(Error::AddressRefused { .. })
        ));
    }
}
