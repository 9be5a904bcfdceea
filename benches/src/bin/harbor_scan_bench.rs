//! Times the built-in vulnerability scanner on generated data, through the same
//! `VulnDb` and `Engine` the server runs:
//!
//! 1. generates an OSV database (`--advisories` records over Debian 12, npm, PyPI,
//!    crates.io, Go and Maven) as one `all.zip`-style archive (untimed for the goals);
//! 2. imports it into the metadata store (goal: 200,000 advisories in under 60 s);
//! 3. writes a synthetic Debian 12 image of `--image-mb` MiB (gzip layers): the OS layer with
//!    `--os-packages` dpkg packages and incompressible filler files, and a layer of
//!    `--lang-packages` language packages (npm lock, Python metadata, `Cargo.lock`, a Go
//!    binary, jars);
//! 4. scans it cold (goals: under 2 s and under 200 MiB of extra peak memory) and warm;
//! 5. scans `--artifacts` images sharing those two layers, each with a small layer of its
//!    own, counting the layer reads (each shared layer must be read once in all).
//!
//! It reports times; it asserts only correctness (packages found, findings, layer reads).
//!
//! `cargo run --release -p harbor-benches --bin harbor-scan-bench` (full size), `-- --quick`
//! (CI), `-- --database postgres://...` for PostgreSQL (an empty database).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use harbor_core::ports::MetadataStore;
use harbor_core::{Algorithm, Digest, Hasher};
use harbor_platform::scanner::engine::INVENTORY_VERSION;
use harbor_platform::scanner::{Engine, ScanOutcome, VulnDb};
use harbor_scanner::inventory::{self, LayerInventory, Limits, golang};
use harbor_scanner::{PackageKind, codec, fixtures, osv};
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::PoolConfig;
use serde_json::{Value, json};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(
    about = "Times the built-in vulnerability scanner: OSV import, cold and warm \
                   scans of a generated image, and scans of many images sharing base layers"
)]
struct Args {
    /// OSV records in the generated database.
    #[arg(long, default_value_t = 200_000)]
    advisories: usize,
    /// dpkg packages in the image's OS layer.
    #[arg(long, default_value_t = 500)]
    os_packages: usize,
    /// Language packages in the image's application layer (npm, Python, Cargo, Go, Maven).
    #[arg(long, default_value_t = 1000)]
    lang_packages: usize,
    /// The image's compressed size in MiB (incompressible filler in the OS layer).
    #[arg(long, default_value_t = 100)]
    image_mb: u64,
    /// Images sharing the two base layers, scanned one after the other.
    #[arg(long, default_value_t = 1000)]
    artifacts: usize,
    /// Metadata database (default: SQLite in a temporary directory).
    #[arg(long)]
    database: Option<String>,
    /// CI size: 20,000 advisories, a 20 MiB image, 100 artifacts (overrides those options).
    #[arg(long)]
    quick: bool,
}

/// Package names are `pkg-<k>`; advisories name k in `0..ADVISED`, images draw k in
/// `0..NAMES`, so about half an image's packages have advisories (several each).
const ADVISED: u64 = 5_000;
const NAMES: u64 = 10_000;
const MIB: u64 = 1 << 20;

#[tokio::main]
async fn main() -> BoxResult<()> {
    let mut args = Args::parse();
    if args.quick {
        args.advisories = 20_000;
        args.image_mb = 20;
        args.artifacts = 100;
    }
    if args.lang_packages < 10 || args.os_packages < 2 {
        return Err("--lang-packages must be at least 10 and --os-packages at least 2".into());
    }
    if args.os_packages as u64 > NAMES || args.lang_packages as u64 > NAMES {
        return Err(format!("at most {NAMES} packages of each kind").into());
    }
    let dir = tempfile::tempdir()?;
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("scan.db").display()));
    let engine_name = if url.starts_with("sqlite://") {
        "SQLite (fsync on every commit, the server's default)"
    } else {
        "PostgreSQL"
    };
    println!(
        "harbor-scan-bench{}: {} OSV records, image of {} OS + {} language packages in {} MiB, \
         {} artifacts, {engine_name}",
        if args.quick { " (quick)" } else { "" },
        args.advisories,
        args.os_packages,
        args.lang_packages,
        args.image_mb,
        args.artifacts
    );

    // 1. The OSV database.
    let t = Instant::now();
    let zip_path = dir.path().join("all.zip");
    let generated = {
        let (path, n) = (zip_path.clone(), args.advisories);
        tokio::task::spawn_blocking(move || write_osv_zip(&path, n)).await??
    };
    println!(
        "generate   OSV zip: {} records, {} affected packages, {:.1} MB, {:.1} s",
        args.advisories,
        generated,
        file_mb(&zip_path),
        t.elapsed().as_secs_f64()
    );

    // 2. Import.
    let store: Arc<dyn MetadataStore> =
        Arc::new(SqlMetadataStore::connect(&url, &PoolConfig::default()).await?);
    let db = VulnDb::new(store.clone());
    let t = Instant::now();
    let info = db.import(zip_path.clone(), "harbor-scan-bench").await?;
    let import = t.elapsed();
    check(
        info.records == args.advisories as u64 && info.advisories == generated,
        format!(
            "import stored {} records and {} advisories, expected {} and {generated}",
            info.records, info.advisories, args.advisories
        ),
    )?;
    let db_mb = match url.strip_prefix("sqlite://") {
        Some(path) => format!(
            ", database file {:.0} MB",
            file_mb(Path::new(path.split('?').next().unwrap_or(path)))
        ),
        None => String::new(),
    };
    println!(
        "import     {:.1} s, {:.0} advisories/s (goal: 200,000 in < 60 s){db_mb}",
        import.as_secs_f64(),
        info.advisories as f64 / import.as_secs_f64()
    );
    // The reading side alone (zip, JSON, split into advisories, encoding the stored rows),
    // to tell it from the store's share.
    let t = Instant::now();
    let read_only = {
        let path = zip_path.clone();
        tokio::task::spawn_blocking(move || {
            let mut bytes = 0usize;
            osv::import::import_path(&path, &mut |batch| {
                bytes += batch
                    .iter()
                    .map(|(_, a)| codec::encode(a).len())
                    .sum::<usize>();
                Ok(())
            })
            .map(|stats| (stats, bytes))
        })
        .await??
    };
    check(
        read_only.0.advisories == generated,
        "the reading pass found other advisories".to_string(),
    )?;
    println!(
        "           of which reading alone (unzip, parse, split, encode rows; no store): {:.1} s \
         ({:.0} MB of rows)",
        t.elapsed().as_secs_f64(),
        read_only.1 as f64 / 1e6
    );

    // 3. The image.
    let t = Instant::now();
    let image = {
        let (dir, os, lang, bytes) = (
            dir.path().to_path_buf(),
            args.os_packages,
            args.lang_packages,
            args.image_mb * MIB,
        );
        tokio::task::spawn_blocking(move || write_image(&dir, os, lang, bytes)).await??
    };
    let image_bytes: u64 = image.layers.iter().map(|l| l.bytes).sum();
    println!(
        "generate   image: {} layers, {:.1} MiB compressed, {} files, {:.1} s",
        image.layers.len(),
        image_bytes as f64 / MIB as f64,
        image.files,
        t.elapsed().as_secs_f64()
    );
    let mut blobs = Blobs::default();
    for layer in &image.layers {
        blobs.add(layer);
    }
    let top_layers = {
        let (dir, n) = (dir.path().to_path_buf(), args.artifacts);
        tokio::task::spawn_blocking(move || {
            (0..n)
                .map(|a| write_top_layer(&dir, a))
                .collect::<io::Result<Vec<_>>>()
        })
        .await??
    };
    for layer in &top_layers {
        blobs.add(layer);
    }

    // 4. One image, cold then warm.
    let engine = Engine::new(store.clone(), db.clone());
    let base: Vec<Digest> = image.layers.iter().map(|l| l.digest.clone()).collect();
    let peak = PeakMemory::start();
    let t = Instant::now();
    let cold = scan(&engine, &blobs, &base).await?;
    let cold_time = t.elapsed();
    let memory = match (peak.before, peak.extra_kib()) {
        (Some(before), Some(extra)) => format!(
            "extra peak memory {:.1} MiB (goal < 200 MiB; RSS before {:.0} MiB)",
            extra as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        _ => "extra peak memory not measurable here (no /proc/self/clear_refs)".to_string(),
    };
    let expected = args.os_packages + args.lang_packages;
    check_outcome(&cold, expected, image.lang_counts)?;
    check(
        cold.layers_read == base.len(),
        format!(
            "the cold scan read {} of {} layers",
            cold.layers_read,
            base.len()
        ),
    )?;
    println!(
        "scan cold  {:.2} s (goal < 2 s): {} packages ({}), {} findings ({}), {memory}",
        cold_time.as_secs_f64(),
        cold.inventory.packages.len(),
        kinds(cold.inventory.packages.iter().map(|p| p.kind)),
        cold.findings.len(),
        kinds(cold.findings.iter().map(|f| f.kind)),
    );
    let t = Instant::now();
    let warm = scan(&engine, &blobs, &base).await?;
    let warm_time = t.elapsed();
    check_outcome(&warm, expected, image.lang_counts)?;
    check(
        warm.layers_read == 0 && warm.findings.len() == cold.findings.len(),
        "the warm scan read layers again or found something else".to_string(),
    )?;
    println!(
        "scan warm  {:.3} s (layer inventories from the cache)",
        warm_time.as_secs_f64()
    );
    breakdown(&store, &db, &image, &blobs).await?;

    // 5. Many images sharing the base layers.
    let t = Instant::now();
    let mut findings = 0usize;
    for top in &top_layers {
        let mut layers = base.clone();
        layers.push(top.digest.clone());
        let outcome = scan(&engine, &blobs, &layers).await?;
        check(
            outcome.inventory.packages.len() == expected + 1 && !outcome.findings.is_empty(),
            format!(
                "artifact with layer {}: {} packages, expected {}",
                top.digest,
                outcome.inventory.packages.len(),
                expected + 1
            ),
        )?;
        findings += outcome.findings.len();
    }
    let all = t.elapsed();
    let reads = blobs.reads();
    for layer in &image.layers {
        let n = reads.get(&layer.digest).copied().unwrap_or(0);
        check(
            n == 1,
            format!("shared layer {} was read {n} times", layer.digest),
        )?;
    }
    for layer in &top_layers {
        let n = reads.get(&layer.digest).copied().unwrap_or(0);
        check(
            n == 1,
            format!("top layer {} was read {n} times", layer.digest),
        )?;
    }
    println!(
        "scan-all   {} artifacts in {:.1} s, {:.1} artifacts/s ({:.1} ms each, {} findings in all); \
         base layers read: 1 each, top layers: 1 each",
        top_layers.len(),
        all.as_secs_f64(),
        top_layers.len() as f64 / all.as_secs_f64(),
        all.as_secs_f64() * 1000.0 / top_layers.len().max(1) as f64,
        findings
    );
    Ok(())
}

fn check(ok: bool, what: String) -> BoxResult<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

/// The packages of an outcome must be exactly the generated ones, the OS Debian 12, and
/// something must be vulnerable.
fn check_outcome(outcome: &ScanOutcome, expected: usize, lang: LangCounts) -> BoxResult<()> {
    let os = outcome.inventory.os.as_ref();
    check(
        os.is_some_and(|os| os.id == "debian" && os.version_id == "12"),
        format!("OS {os:?}, expected Debian 12"),
    )?;
    let count = |kind| {
        outcome
            .inventory
            .packages
            .iter()
            .filter(|p| p.kind == kind)
            .count()
    };
    let found = [
        count(PackageKind::Npm),
        count(PackageKind::Python),
        count(PackageKind::Cargo),
        count(PackageKind::Go),
        count(PackageKind::Maven),
    ];
    check(
        outcome.inventory.packages.len() == expected && found == lang.as_array(),
        format!(
            "found {} packages (npm, Python, Cargo, Go, Maven: {found:?}), generated {expected} \
             ({:?}); warnings: {:?}",
            outcome.inventory.packages.len(),
            lang.as_array(),
            outcome.inventory.warnings
        ),
    )?;
    check(!outcome.findings.is_empty(), "no findings".to_string())
}

/// `500 deb, 150 cargo, ...` for these kinds.
fn kinds(found: impl IntoIterator<Item = PackageKind>) -> String {
    let mut counts: Vec<(PackageKind, usize)> = Vec::new();
    for kind in found {
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    counts.sort();
    counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn scan(
    engine: &Engine,
    blobs: &Blobs,
    layers: &[Digest],
) -> harbor_core::Result<ScanOutcome> {
    engine
        .scan_layers(layers, |digest| {
            let path = blobs.open(&digest);
            async move {
                tokio::fs::File::open(path?)
                    .await
                    .map_err(harbor_core::Error::internal)
            }
        })
        .await
}

/// Where a scan's time goes, each part measured separately with the engine's building
/// blocks: reading each base layer (a cold scan), the cache read of a warm scan, the
/// database lookup (its query and the decoding of its rows also alone) and the matching.
async fn breakdown(
    store: &Arc<dyn MetadataStore>,
    db: &VulnDb,
    image: &Image,
    blobs: &Blobs,
) -> BoxResult<()> {
    let mut reads = Vec::new();
    for (name, layer) in ["OS", "application"].iter().zip(&image.layers) {
        let path = blobs
            .paths
            .get(&layer.digest)
            .cloned()
            .ok_or("no layer file")?;
        let t = Instant::now();
        tokio::task::spawn_blocking(move || {
            let file = io::BufReader::with_capacity(256 << 10, File::open(path)?);
            inventory::scan_layer("layer", file, &Limits::default())
                .map_err(|e| io::Error::other(e.to_string()))
        })
        .await??;
        reads.push(format!("{name} layer {}", ms(t.elapsed())));
    }
    let t = Instant::now();
    let mut layers = Vec::new();
    for layer in &image.layers {
        let bytes = store
            .layer_inventory(&layer.digest, INVENTORY_VERSION)
            .await?
            .ok_or("layer inventory not cached")?;
        layers.push(codec::decode::<LayerInventory>(&bytes)?);
    }
    let cached = t.elapsed();
    let t = Instant::now();
    let merged = inventory::merge(&layers);
    let merge = t.elapsed();
    let keys = osv::lookup_keys(&merged);
    let key_count = keys.len();
    let pairs: Vec<(String, String)> = keys
        .iter()
        .map(|k| (k.ecosystem.clone(), k.name.clone()))
        .collect();
    let t = Instant::now();
    let advisories = db.lookup(keys).await?;
    let lookup = t.elapsed();
    let fetched: usize = advisories.values().map(Vec::len).sum();
    let t = Instant::now();
    let rows = store.advisories(&pairs).await?;
    let query = t.elapsed();
    let row_bytes: usize = rows.iter().map(|r| r.data.len()).sum();
    let t = Instant::now();
    for row in &rows {
        codec::decode::<osv::Advisory>(&row.data)?;
    }
    let decode = t.elapsed();
    let t = Instant::now();
    let findings = osv::find(&merged, &advisories);
    let matching = t.elapsed();
    println!(
        "breakdown  (each part alone) inventories: {}; warm: cache read + decode {}, merge {}",
        reads.join(", "),
        ms(cached),
        ms(merge)
    );
    println!(
        "           lookup of {key_count} keys {} for {fetched} advisories ({:.1} MB stored): \
         query {}, decoding {}; match {} ({} findings)",
        ms(lookup),
        row_bytes as f64 / 1e6,
        ms(query),
        ms(decode),
        ms(matching),
        findings.len()
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
}

/// The growth of the process's peak resident memory over a section: the peak (`VmHWM`) is
/// reset to the current resident size at the start (`/proc/self/clear_refs`).
struct PeakMemory {
    /// Resident KiB at the start; `None` when the peak cannot be reset.
    before: Option<u64>,
}

impl PeakMemory {
    fn start() -> Self {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Self {
            before: proc_status_kib("VmRSS").filter(|_| reset),
        }
    }

    /// How far the peak rose above the resident memory at the start, in KiB.
    fn extra_kib(&self) -> Option<u64> {
        Some(proc_status_kib("VmHWM")?.saturating_sub(self.before?))
    }
}

/// A field of `/proc/self/status` in KiB.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The layer files by digest, and how often each was fetched.
#[derive(Default)]
struct Blobs {
    paths: HashMap<Digest, PathBuf>,
    reads: Mutex<HashMap<Digest, usize>>,
}

impl Blobs {
    fn add(&mut self, layer: &LayerFile) {
        self.paths.insert(layer.digest.clone(), layer.path.clone());
    }

    fn open(&self, digest: &Digest) -> harbor_core::Result<PathBuf> {
        *self
            .reads
            .lock()
            .expect("read counter")
            .entry(digest.clone())
            .or_default() += 1;
        self.paths
            .get(digest)
            .cloned()
            .ok_or_else(|| harbor_core::Error::NotFound(format!("layer {digest}")))
    }

    fn reads(&self) -> HashMap<Digest, usize> {
        self.reads.lock().expect("read counter").clone()
    }
}

// --- Deterministic randomness.

/// SplitMix64: fast, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` % of the time.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A hash of `(a, b)`.
fn mix(a: u64, b: u64) -> u64 {
    Rng(a.wrapping_mul(0x1000_0000_01B3) ^ b.rotate_left(17)).next()
}

// --- The OSV database.

#[derive(Clone, Copy, PartialEq)]
enum Eco {
    Debian,
    Npm,
    PyPI,
    Crates,
    Go,
    Maven,
}

/// Ecosystems and their shares (%) of the records.
const ECOSYSTEMS: [(Eco, u64); 6] = [
    (Eco::Debian, 35),
    (Eco::Npm, 20),
    (Eco::PyPI, 15),
    (Eco::Maven, 12),
    (Eco::Go, 10),
    (Eco::Crates, 8),
];

impl Eco {
    fn osv(self) -> &'static str {
        match self {
            Eco::Debian => "Debian:12",
            Eco::Npm => "npm",
            Eco::PyPI => "PyPI",
            Eco::Crates => "crates.io",
            Eco::Go => "Go",
            Eco::Maven => "Maven",
        }
    }

    fn salt(self) -> u64 {
        self as u64 + 1
    }

    /// The advisory (OSV) name of package k.
    fn name(self, k: u64) -> String {
        match self {
            Eco::Go => format!("example.com/mod/pkg-{k}"),
            Eco::Maven => format!("org.example:pkg-{k}"),
            _ => format!("pkg-{k}"),
        }
    }

    /// Package k's installed version: minor 10..20, so about a quarter of the fixes
    /// (minor 0..=20) are above it.
    fn installed(self, k: u64) -> String {
        let h = mix(self.salt(), k);
        let (minor, patch) = (10 + h % 10, (h >> 8) % 7);
        match self {
            Eco::Debian => {
                let rev = 1 + (h >> 16) % 3;
                if (h >> 20).is_multiple_of(4) {
                    format!("1.{minor}.{patch}-{rev}+deb12u1")
                } else {
                    format!("1.{minor}.{patch}-{rev}")
                }
            }
            Eco::Go => format!("v1.{minor}.{patch}"),
            _ => format!("1.{minor}.{patch}"),
        }
    }

    /// A version in an advisory.
    fn version(self, minor: u64, patch: u64) -> String {
        match self {
            Eco::Debian => format!("1.{minor}.{patch}-1"),
            _ => format!("1.{minor}.{patch}"),
        }
    }

    fn range_type(self) -> &'static str {
        match self {
            Eco::Npm | Eco::Crates | Eco::Go => "SEMVER",
            _ => "ECOSYSTEM",
        }
    }

    fn purl(self, k: u64) -> String {
        match self {
            Eco::Debian => format!("pkg:deb/debian/pkg-{k}?arch=source"),
            Eco::Npm => format!("pkg:npm/pkg-{k}"),
            Eco::PyPI => format!("pkg:pypi/pkg-{k}"),
            Eco::Crates => format!("pkg:cargo/pkg-{k}"),
            Eco::Go => format!("pkg:golang/example.com/mod/pkg-{k}"),
            Eco::Maven => format!("pkg:maven/org.example/pkg-{k}"),
        }
    }
}

/// Words of generated summaries and details.
static WORDS: LazyLock<Vec<&str>> = LazyLock::new(|| {
    "the parser allows remote attackers to cause a denial of service via crafted \
     input when handling malformed headers in an unbounded loop which leads memory \
     exhaustion and possibly execute arbitrary code because length checks are missing \
     before copying buffer data into heap this issue affects versions prior fixed"
        .split_whitespace()
        .collect()
});

const CVSS: [&str; 6] = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
    "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:L",
];

fn text(rng: &mut Rng, min_len: usize) -> String {
    let mut out = String::with_capacity(min_len + 16);
    while out.len() < min_len {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(rng.pick(&WORDS));
        if rng.chance(8) {
            out.push('.');
        }
    }
    out.push('.');
    out
}

/// GHSA ids use this alphabet.
fn ghsa(i: u64, salt: u64) -> String {
    const ALPHABET: &[u8] = b"23456789cfghjmpqrvwx";
    let mut n = i * 7 + salt;
    let mut chars = Vec::with_capacity(12);
    for _ in 0..12 {
        chars.push(ALPHABET[(n % 20) as usize]);
        n /= 20;
    }
    let s = String::from_utf8(chars).unwrap_or_default();
    format!("GHSA-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
}

/// The ranges (and affected versions list) of one affected package.
fn ranges(rng: &mut Rng, eco: Eco) -> (Value, Vec<String>) {
    let v = |minor: u64, patch: u64| eco.version(minor, patch);
    let (events, span) = match rng.below(100) {
        0..65 => {
            let f = rng.below(21);
            (
                json!([{"introduced": "0"}, {"fixed": v(f, rng.below(5))}]),
                (0, f),
            )
        }
        65..80 => {
            let a = rng.below(15);
            let b = a + 1 + rng.below(20 - a);
            (
                json!([{"introduced": v(a, 0)}, {"fixed": v(b, rng.below(5))}]),
                (a, b),
            )
        }
        80..90 => {
            let a = rng.below(8);
            let c = a + 1 + rng.below(6);
            let d = c + 1 + rng.below(21 - c);
            (
                json!([{"introduced": "0"}, {"fixed": v(a, rng.below(5))},
                       {"introduced": v(c, 0)}, {"fixed": v(d, 0)}]),
                (c, d),
            )
        }
        90..95 => {
            let f = rng.below(21);
            (
                json!([{"introduced": "0"}, {"last_affected": v(f, 0)}]),
                (0, f),
            )
        }
        _ => (json!([{"introduced": "0"}]), (0, 0)),
    };
    // OSV lists the affected versions of registries it can enumerate.
    let mut versions = Vec::new();
    if eco != Eco::Debian && eco != Eco::Go && rng.chance(20) {
        for minor in span.0..span.1.min(span.0 + 10) {
            for patch in 0..3 {
                versions.push(v(minor, patch));
            }
        }
    }
    (
        json!([{"type": eco.range_type(), "events": events}]),
        versions,
    )
}

fn affected(rng: &mut Rng, eco: Eco, k: u64) -> Value {
    let (ranges, versions) = ranges(rng, eco);
    let mut affected = json!({
        "package": {"ecosystem": eco.osv(), "name": eco.name(k), "purl": eco.purl(k)},
        "ranges": ranges,
    });
    if !versions.is_empty() {
        affected["versions"] = json!(versions);
    }
    match eco {
        Eco::Debian => {
            affected["ecosystem_specific"] =
                json!({"urgency": rng.pick(&["low", "medium", "not yet assigned", "unimportant"])});
        }
        Eco::Go => {
            affected["ecosystem_specific"] = json!({"imports": [{"path": format!("{}/internal/x", eco.name(k)), "symbols": ["Parse", "Reader.Read"]}]});
        }
        Eco::PyPI | Eco::Crates => {
            affected["database_specific"] = json!({"source": format!("https://github.com/example/advisory-db/blob/main/{}.yaml", eco.name(k))});
        }
        Eco::Npm | Eco::Maven => {}
    }
    affected
}

/// Package k of an advisory: skewed towards small k (a few packages have many advisories).
fn advised_package(rng: &mut Rng) -> u64 {
    let u = rng.unit();
    ((u * u) * ADVISED as f64) as u64 % ADVISED
}

/// One OSV record; returns it with its number of affected packages.
fn record(rng: &mut Rng, i: u64) -> (String, Value, u64) {
    let mut roll = rng.below(100);
    let mut eco = Eco::Debian;
    for (e, share) in ECOSYSTEMS {
        if roll < share {
            eco = e;
            break;
        }
        roll -= share;
    }
    let year = 2014 + i % 12;
    let cve = format!("CVE-{year}-{:05}", 10_000 + i);
    let (id, aliases) = match eco {
        Eco::Debian => (format!("DEBIAN-{cve}"), vec![]),
        Eco::Npm | Eco::Maven => {
            let id = ghsa(i, eco.salt());
            let aliases = if rng.chance(80) {
                vec![cve.clone()]
            } else {
                vec![]
            };
            (id, aliases)
        }
        Eco::PyPI => (format!("PYSEC-{year}-{i}"), vec![cve.clone(), ghsa(i, 99)]),
        Eco::Crates => (format!("RUSTSEC-{year}-{i:04}"), vec![cve.clone()]),
        Eco::Go => (format!("GO-{year}-{i:04}"), vec![cve.clone(), ghsa(i, 98)]),
    };
    let k = advised_package(rng);
    let mut affected_list = vec![affected(rng, eco, k)];
    if matches!(eco, Eco::Npm | Eco::PyPI | Eco::Maven) && rng.chance(8) {
        let other = (k + 1 + rng.below(ADVISED - 1)) % ADVISED;
        affected_list.push(affected(rng, eco, other));
    }
    let affected_count = affected_list.len() as u64;
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let summary_len = 40 + rng.below(80) as usize;
    let details_len = 200 + rng.below(400) as usize;
    let mut references = vec![
        json!({"type": "ADVISORY", "url": format!("https://nvd.nist.gov/vuln/detail/{cve}")}),
        json!({"type": "WEB", "url": format!("https://github.com/example/{}/issues/{}", eco.name(k).replace(['/', ':'], "-"), i % 9000)}),
    ];
    for n in 0..rng.below(4) {
        references.push(json!({"type": rng.pick(&["FIX", "WEB", "REPORT", "PACKAGE"]), "url": format!("https://example.com/security/{id}/{n}")}));
    }
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": format!("{}-{month:02}-{day:02}T12:00:00Z", year.max(2020)),
        "published": format!("{year}-{month:02}-{day:02}T00:00:00Z"),
        "aliases": aliases,
        "summary": text(rng, summary_len),
        "details": text(rng, details_len),
        "affected": affected_list,
        "references": references,
    });
    if eco == Eco::Debian {
        record["upstream"] = json!([cve]);
    }
    let cvss_share = if eco == Eco::Debian { 15 } else { 40 };
    if rng.chance(cvss_share) {
        record["severity"] = json!([{"type": "CVSS_V3", "score": rng.pick(&CVSS)}]);
    }
    if matches!(eco, Eco::Npm | Eco::Maven) {
        record["database_specific"] = json!({
            "severity": rng.pick(&["LOW", "MODERATE", "HIGH", "CRITICAL"]),
            "cwe_ids": [format!("CWE-{}", 20 + rng.below(900))],
            "github_reviewed": true,
        });
    }
    let name = format!("{}.json", record["id"].as_str().unwrap_or("unknown"));
    (name, record, affected_count)
}

/// Writes `n` records as one zip archive; returns the number of affected packages (the
/// advisories the import must store).
fn write_osv_zip(path: &Path, n: usize) -> BoxResult<u64> {
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, File::create(path)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut rng = Rng(0x05f5_e100);
    let mut affected = 0;
    for i in 0..n as u64 {
        let (name, record, count) = record(&mut rng, i);
        affected += count;
        zip.start_file(name, options)?;
        serde_json::to_writer(&mut zip, &record)?;
    }
    zip.finish()?.flush()?;
    Ok(affected)
}

// --- The image.

/// A layer blob on disk.
struct LayerFile {
    path: PathBuf,
    digest: Digest,
    bytes: u64,
}

/// Language packages per kind: npm, Python, Cargo, Go (stdlib included), Maven.
#[derive(Clone, Copy, Debug)]
struct LangCounts {
    npm: usize,
    python: usize,
    cargo: usize,
    go: usize,
    maven: usize,
}

impl LangCounts {
    fn split(total: usize) -> Self {
        let npm = total * 40 / 100;
        let python = total * 20 / 100;
        let cargo = total * 15 / 100;
        let go = (total * 15 / 100).max(1);
        Self {
            npm,
            python,
            cargo,
            go,
            maven: total - npm - python - cargo - go,
        }
    }

    fn as_array(self) -> [usize; 5] {
        [self.npm, self.python, self.cargo, self.go, self.maven]
    }
}

struct Image {
    /// Lowest first.
    layers: Vec<LayerFile>,
    files: usize,
    lang_counts: LangCounts,
}

/// Hashes and counts what goes through to the file.
struct Hashing<W> {
    inner: W,
    hasher: Option<Hasher>,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type LayerTar = tar::Builder<flate2::write::GzEncoder<Hashing<BufWriter<File>>>>;

fn layer_tar(path: &Path) -> io::Result<LayerTar> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let hashing = Hashing {
        inner: file,
        hasher: Some(Hasher::new(Algorithm::Sha256)),
        bytes: 0,
    };
    Ok(tar::Builder::new(flate2::write::GzEncoder::new(
        hashing,
        flate2::Compression::fast(),
    )))
}

fn finish_layer(tar: LayerTar, path: &Path) -> io::Result<LayerFile> {
    let mut hashing = tar.into_inner()?.finish()?;
    hashing.flush()?;
    let digest = hashing
        .hasher
        .take()
        .map(Hasher::finalize)
        .ok_or_else(|| io::Error::other("layer hashed twice"))?;
    Ok(LayerFile {
        path: path.to_path_buf(),
        digest,
        bytes: hashing.bytes,
    })
}

fn add(
    tar: &mut tar::Builder<impl Write>,
    path: &str,
    mode: u32,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mtime(1_700_000_000);
    header.set_uid(0);
    header.set_gid(0);
    tar.append_data(&mut header, path, data)
}

fn add_bytes(
    tar: &mut tar::Builder<impl Write>,
    path: &str,
    mode: u32,
    data: &[u8],
) -> io::Result<()> {
    add(tar, path, mode, data.len() as u64, data)
}

/// `left` random (incompressible) bytes.
struct RandomBytes {
    rng: Rng,
    left: u64,
}

impl Read for RandomBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            let word = self.rng.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Distinct package numbers in `0..NAMES` for one kind of package, half of them advised.
fn image_package(kind_salt: u64, j: usize) -> u64 {
    (j as u64 * 7919 + kind_salt * 1237) % NAMES
}

fn write_image(dir: &Path, os_packages: usize, lang: usize, bytes: u64) -> BoxResult<Image> {
    let lang_counts = LangCounts::split(lang);
    let mut files = 0;
    let apps_path = dir.join("layer-apps.tar.gz");
    let apps = write_apps_layer(&apps_path, lang_counts, &mut files)?;
    let os_path = dir.join("layer-os.tar.gz");
    let os = write_os_layer(
        &os_path,
        os_packages,
        bytes.saturating_sub(apps.bytes),
        &mut files,
    )?;
    Ok(Image {
        layers: vec![os, apps],
        files,
        lang_counts,
    })
}

fn write_os_layer(
    path: &Path,
    packages: usize,
    target: u64,
    files: &mut usize,
) -> io::Result<LayerFile> {
    let mut tar = layer_tar(path)?;
    let os_release = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n\
HOME_URL=\"https://www.debian.org/\"\n";
    add_bytes(&mut tar, "etc/os-release", 0o644, os_release)?;
    add_bytes(&mut tar, "usr/lib/os-release", 0o644, os_release)?;
    add_bytes(
        &mut tar,
        "var/lib/dpkg/status",
        0o644,
        dpkg_status(packages).as_bytes(),
    )?;
    *files += 3;
    // The filler: about a sixth executables (the Go build-information search reads those of
    // 1 KiB or more through) and a quarter shared libraries, both with an ELF header, the
    // rest data files; sizes log-uniform between 64 B and 256 KiB. The compressed size so
    // far lags by what the encoder buffers (tens of KiB).
    let mut rng = Rng(0xf111);
    let mut i = 0u64;
    loop {
        let left = target.saturating_sub(tar.get_ref().get_ref().bytes + 64 * 1024);
        if left == 0 {
            break;
        }
        let size = ((64.0 * 4096f64.powf(rng.unit())) as u64).min(left);
        let (name, mode, elf) = match rng.below(100) {
            0..15 => (format!("usr/bin/tool-{i}"), 0o755, true),
            15..40 => (
                format!("usr/lib/x86_64-linux-gnu/libbench{i}.so.{}", i % 7),
                0o644,
                true,
            ),
            _ => (
                format!("usr/share/bench/{}/data-{i}.bin", i % 97),
                0o644,
                false,
            ),
        };
        let header: &[u8] = if elf && size >= 16 {
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        } else {
            b""
        };
        let random = RandomBytes {
            rng: Rng(mix(0xf111, i)),
            left: size - header.len() as u64,
        };
        add(&mut tar, &name, mode, size, header.chain(random))?;
        i += 1;
        *files += 1;
    }
    finish_layer(tar, path)
}

/// `/var/lib/dpkg/status`: `packages` installed binary packages of about 0.6 as many source
/// packages (named `pkg-<k>`, as the advisories are), plus a few removed ones.
fn dpkg_status(packages: usize) -> String {
    let mut out = String::with_capacity(packages * 700);
    let mut rng = Rng(0xdeb);
    let mut emitted = 0;
    let mut source = 0;
    while emitted < packages {
        let k = image_package(Eco::Debian.salt(), source);
        let src = format!("pkg-{k}");
        let src_version = Eco::Debian.installed(k);
        let binaries = 1 + rng.below(3) as usize;
        for b in 0..binaries.min(packages - emitted) {
            let (name, version, source_field) = if b == 0 {
                (src.clone(), src_version.clone(), String::new())
            } else if rng.chance(20) {
                // A binNMU: the binary's version differs from its source's.
                (
                    format!("lib{src}-{b}"),
                    format!("{src_version}+b1"),
                    format!("Source: {src} ({src_version})\n"),
                )
            } else {
                (
                    format!("lib{src}-{b}"),
                    src_version.clone(),
                    format!("Source: {src}\n"),
                )
            };
            out.push_str(&format!(
                "Package: {name}\nStatus: install ok installed\nPriority: optional\n\
                 Section: libs\nInstalled-Size: {}\nMaintainer: Debian Bench Maintainers \
                 <bench@lists.debian.org>\nArchitecture: amd64\nMulti-Arch: same\n{source_field}\
                 Version: {version}\nDepends: libc6 (>= 2.36), zlib1g (>= 1:1.2.0)\n\
                 Description: generated package {name} for the scanner benchmark\n \
                 This is the long description of a generated package. It spans\n \
                 several lines, as real package descriptions do, which the parser skips.\n \
                 .\n It is here to make the status file as large as a real one.\n\
                 Homepage: https://example.com/{src}\n\n",
                100 + rng.below(5000)
            ));
            emitted += 1;
        }
        source += 1;
    }
    for r in 0..5 {
        out.push_str(&format!(
            "Package: removed-{r}\nStatus: deinstall ok config-files\nPriority: optional\n\
             Architecture: amd64\nVersion: 1.0-{r}\n\n"
        ));
    }
    out
}

fn write_apps_layer(path: &Path, counts: LangCounts, files: &mut usize) -> BoxResult<LayerFile> {
    let mut tar = layer_tar(path)?;

    // npm: one lockfile (v3), plus dev dependencies that are not installed.
    let mut lock = serde_json::Map::new();
    lock.insert(
        String::new(),
        json!({"name": "web", "version": "1.0.0", "license": "MIT"}),
    );
    for j in 0..counts.npm {
        let k = image_package(Eco::Npm.salt(), j);
        let version = Eco::Npm.installed(k);
        lock.insert(
            format!("node_modules/pkg-{k}"),
            json!({
                "version": version,
                "resolved": format!("https://registry.npmjs.org/pkg-{k}/-/pkg-{k}-{version}.tgz"),
                "integrity": format!("sha512-{}", hex::encode(mix(k, 1).to_le_bytes()).repeat(8)),
                "license": "MIT",
                "dependencies": {"pkg-1": "^1.0.0"},
            }),
        );
    }
    for d in 0..counts.npm / 10 {
        lock.insert(
            format!("node_modules/devtool-{d}"),
            json!({"version": "1.0.0", "dev": true, "license": "MIT"}),
        );
    }
    let lock = json!({"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": lock});
    add_bytes(
        &mut tar,
        "app/web/package-lock.json",
        0o644,
        &serde_json::to_vec_pretty(&lock)?,
    )?;
    *files += 1;

    // Python: one dist-info directory per distribution.
    for j in 0..counts.python {
        let k = image_package(Eco::PyPI.salt(), j);
        let version = Eco::PyPI.installed(k);
        let dist = format!("usr/local/lib/python3.11/site-packages/pkg_{k}-{version}.dist-info");
        let metadata = format!(
            "Metadata-Version: 2.1\nName: pkg_{k}\nVersion: {version}\nSummary: generated \
             distribution {k}\nHome-page: https://example.com/pkg-{k}\nAuthor: Bench\nLicense: \
             MIT\nClassifier: Programming Language :: Python :: 3\nRequires-Python: >=3.8\n\
             Requires-Dist: pkg-1 (>=1.0)\n\nA generated distribution.\n\nVersion: 0.0.0 in the \
             body is not a header.\n"
        );
        add_bytes(
            &mut tar,
            &format!("{dist}/METADATA"),
            0o644,
            metadata.as_bytes(),
        )?;
        add_bytes(
            &mut tar,
            &format!("{dist}/WHEEL"),
            0o644,
            b"Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )?;
        add_bytes(
            &mut tar,
            &format!("usr/local/lib/python3.11/site-packages/pkg_{k}/__init__.py"),
            0o644,
            format!("__version__ = \"{version}\"\n").as_bytes(),
        )?;
        *files += 3;
    }

    // Cargo: one lockfile.
    let mut cargo = String::from(
        "# This file is automatically @generated by Cargo.\nversion = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n",
    );
    for j in 0..counts.cargo {
        let k = image_package(Eco::Crates.salt(), j);
        cargo.push_str(&format!(
            "[[package]]\nname = \"pkg-{k}\"\nversion = \"{}\"\nsource = \
             \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n\n",
            Eco::Crates.installed(k),
            hex::encode(mix(k, 2).to_le_bytes()).repeat(4)
        ));
    }
    add_bytes(&mut tar, "app/rust/Cargo.lock", 0o644, cargo.as_bytes())?;
    *files += 1;

    // Go: one binary; its toolchain counts as the `stdlib` package.
    let mut modinfo =
        String::from("path\texample.com/app/cmd/server\nmod\texample.com/app\t(devel)\t\n");
    for j in 0..counts.go - 1 {
        let k = image_package(Eco::Go.salt(), j);
        modinfo.push_str(&format!(
            "dep\texample.com/mod/pkg-{k}\t{}\th1:{}=\n",
            Eco::Go.installed(k),
            hex::encode(mix(k, 3).to_le_bytes())
        ));
    }
    modinfo.push_str(
        "build\t-compiler=gc\nbuild\tCGO_ENABLED=0\nbuild\tGOARCH=amd64\nbuild\tGOOS=linux\n",
    );
    add_bytes(
        &mut tar,
        "usr/local/bin/server",
        0o755,
        &golang::craft_binary("go1.22.5", &modinfo),
    )?;
    *files += 1;

    // Maven: one jar per artifact.
    for j in 0..counts.maven {
        let k = image_package(Eco::Maven.salt(), j);
        let version = Eco::Maven.installed(k);
        add_bytes(
            &mut tar,
            &format!("opt/app/lib/pkg-{k}-{version}.jar"),
            0o644,
            &fixtures::jar("org.example", &format!("pkg-{k}"), &version),
        )?;
        *files += 1;
    }
    Ok(finish_layer(tar, path)?)
}

/// Artifact `a`'s own layer: one Python distribution.
fn write_top_layer(dir: &Path, a: usize) -> io::Result<LayerFile> {
    let path = dir.join(format!("layer-top-{a}.tar.gz"));
    let mut tar = layer_tar(&path)?;
    let metadata = format!("Metadata-Version: 2.1\nName: bench-app-{a}\nVersion: 1.0.{a}\n");
    add_bytes(
        &mut tar,
        &format!("srv/app/bench_app_{a}-1.0.{a}.dist-info/METADATA"),
        0o644,
        metadata.as_bytes(),
    )?;
    finish_layer(tar, &path)
}
