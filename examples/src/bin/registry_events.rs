//! Pushes, tags and deletes an image through the registry library (no HTTP) and prints
//! the domain events a subscriber receives for them.
//!
//! ```text
//! cargo run -p harbor-examples --bin registry-events
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for e in harbor_examples::events::push_and_watch(dir.path(), Duration::from_secs(10)).await? {
        println!("#{} by {}: {:?}", e.id, e.actor, e.event);
    }
    Ok(())
}
