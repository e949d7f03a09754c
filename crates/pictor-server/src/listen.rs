//! The accept loop: axum's `serve`, plus the bounds a server on the open
//! internet needs against slow and idle clients.
//!
//! - **Header read timeout**: a connection that does not finish sending a
//!   request's headers within `limits.header_read_timeout_secs` (silent new
//!   connections and idle keep-alive ones included) is closed, so half-sent
//!   requests cannot hold sockets forever.
//! - **Connections per client address** (`limits.connections_per_client`):
//!   past the cap, a new connection is answered `429` problem+json and
//!   closed without reading its request, so a few thousand half-open
//!   connections from one address cannot use up the file descriptors.
//! - Accept errors (out of file descriptors) pause accepting for a moment
//!   with one warning, instead of spinning.
//!
//! A slow body is held to a read rate floor by `slow_body`, in the router.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use pictor_core::metrics::Metrics;
use pictor_core::throttle::WarnThrottle;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

/// What the accept loop enforces.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    /// Open connections one client address may hold; 0 = no cap.
    pub per_client: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the open
/// connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let clients = Arc::new(Clients::new(limits.per_client));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let Some(slot) = clients.open(peer.ip()) else {
            metrics.connections_refused.inc();
            tokio::spawn(refuse(stream, limits.per_client));
            continue;
        };
        let connection = Connection { app: app.clone(), peer, limits, stop: stop_rx.clone(), open: open_rx.clone() };
        tokio::spawn(connection.run(stream, slot));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    // Every connection holds a receiver; all dropped = all finished.
    open_tx.closed().await;
}

/// One accepted connection and what it needs to serve itself.
struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    /// Held until the connection ends, so shutdown can wait for it.
    open: watch::Receiver<()>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, _slot: Slot) {
        // hyper's header timeout starts with the first byte; a client that
        // connects and sends nothing is bounded here.
        // Nor does a connection that has sent nothing hold up a shutdown.
        let mut first = [0u8; 1];
        let first_byte = tokio::time::timeout(self.limits.header_read_timeout, stream.peek(&mut first));
        tokio::select! {
            peeked = first_byte => if !matches!(peeked, Ok(Ok(1..))) { return },
            _ = self.stop.wait_for(|stop| *stop) => return,
        }
        let mut builder = Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout);
        builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
        let (app, peer) = (self.app, self.peer);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(peer = %peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        drop(self.open);
    }
}

/// Answers a connection past the per-client cap and closes it, without
/// reading its request.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let body = format!(
        "{{\"type\":\"about:blank\",\"title\":\"Too many connections\",\"status\":429,\"code\":\"rate_limited\",\
         \"detail\":\"this address already holds {cap} open connections to the server (limits.connections_per_client); \
         reuse them, or close some and retry\"}}"
    );
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Out of file descriptors (or another transient accept failure): wait a
/// moment rather than spin, and say so at most once a minute.
async fn accept_failed(error: &std::io::Error) {
    static WARNED: WarnThrottle = WarnThrottle::new();
    if WARNED.due() {
        tracing::warn!(error = %error, "accepting connections failed; pausing briefly (raise the open-file limit?)");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Open connections per client address. The map holds only addresses with
/// a connection open, so it is bounded by the open connections.
struct Clients {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl Clients {
    fn new(cap: usize) -> Self {
        Self { cap, open: Mutex::new(HashMap::new()) }
    }

    /// A slot for one more connection from `ip`, unless it is at the cap.
    fn open(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let ip = canonical(ip);
        let mut open = self.open.lock().expect("clients lock");
        let count = open.entry(ip).or_insert(0);
        if self.cap > 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot { clients: self.clone(), ip })
    }

    fn close(&self, ip: IpAddr) {
        let mut open = self.open.lock().expect("clients lock");
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// One client connection counted; uncounted when dropped.
struct Slot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.clients.close(self.ip);
    }
}

/// An IPv4 client seen through an IPv6 socket counts as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_capped_per_address_and_forgotten_when_gone() {
        let clients = Arc::new(Clients::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = clients.open(a).unwrap();
        let _second = clients.open(mapped).expect("a second slot");
        assert!(clients.open(a).is_none(), "the mapped form is the same client");
        let _other = clients.open(b).expect("another address has its own cap");
        drop(first);
        let _third = clients.open(a).expect("a closed connection frees its slot");
        drop((_second, _third, _other));
        assert!(clients.open.lock().unwrap().is_empty(), "no entry outlives its connections");
    }

    #[test]
    fn no_cap_when_zero() {
        let clients = Arc::new(Clients::new(0));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let slots: Vec<Slot> = (0..1000).map(|_| clients.open(ip).unwrap()).collect();
        assert_eq!(slots.len(), 1000);
    }
}
