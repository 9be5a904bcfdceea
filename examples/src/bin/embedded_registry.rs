//! Runs a host application with the registry embedded.
//!
//! ```text
//! cargo run -p harbor-examples --bin embedded-registry
//! curl http://127.0.0.1:5001/healthz        # the host's own route
//! curl -u admin:$HARBOR_ADMIN_PASSWORD http://127.0.0.1:5001/v2/   # the embedded registry
//! ```
//! `EMBEDDED_LISTEN` and `EMBEDDED_DATA_DIR` change the address and data directory; the
//! `HARBOR_*` variables (such as `HARBOR_ADMIN_PASSWORD`) configure the registry.

use harbor_server::AppState;
use harbor_server::config::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config {
        data_dir: std::env::var("EMBEDDED_DATA_DIR")
            .unwrap_or_else(|_| "./embedded-data".into())
            .into(),
        ..Config::default()
    };
    config.apply_env(|k| std::env::var(k).ok())?;
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
