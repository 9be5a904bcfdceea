//! `harbor`, the Harbor-rs admin CLI, as a library: [`client`] is a typed REST API client
//! other Rust programs can use; [`run`] is the whole command line (the binary only calls
//! it).

#![warn(missing_docs)]

pub mod cli;
pub mod client;
mod commands;
pub mod config;
pub mod output;

use clap::Parser as _;

pub use commands::Failure;

/// Runs the command line `args` (program name first) and returns the process exit code.
pub async fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match commands::dispatch(cli).await {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.code
        }
    }
}
