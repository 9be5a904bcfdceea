//! `/api/v2.0/projects/{p}/signature/keys[/{id}]` (our extension; Harbor has no keys):
//! the public keys (cosign) and root certificates (Notation) a project trusts. Members
//! read them (`project:read`), project administrators change them (`metadata:update`).
//! The rules and the verification are `harbor_platform::signatures`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_core::signature::{SignatureKind, TrustedKey};
use harbor_platform::signatures::SignatureStatus;

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::time;
use crate::AppState;

fn key_model(k: &TrustedKey) -> m::SignatureKey {
    m::SignatureKey {
        id: k.id,
        kind: k.kind.as_str().to_owned(),
        name: k.name.clone(),
        fingerprint: k.fingerprint.clone(),
        pem: k.pem.clone(),
        creator: k.created_by.clone(),
        creation_time: time(k.created_ms),
    }
}

/// An artifact's signature status as the API shows it.
pub(crate) fn status_model(s: &SignatureStatus) -> m::SignatureStatus {
    m::SignatureStatus {
        signed: s.signed,
        verified: s.verified,
        kinds: s.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        key: s.key.clone(),
    }
}

/// `GET .../signature/keys`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(p): Path<String>,
) -> ApiResult {
    let r = project_ref(&headers, &p)?;
    let keys = state.platform.signatures.keys(&ctx.principal, &r).await?;
    let body: Vec<m::SignatureKey> = keys.iter().map(key_model).collect();
    Ok(Json(body).into_response())
}

/// `POST .../signature/keys` `{kind, name, pem}`: `201` with `Location`.
pub(crate) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(p): Path<String>,
    Json(body): Json<m::SignatureKeyReq>,
) -> ApiResult {
    let r = project_ref(&headers, &p)?;
    let kind = SignatureKind::parse(&body.kind)?;
    let key = state
        .platform
        .signatures
        .add_key(&ctx.principal, &r, kind, &body.name, &body.pem)
        .await?;
    let location = format!("/api/v2.0/projects/{p}/signature/keys/{}", key.id);
    let mut resp = (StatusCode::CREATED, Json(key_model(&key))).into_response();
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(resp)
}

/// `DELETE .../signature/keys/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult {
    let r = project_ref(&headers, &p)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid key id {id:?}")))?;
    state
        .platform
        .signatures
        .delete_key(&ctx.principal, &r, id)
        .await?;
    Ok(StatusCode::OK.into_response())
}
