//! The whole HTTP stack in process, without sockets: push and pull of a blob and a
//! manifest through the axum router over the real SQLite + filesystem storage, to see
//! what the framework and storage cost per request.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harbor_server::AppState;
use harbor_server::config::Config;
use tower::ServiceExt;

fn sha(data: &[u8]) -> String {
    harbor_core::Digest::sha256(data).to_string()
}

fn req(method: Method, uri: &str, body: Vec<u8>, ct: Option<&str>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
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
    rt.block_on(async {
        for b in [&blob, &config_blob] {
            let (s, _) = call(req(
                Method::POST,
                &format!("/v2/bench/app/blobs/uploads/?digest={}", sha(b)),
                b.to_vec(),
                None,
            ))
            .await;
            assert_eq!(s, StatusCode::CREATED);
        }
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
            ))
            .await;
            assert_eq!(s, StatusCode::OK);
        })
    });
    g.finish();
}

criterion_group!(benches, router_bench);
criterion_main!(benches);
