//! `/api/v2.0/registries[/{id}[/info]]`, `/registries/ping`, `/replication/adapters` and
//! `/replication/adapterinfos`: the remote registries replication and proxy-cache
//! projects talk to (Harbor's `Registry` models). Each handler decodes, calls one
//! `Registries` method (which checks the caller's system permissions) and encodes.
//! Secrets are never answered: a stored one shows as `*****`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model::{
    FilterStyle, RegistryCredential, RegistryEndpoint, RegistryInfo, RegistryPing,
    RegistryProviderEndpointPattern, RegistryProviderInfo, RegistryUpdate,
};
use harbor_core::endpoints::{DOCKER_HUB_URL, Endpoint, EndpointKind, EndpointQuery};
use harbor_core::identity::Match;
use harbor_platform::registries::{
    CredentialInput, NewRegistry, PingRequest, REDACTED, RegistryChanges,
};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, positive_id, query, time};
use super::users::created;
use crate::AppState;

/// Harbor's `Registry` for a stored endpoint, its secret redacted.
pub(crate) fn registry_model(e: &Endpoint) -> harbor_api_model::Registry {
    let s = &e.settings;
    harbor_api_model::Registry {
        id: e.id,
        url: s.url.clone(),
        name: s.name.clone(),
        credential: Some(match &s.credential {
            Some(c) => RegistryCredential {
                kind: c.kind.as_str().to_owned(),
                access_key: c.access_key.clone(),
                access_secret: REDACTED.to_owned(),
            },
            None => RegistryCredential {
                kind: "basic".into(),
                access_key: String::new(),
                access_secret: String::new(),
            },
        }),
        kind: s.kind.as_str().to_owned(),
        insecure: s.insecure,
        ca_certificate: s.ca_certificate.clone(),
        description: s.description.clone(),
        status: e.status.as_str().to_owned(),
        creation_time: time(e.created_ms),
        update_time: time(e.updated_ms),
    }
}

/// A registry id from the path.
fn id(raw: &str) -> ApiResult<i64> {
    positive_id(raw, "registry")
}

/// `GET /registries?q=name=~x,type=harbor&name=x&page=&page_size=`.
pub(crate) async fn list_registries(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let mut filter = EndpointQuery {
        // Harbor's deprecated `name`: a substring.
        name: param(&q, "name")
            .filter(|s| !s.is_empty())
            .map(|n| Match::Fuzzy(n.to_owned())),
        kind: None,
    };
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "name" => filter.name = Some(v.text(&k)?),
            "type" => filter.kind = Some(EndpointKind::parse(v.exact(&k)?)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}: use name or type"
                )));
            }
        }
    }
    let (items, total) = state
        .platform
        .registries
        .list(&ctx.principal, &filter, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        items.iter().map(registry_model).collect(),
    ))
}

/// `POST /registries`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<harbor_api_model::Registry>,
) -> ApiResult {
    let new = NewRegistry {
        name: req.name,
        description: req.description,
        kind: req.kind,
        url: req.url,
        credential: req.credential.map(|c| CredentialInput {
            kind: c.kind,
            access_key: c.access_key,
            access_secret: c.access_secret,
        }),
        insecure: req.insecure,
        ca_certificate: req.ca_certificate,
    };
    let e = state
        .platform
        .registries
        .create(&ctx.principal, new)
        .await?;
    Ok(created(&format!("/api/v2.0/registries/{}", e.id)))
}

/// `GET /registries/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    let e = state
        .platform
        .registries
        .get(&ctx.principal, id(&raw)?)
        .await?;
    Ok(Json(registry_model(&e)).into_response())
}

fn changes(u: RegistryUpdate) -> RegistryChanges {
    RegistryChanges {
        name: u.name,
        description: u.description,
        url: u.url,
        credential_type: u.credential_type,
        access_key: u.access_key,
        access_secret: u.access_secret,
        insecure: u.insecure,
        ca_certificate: u.ca_certificate,
    }
}

/// `PUT /registries/{id}` with Harbor's `RegistryUpdate` (absent fields stay).
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<RegistryUpdate>,
) -> ApiResult {
    state
        .platform
        .registries
        .update(&ctx.principal, id(&raw)?, changes(req))
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /registries/{id}`: 412 while a policy or proxy-cache project uses it.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    state
        .platform
        .registries
        .delete(&ctx.principal, id(&raw)?)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /registries/ping`: 200 when the registry answers and takes the credential,
/// 400 saying why otherwise.
pub(crate) async fn ping(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<RegistryPing>,
) -> ApiResult {
    let req = PingRequest {
        id: req.id.filter(|id| *id > 0),
        kind: req.kind,
        changes: RegistryChanges {
            name: None,
            description: None,
            url: req.url,
            credential_type: req.credential_type,
            access_key: req.access_key,
            access_secret: req.access_secret,
            insecure: req.insecure,
            ca_certificate: req.ca_certificate,
        },
    };
    state.platform.registries.ping(&ctx.principal, req).await?;
    Ok(StatusCode::OK.into_response())
}

fn filter_styles(kind: EndpointKind) -> Vec<FilterStyle> {
    kind.capabilities()
        .filters
        .iter()
        .map(|f| match *f {
            "label" => FilterStyle {
                kind: "label".into(),
                style: "list".into(),
                values: Vec::new(),
            },
            "resource" => FilterStyle {
                kind: "resource".into(),
                style: "radio".into(),
                values: vec!["image".into(), "artifact".into()],
            },
            other => FilterStyle {
                kind: other.into(),
                style: "input".into(),
                values: Vec::new(),
            },
        })
        .collect()
}

/// `GET /registries/{id}/info`: the filters, triggers and chunked copy replication
/// supports with it.
pub(crate) async fn info(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    let (kind, caps) = state
        .platform
        .registries
        .info(&ctx.principal, id(&raw)?)
        .await?;
    Ok(Json(RegistryInfo {
        kind: kind.as_str().to_owned(),
        description: String::new(),
        supported_resource_filters: filter_styles(kind),
        supported_triggers: caps.triggers.iter().map(|t| (*t).to_owned()).collect(),
        supported_copy_by_chunk: Some(caps.copy_by_chunk),
    })
    .into_response())
}

/// `GET /replication/adapters`: the registry types.
pub(crate) async fn adapters(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let kinds = state.platform.registries.adapters(&ctx.principal)?;
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    Ok(Json(names).into_response())
}

/// `GET /replication/adapterinfos`: like Harbor, only types with fixed URLs (Docker Hub)
/// are described.
pub(crate) async fn adapter_infos(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    state.platform.registries.adapters(&ctx.principal)?;
    let mut infos = harbor_api_model::replication::RegistryProviderInfos::new();
    infos.insert(
        EndpointKind::DockerHub.as_str().to_owned(),
        RegistryProviderInfo {
            endpoint_pattern: Some(RegistryProviderEndpointPattern {
                endpoint_type: "EndpointPatternTypeFix".into(),
                endpoints: vec![RegistryEndpoint {
                    key: "hub.docker.com".into(),
                    value: DOCKER_HUB_URL.into(),
                }],
            }),
            credential_pattern: None,
        },
    );
    Ok(Json(infos).into_response())
}
