//! Where the CLI finds its server and credentials: flags, then `HARBOR_URL`/
//! `HARBOR_USERNAME`/`HARBOR_PASSWORD`, then the file `harbor login` wrote.
//!
//! The file is JSON at `$HARBOR_CLI_CONFIG`, else `$XDG_CONFIG_HOME/harbor/config.json`,
//! else `~/.config/harbor/config.json`; it is created readable by its owner only (0600, in
//! a 0700 directory), since it holds a password. (`HARBOR_CONFIG` is the server's TOML
//! file and is never read or written here.) A file that is not a stored login is never
//! overwritten nor removed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A stored login.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stored {
    /// Server base URL.
    pub url: String,
    /// Username or robot login name.
    pub username: String,
    /// Password or robot secret.
    pub password: String,
    /// A CA certificate file to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The config file's path.
pub fn path() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("HARBOR_CLI_CONFIG") {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = var("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(x).join("harbor").join("config.json"));
    }
    var("HOME").map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("harbor")
            .join("config.json")
    })
}

/// Reads the stored login, if there is one.
pub fn load(path: &Path) -> Result<Option<Stored>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not a valid config file: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Fails unless `path` is absent or holds a stored login: the CLI never replaces nor
/// removes another program's file (say a server configuration named by mistake).
fn ensure_ours(path: &Path) -> Result<(), String> {
    match load(path) {
        Ok(_) => Ok(()),
        Err(e) if e.contains("not a valid config file") => Err(format!(
            "{} exists and is not a harbor CLI login file: refusing to replace it (point \
             HARBOR_CLI_CONFIG at another file, or remove it yourself)",
            path.display()
        )),
        Err(e) => Err(e),
    }
}

/// Writes the login, readable by its owner only.
pub fn save(path: &Path, stored: &Stored) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    ensure_ours(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
        restrict(dir, 0o700).map_err(err)?;
    }
    let json = serde_json::to_vec_pretty(stored).map_err(|e| e.to_string())?;
    // Written next to the target and renamed over it, so a crash never leaves half a file,
    // and created 0600 so the password is never readable by others, even for a moment.
    let tmp = path.with_extension("json.tmp");
    write_private(&tmp, &json).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Removes the stored login; false if there was none.
pub fn remove(path: &Path) -> Result<bool, String> {
    ensure_ours(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    restrict(path, 0o600)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_logins_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("harbor").join("config.json");
        assert_eq!(load(&p).unwrap(), None);
        let s = Stored {
            url: "https://r.example.com".into(),
            username: "robot$team+ci".into(),
            password: "Secret-1234".into(),
            ca_cert: None,
            insecure: false,
        };
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), Some(s.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(p.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        assert!(!format!("{s:?}").contains("Secret"));
        assert!(remove(&p).unwrap());
        assert!(!remove(&p).unwrap());
        std::fs::write(&p, b"{not json").unwrap();
        assert!(load(&p).unwrap_err().contains("not a valid config file"));
    }

    #[test]
    fn another_programs_file_is_never_replaced_nor_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("harbor.toml");
        let server = b"listen = \"0.0.0.0:5000\"\n[auth]\nsecret_key = \"00\"\n";
        std::fs::write(&p, server).unwrap();
        let s = Stored {
            url: "http://127.0.0.1:5000".into(),
            username: "admin".into(),
            password: "Secret-1234".into(),
            ..Stored::default()
        };
        let e = save(&p, &s).unwrap_err();
        assert!(e.contains("not a harbor CLI login file"), "{e}");
        assert!(remove(&p).unwrap_err().contains("refusing"));
        assert_eq!(std::fs::read(&p).unwrap(), server);
    }
}
