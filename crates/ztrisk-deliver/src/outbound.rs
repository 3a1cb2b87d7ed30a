//! Which receiver URLs ztrisk may call, and the HTTP client deliveries use.
//!
//! Receiver URLs (an Okta tenant, an SSF push endpoint, a webhook) are chosen by API users, so
//! ztrisk must not become their proxy into places only it can reach (SSRF): cloud metadata
//! services, link-local and multicast addresses. Nor may a URL point at ztrisk itself, which
//! would loop deliveries into its own API. Private networks (10/8, fd00::/8...) stay allowed:
//! a self-hosted receiver on the LAN is the normal case.
//!
//! Two layers, because either alone has a hole: [`check_url`] judges the text when the URL is
//! saved (literal IPs are connected to without any DNS lookup, so they must be judged here), and
//! [`client`]'s resolver judges the addresses a name resolves to at each connection (so a name
//! cannot be pointed at a metadata address after it was accepted: DNS rebinding).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// A delivery's whole budget: connect, TLS, send and answer (spec 4.2).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Host names of cloud metadata services, refused by name too (they resolve to link-local or
/// private addresses, and some resolvers answer them only inside the cloud).
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata.goog", "metadata"];

/// Checks a receiver URL; the parsed URL when ztrisk may call it, else why not (a sentence for
/// the API's error message). `own` lists the URLs that reach ztrisk itself: its public URL and
/// its listen address.
pub fn check_url(text: &str, own: &[Url]) -> Result<Url, String> {
    // The texts are those the integrations API has always given (its clients match them).
    let url =
        Url::parse(text.trim()).map_err(|e| format!("expected an absolute https:// URL ({e})"))?;
    let host = url
        .host()
        .ok_or("expected an absolute https:// URL with a host")?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            return Err("expected https:// (http:// is accepted only for loopback hosts)".into());
        }
        other => return Err(format!("expected an https:// URL, got scheme {other:?}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (user:password@)".into());
    }
    match &host {
        Host::Ipv4(ip) => check_ip(IpAddr::V4(*ip))?,
        Host::Ipv6(ip) => check_ip(IpAddr::V6(*ip))?,
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_HOSTS.contains(&name.as_str()) {
                return Err(format!("{name} is a cloud metadata service"));
            }
        }
    }
    if own.iter().any(|own| is_same_service(&url, own)) {
        return Err("points at ztrisk itself; deliveries would loop".into());
    }
    Ok(url)
}

/// Why ztrisk must not connect to `ip`, if it must not.
fn check_ip(ip: IpAddr) -> Result<(), String> {
    match refused_kind(ip) {
        Some(kind) => Err(format!("{ip} is a {kind} address")),
        None => Ok(()),
    }
}

/// The kind of address deliveries never go to, or `None`. IPv4-mapped IPv6 addresses
/// (`::ffff:169.254.169.254`) are judged as the IPv4 address they carry.
fn refused_kind(ip: IpAddr) -> Option<&'static str> {
    match ip.to_canonical() {
        IpAddr::V4(ip) => refused_v4(ip),
        IpAddr::V6(ip) => refused_v6(ip),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_link_local() {
        // 169.254.0.0/16: also where AWS, GCP and Azure serve instance metadata.
        Some("link-local")
    } else if ip.octets()[0] == 0 {
        // 0.0.0.0/8, "this network": Linux connects 0.0.0.0 to the local host.
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // AWS's IPv6 instance metadata endpoint (a unique-local address).
    const AWS_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    if ip == AWS_METADATA {
        Some("cloud metadata")
    } else if ip.is_unicast_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// `localhost`, 127.0.0.0/8 and `::1`: where plain http is allowed (traffic never leaves the
/// machine).
fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).to_canonical().is_loopback(),
    }
}

/// Whether `url` reaches the service at `own`: the same host and port, loopback names counted
/// as one host and an unspecified listen address (`0.0.0.0`, `::`) as every loopback host, and
/// a path under `own`'s path (a public URL with a path prefix shares its host with other
/// services behind the same proxy). The scheme is left out: `https://` to ztrisk's plain http
/// port still reaches ztrisk.
fn is_same_service(url: &Url, own: &Url) -> bool {
    let (Some(host), Some(own_host)) = (url.host(), own.host()) else {
        return false;
    };
    if url.port_or_known_default() != own.port_or_known_default() {
        return false;
    }
    let same_host = match (&host, &own_host) {
        (Host::Domain(a), Host::Domain(b)) => a
            .trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim_end_matches('.')),
        _ => host == own_host,
    };
    let own_everywhere = is_unspecified_host(&own_host);
    let both_loopback = is_loopback_host(&host) && is_loopback_host(&own_host);
    let listen_anywhere = own_everywhere && (is_loopback_host(&host) || is_unspecified_host(&host));
    (same_host || both_loopback || listen_anywhere) && is_under(url.path(), own.path())
}

/// Whether `path` is `prefix` or below it, segment-wise (`/ztrisk` covers `/ztrisk/x`, not
/// `/ztriskfoo`).
fn is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn is_unspecified_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_unspecified(),
        Host::Ipv6(ip) => ip.is_unspecified(),
        Host::Domain(_) => false,
    }
}

/// The client every delivery goes through: rustls (ring), no redirects (a 3xx is a failure:
/// [`crate::retry`]), the whole request within `timeout` (10 s in production), the user agent
/// `ztrisk/<version>`, no proxy from the environment (a proxy would resolve names where the
/// resolver below cannot judge them), and [`SafeResolver`].
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("ztrisk/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .dns_resolver(Arc::new(SafeResolver))
        .build()
}

/// The system resolver, minus the addresses [`check_url`] refuses as literals. An error when
/// nothing is left, naming what was dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeResolver;

impl Resolve for SafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's port (or the scheme's) afterwards.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = filter_addrs(&host, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses ztrisk may connect to among those `host` resolved to.
fn filter_addrs(host: &str, resolved: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, RefusedHost> {
    let (allowed, refused): (Vec<_>, Vec<_>) = resolved
        .into_iter()
        .partition(|addr| refused_kind(addr.ip()).is_none());
    if allowed.is_empty() {
        return Err(RefusedHost {
            host: host.to_owned(),
            refused: refused.iter().map(|a| a.ip()).collect(),
        });
    }
    Ok(allowed)
}

/// A name resolved to no address ztrisk may connect to.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to no address ztrisk may connect to (refused: {})", display_ips(.refused))]
pub struct RefusedHost {
    host: String,
    refused: Vec<IpAddr>,
}

fn display_ips(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        return "none found".into();
    }
    ips.iter()
        .map(|ip| format!("{ip} ({})", refused_kind(*ip).unwrap_or("allowed")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> Vec<Url> {
        vec![
            Url::parse("https://risk.example.com").unwrap(),
            Url::parse("http://127.0.0.1:8787").unwrap(),
        ]
    }

    fn ok(text: &str) {
        if let Err(e) = check_url(text, &own()) {
            panic!("{text} refused: {e}");
        }
    }

    fn refused(text: &str, why: &str) {
        match check_url(text, &own()) {
            Ok(_) => panic!("{text} accepted"),
            Err(e) => assert!(e.contains(why), "{text}: {e:?} lacks {why:?}"),
        }
    }

    #[test]
    fn https_anywhere_public_or_private() {
        ok("https://acme.okta.com");
        ok("https://acme.okta.com/");
        ok("https://hooks.slack.com/services/T0/B0/x");
        ok("https://10.0.0.5:8443/ssf/push");
        ok("https://192.168.1.10/hook");
        ok("https://[fd12::1]/hook");
        ok(" https://example.com/padded ");
        assert_eq!(
            check_url("https://Example.COM/a?b=c", &[])
                .unwrap()
                .as_str(),
            "https://example.com/a?b=c"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        ok("http://localhost:9000/hook");
        ok("http://LOCALHOST./hook");
        ok("http://127.0.0.1:9000/hook");
        ok("http://127.8.9.10/hook");
        ok("http://[::1]:9000/hook");
        ok("http://[::ffff:127.0.0.1]:9000/hook");
        refused("http://example.com/hook", "expected https://");
        refused("http://10.0.0.5/hook", "expected https://");
        refused("http://localhost.example.com/hook", "expected https://");
    }

    #[test]
    fn other_schemes_and_relative_urls_are_refused() {
        refused("ftp://example.com/x", "got scheme \"ftp\"");
        refused("file:///etc/passwd", "with a host");
        refused("/relative/path", "expected an absolute https:// URL");
        refused("example.com/hook", "expected an absolute https:// URL");
        refused("", "expected an absolute https:// URL");
        refused("https://", "expected an absolute https:// URL");
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        refused("https://user:pass@example.com/hook", "credentials");
        refused("https://user@example.com/hook", "credentials");
        refused("https://:pass@example.com/hook", "credentials");
    }

    #[test]
    fn link_local_and_metadata_are_refused() {
        refused("https://169.254.169.254/latest/meta-data", "link-local");
        refused("https://169.254.0.1/", "link-local");
        // The URL parser normalizes other spellings of the same address.
        refused("https://0xA9FEA9FE/", "link-local");
        refused("https://2852039166/", "link-local");
        refused("https://[::ffff:169.254.169.254]/", "link-local");
        refused("https://[fe80::1]/", "link-local");
        refused("https://[febf::1]/", "link-local");
        refused("https://[fd00:ec2::254]/", "cloud metadata");
        refused(
            "https://metadata.google.internal/computeMetadata/v1/",
            "cloud metadata",
        );
        refused("https://METADATA.google.internal./x", "cloud metadata");
    }

    #[test]
    fn unspecified_multicast_and_broadcast_are_refused() {
        refused("https://0.0.0.0/", "unspecified");
        refused("https://0.1.2.3/", "unspecified");
        refused("http://0.0.0.0:8787/", "expected https://");
        refused("https://[::]/", "unspecified");
        refused("https://224.0.0.1/", "multicast");
        refused("https://239.255.255.250/", "multicast");
        refused("https://[ff02::1]/", "multicast");
        refused("https://255.255.255.255/", "broadcast");
    }

    #[test]
    fn ztrisk_itself_is_refused() {
        refused("https://risk.example.com/hook", "ztrisk itself");
        refused("https://RISK.example.com:443/x", "ztrisk itself");
        refused("https://risk.example.com./x", "ztrisk itself");
        refused("http://127.0.0.1:8787/accounts/x", "ztrisk itself");
        refused("http://localhost:8787/", "ztrisk itself");
        refused("http://[::1]:8787/", "ztrisk itself");
        refused("https://127.0.0.1:8787/", "ztrisk itself");
        // Another port or host is someone else.
        ok("https://risk.example.com:8443/hook");
        ok("http://127.0.0.1:8788/hook");
        ok("https://other.example.com/hook");
    }

    #[test]
    fn an_unspecified_listen_address_covers_every_loopback_host() {
        let own = [Url::parse("http://0.0.0.0:8787").unwrap()];
        for url in [
            "http://127.0.0.1:8787/",
            "http://localhost:8787/x",
            "http://[::1]:8787/",
        ] {
            assert!(check_url(url, &own).is_err(), "{url}");
        }
        assert!(check_url("http://127.0.0.1:9999/", &own).is_ok());
        let own = [Url::parse("http://[::]:8787").unwrap()];
        assert!(check_url("http://localhost:8787/", &own).is_err());
    }

    #[test]
    fn a_public_url_with_a_path_only_covers_that_path() {
        let own = [Url::parse("https://proxy.example.com/ztrisk/").unwrap()];
        assert!(check_url("https://proxy.example.com/ztrisk/accounts", &own).is_err());
        assert!(check_url("https://proxy.example.com/ztrisk", &own).is_err());
        assert!(check_url("https://proxy.example.com/other-app/hook", &own).is_ok());
        assert!(check_url("https://proxy.example.com/ztriskfoo", &own).is_ok());
    }

    #[test]
    fn resolved_addresses_are_filtered() {
        let addr = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
        let kept = filter_addrs(
            "mixed.example",
            vec![
                addr("169.254.169.254"),
                addr("93.184.216.34"),
                addr("fe80::1"),
                addr("2606:2800::1"),
            ],
        )
        .unwrap();
        assert_eq!(kept, vec![addr("93.184.216.34"), addr("2606:2800::1")]);
        // Loopback and private addresses stay: self-hosted receivers live there.
        assert_eq!(filter_addrs("l", vec![addr("127.0.0.1")]).unwrap().len(), 1);
        assert_eq!(filter_addrs("p", vec![addr("10.1.2.3")]).unwrap().len(), 1);

        let err = filter_addrs(
            "rebound.example",
            vec![
                addr("169.254.169.254"),
                addr("0.0.0.0"),
                addr("224.0.0.1"),
                addr("::ffff:169.254.1.1"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "rebound.example resolves to no address ztrisk may connect to (refused: \
             169.254.169.254 (link-local), 0.0.0.0 (unspecified), 224.0.0.1 (multicast), \
             ::ffff:169.254.1.1 (link-local))"
        );
        let err = filter_addrs("empty.example", vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("none found"), "{err}");
    }

    #[tokio::test]
    async fn the_resolver_resolves_localhost() {
        let addrs: Vec<SocketAddr> = SafeResolver
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[tokio::test]
    async fn the_client_does_not_follow_redirects_and_names_itself() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let n = socket.read(&mut request).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&request[..n]).to_lowercase()
        });
        let client = client(DELIVERY_TIMEOUT).unwrap();
        // Through a name, so the request goes through SafeResolver.
        let response = client
            .post(format!("http://localhost:{port}/hook"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        let request = server.await.unwrap();
        let agent = format!("user-agent: ztrisk/{}", env!("CARGO_PKG_VERSION"));
        assert!(request.contains(&agent), "{request}");
    }
}
