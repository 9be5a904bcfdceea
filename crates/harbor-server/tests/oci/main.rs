//! HTTP tests of every `/v2/` endpoint and error path, against the real server on an
//! ephemeral loopback port.

#[path = "../common/mod.rs"]
mod common;

mod base;
mod blobs;
mod listing;
mod manifests;
mod uploads;
