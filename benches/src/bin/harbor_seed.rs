//! `harbor-seed`: fills any OCI registry with a set of images for replication
//! benchmarks: `--repos` repositories of `--tags` images each, every image made of one of
//! `--bases` shared base layers (`--base-size` bytes), one layer of its own
//! (`--layer-size` bytes) and a config. Layers are random bytes, generated from a seed so
//! that runs are repeatable. Prints the numbers of images, blobs and bytes as JSON.
//!
//! `harbor-seed --url http://127.0.0.1:5311 --prefix bench --repos 20 --tags 10`

use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use harbor_core::manifest::OCI_MANIFEST;
use harbor_core::{Digest, Reference, RepositoryName};
use harbor_remote::{AddressPolicy, Client, ClientOptions, Credential, Endpoint};

#[derive(Parser)]
struct Args {
    /// The registry's base URL.
    #[arg(long)]
    url: String,
    /// User name (its password in HARBOR_SEED_PASSWORD).
    #[arg(long)]
    user: Option<String>,
    /// Repository names are `<prefix>/app<N>`.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Repositories.
    #[arg(long, default_value_t = 20)]
    repos: usize,
    /// Images (tags) per repository.
    #[arg(long, default_value_t = 10)]
    tags: usize,
    /// Distinct base layers shared between images.
    #[arg(long, default_value_t = 10)]
    bases: usize,
    /// Size of each base layer.
    #[arg(long, default_value_t = 20 * 1024 * 1024)]
    base_size: usize,
    /// Size of each image's own layer.
    #[arg(long, default_value_t = 1024 * 1024)]
    layer_size: usize,
    /// Images pushed at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

/// Repeatable pseudo-random bytes (xorshift), incompressible enough for a registry.
fn bytes(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

fn descriptor(media_type: &str, b: &Bytes) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": Digest::sha256(b).as_str(), "size": b.len()})
}

async fn push_blob(c: &Client, repo: &RepositoryName, b: &Bytes) -> Result<(), String> {
    let d = Digest::sha256(b);
    if c.blob_exists(repo, &d)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    let body = futures::stream::once({
        let b = b.clone();
        async move { Ok(b) }
    })
    .boxed();
    c.push_blob(repo, &d, b.len() as u64, body)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = Args::parse();
    let mut endpoint = Endpoint::new(&a.url);
    if let Some(user) = &a.user {
        let password = std::env::var("HARBOR_SEED_PASSWORD")
            .map_err(|_| "set HARBOR_SEED_PASSWORD with --user".to_owned())?;
        endpoint = endpoint.with_credential(Credential::basic(user.clone(), password));
    }
    let options = ClientOptions {
        address_policy: AddressPolicy::allow_all(),
        ..ClientOptions::default()
    };
    let client = Client::new(endpoint, options).map_err(|e| e.to_string())?;
    let bases: Vec<Bytes> = (0..a.bases.max(1))
        .map(|i| bytes(1_000 + i as u64, a.base_size))
        .collect();
    let started = Instant::now();
    let jobs = (0..a.repos).flat_map(|r| (0..a.tags).map(move |t| (r, t)));
    let results: Vec<Result<u64, String>> = futures::stream::iter(jobs.map(|(r, t)| {
        let (client, bases, prefix) = (&client, &bases, &a.prefix);
        let layer_size = a.layer_size;
        async move {
            let repo =
                RepositoryName::parse(&format!("{prefix}/app{r}")).map_err(|e| e.to_string())?;
            let n = (r * 1000 + t) as u64;
            let base = &bases[(r * 7 + t) % bases.len()];
            let own = bytes(1_000_000 + n, layer_size);
            let config = Bytes::from(
                serde_json::to_vec(&serde_json::json!({
                    "architecture": "amd64", "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": []},
                    "config": {"Labels": {"seed": n.to_string()}},
                }))
                .map_err(|e| e.to_string())?,
            );
            for b in [base, &own, &config] {
                push_blob(client, &repo, b).await?;
            }
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
                "layers": [
                    descriptor("application/vnd.oci.image.layer.v1.tar", base),
                    descriptor("application/vnd.oci.image.layer.v1.tar", &own),
                ],
            });
            let body = Bytes::from(serde_json::to_vec(&manifest).map_err(|e| e.to_string())?);
            let tag = Reference::parse(&format!("v{t}")).map_err(|e| e.to_string())?;
            client
                .put_manifest(&repo, &tag, body, OCI_MANIFEST)
                .await
                .map_err(|e| e.to_string())?;
            Ok((own.len() + config.len()) as u64)
        }
    }))
    .buffer_unordered(a.concurrency.max(1))
    .collect()
    .await;
    let mut own_bytes = 0;
    for r in results {
        own_bytes += r?;
    }
    let images = a.repos * a.tags;
    let bases_used = bases.len().min(images);
    let unique_bytes = own_bytes + (bases_used * a.base_size) as u64;
    println!(
        "{}",
        serde_json::json!({
            "images": images,
            "repositories": a.repos,
            "unique_blobs": images * 2 + bases_used,
            "unique_bytes": unique_bytes,
            "naive_bytes": own_bytes + (images * a.base_size) as u64,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
