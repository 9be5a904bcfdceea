//! The built-in scanner's vulnerability database: `GET /system/vulnerability-db` (its
//! version and age) and `PUT /system/vulnerability-db` (an OSV zip archive as the body,
//! system administrators only; the import replaces the database once complete).

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use futures::StreamExt;
use harbor_api_model::VulnerabilityDbStatus;
use harbor_core::scan::VulnDbInfo;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::time;
use crate::AppState;

/// Largest archive accepted (the OSV project's whole `all.zip` is well under it).
const MAX_UPLOAD: u64 = 8 << 30;

fn status(info: Option<VulnDbInfo>) -> VulnerabilityDbStatus {
    match info {
        None => VulnerabilityDbStatus::default(),
        Some(i) => VulnerabilityDbStatus {
            imported: true,
            source: i.source,
            version: i.newest,
            imported_at: time(i.imported_at_ms),
            records: i.records,
            advisories: i.advisories,
        },
    }
}

/// `GET /system/vulnerability-db` (any signed-in user).
pub(crate) async fn get_db(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<VulnerabilityDbStatus>> {
    if !ctx.principal.is_authenticated() {
        return Err(ApiError::unauthorized("authentication required"));
    }
    Ok(Json(status(state.platform.scanner.db.info().await?)))
}

#[derive(Deserialize)]
pub(crate) struct ImportQuery {
    /// What to call the data (default: "upload").
    source: Option<String>,
}

/// `PUT /system/vulnerability-db`: the body is spooled to a temporary file, then imported.
pub(crate) async fn put_db(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> ApiResult<Json<VulnerabilityDbStatus>> {
    // Checked again by the service; here so a refused upload is not read first.
    if !ctx.principal.is_sysadmin() {
        return Err(if ctx.principal.is_authenticated() {
            ApiError::forbidden("only system administrators may import the vulnerability database")
        } else {
            ApiError::unauthorized("authentication required")
        });
    }
    let spool = tempfile::NamedTempFile::new().map_err(harbor_core::Error::internal)?;
    let mut file = tokio::fs::File::from_std(spool.reopen().map_err(harbor_core::Error::internal)?);
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("reading the upload failed: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the archive is over 8 GiB",
            ));
        }
        file.write_all(&chunk)
            .await
            .map_err(harbor_core::Error::internal)?;
    }
    file.flush().await.map_err(harbor_core::Error::internal)?;
    if size == 0 {
        return Err(ApiError::bad_request(
            "the body is empty: send an OSV zip archive",
        ));
    }
    let name = query
        .source
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "upload".into());
    let source = format!(
        "{} ({size} bytes)",
        name.chars().take(200).collect::<String>()
    );
    let info = state
        .platform
        .scanner
        .import_db(&ctx.principal, spool.path().to_path_buf(), &source)
        .await?;
    Ok(Json(status(Some(info))))
}
