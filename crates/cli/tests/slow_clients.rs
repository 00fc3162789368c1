//! Slow and greedy clients against a real `anycart serve` process (loopback only,
//! bounded in count and time): slow headers are cut off, a connection flood is
//! refused at the bound, a slow body times out with a JSON 408, requests past the
//! in-flight bound get a fast JSON 503, and `/healthz` answers throughout.

// Tests: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_anycart");

struct Server {
    child: Child,
    addr: String,
    /// The demo merchant's publishable key.
    pk: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("banner").unwrap();
        if let Some(url) = line.trim().strip_prefix("base URL") {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap())
            .unwrap();
    Server {
        child,
        addr: base.trim_start_matches("http://").to_string(),
        pk: demo["publishable_key"].as_str().unwrap().to_string(),
        _dir: dir,
    }
}

/// A raw HTTP/1.1 exchange: the status line's code and the body, or `None` when
/// the server closed the connection without an answer.
async fn exchange(addr: &str, request: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(request).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.get(9..12)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

async fn healthz_ms(addr: &str) -> u128 {
    let started = Instant::now();
    let answer = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.map(|a| a.0), Some(200), "healthz answers");
    started.elapsed().as_millis()
}

/// Opens a connection that sends only the start of a request head.
async fn slow_header(addr: &str) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .ok()?;
    Some(s)
}

/// True when the server closed `s` (EOF) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 64];
    matches!(
        tokio::time::timeout(within, s.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_healthz_answers_through_hundreds_of_them() {
    let server = start(&[("ANYCART_HEADER_READ_TIMEOUT_MS", "1000")]);
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.extend(slow_header(&server.addr).await);
    }
    assert_eq!(slow.len(), 300);
    for _ in 0..5 {
        assert!(
            healthz_ms(&server.addr).await < 2_000,
            "healthz stays quick"
        );
    }
    // Every slow connection is closed by the server once its second is up.
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "slow header cut off"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_is_refused_at_the_bound_and_freed_by_the_timeout() {
    let server = start(&[
        ("ANYCART_CONNECTIONS_MAX", "20"),
        ("ANYCART_HEADER_READ_TIMEOUT_MS", "1500"),
    ]);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(slow_header(&server.addr).await.unwrap());
    }
    // Connection 21 is closed at once, not queued behind the others.
    let mut extra = slow_header(&server.addr).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "over the bound: closed at once"
    );
    // Once the slow ones are cut off, the node serves again.
    for s in &mut held {
        assert!(closed_within(s, Duration::from_secs(5)).await);
    }
    assert!(healthz_ms(&server.addr).await < 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_limit_requests_wait_their_turn_then_are_shed_but_healthz_is_not() {
    let server = start(&[
        ("ANYCART_REQUESTS_IN_FLIGHT_MAX", "2"),
        ("ANYCART_QUEUE_WAIT_MS_MAX", "300"),
        ("ANYCART_BODY_READ_TIMEOUT_MS", "1500"),
    ]);
    // Two requests whose bodies never finish hold both permits.
    let mut trickles = Vec::new();
    for i in 0..2 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        let head = format!(
            "POST /checkout_sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nAPI-Version: 2026-04-17\r\nContent-Type: application/json\r\nIdempotency-Key: t{i}\r\nContent-Length: 1000\r\n\r\n{{",
            server.pk
        );
        s.write_all(head.as_bytes()).await.unwrap();
        trickles.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let shed = exchange(
        &server.addr,
        b"GET /v1/merchant HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(shed.0, 503, "{shed:?}");
    assert!(shed.1.contains("\"code\":\"overloaded\""), "{shed:?}");
    // It waited its turn in line for `queue_wait_ms_max`, then was refused
    // without waiting for the stalled requests.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "waited in line: {waited:?}"
    );
    assert!(waited < Duration::from_secs(1), "shed fast: {waited:?}");
    assert!(
        healthz_ms(&server.addr).await < 1_000,
        "healthz is never shed"
    );

    // The stalled bodies end with a JSON 408, and the permits come back.
    for s in &mut trickles {
        let mut buf = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    }
    let after = exchange(
        &server.addr,
        b"GET /v1/merchant HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(
        after.0, 401,
        "served again (and refused for the missing key): {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_request_target_gets_a_json_414() {
    let server = start(&[]);
    let path = format!("/v1/orders/{}", "a".repeat(20_000));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (code, body) = exchange(&server.addr, request.as_bytes()).await.unwrap();
    assert_eq!(code, 414);
    assert!(body.contains("\"code\":\"uri_too_long\""), "{body}");
}
