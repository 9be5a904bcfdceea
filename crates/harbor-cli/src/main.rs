//! The `harbor` binary: see [`harbor_cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(harbor_cli::run(std::env::args_os()).await)
}
