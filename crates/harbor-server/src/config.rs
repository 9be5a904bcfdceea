//! Server configuration: defaults, then a TOML file, then `HARBOR_*` environment
//! variables, then command-line flags (each overriding the one before).
//! `docs/configuration.md` lists every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: Box<toml::de::Error>,
    },
    /// An environment variable or value is invalid.
    #[error("invalid value for {key}: {message}")]
    Invalid {
        /// The variable or key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`HARBOR_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the database and blobs (`HARBOR_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// Blob storage.
    pub storage: StorageConfig,
    /// Metadata database.
    pub database: DatabaseConfig,
    /// Limits and timeouts.
    pub limits: LimitsConfig,
}

/// Logging settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `harbor_server=debug,info` (`HARBOR_LOG`;
    /// `RUST_LOG` wins when set).
    pub level: String,
    /// `text` or `json` (`HARBOR_LOG_FORMAT`).
    pub format: LogFormat,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Blob storage settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Flush each committed blob to disk before acknowledging it
    /// (`HARBOR_STORAGE_FSYNC`).
    pub fsync: bool,
}

/// Metadata database settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Most concurrent read connections (`HARBOR_DATABASE_MAX_READERS`).
    pub max_readers: u32,
}

/// Limits and timeouts.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest manifest accepted, in bytes; at least 4 MiB (`HARBOR_MAX_MANIFEST_BYTES`).
    pub max_manifest_bytes: usize,
    /// Abort an upload whose client sends nothing for this long
    /// (`HARBOR_UPLOAD_IDLE_TIMEOUT_SECS`).
    pub upload_idle_timeout_secs: u64,
    /// Time limit of requests that do not stream blob data
    /// (`HARBOR_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// Time a client has to send its request headers (`HARBOR_HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout_secs: u64,
    /// On shutdown, how long in-flight requests may run on (`HARBOR_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("./harbor-data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            database: DatabaseConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { fsync: true }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { max_readers: 8 }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_manifest_bytes: 4 * 1024 * 1024,
            upload_idle_timeout_secs: 60,
            request_timeout_secs: 60,
            header_read_timeout_secs: 30,
            shutdown_grace_secs: 30,
        }
    }
}

/// Overrides from the command line; `None` leaves the value alone.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<SocketAddr>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--log`
    pub log: Option<String>,
}

fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
        key: key.into(),
        message: format!("{v:?}: {e}"),
    })
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source: Box::new(source),
        })
    }

    /// Applies `HARBOR_*` variables read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("HARBOR_LISTEN") {
            self.listen = parse("HARBOR_LISTEN", &v)?;
        }
        if let Some(v) = get("HARBOR_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HARBOR_LOG") {
            self.log.level = v;
        }
        if let Some(v) = get("HARBOR_LOG_FORMAT") {
            self.log.format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Invalid {
                        key: "HARBOR_LOG_FORMAT".into(),
                        message: format!("{other:?}: expected text or json"),
                    });
                }
            };
        }
        if let Some(v) = get("HARBOR_STORAGE_FSYNC") {
            self.storage.fsync = parse("HARBOR_STORAGE_FSYNC", &v)?;
        }
        if let Some(v) = get("HARBOR_DATABASE_MAX_READERS") {
            self.database.max_readers = parse("HARBOR_DATABASE_MAX_READERS", &v)?;
        }
        let limits = &mut self.limits;
        for (key, slot) in [
            (
                "HARBOR_UPLOAD_IDLE_TIMEOUT_SECS",
                &mut limits.upload_idle_timeout_secs,
            ),
            (
                "HARBOR_REQUEST_TIMEOUT_SECS",
                &mut limits.request_timeout_secs,
            ),
            (
                "HARBOR_HEADER_READ_TIMEOUT_SECS",
                &mut limits.header_read_timeout_secs,
            ),
            (
                "HARBOR_SHUTDOWN_GRACE_SECS",
                &mut limits.shutdown_grace_secs,
            ),
        ] {
            if let Some(v) = get(key) {
                *slot = parse(key, &v)?;
            }
        }
        if let Some(v) = get("HARBOR_MAX_MANIFEST_BYTES") {
            limits.max_manifest_bytes = parse("HARBOR_MAX_MANIFEST_BYTES", &v)?;
        }
        Ok(())
    }

    /// Applies command-line overrides.
    pub fn apply_overrides(&mut self, o: &Overrides) {
        if let Some(l) = o.listen {
            self.listen = l;
        }
        if let Some(d) = &o.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(l) = &o.log {
            self.log.level = l.clone();
        }
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.limits.max_manifest_bytes < 4 * 1024 * 1024 {
            return invalid(
                "limits.max_manifest_bytes",
                "must be at least 4194304 (4 MiB), as the OCI spec requires",
            );
        }
        for (key, v) in [
            (
                "limits.upload_idle_timeout_secs",
                self.limits.upload_idle_timeout_secs,
            ),
            (
                "limits.request_timeout_secs",
                self.limits.request_timeout_secs,
            ),
            (
                "limits.header_read_timeout_secs",
                self.limits.header_read_timeout_secs,
            ),
        ] {
            if v == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.database.max_readers == 0 {
            return invalid("database.max_readers", "must be at least 1");
        }
        Ok(())
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layers_file_env_and_flags() {
        let mut c: Config = toml::from_str(
            r#"
            listen = "0.0.0.0:6000"
            data_dir = "/var/lib/harbor"
            [limits]
            request_timeout_secs = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.limits.request_timeout_secs, 5);
        assert_eq!(c.limits.upload_idle_timeout_secs, 60);
        let env: HashMap<&str, &str> = [
            ("HARBOR_LISTEN", "127.0.0.1:7000"),
            ("HARBOR_STORAGE_FSYNC", "false"),
            ("HARBOR_REQUEST_TIMEOUT_SECS", "9"),
        ]
        .into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(!c.storage.fsync);
        assert_eq!(c.limits.request_timeout_secs, 9);
        c.apply_overrides(&Overrides {
            listen: Some("127.0.0.1:8000".parse().unwrap()),
            ..Default::default()
        });
        assert_eq!(c.listen.port(), 8000);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/harbor"));
        c.validate().unwrap();
    }

    #[test]
    fn rejects_bad_values() {
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
        let mut c = Config::default();
        assert!(
            c.apply_env(|k| (k == "HARBOR_LISTEN").then(|| "nowhere".into()))
                .is_err()
        );
        let mut c2 = Config::default();
        c2.limits.max_manifest_bytes = 1000;
        assert!(c2.validate().is_err());
        c.limits.request_timeout_secs = 0;
        assert!(c.validate().is_err());
    }
}
