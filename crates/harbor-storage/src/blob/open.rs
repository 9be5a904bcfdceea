//! Choosing a blob backend from a URL.
//!
//! | URL | backend |
//! |---|---|
//! | `file:///var/lib/harbor/storage` or a plain path | local filesystem (default) |
//! | `s3://bucket/optional/prefix` | S3 or any S3-compatible store (feature `s3`, on by default) |
//! | `gs://bucket/optional/prefix` | Google Cloud Storage (feature `gcs`, on by default) |
//! | `az://container/optional/prefix` | Azure Blob Storage (feature `azure`, on by default) |
//! | `memory://` | in memory, for tests and experiments |
//!
//! Cloud credentials come from the usual environment variables (`AWS_ACCESS_KEY_ID`,
//! `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, ...) unless set explicitly.

use std::fmt;
use std::sync::Arc;

use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_PART_SIZE, ObjectBlobStore};
use crate::error::StorageError;

/// A secret string: never printed, never serialised in clear.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Settings of S3 and S3-compatible stores. Unset values fall back to `AWS_*`
/// environment variables.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Options {
    /// Endpoint of an S3-compatible service, e.g. `http://minio:9000`; AWS when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (`us-east-1` when neither this nor `AWS_REGION` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// Session token for temporary credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Secret>,
    /// Address buckets as `bucket.endpoint` instead of `endpoint/bucket` (path style,
    /// the default, works with MinIO, Ceph and most S3-compatible services).
    pub virtual_hosted_style: bool,
}

/// Settings of Google Cloud Storage. Unset values fall back to `GOOGLE_*` environment
/// variables (`GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`, ...), then to the
/// instance's metadata server.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcsOptions {
    /// Base URL of the service, e.g. an emulator's `http://127.0.0.1:4443`;
    /// `https://storage.googleapis.com` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Path of a service account's JSON key file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_path: Option<String>,
    /// A service account's JSON key itself. For an emulator, a key with
    /// `"disable_oauth": true` sends requests without fetching a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_key: Option<Secret>,
}

/// Settings of Azure Blob Storage. Unset values fall back to `AZURE_*` environment
/// variables (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, a SAS token, a
/// service principal or managed identity, ...).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AzureOptions {
    /// Blob service endpoint including the account's path where it has one, e.g.
    /// Azurite's `http://127.0.0.1:10000/devstoreaccount1`;
    /// `https://<account>.blob.core.windows.net` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Storage account name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Storage account access key (shared key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<Secret>,
}

/// How to open blob storage.
#[derive(Clone, Debug)]
pub struct StorageOptions {
    /// Filesystem: flush committed blobs to disk before acknowledging them.
    pub fsync: bool,
    /// Object stores: multipart part size (at least 5 MiB for S3); one part per upload in
    /// flight is held in memory.
    pub part_size: usize,
    /// Object stores: largest committed upload moved by one server-side copy; larger ones
    /// are copied by streaming them through this process.
    pub copy_limit: u64,
    /// S3 settings.
    pub s3: S3Options,
    /// Google Cloud Storage settings.
    pub gcs: GcsOptions,
    /// Azure Blob Storage settings.
    pub azure: AzureOptions,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            fsync: true,
            part_size: DEFAULT_PART_SIZE,
            copy_limit: super::COPY_LIMIT,
            s3: S3Options::default(),
            gcs: GcsOptions::default(),
            azure: AzureOptions::default(),
        }
    }
}

/// `bucket/a/b` → (`bucket`, `a/b`).
fn bucket_and_prefix(rest: &str) -> Result<(String, Path), StorageError> {
    let rest = rest.trim_matches('/');
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(StorageError::Config(
            "the storage URL names no bucket".into(),
        ));
    }
    let prefix = Path::parse(prefix)
        .map_err(|e| StorageError::Config(format!("invalid storage prefix {prefix:?}: {e}")))?;
    Ok((bucket.to_owned(), prefix))
}

impl ObjectBlobStore {
    /// Opens the blob store a URL names (see the module docs for the forms).
    pub fn open(url: &str, opts: &StorageOptions) -> Result<Self, StorageError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Self::filesystem(url, opts.fsync);
        };
        let store = match scheme {
            "file" => Self::filesystem(rest, opts.fsync),
            "memory" => Ok(Self::memory()),
            "s3" => {
                let (bucket, prefix) = bucket_and_prefix(rest)?;
                Self::s3(&bucket, prefix, opts)
            }
            "gs" => {
                let (bucket, prefix) = bucket_and_prefix(rest)?;
                Self::gcs(&bucket, prefix, opts)
            }
            "az" | "azure" => {
                let (container, prefix) = bucket_and_prefix(rest)?;
                Self::azure(&container, prefix, opts)
            }
            other => Err(StorageError::Config(format!(
                "unsupported storage URL scheme {other:?}: use file://, s3://, gs://, az:// or memory://"
            ))),
        }?;
        Ok(store.with_copy_limit(opts.copy_limit))
    }

    #[cfg(feature = "s3")]
    fn s3(bucket: &str, prefix: Path, opts: &StorageOptions) -> Result<Self, StorageError> {
        use object_store::aws::AmazonS3Builder;
        let o = &opts.s3;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(e) = &o.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        let region = o
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        b = b.with_region(region);
        if let Some(k) = &o.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &o.secret_access_key {
            b = b.with_secret_access_key(&s.0);
        }
        if let Some(t) = &o.session_token {
            b = b.with_token(&t.0);
        }
        b = b.with_virtual_hosted_style_request(o.virtual_hosted_style);
        Ok(Self::multipart(
            Arc::new(b.build()?),
            prefix,
            opts.part_size,
        ))
    }

    #[cfg(not(feature = "s3"))]
    fn s3(_: &str, _: Path, _: &StorageOptions) -> Result<Self, StorageError> {
        Err(StorageError::Config(
            "this build has no S3 support: rebuild with the `s3` feature".into(),
        ))
    }

    #[cfg(feature = "gcs")]
    fn gcs(bucket: &str, prefix: Path, opts: &StorageOptions) -> Result<Self, StorageError> {
        use object_store::ClientConfigKey;
        use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
        let o = &opts.gcs;
        let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
        if let Some(u) = &o.base_url {
            b = b.with_base_url(u.trim_end_matches('/'));
            if u.starts_with("http://") {
                b = b.with_config(GoogleConfigKey::Client(ClientConfigKey::AllowHttp), "true");
            }
        }
        if let Some(p) = &o.service_account_path {
            b = b.with_service_account_path(p);
        }
        if let Some(k) = &o.service_account_key {
            b = b.with_service_account_key(&k.0);
        }
        Ok(Self::multipart(
            Arc::new(b.build()?),
            prefix,
            opts.part_size,
        ))
    }

    #[cfg(not(feature = "gcs"))]
    fn gcs(_: &str, _: Path, _: &StorageOptions) -> Result<Self, StorageError> {
        Err(StorageError::Config(
            "this build has no Google Cloud Storage support: rebuild with the `gcs` feature".into(),
        ))
    }

    #[cfg(feature = "azure")]
    fn azure(container: &str, prefix: Path, opts: &StorageOptions) -> Result<Self, StorageError> {
        use object_store::azure::MicrosoftAzureBuilder;
        let o = &opts.azure;
        let mut b = MicrosoftAzureBuilder::from_env().with_container_name(container);
        if let Some(e) = &o.endpoint {
            b = b
                .with_endpoint(e.trim_end_matches('/').to_owned())
                .with_allow_http(e.starts_with("http://"));
        }
        if let Some(a) = &o.account {
            b = b.with_account(a);
        }
        if let Some(k) = &o.access_key {
            b = b.with_access_key(&k.0);
        }
        Ok(Self::multipart(
            Arc::new(b.build()?),
            prefix,
            opts.part_size,
        ))
    }

    #[cfg(not(feature = "azure"))]
    fn azure(_: &str, _: Path, _: &StorageOptions) -> Result<Self, StorageError> {
        Err(StorageError::Config(
            "this build has no Azure Blob Storage support: rebuild with the `azure` feature".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let (b, p) = bucket_and_prefix("bucket/a/b/").unwrap();
        assert_eq!((b.as_str(), p.as_ref()), ("bucket", "a/b"));
        let (b, p) = bucket_and_prefix("bucket").unwrap();
        assert_eq!((b.as_str(), p.as_ref()), ("bucket", ""));
        assert!(bucket_and_prefix("/").is_err());
    }

    #[test]
    fn opens_local_and_memory_and_rejects_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().join("s").display());
        assert!(ObjectBlobStore::open(&url, &StorageOptions::default()).is_ok());
        assert!(dir.path().join("s/blobs").is_dir());
        assert!(ObjectBlobStore::open("memory://", &StorageOptions::default()).is_ok());
        assert!(matches!(
            ObjectBlobStore::open("ftp://x", &StorageOptions::default()),
            Err(StorageError::Config(_))
        ));
    }

    #[test]
    fn opens_gcs_and_azure_with_their_settings() {
        let key = r#"{"disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#;
        let opts = StorageOptions {
            gcs: GcsOptions {
                base_url: Some("http://127.0.0.1:4443".into()),
                service_account_key: Some(Secret(key.into())),
                ..Default::default()
            },
            azure: AzureOptions {
                endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
                account: Some("devstoreaccount1".into()),
                access_key: Some(Secret("c2VjcmV0".into())),
            },
            ..Default::default()
        };
        assert!(ObjectBlobStore::open("gs://bucket/prefix", &opts).is_ok());
        assert!(ObjectBlobStore::open("az://container/prefix", &opts).is_ok());
        let shown = format!("{opts:?}");
        assert!(!shown.contains("c2VjcmV0") && !shown.contains("disable_oauth"));
    }

    #[test]
    fn secrets_do_not_leak() {
        let o = S3Options {
            secret_access_key: Some(Secret("hunter2".into())),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&o).unwrap().contains("hunter2"));
    }
}
