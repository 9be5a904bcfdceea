//! Scan on push and SBOM on push: a subscriber of the domain events that scans each
//! pushed image of a project with `auto_scan` and generates an SBOM where
//! `auto_sbom_generation` is on. The events reach one replica per batch (the cursor is
//! leased), so a push is scanned once; a batch delivered again after a crash finds the
//! scan running and queues nothing.

use async_trait::async_trait;
use harbor_core::events::{Batch, Delivered, DomainEvent, StartAt, Subscriber};
use harbor_core::{Error, Result};

use super::scans::Scans;

/// The subscriber (`scan_on_push`).
pub struct ScanOnPush {
    scans: Scans,
}

impl ScanOnPush {
    /// Its cursor's name.
    pub const NAME: &'static str = "scan_on_push";

    /// Scans with `scans`.
    pub fn new(scans: Scans) -> Self {
        ScanOnPush { scans }
    }
}

#[async_trait]
impl Subscriber for ScanOnPush {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn start_at(&self) -> StartAt {
        StartAt::Latest
    }

    async fn deliver(&self, batch: &Batch<'_>) -> Result<Delivered> {
        for e in batch.events {
            let DomainEvent::ArtifactPushed {
                repository, digest, ..
            } = &e.event
            else {
                continue;
            };
            match self.scans.scan_pushed(repository, digest).await {
                Ok(queued) if !queued.is_empty() => {
                    tracing::debug!(repository, digest, reports = ?queued, "scan on push queued");
                }
                Ok(_) => {}
                // Storage trouble: the batch comes again.
                Err(e @ (Error::Internal(_) | Error::Busy(_))) => return Err(e),
                // Anything else will not get better by retrying.
                Err(e) => {
                    tracing::warn!(repository, digest, error = %e, "not scanned on push")
                }
            }
        }
        Ok(Delivered::Handled)
    }
}
