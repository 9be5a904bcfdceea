//! `harbor-abuse-bench`: what hostile clients cost a `harbor-server`, measured on a
//! process it starts itself (a release build next to this one, or `--server`).
//!
//! - `wrong-passwords`: `--attackers` clients, each from its own loopback address (so no
//!   per-address limit stops them), send wrong passwords for `admin` as fast as they are
//!   answered for `--seconds`, while one client pulls a small image over and over with a
//!   token fetched beforehand. Reports the server's memory before, at its peak and after
//!   the flood, the pull latencies, and the answers the attackers got.
//! - `silent-connections`: `--connections` TCP connections that send nothing, and as
//!   many that send only the HTTP/2 preface, then counts how many the server still holds
//!   open after its idle time-out (`HARBOR_IDLE_TIMEOUT_SECS`, set low for the run).
//!
//! ```text
//! cargo build --release -p harbor-server -p harbor-benches
//! target/release/harbor-abuse-bench --scenario wrong-passwords --attackers 500 --seconds 20
//! target/release/harbor-abuse-bench --scenario silent-connections --connections 1000
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use harbor_benches::auth::Scope;
use harbor_benches::client::Registry;
use harbor_benches::content::Image;
use harbor_benches::report::percentile;
use harbor_benches::rss::{Sampler, rss_kib};
use harbor_benches::server::{Spawned, sibling_binary};
use tokio::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    WrongPasswords,
    SilentConnections,
    All,
}

/// Measures what hostile clients cost a harbor-server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// What to run.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// The harbor-server binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Extra `KEY=VALUE` environment for the server (repeatable).
    #[arg(long = "server-env")]
    server_env: Vec<String>,
    /// Concurrent wrong-password clients.
    #[arg(long, default_value_t = 500)]
    attackers: usize,
    /// How long the flood lasts.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Silent connections (and as many HTTP/2 prefaces).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
}

/// The `i`-th attacker's loopback address (127.0.0.0/8 is all local on Linux).
fn attacker_addr(i: usize) -> IpAddr {
    let n = i + 1;
    IpAddr::from([
        127,
        1 + (n / 62_500) as u8,
        ((n / 250) % 250) as u8,
        (n % 250 + 1) as u8,
    ])
}

fn mib(kib: Option<u64>) -> f64 {
    kib.unwrap_or(0) as f64 / 1024.0
}

async fn wrong_passwords(cli: &Cli, bin: &Path, env: &[(String, String)]) -> Result<(), String> {
    let server = Spawned::start(bin, env).await?;
    let pid = server.pid();
    let admin = ("admin".to_owned(), server.password.clone());
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v2.0/projects", server.url))
        .basic_auth(&admin.0, Some(&admin.1))
        .json(&serde_json::json!({"project_name": "bench"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("cannot create the project: HTTP {}", r.status()));
    }
    let registry = Registry::new(&server.url, Some(admin.clone()), 4);
    let image = Image::generate(64 * 1024, 1);
    registry
        .push_image("bench/app", "v1", &image, None)
        .await
        .map_err(|e| e.0)?;
    registry
        .prepare(Scope::Repository("bench/app"))
        .await
        .map_err(|e| e.0)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut attackers = Vec::new();
    for i in 0..cli.attackers {
        let (stop, answers, url) = (stop.clone(), answers.clone(), server.url.clone());
        attackers.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .local_address(attacker_addr(i))
                .build()
                .expect("client");
            let mut seen = BTreeMap::<String, u64>::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = c
                    .get(format!("{url}/v2/"))
                    .basic_auth("admin", Some(format!("Wrong-{i}-{n}")))
                    .send()
                    .await;
                let key = match r {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(e) if e.is_connect() => "connect error".into(),
                    Err(_) => "error".into(),
                };
                *seen.entry(key).or_default() += 1;
            }
            let mut all = answers.lock().await;
            for (k, v) in seen {
                *all.entry(k).or_default() += v;
            }
        }));
    }
    let puller = {
        let (stop, registry) = (stop.clone(), registry.clone());
        tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match registry.pull_image("bench/app", "v1").await {
                    Ok(_) => ms.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(_) => errors += 1,
                }
            }
            (ms, errors)
        })
    };
    tokio::time::sleep(Duration::from_secs(cli.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    let (mut ms, pull_errors) = puller.await.map_err(|e| e.to_string())?;
    let peak = sampler.finish().await;
    let during = rss_kib(pid);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_kib(pid);
    ms.sort_by(f64::total_cmp);
    println!(
        "wrong passwords: {} attackers for {} s",
        cli.attackers, cli.seconds
    );
    println!(
        "  server RSS: {:.1} MiB before, {:.1} MiB peak, {:.1} MiB at the end, {:.1} MiB 5 s later",
        mib(before),
        peak,
        mib(during),
        mib(after)
    );
    println!(
        "  concurrent pulls: {} ok, {} failed; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        pull_errors,
        percentile(&ms, 50.0),
        percentile(&ms, 99.0),
        ms.last().copied().unwrap_or(0.0)
    );
    let answers = answers.lock().await;
    let summary: Vec<String> = answers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("  attackers' answers: {}", summary.join(", "));
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let bin = cli.server.clone().unwrap_or_else(sibling_binary);
    let env: Vec<(String, String)> = cli
        .server_env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut result = Ok(());
    if matches!(cli.scenario, Scenario::WrongPasswords | Scenario::All) {
        result = result.and(wrong_passwords(&cli, &bin, &env).await);
    }
    if matches!(cli.scenario, Scenario::SilentConnections | Scenario::All) {
        result = result.and(silent_connections(&cli, &bin, &env).await);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("harbor-abuse-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn silent_connections(cli: &Cli, bin: &Path, env: &[(String, String)]) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let idle = 5u64;
    let mut env = env.to_vec();
    env.push(("HARBOR_IDLE_TIMEOUT_SECS".into(), idle.to_string()));
    let server = Spawned::start(bin, &env).await?;
    let pid = server.pid();
    let addr = server.url.trim_start_matches("http://").to_owned();
    let before = rss_kib(pid);
    let mut conns = Vec::new();
    for i in 0..cli.connections * 2 {
        let mut c = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connection {i}: {e}"))?;
        if i % 2 == 1 {
            c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await
                .map_err(|e| e.to_string())?;
        }
        conns.push(c);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = rss_kib(pid);
    // A legitimate request meanwhile.
    let t = Instant::now();
    let status = reqwest::Client::new()
        .get(format!("{}/v2/", server.url))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())?;
    let answered_ms = t.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_secs(idle + 2)).await;
    let mut open = 0;
    for c in &mut conns {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(Duration::from_millis(1), c.read(&mut buf)).await {
                Err(_) => {
                    open += 1;
                    break;
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue, // HTTP/2 settings, then the close
            }
        }
    }
    let after = rss_kib(pid);
    println!(
        "silent connections: {} silent + {} HTTP/2 preface only, idle time-out {idle} s",
        cli.connections, cli.connections
    );
    println!(
        "  server RSS: {:.1} MiB before, {:.1} MiB while held, {:.1} MiB after",
        mib(before),
        mib(held),
        mib(after)
    );
    println!("  a request meanwhile: HTTP {status} in {answered_ms:.1} ms");
    println!(
        "  still open {} s later: {open} of {}",
        idle + 2,
        conns.len()
    );
    if open > 0 {
        return Err(format!("{open} silent connections were not closed"));
    }
    Ok(())
}
