//! Artifacts and tags for the REST API (`migrations/*/0005_artifacts.sql`): listings with
//! filters, sort and pages, tags and accessories of many artifacts at once, tag creation,
//! index parents, and batched pull counts with per-manifest and per-tag pull times.
//!
//! A listing page is one query (the page is picked on narrow rows, the total rides along
//! as `COUNT(*) OVER ()`, and only the page's rows are joined for content and sizes; a
//! page past the end costs a second `COUNT`); the tags of a whole page are one more
//! query, and so are its accessories.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use harbor_core::artifact::{
    AccessoryRecord, ArtifactQuery, ArtifactRecord, ArtifactSortKey, RepositoryPulls, TagFilter,
    TagRecord, cosign_tag, media_types_of_kind, subject_accessory_kind,
};
use harbor_core::events::NewEvent;
use harbor_core::identity::{Match, Page};
use harbor_core::model::now_ms;
use harbor_core::{Digest, Error, Reference, RepositoryName, Result, Tag};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use super::{SqlMetadataStore, placeholders, to_i64, to_u64};
use crate::error::internal;

/// Ids per `IN (...)` list.
const BATCH: usize = 300;

/// Harbor's artifact size of manifest `m`: the manifest, plus the blobs it references,
/// plus (for an index) the same for each child in the repository. `CAST` because
/// PostgreSQL sums `BIGINT`s into `NUMERIC`.
fn size_of(m: &str) -> String {
    let blobs = |x: &str, r: &str, b: &str| {
        format!(
            "COALESCE((SELECT SUM({b}.size) FROM manifest_references {r} \
             JOIN blobs {b} ON {b}.digest = {r}.digest \
             WHERE {r}.manifest_id = {x}.id AND {r}.kind = 0), 0)"
        )
    };
    format!(
        "CAST({m}.size + {own} + COALESCE((SELECT SUM(c.size + {child}) \
         FROM manifest_references cr JOIN manifests c \
         ON c.repository_id = {m}.repository_id AND c.digest = cr.digest \
         WHERE cr.manifest_id = {m}.id AND cr.kind = 1), 0) AS BIGINT)",
        own = blobs(m, "mb", "b"),
        child = blobs("c", "ccr", "cb"),
    )
}

/// Manifests listed as artifacts: not accessories (no `subject`, no cosign-style tag),
/// and tagged or not the child of an index in the same repository (as Harbor lists).
const TOP_LEVEL: &str = "m.subject IS NULL \
     AND NOT EXISTS (SELECT 1 FROM tags ct WHERE ct.manifest_id = m.id \
       AND ct.name LIKE 'sha256-%' \
       AND ((LENGTH(ct.name) = 75 AND (ct.name LIKE '%.sig' OR ct.name LIKE '%.att')) \
         OR (LENGTH(ct.name) = 76 AND ct.name LIKE '%.sbom'))) \
     AND (EXISTS (SELECT 1 FROM tags tt WHERE tt.manifest_id = m.id) \
       OR NOT EXISTS (SELECT 1 FROM manifest_references pr \
         JOIN manifests pm ON pm.id = pr.manifest_id \
         WHERE pr.digest = m.digest AND pr.kind = 1 AND pm.repository_id = m.repository_id))";

fn columns() -> String {
    format!(
        "m.id, m.repository_id, r.project_id, r.name, m.digest, m.media_type, m.artifact_type, \
         m.subject, {} AS total_size, m.annotations, m.content, m.created_at, m.pulled_at",
        size_of("m")
    )
}

fn record(row: &AnyRow) -> Result<ArtifactRecord> {
    let digest: String = row.try_get(4).map_err(internal)?;
    let subject: Option<String> = row.try_get(7).map_err(internal)?;
    let annotations: Option<String> = row.try_get(9).map_err(internal)?;
    let content: Vec<u8> = row.try_get(10).map_err(internal)?;
    Ok(ArtifactRecord {
        id: row.try_get(0).map_err(internal)?,
        repository_id: row.try_get(1).map_err(internal)?,
        project_id: row.try_get(2).map_err(internal)?,
        repository_name: row.try_get(3).map_err(internal)?,
        digest: Digest::parse(&digest)?,
        manifest_media_type: row.try_get(5).map_err(internal)?,
        artifact_type: row.try_get(6).map_err(internal)?,
        subject: subject.as_deref().map(Digest::parse).transpose()?,
        size: to_u64(row.try_get(8).map_err(internal)?)?,
        annotations: match annotations {
            Some(json) => serde_json::from_str::<BTreeMap<String, String>>(&json)
                .map_err(|e| Error::internal(e.to_string()))?,
            None => BTreeMap::new(),
        },
        content: Bytes::from(content),
        pushed_ms: row.try_get(11).map_err(internal)?,
        pulled_ms: row.try_get(12).map_err(internal)?,
    })
}

/// A value bound to a placeholder.
enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause under construction (conditions AND-ed, values bound in order).
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// A condition around the placeholder of one value.
    fn with(&mut self, a: Arg, cond: impl FnOnce(&str) -> String) {
        let p = self.arg(a);
        self.sql.push(cond(&p));
    }

    fn raw(&mut self, cond: &str) {
        self.sql.push(cond.to_owned());
    }

    /// `expr = v`, or a case-insensitive substring match.
    fn matches(&mut self, expr: &str, m: &Match) {
        match m {
            Match::Exact(v) => self.with(Arg::Text(v.clone()), |p| format!("{expr} = {p}")),
            Match::Fuzzy(v) => self.with(Arg::Text(contains(v)), |p| {
                format!("LOWER({expr}) LIKE {p} ESCAPE '\\'")
            }),
        }
    }

    fn clause(&self) -> String {
        self.sql.join(" AND ")
    }

    fn bind<'q>(&self, mut q: Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments> {
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// A `LIKE` pattern (`ESCAPE '\'`) for values containing `needle`, ASCII-folded.
fn contains(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c.to_ascii_lowercase());
    }
    out.push('%');
    out
}

/// `ORDER BY` terms: the requested keys (default: newest push first), then the id in the
/// direction of the last key so that pages never overlap.
fn order(sort: &[(ArtifactSortKey, bool)]) -> String {
    let default = [(ArtifactSortKey::PushTime, true)];
    let keys = if sort.is_empty() { &default[..] } else { sort };
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let mut terms: Vec<String> = keys
        .iter()
        .map(|(k, desc)| {
            let col = match k {
                ArtifactSortKey::PushTime => "m.created_at",
                ArtifactSortKey::PullTime => "COALESCE(m.pulled_at, 0)",
                ArtifactSortKey::Digest => "m.digest",
                ArtifactSortKey::Size => "",
            };
            if col.is_empty() {
                format!("{SIZE_SORT} {}", dir(*desc))
            } else {
                format!("{col} {}", dir(*desc))
            }
        })
        .collect();
    let last = keys.last().is_some_and(|(_, desc)| *desc);
    terms.push(format!("m.id {}", dir(last)));
    terms.join(", ")
}

/// Sorting by size computes every candidate's size: rather than correlated subqueries per
/// manifest, the blob sums and child sums of the repository's manifests are aggregated
/// once (`WITH` tables joined in by [`SIZE_JOINS`]; `$1` is the repository name).
const SIZE_SORT: &str = "(m.size + COALESCE(bs.bsum, 0) + COALESCE(cs.csum, 0))";
const SIZE_WITH: &str = "WITH bs AS (SELECT mr.manifest_id AS mid, SUM(b.size) AS bsum \
       FROM repositories rr JOIN manifests mm ON mm.repository_id = rr.id \
       JOIN manifest_references mr ON mr.manifest_id = mm.id AND mr.kind = 0 \
       JOIN blobs b ON b.digest = mr.digest WHERE rr.name = $1 GROUP BY mr.manifest_id), \
     cs AS (SELECT cr.manifest_id AS mid, SUM(c.size + COALESCE(cb.bsum, 0)) AS csum \
       FROM repositories rr JOIN manifests pm ON pm.repository_id = rr.id \
       JOIN manifest_references cr ON cr.manifest_id = pm.id AND cr.kind = 1 \
       JOIN manifests c ON c.repository_id = rr.id AND c.digest = cr.digest \
       LEFT JOIN bs cb ON cb.mid = c.id WHERE rr.name = $1 GROUP BY cr.manifest_id) ";
const SIZE_JOINS: &str = " LEFT JOIN bs ON bs.mid = m.id LEFT JOIN cs ON cs.mid = m.id";

fn conditions(repo: &RepositoryName, q: &ArtifactQuery) -> Conditions {
    let mut c = Conditions::default();
    c.with(Arg::Text(repo.as_str().to_owned()), |p| {
        format!("r.name = {p}")
    });
    c.raw(TOP_LEVEL);
    match &q.tags {
        None => {}
        Some(TagFilter::Tagged) => {
            c.raw("EXISTS (SELECT 1 FROM tags ft WHERE ft.manifest_id = m.id)")
        }
        Some(TagFilter::Untagged) => {
            c.raw("NOT EXISTS (SELECT 1 FROM tags ft WHERE ft.manifest_id = m.id)")
        }
        Some(TagFilter::Name(Match::Exact(v))) => c.with(Arg::Text(v.clone()), |p| {
            format!("EXISTS (SELECT 1 FROM tags ft WHERE ft.manifest_id = m.id AND ft.name = {p})")
        }),
        Some(TagFilter::Name(Match::Fuzzy(v))) => c.with(Arg::Text(contains(v)), |p| {
            format!(
                "EXISTS (SELECT 1 FROM tags ft WHERE ft.manifest_id = m.id \
                 AND LOWER(ft.name) LIKE {p} ESCAPE '\\')"
            )
        }),
    }
    if let Some(d) = &q.digest {
        c.matches("m.digest", d);
    }
    if let Some(t) = &q.media_type {
        c.matches("COALESCE(m.artifact_type, m.media_type)", t);
    }
    if let Some(kind) = &q.kind {
        let kind = kind.to_ascii_uppercase();
        match media_types_of_kind(&kind) {
            Some(types) => {
                let ps: Vec<String> = types
                    .iter()
                    .map(|t| c.arg(Arg::Text((*t).to_owned())))
                    .collect();
                c.raw(&format!(
                    "COALESCE(m.artifact_type, m.media_type) IN ({})",
                    ps.join(", ")
                ));
            }
            None => {
                let pattern = format!(
                    "application/vnd.%.{}.config.%+json",
                    kind.to_ascii_lowercase().replace(['%', '_', '\\'], "")
                );
                c.with(Arg::Text(pattern), |p| {
                    format!("LOWER(m.artifact_type) LIKE {p}")
                });
            }
        }
    }
    for id in &q.label_ids {
        c.with(Arg::Int(*id), |p| super::labels::with_label("m", p));
    }
    for (expr, op, v) in [
        ("m.created_at", ">=", q.pushed_from_ms),
        ("m.created_at", "<=", q.pushed_to_ms),
        ("m.pulled_at", ">=", q.pulled_from_ms),
        ("m.pulled_at", "<=", q.pulled_to_ms),
    ] {
        if let Some(v) = v {
            c.with(Arg::Int(v), |p| format!("{expr} {op} {p}"));
        }
    }
    c
}

const FROM: &str = "FROM manifests m JOIN repositories r ON r.id = m.repository_id";

pub(super) async fn list(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    query: &ArtifactQuery,
    page: Page,
) -> Result<(Vec<ArtifactRecord>, u64)> {
    let c = conditions(repo, query);
    let n = c.args.len();
    // The page is chosen on narrow rows (ids, sort keys, the total); only its rows are
    // then joined for their content and sizes.
    let by_size = query.sort.iter().any(|(k, _)| *k == ArtifactSortKey::Size);
    let (with, joins) = if by_size {
        (SIZE_WITH, SIZE_JOINS)
    } else {
        ("", "")
    };
    let sql = format!(
        "{with}SELECT {}, page.total FROM (\
           SELECT m.id AS pid, COUNT(*) OVER () AS total, \
             ROW_NUMBER() OVER (ORDER BY {order}) AS rn \
           {FROM}{joins} WHERE {} ORDER BY {order} LIMIT ${} OFFSET ${}\
         ) page JOIN manifests m ON m.id = page.pid \
         JOIN repositories r ON r.id = m.repository_id ORDER BY page.rn",
        columns(),
        c.clause(),
        n + 1,
        n + 2,
        order = order(&query.sort),
    );
    let count = format!("SELECT COUNT(*) {FROM} WHERE {}", c.clause());
    windowed(s, &c, sql, count, 13, page, record).await
}

/// Runs a page query (`LIMIT`/`OFFSET` bound after `c`'s arguments) whose rows carry the
/// number of matches (`COUNT(*) OVER ()`) in column `total_col`. A page past the end has
/// no row to carry it, and costs one more query: `count_sql`.
async fn windowed<T>(
    s: &SqlMetadataStore,
    c: &Conditions,
    sql: String,
    count_sql: String,
    total_col: usize,
    page: Page,
    map: impl Fn(&AnyRow) -> Result<T>,
) -> Result<(Vec<T>, u64)> {
    let rows = c
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .bind(i64::try_from(page.page_size).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    let items = rows.iter().map(map).collect::<Result<Vec<_>>>()?;
    let total = match rows.first() {
        Some(row) => to_u64(row.try_get(total_col).map_err(internal)?)?,
        None if page.offset() == 0 => 0,
        None => {
            let row = c
                .bind(sqlx::query(AssertSqlSafe(count_sql)))
                .fetch_one(&s.read)
                .await
                .map_err(internal)?;
            to_u64(row.try_get(0).map_err(internal)?)?
        }
    };
    Ok((items, total))
}

pub(super) async fn get(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    reference: &Reference,
) -> Result<Option<ArtifactRecord>> {
    let row = match reference {
        Reference::Digest(d) => {
            let sql = format!(
                "SELECT {} {FROM} WHERE r.name = $1 AND m.digest = $2",
                columns()
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(repo.as_str())
                .bind(d.as_str())
                .fetch_optional(&s.read)
                .await
        }
        Reference::Tag(t) => {
            let sql = format!(
                "SELECT {} {FROM} JOIN tags t ON t.manifest_id = m.id \
                 WHERE r.name = $1 AND t.repository_id = r.id AND t.name = $2",
                columns()
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(repo.as_str())
                .bind(t.as_str())
                .fetch_optional(&s.read)
                .await
        }
    }
    .map_err(internal)?;
    row.as_ref().map(record).transpose()
}

const TAG_COLUMNS: &str = "t.id, t.repository_id, t.manifest_id, t.name, t.updated_at, t.pulled_at";

fn tag(row: &AnyRow) -> Result<TagRecord> {
    Ok(TagRecord {
        id: row.try_get(0).map_err(internal)?,
        repository_id: row.try_get(1).map_err(internal)?,
        artifact_id: row.try_get(2).map_err(internal)?,
        name: row.try_get(3).map_err(internal)?,
        pushed_ms: row.try_get(4).map_err(internal)?,
        pulled_ms: row.try_get(5).map_err(internal)?,
    })
}

pub(super) async fn tags_of(s: &SqlMetadataStore, ids: &[i64]) -> Result<Vec<TagRecord>> {
    let mut out = Vec::new();
    for batch in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT {TAG_COLUMNS} FROM tags t WHERE t.manifest_id IN ({}) \
             ORDER BY t.manifest_id, t.name",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in batch {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            out.push(tag(&row)?);
        }
    }
    Ok(out)
}

pub(super) async fn tag_page(
    s: &SqlMetadataStore,
    artifact_id: i64,
    name: Option<&Match>,
    page: Page,
) -> Result<(Vec<TagRecord>, u64)> {
    let mut c = Conditions::default();
    c.with(Arg::Int(artifact_id), |p| format!("t.manifest_id = {p}"));
    if let Some(m) = name {
        c.matches("t.name", m);
    }
    let n = c.args.len();
    let sql = format!(
        "SELECT {TAG_COLUMNS}, COUNT(*) OVER () FROM tags t WHERE {} \
         ORDER BY t.name LIMIT ${} OFFSET ${}",
        c.clause(),
        n + 1,
        n + 2
    );
    let count = format!("SELECT COUNT(*) FROM tags t WHERE {}", c.clause());
    windowed(s, &c, sql, count, 6, page, tag).await
}

/// An accessory as read by [`accessories`]: columns 0 and 2 to 5 of either query.
struct AccessoryRow {
    id: i64,
    subject_id: i64,
    digest: String,
    size: i64,
    artifact_type: Option<String>,
    created_ms: i64,
    /// The cosign tag it was found by (none for an OCI referrer).
    tag: Option<String>,
}

fn accessory_row(row: &AnyRow, subject_id: i64, tag: Option<String>) -> Result<AccessoryRow> {
    Ok(AccessoryRow {
        id: row.try_get(0).map_err(internal)?,
        subject_id,
        digest: row.try_get(2).map_err(internal)?,
        size: row.try_get(3).map_err(internal)?,
        artifact_type: row.try_get(4).map_err(internal)?,
        created_ms: row.try_get(5).map_err(internal)?,
        tag,
    })
}

pub(super) async fn accessories(
    s: &SqlMetadataStore,
    repository_id: i64,
    subjects: &[(i64, Digest)],
) -> Result<Vec<AccessoryRecord>> {
    let mut out: Vec<AccessoryRecord> = Vec::new();
    let mut seen = HashSet::new();
    let size = size_of("a");
    // Two queries per batch, each driven by an index: referrers through
    // `manifests_by_subject`, cosign tags by their exact names through the tags'
    // (repository_id, name) key. (One statement joining tags on names computed from the
    // subjects' digests let SQLite's planner scan every tag of the repository for each
    // subject: seconds per page in a repository of 10,000 artifacts.)
    for batch in subjects.chunks(BATCH) {
        let ids = placeholders(2, batch.len());
        let sql = format!(
            "SELECT a.id, sm.id, a.digest, {size}, a.artifact_type, a.created_at \
             FROM manifests a JOIN manifests sm \
               ON sm.repository_id = a.repository_id AND sm.digest = a.subject \
             WHERE a.repository_id = $1 AND sm.id IN ({ids}) ORDER BY 1"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repository_id);
        for (id, _) in batch {
            q = q.bind(*id);
        }
        let mut rows: Vec<AccessoryRow> = Vec::new();
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            let subject_id = row.try_get(1).map_err(internal)?;
            rows.push(accessory_row(&row, subject_id, None)?);
        }
        // The cosign tags each subject may have, and whose they are.
        let mut by_tag: HashMap<String, i64> = HashMap::new();
        for (id, digest) in batch {
            let stem = digest.as_str().replace(':', "-");
            for suffix in [".sig", ".att", ".sbom"] {
                by_tag.insert(format!("{stem}{suffix}"), *id);
            }
        }
        let names: Vec<&String> = by_tag.keys().collect();
        for chunk in names.chunks(BATCH) {
            let list = placeholders(2, chunk.len());
            let sql = format!(
                "SELECT a.id, t.name, a.digest, {size}, a.artifact_type, a.created_at \
                 FROM tags t JOIN manifests a ON a.id = t.manifest_id \
                 WHERE t.repository_id = $1 AND t.name IN ({list})"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repository_id);
            for name in chunk {
                q = q.bind(name.as_str());
            }
            for row in q.fetch_all(&s.read).await.map_err(internal)? {
                let tag: String = row.try_get(1).map_err(internal)?;
                let Some(subject_id) = by_tag.get(&tag).copied() else {
                    continue;
                };
                rows.push(accessory_row(&row, subject_id, Some(tag))?);
            }
        }
        rows.sort_by_key(|r| (r.id, r.tag.is_some()));
        let digests: HashMap<i64, &Digest> = batch.iter().map(|(id, d)| (*id, d)).collect();
        for r in rows {
            if !seen.insert((r.id, r.subject_id)) {
                continue;
            }
            let Some(subject) = digests.get(&r.subject_id) else {
                continue;
            };
            let kind = match r.tag.as_deref().and_then(cosign_tag) {
                Some((_, kind)) => kind,
                None => subject_accessory_kind(r.artifact_type.as_deref()),
            };
            out.push(AccessoryRecord {
                artifact_id: r.id,
                subject_artifact_id: r.subject_id,
                subject_digest: (*subject).clone(),
                digest: Digest::parse(&r.digest)?,
                size: to_u64(r.size)?,
                kind: kind.to_owned(),
                created_ms: r.created_ms,
            });
        }
    }
    Ok(out)
}

pub(super) async fn parents(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<Vec<Digest>> {
    let rows = sqlx::query(
        "SELECT pm.digest FROM repositories r
         JOIN manifests pm ON pm.repository_id = r.id
         JOIN manifest_references mr ON mr.manifest_id = pm.id
         WHERE r.name = $1 AND mr.digest = $2 AND mr.kind = 1 ORDER BY pm.id",
    )
    .bind(repo.as_str())
    .bind(digest.as_str())
    .fetch_all(&s.read)
    .await
    .map_err(internal)?;
    rows.iter()
        .map(|r| Digest::parse(&r.try_get::<String, _>(0).map_err(internal)?))
        .collect()
}

/// The row ids of the manifests of repository `repository_id` with these digests (those
/// it holds), in one query.
pub(super) async fn manifest_ids(
    s: &SqlMetadataStore,
    repository_id: i64,
    digests: &[Digest],
) -> Result<Vec<(Digest, i64)>> {
    let mut out = Vec::with_capacity(digests.len());
    for batch in digests.chunks(500) {
        let sql = format!(
            "SELECT digest, id FROM manifests WHERE repository_id = $1 AND digest IN ({})",
            placeholders(2, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repository_id);
        for d in batch {
            q = q.bind(d.as_str());
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            let digest = Digest::parse(&row.try_get::<String, _>(0).map_err(internal)?)?;
            out.push((digest, row.try_get(1).map_err(internal)?));
        }
    }
    Ok(out)
}

pub(super) async fn create_tag(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    artifact_id: i64,
    tag: &Tag,
    events: &[NewEvent],
) -> Result<()> {
    let now = now_ms();
    let mut tx = s.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO tags (repository_id, name, manifest_id, updated_at)
         SELECT m.repository_id, $2, m.id, $3 FROM manifests m
         JOIN repositories r ON r.id = m.repository_id
         WHERE m.id = $1 AND r.name = $4
         ON CONFLICT (repository_id, name) DO NOTHING
         RETURNING manifest_id",
    )
    .bind(artifact_id)
    .bind(tag.as_str())
    .bind(now)
    .bind(repo.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal)?;
    if inserted.is_none() {
        return Err(Error::Conflict(format!(
            "tag {tag} already exists under the repository {repo}"
        )));
    }
    sqlx::query("UPDATE repositories SET updated_at = $1 WHERE name = $2")
        .bind(now)
        .bind(repo.as_str())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)
}

pub(super) async fn record_pulls(
    s: &SqlMetadataStore,
    pulls: &[RepositoryPulls],
    events: &[NewEvent],
) -> Result<()> {
    if pulls.is_empty() && events.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let mut tx = s.begin_write().await?;
    for p in pulls {
        let repo = p.repository.as_str();
        if p.count > 0 {
            sqlx::query(
                "UPDATE repositories SET pull_count = pull_count + $1, updated_at = $2 \
                 WHERE name = $3",
            )
            .bind(to_i64(p.count)?)
            .bind(now)
            .bind(repo)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        for (digest, at) in &p.manifests {
            sqlx::query(
                // Never before the push: a wall clock stepped back between the two would
                // otherwise show an artifact pulled before it existed.
                "UPDATE manifests SET \
                 pulled_at = CASE WHEN $1 < created_at THEN created_at ELSE $1 END \
                 WHERE repository_id = (SELECT id FROM repositories WHERE name = $2) \
                 AND digest = $3 AND (pulled_at IS NULL OR pulled_at < $1)",
            )
            .bind(*at)
            .bind(repo)
            .bind(digest.as_str())
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        for (tag, at) in &p.tags {
            sqlx::query(
                "UPDATE tags SET \
                 pulled_at = CASE WHEN $1 < updated_at THEN updated_at ELSE $1 END \
                 WHERE repository_id = (SELECT id FROM repositories WHERE name = $2) \
                 AND name = $3 AND (pulled_at IS NULL OR pulled_at < $1)",
            )
            .bind(*at)
            .bind(repo)
            .bind(tag.as_str())
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
    }
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_break_ties_by_id() {
        assert_eq!(order(&[]), "m.created_at DESC, m.id DESC");
        assert_eq!(
            order(&[(ArtifactSortKey::Size, false)]),
            format!("{SIZE_SORT} ASC, m.id ASC")
        );
        assert_eq!(
            order(&[(ArtifactSortKey::PullTime, true)]),
            "COALESCE(m.pulled_at, 0) DESC, m.id DESC"
        );
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains("A_b%"), "%a\\_b\\%%");
    }
}
