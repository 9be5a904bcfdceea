//! The `harbor-server` binary: a thin shell over the `harbor_server` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harbor_server::config::{Config, Overrides};
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::{PoolConfig, redact_url};

/// What `--help` shows after the options.
const AFTER_HELP: &str = "\
Settings come from defaults, then the --config file, then HARBOR_* variables, then flags
(docs/configuration.md lists them all; --print-config shows the result). Often used:
  HARBOR_LISTEN, HARBOR_DATA_DIR            where to serve and keep data (./harbor-data)
  HARBOR_ADMIN_PASSWORD                     the admin password, applied on the FIRST start
                                            only (an empty data directory); otherwise one
                                            is generated and printed once. Lost it? Stop
                                            the server and run reset-admin-password.
  HARBOR_EXTERNAL_URL                       the https://... address clients use
  HARBOR_DATABASE_URL, HARBOR_STORAGE_URL   PostgreSQL and S3 instead of the data directory";

/// Harbor-rs registry server: an OCI container registry with Harbor's projects, robot
/// accounts, quotas, garbage collection, REST API and web portal, in one process.
/// Without a command, it serves (http://127.0.0.1:5000, data in ./harbor-data).
#[derive(Parser, Debug)]
#[command(version, after_help = AFTER_HELP)]
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
    /// Set a user's password (by default admin's) in the configured database, for a lost
    /// one: the new password is HARBOR_ADMIN_PASSWORD if set, else read from standard
    /// input with --password-stdin, else generated and printed once. Ends the user's
    /// web sessions and lifts a sign-in lockout. Safe while the server runs (it applies
    /// within seconds), but meant for a stopped one.
    ResetAdminPassword {
        /// The account.
        #[arg(long, default_value = "admin")]
        username: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs `reset-admin-password`.
async fn reset_password(
    config: &Config,
    username: &str,
    password_stdin: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let given = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        config.auth.admin_password.as_ref().map(|s| s.0.clone())
    };
    let generated =
        harbor_server::maintenance::reset_password(config, username, given.as_deref()).await?;
    match generated {
        // Shown once, on standard output only.
        Some(p) => println!("harbor-server: the new password of {username:?} is: {p}"),
        None => println!("harbor-server: the password of {username:?} is set"),
    }
    Ok(())
}

/// Runs `copy-metadata`.
async fn copy_metadata(from: &str, to: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pool = PoolConfig::default();
    let source = SqlMetadataStore::connect_existing(from, &pool).await?;
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
        match toml::to_string_pretty(&config.effective()) {
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
    if let Some(Cmd::ResetAdminPassword {
        username,
        password_stdin,
    }) = &cli.command
    {
        return match runtime.block_on(reset_password(&config, username, *password_stdin)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("harbor-server: reset-admin-password failed: {e}");
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
