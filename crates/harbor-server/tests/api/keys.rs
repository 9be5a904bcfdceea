//! The token-signing key at rest: sealed with the secret key (never in clear in the
//! database), refused at start-up with a clear error under another secret key, sealed on
//! start when an older version stored it in clear, and re-sealed when the secret key is
//! rotated; tokens issued before any of it keep working.

use harbor_auth::sealing::SealingKey;
use harbor_auth::token::SigningKey;
use harbor_core::ports::IdentityStore as _;
use reqwest::StatusCode;

use crate::common::*;
use crate::support::*;

async fn stored_key(s: &TestServer) -> Vec<u8> {
    let store = harbor_storage::SqlMetadataStore::connect(
        &s.database_url(),
        &harbor_storage::sql::PoolConfig::default(),
    )
    .await
    .unwrap();
    let k = store.signing_key(&[]).await.unwrap();
    store.close().await;
    k
}

#[tokio::test]
async fn the_signing_key_is_sealed_and_rotates_with_the_secret_key() {
    let s = TestServer::start_strict().await;
    let key = SigningKey::from_pkcs8(&s.token_signing_key().await).unwrap();
    let stored = stored_key(&s).await;
    assert!(SealingKey::is_sealed(&stored), "stored in clear");
    assert!(
        !stored.windows(key.pkcs8().len()).any(|w| w == key.pkcs8()),
        "the PKCS#8 key is readable in the database"
    );
    if std::env::var("HARBOR_TEST_BACKEND").as_deref() != Ok("scaled") {
        // Nor in the database file (or its journal) as a whole.
        for name in ["registry.db", "registry.db-wal"] {
            let bytes = std::fs::read(s.data_dir.join(name)).unwrap_or_default();
            assert!(
                !bytes.windows(key.pkcs8().len()).any(|w| w == key.pkcs8()),
                "{name}"
            );
        }
    }
    let token = token(
        &s,
        Some(("admin", ADMIN_PASSWORD)),
        "repository:library/app:pull",
    )
    .await;
    let token = token["token"].as_str().unwrap().to_owned();
    let bearer_ok = |s: &TestServer| {
        let url = s.url("/v2/");
        let b = bearer(&token);
        async move { b.get(url).send().await.unwrap().status() }
    };
    assert_eq!(bearer_ok(&s).await, StatusCode::OK);

    // Rotation: a new secret key, the old one named as previous: the signing key is
    // re-sealed, and the same signing key keeps earlier tokens valid.
    let old = s.config().sealing_keys().unwrap().0.to_hex();
    let new = SealingKey::generate().unwrap().to_hex();
    let s = s
        .restart_with(|c| {
            c.auth.secret_key = Some(harbor_storage::blob::Secret(new.clone()));
            c.auth.previous_secret_keys = vec![harbor_storage::blob::Secret(old.clone())];
        })
        .await;
    assert_eq!(bearer_ok(&s).await, StatusCode::OK);
    let resealed = stored_key(&s).await;
    assert_ne!(resealed, stored);
    let new_key = SealingKey::parse(&new).unwrap();
    assert_eq!(
        new_key.open(&resealed, "token signing key").unwrap(),
        key.pkcs8()
    );
    assert!(
        SealingKey::parse(&old)
            .unwrap()
            .open(&resealed, "token signing key")
            .is_err()
    );
    // The new key alone now does.
    let s = s
        .restart_with(|c| c.auth.previous_secret_keys.clear())
        .await;
    assert_eq!(bearer_ok(&s).await, StatusCode::OK);

    // Another replica with another secret key refuses to start, saying why.
    let mut config = s.config().clone();
    config.auth.secret_key = Some(harbor_storage::blob::Secret(old.clone()));
    config.data_dir = tempfile::tempdir().unwrap().keep();
    config.database.url = Some(s.database_url());
    let err = harbor_server::AppState::open(&config)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("sealed with another secret key"),
        "{err}"
    );

    // A key stored in clear by an older version is sealed at the next start.
    let store = harbor_storage::SqlMetadataStore::connect(
        &s.database_url(),
        &harbor_storage::sql::PoolConfig::default(),
    )
    .await
    .unwrap();
    let current = store.signing_key(&[]).await.unwrap();
    assert!(
        store
            .replace_signing_key(&current, key.pkcs8())
            .await
            .unwrap()
    );
    store.close().await;
    let s = s.restart().await;
    assert!(SealingKey::is_sealed(&stored_key(&s).await));
    assert_eq!(bearer_ok(&s).await, StatusCode::OK);
}
