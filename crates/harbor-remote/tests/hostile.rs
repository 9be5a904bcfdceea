//! What Distribution cannot be made to do, from small axum servers on loopback: rate
//! limits, outages, a token service with scope checks, lying blobs, huge manifests,
//! redirects and token realms on refused addresses, a server that never answers.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use common::*;
use futures::StreamExt;
use harbor_core::Digest;
use harbor_core::manifest::OCI_MANIFEST;
use harbor_remote::{
    AddressPolicy, Client, ClientOptions, Credential, Endpoint, Error, RetryPolicy,
};

/// Serves `handler` for every request on a fresh loopback port.
async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().fallback(move |req: Request| {
        let h = handler.clone();
        async move { h(req).await }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn client(addr: SocketAddr, options: ClientOptions) -> Client {
    Client::new(Endpoint::new(format!("http://{addr}")), options).expect("client")
}

fn manifest_body() -> Bytes {
    Bytes::from_static(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#)
}

fn manifest_response(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, OCI_MANIFEST.to_owned()),
            (
                header::HeaderName::from_static("docker-content-digest"),
                Digest::sha256(&body).to_string(),
            ),
        ],
        body,
    )
        .into_response()
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let addr = serve(move |_req| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "1")],
                    "slow down",
                )
                    .into_response()
            } else {
                manifest_response(manifest_body())
            }
        }
    })
    .await;
    let started = Instant::now();
    let m = client(addr, test_options())
        .get_manifest(&repo("a/b"), &tag("v1"))
        .await
        .expect("second attempt succeeds");
    assert_eq!(m.bytes, manifest_body());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(950),
        "waited as told: {took:?}"
    );

    // A Retry-After beyond the cap waits only the cap.
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let addr = serve(move |_req| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "3600")],
                    "",
                )
                    .into_response()
            } else {
                manifest_response(manifest_body())
            }
        }
    })
    .await;
    let options = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(300),
        },
        ..test_options()
    };
    let started = Instant::now();
    client(addr, options)
        .get_manifest(&repo("a/b"), &tag("v1"))
        .await
        .expect("capped wait");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn persistent_503_gives_up_with_a_clear_error() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let addr = serve(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        async move {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}"#,
            )
                .into_response()
        }
    })
    .await;
    let err = client(addr, test_options())
        .get_manifest(&repo("a/b"), &tag("v1"))
        .await
        .expect_err("gives up");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "max_attempts");
    match &err {
        Error::Registry {
            status,
            code,
            message,
        } => {
            assert_eq!(*status, 503);
            assert_eq!(code.as_deref(), Some("UNAVAILABLE"));
            assert!(message.contains("maintenance"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert!(err.is_transient());
}

#[derive(Default)]
struct TokenLog {
    token_requests: Vec<String>,
}

/// A registry whose token service at `/token` wants `alice:secret` and issues a token per
/// scope; `/v2/...` wants a token with the scope the operation needs.
async fn token_registry(realm_override: Option<String>) -> (SocketAddr, Arc<Mutex<TokenLog>>) {
    let log = Arc::new(Mutex::new(TokenLog::default()));
    let l = log.clone();
    let addr_cell: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
    let cell = addr_cell.clone();
    let addr = serve(move |req: Request| {
        let log = l.clone();
        let cell = cell.clone();
        let realm_override = realm_override.clone();
        async move {
            let addr = cell.lock().expect("lock").expect("addr set");
            let path = req.uri().path().to_owned();
            let query = req.uri().query().unwrap_or("").to_owned();
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if path == "/token" {
                log.lock().expect("lock").token_requests.push(query.clone());
                // "alice:secret" in base64.
                if auth != "Basic YWxpY2U6c2VjcmV0" {
                    return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
                }
                let scopes: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
                    .filter(|(k, _)| k == "scope")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                let token = format!("tok:{}", scopes.join(" "));
                return axum::Json(serde_json::json!({"token": token, "expires_in": 300}))
                    .into_response();
            }
            let needed = match (req.method().as_str(), path.as_str()) {
                (_, "/v2/") => String::new(),
                ("PUT", _) => "repository:team/app:pull,push".to_owned(),
                _ => "repository:team/app:pull".to_owned(),
            };
            let ok = auth
                .strip_prefix("Bearer tok:")
                .is_some_and(|scopes| needed.is_empty() || scopes.split(' ').any(|s| s == needed));
            if !ok {
                let realm = realm_override.unwrap_or_else(|| format!("http://{addr}/token"));
                let challenge = if needed.is_empty() {
                    format!(r#"Bearer realm="{realm}",service="hostile""#)
                } else {
                    format!(r#"Bearer realm="{realm}",service="hostile",scope="{needed}""#)
                };
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, challenge)],
                    "",
                )
                    .into_response();
            }
            match (req.method().as_str(), path.as_str()) {
                ("GET", "/v2/") => StatusCode::OK.into_response(),
                ("GET", "/v2/team/app/manifests/v1") => manifest_response(manifest_body()),
                ("PUT", "/v2/team/app/manifests/v2") => {
                    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                        .await
                        .unwrap_or_default();
                    (
                        StatusCode::CREATED,
                        [(
                            header::HeaderName::from_static("docker-content-digest"),
                            Digest::sha256(&body).to_string(),
                        )],
                    )
                        .into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    })
    .await;
    *addr_cell.lock().expect("lock") = Some(addr);
    (addr, log)
}

fn token_client(addr: SocketAddr, password: &str, options: ClientOptions) -> Client {
    Client::new(
        Endpoint::new(format!("http://{addr}"))
            .with_credential(Credential::basic("alice", password)),
        options,
    )
    .expect("client")
}

#[tokio::test]
async fn bearer_tokens_per_scope_are_fetched_and_cached() {
    let (addr, log) = token_registry(None).await;
    let c = token_client(addr, "secret", test_options());
    assert!(c.ping().await.expect("ping"));
    let r = repo("team/app");
    for _ in 0..3 {
        let m = c.get_manifest(&r, &tag("v1")).await.expect("pull");
        assert_eq!(m.bytes, manifest_body());
    }
    let pulls = |log: &Arc<Mutex<TokenLog>>| {
        log.lock()
            .expect("lock")
            .token_requests
            .iter()
            .filter(|q| q.contains("scope=repository%3Ateam%2Fapp%3Apull") && !q.contains("push"))
            .count()
    };
    assert_eq!(
        pulls(&log),
        1,
        "one pull token, cached: {:?}",
        log.lock().expect("lock").token_requests
    );
    assert!(
        log.lock()
            .expect("lock")
            .token_requests
            .iter()
            .all(|q| q.contains("service=hostile"))
    );

    // A push needs pull,push: a second token, cached too.
    for _ in 0..2 {
        c.put_manifest(&r, &tag("v2"), manifest_body(), OCI_MANIFEST)
            .await
            .expect("push");
    }
    let push_tokens = log
        .lock()
        .expect("lock")
        .token_requests
        .iter()
        .filter(|q| q.contains("pull%2Cpush"))
        .count();
    assert_eq!(push_tokens, 1);

    // Wrong password: the token service refuses, the client says so.
    let bad = token_client(addr, "wrong", test_options());
    assert!(!bad.ping().await.expect("ping answers false"));
    let err = bad.get_manifest(&r, &tag("v1")).await.expect_err("refused");
    assert!(
        matches!(err, Error::Unauthorized(ref m) if m.contains("alice")),
        "{err}"
    );
}

#[tokio::test]
async fn token_realm_on_a_refused_address() {
    for (realm, needle) in [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.1.2.3/token", "allow_private"),
    ] {
        let (addr, _log) = token_registry(Some(realm.to_owned())).await;
        let err = token_client(addr, "secret", test_options())
            .get_manifest(&repo("team/app"), &tag("v1"))
            .await
            .expect_err("refused realm");
        match &err {
            Error::AddressRefused { reason, .. } => assert!(reason.contains(needle), "{reason}"),
            other => panic!("{realm}: {other}"),
        }
    }
}

#[tokio::test]
async fn endpoint_on_loopback_is_refused_by_default() {
    let addr = serve(|_req| async { StatusCode::OK.into_response() }).await;
    let strict = ClientOptions {
        address_policy: AddressPolicy::default(),
        ..test_options()
    };
    let err = client(addr, strict.clone())
        .ping()
        .await
        .expect_err("IP literal");
    assert!(
        matches!(err, Error::AddressRefused { ref reason, .. } if reason.contains("allow_loopback")),
        "{err}"
    );
    // A name is checked after resolution, by the resolver.
    let by_name = Client::new(
        Endpoint::new(format!("http://localhost:{}", addr.port())),
        strict,
    )
    .expect("client");
    let err = by_name.ping().await.expect_err("resolved loopback");
    assert!(
        matches!(err, Error::AddressRefused { ref host, .. } if host == "localhost"),
        "{err}"
    );
    // Listed explicitly, it is allowed.
    let listed = ClientOptions {
        address_policy: AddressPolicy {
            allowed_hosts: vec!["localhost".into()],
            ..Default::default()
        },
        ..test_options()
    };
    let c = Client::new(
        Endpoint::new(format!("http://localhost:{}", addr.port())),
        listed,
    )
    .expect("client");
    assert!(c.ping().await.expect("allowed"));
}

#[tokio::test]
async fn a_blob_that_lies_about_its_digest_is_not_passed_on() {
    let claimed = Digest::sha256(b"the real content");
    let served = Bytes::from(vec![b'x'; 64 * 1024]);
    let claimed_path = format!("/v2/a/b/blobs/{claimed}");
    let received: Arc<Mutex<Vec<Result<usize, String>>>> = Arc::new(Mutex::new(Vec::new()));
    let rec = received.clone();
    let addr = serve(move |req: Request| {
        let served = served.clone();
        let claimed_path = claimed_path.clone();
        let rec = rec.clone();
        async move {
            let path = req.uri().path().to_owned();
            match req.method().as_str() {
                "GET" if path == claimed_path => served.into_response(),
                "POST" => (
                    StatusCode::ACCEPTED,
                    [(header::LOCATION, "/upload/1?state=x")],
                )
                    .into_response(),
                "PUT" if path == "/upload/1" => {
                    let got = axum::body::to_bytes(req.into_body(), 1 << 22).await;
                    rec.lock()
                        .expect("lock")
                        .push(got.map(|b| b.len()).map_err(|e| e.to_string()));
                    StatusCode::CREATED.into_response()
                }
                "DELETE" => StatusCode::NO_CONTENT.into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    })
    .await;
    let c = client(addr, test_options());
    let r = repo("a/b");
    let blob = c.get_blob(&r, &claimed).await.expect("headers");
    assert_eq!(blob.size, 64 * 1024);
    let err = collect(blob).await.expect_err("mismatch");
    assert!(
        matches!(err, Error::DigestMismatch { ref expected, .. } if *expected == claimed),
        "{err}"
    );

    // Piped into an upload, the destination never receives the whole body.
    let blob = c.get_blob(&r, &claimed).await.expect("headers");
    let err = c
        .push_blob(&r, &claimed, blob.size, blob.stream)
        .await
        .expect_err("upload fails");
    assert!(
        matches!(err, Error::DigestMismatch { .. }),
        "the source's error is reported: {err}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let received = received.lock().expect("lock");
    assert!(
        received
            .iter()
            .all(|r| r.as_ref().map_or(true, |n| *n < 64 * 1024)),
        "no complete body arrived: {received:?}"
    );
}

#[tokio::test]
async fn oversized_manifests_are_refused() {
    let big = Bytes::from(vec![b' '; 5 * 1024 * 1024]);
    let addr = serve(move |req: Request| {
        let big = big.clone();
        async move {
            if req.uri().path().ends_with("/sized") {
                manifest_response(big)
            } else {
                // Chunked, no Content-Length: the limit must hold while reading.
                let chunks = futures::stream::iter(
                    (0..80).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 * 1024]))),
                );
                (
                    [(header::CONTENT_TYPE, OCI_MANIFEST)],
                    Body::from_stream(chunks),
                )
                    .into_response()
            }
        }
    })
    .await;
    let c = client(addr, test_options());
    for t in ["sized", "streamed"] {
        let err = c
            .get_manifest(&repo("a/b"), &tag(t))
            .await
            .expect_err("too large");
        assert!(
            matches!(err, Error::ManifestTooLarge { limit } if limit == 4 * 1024 * 1024),
            "{t}: {err}"
        );
    }
}

#[tokio::test]
async fn redirects_to_refused_addresses_are_not_followed() {
    let digest = Digest::sha256(b"content");
    let addr = serve(move |req: Request| async move {
        let target = if req.uri().path().contains("meta") {
            "http://169.254.169.254/latest/meta-data/"
        } else {
            "http://192.168.1.10/storage/blob"
        };
        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response()
    })
    .await;
    let c = client(addr, test_options());
    for (r, needle) in [("meta/x", "169.254.169.254"), ("lan/x", "192.168.1.10")] {
        let err = c
            .get_blob(&repo(r), &digest)
            .await
            .expect_err("refused redirect");
        assert!(
            matches!(err, Error::AddressRefused { ref host, .. } if host == needle),
            "{r}: {err}"
        );
    }
}

#[tokio::test]
async fn redirect_to_storage_drops_credentials() {
    let data = Bytes::from_static(b"blob bytes from storage");
    let digest = Digest::sha256(&data);
    let seen_auth: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(Vec::new()));
    let s = seen_auth.clone();
    let d2 = data.clone();
    let storage = serve(move |req: Request| {
        let s = s.clone();
        let d2 = d2.clone();
        async move {
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            s.lock().expect("lock").push(auth);
            d2.into_response()
        }
    })
    .await;
    // The registry answers on 127.0.0.1, storage on "localhost": another host.
    let registry = serve(move |req: Request| async move {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, r#"Basic realm="r""#)],
            )
                .into_response();
        }
        let loc = format!("http://localhost:{}/s/blob", storage.port());
        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, loc)]).into_response()
    })
    .await;
    let c = Client::new(
        Endpoint::new(format!("http://{registry}")).with_credential(Credential::basic("u", "p")),
        test_options(),
    )
    .expect("client");
    let blob = c.get_blob(&repo("a/b"), &digest).await.expect("redirected");
    assert_eq!(collect(blob).await.expect("verified"), data);
    assert_eq!(
        *seen_auth.lock().expect("lock"),
        vec![None],
        "no credentials sent to storage"
    );
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, never answer
        }
    });
    let options = ClientOptions {
        request_timeout: Duration::from_millis(400),
        retry: RetryPolicy {
            max_attempts: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        },
        ..test_options()
    };
    let started = Instant::now();
    let err = client(addr, options)
        .get_manifest(&repo("a/b"), &tag("v1"))
        .await
        .expect_err("timeout");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "two attempts: {took:?}"
    );

    // A blob stream that stalls trips the idle timeout.
    let addr = serve(|_req| async {
        let stalled =
            futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"part")) })
                .chain(futures::stream::pending());
        (
            [(header::CONTENT_LENGTH, "100")],
            Body::from_stream(stalled),
        )
            .into_response()
    })
    .await;
    let options = ClientOptions {
        stream_idle_timeout: Duration::from_millis(300),
        ..test_options()
    };
    let blob = client(addr, options)
        .get_blob(&repo("a/b"), &Digest::sha256(b"x"))
        .await
        .expect("headers arrive");
    let started = Instant::now();
    let err = collect(blob).await.expect_err("stalled");
    assert!(
        matches!(err, Error::Timeout(_) | Error::Network(_)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn tag_pages_follow_relative_and_absolute_links() {
    let all: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    let addr_cell: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
    let cell = addr_cell.clone();
    let tags = all.clone();
    let addr = serve(move |req: Request| {
        let tags = tags.clone();
        let cell = cell.clone();
        async move {
            let addr = cell.lock().expect("lock").expect("addr");
            let q: Vec<(String, String)> =
                url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            let n: usize = q
                .iter()
                .find(|(k, _)| k == "n")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(2);
            let last = q.iter().find(|(k, _)| k == "last").map(|(_, v)| v.clone());
            let start = last.map_or(0, |l| {
                tags.iter()
                    .position(|t| *t == l)
                    .map_or(tags.len(), |i| i + 1)
            });
            let page: Vec<&String> = tags.iter().skip(start).take(n).collect();
            let body = serde_json::json!({"name": "a/b", "tags": page});
            let mut resp = axum::Json(body).into_response();
            if let Some(last) = page.last().filter(|_| start + n < tags.len()) {
                // Alternate relative and absolute Links.
                let link = if start == 0 {
                    format!("</v2/a/b/tags/list?n={n}&last={last}>; rel=\"next\"")
                } else {
                    format!("<http://{addr}/v2/a/b/tags/list?n={n}&last={last}>; rel=\"next\"")
                };
                resp.headers_mut()
                    .insert(header::LINK, link.parse().expect("link"));
            }
            resp
        }
    })
    .await;
    *addr_cell.lock().expect("lock") = Some(addr);
    let c = client(addr, test_options());
    let r = repo("a/b");
    let first = c.tags_page(&r, Some(2), None).await.expect("page");
    assert_eq!(first.items, all[..2].to_vec());
    assert_eq!(
        first.next.as_ref().map(|u| u.path()),
        Some("/v2/a/b/tags/list")
    );
    assert_eq!(c.tags_paginated(&r, Some(2)).await.expect("all"), all);
    assert_eq!(c.tags(&r).await.expect("all"), all);
}

#[tokio::test]
async fn destination_refusals_say_why() {
    let addr = serve(|req: Request| async move {
        let (status, code, message) = match req.uri().path() {
            "/v2/q/forbidden/manifests/v1" => (
                403,
                "DENIED",
                "Quota exceeded when processing the request of adding 1.0 MiB of storage resource",
            ),
            "/v2/q/precondition/manifests/v1" => {
                (412, "PRECONDITION", "the quota of project q is exceeded")
            }
            "/v2/q/immutable/manifests/v1" => (412, "PRECONDITION", "the tag v1 is immutable"),
            _ => (403, "DENIED", "requested access to the resource is denied"),
        };
        let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
        (
            StatusCode::from_u16(status).expect("status"),
            axum::Json(body),
        )
            .into_response()
    })
    .await;
    let c = client(addr, test_options());
    let put = |r: &'static str| {
        let c = c.clone();
        async move {
            c.put_manifest(&repo(r), &tag("v1"), manifest_body(), OCI_MANIFEST)
                .await
                .expect_err("refused")
        }
    };
    let err = put("q/forbidden").await;
    assert!(
        matches!(err, Error::QuotaExceeded(ref m) if m.contains("Quota exceeded")),
        "{err}"
    );
    let err = put("q/precondition").await;
    assert!(matches!(err, Error::QuotaExceeded(_)), "{err}");
    let err = put("q/immutable").await;
    assert!(
        matches!(err, Error::Registry { status: 412, ref code, .. } if code.as_deref() == Some("PRECONDITION")),
        "{err}"
    );
    let err = put("q/other").await;
    assert!(
        matches!(err, Error::Denied(ref m) if m.contains("denied")),
        "{err}"
    );
    assert!(!err.is_transient());
}
