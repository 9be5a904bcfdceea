//! `harbor login` and `harbor logout`.

use serde_json::json;

use super::{AUTH, Failure, Outcome, stdin_lines, tls};
use crate::cli::{Global, Login};
use crate::client::{Client, Credentials, Error};
use crate::config::{self, Stored};
use crate::output::Output;

pub(crate) async fn login(global: &Global, l: Login, out: Output) -> Outcome {
    let username = global
        .username
        .clone()
        .ok_or_else(|| Failure::usage("--username is required (or HARBOR_USERNAME)"))?;
    let password = if l.password_stdin {
        stdin_lines(1)?.remove(0)
    } else {
        l.password.filter(|p| !p.is_empty()).ok_or_else(|| {
            Failure::usage("give the password with --password-stdin (or HARBOR_PASSWORD)")
        })?
    };
    let tls = tls(global, None)?;
    let url = l.server.trim_end_matches('/').to_owned();
    let client = Client::new(&url, Some(Credentials::new(&username, &password)), &tls)?;
    // Users may read their own account; robots are refused that endpoint (403) once their
    // credentials were accepted; wrong credentials are 401.
    let who = match client.current_user().await {
        Ok(u) => u.username,
        Err(Error::Api { status, .. }) if status.as_u16() == 403 => username.clone(),
        Err(e) => return Err(e.into()),
    };
    let path = config::path().ok_or_else(|| {
        Failure::new(
            AUTH,
            "no place to store the login: set HARBOR_CLI_CONFIG or HOME",
        )
    })?;
    let stored = Stored {
        url: url.clone(),
        username: username.clone(),
        password,
        ca_cert: global.ca_cert.clone(),
        insecure: global.insecure,
    };
    config::save(&path, &stored).map_err(Failure::usage)?;
    out.done(
        &format!("Logged in to {url} as {who} (saved in {})", path.display()),
        &json!({ "url": url, "username": who, "config": path }),
        &who,
    )?;
    Ok(())
}

pub(crate) fn logout(out: Output) -> Outcome {
    let Some(path) = config::path() else {
        return Ok(());
    };
    let removed = config::remove(&path).map_err(Failure::usage)?;
    let msg = if removed {
        format!("Removed the login stored in {}", path.display())
    } else {
        "Not logged in".to_owned()
    };
    out.done(&msg, &json!({ "removed": removed }), "")?;
    Ok(())
}
