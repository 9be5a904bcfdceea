//! The built-in vulnerability scanner: its database ([`VulnDb`]), the engine that scans an
//! image pulled from a registry ([`Engine`]), and Harbor's scanner adapter protocol over
//! them ([`Adapter`]), so the server, a real Harbor or anyone else can use it the way they
//! use Trivy's adapter. [`registrations`] is the other side: the adapters this server
//! calls (Harbor's `/scanners`), the built-in one or any other.

pub mod adapter;
pub mod allowlists;
pub mod builtin;
pub mod cve_export;
pub mod engine;
pub mod findings;
pub mod on_push;
pub mod pull_policy;
pub mod registrations;
mod sbom_accessory;
pub mod scan_all;
pub mod scans;
pub mod security_hub;
pub mod vulndb;

use std::path::PathBuf;
use std::sync::Arc;

use harbor_auth::Principal;
use harbor_core::Result;
use harbor_core::ports::MetadataStore;
use harbor_core::scan::VulnDbInfo;

pub use adapter::{Adapter, RequestStatus, ScanRequestView, ScanTarget};
pub use engine::{Engine, ScanOutcome};
pub use vulndb::VulnDb;

/// The scanner's name in its adapter metadata and reports.
pub const NAME: &str = "Harbor-rs";
/// Its vendor.
pub const VENDOR: &str = "Harbor-rs";
/// Its version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The built-in scanner's services.
#[derive(Clone)]
pub struct BuiltinScanner {
    /// The vulnerability database.
    pub db: VulnDb,
    /// The scanner adapter.
    pub adapter: Adapter,
}

impl BuiltinScanner {
    /// The scanner over `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        let db = VulnDb::new(store.clone());
        let engine = Engine::new(store.clone(), db.clone());
        Self {
            adapter: Adapter::new(store, engine),
            db,
        }
    }

    /// Imports OSV data at `path` (system administrators only) as the new database.
    pub async fn import_db(
        &self,
        by: &Principal,
        path: PathBuf,
        source: &str,
    ) -> Result<VulnDbInfo> {
        crate::access::require_sysadmin(by)?;
        self.db.import(path, source).await
    }
}
