//! The embedding example serves both its own routes and the registry.

use harbor_server::AppState;
use harbor_server::config::Config;

#[tokio::test]
async fn host_routes_and_registry_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.auth.admin_password = Some(harbor_server::config::Secret("Harbor12345".into()));
    let state = AppState::open(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, harbor_examples::app(state)).await });

    let c = reqwest::Client::new();
    let resp = c.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-served-by").is_none());
    assert_eq!(resp.text().await.unwrap(), "ok");

    // The registry is closed by default: anonymous callers are sent to the token service.
    let resp = c.get(format!("{base}/v2/")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("/service/token")
    );
    let resp = c
        .get(format!("{base}/v2/"))
        .basic_auth("admin", Some("Harbor12345"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-served-by"], "embedded-registry");
    assert_eq!(
        resp.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );

    // A blob pushed through the embedded registry is served back.
    let digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let resp = c
        .post(format!(
            "{base}/v2/library/demo/blobs/uploads/?digest={digest}"
        ))
        .basic_auth("admin", Some("Harbor12345"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let got = c
        .get(format!("{base}/v2/library/demo/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    // `library` is public: anonymous pulls work.
    assert_eq!(got.text().await.unwrap(), "hello");
}
