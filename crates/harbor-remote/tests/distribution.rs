//! The client and the copy engine against CNCF Distribution (`docker-registry`, path in
//! `HARBOR_TEST_DISTRIBUTION`), one fresh registry per test on a loopback port.

mod common;

use std::time::Duration;

use common::*;
use harbor_core::Digest;
use harbor_core::manifest::OCI_MANIFEST;
use harbor_remote::{
    CancellationToken, ClientOptions, CopyError, CopyOptions, Error, Location, Outcome,
    RateLimiter, Seen, copy_artifact,
};

#[tokio::test]
async fn ping_with_without_and_with_wrong_credentials() {
    let Some(d) = Distribution::start(Some(("alice", "right-password"))).await else {
        return;
    };
    assert!(!d.client().ping().await.expect("anonymous ping"));
    assert!(
        !d.client_as("alice", "wrong")
            .ping()
            .await
            .expect("wrong ping")
    );
    assert!(
        !d.client_as("bob", "right-password")
            .ping()
            .await
            .expect("unknown user ping")
    );
    let good = d.client_as("alice", "right-password");
    assert!(good.ping().await.expect("ping"));

    // Operations say why they fail.
    let r = repo("team/app");
    let err = d
        .client_as("alice", "wrong")
        .tags(&r)
        .await
        .expect_err("wrong password");
    assert!(
        matches!(err, Error::Unauthorized(ref m) if m.contains("alice")),
        "{err}"
    );
    let err = d.client().tags(&r).await.expect_err("anonymous");
    assert!(
        matches!(err, Error::Unauthorized(ref m) if m.contains("requires credentials")),
        "{err}"
    );
    // With the right credentials the whole protocol works through Basic auth.
    let img = push_image(&good, &r, "v1", &[random_bytes(1000)]).await;
    let m = good.get_manifest(&r, &tag("v1")).await.expect("get");
    assert_eq!(m.digest, img.digest);

    let Some(open) = Distribution::start(None).await else {
        return;
    };
    assert!(open.client().ping().await.expect("open registry"));
}

#[tokio::test]
async fn catalog_and_tags_paginate() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let c = d.client();
    let layer = random_bytes(500);
    let mut names = Vec::new();
    for i in 0..5 {
        let name = format!("proj/repo{i}");
        push_image(&c, &repo(&name), "latest", std::slice::from_ref(&layer)).await;
        names.push(name);
    }
    let first = c.catalog(Some(2), None).await.expect("catalog page");
    assert_eq!(first.items, names[..2].to_vec());
    assert!(first.next.is_some(), "a Link to the next page");
    let second = c.catalog(Some(2), Some(&names[1])).await.expect("page 2");
    assert_eq!(second.items, names[2..4].to_vec());
    assert_eq!(c.catalog_all(Some(2)).await.expect("catalog"), names);

    let r = repo("proj/repo0");
    let mut tags = vec!["latest".to_owned()];
    for t in ["a1", "b2", "c3", "d4"] {
        push_image(&c, &r, t, std::slice::from_ref(&layer)).await;
        tags.push(t.to_owned());
    }
    tags.sort();
    // Distribution 2.8 ignores `n` on tags/list (pagination came in 3.0) and answers in
    // storage order; following tag pages is tested against the hostile server.
    let mut all = c.tags_paginated(&r, Some(2)).await.expect("tags");
    all.sort();
    assert_eq!(all, tags);
    let mut all = c.tags(&r).await.expect("tags");
    all.sort();
    assert_eq!(all, tags);
    let err = c
        .tags(&repo("proj/missing"))
        .await
        .expect_err("unknown repo");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn manifest_get_head_put_delete() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let c = d.client();
    let r = repo("lib/app");
    let img = push_image(&c, &r, "v1", &[random_bytes(4000), random_bytes(3000)]).await;
    assert_eq!(img.digest, Digest::sha256(&img.manifest));

    let head = c
        .head_manifest(&r, &tag("v1"))
        .await
        .expect("head")
        .expect("present");
    assert_eq!(head.digest, img.digest);
    assert_eq!(head.size, img.manifest.len() as u64);
    assert_eq!(head.media_type, OCI_MANIFEST);
    for reference in [tag("v1"), by_digest(&img.digest)] {
        let m = c.get_manifest(&r, &reference).await.expect("get");
        assert_eq!(m.bytes, img.manifest);
        assert_eq!(m.digest, img.digest);
        assert_eq!(m.media_type, OCI_MANIFEST);
    }
    assert!(
        c.head_manifest(&r, &tag("nope"))
            .await
            .expect("head")
            .is_none()
    );
    let err = c.get_manifest(&r, &tag("nope")).await.expect_err("missing");
    assert!(matches!(err, Error::NotFound(_)), "{err}");

    // A digest reference that the bytes do not match is refused before sending.
    let wrong = Digest::sha256(b"other");
    let err = c
        .put_manifest(&r, &by_digest(&wrong), img.manifest.clone(), OCI_MANIFEST)
        .await
        .expect_err("mismatch");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");

    c.delete_manifest(&r, &img.digest).await.expect("delete");
    assert!(
        c.head_manifest(&r, &by_digest(&img.digest))
            .await
            .expect("head")
            .is_none()
    );
    assert!(
        c.head_manifest(&r, &tag("v1"))
            .await
            .expect("head")
            .is_none()
    );
    let err = c.delete_manifest(&r, &img.digest).await.expect_err("gone");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn blobs_monolithic_and_chunked_then_verified_reads() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let r = repo("lib/blobs");
    let data = random_bytes(300 * 1024 + 17);
    let digest = Digest::sha256(&data);

    let mono = d.client();
    assert_eq!(mono.blob_exists(&r, &digest).await.expect("head"), None);
    mono.push_blob(&r, &digest, data.len() as u64, pieces(data.clone(), 10_000))
        .await
        .expect("monolithic push");
    assert_eq!(
        mono.blob_exists(&r, &digest).await.expect("head"),
        Some(data.len() as u64)
    );
    let got = mono.get_blob(&r, &digest).await.expect("get");
    assert_eq!(got.size, data.len() as u64);
    assert_eq!(collect(got).await.expect("verified"), data);

    // Chunked: 64 KiB PATCHes (the last one shorter), each following its Location.
    let chunked = harbor_remote::Client::new(
        harbor_remote::Endpoint::new(&d.url),
        ClientOptions {
            chunk_size: Some(64 * 1024),
            ..test_options()
        },
    )
    .expect("client");
    let r2 = repo("lib/chunked");
    let data2 = random_bytes(200 * 1024 + 5);
    let digest2 = Digest::sha256(&data2);
    chunked
        .push_blob(
            &r2,
            &digest2,
            data2.len() as u64,
            pieces(data2.clone(), 7_000),
        )
        .await
        .expect("chunked push");
    let got = chunked.get_blob(&r2, &digest2).await.expect("get");
    assert_eq!(collect(got).await.expect("verified"), data2);

    // A body that does not match its digest is refused and leaves nothing behind.
    let liar = Digest::sha256(b"not these bytes");
    for c in [&mono, &chunked] {
        let body = random_bytes(100 * 1024);
        let err = c
            .push_blob(&r, &liar, body.len() as u64, once(body))
            .await
            .expect_err("wrong digest");
        assert!(matches!(err, Error::Registry { status: 400, .. }), "{err}");
        assert_eq!(c.blob_exists(&r, &liar).await.expect("head"), None);
    }
    let err = mono.get_blob(&r, &liar).await.expect_err("missing blob");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn mount_between_repositories() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let c = d.client();
    let (a, b) = (repo("one/a"), repo("two/b"));
    let data = random_bytes(5000);
    let digest = push_blob(&c, &a, &data).await;
    assert!(c.mount_blob(&b, &digest, &a).await.expect("mount"));
    assert_eq!(c.blob_exists(&b, &digest).await.expect("head"), Some(5000));
    // Nothing to mount: the registry opens an upload instead, which is cancelled.
    let missing = Digest::sha256(b"never pushed");
    assert!(!c.mount_blob(&b, &missing, &a).await.expect("mount"));
    assert_eq!(c.blob_exists(&b, &missing).await.expect("head"), None);
}

#[tokio::test]
async fn referrers_through_the_tag_schema() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let c = d.client();
    let r = repo("lib/signed");
    let img = push_image(&c, &r, "v1", &[random_bytes(1000)]).await;
    assert!(
        c.referrers(&r, &img.digest)
            .await
            .expect("none yet")
            .is_empty()
    );
    let sig = push_referrer(&c, &r, &img.digest, img.manifest.len() as u64).await;
    let refs = c.referrers(&r, &img.digest).await.expect("referrers");
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].descriptor.digest, sig);
    assert_eq!(
        refs[0].artifact_type.as_deref(),
        Some("application/vnd.example.signature")
    );
    assert_eq!(
        refs[0]
            .annotations
            .get("org.example.kind")
            .map(String::as_str),
        Some("test-signature")
    );
    // Distribution 2.8 has no referrers API: the index lives under the schema's tag.
    let tag_name = harbor_remote::client::referrers_tag(&img.digest).expect("tag");
    assert_eq!(tag_name.as_str(), format!("sha256-{}", img.digest.hex()));
    assert!(
        c.tags(&r)
            .await
            .expect("tags")
            .contains(&tag_name.as_str().to_owned())
    );
    // A second referrer joins the same index.
    let sig2 = push_referrer(&c, &r, &img.digest, img.manifest.len() as u64).await;
    let mut got: Vec<_> = c
        .referrers(&r, &img.digest)
        .await
        .expect("referrers")
        .into_iter()
        .map(|x| x.descriptor.digest)
        .collect();
    got.sort();
    let mut want = vec![sig, sig2];
    want.sort();
    assert_eq!(got, want);
}

fn loc<'a>(
    end: &'a harbor_remote::Client,
    repo: &'a harbor_core::RepositoryName,
    reference: &'a harbor_core::Reference,
) -> Location<'a> {
    Location {
        end,
        repo,
        reference,
    }
}

#[tokio::test]
async fn copy_image_index_and_referrers_between_registries() {
    let (Some(s), Some(t)) = (
        Distribution::start(None).await,
        Distribution::start(None).await,
    ) else {
        return;
    };
    let (src, dst) = (s.client(), t.client());
    let r = repo("lib/app");
    let opts = CopyOptions::default();
    let cancel = CancellationToken::new();

    // An image with a signature.
    let img = push_image(&src, &r, "v1", &[random_bytes(70_000), random_bytes(1_000)]).await;
    let sig = push_referrer(&src, &r, &img.digest, img.manifest.len() as u64).await;
    let seen = Seen::new();
    let v1 = tag("v1");
    let report = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("copy");
    assert_eq!(
        report.outcome,
        Outcome::Copied {
            digest: img.digest.clone()
        }
    );
    assert_eq!(report.manifests_copied, 2, "{report:?}");
    assert_eq!(report.referrers_copied, 1);
    assert_eq!(
        report.blobs_copied, 5,
        "config, 2 layers, the signature's config and payload"
    );
    assert_eq!(
        report.bytes_copied,
        img.blobs.iter().map(|b| b.len() as u64).sum::<u64>() + 2 + 100
    );
    let at_dst = dst.get_manifest(&r, &v1).await.expect("copied");
    assert_eq!(at_dst.digest, img.digest);
    assert_eq!(at_dst.bytes, img.manifest);
    for b in &img.blobs {
        let got = dst.get_blob(&r, &Digest::sha256(b)).await.expect("blob");
        assert_eq!(&collect(got).await.expect("verified"), b);
    }
    let refs = dst.referrers(&r, &img.digest).await.expect("dst referrers");
    assert_eq!(
        refs.iter()
            .map(|x| &x.descriptor.digest)
            .collect::<Vec<_>>(),
        vec![&sig]
    );

    // Copying again finds everything in place.
    let again = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &opts,
        &Seen::new(),
        &cancel,
    )
    .await
    .expect("re-copy");
    assert_eq!(
        again.outcome,
        Outcome::UpToDate {
            digest: img.digest.clone()
        }
    );
    assert_eq!(
        (
            again.manifests_copied,
            again.blobs_copied,
            again.bytes_copied
        ),
        (0, 0, 0)
    );
    assert_eq!(again.manifests_skipped, 2, "the image and its signature");

    // A multi-arch index: both children, then the index.
    let (index, children) = push_index(&src, &r, "multi").await;
    let multi = tag("multi");
    let report = copy_artifact(
        loc(&src, &r, &multi),
        loc(&dst, &r, &multi),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("copy index");
    assert_eq!(
        report.outcome,
        Outcome::Copied {
            digest: index.clone()
        }
    );
    assert_eq!(report.manifests_copied, 3, "{report:?}");
    assert_eq!(report.blobs_copied, 4);
    assert_eq!(
        dst.get_manifest(&r, &multi).await.expect("index").digest,
        index
    );
    for child in &children {
        let got = dst
            .get_manifest(&r, &by_digest(&child.digest))
            .await
            .expect("child");
        assert_eq!(got.bytes, child.manifest);
    }
    let again = copy_artifact(
        loc(&src, &r, &multi),
        loc(&dst, &r, &multi),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("re-copy index");
    assert!(matches!(again.outcome, Outcome::UpToDate { .. }));
    assert_eq!((again.manifests_copied, again.blobs_copied), (0, 0));

    // Into another repository and under another tag.
    let other = repo("mirror/app");
    let v1_copy = tag("copied");
    let report = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &other, &v1_copy),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("copy elsewhere");
    assert_eq!(
        report.blobs_mounted, 5,
        "mounted from lib/app, where the session put them: {report:?}"
    );
    assert_eq!(report.blobs_copied, 0);
    assert_eq!(
        dst.get_manifest(&other, &v1_copy)
            .await
            .expect("copied")
            .digest,
        img.digest
    );
}

#[tokio::test]
async fn shared_layers_are_fetched_once_per_session() {
    let (Some(s), Some(t)) = (
        Distribution::start(None).await,
        Distribution::start(None).await,
    ) else {
        return;
    };
    let (src, dst) = (s.client(), t.client());
    let r = repo("lib/base");
    let base = random_bytes(50_000);
    let a = push_image(&src, &r, "a", &[base.clone(), random_bytes(1000)]).await;
    let b = push_image(&src, &r, "b", &[base.clone(), random_bytes(1000)]).await;
    assert_ne!(a.digest, b.digest);
    let opts = CopyOptions {
        referrers: false,
        ..Default::default()
    };
    let (seen, cancel) = (Seen::new(), CancellationToken::new());
    let (ta, tb) = (tag("a"), tag("b"));
    let ra = copy_artifact(
        loc(&src, &r, &ta),
        loc(&dst, &r, &ta),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("a");
    assert_eq!((ra.blobs_copied, ra.blobs_skipped), (3, 0));
    let rb = copy_artifact(
        loc(&src, &r, &tb),
        loc(&dst, &r, &tb),
        &opts,
        &seen,
        &cancel,
    )
    .await
    .expect("b");
    assert_eq!(
        (rb.blobs_copied, rb.blobs_skipped),
        (2, 1),
        "the base layer is not fetched again"
    );
    assert_eq!(
        rb.bytes_copied,
        b.blobs.iter().map(|x| x.len() as u64).sum::<u64>() - 50_000
    );
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn existing_tag_is_kept_without_override() {
    let (Some(s), Some(t)) = (
        Distribution::start(None).await,
        Distribution::start(None).await,
    ) else {
        return;
    };
    let (src, dst) = (s.client(), t.client());
    let r = repo("lib/app");
    let new = push_image(&src, &r, "v1", &[random_bytes(1000)]).await;
    let old = push_image(&dst, &r, "v1", &[random_bytes(1000)]).await;
    let v1 = tag("v1");
    let cancel = CancellationToken::new();
    let report = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &CopyOptions::default(),
        &Seen::new(),
        &cancel,
    )
    .await
    .expect("copy");
    assert_eq!(
        report.outcome,
        Outcome::SkippedExisting {
            source: new.digest.clone(),
            existing: old.digest.clone()
        }
    );
    assert!(report.outcome.describe().contains("override is off"));
    assert_eq!((report.manifests_copied, report.blobs_copied), (0, 0));
    assert_eq!(
        dst.get_manifest(&r, &v1).await.expect("kept").digest,
        old.digest
    );

    let report = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &CopyOptions {
            override_existing: true,
            ..Default::default()
        },
        &Seen::new(),
        &cancel,
    )
    .await
    .expect("override");
    assert_eq!(
        report.outcome,
        Outcome::Copied {
            digest: new.digest.clone()
        }
    );
    assert_eq!(
        dst.get_manifest(&r, &v1).await.expect("replaced").digest,
        new.digest
    );

    // Missing at the source: a source error that says so.
    let err = copy_artifact(
        loc(&src, &r, &tag("nope")),
        loc(&dst, &r, &tag("nope")),
        &CopyOptions::default(),
        &Seen::new(),
        &cancel,
    )
    .await
    .expect_err("missing");
    assert!(
        matches!(
            err,
            CopyError::Source {
                error: Error::NotFound(_),
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn cancellation_stops_a_copy() {
    let (Some(s), Some(t)) = (
        Distribution::start(None).await,
        Distribution::start(None).await,
    ) else {
        return;
    };
    let (src, dst) = (s.client(), t.client());
    let r = repo("lib/big");
    let img = push_image(&src, &r, "v1", &[random_bytes(2 * 1024 * 1024)]).await;
    let v1 = tag("v1");

    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let err = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &CopyOptions::default(),
        &Seen::new(),
        &cancelled,
    )
    .await
    .expect_err("cancelled before starting");
    assert!(matches!(err, CopyError::Cancelled));

    // Mid-transfer: 2 MiB at 256 KiB/s would take 8 s; cancel after 300 ms.
    let opts = CopyOptions {
        rate_limiter: Some(std::sync::Arc::new(RateLimiter::new(256 * 1024, 64 * 1024))),
        ..Default::default()
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = std::time::Instant::now();
    let err = copy_artifact(
        loc(&src, &r, &v1),
        loc(&dst, &r, &v1),
        &opts,
        &Seen::new(),
        &cancel,
    )
    .await
    .expect_err("cancelled");
    assert!(matches!(err, CopyError::Cancelled), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(dst.head_manifest(&r, &v1).await.expect("head").is_none());
    let big = Digest::sha256(&img.blobs[1]);
    assert_eq!(dst.blob_exists(&r, &big).await.expect("head"), None);
}

#[tokio::test]
async fn rate_limit_paces_a_blob() {
    let Some(d) = Distribution::start(None).await else {
        return;
    };
    let r = repo("lib/slow");
    let data = random_bytes(256 * 1024);
    let limited = harbor_remote::Client::new(
        harbor_remote::Endpoint::new(&d.url),
        ClientOptions {
            rate_limiter: Some(std::sync::Arc::new(RateLimiter::new(256 * 1024, 32 * 1024))),
            ..test_options()
        },
    )
    .expect("client");
    let started = std::time::Instant::now();
    let digest = Digest::sha256(&data);
    limited
        .push_blob(
            &r,
            &digest,
            data.len() as u64,
            pieces(data.clone(), 16 * 1024),
        )
        .await
        .expect("push");
    let took = started.elapsed();
    // 224 KiB beyond the burst at 256 KiB/s.
    assert!(took >= Duration::from_millis(800), "{took:?}");
    let got = limited.get_blob(&r, &digest).await.expect("get");
    assert_eq!(collect(got).await.expect("verified"), data);
}
