//! Signing in other than with this server's own passwords: the sign-in settings
//! (`auth_mode` and the `ldap_*`, `oidc_*` and `http_authproxy_*` fields).

pub mod config;

pub use config::{AuthConfig, AuthMode, LdapConfig, LdapScope, OidcConfig};
