//! Slow and idle clients, over raw TCP (issue 17): a connection that never
//! finishes its headers is closed after `limits.header_read_timeout_secs`,
//! and one address past `limits.connections_per_client` gets `429`
//! problem+json and a closed socket while everyone else is served.

use crate::common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Only a guard against a hang, far above the timeouts set below.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn addr(app: &TestApp) -> String {
    app.base.strip_prefix("http://").unwrap().to_string()
}

/// Reads until the server closes the connection; what it sent first.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut answer)).await;
    let closed = match read {
        Ok(Ok(_)) => true,
        // A reset is a close too.
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Err(_) => false,
    };
    assert!(closed, "the server still holds the connection after {HANG_GUARD:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

/// One keep-alive request on `stream`; its status line and body.
async fn request(stream: &mut TcpStream, path: &str) -> (String, String) {
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: pictor\r\n\r\n").as_bytes()).await.unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(HANG_GUARD, stream.read(&mut chunk)).await.expect("an answer").unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
        let length: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .expect("a content-length");
        if body.len() >= length {
            return (head.lines().next().unwrap().to_string(), body.to_string());
        }
    }
}

/// The problem+json body of a raw answer with `status`.
fn problem(answer: &str, status: u16) -> serde_json::Value {
    assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{answer}");
    assert!(answer.contains("content-type: application/problem+json"), "{answer}");
    serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap()
}

// The connection layer is below the backends: one is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_cut_off() {
    let Some(app) = TestApp::spawn(Backend::Local, |c| c.limits.header_read_timeout_secs = 1).await else { return };
    // A client that sends a request in time is served, and its idle
    // keep-alive connection is then closed too.
    let mut prompt = TcpStream::connect(addr(&app)).await.unwrap();
    let (status, _) = request(&mut prompt, "/healthz").await;
    assert!(status.contains(" 200 "), "{status}");
    read_to_close(&mut prompt).await;
    // Half a request line, then nothing.
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: pic").await.unwrap();
    read_to_close(&mut slow).await;
    // Connected, never a byte.
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    read_to_close(&mut silent).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_capped_and_others_go_on() {
    let Some(app) = TestApp::spawn(Backend::Local, |c| c.limits.connections_per_client = 3).await else { return };
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        // Answered, so accepted and counted.
        let (status, _) = request(&mut stream, "/healthz").await;
        assert!(status.contains(" 200 "), "{status}");
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(addr(&app)).await.unwrap();
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: pictor\r\n\r\n").await;
    let body = problem(&read_to_close(&mut fourth).await, 429);
    assert_eq!(body["code"], "rate_limited");
    assert!(body["detail"].as_str().unwrap().contains("limits.connections_per_client"), "{body}");

    // The held connections still work, and the refusal is counted.
    let (status, metrics) = request(&mut held[0], "/metrics").await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(metrics.contains("pictor_connections_refused_total 1"), "{metrics}");

    // Closing one frees its slot (once the server has seen the close).
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: pictor\r\nConnection: close\r\n\r\n").await;
        let answer = read_to_close(&mut stream).await;
        if answer.starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the closed connection's slot was never freed: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
    app.shutdown().await;
}

/// Sends `POST /api/v1/img` headers announcing `length` bytes of JPEG.
async fn start_upload(app: &TestApp, length: usize, accept: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr(app)).await.unwrap();
    let head = format!(
        "POST /api/v1/img HTTP/1.1\r\nHost: pictor\r\nContent-Type: image/jpeg\r\nAccept: {accept}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

fn slow_floor(c: &mut pictor_server::Config) {
    c.limits.body_read_timeout_secs = 1;
    c.limits.body_min_bytes_per_sec = 1000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_cut_with_408_and_a_steady_one_lands() {
    let Some(app) = TestApp::spawn(Backend::Local, slow_floor).await else { return };
    // 100 bytes of a promised 100,000, then nothing.
    let mut stalled = start_upload(&app, 100_000, "*/*").await;
    stalled.write_all(&[0xff; 100]).await.unwrap();
    let body = problem(&read_to_close(&mut stalled).await, 408);
    assert_eq!(body["code"], "request_timeout");
    assert!(body["detail"].as_str().unwrap().contains("limits.body_min_bytes_per_sec"), "{body}");

    // A browser gets a readable page instead.
    let mut page = start_upload(&app, 100_000, "text/html,application/xhtml+xml").await;
    let answer = read_to_close(&mut page).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains("content-type: text/html"), "{answer}");

    // Slow but above the floor: 20 pieces 100 ms apart, twice the time the
    // first second allows, each piece earning more than its wait.
    let photo = noise_png(48, 48, 7);
    let mut steady = start_upload(&app, photo.len(), "*/*").await;
    for piece in photo.chunks(photo.len().div_ceil(20)) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        steady.write_all(piece).await.unwrap();
    }
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(HANG_GUARD, steady.read(&mut answer)).await.expect("an answer").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("pictor_slow_bodies_cut_total 2"), "{metrics}");
    // Nothing of the cut uploads was kept.
    let list: serde_json::Value = app.client.get(app.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["images"].as_array().map(Vec::len), Some(1), "{list}");
    app.shutdown().await;
}
