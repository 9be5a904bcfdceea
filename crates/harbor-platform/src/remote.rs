//! Talking to remote registries: the client options every outbound connection uses (the
//! operator's address policy, time-outs) and the health check of a registry endpoint.

use std::sync::Arc;
use std::time::Duration;

use harbor_core::endpoints::{EndpointSettings, distribution_url};
pub use harbor_remote::{AddressPolicy, ClientOptions, Credential as RemoteCredential};

/// Why a registry is unhealthy, in words for its operator.
pub type ProbeError = String;

/// Builds clients for registry endpoints with the server's outbound rules.
#[derive(Clone)]
pub struct Probe {
    options: Arc<ClientOptions>,
}

impl Default for Probe {
    /// Public addresses only, Harbor-like time-outs.
    fn default() -> Self {
        Probe::new(ClientOptions::default())
    }
}

impl Probe {
    /// Clients with `options` (address policy, time-outs, retries).
    pub fn new(options: ClientOptions) -> Self {
        Probe {
            options: Arc::new(options),
        }
    }

    /// These options with loopback and private addresses allowed: for calls to this
    /// server's own address only (see `scanner::builtin::LocalRegistry`).
    pub fn trusting_local(&self) -> Probe {
        let mut options = (*self.options).clone();
        options.address_policy.allow_loopback = true;
        options.address_policy.allow_private = true;
        Probe::new(options)
    }

    /// The options clients get.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// A client for an endpoint's distribution API.
    pub fn client(
        &self,
        s: &EndpointSettings,
        credential: Option<RemoteCredential>,
    ) -> Result<harbor_remote::Client, harbor_remote::Error> {
        self.client_with(s, credential, |_| {})
    }

    /// A client for an endpoint with `tweak` applied to the server's options (such as a
    /// policy's chunked uploads).
    pub fn client_with(
        &self,
        s: &EndpointSettings,
        credential: Option<RemoteCredential>,
        tweak: impl FnOnce(&mut ClientOptions),
    ) -> Result<harbor_remote::Client, harbor_remote::Error> {
        let mut options = (*self.options).clone();
        tweak(&mut options);
        let endpoint = harbor_remote::Endpoint {
            url: distribution_url(s.kind, &s.url).to_owned(),
            credential,
            insecure: s.insecure,
            ca_certificate: s.ca_certificate.clone(),
        };
        harbor_remote::Client::new(endpoint, options)
    }

    /// A client for a registry at `url` that is not a configured endpoint (the registry a
    /// scan request names).
    pub fn client_for(
        &self,
        url: &str,
        credential: Option<RemoteCredential>,
        insecure: bool,
    ) -> Result<harbor_remote::Client, harbor_remote::Error> {
        let endpoint = harbor_remote::Endpoint {
            url: url.to_owned(),
            credential,
            insecure,
            ca_certificate: None,
        };
        harbor_remote::Client::new(endpoint, (*self.options).clone())
    }

    /// Whether the registry answers `/v2/` and accepts the credential (anonymous access
    /// is healthy when the registry allows it), within a short time.
    pub async fn ping(
        &self,
        s: &EndpointSettings,
        credential: Option<RemoteCredential>,
    ) -> Result<(), ProbeError> {
        let credential_given = credential.is_some();
        let client = self.client(s, credential).map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(30), client.ping()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(match credential_given {
                true => "the registry refused the credential".into(),
                false => "the registry asks for a credential".into(),
            }),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 30 s".into()),
        }
    }
}
