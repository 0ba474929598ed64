//! The guard on outbound URLs: the runner only fetches `http` and `https` URLs,
//! and, unless the operator allows private networks, never connects to loopback,
//! private, link-local, multicast, unspecified or otherwise non-global addresses.
//!
//! The host is resolved once and the check applies to every address it resolves
//! to; the connection is then made to a checked address ([`CheckedUrl::client`]), so
//! a name that resolves differently a second time cannot slip past.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

use crate::problem::{Problem, ProblemKind};

/// Whether an address is one the runner must not reach without permission.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_forbidden_v4(v4),
            None => is_forbidden_v6(v6),
        },
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, may embed private v4
        || ip.to_ipv4().is_some_and(is_forbidden_v4) // IPv4-compatible
}

/// A URL that passed the guard, with the addresses it may be fetched from.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    /// The URL.
    pub url: Url,
    /// Its host's addresses that passed the check (all of them, when private
    /// networks are allowed).
    pub addrs: Vec<SocketAddr>,
}

impl CheckedUrl {
    /// A client that connects only to the checked addresses, follows no
    /// redirect and gives up after `timeout`.
    pub fn client(&self, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("longrun/", env!("CARGO_PKG_VERSION")));
        if let Some(url::Host::Domain(domain)) = self.url.host() {
            builder = builder.resolve_to_addrs(domain, &self.addrs);
        }
        builder.build()
    }
}

/// Check `raw` for fetching: it must parse, be http(s), and resolve only to
/// addresses the guard lets through.
pub async fn check(raw: &str, allow_private: bool) -> Result<CheckedUrl, Problem> {
    let refuse = |detail: String| Problem::new(ProblemKind::UrlNotAllowed, detail);
    let url = Url::parse(raw).map_err(|e| refuse(format!("`{raw}` is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(format!(
            "`{raw}` uses the scheme `{}`; only http and https are allowed",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(format!(
            "`{raw}` carries credentials; they are not allowed in URLs"
        )));
    }
    let host = url
        .host()
        .ok_or_else(|| refuse(format!("`{raw}` has no host")))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match host {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(ip.into(), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(ip.into(), port)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| refuse(format!("the host of `{raw}` could not be resolved: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(refuse(format!("the host of `{raw}` has no addresses")));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
        return Err(refuse(format!(
            "`{raw}` resolves to {}, a loopback, private, link-local or otherwise non-public address; \
                 the server does not allow such targets",
            bad.ip()
        )));
    }
    Ok(CheckedUrl { url, addrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbids_non_public_addresses() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(
                is_forbidden(text.parse().unwrap()),
                "{text} should be forbidden"
            );
        }
        for text in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                !is_forbidden(text.parse().unwrap()),
                "{text} should be allowed"
            );
        }
    }

    #[tokio::test]
    async fn refuses_bad_schemes_and_numeric_private_hosts() {
        for raw in [
            "file:///etc/passwd",
            "ftp://example.com/x",
            "http://127.0.0.1/x",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://017700000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://user:pw@127.0.0.1/",
            "not a url",
        ] {
            let problem = check(raw, false).await.unwrap_err();
            assert!(problem.is(ProblemKind::UrlNotAllowed), "{raw}: {problem}");
        }
        assert!(check("http://127.0.0.1:9/x", true).await.is_ok());
    }
}
