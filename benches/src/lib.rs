//! `harbor-bench`: a load generator for any OCI registry (Harbor-rs, CNCF Distribution,
//! zot, ...), in the spirit of zot's `zb`.
//!
//! - [`content`]: generated images (random layers, config, manifest), never downloaded.
//! - [`auth`]: the Docker token flow (and Basic), only for registries that ask for it.
//! - [`client`]: the registry operations a workload is made of, over `reqwest`.
//! - [`run`]: runs a workload at a concurrency for a number of requests.
//! - [`report`]: latency percentiles, throughput, tables and JSON.
//! - [`rss`]: the registry process's peak memory while a workload runs.
//! - [`server`]: a `harbor-server` process started for a benchmark.

pub mod auth;
pub mod client;
pub mod content;
pub mod report;
pub mod rss;
pub mod run;
pub mod server;
