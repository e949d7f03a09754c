//! SSRF-guarded HTTP(S) fetcher for `POST /api/v1/img {"type":"url", …}`,
//! and the same guard for webhook deliveries ([`Fetcher::post_json`]).
//!
//! Fetching a URL that a client chose lets that client make the server send
//! requests on its behalf: to the cloud metadata endpoint (169.254.169.254),
//! to the database on localhost, to anything on the private network. So by
//! default the fetcher only talks to globally routable addresses; operators
//! can open specific networks or host names with `fetch.allow`.
//!
//! The check must apply to the address actually connected to, not to a
//! lookup made before the request (the name could resolve differently a
//! moment later: DNS rebinding). Hence three guards, all sharing one
//! [`AllowList`]:
//!
//! - a custom DNS resolver ([`GuardedResolver`]) that drops refused
//!   addresses from every lookup reqwest makes, so a name can never lead to
//!   a connection to a refused address;
//! - a direct check of IP-literal hosts, which reqwest connects to without
//!   calling the resolver ([`check_url`]);
//! - a redirect policy that runs the same URL check on every hop and counts
//!   hops (host names in redirects go through the resolver anyway).
//!
//! The body is streamed with a running count so that an oversized (or
//! endless) response is cut off as soon as it passes `max_bytes`, and the
//! whole exchange, body included, runs under one timeout.

use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

const USER_AGENT: &str = "pictor/0.1";

/// What the fetcher may reach and how much it may read.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Entries that are allowed even though private/loopback/link-local:
    /// CIDRs ("127.0.0.1/32", "10.0.0.0/8", "::1/128"), single addresses, or
    /// host names ("images.internal", matched exactly, case-insensitively).
    pub allow: Vec<String>,
    /// Refuse bodies longer than this; checked against Content-Length and
    /// while streaming.
    pub max_bytes: u64,
    /// Limit for the whole request, body included.
    pub timeout: Duration,
    /// How many redirects may be followed.
    pub max_redirects: usize,
}

/// Why a fetch failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    /// An entry of `fetch.allow` is neither a CIDR, an address nor a host name.
    #[error("invalid fetch policy: {0}")]
    InvalidPolicy(String),
    /// Not http/https, unparsable, or has credentials in it.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The host or address is not allowed (the message says which, and how
    /// to allow it).
    #[error("{0}")]
    Forbidden(String),
    /// The body is longer than `max_bytes`.
    #[error("response body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The whole request took longer than `timeout`.
    #[error("fetch timed out")]
    Timeout,
    /// Connect error, DNS failure, non-2xx status, too many redirects.
    #[error("upstream error: {0}")]
    Upstream(String),
}

/// Fetches URLs under a [`FetchPolicy`]. Cheap to share: keep one.
pub struct Fetcher {
    client: reqwest::Client,
    /// For webhook deliveries: the same resolver, no redirects.
    poster: reqwest::Client,
    allow: Arc<AllowList>,
    lookup: Lookup,
    max_bytes: u64,
    timeout: Duration,
}

/// Looks a host name up. In service: the system resolver. Tests stand in a
/// rebinding DNS server, whose answers change between lookups.
type Lookup = Arc<dyn Fn(&str) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync>;

fn system_lookup() -> Lookup {
    Arc::new(|host: &str| {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

impl Fetcher {
    /// Builds the HTTP client; a bad `allow` entry is an `InvalidPolicy`.
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        Self::with_lookup(policy, system_lookup())
    }

    fn with_lookup(policy: FetchPolicy, lookup: Lookup) -> Result<Self, FetchError> {
        let allow = Arc::new(AllowList::parse(&policy.allow)?);
        let builder = || {
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .no_proxy() // a proxy would connect for us, unchecked
                .dns_resolver(Arc::new(GuardedResolver { allow: allow.clone(), lookup: lookup.clone() }))
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build().map_err(|e| FetchError::InvalidPolicy(format!("cannot build HTTP client: {e}")))
        };
        let client = built(builder().redirect(redirect_policy(allow.clone(), policy.max_redirects)))?;
        let poster = built(builder().redirect(redirect::Policy::none()))?;
        Ok(Self { client, poster, allow, lookup, max_bytes: policy.max_bytes, timeout: policy.timeout })
    }

    /// Checks `url` as a request to it would be: scheme, credentials, and
    /// the host (an IP literal directly, a name by resolving it now). A name
    /// that cannot be resolved at all passes as `Upstream`, which callers
    /// that only vet a URL for later use may ignore.
    pub async fn check(&self, url: &str) -> Result<Url, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("'{url}': {e}")))?;
        check_url(&url, &self.allow)?;
        if let Some(Host::Domain(host)) = url.host() {
            resolve_allowed(&self.allow, &self.lookup, host).await?;
        }
        Ok(url)
    }

    /// POSTs `body` as `application/json` with extra `headers` to `url`
    /// under the same guard (webhook deliveries). Redirects are not
    /// followed: a 3xx is returned like any other status. The response body
    /// is not read. The whole exchange runs under `timeout`.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<u16, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("'{url}': {e}")))?;
        check_url(&url, &self.allow)?;
        let mut request = self.poster.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let send = async { request.body(body).send().await.map_err(from_reqwest) };
        let response = tokio::time::timeout(timeout, send).await.map_err(|_| FetchError::Timeout)??;
        Ok(response.status().as_u16())
    }

    /// Fetches `url` and returns its body.
    pub async fn fetch(&self, url: &str) -> Result<Bytes, FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("'{url}': {e}")))?;
        check_url(&url, &self.allow)?;
        tracing::debug!(%url, "fetching");
        tokio::time::timeout(self.timeout, self.get(url)).await.map_err(|_| FetchError::Timeout)?
    }

    /// The request itself, without the overall timeout.
    async fn get(&self, url: Url) -> Result<Bytes, FetchError> {
        let response = self.client.get(url).send().await.map_err(from_reqwest)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Upstream(format!("{} answered {status}", response.url())));
        }
        read_body(response, self.max_bytes).await
    }
}

/// Reads the body, refusing it as soon as it is known to exceed `limit`.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Bytes, FetchError> {
    let declared = response.content_length().unwrap_or(0);
    if declared > limit {
        return Err(FetchError::TooLarge { limit });
    }
    // `declared <= limit` here, so this allocation is bounded by the policy.
    let mut body = BytesMut::with_capacity(usize::try_from(declared).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Turns a reqwest error back into ours: the resolver and the redirect
/// policy report through reqwest, so our own error may sit in the chain.
fn from_reqwest(err: reqwest::Error) -> FetchError {
    let ours = std::iter::successors(err.source(), |&e| e.source()).find_map(|e| e.downcast_ref::<FetchError>());
    if let Some(ours) = ours {
        return ours.clone();
    }
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    // reqwest's own message is terse; the causes say what happened.
    let chain: Vec<String> =
        std::iter::successors(Some(&err as &dyn std::error::Error), |&e| e.source()).map(ToString::to_string).collect();
    FetchError::Upstream(chain.join(": "))
}

/// Checks what can be checked from a URL alone: scheme, credentials, and
/// IP-literal hosts (which reqwest connects to without resolving).
fn check_url(url: &Url, allow: &AllowList) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidUrl(format!("'{url}': only http and https are fetched")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::InvalidUrl("credentials in the URL are not accepted".into()));
    }
    match url.host() {
        None => Err(FetchError::InvalidUrl(format!("'{url}' has no host"))),
        Some(Host::Domain(_)) => Ok(()), // checked by the resolver
        Some(Host::Ipv4(ip)) => allow.check_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => allow.check_ip(IpAddr::V6(ip)),
    }
}

/// Follows redirects only to URLs that pass [`check_url`], at most `max` times.
fn redirect_policy(allow: Arc<AllowList>, max: usize) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` holds the original URL plus every hop so far.
        if attempt.previous().len() > max {
            let err = FetchError::Upstream(format!("more than {max} redirects"));
            return attempt.error(err);
        }
        match check_url(attempt.url(), &allow) {
            Ok(()) => attempt.follow(),
            Err(err) => attempt.error(err),
        }
    })
}

/// The DNS resolver reqwest uses: tokio's system lookup, minus refused
/// addresses. Because reqwest connects only to what this returns, the check
/// applies to the address actually used.
struct GuardedResolver {
    allow: Arc<AllowList>,
    lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (allow, lookup) = (self.allow.clone(), self.lookup.clone());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_allowed(&allow, &lookup, &host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves `host` and keeps the allowed addresses; none left is `Forbidden`.
async fn resolve_allowed(allow: &AllowList, lookup: &Lookup, host: &str) -> Result<Vec<SocketAddr>, FetchError> {
    let found = lookup(host).await.map_err(|e| FetchError::Upstream(format!("cannot resolve '{host}': {e}")))?;
    if allow.allows_host(host) {
        return Ok(found);
    }
    let (kept, refused): (Vec<_>, Vec<_>) = found.into_iter().partition(|addr| allow.allows_ip(addr.ip()));
    match (kept.is_empty(), refused.first()) {
        (true, Some(addr)) => Err(forbidden(Some(host), addr.ip())),
        (true, None) => Err(FetchError::Upstream(format!("'{host}' has no addresses"))),
        (false, _) => {
            if !refused.is_empty() {
                tracing::debug!(host, ?refused, "dropped non-public addresses");
            }
            Ok(kept)
        }
    }
}

/// The `Forbidden` error, naming what was refused and how to allow it.
fn forbidden(host: Option<&str>, ip: IpAddr) -> FetchError {
    // Canonical, because the allow list is matched against canonical addresses.
    let net = IpNet::from(ip.to_canonical());
    FetchError::Forbidden(match host {
        Some(host) => format!(
            "host '{host}' resolves only to non-public addresses such as {ip}; \
             to fetch from it, add \"{host}\" or \"{net}\" to `fetch.allow` in the config"
        ),
        None => format!(
            "{ip} is not a public address; \
             to fetch from it, add \"{net}\" to `fetch.allow` in the config"
        ),
    })
}

/// `FetchPolicy::allow`, parsed: networks and exact host names.
#[derive(Debug, Default)]
struct AllowList {
    nets: Vec<IpNet>,
    /// Lower-case, without a trailing dot.
    hosts: Vec<String>,
}

impl AllowList {
    fn parse(entries: &[String]) -> Result<Self, FetchError> {
        let mut list = Self::default();
        for entry in entries {
            list.add(entry)?;
        }
        Ok(list)
    }

    /// Adds one entry: a CIDR, a single address, or a host name.
    fn add(&mut self, entry: &str) -> Result<(), FetchError> {
        if let Ok(net) = entry.parse::<IpNet>() {
            self.nets.push(net);
        } else if let Ok(ip) = entry.parse::<IpAddr>() {
            self.nets.push(IpNet::from(ip));
        } else if let Some(host) = valid_host_name(entry) {
            self.hosts.push(host);
        } else {
            return Err(FetchError::InvalidPolicy(format!(
                "`fetch.allow` entry '{entry}' is neither a CIDR, an IP address nor a host name"
            )));
        }
        Ok(())
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.contains(&normalize_host(host))
    }

    /// Public addresses always; others only when listed. IPv4-mapped IPv6
    /// (::ffff:a.b.c.d) is judged as the IPv4 address it is.
    fn allows_ip(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        is_public(canonical) || (self.nets.iter()).any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), FetchError> {
        if self.allows_ip(ip) { Ok(()) } else { Err(forbidden(None, ip)) }
    }
}

/// `entry` as a normalized DNS name, or `None` if it is not one.
fn valid_host_name(entry: &str) -> Option<String> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let host = normalize_host(entry);
    (!host.is_empty() && host.len() <= 253 && host.split('.').all(label_ok)).then_some(host)
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// IPv4 ranges that are not globally routable (IANA special-purpose registry).
const NON_PUBLIC_V4: &[Ipv4Net] = &[
    v4(0, 0, 0, 0, 8),       // "this network", incl. 0.0.0.0
    v4(10, 0, 0, 0, 8),      // private
    v4(100, 64, 0, 0, 10),   // CGNAT shared space
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link-local, cloud metadata
    v4(172, 16, 0, 0, 12),   // private
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments
    v4(192, 0, 2, 0, 24),    // documentation (TEST-NET-1)
    v4(192, 88, 99, 0, 24),  // 6to4 relay anycast (deprecated)
    v4(192, 168, 0, 0, 16),  // private
    v4(198, 18, 0, 0, 15),   // benchmarking
    v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24),  // documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, incl. broadcast 255.255.255.255
];

/// Only 2000::/3 is allocated global unicast; everything outside it (::,
/// ::1, fc00::/7, fe80::/10, ff00::/8, 100::/64, …) is refused.
const GLOBAL_UNICAST_V6: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Special-purpose ranges inside 2000::/3.
const NON_PUBLIC_V6: &[Ipv6Net] = &[
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),      // IETF protocol assignments, Teredo
    v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),      // 6to4 (embeds any IPv4)
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),      // documentation
];

/// NAT64 well-known prefix: 64:ff9b::a.b.c.d reaches IPv4 a.b.c.d.
const NAT64_V6: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    let ip = Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    Ipv6Net::new_assert(ip, len)
}

/// Whether `ip` is globally routable unicast (std's `is_global` is unstable).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => !NON_PUBLIC_V4.iter().any(|net| net.contains(&ip)),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // Forms that carry an IPv4 address are judged by that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public(IpAddr::V4(v4));
    }
    if NAT64_V6.contains(&ip) {
        let [.., a, b, c, d] = ip.octets();
        return is_public(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
    }
    GLOBAL_UNICAST_V6.contains(&ip) && !NON_PUBLIC_V6.iter().any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    //! Servers here listen on 127.0.0.1 only; "public" addresses are only
    //! classified, never contacted.

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A local test server and how many connections it has accepted.
    struct Server {
        addr: SocketAddr,
        hits: Arc<AtomicUsize>,
    }

    impl Server {
        fn url(&self) -> String {
            format!("http://{}/", self.addr)
        }
    }

    /// Serves on 127.0.0.1: every request gets `make(own address)` as the raw
    /// response; then the connection is closed, or with `hang` held open
    /// forever (a body that never ends, or no answer at all).
    async fn serve(make: impl FnOnce(SocketAddr) -> String, hang: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let response = make(addr);
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, response.clone(), hang));
            }
        });
        Server { addr, hits }
    }

    async fn answer(mut stream: TcpStream, response: String, hang: bool) {
        read_request_head(&mut stream).await;
        let _ = stream.write_all(response.as_bytes()).await;
        if hang {
            std::future::pending::<()>().await; // keeps `stream` open
        }
    }

    async fn read_request_head(stream: &mut TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn ok(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    }

    fn redirect_to(location: &str) -> String {
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    fn fetcher(allow: &[&str]) -> Fetcher {
        Fetcher::new(policy(allow)).unwrap()
    }

    fn policy(allow: &[&str]) -> FetchPolicy {
        FetchPolicy {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            max_bytes: 1000,
            timeout: Duration::from_secs(5),
            max_redirects: 3,
        }
    }

    /// Expects `url` refused with a message naming `what` and the setting
    /// that would allow it, before any connection to `server`.
    async fn assert_refused(server: &Server, url: &str, what: &str) {
        let err = fetcher(&[]).fetch(url).await.unwrap_err();
        let FetchError::Forbidden(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains(what) && msg.contains("fetch.allow"), "{msg}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn loopback_is_refused_by_default() {
        let server = serve(|_| ok("hi"), false).await;
        assert_refused(&server, &server.url(), "127.0.0.1").await;
    }

    #[tokio::test]
    async fn loopback_is_fetched_when_allowed() {
        let server = serve(|_| ok("hi"), false).await;
        let body = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap();
        assert_eq!(&body[..], b"hi");
    }

    #[tokio::test]
    async fn host_names_are_checked_after_resolution() {
        let server = serve(|_| ok("hi"), false).await;
        let url = format!("http://localhost:{}/", server.addr.port());
        assert_refused(&server, &url, "localhost").await;
        // Allowed by address (only the 127.0.0.1 answer is kept) or by name.
        for allow in ["127.0.0.1/32", "LOCALHOST"] {
            let body = fetcher(&[allow]).fetch(&url).await.unwrap();
            assert_eq!(&body[..], b"hi", "allow {allow}");
        }
    }

    /// DNS rebinding: a name vetted while it resolved to a public address
    /// is later looked up again for the connection, now answering loopback.
    #[tokio::test]
    async fn a_name_that_rebinds_to_a_private_address_is_refused() {
        let server = serve(|_| ok("secret"), false).await;
        let lookups = Arc::new(AtomicUsize::new(0));
        let counter = lookups.clone();
        let rebinding: Lookup = Arc::new(move |_| {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let ip: IpAddr = if first { Ipv4Addr::new(93, 184, 215, 14).into() } else { Ipv4Addr::LOCALHOST.into() };
            Box::pin(std::future::ready(Ok(vec![SocketAddr::new(ip, 0)])))
        });
        let fetcher = Fetcher::with_lookup(policy(&[]), rebinding).unwrap();
        let url = format!("http://rebind.example:{}/", server.addr.port());
        fetcher.check(&url).await.expect("vetted while the name was public");
        let err = fetcher.fetch(&url).await.unwrap_err();
        let FetchError::Forbidden(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains("127.0.0.1"), "{msg}");
        let delivered = fetcher.post_json(&url, &[], Bytes::from_static(b"{}"), Duration::from_secs(5)).await;
        assert!(delivered.is_err(), "a webhook delivery follows the same guard");
        assert_eq!(server.hits.load(Ordering::SeqCst), 0, "no connection reached the private address");
        assert!(lookups.load(Ordering::SeqCst) >= 3, "each request looked the name up again");
    }

    #[tokio::test]
    async fn redirects_to_refused_addresses_are_not_followed() {
        for target in ["http://127.0.0.2/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/"] {
            let server = serve(|_| redirect_to(target), false).await;
            let err = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap_err();
            assert!(matches!(err, FetchError::Forbidden(_)), "{target}: {err:?}");
        }
    }

    #[tokio::test]
    async fn redirects_to_other_schemes_are_not_followed() {
        let fetcher = fetcher(&["127.0.0.1/32"]);
        let server = serve(|_| redirect_to("ftp://127.0.0.1/x"), false).await;
        let err = fetcher.fetch(&server.url()).await.unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl(_)), "{err:?}");
        // reqwest does not follow a Location it cannot turn into an http::Uri
        // (file:///…); the 302 itself then comes back, as an upstream error.
        let server = serve(|_| redirect_to("file:///etc/passwd"), false).await;
        let err = fetcher.fetch(&server.url()).await.unwrap_err();
        let FetchError::Upstream(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains("302"), "{msg}");
    }

    #[tokio::test]
    async fn allowed_redirects_are_followed() {
        let target = serve(|_| ok("moved"), false).await;
        let start = serve(|_| redirect_to(&target.url()), false).await;
        let body = fetcher(&["127.0.0.1"]).fetch(&start.url()).await.unwrap();
        assert_eq!(&body[..], b"moved");
    }

    #[tokio::test]
    async fn redirect_loops_stop_at_max_redirects() {
        let server = serve(|addr| redirect_to(&format!("http://{addr}/")), false).await;
        let err = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap_err();
        let FetchError::Upstream(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains("redirects"), "{msg}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 4); // the original + 3 hops
    }

    /// Serves `response` (holding the connection open) and expects TooLarge.
    async fn assert_too_large(response: String) {
        let server = serve(move |_| response.clone(), true).await;
        let err = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit: 1000 }), "{err:?}");
    }

    #[tokio::test]
    async fn oversize_content_length_is_refused_before_reading() {
        // Declares 5000 bytes, sends 10, never finishes: only the header can refuse it.
        assert_too_large("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n0123456789".to_string()).await;
    }

    #[tokio::test]
    async fn oversize_stream_is_cut_off() {
        // No length, 1001 bytes, never finishes: only the running count can refuse it.
        assert_too_large(format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}", "x".repeat(1001))).await;
    }

    #[tokio::test]
    async fn body_of_exactly_max_bytes_is_accepted() {
        let response = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}", "x".repeat(1000));
        let server = serve(|_| response, false).await;
        let body = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap();
        assert_eq!(body.len(), 1000);
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let server = serve(|_| String::new(), true).await;
        let fetcher =
            Fetcher::new(FetchPolicy { timeout: Duration::from_millis(300), ..policy(&["127.0.0.1/32"]) }).unwrap();
        let started = std::time::Instant::now();
        let err = fetcher.fetch(&server.url()).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn error_statuses_are_upstream_errors() {
        let response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let server = serve(|_| response.to_string(), false).await;
        let err = fetcher(&["127.0.0.1/32"]).fetch(&server.url()).await.unwrap_err();
        let FetchError::Upstream(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains("404"), "{msg}");
    }

    #[tokio::test]
    async fn bad_urls_are_refused() {
        let fetcher = fetcher(&["127.0.0.1/32"]);
        for url in ["ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", "http://user:pw@127.0.0.1/"] {
            let err = fetcher.fetch(url).await.unwrap_err();
            assert!(matches!(err, FetchError::InvalidUrl(_)), "{url}: {err:?}");
        }
    }

    #[tokio::test]
    async fn posts_are_guarded_and_do_not_follow_redirects() {
        let server = serve(|_| ok(""), false).await;
        let post = |f: Fetcher, url: String| async move {
            f.post_json(&url, &[("webhook-id", "msg_1")], Bytes::from_static(b"{}"), Duration::from_secs(5)).await
        };
        let err = post(fetcher(&[]), server.url()).await.unwrap_err();
        assert!(matches!(err, FetchError::Forbidden(ref m) if m.contains("fetch.allow")), "{err:?}");
        assert_eq!(server.hits.load(Ordering::SeqCst), 0);
        assert_eq!(post(fetcher(&["127.0.0.1/32"]), server.url()).await.unwrap(), 200);
        let moved = serve(|_| redirect_to(&server.url()), false).await;
        assert_eq!(post(fetcher(&["127.0.0.1/32"]), moved.url()).await.unwrap(), 302);
        assert_eq!(server.hits.load(Ordering::SeqCst), 1, "the redirect was not followed");
        let silent = serve(|_| String::new(), true).await;
        let f = fetcher(&["127.0.0.1/32"]);
        let err = f.post_json(&silent.url(), &[], Bytes::new(), Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout), "{err:?}");
    }

    #[tokio::test]
    async fn check_vets_hosts_by_address() {
        let f = fetcher(&[]);
        for url in ["http://127.0.0.1:9/h", "http://localhost:9/h", "http://[::1]/"] {
            let err = f.check(url).await.unwrap_err();
            assert!(matches!(err, FetchError::Forbidden(_)), "{url}: {err:?}");
        }
        assert!(matches!(f.check("ftp://example.com/").await, Err(FetchError::InvalidUrl(_))));
        assert!(f.check("http://8.8.8.8/hook").await.is_ok());
        assert!(fetcher(&["127.0.0.1/32"]).check("http://localhost:9/h").await.is_ok());
    }

    /// Loopback and metadata addresses spelt the ways URL parsers accept:
    /// decimal, octal, hex, shortened, IPv4-mapped and NAT64 IPv6.
    #[tokio::test]
    async fn other_spellings_of_private_addresses_are_refused() {
        let f = fetcher(&[]);
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://017700000001/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://2852039166/",
            "http://0251.0376.0251.0376/",
        ] {
            let checked = f.check(url).await;
            assert!(matches!(checked, Err(FetchError::Forbidden(_))), "{url}: {checked:?}");
            let fetched = f.fetch(url).await;
            assert!(matches!(fetched, Err(FetchError::Forbidden(_))), "{url}: {fetched:?}");
        }
    }

    #[test]
    fn bad_allow_entries_are_named() {
        for entry in ["10.0.0.0/33", "not a host", "", "images.internal/8"] {
            let Err(FetchError::InvalidPolicy(msg)) = Fetcher::new(policy(&[entry])) else {
                panic!("{entry:?} accepted");
            };
            assert!(msg.contains(&format!("'{entry}'")), "{msg}");
        }
        assert!(Fetcher::new(policy(&["10.0.0.0/8", "::1/128", "::1", "images.internal."])).is_ok());
    }

    #[test]
    fn addresses_are_classified() {
        let table = [
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("127.0.0.1", false),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("192.0.2.1", false),
            ("198.18.0.1", false),
            ("::", false),
            ("::1", false),
            ("fe80::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("64:ff9b::a9fe:a9fe", false), // NAT64 of 169.254.169.254
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("::ffff:8.8.8.8", true),
            ("2606:4700::1111", true),
        ];
        for (ip, public) in table {
            assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn allow_list_opens_listed_networks_only() {
        let allow = AllowList::parse(&["127.0.0.1/32".into(), "10.0.0.0/8".into()]).unwrap();
        for (ip, allowed) in [
            ("127.0.0.1", true),
            ("::ffff:127.0.0.1", true),
            ("10.1.2.3", true),
            ("127.0.0.2", false),
            ("::1", false),
            ("192.168.1.1", false),
            ("8.8.8.8", true),
        ] {
            assert_eq!(allow.allows_ip(ip.parse().unwrap()), allowed, "{ip}");
        }
    }
}
