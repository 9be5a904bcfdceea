//! Harbor-rs's client for remote OCI registries (replication, later the proxy cache):
//! the Distribution API over reqwest with token authentication, an address policy
//! against server-side request forgery, retries honouring `Retry-After`, a bandwidth
//! limit, verified streaming of blobs in both directions, and a copy engine.
//!
//! Why not `oci-client`: see this crate's README.

pub mod auth;
pub mod client;
pub mod copy;
pub mod error;
pub mod http;
pub mod policy;
pub mod ratelimit;
pub mod retry;
pub mod scanner_adapter;
pub mod stream;

pub use auth::Credential;
pub use client::{Client, ClientOptions, Endpoint, Manifest, Page, Referrer};
pub use copy::{
    CopyError, CopyOptions, CopyReport, Location, Outcome, RegistryEnd, Seen, copy_artifact,
};

pub use error::{Error, Result};
pub use policy::AddressPolicy;
pub use ratelimit::RateLimiter;
pub use retry::RetryPolicy;
pub use stream::{BlobStream, ByteStream};
pub use tokio_util::sync::CancellationToken;
