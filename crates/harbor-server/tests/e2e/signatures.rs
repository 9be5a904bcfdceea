//! The cosign signature policy with real clients: the scanner's fixture Debian image
//! pushed, refused to skopeo and podman once `enable_content_trust_cosign` is on (Harbor's
//! message on their stderr), signed in the test exactly as cosign signs (a P-256 key
//! pair, the simple-signing payload, the `sha256-<hex>.sig` manifest), then pulled; the
//! with the key trusted the signature verifies
//! (`signature_status`), with only another key trusted, or for a payload naming another
//! image, it is refused. (Debian's skopeo can neither sign nor verify sigstore
//! signatures: both are patched out, "Debian-local change: sigstore disabled"; neither
//! cosign nor notation is packaged in Debian or PyPI.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::prevent_vul::push_debian;
use crate::signing::*;
use crate::{admin_creds, find_tool, run};

const NOT_SIGNED: &str = "The image is not signed by cosign.";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Pulls `image` with skopeo (into an OCI layout) and podman (into its own vfs store):
/// each one's (success, stderr).
async fn pull(
    skopeo: &str,
    podman: Option<&str>,
    work: &std::path::Path,
    image: &str,
) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let dest = work.join("pulled");
    let _ = std::fs::remove_dir_all(&dest);
    let o = run(
        skopeo,
        s(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &admin_creds(),
            &format!("docker://{image}"),
            &format!("oci:{}:pulled", dest.display()),
        ]),
    )
    .await;
    out.push((
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ));
    if let Some(podman) = podman {
        let store = work.join("store");
        let root = store.join("root").display().to_string();
        let runroot = store.join("run").display().to_string();
        let base = [
            "--root",
            &root,
            "--runroot",
            &runroot,
            "--storage-driver",
            "vfs",
        ];
        let mut args = s(&base);
        args.extend(s(&[
            "pull",
            "--tls-verify=false",
            "--creds",
            &admin_creds(),
            image,
        ]));
        let o = run(podman, args).await;
        out.push((
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ));
        let mut args = s(&base);
        args.extend(s(&["rmi", "--all", "--force"]));
        let _ = run(podman, args).await;
    }
    out
}

async fn refused(skopeo: &str, podman: Option<&str>, work: &std::path::Path, image: &str) {
    for (ok, stderr) in pull(skopeo, podman, work, image).await {
        assert!(!ok, "the pull of {image} went through");
        assert!(
            stderr.contains(NOT_SIGNED),
            "expected {NOT_SIGNED:?} in {stderr}"
        );
    }
}

async fn passes(skopeo: &str, podman: Option<&str>, work: &std::path::Path, image: &str) {
    for (ok, stderr) in pull(skopeo, podman, work, image).await {
        assert!(ok, "the pull of {image} failed: {stderr}");
    }
}

async fn admin_call(srv: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = send(&client(), srv, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    if r.status() == StatusCode::OK || r.status() == StatusCode::CREATED {
        r.json().await.unwrap_or(Value::Null)
    } else {
        Value::Null
    }
}

#[tokio::test]
async fn skopeo_signs_and_skopeo_and_podman_pull_under_the_cosign_policy() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    let podman = find_tool("HARBOR_TEST_PODMAN", "podman", &["--version"]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let key = CosignKey::generate();
    std::fs::write(w.join("cosign.pub"), key.public_pem()).unwrap();

    let srv = TestServer::start().await;
    create_project(&srv, "signed", false).await;
    let digest = push_debian(&srv, "signed/app").await;
    let image = format!("{}/signed/app:1", srv.addr);
    let podman = podman.as_deref();

    // Off: pulled; keep a copy to sign from.
    passes(&skopeo, podman, w, &image).await;
    let src = w.join("src");
    let o = run(
        &skopeo,
        s(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &admin_creds(),
            &format!("docker://{image}"),
            &format!("oci:{}:src", src.display()),
        ]),
    )
    .await;
    assert!(o.status.success());

    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/projects/signed",
        Some(json!({"metadata": {"enable_content_trust_cosign": "true"}})),
    )
    .await;
    refused(&skopeo, podman, w, &image).await;

    // Signed as cosign signs it.
    let reference = format!("{}/signed/app", srv.addr);
    push_cosign_signature(
        &srv,
        "signed/app",
        &digest,
        &cosign_payload(&reference, &digest),
        &key,
    )
    .await;
    let accessories: Vec<Value> = client()
        .get(srv.url(&format!(
            "/api/v2.0/projects/signed/repositories/app/artifacts/{digest}/accessories"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(accessories.len(), 1, "{accessories:?}");
    assert_eq!(accessories[0]["type"], "signature.cosign");
    passes(&skopeo, podman, w, &image).await;

    // Trusting skopeo's key: verified by it.
    let public = key.public_pem();
    let keys = "/api/v2.0/projects/signed/signature/keys";
    let ci = admin_call(
        &srv,
        Method::POST,
        keys,
        Some(json!({"kind": "cosign", "name": "ci", "pem": public})),
    )
    .await;
    passes(&skopeo, podman, w, &image).await;
    let a = admin_call(
        &srv,
        Method::GET,
        &format!(
            "/api/v2.0/projects/signed/repositories/app/artifacts/{digest}?with_signature=true"
        ),
        None,
    )
    .await;
    assert_eq!(
        a["signature_status"],
        json!({"signed": true, "verified": true, "kinds": ["cosign"], "key": "ci"})
    );

    // Only another key trusted: the signature no longer counts.
    admin_call(
        &srv,
        Method::POST,
        keys,
        Some(json!({"kind": "cosign", "name": "other", "pem": CosignKey::generate().public_pem()})),
    )
    .await;
    admin_call(&srv, Method::DELETE, &format!("{keys}/{}", ci["id"]), None).await;
    refused(&skopeo, podman, w, &image).await;

    // Trusted again; a copy tagged `2` by a new manifest digest whose signature's payload
    // names the first image (tampered) is refused; the first is pulled.
    admin_call(
        &srv,
        Method::POST,
        keys,
        Some(json!({"kind": "cosign", "name": "ci", "pem": key.public_pem()})),
    )
    .await;
    let mut m: Value = client()
        .get(srv.url(&format!("/v2/signed/app/manifests/{digest}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    m["annotations"] = json!({"copy": "2"});
    let copy = serde_json::to_vec(&m).unwrap();
    let r = put_manifest(&srv, "signed/app", "2", OCI_MANIFEST, &copy).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let second = sha256(&copy);
    push_cosign_signature(
        &srv,
        "signed/app",
        &second,
        &cosign_payload(&reference, &digest),
        &key,
    )
    .await;
    refused(&skopeo, podman, w, &format!("{}/signed/app:2", srv.addr)).await;
    passes(&skopeo, podman, w, &image).await;
}
