//! A webhook receiver on loopback for tests: an axum server that records every request
//! (path, headers, JSON body) and answers as scripted (statuses, or holding a request).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// What the receiver does with a request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Status(u16),
    /// Holds the request this long, then answers 200.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    /// Replies to give, in order; then 200.
    script: VecDeque<Reply>,
    /// Replies to give once the script is over (default 200).
    then: Option<Reply>,
    got: Vec<Received>,
    in_flight: usize,
}

/// A webhook receiver on loopback.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    scheme: &'static str,
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            addr,
            inner,
            scheme: "http",
        }
    }

    /// A receiver whose listener and app `serve` runs (spawning its own task), reached
    /// with `scheme` (such as `https` for a TLS server of the test's own).
    pub async fn start_with(
        scheme: &'static str,
        serve: impl FnOnce(tokio::net::TcpListener, axum::Router),
    ) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, app);
        Receiver {
            addr,
            inner,
            scheme,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn script(&self, replies: &[Reply], then: Option<Reply>) {
        let mut i = self.inner.lock().unwrap();
        i.script = replies.iter().copied().collect();
        i.then = then;
    }

    pub fn got(&self) -> Vec<Received> {
        self.inner.lock().unwrap().got.clone()
    }

    pub fn in_flight(&self) -> usize {
        self.inner.lock().unwrap().in_flight
    }

    /// Waits (at most 20 s) until `n` requests came.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver got {} requests, not {n}", self.got().len());
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let reply = {
        let mut i = inner.lock().unwrap();
        i.got.push(Received {
            path: uri.path().to_owned(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        i.in_flight += 1;
        let next = i.script.pop_front();
        next.or(i.then).unwrap_or(Reply::Status(200))
    };
    let status = match reply {
        Reply::Status(s) => s,
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            200
        }
    };
    inner.lock().unwrap().in_flight -= 1;
    StatusCode::from_u16(status).unwrap()
}
