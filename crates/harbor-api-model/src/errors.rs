//! Harbor's error body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `Errors`: `{"errors": [{"code": "NOT_FOUND", "message": "..."}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Errors {
    /// The errors, usually one.
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// Harbor's `Error`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorItem {
    /// Harbor's code (`BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, ...).
    #[serde(default)]
    pub code: String,
    /// What went wrong, for people.
    #[serde(default)]
    pub message: String,
}
