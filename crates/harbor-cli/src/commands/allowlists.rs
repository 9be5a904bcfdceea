//! `harbor allowlist get|set [--project P]`: the system CVE allowlist and projects' own.

use harbor_api_model::{CveAllowlist, CveAllowlistItem};

use super::{App, Failure, Outcome};
use crate::cli::AllowlistCmd;
use crate::output::expiry;

pub(crate) async fn allowlist(app: &App, cmd: AllowlistCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        AllowlistCmd::Get { project: None } => {
            let list = c.system_allowlist().await?;
            let mut fields = vec![("scope", "system".to_owned())];
            fields.extend(describe(&list));
            out.one(&list, &fields, &ids(&list))?;
        }
        AllowlistCmd::Get {
            project: Some(name),
        } => {
            let p = c.project(&name).await?;
            let list = p.cve_allowlist.clone().unwrap_or_default();
            let reuses = p
                .metadata
                .other
                .get("reuse_sys_cve_allowlist")
                .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
            let mut fields = vec![("scope", format!("project {name}"))];
            fields.extend(describe(&list));
            fields.push((
                "in effect",
                if reuses {
                    "the system list (reuse_sys_cve_allowlist is true)".to_owned()
                } else {
                    "this list".to_owned()
                },
            ));
            out.one(&list, &fields, &ids(&list))?;
        }
        AllowlistCmd::Set {
            project,
            cves,
            expires,
        } => {
            let list = CveAllowlist {
                expires_at: expires_at(&expires)?,
                items: cves
                    .into_iter()
                    .map(|cve_id| CveAllowlistItem { cve_id })
                    .collect(),
                ..CveAllowlist::default()
            };
            let scope = match &project {
                Some(p) => {
                    c.set_project_allowlist(p, &list).await?;
                    format!("project {p}'s")
                }
                None => {
                    c.set_system_allowlist(&list).await?;
                    "the system".to_owned()
                }
            };
            let message = format!(
                "{scope} CVE allowlist holds {} ids, expiring {}",
                list.items.len(),
                list.expires_at.map_or("never".to_owned(), expiry)
            );
            out.done(&message, &list, &ids(&list))?;
        }
    }
    Ok(())
}

/// Expiry, ids and times of a list, for people.
fn describe(list: &CveAllowlist) -> Vec<(&'static str, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let expires = match list.expires_at {
        None => "never".to_owned(),
        Some(at) if at <= now => format!("{} (expired: the list allows nothing)", expiry(at)),
        Some(at) => expiry(at),
    };
    vec![
        ("expires", expires),
        (
            "items",
            if list.items.is_empty() {
                "none".to_owned()
            } else {
                ids(list)
            },
        ),
        ("updated", crate::output::time(list.update_time.as_deref())),
    ]
}

fn ids(list: &CveAllowlist) -> String {
    list.items
        .iter()
        .map(|i| i.cve_id.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `never`, Unix seconds or an RFC 3339 time, as Unix seconds.
fn expires_at(s: &str) -> Result<Option<i64>, Failure> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(Some(secs));
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| {
            Failure::usage(format!(
                "--expires {s:?}: give an RFC 3339 time (2030-01-01T00:00:00Z), Unix seconds \
                 or never"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_forms() {
        assert_eq!(expires_at("never").unwrap(), None);
        assert_eq!(expires_at("1700000000").unwrap(), Some(1_700_000_000));
        assert_eq!(
            expires_at("2023-11-14T22:13:20Z").unwrap(),
            Some(1_700_000_000)
        );
        assert!(expires_at("tomorrow").is_err());
    }
}
