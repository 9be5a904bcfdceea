//! `harbor-bench`: load any OCI registry with zb-style workloads and report throughput and
//! latency as a table and as JSON.
//!
//! ```text
//! harbor-bench --url http://127.0.0.1:5000 -w push,pull --size 1MB,10MB -c 10 -n 100
//! harbor-bench --url http://127.0.0.1:5000 -w manifest-get -c 10 -n 20000 --json out.json
//! HARBOR_BENCH_PASSWORD=... harbor-bench --url http://127.0.0.1:8080 --user admin -w pull
//! ```
//!
//! Credentials are sent only to a registry that asks for them (`401`): Docker's token
//! flow for a `Bearer` challenge (one token per repository, fetched in the untimed
//! set-up and cached until shortly before it expires), Basic for a `Basic` challenge.

use std::process::ExitCode;

use clap::Parser;
use harbor_benches::client::Registry;
use harbor_benches::content::parse_size;
use harbor_benches::report::{Report, comparison, table};
use harbor_benches::rss::Sampler;
use harbor_benches::run::{Spec, Workload, run};

/// Load generator for OCI registries.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Registry base URL.
    #[arg(long, default_value = "http://127.0.0.1:5000")]
    url: String,
    /// Name of that registry in reports.
    #[arg(long, default_value = "ours")]
    name: String,
    /// Its process id, to report its peak resident memory per workload (Linux).
    #[arg(long)]
    pid: Option<u32>,
    /// A second registry to run every workload against too, interleaved, and compare.
    #[arg(long)]
    compare_url: Option<String>,
    /// Name of the second registry.
    #[arg(long, default_value = "theirs")]
    compare_name: String,
    /// Process id of the second registry.
    #[arg(long)]
    compare_pid: Option<u32>,
    /// Workloads, comma-separated: push, push-chunked, pull, manifest-get, manifest-head,
    /// tags, catalog, mix (75% pull / 25% push), or `all`.
    #[arg(short, long, value_delimiter = ',', default_value = "all")]
    workload: Vec<String>,
    /// Layer sizes for image workloads, comma-separated (e.g. 1MB,10MB,100MB).
    #[arg(long, value_delimiter = ',', default_value = "1MB")]
    size: Vec<String>,
    /// Concurrent clients.
    #[arg(short, long, default_value_t = 10)]
    concurrency: usize,
    /// Operations per workload (image workloads: images).
    #[arg(short = 'n', long, default_value_t = 100)]
    requests: usize,
    /// Chunk size of push-chunked.
    #[arg(long, default_value = "5MiB")]
    chunk: String,
    /// Repository prefix.
    #[arg(long, default_value = "harbor-bench")]
    repo: String,
    /// Most memory for distinct generated layers; beyond it content is reused.
    #[arg(long, default_value = "2GiB")]
    memory: String,
    /// Generate the same content on every run (for soaks: storage stays bounded);
    /// without it every run pushes new content.
    #[arg(long)]
    seed: Option<u64>,
    /// User name, for registries that ask for credentials (token flow or Basic).
    #[arg(long, env = "HARBOR_BENCH_USER")]
    user: Option<String>,
    /// Password (prefer the environment variable: command lines are visible to others).
    #[arg(long, env = "HARBOR_BENCH_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Also write the results as JSON to this file (`-` for stdout).
    #[arg(long)]
    json: Option<String>,
}

fn specs(cli: &Cli) -> Result<Vec<Spec>, String> {
    let workloads: Vec<Workload> = if cli.workload.iter().any(|w| w == "all") {
        Workload::ALL.to_vec()
    } else {
        cli.workload
            .iter()
            .map(|w| w.parse())
            .collect::<Result<_, _>>()?
    };
    let sizes = cli
        .size
        .iter()
        .map(|s| parse_size(s))
        .collect::<Result<Vec<_>, _>>()?;
    let chunk = parse_size(&cli.chunk)?;
    let memory_budget = parse_size(&cli.memory)?;
    let mut out = Vec::new();
    for w in workloads {
        let for_sizes: Vec<usize> = if w.sized() { sizes.clone() } else { vec![0] };
        for size in for_sizes {
            out.push(Spec {
                workload: w,
                size,
                concurrency: cli.concurrency.max(1),
                requests: cli.requests.max(1),
                chunk,
                repo: cli.repo.clone(),
                memory_budget,
                seed: cli.seed,
            });
        }
    }
    Ok(out)
}

/// One registry under test.
struct Target {
    name: String,
    reg: Registry,
    pid: Option<u32>,
}

async fn measure(t: &Target, spec: &Spec) -> Result<Report, String> {
    let sampler = t.pid.map(Sampler::start);
    let result = run(&t.reg, spec).await;
    let rss = match sampler {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    let mut r = result.map_err(|e| {
        format!(
            "set-up of {} on {} failed: {e}",
            spec.workload.name(),
            t.name
        )
    })?;
    r.target = t.name.clone();
    r.peak_rss_mib = rss;
    if let Some(e) = &r.first_error {
        eprintln!("{} {}: {} errors, first: {e}", t.name, r.workload, r.errors);
    }
    if r.auth_round_trips > 0 {
        eprintln!(
            "{} {}: {} requests for authentication inside the timed phase",
            t.name, r.workload, r.auth_round_trips
        );
    }
    if let Some(line) = table(std::slice::from_ref(&r)).lines().nth(1) {
        eprintln!("{line}");
    }
    Ok(r)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let specs = match specs(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("harbor-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let auth = cli
        .user
        .clone()
        .map(|u| (u, cli.password.clone().unwrap_or_default()));
    let conns = cli.concurrency.max(1);
    let mut targets = vec![Target {
        name: cli.name.clone(),
        reg: Registry::new(&cli.url, auth.clone(), conns),
        pid: cli.pid,
    }];
    if let Some(url) = &cli.compare_url {
        targets.push(Target {
            name: cli.compare_name.clone(),
            reg: Registry::new(url, auth, conns),
            pid: cli.compare_pid,
        });
    }
    if cli.password.is_some() && cli.user.is_none() {
        eprintln!("harbor-bench: --password without --user");
        return ExitCode::from(2);
    }
    for t in &targets {
        if let Err(e) = t.reg.ping().await {
            eprintln!(
                "harbor-bench: {} is not answering as a registry: {e}",
                t.name
            );
            return ExitCode::FAILURE;
        }
        match (t.reg.token_realm(), &cli.user) {
            (Some(realm), Some(user)) => {
                eprintln!("{}: tokens from {realm} as {user}", t.name)
            }
            (Some(realm), None) => eprintln!(
                "{}: asks for authentication ({realm}); going on anonymously (--user/--password)",
                t.name
            ),
            (None, _) if t.reg.auth_round_trips() > 0 => {
                eprintln!("{}: Basic authentication", t.name)
            }
            (None, _) => eprintln!("{}: no authentication asked for", t.name),
        }
    }
    // Interleaved: every workload runs on each target before the next workload starts.
    let mut results: Vec<Vec<Report>> = vec![Vec::new(); targets.len()];
    for spec in &specs {
        for (i, t) in targets.iter().enumerate() {
            match measure(t, spec).await {
                Ok(r) => results[i].push(r),
                Err(e) => {
                    eprintln!("harbor-bench: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let all: Vec<Report> = results.iter().flatten().cloned().collect();
    println!("{}", table(&all));
    if results.len() == 2 {
        println!("{} / {}:", targets[0].name, targets[1].name);
        println!("{}", comparison(&results[0], &results[1]));
    }
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&all).unwrap_or_default();
        if path == "-" {
            println!("{json}");
        } else if let Err(e) = std::fs::write(path, json) {
            eprintln!("harbor-bench: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Failures of the registry under test fail the run; the comparison's are only shown.
    let errors: usize = results[0].iter().map(|r| r.errors).sum();
    if errors > 0 {
        eprintln!(
            "harbor-bench: {errors} operations on {} failed",
            targets[0].name
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
