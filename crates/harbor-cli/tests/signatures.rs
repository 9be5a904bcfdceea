//! `harbor signature keys list|add|delete` and `harbor signature status` with the real
//! binary against the real server: a key trusted from its PEM file, an image signed as
//! cosign signs it shown signed and verified by that key, bad keys refused with the
//! server's reason and exit code 1, a missing file a usage error (2), an unknown key 4.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;
#[path = "../../harbor-server/tests/common/signing.rs"]
mod signing;
mod support;

use common::{ADMIN_PASSWORD, TestServer, create_project, push_image};
use signing::{CosignKey, cosign_payload, push_cosign_signature};
use support::{fails, harbor, json, ok};

#[tokio::test]
async fn signature_keys_and_status_from_the_command_line() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let o = harbor(
        h,
        &["login", &s.base, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    create_project(&s, "sig", false).await;
    let (digest, _) = push_image(&s, "sig/app", "v1", 1).await;

    let status = json(h, &["signature", "status", "sig/app:v1"]).await;
    assert_eq!(status["signed"], false);
    let shown = ok(h, &["signature", "status", "sig/app:v1"]).await;
    assert!(shown.contains("signed:") && shown.contains("no"), "{shown}");

    let key = CosignKey::generate();
    let pem = h.join("cosign.pub");
    std::fs::write(&pem, key.public_pem()).unwrap();
    let pem_arg = pem.display().to_string();
    let added = json(
        h,
        &[
            "signature",
            "keys",
            "add",
            "sig",
            "--name",
            "ci",
            "--file",
            &pem_arg,
        ],
    )
    .await;
    assert_eq!(added["name"], "ci");
    assert_eq!(added["kind"], "cosign");
    let id = added["id"].as_i64().unwrap().to_string();
    let listed = ok(h, &["signature", "keys", "list", "sig"]).await;
    assert!(
        listed.contains("ci") && listed.contains("cosign") && listed.contains("sha256:"),
        "{listed}"
    );

    let reference = format!("{}/sig/app", s.addr);
    push_cosign_signature(
        &s,
        "sig/app",
        &digest,
        &cosign_payload(&reference, &digest),
        &key,
    )
    .await;
    let status = json(h, &["signature", "status", &format!("sig/app@{digest}")]).await;
    assert_eq!(
        status,
        serde_json::json!({"signed": true, "verified": true, "kinds": ["cosign"], "key": "ci"})
    );
    let shown = ok(h, &["signature", "status", "sig/app:v1"]).await;
    assert!(
        shown.contains("verified:") && shown.contains("ci"),
        "{shown}"
    );

    // A private key, a missing file, an unknown key.
    let private = h.join("cosign.key");
    std::fs::write(&private, key.private_pem()).unwrap();
    let err = fails(
        h,
        &[
            "signature",
            "keys",
            "add",
            "sig",
            "--name",
            "bad",
            "--file",
            &private.display().to_string(),
        ],
        1,
    )
    .await;
    assert!(err.contains("no PEM \"PUBLIC KEY\" block"), "{err}");
    let err = fails(
        h,
        &[
            "signature",
            "keys",
            "add",
            "sig",
            "--name",
            "x",
            "--file",
            "/nonexistent.pem",
        ],
        2,
    )
    .await;
    assert!(err.contains("cannot read"), "{err}");
    ok(h, &["signature", "keys", "delete", "sig", &id]).await;
    fails(h, &["signature", "keys", "delete", "sig", &id], 4).await;
    let keys = json(h, &["signature", "keys", "list", "sig"]).await;
    assert_eq!(keys, serde_json::json!([]));
}
