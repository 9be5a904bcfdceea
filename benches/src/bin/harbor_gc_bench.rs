//! Times garbage collection on a large database: seeds `--blobs` blob records of which
//! `--artifacts` artifacts (each a config and `--layers` layers) reference most, the rest
//! unreferenced garbage; then times a dry run (the mark: finding every candidate) and a
//! real run (mark, sweep and record), through the same `Registry::collect_garbage` the
//! server runs. Blob bytes are not written (their deletion is a no-op), so the numbers
//! are the database's share of a run.
//!
//! `cargo run --release -p harbor-benches --bin harbor-gc-bench -- --blobs 100000 --artifacts 10000`
//! (add `--database postgres://...` for PostgreSQL; the database must be empty).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use harbor_core::gc::GcParams;
use harbor_core::identity::NewUser;
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::registry::QuietGc;
use harbor_core::{Digest, Registry, RegistryConfig, RepositoryName};
use harbor_storage::sql::PoolConfig;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};

#[derive(Parser)]
struct Args {
    /// Blob records in total.
    #[arg(long, default_value_t = 100_000)]
    blobs: usize,
    /// Artifacts (image manifests), spread over `--repositories`.
    #[arg(long, default_value_t = 10_000)]
    artifacts: usize,
    /// Layers per artifact (plus one config blob).
    #[arg(long, default_value_t = 8)]
    layers: usize,
    /// Repositories in the one project.
    #[arg(long, default_value_t = 100)]
    repositories: usize,
    /// Metadata database (default: SQLite in a temporary directory).
    #[arg(long)]
    database: Option<String>,
    /// Deletion workers of the real run.
    #[arg(long, default_value_t = 4)]
    workers: u32,
}

fn blob(i: usize) -> Digest {
    Digest::sha256(format!("blob {i}").as_bytes())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let per_artifact = args.layers + 1;
    if args.artifacts * per_artifact > args.blobs {
        return Err("--blobs must cover artifacts × (layers + 1)".into());
    }
    let dir = tempfile::tempdir()?;
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("gc.db").display()));
    let pool = PoolConfig {
        durable: false,
        ..PoolConfig::default()
    };
    let meta = Arc::new(SqlMetadataStore::connect(&url, &pool).await?);
    let blobs = ObjectBlobStore::filesystem(dir.path().join("blobs"), false)?;
    let reg = Registry::new(Arc::new(blobs), meta.clone(), RegistryConfig::default());

    let owner = meta
        .create_user(&NewUser {
            username: "bench".into(),
            email: None,
            realname: "bench".into(),
            comment: String::new(),
            password_hash: "x".into(),
            sysadmin: false,
        })
        .await?;
    meta.create_project("bench", owner.id, false).await?;

    let t = Instant::now();
    let repos: Vec<RepositoryName> = (0..args.repositories)
        .map(|r| RepositoryName::parse(&format!("bench/repo{r}")))
        .collect::<Result<_, _>>()?;
    let seeders = 8;
    let mut tasks = Vec::new();
    for s in 0..seeders {
        let (meta, repos) = (meta.clone(), repos.clone());
        let (blobs_n, artifacts, layers) = (args.blobs, args.artifacts, args.layers);
        tasks.push(tokio::spawn(async move {
            // Blobs: artifact i owns blobs [i*(layers+1), (i+1)*(layers+1)); the rest
            // (garbage) are linked to a repository but referenced by nothing.
            for i in (s..blobs_n).step_by(seeders) {
                let owner = (i / (layers + 1)).min(artifacts);
                let r = &repos[owner % repos.len()];
                meta.link_blob(r, &blob(i), 1000 + (i as u64 % 5000))
                    .await?;
            }
            Ok::<_, harbor_core::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seeded_blobs = t.elapsed();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..seeders {
        let (reg, repos) = (reg.clone(), repos.clone());
        let (artifacts, layers) = (args.artifacts, args.layers);
        tasks.push(tokio::spawn(async move {
            for a in (s..artifacts).step_by(seeders) {
                let first = a * (layers + 1);
                let layer_json: Vec<String> = (1..=layers)
                    .map(|l| {
                        format!(
                            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}"#,
                            blob(first + l),
                            1000 + ((first + l) % 5000)
                        )
                    })
                    .collect();
                let manifest = format!(
                    r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
                    blob(first),
                    1000 + (first % 5000),
                    layer_json.join(",")
                );
                reg.put_manifest(
                    "admin",
                    &repos[a % repos.len()],
                    &format!("v{a}"),
                    Some("application/vnd.oci.image.manifest.v1+json"),
                    Bytes::from(manifest),
                    &[],
                )
                .await?;
            }
            Ok::<_, harbor_core::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seeded_artifacts = t.elapsed();
    let garbage = args.blobs - args.artifacts * per_artifact;
    println!(
        "seeded {} blobs in {:.1}s and {} artifacts in {:.1}s ({} blobs unreferenced)",
        args.blobs,
        seeded_blobs.as_secs_f64(),
        args.artifacts,
        seeded_artifacts.as_secs_f64(),
        garbage
    );

    let quiet = QuietGc::default();
    let dry = GcParams {
        delete_untagged: true,
        dry_run: true,
        workers: args.workers,
        time_window: 0,
    };
    let t = Instant::now();
    let report = reg.collect_garbage(&dry, &quiet).await?;
    println!(
        "dry run (untagged scan + mark of every candidate): {:.2}s, {} of {} blobs collectable",
        t.elapsed().as_secs_f64(),
        report.blobs_deleted,
        report.blobs_total
    );
    assert_eq!(report.blobs_deleted as usize, garbage);
    let real = GcParams {
        dry_run: false,
        ..dry
    };
    let t = Instant::now();
    let report = reg.collect_garbage(&real, &quiet).await?;
    println!(
        "real run (untagged scan, mark, sweep, record): {:.2}s, {} blobs deleted, {} bytes",
        t.elapsed().as_secs_f64(),
        report.blobs_deleted,
        report.bytes_freed
    );
    assert_eq!(report.blobs_deleted as usize, garbage);
    let t = Instant::now();
    let report = reg.collect_garbage(&real, &quiet).await?;
    println!(
        "second run (nothing left): {:.2}s, {} deleted",
        t.elapsed().as_secs_f64(),
        report.blobs_deleted
    );
    Ok(())
}
