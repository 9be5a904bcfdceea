//! The `harbor-server` binary: a thin shell over the `harbor_server` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harbor_server::config::{Config, Overrides};
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::{PoolConfig, redact_url};

/// Harbor-rs: an OCI container registry in one binary. Without a command, it serves.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// TOML configuration file.
    #[arg(long, env = "HARBOR_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:5000 (overrides HARBOR_LISTEN).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory for the database and blobs (overrides HARBOR_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `debug` (overrides HARBOR_LOG).
    #[arg(long)]
    log: Option<String>,
    /// Run no background jobs here (an API-only replica; overrides HARBOR_JOBS_ENABLED).
    #[arg(long)]
    no_jobs: bool,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Copy all registry metadata into another, empty database (e.g. from the embedded
    /// SQLite to PostgreSQL). Stop the servers writing to the source first; blobs are not
    /// copied (move them with any S3 or file copy tool).
    CopyMetadata {
        /// Source database URL (default: the configured database).
        #[arg(long)]
        from: Option<String>,
        /// Target database URL, e.g. postgres://harbor@db:5432/harbor.
        #[arg(long)]
        to: String,
    },
}

/// Runs `copy-metadata`.
async fn copy_metadata(from: &str, to: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pool = PoolConfig::default();
    let source = SqlMetadataStore::connect(from, &pool).await?;
    let target = SqlMetadataStore::connect(to, &pool).await?;
    eprintln!("copying {} -> {}", redact_url(from), redact_url(to));
    let report = source.copy_into(&target).await?;
    for (table, rows) in report.tables {
        println!("{table}: {rows} rows");
    }
    source.close().await;
    target.close().await;
    Ok(())
}

fn load(cli: &Cli) -> Result<Config, harbor_server::config::ConfigError> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.apply_env(|k| std::env::var(k).ok())?;
    config.apply_overrides(&Overrides {
        listen: cli.listen,
        data_dir: cli.data_dir.clone(),
        log: cli.log.clone(),
        no_jobs: cli.no_jobs,
    });
    config.validate()?;
    Ok(config)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("harbor-server: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.print_config {
        match toml::to_string_pretty(&config) {
            Ok(s) => {
                print!("{s}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("harbor-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    harbor_server::telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("harbor-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Cmd::CopyMetadata { from, to }) = &cli.command {
        let from = from.clone().unwrap_or_else(|| config.database_url());
        return match runtime.block_on(copy_metadata(&from, to)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("harbor-server: copy-metadata failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(harbor_server::serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "harbor-server failed");
            eprintln!("harbor-server: {e}");
            ExitCode::FAILURE
        }
    }
}
