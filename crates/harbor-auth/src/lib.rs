//! Authentication building blocks for Harbor-rs.
//!
//! - [`secret`]: password policy, Argon2id hashing and constant-time verification of user
//!   passwords and robot secrets, robot secret generation.
//! - [`token`]: the Docker registry token service's JWTs (ES256), signing-key generation,
//!   issuing and strict verification.
//! - [`scope`]: parsing `scope=repository:library/nginx:pull,push` requests.

#![warn(missing_docs)]

mod error;
pub mod scope;
pub mod secret;
pub mod token;

pub use error::AuthError;
