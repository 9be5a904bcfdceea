//! Authentication building blocks for Harbor-rs.
//!
//! - [`secret`]: password policy, Argon2id hashing and constant-time verification of user
//!   passwords and robot secrets, robot secret generation.
//! - [`passwords`]: the bounded pool Argon2 work runs in (concurrency, queue, memory).
//! - [`token`]: the Docker registry token service's JWTs (ES256), signing-key generation,
//!   issuing and strict verification.
//! - [`sealing`]: secrets at rest (the signing key), sealed with a configured key.
//! - [`scope`]: parsing `scope=repository:library/nginx:pull,push` requests.
//! - [`principal`]: who a request acts as, and its grants in a project.
//! - [`robot`]: robot permission validation and the subset rule.
//! - [`throttle`]: counting failed sign-ins and locking them out, across replicas.
//! - [`cache`]: a short-lived read cache of the identity store for request authorisation.
//! - [`accounts`]: bootstrap, credential checks and access resolution over the
//!   identity store.

#![warn(missing_docs)]

pub mod accounts;
pub mod cache;
mod error;
pub mod passwords;
pub mod principal;
pub mod robot;
pub mod scope;
pub mod sealing;
pub mod secret;
pub mod throttle;
pub mod token;
pub mod ttl;

pub use accounts::Accounts;
pub use cache::CachedIdentity;
pub use error::AuthError;
pub use principal::{Grants, Principal};
