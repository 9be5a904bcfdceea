//! HTTP tests of authentication, authorisation and the REST API (`/api/v2.0/`,
//! `/service/token`, `/c/login`) against the real server on an ephemeral loopback port.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/ldap.rs"]
mod ldap_server;
/// harbor-remote's test helpers: CNCF Distribution on loopback, images pushed with the
/// remote client.
#[path = "../../../harbor-remote/tests/common/mod.rs"]
mod remote_common;
#[path = "../common/signing.rs"]
mod signing;

mod allowlists;
mod artifacts;
mod audit;
mod caps;
mod configurations;
mod connections;
mod immutable;
mod jobs;
mod keys;
mod labels;
#[path = "../e2e/layout.rs"]
#[allow(dead_code)]
mod layout;
mod ldap;
mod matrix;
mod oidc;
mod projects;
mod proxy;
mod quotas;
mod registries;
mod replication;
mod repositories;
mod retention;
mod robots;
mod scan_all;
mod scan_on_push;
mod scanner;
mod scanners;
mod scans;
mod search;
mod security;
mod sessions;
mod signatures;
mod support;
mod throttle;
mod tokens;
mod usergroups;
mod users;
mod webhooks;
