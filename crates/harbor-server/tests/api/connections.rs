//! Connections that send nothing, or stall, do not stay open: silent connections (with or
//! without the HTTP/2 preface) and idle keep-alive connections are closed after the idle
//! time-out, the number of connections served at once is capped, and a request body that
//! stops before its `Content-Length` is answered `400` when it has been silent for the
//! body time-out (not a `500` when the request time limit runs out).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Waits until the server closes `c` (EOF or reset); how long that took.
async fn closed_within(c: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(t.elapsed()), c.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    let s = TestServer::start_configured(|c| c.limits.idle_timeout_secs = 1).await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(s.addr).await.unwrap());
    }
    let mut h2 = Vec::new();
    for _ in 0..20 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        h2.push(c);
    }
    // A keep-alive connection after one complete request.
    let mut kept = TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET /v2/ HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr);
    kept.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"));
    // Still open a moment later (the time-out is 1 s)...
    tokio::time::sleep(Duration::from_millis(300)).await;
    for c in silent.iter_mut().chain(h2.iter_mut()).chain([&mut kept]) {
        let mut b = [0u8; 64];
        match c.try_read(&mut b) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(n) if n > 0 => {} // an HTTP/2 SETTINGS frame
            other => panic!("closed too early: {other:?}"),
        }
    }
    // ... and closed by the server once idle for longer.
    for c in silent.iter_mut().chain(h2.iter_mut()).chain([&mut kept]) {
        let took = closed_within(c, Duration::from_secs(10)).await;
        took.expect("the server closed the connection");
    }
    // The server is still fine.
    assert_eq!(
        anon_client()
            .get(s.url("/v2/"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn connections_are_capped() {
    let s = TestServer::start_configured(|c| {
        c.limits.idle_timeout_secs = 2;
        c.limits.max_connections = 2;
    })
    .await;
    let held = [
        TcpStream::connect(s.addr).await.unwrap(),
        TcpStream::connect(s.addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third client is not served while two connections are open...
    let t = Instant::now();
    let third = tokio::spawn({
        let url = s.url("/v2/");
        async move { anon_client().get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!third.is_finished(), "served beyond the cap");
    // ... and is, once the idle ones are closed.
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a slot was free")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    drop(held);
}

#[tokio::test]
async fn a_body_shorter_than_its_length_is_a_prompt_400() {
    let s = TestServer::start_configured(|c| c.limits.body_idle_timeout_secs = 1).await;
    create_project(&s, "team", false).await;
    let auth = basic("admin", ADMIN_PASSWORD);
    for (method, path, kind) in [
        ("PUT", "/v2/team/app/manifests/v1", OCI_MANIFEST),
        ("POST", "/api/v2.0/projects", "application/json"),
        ("POST", "/login", "application/x-www-form-urlencoded"),
    ] {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n\
             Content-Type: {kind}\r\nContent-Length: 1000\r\n\r\n{{\"schemaVersion\"",
            s.addr
        );
        c.write_all(head.as_bytes()).await.unwrap();
        let t = Instant::now();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(15), c.read(&mut buf))
            .await
            .expect("an answer before the request time limit")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            t.elapsed()
        );
        if path.starts_with("/v2/") {
            assert!(answer.contains("MANIFEST_INVALID"), "{answer}");
        }
    }
}
