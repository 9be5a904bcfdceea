//! Errors of the authentication primitives.

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A password or secret breaks the policy.
    #[error("{0}")]
    Policy(String),
    /// A token is missing, malformed, forged, expired or meant for someone else.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A scope string is malformed.
    #[error("invalid scope {0:?}")]
    InvalidScope(String),
    /// A token request asks for more scopes than [`crate::scope::MAX_SCOPES`].
    #[error(
        "too many scopes: at most {} may be asked for at once",
        crate::scope::MAX_SCOPES
    )]
    TooManyScopes,
    /// Key material could not be created or read.
    #[error("key: {0}")]
    Key(String),
    /// Hashing failed.
    #[error("hashing: {0}")]
    Hash(String),
}
