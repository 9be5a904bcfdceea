//! The whole HTTP stack in process, without sockets: push and pull of a blob and a
//! manifest through the axum router over the real SQLite + filesystem storage, to see
//! what the framework and storage cost per request.
//!
//! The registry is closed by default, so the requests carry a registry token, fetched
//! once at set-up from `/service/token` (through the router) with the admin account's
//! Basic credentials, as Docker clients do, after creating the project `bench` through
//! the REST API (a token issued before its project existed is refused). Two more
//! measurements show what authentication costs: a manifest GET with Basic credentials
//! (a password check, from the verification cache, and a user lookup per request instead
//! of a token check) and a token fetch itself.

use axum::body::Body;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harbor_server::AppState;
use harbor_server::config::Config;
use tower::ServiceExt;

fn sha(data: &[u8]) -> String {
    harbor_core::Digest::sha256(data).to_string()
}

const ADMIN_PASSWORD: &str = "Bench-router-1";

fn basic() -> String {
    format!(
        "Basic {}",
        harbor_benches::auth::base64(format!("admin:{ADMIN_PASSWORD}").as_bytes())
    )
}

fn req(
    method: Method,
    uri: &str,
    body: Vec<u8>,
    ct: Option<&str>,
    auth: &HeaderValue,
) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(AUTHORIZATION, auth.clone());
    if let Some(ct) = ct {
        r = r.header("content-type", ct);
    }
    r.body(Body::from(body)).expect("request")
}

fn router_bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.storage.fsync = false;
    // The admin password, as HARBOR_ADMIN_PASSWORD would set it.
    config
        .apply_env(|k| (k == "HARBOR_ADMIN_PASSWORD").then(|| ADMIN_PASSWORD.into()))
        .expect("auth settings");
    // Long enough for a full (non-quick) run: the token is fetched once.
    config.auth.token_ttl_secs = 24 * 3600;
    let app = rt
        .block_on(async { harbor_server::router(AppState::open(&config).await.expect("storage")) });
    let call = |r: Request<Body>| {
        let app = app.clone();
        async move {
            let resp = app.oneshot(r).await.expect("infallible");
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, body)
        }
    };

    let blob = vec![7u8; 64 * 1024];
    let digest = sha(&blob);
    let config_blob = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config_blob), "size": config_blob.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": blob.len()}]
    }))
    .expect("json");
    let basic = HeaderValue::from_str(&basic()).expect("header");
    let token_uri =
        "/service/token?service=harbor-registry&scope=repository%3Abench%2Fapp%3Apull%2Cpush";
    let bearer = rt.block_on(async {
        let (s, body) = call(req(
            Method::POST,
            "/api/v2.0/projects",
            br#"{"project_name":"bench","metadata":{"public":"false"}}"#.to_vec(),
            Some("application/json"),
            &basic,
        ))
        .await;
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
        let (s, body) = call(req(Method::GET, token_uri, vec![], None, &basic)).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let v: serde_json::Value = serde_json::from_slice(&body).expect("token JSON");
        let token = v["token"].as_str().expect("token");
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header")
    });
    let auth = &bearer;
    rt.block_on(async {
        for b in [&blob, &config_blob] {
            let (s, _) = call(req(
                Method::POST,
                &format!("/v2/bench/app/blobs/uploads/?digest={}", sha(b)),
                b.to_vec(),
                None,
                auth,
            ))
            .await;
            assert_eq!(s, StatusCode::CREATED);
        }
        // The manifest the GET and HEAD benchmarks read, also when run on their own.
        let (s, _) = call(req(
            Method::PUT,
            "/v2/bench/app/manifests/latest",
            manifest.clone(),
            Some("application/vnd.oci.image.manifest.v1+json"),
            auth,
        ))
        .await;
        assert_eq!(s, StatusCode::CREATED);
    });

    let mut g = c.benchmark_group("router (in process)");
    g.throughput(Throughput::Bytes(blob.len() as u64));
    g.bench_function("blob push, 64 KiB monolithic", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(
                Method::POST,
                &format!("/v2/bench/app/blobs/uploads/?digest={digest}"),
                blob.clone(),
                None,
                auth,
            ))
            .await;
            assert_eq!(s, StatusCode::CREATED);
        })
    });
    g.bench_function("blob pull, 64 KiB", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, body) = call(req(
                Method::GET,
                &format!("/v2/bench/app/blobs/{digest}"),
                vec![],
                None,
                auth,
            ))
            .await;
            assert_eq!((s, body.len()), (StatusCode::OK, blob.len()));
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("manifest push by tag", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(
                Method::PUT,
                "/v2/bench/app/manifests/latest",
                manifest.clone(),
                Some("application/vnd.oci.image.manifest.v1+json"),
                auth,
            ))
            .await;
            assert_eq!(s, StatusCode::CREATED);
        })
    });
    g.bench_function("manifest GET by tag", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(
                Method::GET,
                "/v2/bench/app/manifests/latest",
                vec![],
                None,
                auth,
            ))
            .await;
            assert_eq!(s, StatusCode::OK);
        })
    });
    g.bench_function("manifest HEAD by tag", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(
                Method::HEAD,
                "/v2/bench/app/manifests/latest",
                vec![],
                None,
                auth,
            ))
            .await;
            assert_eq!(s, StatusCode::OK);
        })
    });
    g.bench_function("manifest GET by tag, Basic auth", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(
                Method::GET,
                "/v2/bench/app/manifests/latest",
                vec![],
                None,
                &basic,
            ))
            .await;
            assert_eq!(s, StatusCode::OK);
        })
    });
    g.bench_function("token fetch (/service/token, Basic)", |b| {
        b.to_async(&rt).iter(|| async {
            let (s, _) = call(req(Method::GET, token_uri, vec![], None, &basic)).await;
            assert_eq!(s, StatusCode::OK);
        })
    });
    g.finish();
}

criterion_group!(benches, router_bench);
criterion_main!(benches);
