//! The built-in scanner as a registration: the server registers its own adapter under
//! `/scanners` when it starts serving (the default when no other is), reached over HTTP
//! at its own address like any adapter, with a key derived from the server's secret key.
//! [`LocalRegistry`] is that address: the one place outbound calls may go to loopback or
//! private addresses without the operator's address policy allowing them.

use std::sync::{Arc, RwLock};

use harbor_core::scan::registrations::{AdapterAuth, RegistrationSettings, ScannerRegistration};
use harbor_core::{Error, Result};

use crate::remote::Probe;

/// The built-in registration's fixed identifier.
pub const BUILTIN_UUID: &str = "00000000-0000-4000-8000-00000000b117";
/// Its name.
pub const BUILTIN_NAME: &str = "Harbor-rs";
/// What the built-in adapter key is derived for (from the server's secret key).
pub const ADAPTER_KEY_PURPOSE: &str = "harbor-rs built-in scanner adapter key v1";

/// Where this server serves, as it calls itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddress {
    /// Base URL (`http://127.0.0.1:5000`, or the external URL).
    pub url: String,
    /// Skip TLS verification when calling it (a loopback address under a certificate
    /// made out to a host name).
    pub insecure: bool,
}

/// This server's own address, once it serves (shared by every clone).
#[derive(Debug, Clone, Default)]
pub struct LocalRegistry(Arc<RwLock<Option<LocalAddress>>>);

impl LocalRegistry {
    /// Records where the server serves.
    pub fn set(&self, address: LocalAddress) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(address);
        }
    }

    /// Where the server serves, once known.
    pub fn get(&self) -> Option<LocalAddress> {
        self.0.read().ok().and_then(|slot| slot.clone())
    }

    /// Whether `url` is this server's address (scheme, host and port alike).
    pub fn is_local(&self, url: &str) -> bool {
        self.get()
            .is_some_and(|a| origin(&a.url).is_some() && origin(&a.url) == origin(url))
    }

    /// `probe`, allowing loopback and private addresses when `url` is this server's.
    pub fn probe_for(&self, probe: &Probe, url: &str) -> Probe {
        if self.is_local(url) {
            probe.trusting_local()
        } else {
            probe.clone()
        }
    }
}

/// `(scheme, host, port)` of a URL.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let u = url::Url::parse(url).ok()?;
    Some((
        u.scheme().to_owned(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?,
    ))
}

/// The built-in registration's settings at `address` with `sealed_key`.
pub(crate) fn settings(
    address: &LocalAddress,
    sealed_key: Vec<u8>,
) -> Result<RegistrationSettings> {
    let mut s = RegistrationSettings {
        name: BUILTIN_NAME.into(),
        description: "The built-in scanner: vulnerabilities from the imported OSV database, \
                      SBOMs in SPDX and CycloneDX"
            .into(),
        url: address.url.clone(),
        disabled: false,
        auth: AdapterAuth::ApiKey,
        sealed_credential: sealed_key,
        skip_cert_verify: address.insecure,
        use_internal_addr: false,
    };
    s.validate()?;
    Ok(s)
}

/// Refuses changes to the built-in registration (Harbor's immutable registrations).
pub(crate) fn refuse_change(r: &ScannerRegistration, what: &str) -> Result<()> {
    if r.uuid == BUILTIN_UUID {
        return Err(Error::Forbidden(format!(
            "the built-in scanner {:?} cannot be {what}: disable scanning with it by making \
             another scanner the default",
            r.settings.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_origin_is_local() {
        let local = LocalRegistry::default();
        assert!(!local.is_local("http://127.0.0.1:5000"));
        local.set(LocalAddress {
            url: "http://127.0.0.1:5000".into(),
            insecure: false,
        });
        assert!(local.is_local("http://127.0.0.1:5000"));
        assert!(local.is_local("http://127.0.0.1:5000/"));
        assert!(!local.is_local("http://127.0.0.1:5001"));
        assert!(!local.is_local("https://127.0.0.1:5000"));
        assert!(!local.is_local("http://127.0.0.2:5000"));
        assert!(!local.is_local("not a url"));
        local.set(LocalAddress {
            url: "https://Registry.Example".into(),
            insecure: false,
        });
        assert!(local.is_local("https://registry.example:443"));
    }
}
