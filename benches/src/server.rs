//! A `harbor-server` process started for a benchmark: a fresh data directory, a free
//! loopback port, an admin password, and its pid for memory readings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `harbor-server`; killed when dropped.
pub struct Spawned {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The admin password it was started with.
    pub password: String,
    _dir: tempfile::TempDir,
}

const PASSWORD: &str = "Bench-passw0rd-9Z";

fn spawn(bin: &Path, dir: &Path, port: u16, env: &[(String, String)]) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .map_err(|e| e.to_string())?;
    Command::new(bin)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--log")
        .arg("warn")
        .env("HARBOR_ADMIN_PASSWORD", PASSWORD)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))
}

impl Spawned {
    /// Starts `bin` with `env` on a fresh data directory and waits until `/v2/` answers.
    pub async fn start(bin: &Path, env: &[(String, String)]) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = spawn(bin, dir.path(), port, env)?;
        let s = Spawned {
            child,
            url: format!("http://127.0.0.1:{port}"),
            password: PASSWORD.to_owned(),
            _dir: dir,
        };
        s.wait_up().await?;
        Ok(s)
    }

    /// Stops the server (SIGKILL) and starts `bin` again on the same data directory and
    /// port with `env`; waits until `/v2/` answers.
    pub async fn restart(&mut self, bin: &Path, env: &[(String, String)]) -> Result<(), String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or("no port")?;
        self.child = spawn(bin, self._dir.path(), port, env)?;
        self.wait_up().await
    }

    async fn wait_up(&self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http.get(format!("{}/v2/", self.url)).send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("harbor-server did not come up within 30 s".into())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `harbor-server` next to the running executable (cargo builds them into one folder).
pub fn sibling_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("harbor-server")))
        .unwrap_or_else(|| PathBuf::from("harbor-server"))
}
