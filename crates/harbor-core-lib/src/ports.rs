//! The ports: what the registry needs from storage, as async traits.
//!
//! Adapters live in `harbor-storage`; the core only sees these traits.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::digest::Digest;
use crate::error::Result;
use crate::events::NewEvent;
use crate::groups::{GroupQuery, GroupType, NewUserGroup, UserGroup};
use crate::identity::{
    AuditEntry, AuditQuery, Match, Member, NewAuditEntry, NewProject, NewRobot, NewUser, Page,
    Project, ProjectQuery, ProjectSummary, Robot, RobotQuery, RobotUpdate, Session, User,
    UserQuery, UserUpdate,
};
use crate::model::{
    BlobVersion, Claim, Lease, NewManifest, Referrer, RepositoryQuery, RepositoryRecord,
    StoredManifest, UploadId, UploadSession,
};
use crate::names::{Reference, RepositoryName, Tag};
use crate::rbac::Role;

/// A stream of byte chunks, as read from a request body or a stored blob.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Content-addressed blob storage with resumable upload staging.
///
/// Committed blobs are immutable and appear atomically. Upload data is staged under the
/// upload id and only becomes a blob through [`BlobStore::commit_upload`].
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The storage driver's name as Harbor reports it (`filesystem`, `s3`, `gcs`,
    /// `azure`, ...).
    fn provider(&self) -> String {
        "unknown".into()
    }

    /// Size of a committed blob, or `None` if it is not stored.
    async fn size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Streams `range` of a committed blob; the range has been checked against its size.
    /// A missing blob is [`crate::Error::BlobUnknown`].
    async fn read(&self, digest: &Digest, range: Range<u64>) -> Result<ByteStream>;

    /// Removes a committed blob. Removing a missing blob is not an error.
    async fn delete(&self, digest: &Digest) -> Result<()>;

    /// Opens the staging area of an upload for appending at `offset`, which is the number
    /// of bytes accepted so far; anything staged past it (left by a failed request) is
    /// discarded. `state` is what the last [`UploadWriter::finish`] returned ("" at first).
    async fn open_upload(
        &self,
        id: &UploadId,
        state: &str,
        offset: u64,
    ) -> Result<Box<dyn UploadWriter>>;

    /// Ends appends to an upload holding `len` bytes and makes its bytes readable with
    /// [`BlobStore::read_upload`]; returns the new staging state. Stores whose staging is
    /// always readable return `state` unchanged.
    async fn seal_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<String> {
        let _ = (id, len);
        Ok(state.to_owned())
    }

    /// Streams the `len` bytes of a sealed upload (used to verify digests whose algorithm
    /// differs from the one hashed while streaming).
    async fn read_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<ByteStream>;

    /// Turns the `len` staged bytes of an upload (sealed or not) into the blob `digest`
    /// (already verified), atomically, and releases the staging area. Committing a blob
    /// that already exists succeeds.
    async fn commit_upload(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        digest: &Digest,
    ) -> Result<()>;

    /// Discards an upload's staging area.
    async fn abort_upload(&self, id: &UploadId, state: &str) -> Result<()>;

    /// The smallest chunk the store handles well, advertised as `OCI-Chunk-Min-Length`.
    fn min_chunk_length(&self) -> u64 {
        0
    }

    /// Every committed blob the store holds (for the consistency check), in no
    /// particular order. Objects under the blob directory whose path is not a valid blob
    /// path are skipped.
    async fn list_blobs(&self) -> Result<BoxStream<'static, Result<StoredObject>>> {
        Err(crate::Error::Unsupported(
            "this blob store cannot list its blobs".into(),
        ))
    }

    /// Upload staging areas the store can see, with their last change (for cleaning up
    /// uploads abandoned without a session). Stores that cannot list them return none.
    async fn list_staging(&self) -> Result<Vec<(UploadId, i64)>> {
        Ok(Vec::new())
    }
}

/// A committed blob as storage sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    /// The digest its path names.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its last modification, ms since the epoch.
    pub modified_ms: i64,
}

/// Appends bytes to an upload's staging area.
#[async_trait]
pub trait UploadWriter: Send {
    /// Appends a chunk.
    async fn write(&mut self, chunk: Bytes) -> Result<()>;

    /// Flushes everything written and returns the new staging state to persist.
    async fn finish(self: Box<Self>) -> Result<String>;

    /// Gives up: waits until no write is in flight any more (so a later
    /// [`BlobStore::open_upload`] cannot race with this writer) and discards the writer.
    async fn abort(self: Box<Self>);
}

/// Registry metadata: repositories, blob links, uploads, manifests and tags; labels,
/// immutability rules, storage quotas, garbage collection, registry endpoints and the
/// outbox through the supertraits.
#[async_trait]
pub trait MetadataStore:
    crate::labels::LabelStore
    + crate::endpoints::EndpointStore
    + crate::replication::ReplicationStore
    + crate::immutable::ImmutableRuleStore
    + crate::quota::QuotaStore
    + crate::retention::RetentionStore
    + crate::gc::GcStore
    + crate::events::EventStore
    + crate::scan::ScanStore
    + crate::scan::registrations::ScannerStore
    + crate::scan::security::SecurityStore
    + crate::scan::allowlist::AllowlistStore
    + crate::webhook::WebhookStore
    + crate::oidc::OidcUserStore
    + crate::signature::SignatureKeyStore
    + Send
    + Sync
    + 'static
{
    /// Size of `digest` if it is linked to `repo` (and live).
    async fn repository_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.linked_blob(repo, digest).await?.map(|(size, _)| size))
    }

    /// Size and last touch time (ms) of `digest` if it is linked to `repo` and live.
    async fn linked_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(u64, i64)>>;

    /// The state and version of a blob's row, read from the primary (docs/gc.md).
    async fn blob_version(&self, digest: &Digest) -> Result<BlobVersion>;

    /// Sets a live blob's touch time to `now_ms` if it is older than `older_than_ms`,
    /// restarting garbage collection's time window for it.
    async fn touch_blob(&self, digest: &Digest, now_ms: i64, older_than_ms: i64) -> Result<()>;

    /// Size of `digest` if any repository holds it.
    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Links a blob to `repo` (creating the repository) without storing bytes (a mount
    /// or a copy): the blob must be live, else [`crate::Error::BlobChanged`]. A digest
    /// never seen before is recorded (for tests and imports that stored the bytes).
    async fn link_blob(&self, repo: &RepositoryName, digest: &Digest, size: u64) -> Result<()>;

    /// Removes the link between `repo` and `digest`; false if there was none.
    async fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool>;

    /// Records a new upload session.
    async fn create_upload(&self, session: &UploadSession) -> Result<()>;

    /// Reads an upload session of `repo`.
    async fn upload(&self, repo: &RepositoryName, id: &UploadId) -> Result<Option<UploadSession>>;

    /// Claims an upload session for one request, optionally only at `expected_offset`.
    async fn claim_upload(
        &self,
        repo: &RepositoryName,
        id: &UploadId,
        lease: &Lease,
        expected_offset: Option<u64>,
    ) -> Result<Claim>;

    /// Extends a lease we hold; false if it was lost.
    async fn renew_upload(&self, id: &UploadId, lease: &Lease) -> Result<bool>;

    /// Saves progress and releases the lease; false if the lease was lost.
    async fn save_upload(
        &self,
        id: &UploadId,
        token: &str,
        offset: u64,
        hash_state: &[u8],
        store_state: &str,
    ) -> Result<bool>;

    /// Releases a lease without saving progress.
    async fn release_upload(&self, id: &UploadId, token: &str) -> Result<()>;

    /// Releases every upload lease whose token starts with `<owner>.` (the leases of a
    /// process that is gone, or of this one as it stops); returns how many.
    async fn release_uploads_of(&self, owner: &str) -> Result<u64>;

    /// Deletes an upload session; false if there was none.
    async fn delete_upload(&self, id: &UploadId) -> Result<bool>;

    /// Records the blob an upload produced, links it to `repo` and deletes the upload
    /// session (if any), in one transaction. `seen_version` is the blob row's version
    /// read (by [`MetadataStore::blob_version`]) before the bytes were committed; if
    /// garbage collection marked the row since, nothing changes and the call fails with
    /// [`crate::Error::BlobChanged`].
    async fn finish_upload(
        &self,
        id: Option<&UploadId>,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        seen_version: i64,
    ) -> Result<()>;

    /// Records a manifest (idempotently) and points `tags` at it, in one transaction.
    /// Fails with [`crate::Error::ManifestBlobUnknown`] if a referenced blob is not linked
    /// to the repository or a referenced manifest is not in it.
    async fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &NewManifest,
        tags: &[Tag],
    ) -> Result<()> {
        self.put_manifest_emitting(repo, manifest, tags, &[]).await
    }

    /// [`MetadataStore::put_manifest`], appending `events` to the outbox in the same
    /// transaction.
    async fn put_manifest_emitting(
        &self,
        repo: &RepositoryName,
        manifest: &NewManifest,
        tags: &[Tag],
        events: &[NewEvent],
    ) -> Result<()>;

    /// Looks a manifest up by tag or digest.
    async fn manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<StoredManifest>>;

    /// Deletes a manifest and every tag pointing at it; false if it did not exist.
    async fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool> {
        self.delete_manifest_emitting(repo, digest, &[]).await
    }

    /// [`MetadataStore::delete_manifest`], appending `events` to the outbox in the same
    /// transaction if the manifest existed.
    async fn delete_manifest_emitting(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        events: &[NewEvent],
    ) -> Result<bool>;

    /// Deletes one tag, leaving the manifest; false if it did not exist.
    async fn delete_tag(&self, repo: &RepositoryName, tag: &Tag) -> Result<bool> {
        self.delete_tag_emitting(repo, tag, &[]).await
    }

    /// [`MetadataStore::delete_tag`], appending `events` to the outbox in the same
    /// transaction if the tag existed.
    async fn delete_tag_emitting(
        &self,
        repo: &RepositoryName,
        tag: &Tag,
        events: &[NewEvent],
    ) -> Result<bool>;

    /// Tags of a repository in lexical order after `last`, at most `limit`;
    /// `None` if the repository does not exist.
    async fn tags(
        &self,
        repo: &RepositoryName,
        last: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>>;

    /// Manifests in `repo` whose subject is `subject`, optionally of one artifact type.
    async fn referrers(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>>;

    /// Names of repositories holding at least one manifest, in lexical order after `last`.
    async fn repositories(&self, last: Option<&str>, limit: usize) -> Result<Vec<String>>;

    /// One page of repository records (repositories holding at least one manifest, in a
    /// project that exists) matching `query`, and the number of matches.
    async fn repository_records(
        &self,
        query: &RepositoryQuery,
        page: Page,
    ) -> Result<(Vec<RepositoryRecord>, u64)>;

    /// The record of one repository, if it holds at least one manifest and its project
    /// exists.
    async fn repository_record(&self, repo: &RepositoryName) -> Result<Option<RepositoryRecord>>;

    /// When a repository was created (ms), if it exists: one row, none of the counting
    /// [`repository_record`](Self::repository_record) does.
    async fn repository_created_ms(&self, repo: &RepositoryName) -> Result<Option<i64>>;

    /// Sets a repository's description; fails with [`Error::NotFound`](crate::Error::NotFound)
    /// if there is no such repository.
    async fn set_repository_description(
        &self,
        repo: &RepositoryName,
        description: &str,
    ) -> Result<()> {
        self.set_repository_description_emitting(repo, description, &[])
            .await
    }

    /// [`set_repository_description`](Self::set_repository_description), appending
    /// `events` in its transaction.
    async fn set_repository_description_emitting(
        &self,
        repo: &RepositoryName,
        description: &str,
        events: &[NewEvent],
    ) -> Result<()>;

    /// Deletes a repository with its manifests, tags and blob links, in one transaction;
    /// false if it did not exist. Blobs themselves stay for garbage collection.
    async fn delete_repository(&self, repo: &RepositoryName) -> Result<bool> {
        self.delete_repository_emitting(repo, &[]).await
    }

    /// [`MetadataStore::delete_repository`], appending `events` to the outbox in the same
    /// transaction if the repository existed.
    async fn delete_repository_emitting(
        &self,
        repo: &RepositoryName,
        events: &[NewEvent],
    ) -> Result<bool>;

    /// Adds pulls to repositories' pull counts (and moves their update time, as Harbor
    /// does), in one transaction. Repositories that no longer exist are skipped.
    async fn add_pulls(&self, pulls: &[(RepositoryName, u64)]) -> Result<()>;

    // --- Artifacts and tags for the REST API (`sql/artifacts.rs`).

    /// One page of a repository's top-level artifacts (not index children, not
    /// accessories) matching `query`, and the number of matches.
    async fn artifacts(
        &self,
        repo: &RepositoryName,
        query: &crate::artifact::ArtifactQuery,
        page: Page,
    ) -> Result<(Vec<crate::artifact::ArtifactRecord>, u64)>;

    /// One artifact of a repository by tag or digest.
    async fn artifact(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<crate::artifact::ArtifactRecord>>;

    /// The tags of the given artifacts, in one query, ordered by artifact then name.
    async fn artifact_tags(&self, artifact_ids: &[i64]) -> Result<Vec<crate::artifact::TagRecord>>;

    /// One page of an artifact's tags (optionally filtered by name), and the total.
    async fn artifact_tag_page(
        &self,
        artifact_id: i64,
        name: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<crate::artifact::TagRecord>, u64)>;

    /// The accessories of the given subjects of one repository, in one query: manifests
    /// whose `subject` is a subject's digest, and manifests tagged
    /// `<alg>-<hex>.sig|.att|.sbom` after a subject's digest.
    async fn accessories(
        &self,
        repository_id: i64,
        subjects: &[(i64, Digest)],
    ) -> Result<Vec<crate::artifact::AccessoryRecord>>;

    /// The row ids of the manifests of repository `repository_id` with these digests
    /// (those it holds), in one query: the `child_id`s of an index's references.
    async fn manifest_ids(
        &self,
        repository_id: i64,
        digests: &[Digest],
    ) -> Result<Vec<(Digest, i64)>>;

    /// Digests of the manifests of `repo` that list `digest` as an index child.
    async fn manifest_parents(&self, repo: &RepositoryName, digest: &Digest)
    -> Result<Vec<Digest>>;

    /// Creates a tag on an artifact; [`Error::Conflict`](crate::Error::Conflict) if the
    /// repository has a tag of that name already.
    async fn create_tag(&self, repo: &RepositoryName, artifact_id: i64, tag: &Tag) -> Result<()> {
        self.create_tag_emitting(repo, artifact_id, tag, &[]).await
    }

    /// [`MetadataStore::create_tag`], appending `events` to the outbox in the same
    /// transaction.
    async fn create_tag_emitting(
        &self,
        repo: &RepositoryName,
        artifact_id: i64,
        tag: &Tag,
        events: &[NewEvent],
    ) -> Result<()>;

    /// Adds pull counts and records last pull times of manifests and tags, all in one
    /// transaction. Repositories, manifests and tags that no longer exist are skipped.
    async fn record_pulls(&self, pulls: &[crate::artifact::RepositoryPulls]) -> Result<()> {
        self.record_pulls_emitting(pulls, &[]).await
    }

    /// [`MetadataStore::record_pulls`], appending `events` (pull events) to the outbox in
    /// the same transaction.
    async fn record_pulls_emitting(
        &self,
        pulls: &[crate::artifact::RepositoryPulls],
        events: &[NewEvent],
    ) -> Result<()>;
}

/// Users, projects, members, robot accounts, web sessions, the audit log and the shared
/// token-signing key.
///
/// Unique keys (usernames, e-mails, project names, memberships, robot names) are enforced
/// by the store: a duplicate fails with [`Error::Conflict`](crate::Error::Conflict).
/// Updates and deletes of missing records fail with
/// [`Error::NotFound`](crate::Error::NotFound). Listings return one page and the total
/// number of matches.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Creates a user.
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.create_user_emitting(user, &[]).await
    }
    /// [`IdentityStore::create_user`], appending `events` in its transaction.
    async fn create_user_emitting(&self, user: &NewUser, events: &[NewEvent]) -> Result<User>;
    /// The user with this id.
    async fn user(&self, id: i64) -> Result<Option<User>>;
    /// The user with this username.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// One page of users ordered by id, and the number of matches.
    async fn users(&self, query: &UserQuery, page: Page) -> Result<(Vec<User>, u64)>;
    /// Number of users (0 before bootstrap).
    async fn user_count(&self) -> Result<u64>;
    /// Changes profile fields.
    async fn update_user(&self, id: i64, update: &UserUpdate) -> Result<User> {
        self.update_user_emitting(id, update, &[]).await
    }
    /// [`IdentityStore::update_user`], appending `events` in its transaction.
    async fn update_user_emitting(
        &self,
        id: i64,
        update: &UserUpdate,
        events: &[NewEvent],
    ) -> Result<User>;
    /// Replaces the password hash (and ends the user's web sessions).
    async fn set_password(&self, id: i64, password_hash: &str) -> Result<()> {
        self.set_password_emitting(id, password_hash, &[]).await
    }
    /// [`IdentityStore::set_password`], appending `events` in its transaction.
    async fn set_password_emitting(
        &self,
        id: i64,
        password_hash: &str,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Grants or revokes system administration.
    async fn set_sysadmin(&self, id: i64, sysadmin: bool) -> Result<()> {
        self.set_sysadmin_emitting(id, sysadmin, &[]).await
    }
    /// [`IdentityStore::set_sysadmin`], appending `events` in its transaction.
    async fn set_sysadmin_emitting(
        &self,
        id: i64,
        sysadmin: bool,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Records whether the user is a system administrator through the sign-in mode's
    /// administrators' group (kept apart from the grant of [`IdentityStore::set_sysadmin`]:
    /// a user is an administrator with either). Whether it changed; nothing is written
    /// when it did not.
    async fn set_group_admin_emitting(
        &self,
        id: i64,
        admin: bool,
        events: &[NewEvent],
    ) -> Result<bool>;
    /// Deletes a user with their memberships and sessions.
    async fn delete_user(&self, id: i64) -> Result<()> {
        self.delete_user_emitting(id, &[]).await
    }
    /// [`IdentityStore::delete_user`], appending `events` in its transaction.
    async fn delete_user_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;

    /// Creates a project with the configured default quota and makes its owner a project
    /// admin, in one transaction.
    async fn create_project(&self, name: &str, owner_id: i64, public: bool) -> Result<Project> {
        let new = NewProject {
            name: name.to_owned(),
            owner_id,
            public,
            ..NewProject::default()
        };
        self.create_project_emitting(&new, &[]).await
    }
    /// Creates a project with its metadata, its quota (`storage_limit`, else the
    /// configured default) and its owner as project admin, and appends `events` to the
    /// outbox, in one transaction.
    async fn create_project_emitting(
        &self,
        project: &NewProject,
        events: &[NewEvent],
    ) -> Result<Project>;
    /// The project with this id.
    async fn project(&self, id: i64) -> Result<Option<Project>>;
    /// The project with this name.
    async fn project_by_name(&self, name: &str) -> Result<Option<Project>>;
    /// One page of projects ordered by name, and the number of matches.
    async fn projects(&self, query: &ProjectQuery, page: Page) -> Result<(Vec<Project>, u64)>;
    /// Makes a project public or private.
    async fn set_project_public(&self, id: i64, public: bool) -> Result<Project>;
    /// Changes a project's metadata in one transaction: `public` if given, the keys of
    /// `set` set, those in `remove` removed, the others kept.
    async fn update_project_metadata(
        &self,
        id: i64,
        public: Option<bool>,
        set: &std::collections::BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<Project> {
        self.update_project_metadata_emitting(id, public, set, remove, &[])
            .await
    }
    /// [`IdentityStore::update_project_metadata`], appending `events` in its transaction.
    async fn update_project_metadata_emitting(
        &self,
        id: i64,
        public: Option<bool>,
        set: &std::collections::BTreeMap<String, String>,
        remove: &[String],
        events: &[NewEvent],
    ) -> Result<Project>;
    /// Deletes a project with its members and robots.
    async fn delete_project(&self, id: i64) -> Result<()> {
        self.delete_project_emitting(id, &[]).await
    }
    /// [`IdentityStore::delete_project`], appending `events` in its transaction.
    async fn delete_project_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// Repositories in a project (repositories named `<project>/...`).
    async fn project_repository_count(&self, name: &str) -> Result<u64>;
    /// Repositories holding at least one artifact, of each of the projects `ids`, in one
    /// query (projects with none are left out).
    async fn project_repository_counts(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, u64>>;
    /// Repository and member counts of a project.
    async fn project_summary(&self, project: &Project) -> Result<ProjectSummary>;

    /// Adds a member; a user holds at most one membership per project.
    async fn add_member(&self, project_id: i64, user_id: i64, role: Role) -> Result<Member> {
        self.add_member_emitting(project_id, user_id, role, &[])
            .await
    }
    /// [`IdentityStore::add_member`], appending `events` in its transaction.
    async fn add_member_emitting(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member>;
    /// One membership of a project.
    async fn member(&self, project_id: i64, member_id: i64) -> Result<Option<Member>>;
    /// One page of a project's members ordered by id (filtered by username), and the
    /// number of matches.
    async fn members(
        &self,
        project_id: i64,
        username: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<Member>, u64)>;
    /// Changes a member's role.
    async fn set_member_role(&self, project_id: i64, member_id: i64, role: Role) -> Result<()> {
        self.set_member_role_emitting(project_id, member_id, role, &[])
            .await
    }
    /// [`IdentityStore::set_member_role`], appending `events` in its transaction.
    async fn set_member_role_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Removes a membership.
    async fn delete_member(&self, project_id: i64, member_id: i64) -> Result<()> {
        self.delete_member_emitting(project_id, member_id, &[])
            .await
    }
    /// [`IdentityStore::delete_member`], appending `events` in its transaction.
    async fn delete_member_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Makes a user group a member; a group holds at most one membership per project.
    async fn add_group_member_emitting(
        &self,
        project_id: i64,
        group_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member>;
    /// The roles a user holds in a project, their own and those of their groups, without
    /// repeats and the highest first ([`Role::strongest_first`]); empty for non-members.
    /// One query.
    async fn roles(&self, project_id: i64, user_id: i64) -> Result<Vec<Role>>;
    /// The roles a user holds, directly or through groups, in each of `project_ids` (in
    /// one query, for listings): `(project_id, role)` pairs; projects without a
    /// membership are absent.
    async fn roles_in_projects(
        &self,
        user_id: i64,
        project_ids: &[i64],
    ) -> Result<Vec<(i64, Role)>>;

    /// Creates a robot account.
    async fn create_robot(&self, robot: &NewRobot) -> Result<Robot> {
        self.create_robot_emitting(robot, &[]).await
    }
    /// [`IdentityStore::create_robot`], appending `events` in its transaction.
    async fn create_robot_emitting(&self, robot: &NewRobot, events: &[NewEvent]) -> Result<Robot>;
    /// The robot with this id.
    async fn robot(&self, id: i64) -> Result<Option<Robot>>;
    /// The robot with this stored name.
    async fn robot_by_name(&self, name: &str) -> Result<Option<Robot>>;
    /// One page of robots ordered by id, and the number of matches.
    async fn robots(&self, query: &RobotQuery, page: Page) -> Result<(Vec<Robot>, u64)>;
    /// Changes a robot's fields.
    async fn update_robot(&self, id: i64, update: &RobotUpdate) -> Result<Robot> {
        self.update_robot_emitting(id, update, &[]).await
    }
    /// [`IdentityStore::update_robot`], appending `events` in its transaction.
    async fn update_robot_emitting(
        &self,
        id: i64,
        update: &RobotUpdate,
        events: &[NewEvent],
    ) -> Result<Robot>;
    /// Replaces a robot's secret hash.
    async fn set_robot_secret(&self, id: i64, secret_hash: &str) -> Result<()> {
        self.set_robot_secret_emitting(id, secret_hash, &[]).await
    }
    /// [`IdentityStore::set_robot_secret`], appending `events` in its transaction.
    async fn set_robot_secret_emitting(
        &self,
        id: i64,
        secret_hash: &str,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Deletes a robot.
    async fn delete_robot(&self, id: i64) -> Result<()> {
        self.delete_robot_emitting(id, &[]).await
    }
    /// [`IdentityStore::delete_robot`], appending `events` in its transaction.
    async fn delete_robot_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;

    /// Creates a user group; a name taken within its type (or a DN taken among LDAP
    /// groups) is a conflict.
    async fn create_group_emitting(
        &self,
        group: &NewUserGroup,
        events: &[NewEvent],
    ) -> Result<UserGroup>;
    /// The group with this id.
    async fn group(&self, id: i64) -> Result<Option<UserGroup>>;
    /// The groups with these ids that exist, ordered by id, each once (one query per
    /// few hundred ids).
    async fn groups_by_ids(&self, ids: &[i64]) -> Result<Vec<UserGroup>>;
    /// One page of groups ordered by id, and the number of matches.
    async fn groups(&self, query: &GroupQuery, page: Page) -> Result<(Vec<UserGroup>, u64)>;
    /// Renames a group.
    async fn rename_group_emitting(
        &self,
        id: i64,
        name: &str,
        events: &[NewEvent],
    ) -> Result<UserGroup>;
    /// Deletes a group with its project memberships and its users' memberships, in one
    /// transaction.
    async fn delete_group_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// The groups of `group_type` named in `groups` (`(name, dn)` pairs; the DN is the
    /// key of LDAP groups, the name of the others), created when missing; their ids in
    /// the order given. For the sign-in modes.
    async fn ensure_groups(
        &self,
        group_type: GroupType,
        groups: &[(String, String)],
    ) -> Result<Vec<i64>>;
    /// The groups a user belongs to, ordered by id.
    async fn user_groups(&self, user_id: i64) -> Result<Vec<UserGroup>>;
    /// Replaces a user's group memberships with `group_ids`, in one transaction.
    async fn set_user_groups_emitting(
        &self,
        user_id: i64,
        group_ids: &[i64],
        events: &[NewEvent],
    ) -> Result<()>;

    /// Stores a web session.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// The unexpired session with this id hash.
    async fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;

    /// Appends audit entries.
    async fn record_audit(&self, entries: &[NewAuditEntry]) -> Result<()>;
    /// One page of audit entries, newest first, and the number of matches.
    async fn audit_log(&self, query: &AuditQuery, page: Page) -> Result<(Vec<AuditEntry>, u64)>;
    /// Deletes (with `dry_run`, only counts) audit entries older than `before_ms` whose
    /// operation is one of `operations`, in bounded batches; returns how many.
    async fn purge_audit(
        &self,
        before_ms: i64,
        operations: &[String],
        dry_run: bool,
    ) -> Result<u64>;

    /// The token-signing key every replica shares: stores `candidate` if no key is stored
    /// yet, and returns the stored key (`candidate` or the one stored before).
    async fn signing_key(&self, candidate: &[u8]) -> Result<Vec<u8>>;
    /// Replaces the stored signing key with `new` if it is still `old` (to seal a key an
    /// older version stored in clear, or to re-seal it under a new secret key); false if
    /// another replica changed it first.
    async fn replace_signing_key(&self, old: &[u8], new: &[u8]) -> Result<bool>;

    /// System settings changed at run time (such as `read_only`), shared by every
    /// replica: `(name, JSON value)` pairs in name order.
    async fn settings(&self) -> Result<Vec<(String, String)>>;
    /// Stores settings (each inserted or replaced), all in one transaction.
    async fn put_settings(&self, settings: &[(String, String)]) -> Result<()>;
}

/// Counters of failed sign-ins, shared by every replica through the database, so that
/// the login throttle (`harbor_auth::throttle`) holds across a cluster.
#[async_trait]
pub trait LoginFailureStore: Send + Sync + 'static {
    /// The counters of `keys` that exist.
    async fn login_failures(&self, keys: &[String]) -> Result<Vec<crate::identity::LoginFailures>>;
    /// Counts one failure at `now_ms` under each key, in one transaction; a counter whose
    /// last failure is older than `reset_before_ms` starts again at 1.
    async fn record_login_failure(
        &self,
        keys: &[String],
        now_ms: i64,
        reset_before_ms: i64,
    ) -> Result<()>;
    /// Forgets the counters of `keys`.
    async fn clear_login_failures(&self, keys: &[String]) -> Result<()>;
    /// Deletes counters whose last failure is older than `before_ms`; returns how many.
    async fn purge_login_failures(&self, before_ms: i64) -> Result<u64>;
}
