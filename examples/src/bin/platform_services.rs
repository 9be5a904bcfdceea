//! Creates a project, a robot account and a garbage-collection run through the platform
//! services (no HTTP) and prints the domain events they caused.
//!
//! ```text
//! cargo run -p harbor-examples --bin platform-services
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let done = harbor_examples::platform::provision(dir.path(), Duration::from_secs(10)).await?;
    println!("robot {} created", done.robot_login);
    println!(
        "GC run {} ended {}",
        done.gc_run.id,
        done.gc_run.status.as_str()
    );
    println!("a second start meanwhile: {}", done.second_start);
    for e in done.events {
        println!("#{} by {}: {:?}", e.id, e.actor, e.event);
    }
    Ok(())
}
