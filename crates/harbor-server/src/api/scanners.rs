//! `/api/v2.0/scanners[/{registration_id}[/metadata]]`, `/scanners/ping` and
//! `/projects/{project_name_or_id}/scanner[/candidates]`: the scanner adapters this server
//! calls and each project's choice (Harbor's `ScannerRegistration` models). Each handler
//! decodes, calls one `Scanners` method (which checks the caller's permissions) and
//! encodes. Credentials are never answered: `access_credential` is empty, as in Harbor.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model::{
    IsDefault, NoScanner, ProjectScanner, ScannerRegistrationReq, ScannerRegistrationSettings,
};
use harbor_core::identity::Match;
use harbor_core::scan::registrations::{RegistrationQuery, ScannerRegistration};
use harbor_platform::scanner::registrations::{AdapterMetadata, PingSettings, RegistrationInput};

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use super::users::created;
use crate::AppState;

/// Harbor's `ScannerRegistration` with what its adapter said (`health`, `adapter`,
/// `vendor`, `version`, `capabilities`).
fn with_health(
    r: &ScannerRegistration,
    health: Option<Result<AdapterMetadata, String>>,
) -> harbor_api_model::ScannerRegistration {
    let mut m = registration_model(r);
    match health {
        Some(Ok(meta)) => {
            let supports = |kind: &str| {
                meta.capabilities
                    .iter()
                    .any(|c| c.kind.as_deref().unwrap_or("vulnerability") == kind)
            };
            m.health = Some("healthy".into());
            m.capabilities = Some(
                [
                    ("support_vulnerability", supports("vulnerability")),
                    ("support_sbom", supports("sbom")),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::Bool(v)))
                .collect(),
            );
            m.adapter = Some(meta.scanner.name);
            m.vendor = Some(meta.scanner.vendor);
            m.version = Some(meta.scanner.version);
        }
        Some(Err(_)) => m.health = Some("unhealthy".into()),
        None => {}
    }
    m
}

/// Harbor's `ScannerRegistration` for a stored one, without its credential.
pub(crate) fn registration_model(r: &ScannerRegistration) -> harbor_api_model::ScannerRegistration {
    let s = &r.settings;
    harbor_api_model::ScannerRegistration {
        uuid: r.uuid.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        url: s.url.clone(),
        disabled: s.disabled,
        is_default: r.is_default,
        auth: s.auth.as_str().to_owned(),
        access_credential: String::new(),
        skip_cert_verify: s.skip_cert_verify,
        use_internal_addr: s.use_internal_addr,
        create_time: time(r.created_ms),
        update_time: time(r.updated_ms),
        ..Default::default()
    }
}

fn input(req: ScannerRegistrationReq) -> RegistrationInput {
    RegistrationInput {
        name: req.name,
        description: req.description,
        url: req.url,
        auth: req.auth,
        access_credential: req.access_credential,
        disabled: req.disabled,
        skip_cert_verify: req.skip_cert_verify,
        use_internal_addr: req.use_internal_addr,
    }
}

/// Harbor's filters of a registration listing: `q` (`name`, `description`, `url`), and
/// the older `name`, `description`, `url` (substrings) and `ex_name`, `ex_url` (exact).
fn registration_query(q: &[(String, String)]) -> ApiResult<RegistrationQuery> {
    let mut filter = RegistrationQuery::default();
    for (key, exact) in [
        ("name", false),
        ("description", false),
        ("url", false),
        ("ex_name", true),
        ("ex_url", true),
    ] {
        let Some(v) = param(q, key).filter(|v| !v.is_empty()) else {
            continue;
        };
        let m = match exact {
            true => Match::Exact(v.to_owned()),
            false => Match::Fuzzy(v.to_owned()),
        };
        match key.trim_start_matches("ex_") {
            "name" => filter.name = Some(m),
            "url" => filter.url = Some(m),
            _ => filter.description = Some(m),
        }
    }
    for (k, v) in parse_q(param(q, "q"))? {
        match k.as_str() {
            "name" => filter.name = Some(v.text(&k)?),
            "description" => filter.description = Some(v.text(&k)?),
            "url" => filter.url = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}: use name, description or url"
                )));
            }
        }
    }
    Ok(filter)
}

/// `GET /scanners?q=name=~x&page=&page_size=`.
pub(crate) async fn list_scanners(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let filter = registration_query(&q)?;
    let (items, total) = state
        .platform
        .scanners
        .list(&ctx.principal, &filter, pg)
        .await?;
    let health = state.platform.scanners.health(&items).await;
    Ok(list(
        &parts.uri,
        pg,
        total,
        items
            .iter()
            .zip(health)
            .map(|(r, h)| with_health(r, h))
            .collect(),
    ))
}

/// `POST /scanners`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<ScannerRegistrationReq>,
) -> ApiResult {
    let r = state
        .platform
        .scanners
        .create(&ctx.principal, input(req))
        .await?;
    Ok(created(&format!("/api/v2.0/scanners/{}", r.uuid)))
}

/// `POST /scanners/ping`: 200 when the adapter answers its metadata with the credential,
/// 400 saying why otherwise.
pub(crate) async fn ping(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<ScannerRegistrationSettings>,
) -> ApiResult {
    let settings = PingSettings {
        name: req.name,
        url: req.url,
        auth: req.auth,
        access_credential: req.access_credential,
    };
    state
        .platform
        .scanners
        .ping(&ctx.principal, settings)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /scanners/{registration_id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult {
    let r = state.platform.scanners.get(&ctx.principal, &uuid).await?;
    let health = state
        .platform
        .scanners
        .health(std::slice::from_ref(&r))
        .await
        .pop()
        .flatten();
    Ok(Json(with_health(&r, health)).into_response())
}

/// `PUT /scanners/{registration_id}` with a whole `ScannerRegistrationReq`.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    Json(req): Json<ScannerRegistrationReq>,
) -> ApiResult {
    state
        .platform
        .scanners
        .update(&ctx.principal, &uuid, input(req))
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /scanners/{registration_id}`: the deleted registration.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult {
    let r = state
        .platform
        .scanners
        .delete(&ctx.principal, &uuid)
        .await?;
    Ok(Json(registration_model(&r)).into_response())
}

/// `PATCH /scanners/{registration_id}` with `{"is_default": true}`.
pub(crate) async fn set_default(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    Json(req): Json<IsDefault>,
) -> ApiResult {
    state
        .platform
        .scanners
        .set_default(&ctx.principal, &uuid, req.is_default)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /scanners/{registration_id}/metadata`: what the adapter says now (400 saying why
/// when it cannot be reached or used).
pub(crate) async fn metadata(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult {
    let m = state
        .platform
        .scanners
        .metadata(&ctx.principal, &uuid)
        .await?;
    Ok(Json(m).into_response())
}

/// `GET /projects/{p}/scanner`: the project's registration, else the default; `{}` when
/// there is neither (as Harbor answers).
pub(crate) async fn project_scanner(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &reference)?;
    let found = state
        .platform
        .scanners
        .project_scanner(&ctx.principal, &r)
        .await?;
    Ok(match found {
        Some(reg) => Json(registration_model(&reg)).into_response(),
        None => Json(NoScanner {}).into_response(),
    })
}

/// `PUT /projects/{p}/scanner` with `{"uuid": ...}`.
pub(crate) async fn set_project_scanner(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
    Json(req): Json<ProjectScanner>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &reference)?;
    state
        .platform
        .scanners
        .set_project_scanner(&ctx.principal, &r, &req.uuid)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /projects/{p}/scanner/candidates`: the enabled registrations, filtered and paged
/// like `/scanners`.
pub(crate) async fn candidates(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let filter = registration_query(&q)?;
    let r = project_ref(&parts.headers, &reference)?;
    let (items, total) = state
        .platform
        .scanners
        .candidates(&ctx.principal, &r, &filter, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        items.iter().map(registration_model).collect(),
    ))
}
