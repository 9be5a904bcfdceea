//! `harbor-webhook-bench`: what webhooks cost a `harbor-server` it starts itself (a build
//! next to this one, or `--server`), with a receiver of its own on loopback.
//!
//! - **delivery**: `--events` pushes (tags of one small image) are queued while the
//!   server does not send (`HARBOR_WEBHOOK_SEND=false`); the server is then restarted
//!   with sending on, and the time until the receiver has every event is measured (goal:
//!   1,000 in under 2 s).
//! - **push overhead**: `--images` image pushes (`-c` at a time) into a project without
//!   webhook policies and into one with three (each to the receiver), in alternating
//!   rounds. The server's CPU time per push is compared, a hooked round's including the
//!   deliveries it caused (goal: within 5 %), and so are the wall-clock push rates.
//!
//! ```text
//! cargo build --release -p harbor-server -p harbor-benches
//! target/release/harbor-webhook-bench                  # 1,000 events, 600 images
//! target/release/harbor-webhook-bench --quick          # CI size
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use harbor_benches::auth::Scope;
use harbor_benches::client::Registry;
use harbor_benches::content::Image;
use harbor_benches::server::{Spawned, sibling_binary};
use serde_json::json;

/// Measures webhook delivery and its cost to pushes.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// The harbor-server binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Events to deliver.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Images pushed per project for the push overhead.
    #[arg(long, default_value_t = 600)]
    images: usize,
    /// Concurrent pushes.
    #[arg(short = 'c', long, default_value_t = 8)]
    concurrency: usize,
    /// Small sizes for CI (200 events, 120 images).
    #[arg(long)]
    quick: bool,
    /// Run the server with `storage.fsync = false`: pushes then measure CPU and the
    /// database's writer, not the disk's flush latency (which varies by ±10 % per round
    /// on a shared disk).
    #[arg(long)]
    no_fsync: bool,
    /// Push cost with sending off (`HARBOR_WEBHOOK_SEND=false`): what queueing alone
    /// costs (the delivery part is skipped).
    #[arg(long)]
    queue_only: bool,
    /// Webhook policies on the hooked project (0: both projects alike, a check of the
    /// measurement itself).
    #[arg(long, default_value_t = 3)]
    policies: usize,
}

/// A receiver that counts what it gets.
async fn receiver() -> Result<(String, Arc<AtomicUsize>), String> {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let app = axum::Router::new().fallback(move || {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/hook"), count))
}

/// An administrator's JSON call to the server's API.
async fn api(
    s: &Spawned,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Result<reqwest::Response, String> {
    let r = reqwest::Client::new()
        .request(method, format!("{}/api/v2.0{path}", s.url))
        .basic_auth("admin", Some(&s.password))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(r)
    } else {
        Err(format!("{path}: HTTP {}", r.status()))
    }
}

async fn project_with_hooks(
    s: &Spawned,
    name: &str,
    hook: &str,
    policies: usize,
) -> Result<(), String> {
    api(
        s,
        reqwest::Method::POST,
        "/projects",
        json!({"project_name": name}),
    )
    .await?;
    for i in 0..policies {
        api(
            s,
            reqwest::Method::POST,
            &format!("/projects/{name}/webhook/policies"),
            json!({"name": format!("p{i}"), "event_types": ["PUSH_ARTIFACT", "PULL_ARTIFACT"],
                   "targets": [{"address": hook, "payload_format": if i % 2 == 0 { "Default" } else { "CloudEvents" }}]}),
        )
        .await?;
    }
    Ok(())
}

async fn queued(s: &Spawned) -> Result<usize, String> {
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v2.0/projects/hooks/webhook/policies",
            s.url
        ))
        .basic_auth("admin", Some(&s.password))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<serde_json::Value> = r.json().await.map_err(|e| e.to_string())?;
    let id = list
        .first()
        .and_then(|p| p["id"].as_i64())
        .ok_or("no policy")?;
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v2.0/projects/hooks/webhook/policies/{id}/executions?page_size=1",
            s.url
        ))
        .basic_auth("admin", Some(&s.password))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

async fn delivery(cli: &Cli, bin: &std::path::Path, events: usize) -> Result<(), String> {
    let (hook, count) = receiver().await?;
    let env = |send: bool| {
        vec![
            ("HARBOR_REMOTE_ALLOW_LOOPBACK".to_owned(), "true".to_owned()),
            ("HARBOR_WEBHOOK_SEND".to_owned(), send.to_string()),
        ]
    };
    let mut s = Spawned::start(bin, &env(false)).await?;
    project_with_hooks(&s, "hooks", &hook, 1).await?;
    let reg = Arc::new(Registry::new(
        &s.url,
        Some(("admin".into(), s.password.clone())),
        cli.concurrency,
    ));
    reg.prepare(Scope::Repository("hooks/app"))
        .await
        .map_err(|e| e.0)?;
    let img = Image::generate(1024, 1);
    reg.push_image("hooks/app", "t0", &img, None)
        .await
        .map_err(|e| e.0)?;
    let next = Arc::new(AtomicUsize::new(1));
    let mut tasks = Vec::new();
    for _ in 0..cli.concurrency {
        let (reg, next, img) = (reg.clone(), next.clone(), img.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= events {
                    return Ok::<(), String>(());
                }
                reg.push_manifest("hooks/app", &format!("t{i}"), &img.manifest)
                    .await
                    .map_err(|e| e.0)?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while queued(&s).await? < events {
        if Instant::now() > deadline {
            return Err("the events were not queued within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Instant::now();
    s.restart(bin, &env(true)).await?;
    let up = t.elapsed();
    let cpu_up = cpu_time(s.pid());
    let deadline = Instant::now() + Duration::from_secs(120);
    while count.load(Ordering::Relaxed) < events {
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {events} delivered within 120 s",
                count.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all = t.elapsed();
    // A small backlog may be delivered before the restarted server answers its first
    // request: then there is no rate (or CPU per event) after it to speak of.
    let after = all.saturating_sub(up);
    let rate = match (cpu_up, cpu_time(s.pid())) {
        _ if after < Duration::from_millis(20) => {
            ", most of them before the server answered".to_owned()
        }
        (Some(a), Some(b)) => format!(
            ", {:.0} events/s, server CPU {:.0} µs per event once up",
            events as f64 / after.as_secs_f64(),
            (b - a).as_secs_f64() * 1e6 / events as f64
        ),
        _ => format!(", {:.0} events/s", events as f64 / after.as_secs_f64()),
    };
    println!(
        "delivery   {events} queued events to one receiver (one repository, in order): all delivered {:.2} s after the restart ({:.2} s of it the server's start){rate} (goal: 1,000 in < 2 s)",
        all.as_secs_f64(),
        up.as_secs_f64(),
    );
    Ok(())
}

/// Pushes `n` images into `project`, `c` at a time; returns pushes per second.
async fn push_rate(
    reg: &Arc<Registry>,
    project: &str,
    round: usize,
    n: usize,
    c: usize,
) -> Result<f64, String> {
    let repo = format!("{project}/app");
    let images: Arc<Vec<Image>> = Arc::new(
        (0..n)
            .map(|i| {
                Image::generate(
                    2048,
                    (round * 100_000 + i) as u64 + if project == "hooked" { 50_000 } else { 0 },
                )
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (reg, next, images, repo) = (reg.clone(), next.clone(), images.clone(), repo.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(img) = images.get(i) else {
                    return Ok::<(), String>(());
                };
                reg.push_image(&repo, &format!("r{round}-{i}"), img, None)
                    .await
                    .map_err(|e| e.0)?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// The server's CPU time so far (user and system, every thread, dead ones included), from
/// `/proc/<pid>/stat`; `None` where there is no `/proc`.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Waits until the receiver got `want` requests (at most `limit`).
async fn drained(count: &AtomicUsize, want: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while count.load(Ordering::Relaxed) < want {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// How long a round waits for the work its pushes left behind: the event dispatcher's
/// and the webhook sender's gathering times, with room to spare.
const SETTLE: Duration = Duration::from_millis(600);

async fn overhead(cli: &Cli, bin: &std::path::Path, images: usize) -> Result<(), String> {
    let (hook, count) = receiver().await?;
    let mut env = vec![("HARBOR_REMOTE_ALLOW_LOOPBACK".to_owned(), "true".to_owned())];
    if cli.no_fsync {
        env.push(("HARBOR_STORAGE_FSYNC".to_owned(), "false".to_owned()));
    }
    if cli.queue_only {
        env.push(("HARBOR_WEBHOOK_SEND".to_owned(), "false".to_owned()));
    }
    let s = Spawned::start(bin, &env).await?;
    project_with_hooks(&s, "plain", &hook, 0).await?;
    project_with_hooks(&s, "hooked", &hook, cli.policies).await?;
    let reg = Arc::new(Registry::new(
        &s.url,
        Some(("admin".into(), s.password.clone())),
        cli.concurrency,
    ));
    for p in ["plain/app", "hooked/app"] {
        reg.prepare(Scope::Repository(p)).await.map_err(|e| e.0)?;
    }
    // Warm-up, then alternating rounds so that drift hits both alike. Two figures:
    // - the server's CPU time per push, each round's including the work its pushes left
    //   behind, a hooked round's every delivery it caused (the round ends when the
    //   receiver has them all): the cost webhooks add to
    //   the server, which on a busy machine is what limits push throughput;
    // - the wall-clock push rates (the median of the rounds' paired ratios; the disk's
    //   and the machine's noise move whole rounds by 10-30 % here).
    push_rate(&reg, "plain", 99, 20, cli.concurrency).await?;
    tokio::time::sleep(SETTLE).await;
    let warm = count.load(Ordering::Relaxed);
    let rounds = 8;
    let per = images.div_ceil(rounds);
    let (mut plain, mut hooked, mut ratios) = (0.0, 0.0, Vec::new());
    let (mut plain_cpu, mut hooked_cpu) = (Duration::ZERO, Duration::ZERO);
    let pid = s.pid();
    let mut delivered = warm;
    for round in 0..rounds {
        // Plain first in even rounds, hooked first in odd ones: whatever the second of a
        // pair pays for (a database that grew, a checkpoint due) falls on both alike.
        let order = if round % 2 == 0 {
            ["plain", "hooked"]
        } else {
            ["hooked", "plain"]
        };
        let (mut p, mut h) = (0.0, 0.0);
        for project in order {
            let c0 = cpu_time(pid);
            let rate = push_rate(&reg, project, round, per, cli.concurrency).await?;
            if project == "hooked" {
                delivered += per * cli.policies;
                if !cli.queue_only && !drained(&count, delivered, Duration::from_secs(60)).await {
                    return Err(format!(
                        "round {round}: the receiver got {} of {delivered} deliveries",
                        count.load(Ordering::Relaxed)
                    ));
                }
            }
            // The work a round's pushes leave behind (events handed to subscribers after
            // their gathering time) counts in that round, not the next.
            tokio::time::sleep(SETTLE).await;
            let used = match (c0, cpu_time(pid)) {
                (Some(a), Some(b)) => b - a,
                _ => Duration::ZERO,
            };
            if project == "hooked" {
                (h, hooked_cpu) = (rate, hooked_cpu + used);
            } else {
                (p, plain_cpu) = (rate, plain_cpu + used);
            }
        }
        plain += p;
        hooked += h;
        ratios.push(h / p);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let (plain, hooked) = (plain / rounds as f64, hooked / rounds as f64);
    let pushes = (per * rounds) as f64;
    let per_push = |d: Duration| d.as_secs_f64() * 1000.0 / pushes;
    let cpu_extra = if plain_cpu.is_zero() {
        f64::NAN
    } else {
        (hooked_cpu.as_secs_f64() / plain_cpu.as_secs_f64() - 1.0) * 100.0
    };
    println!(
        "push cost  {} image pushes per project in {rounds} rounds (order alternating), {} at a time{}{}: server CPU {:.2} ms per push without webhooks, {:.2} ms with {} policies and their {} deliveries ({cpu_extra:+.1} %; goal within 5 %); wall clock {plain:.0}/s and {hooked:.0}/s, median round {:+.1} % (rounds from {:+.1} to {:+.1} %)",
        per * rounds,
        cli.concurrency,
        if cli.no_fsync { ", fsync off" } else { "" },
        if cli.queue_only { ", sending off" } else { "" },
        per_push(plain_cpu),
        per_push(hooked_cpu),
        cli.policies,
        per * rounds * cli.policies,
        (median - 1.0) * 100.0,
        (ratios[0] - 1.0) * 100.0,
        (ratios[ratios.len() - 1] - 1.0) * 100.0,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let bin = cli.server.clone().unwrap_or_else(sibling_binary);
    let (events, images) = if cli.quick {
        (200, 120)
    } else {
        (cli.events, cli.images)
    };
    let result = match cli.queue_only {
        true => Ok(()),
        false => delivery(&cli, &bin, events).await,
    };
    let result = match result {
        Ok(()) => overhead(&cli, &bin, images).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("harbor-webhook-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
