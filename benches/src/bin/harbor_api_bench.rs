//! `harbor-api-bench`: how fast the REST API lists a big repository.
//!
//! Seeds one repository with `--artifacts` distinct artifacts (image manifests sharing one
//! config and layer, each with its own tag, pushed over `/v2/` in parallel), then times
//! the listing endpoints with `-c` concurrent clients and prints throughput and latency
//! percentiles. Credentials (an administrator's, sent as Basic) come from `--user`/
//! `--password` or `HARBOR_BENCH_USER`/`HARBOR_BENCH_PASSWORD`.
//!
//! ```text
//! HARBOR_BENCH_PASSWORD=... harbor-api-bench --url http://127.0.0.1:8080 --artifacts 10000
//! HARBOR_BENCH_PASSWORD=... harbor-api-bench --skip-seed --portal   # pages vs their API calls
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use harbor_benches::auth::Scope;
use harbor_benches::client::Registry;
use harbor_benches::content::{Blob, Image};
use harbor_benches::report::{Samples, table};
use reqwest::{Client, StatusCode};

/// Times REST API listings over a repository with many artifacts.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Administrator user.
    #[arg(long, env = "HARBOR_BENCH_USER", default_value = "admin")]
    user: String,
    /// Its password.
    #[arg(long, env = "HARBOR_BENCH_PASSWORD", hide_env_values = true)]
    password: String,
    /// Project to create and fill.
    #[arg(long, default_value = "bench-api")]
    project: String,
    /// Artifacts in the repository.
    #[arg(long, default_value_t = 10_000)]
    artifacts: usize,
    /// Do not push; the repository was seeded by an earlier run.
    #[arg(long)]
    skip_seed: bool,
    /// Concurrent clients.
    #[arg(short, long, default_value_t = 8)]
    concurrency: usize,
    /// Requests per endpoint.
    #[arg(short = 'n', long, default_value_t = 400)]
    requests: usize,
    /// Also time the web portal's pages next to the API calls behind them (signed in
    /// through the portal's form; the API calls then use the same session cookie).
    #[arg(long)]
    portal: bool,
}

/// Signs in through the portal's form and returns the session cookie (`sid=...`).
async fn portal_session(cli: &Cli) -> Result<String, String> {
    let form = format!(
        "username={}&password={}",
        form_encode(&cli.user),
        form_encode(&cli.password)
    );
    let no_redirect = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let r = no_redirect
        .post(format!("{}/login", cli.url))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    r.headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no session cookie (HTTP {})", r.status()))
}

/// Percent-encodes a form value.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Artifact `i`: the shared image's manifest with its own annotation, so its own digest.
fn manifest(img: &Image, i: usize) -> Blob {
    let mut m: serde_json::Value =
        serde_json::from_slice(&img.manifest.data).expect("generated manifest is JSON");
    m["annotations"] = serde_json::json!({ "harbor-api-bench.index": i.to_string() });
    Blob::new(Bytes::from(m.to_string()))
}

async fn seed(cli: &Cli, http: &Client, repo: &str) -> Result<(), String> {
    let r = http
        .post(format!("{}/api/v2.0/projects", cli.url))
        .basic_auth(&cli.user, Some(&cli.password))
        .json(&serde_json::json!({"project_name": cli.project, "metadata": {"public": "false"}}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != StatusCode::CREATED && r.status() != StatusCode::CONFLICT {
        return Err(format!(
            "create project {}: HTTP {}",
            cli.project,
            r.status()
        ));
    }
    let reg = Registry::new(
        &cli.url,
        Some((cli.user.clone(), cli.password.clone())),
        cli.concurrency,
    );
    reg.prepare(Scope::Repository(repo))
        .await
        .map_err(|e| e.0)?;
    let img = Arc::new(Image::generate(1024, 42));
    reg.push_image(repo, "t0", &img, None)
        .await
        .map_err(|e| e.0)?;
    let next = Arc::new(AtomicUsize::new(1));
    let start = Instant::now();
    let workers: Vec<_> = (0..cli.concurrency.max(1))
        .map(|_| {
            let (reg, img, next, repo) = (reg.clone(), img.clone(), next.clone(), repo.to_owned());
            let n = cli.artifacts;
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    reg.push_manifest(&repo, &format!("t{i}"), &manifest(&img, i))
                        .await
                        .map_err(|e| e.0)?;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    eprintln!(
        "seeded {repo} with {} artifacts in {:.1} s",
        cli.artifacts,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times `n` GETs of `path` over `c` clients; a response other than 200 is an error.
/// With `cookie`, the requests carry that portal session instead of Basic credentials.
async fn time(
    cli: &Cli,
    http: &Client,
    name: &str,
    path: String,
    cookie: Option<&str>,
) -> harbor_benches::report::Report {
    let next = Arc::new(AtomicUsize::new(0));
    let url = Arc::new(format!("{}{path}", cli.url));
    let start = Instant::now();
    let workers: Vec<_> = (0..cli.concurrency.max(1))
        .map(|_| {
            let (http, next, url) = (http.clone(), next.clone(), url.clone());
            let (n, user, password) = (cli.requests, cli.user.clone(), cli.password.clone());
            let cookie = cookie.map(str::to_owned);
            tokio::spawn(async move {
                let mut s = Samples::default();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let t0 = Instant::now();
                    let req = http.get(url.as_str());
                    let req = match &cookie {
                        Some(c) => req.header(reqwest::header::COOKIE, c),
                        None => req.basic_auth(&user, Some(&password)),
                    };
                    let r = req.send().await;
                    let ok = match r {
                        Ok(r) if r.status() == StatusCode::OK => match r.bytes().await {
                            Ok(b) => {
                                s.bytes += b.len() as u64;
                                None
                            }
                            Err(e) => Some(e.to_string()),
                        },
                        Ok(r) => Some(format!("HTTP {}", r.status())),
                        Err(e) => Some(e.to_string()),
                    };
                    match ok {
                        None => s.latencies.push(t0.elapsed()),
                        Some(e) => {
                            s.errors += 1;
                            s.first_error.get_or_insert(e);
                        }
                    }
                }
                s
            })
        })
        .collect();
    let mut all = Samples::default();
    for w in workers {
        all.merge(w.await.expect("worker"));
    }
    let mut report = all.report(name, 0, cli.concurrency, cli.requests, start.elapsed());
    report.target = "harbor-rs".into();
    report
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let http = Client::builder()
        .pool_max_idle_per_host(cli.concurrency)
        .build()
        .expect("HTTP client");
    let repo = format!("{}/big", cli.project);
    if !cli.skip_seed
        && let Err(e) = seed(&cli, &http, &repo).await
    {
        eprintln!("seeding failed: {e}");
        return ExitCode::FAILURE;
    }
    let base = format!(
        "/api/v2.0/projects/{}/repositories/big/artifacts",
        cli.project
    );
    let last_page = cli.artifacts.div_ceil(100).max(1);
    let cases = [
        (
            "artifacts page 1 (15)",
            format!("{base}?page=1&page_size=15"),
        ),
        (
            "artifacts page 1 (100)",
            format!("{base}?page=1&page_size=100"),
        ),
        (
            "artifacts last page (100)",
            format!("{base}?page={last_page}&page_size=100"),
        ),
        (
            "artifacts by tag",
            format!("{base}?q=tags%3Dt{}&page_size=15", cli.artifacts / 2),
        ),
        (
            "artifacts sorted by digest",
            format!("{base}?sort=digest&page_size=15"),
        ),
        ("artifact by tag", format!("{base}/t{}", cli.artifacts / 3)),
        (
            "repositories",
            format!("/api/v2.0/projects/{}/repositories", cli.project),
        ),
    ];
    let mut reports = Vec::new();
    for (name, path) in cases {
        let r = time(&cli, &http, name, path, None).await;
        if let Some(e) = &r.first_error {
            eprintln!("{name}: {} errors, first: {e}", r.errors);
        }
        reports.push(r);
    }
    if cli.portal {
        // Each portal page next to the API call it is built on.
        let cookie = match portal_session(&cli).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("portal sign-in failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (p, tag) = (&cli.project, cli.artifacts / 3);
        let pairs = [
            (
                "API: projects (25, details)",
                "/api/v2.0/projects?page=1&page_size=25&with_detail=true".to_owned(),
                "portal: projects page",
                "/projects".to_owned(),
            ),
            (
                "API: artifacts (25, tags, labels, accessories)",
                format!(
                    "{base}?page=1&page_size=25&with_tag=true&with_label=true&with_accessory=true"
                ),
                "portal: repository page",
                format!("/repo?name={p}%2Fbig"),
            ),
            (
                "API: one artifact",
                format!("{base}/t{tag}?with_tag=true&with_label=true&with_accessory=true"),
                "portal: artifact page",
                format!("/artifact?repo={p}%2Fbig&ref=t{tag}"),
            ),
        ];
        for (api_name, api_path, page_name, page_path) in pairs {
            for (name, path, c) in [
                (api_name, api_path, Some(cookie.as_str())),
                (page_name, page_path, Some(cookie.as_str())),
            ] {
                let r = time(&cli, &http, name, path, c).await;
                if let Some(e) = &r.first_error {
                    eprintln!("{name}: {} errors, first: {e}", r.errors);
                }
                reports.push(r);
            }
        }
    }
    println!("{}", table(&reports));
    if reports.iter().any(|r| r.errors > 0) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
