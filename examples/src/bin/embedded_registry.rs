//! Runs a host application with the registry embedded.
//!
//! ```text
//! cargo run -p harbor-examples --bin embedded-registry
//! curl http://127.0.0.1:5001/healthz        # the host's own route
//! curl http://127.0.0.1:5001/v2/            # the embedded registry
//! ```
//! `EMBEDDED_LISTEN` and `EMBEDDED_DATA_DIR` change the address and data directory.

use harbor_server::AppState;
use harbor_server::config::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        data_dir: std::env::var("EMBEDDED_DATA_DIR")
            .unwrap_or_else(|_| "./embedded-data".into())
            .into(),
        ..Config::default()
    };
    let listen = std::env::var("EMBEDDED_LISTEN").unwrap_or_else(|_| "127.0.0.1:5001".into());
    let state = AppState::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "host application with an embedded registry on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, harbor_examples::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
