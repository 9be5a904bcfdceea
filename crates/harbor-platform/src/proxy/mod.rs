//! Proxy-cache projects: a project created with a registry endpoint (`registry_id`) is a
//! pull-through cache of that registry. A pull of `<project>/<name>` that the project
//! cannot answer is fetched from `<name>` upstream, streamed to the client and stored as
//! it passes; later pulls are served locally. Tags are revalidated with a `HEAD` to the
//! upstream; when the upstream cannot be reached the cached copy is served. Pushes are
//! refused (by the server's guard, which knows the method).

mod flights;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use harbor_core::endpoints::{Endpoint, EndpointKind};
use harbor_core::identity::Project;
use harbor_core::manifest;
use harbor_core::model::{BlobInfo, StoredManifest};
use harbor_core::registry::{BlobRead, ByteRange};
use harbor_core::{Digest, Error, Reference, Registry, RepositoryName, Result};

use crate::registries::Registries;
use flights::{Fetch, Flights, landed};

/// How long a tag's revalidation (`HEAD` upstream) may take before the cached copy is
/// served instead.
const REVALIDATE_WITHIN: Duration = Duration::from_secs(5);
/// After the upstream failed, how long pulls are answered from the cache without asking
/// it again.
const DOWN_FOR: Duration = Duration::from_secs(30);
/// How long a manifest fetched from the upstream waits for its client to fetch its blobs
/// before the cache fetches the rest itself (a client with layers of its own skips them).
const CLIENT_GRACE: Duration = Duration::from_secs(10);
/// How often that wait looks whether the blobs arrived.
const POLL: Duration = Duration::from_millis(200);

/// Where a manifest came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The cache: the caller records the pull as for any other project.
    Cache,
    /// The upstream: the pull is recorded once the manifest is cached.
    Upstream,
}

/// The proxy-cache service. Cheap to clone; one per process (the fetches in flight are
/// per process).
#[derive(Clone)]
pub struct ProxyCache {
    registry: Registry,
    registries: Registries,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Clients by registry id, with the endpoint's `updated_ms` they were built for (so
    /// tokens are reused across pulls, and an edited endpoint gets a new client).
    clients: Mutex<HashMap<i64, (i64, harbor_remote::Client)>>,
    /// Registries that failed recently, until when they are not asked.
    down: Mutex<HashMap<i64, Instant>>,
    /// Manifests being cached, by repository, digest and reference.
    caching: Mutex<HashSet<(String, String)>>,
    flights: Flights,
}

/// The upstream of one repository of a proxy-cache project.
struct Upstream {
    registry_id: i64,
    client: harbor_remote::Client,
    /// The repository's name upstream.
    repo: RepositoryName,
}

impl ProxyCache {
    /// Proxy-cache projects over `registry`, reaching upstreams through `registries`.
    pub fn new(registry: Registry, registries: Registries) -> Self {
        ProxyCache {
            registry,
            registries,
            shared: Arc::default(),
        }
    }

    /// The same service talking to upstreams through `registries` (its keys and
    /// outbound rules).
    pub fn with_registries(mut self, registries: Registries) -> Self {
        self.registries = registries;
        self.shared = Arc::default();
        self
    }

    /// A manifest of a proxy-cache project's repository, pulled by `by`: by digest from
    /// the cache when it holds it; by tag revalidated against the upstream, and from the
    /// cache when the upstream still has the same or cannot be reached.
    pub async fn manifest(
        &self,
        by: &str,
        project: &Project,
        repo: &RepositoryName,
        reference: &str,
    ) -> Result<(StoredManifest, Source)> {
        let parsed = Reference::parse(reference)?;
        let local = match self.registry.get_manifest(repo, reference).await {
            Ok(m) => Some(m),
            Err(Error::ManifestUnknown(_) | Error::NameUnknown(_)) => None,
            Err(e) => return Err(e),
        };
        if let (Reference::Digest(_), Some(m)) = (&parsed, &local) {
            return Ok((m.clone(), Source::Cache));
        }
        let up = self.upstream(project, repo).await?;
        if let Some(m) = &local
            && self.is_down(up.registry_id)
        {
            return Ok((m.clone(), Source::Cache));
        }
        let head = tokio::time::timeout(
            REVALIDATE_WITHIN,
            up.client.head_manifest(&up.repo, &parsed),
        )
        .await;
        let head = match head {
            Ok(Ok(h)) => h,
            Ok(Err(harbor_remote::Error::NotFound(_))) => None,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {}s", REVALIDATE_WITHIN.as_secs()),
                };
                self.mark_down(up.registry_id);
                return match local {
                    Some(m) => {
                        tracing::info!(%repo, reference, error = %why,
                            "proxy cache: upstream unreachable, serving the cached manifest");
                        Ok((m, Source::Cache))
                    }
                    None => Err(unreachable(&why)),
                };
            }
        };
        let Some(head) = head else {
            return Err(Error::ManifestUnknown(format!(
                "{reference} is not in the upstream repository {}",
                up.repo
            )));
        };
        if let Some(m) = local
            && m.digest == head.digest
        {
            return Ok((m, Source::Cache));
        }
        let fetched = up
            .client
            .get_manifest(&up.repo, &parsed)
            .await
            .map_err(|e| match e {
                harbor_remote::Error::NotFound(_) => {
                    Error::ManifestUnknown(format!("{reference} is not upstream"))
                }
                e => {
                    self.mark_down(up.registry_id);
                    unreachable(&e.to_string())
                }
            })?;
        let served = StoredManifest {
            digest: fetched.digest.clone(),
            media_type: fetched.media_type.clone(),
            content: fetched.bytes.clone(),
        };
        self.cache_later(by, repo, reference, up, fetched);
        Ok((served, Source::Upstream))
    }

    /// The size of a blob of a proxy-cache repository (`HEAD`): the cache's, else the
    /// upstream's (nothing is fetched).
    pub async fn blob_info(
        &self,
        project: &Project,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<BlobInfo> {
        match self.registry.stat_blob(repo, digest).await {
            Err(Error::BlobUnknown(_)) => {}
            other => return other,
        }
        let up = self.upstream(project, repo).await?;
        match up.client.blob_exists(&up.repo, digest).await {
            Ok(Some(size)) => Ok(BlobInfo {
                digest: digest.clone(),
                size,
            }),
            Ok(None) => Err(Error::BlobUnknown(digest.clone())),
            Err(e) => Err(unreachable(&e.to_string())),
        }
    }

    /// A blob of a proxy-cache repository: from the cache, else fetched from the upstream
    /// once, streamed to this client and stored at the same time. Concurrent pulls of the
    /// same blob wait for that fetch and read the stored copy.
    pub async fn read_blob(
        &self,
        project: &Project,
        repo: &RepositoryName,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<BlobRead> {
        match self.registry.read_blob(repo, digest, range).await {
            Err(Error::BlobUnknown(_)) => {}
            other => return other,
        }
        let up = self.upstream(project, repo).await?;
        match self.fetch(&up, repo, digest).await? {
            Fetch::Leader(size, body, _) if range.is_none() => Ok(BlobRead {
                info: BlobInfo {
                    digest: digest.clone(),
                    size,
                },
                range: 0..size,
                partial: false,
                body,
            }),
            // A range of a blob not cached yet: the whole blob is cached first.
            Fetch::Leader(_, _, outcome) | Fetch::Follower(outcome) => {
                if !landed(outcome).await {
                    return Err(unreachable("the upstream fetch of this blob failed"));
                }
                self.registry.read_blob(repo, digest, range).await
            }
        }
    }

    /// The blob for `repo`: linked when this registry stores it already, else the fetch
    /// this call starts ([`Fetch::Leader`]), else another's, waited for and linked
    /// ([`Fetch::Follower`], landed).
    async fn fetch(&self, up: &Upstream, repo: &RepositoryName, digest: &Digest) -> Result<Fetch> {
        for _ in 0..2 {
            if self.link_stored(up, repo, digest).await {
                return Ok(Fetch::Follower(flights::stored_already()));
            }
            match self.start_or_join(up, repo, digest).await? {
                Fetch::Follower(outcome) => {
                    // Stored for this or another repository: linked into this one above.
                    if landed(outcome).await && self.registry.stat_blob(repo, digest).await.is_ok()
                    {
                        return Ok(Fetch::Follower(flights::stored_already()));
                    }
                }
                leader => return Ok(leader),
            }
        }
        Err(unreachable("the upstream fetch of this blob failed"))
    }

    async fn start_or_join(
        &self,
        up: &Upstream,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Fetch> {
        let client = up.client.clone();
        let upstream_repo = up.repo.clone();
        let registry_id = up.registry_id;
        let open = || async move {
            // The store verifies the digest (and the client's last chunk waits for it).
            match client.get_blob_unhashed(&upstream_repo, digest).await {
                Ok(b) => Ok((
                    b.size,
                    b.stream
                        .map_err(|e| std::io::Error::other(e.to_string()))
                        .boxed(),
                )),
                Err(harbor_remote::Error::NotFound(_)) => Err(Error::BlobUnknown(digest.clone())),
                Err(e) => {
                    self.mark_down(registry_id);
                    Err(unreachable(&e.to_string()))
                }
            }
        };
        self.shared
            .flights
            .fetch(&self.registry, repo, digest, open)
            .await
    }

    /// Links a blob this registry stores already (cached through another repository, or
    /// pushed elsewhere) into `repo` instead of fetching it again, once the upstream
    /// confirms (`HEAD`) that its repository has this digest with this size: the client
    /// gets nothing it could not have fetched. `false` when it cannot.
    async fn link_stored(&self, up: &Upstream, repo: &RepositoryName, digest: &Digest) -> bool {
        let meta = self.registry.metadata();
        let Ok(Some(size)) = meta.blob_size(digest).await else {
            return false;
        };
        match up.client.blob_exists(&up.repo, digest).await {
            // Garbage collection may have taken it meanwhile (`BlobChanged`): fetch it.
            Ok(Some(upstream)) if upstream == size => {
                meta.link_blob(repo, digest, size).await.is_ok()
            }
            _ => false,
        }
    }

    /// Caches a manifest served from the upstream once the blobs it needs are stored:
    /// those its client fetches, then (after [`CLIENT_GRACE`]) the rest. An index is
    /// cached at once; its children are cached as they are pulled.
    fn cache_later(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        up: Upstream,
        m: harbor_remote::Manifest,
    ) {
        let key = (format!("{repo}@{}", m.digest), reference.to_owned());
        match self.shared.caching.lock() {
            Ok(mut set) => {
                if !set.insert(key.clone()) {
                    return;
                }
            }
            Err(_) => return,
        }
        let this = self.clone();
        let (by, repo, reference) = (by.to_owned(), repo.clone(), reference.to_owned());
        tokio::spawn(async move {
            if let Err(e) = this.cache(&by, &repo, &reference, &up, &m).await {
                tracing::warn!(%repo, reference, digest = %m.digest, error = %e,
                    "proxy cache: the manifest was not cached");
            }
            if let Ok(mut set) = this.shared.caching.lock() {
                set.remove(&key);
            }
        });
    }

    async fn cache(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        up: &Upstream,
        m: &harbor_remote::Manifest,
    ) -> Result<()> {
        let parsed = manifest::parse(Some(&m.media_type), &m.bytes)?;
        let blobs: Vec<Digest> = parsed
            .blobs
            .iter()
            .filter(|b| b.distributable)
            .map(|b| b.descriptor.digest.clone())
            .collect();
        let grace_ends = Instant::now() + CLIENT_GRACE;
        let mut fetched = false;
        loop {
            let mut missing = Vec::new();
            for d in &blobs {
                if self.registry.stat_blob(repo, d).await.is_err() {
                    missing.push(d.clone());
                }
            }
            if missing.is_empty() {
                break;
            }
            if fetched {
                return Err(Error::BlobUnknown(missing[0].clone()));
            }
            if Instant::now() < grace_ends {
                tokio::time::sleep(POLL).await;
                continue;
            }
            fetched = true;
            for d in missing {
                let (Fetch::Leader(_, _, outcome) | Fetch::Follower(outcome)) =
                    self.fetch(up, repo, &d).await?;
                if !landed(outcome).await {
                    return Err(unreachable(&format!("blob {d} could not be fetched")));
                }
            }
        }
        self.registry
            .cache_manifest(by, repo, reference, Some(&m.media_type), m.bytes.clone())
            .await?;
        self.registry
            .record_manifest_pull(by, repo, reference, m.digest.as_str());
        Ok(())
    }

    /// The upstream of `repo` in the proxy-cache `project`.
    async fn upstream(&self, project: &Project, repo: &RepositoryName) -> Result<Upstream> {
        let registry_id = project.registry_id.ok_or_else(|| {
            Error::internal(format!("project {} is not a proxy cache", project.name))
        })?;
        let endpoint = self
            .registry
            .metadata()
            .endpoint(registry_id)
            .await?
            .ok_or_else(|| Error::internal(format!("registry {registry_id} is gone")))?;
        let name = upstream_name(endpoint.settings.kind, &project.name, repo)?;
        Ok(Upstream {
            registry_id,
            client: self.client(&endpoint)?,
            repo: name,
        })
    }

    fn client(&self, endpoint: &Endpoint) -> Result<harbor_remote::Client> {
        if let Ok(clients) = self.shared.clients.lock()
            && let Some((at, c)) = clients.get(&endpoint.id)
            && *at == endpoint.updated_ms
        {
            return Ok(c.clone());
        }
        let credential = self.registries.credential(endpoint)?;
        let client = self
            .registries
            .probe()
            .client(&endpoint.settings, credential)
            .map_err(|e| Error::Invalid(format!("registry {}: {e}", endpoint.settings.name)))?;
        if let Ok(mut clients) = self.shared.clients.lock() {
            clients.insert(endpoint.id, (endpoint.updated_ms, client.clone()));
        }
        Ok(client)
    }

    fn is_down(&self, registry_id: i64) -> bool {
        self.shared
            .down
            .lock()
            .ok()
            .and_then(|d| d.get(&registry_id).copied())
            .is_some_and(|until| until > Instant::now())
    }

    fn mark_down(&self, registry_id: i64) {
        if let Ok(mut d) = self.shared.down.lock() {
            d.insert(registry_id, Instant::now() + DOWN_FOR);
        }
    }
}

/// `repo`'s name upstream: without the project, and under `library/` for a Docker Hub
/// official image (`proxy/alpine` is `library/alpine`).
fn upstream_name(
    kind: EndpointKind,
    project: &str,
    repo: &RepositoryName,
) -> Result<RepositoryName> {
    let rest = repo
        .as_str()
        .strip_prefix(project)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| Error::NameInvalid(format!("{repo} is not in project {project}")))?;
    if kind == EndpointKind::DockerHub && !rest.contains('/') {
        return RepositoryName::parse(&format!("library/{rest}"));
    }
    RepositoryName::parse(rest)
}

/// The upstream could not answer: a 503 the client may retry.
fn unreachable(why: &str) -> Error {
    Error::Busy(format!(
        "the upstream registry of this proxy-cache project failed: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(kind: EndpointKind, repo: &str) -> String {
        upstream_name(kind, "hub", &RepositoryName::parse(repo).unwrap())
            .map(|n| n.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn names_upstream_drop_the_project() {
        assert_eq!(
            name(EndpointKind::DockerRegistry, "hub/team/app"),
            "team/app"
        );
        assert_eq!(name(EndpointKind::DockerRegistry, "hub/app"), "app");
        assert_eq!(name(EndpointKind::Harbor, "hub/library/app"), "library/app");
        // Docker Hub's official images live under `library/`.
        assert_eq!(
            name(EndpointKind::DockerHub, "hub/alpine"),
            "library/alpine"
        );
        assert_eq!(
            name(EndpointKind::DockerHub, "hub/bitnami/redis"),
            "bitnami/redis"
        );
        assert!(name(EndpointKind::DockerRegistry, "hubx/app").starts_with("error"));
        assert!(name(EndpointKind::DockerRegistry, "other/app").starts_with("error"));
    }
}
