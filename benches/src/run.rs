//! Running a workload: set-up (untimed), then `requests` operations spread over
//! `concurrency` clients.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::client::{OpError, Registry, Scope};
use crate::content::{Blob, Image};
use crate::report::{Report, Samples};

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Push whole images, layers in one request each.
    Push,
    /// Push whole images, layers in `Content-Range` chunks.
    PushChunked,
    /// Pull whole images.
    Pull,
    /// `GET` a manifest by tag.
    ManifestGet,
    /// `HEAD` a manifest by tag.
    ManifestHead,
    /// `PUT` a new manifest (its blobs already pushed) under a new tag.
    ManifestPut,
    /// List 100 tags.
    Tags,
    /// List repositories.
    Catalog,
    /// 75% pulls, 25% pushes.
    Mix,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 9] = [
        Workload::Push,
        Workload::PushChunked,
        Workload::Pull,
        Workload::ManifestGet,
        Workload::ManifestHead,
        Workload::ManifestPut,
        Workload::Tags,
        Workload::Catalog,
        Workload::Mix,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Push => "push",
            Workload::PushChunked => "push-chunked",
            Workload::Pull => "pull",
            Workload::ManifestGet => "manifest-get",
            Workload::ManifestHead => "manifest-head",
            Workload::ManifestPut => "manifest-put",
            Workload::Tags => "tags",
            Workload::Catalog => "catalog",
            Workload::Mix => "mix",
        }
    }

    /// Whether the layer size matters.
    pub fn sized(self) -> bool {
        matches!(
            self,
            Workload::Push | Workload::PushChunked | Workload::Pull | Workload::Mix
        )
    }
}

impl FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
                format!("unknown workload {s:?}; one of {}", names.join(", "))
            })
    }
}

/// One run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// What to measure.
    pub workload: Workload,
    /// Layer size for image workloads.
    pub size: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Operations to time.
    pub requests: usize,
    /// Chunk size of chunked pushes.
    pub chunk: usize,
    /// Repository prefix.
    pub repo: String,
    /// Most bytes of distinct generated layers to hold in memory; beyond it content is
    /// reused round-robin.
    pub memory_budget: usize,
    /// Generate the same content on every run (storage stays bounded over repeated runs,
    /// as in a soak); otherwise every run pushes new content.
    pub seed: Option<u64>,
}

fn unique_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// Generates `count` distinct images of `size` (in parallel on the blocking pool), from
/// `seed` when given.
async fn images(count: usize, size: usize, seed: Option<u64>) -> Arc<Vec<Image>> {
    let base = seed.unwrap_or_else(unique_seed);
    let tasks: Vec<_> = (0..count)
        .map(|i| tokio::task::spawn_blocking(move || Image::generate(size, base + i as u64)))
        .collect();
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.push(t.await.expect("generate image"));
    }
    Arc::new(out)
}

/// Runs the timed phase: `op(i)` for i in 0..n over `c` workers. Set-up, including
/// fetching tokens ([`Registry::prepare`]), happens before; requests that authentication
/// adds inside the phase (there should be none) are counted in the report.
async fn timed<F, Fut>(reg: &Registry, spec: &Spec, op: F) -> Report
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u64, OpError>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let n = spec.requests;
    let auth_before = reg.auth_round_trips();
    let start = Instant::now();
    let workers: Vec<_> = (0..spec.concurrency.max(1))
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut s = Samples::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return s;
                    }
                    let t0 = Instant::now();
                    match op(i).await {
                        Ok(bytes) => {
                            s.latencies.push(t0.elapsed());
                            s.bytes += bytes;
                        }
                        Err(e) => {
                            s.errors += 1;
                            s.first_error.get_or_insert(e.0);
                        }
                    }
                }
            })
        })
        .collect();
    let mut all = Samples::default();
    for w in workers {
        all.merge(w.await.expect("worker"));
    }
    let elapsed = start.elapsed();
    let size = if spec.workload.sized() { spec.size } else { 0 };
    let mut report = all.report(spec.workload.name(), size, spec.concurrency, n, elapsed);
    report.auth_round_trips = reg.auth_round_trips() - auth_before;
    report
}

/// Runs one workload against a registry.
pub async fn run(reg: &Registry, spec: &Spec) -> Result<Report, OpError> {
    let repo = spec.repo.clone();
    let distinct = |n: usize| n.clamp(1, (spec.memory_budget / spec.size.max(1)).max(1));
    Ok(match spec.workload {
        Workload::Push | Workload::PushChunked => {
            let imgs = images(distinct(spec.requests), spec.size, spec.seed).await;
            let chunk = (spec.workload == Workload::PushChunked).then_some(spec.chunk);
            let repo = format!("{repo}/push");
            reg.prepare(Scope::Repository(&repo)).await?;
            let reg2 = reg.clone();
            timed(reg, spec, move |i| {
                let reg = reg2.clone();
                let (repo, imgs) = (repo.clone(), imgs.clone());
                async move {
                    let img = &imgs[i % imgs.len()];
                    reg.push_image(&repo, &format!("t{i}"), img, chunk).await?;
                    Ok(img.bytes())
                }
            })
            .await
        }
        Workload::Pull | Workload::Mix => {
            let pulled = distinct(4.min(spec.requests));
            let imgs = images(pulled, spec.size, spec.seed).await;
            let pull_repo = format!("{repo}/pull");
            let push_repo = format!("{repo}/mix");
            reg.prepare(Scope::Repository(&pull_repo)).await?;
            if spec.workload == Workload::Mix {
                reg.prepare(Scope::Repository(&push_repo)).await?;
            }
            for (i, img) in imgs.iter().enumerate() {
                reg.push_image(&pull_repo, &format!("p{i}"), img, None)
                    .await?;
            }
            let pushes = if spec.workload == Workload::Mix {
                let seed = spec.seed.map(|s| s.wrapping_add(1 << 32));
                images(distinct(spec.requests / 4 + 1), spec.size, seed).await
            } else {
                Arc::new(Vec::new())
            };
            let reg2 = reg.clone();
            timed(reg, spec, move |i| {
                let (reg, pull_repo, push_repo) =
                    (reg2.clone(), pull_repo.clone(), push_repo.clone());
                let (pulled, pushes) = (imgs.len(), pushes.clone());
                async move {
                    if !pushes.is_empty() && i % 4 == 3 {
                        let img = &pushes[(i / 4) % pushes.len()];
                        reg.push_image(&push_repo, &format!("m{i}"), img, None)
                            .await?;
                        Ok(img.bytes())
                    } else {
                        reg.pull_image(&pull_repo, &format!("p{}", i % pulled))
                            .await
                    }
                }
            })
            .await
        }
        Workload::ManifestGet | Workload::ManifestHead => {
            let img = Image::generate(1024, unique_seed());
            let repo = format!("{repo}/manifest");
            reg.prepare(Scope::Repository(&repo)).await?;
            reg.push_image(&repo, "latest", &img, None).await?;
            let (reg2, head) = (reg.clone(), spec.workload == Workload::ManifestHead);
            timed(reg, spec, move |_| {
                let (reg, repo) = (reg2.clone(), repo.clone());
                async move {
                    if head {
                        reg.head_manifest(&repo, "latest").await.map(|()| 0)
                    } else {
                        reg.get_manifest(&repo, "latest")
                            .await
                            .map(|b| b.len() as u64)
                    }
                }
            })
            .await
        }
        Workload::ManifestPut => {
            // One image's blobs, then a distinct manifest per request (an annotation
            // numbers it), each under its own tag: the timed part is the manifest PUT.
            let img = Image::generate(1024, unique_seed());
            let repo = format!("{repo}/manifest-put");
            reg.prepare(Scope::Repository(&repo)).await?;
            reg.push_image(&repo, "base", &img, None).await?;
            let mut base: serde_json::Value = serde_json::from_slice(&img.manifest.data)
                .map_err(|e| OpError(format!("bench manifest: {e}")))?;
            let manifests: Arc<Vec<Blob>> = Arc::new(
                (0..spec.requests)
                    .map(|i| {
                        base["annotations"] = serde_json::json!({ "bench.n": i.to_string() });
                        Blob::new(serde_json::to_vec(&base).unwrap_or_default().into())
                    })
                    .collect(),
            );
            let reg2 = reg.clone();
            timed(reg, spec, move |i| {
                let (reg, repo, manifests) = (reg2.clone(), repo.clone(), manifests.clone());
                async move {
                    let m = &manifests[i % manifests.len()];
                    reg.push_manifest(&repo, &format!("m{i}"), m).await?;
                    Ok(m.data.len() as u64)
                }
            })
            .await
        }
        Workload::Tags => {
            let img = Image::generate(1024, unique_seed());
            let repo = format!("{repo}/tags");
            reg.prepare(Scope::Repository(&repo)).await?;
            reg.push_image(&repo, "t0", &img, None).await?;
            for t in 1..100 {
                reg.push_manifest(&repo, &format!("t{t}"), &img.manifest)
                    .await?;
            }
            let reg2 = reg.clone();
            timed(reg, spec, move |_| {
                let (reg, repo) = (reg2.clone(), repo.clone());
                async move { reg.tags(&repo).await }
            })
            .await
        }
        Workload::Catalog => {
            let img = Image::generate(1024, unique_seed());
            for r in 0..20 {
                let repo = format!("{repo}/catalog-{r}");
                reg.prepare(Scope::Repository(&repo)).await?;
                reg.push_image(&repo, "t", &img, None).await?;
            }
            reg.prepare(Scope::Catalog).await?;
            let reg2 = reg.clone();
            timed(reg, spec, move |_| {
                let reg = reg2.clone();
                async move { reg.catalog().await }
            })
            .await
        }
    })
}
