//! Each command: resolve the connection, call the client, print the result.

mod access;
mod admin;
mod allowlists;
mod content;
mod jobs;
mod login;
mod projects;
mod registries;
mod replication;
mod retention;
mod scanner;
mod security;
mod signatures;
mod system;
mod wait;
mod webhooks;

use std::io::BufRead as _;

use crate::cli::{Cli, Command, Global};
use crate::client::{Client, Credentials, Error, TlsOptions};
use crate::config;
use crate::output::Output;

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (see `harbor --help`).
    pub code: u8,
    /// The message.
    pub message: String,
}

/// Exit codes.
pub(crate) const REFUSED: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const AUTH: u8 = 3;
pub(crate) const NOT_FOUND: u8 = 4;
pub(crate) const SERVER: u8 = 5;

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure::new(USAGE, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Api { status, .. } => match status.as_u16() {
                401 | 403 => AUTH,
                404 => NOT_FOUND,
                500.. => SERVER,
                _ => REFUSED,
            },
            Error::Transport { .. } | Error::Protocol { .. } => SERVER,
            Error::Setup(_) => USAGE,
        };
        let message = match &e {
            Error::Api {
                status, message, ..
            } if status.as_u16() == 401 => {
                format!("{message}: the credentials were refused (harbor login)")
            }
            _ => e.to_string(),
        };
        Failure { code, message }
    }
}

/// Output errors (a closed terminal, say) as failures.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(REFUSED, message)
    }
}

pub(crate) type Outcome = Result<(), Failure>;

/// A connected client and the output settings.
pub(crate) struct App {
    pub client: Client,
    pub out: Output,
}

pub(crate) async fn dispatch(cli: Cli) -> Outcome {
    let out = Output {
        format: cli.global.output,
        quiet: cli.global.quiet,
    };
    match cli.command {
        Command::Login(l) => login::login(&cli.global, l, out).await,
        Command::Logout => login::logout(out),
        Command::Admin(c) => admin::admin(c, out).await,
        Command::Completion { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "harbor", &mut script);
            // Through the output module: `harbor completion bash | head` is no error.
            crate::output::emit(&String::from_utf8_lossy(&script)).map_err(Failure::usage)
        }
        command => {
            let app = App {
                client: connect(&cli.global)?,
                out,
            };
            match command {
                Command::Project(c) => projects::project(&app, c).await,
                Command::Repo(c) => projects::repo(&app, c).await,
                Command::User(c) => access::user(&app, c).await,
                Command::Config(c) => system::config(&app, c).await,
                Command::Member(c) => access::member(&app, c).await,
                Command::Group(c) => access::group(&app, c).await,
                Command::Robot(c) => access::robot(&app, c).await,
                Command::Artifact(c) => content::artifact(&app, c).await,
                Command::Quota(c) => content::quota(&app, c).await,
                Command::Label(c) => content::label(&app, c).await,
                Command::Registry(c) => registries::registry(&app, c).await,
                Command::Replication(c) => replication::replication(&app, c).await,
                Command::Scanner(c) => scanner::scanner(&app, c).await,
                Command::Scan {
                    artifact,
                    sbom,
                    wait,
                } => scanner::scan(&app, &artifact, sbom, wait).await,
                Command::Vuln(c) => scanner::vuln(&app, c).await,
                Command::Sbom(c) => scanner::sbom(&app, c).await,
                Command::ScanAll(c) => scanner::scan_all(&app, c).await,
                Command::Security(c) => security::security(&app, c).await,
                Command::CveExport(c) => security::cve_export(&app, c).await,
                Command::Allowlist(c) => allowlists::allowlist(&app, c).await,
                Command::Signature(c) => signatures::signature(&app, c).await,
                Command::Immutable(c) => content::immutable(&app, c).await,
                Command::Audit(c) => system::audit(&app, c).await,
                Command::System(c) => system::system(&app, c).await,
                Command::Gc(c) => jobs::gc(&app, c).await,
                Command::Retention(c) => retention::retention(&app, c).await,
                Command::Webhook(c) => webhooks::webhook(&app, c).await,
                Command::Login(_)
                | Command::Logout
                | Command::Admin(_)
                | Command::Completion { .. } => Ok(()),
            }
        }
    }
}

/// TLS options from flags (or the stored login).
pub(crate) fn tls(global: &Global, stored: Option<&config::Stored>) -> Result<TlsOptions, Failure> {
    let ca = global
        .ca_cert
        .clone()
        .or_else(|| stored.and_then(|s| s.ca_cert.clone()));
    let ca_cert_pem = match ca {
        Some(p) => Some(std::fs::read(&p).map_err(|e| {
            Failure::usage(format!(
                "cannot read the CA certificate {}: {e}",
                p.display()
            ))
        })?),
        None => None,
    };
    Ok(TlsOptions {
        ca_cert_pem,
        insecure: global.insecure || stored.is_some_and(|s| s.insecure),
    })
}

/// The client for the configured server: flags and `HARBOR_*` variables first, then the
/// stored login.
fn connect(global: &Global) -> Result<Client, Failure> {
    let stored = match config::path() {
        Some(p) => config::load(&p).map_err(Failure::usage)?,
        None => None,
    };
    let url = global
        .url
        .clone()
        .or_else(|| stored.as_ref().map(|s| s.url.clone()))
        .ok_or_else(|| {
            Failure::new(
                AUTH,
                "no server configured: run `harbor login <url>` or set HARBOR_URL",
            )
        })?;
    let env_password = std::env::var("HARBOR_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let credentials = match (&global.username, env_password) {
        (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p)),
        (None, Some(p)) => stored
            .as_ref()
            .map(|s| Credentials::new(s.username.clone(), p)),
        (Some(u), None) => match stored.as_ref() {
            Some(s) if &s.username == u && s.url == url => {
                Some(Credentials::new(u.clone(), s.password.clone()))
            }
            _ => {
                return Err(Failure::new(
                    AUTH,
                    format!("no password for {u}: set HARBOR_PASSWORD or run harbor login"),
                ));
            }
        },
        (None, None) => stored
            .as_ref()
            .filter(|s| s.url == url)
            .map(|s| Credentials::new(s.username.clone(), s.password.clone())),
    };
    let tls = tls(global, stored.as_ref())?;
    Ok(Client::new(&url, credentials, &tls)?)
}

/// Lines read from standard input (passwords), without their line endings.
pub(crate) fn stdin_lines(n: usize) -> Result<Vec<String>, Failure> {
    let stdin = std::io::stdin();
    let mut lines = Vec::with_capacity(n);
    for line in stdin.lock().lines().take(n) {
        let line = line.map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        lines.push(line.trim_end_matches('\r').to_owned());
    }
    if lines.len() < n || lines.iter().any(String::is_empty) {
        return Err(Failure::usage(format!(
            "expected {n} non-empty line(s) on standard input"
        )));
    }
    Ok(lines)
}
