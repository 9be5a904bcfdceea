//! RPM's sqlite database (rpm 4.16 and later): `rpmdb.sqlite`, whose `Packages` table holds
//! one RPM header blob per installed package.

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB, OptionalExtension};
use std::io::Read;

use crate::{Package, PackageKind, ScanError};

/// Where images keep the sqlite rpmdb: the classic path and the newer one (Fedora 36+).
const PATHS: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// The largest `rpmdb.sqlite` read (512 MiB); a larger one is an error.
pub const MAX_RPMDB_BYTES: usize = 512 << 20;

/// The most index entries a header may declare.
const MAX_INDEX_ENTRIES: u32 = 65_536;
/// The largest data store a header may declare (256 MiB).
const MAX_DATA_BYTES: u32 = 256 << 20;
/// One index entry: tag, type, offset, count, each 4 bytes big-endian.
const ENTRY_LEN: usize = 16;
/// The largest header blob: both counts at their limits.
const MAX_HEADER_BYTES: usize =
    8 + MAX_INDEX_ENTRIES as usize * ENTRY_LEN + MAX_DATA_BYTES as usize;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const SQLITE_HEADER_LEN: usize = 100;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_NULL: u32 = 0;
const TYPE_CHAR: u32 = 1;
const TYPE_INT8: u32 = 2;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The name rpm gives the signing keys it imports: entries of the database, not software.
const GPG_PUBKEY: &str = "gpg-pubkey";

/// True for the paths of the sqlite rpmdb (absolute, with a leading `/`).
pub fn matches(path: &str) -> bool {
    PATHS.contains(&path)
}

/// The packages of the sqlite rpmdb `data` found at `path`, sorted, exact duplicates once
/// (multilib pairs differ only in their architecture, which [`Package`] does not keep).
///
/// `version` is `[epoch:]version-release`, the epoch only when present and not 0; `source`
/// and `source_version` come from the `SOURCERPM` tag (`openssl-3.0.7-24.el9.src.rpm`), the
/// latter with the package's epoch, each set only when it differs. `gpg-pubkey` entries are
/// skipped, as are malformed headers unless no header is well-formed.
///
/// The database is read from a copy in memory, read-only. A database in WAL mode is read
/// as if checkpointed: changes still in its `-wal` file are not seen.
///
/// # Errors
///
/// [`ScanError::BadPackageDb`] when `data` exceeds [`MAX_RPMDB_BYTES`], is not an SQLite
/// database, has no `Packages` table with a `blob` column, cannot be read, or when it holds
/// headers and none is well-formed.
pub fn parse_sqlite(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    if data.len() > MAX_RPMDB_BYTES {
        return Err(ScanError::bad_db(
            path,
            format!(
                "{} bytes exceeds the limit of {MAX_RPMDB_BYTES} bytes",
                data.len()
            ),
        ));
    }
    let conn = open(data).map_err(|reason| ScanError::bad_db(path, reason))?;
    check_table(&conn).map_err(|reason| ScanError::bad_db(path, reason))?;
    let read_error =
        |e: rusqlite::Error| ScanError::bad_db(path, format!("reading the Packages table: {e}"));
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(read_error)?;
    let mut rows = stmt.query([]).map_err(read_error)?;

    let mut packages = Vec::new();
    let mut well_formed = 0usize;
    let mut first_error: Option<String> = None;
    let mut ordinal = 0usize;
    while let Some(row) = rows.next().map_err(read_error)? {
        ordinal += 1;
        let header = match row.get_ref(0) {
            Ok(ValueRef::Blob(blob)) => parse_header(blob),
            Ok(other) => Err(format!("a {} value, not a BLOB", other.data_type())),
            Err(e) => Err(e.to_string()),
        };
        match header {
            Ok(header) => {
                well_formed += 1;
                if let Some(package) = header.to_package(path) {
                    packages.push(package);
                }
            }
            Err(reason) => {
                if first_error.is_none() {
                    first_error = Some(format!("header {ordinal}: {reason}"));
                }
            }
        }
    }
    if well_formed == 0
        && let Some(reason) = first_error
    {
        return Err(ScanError::bad_db(
            path,
            format!("no well-formed header; {reason}"),
        ));
    }
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// Opens a read-only in-memory copy of `data`, hardened for an untrusted database.
fn open(data: &[u8]) -> Result<Connection, String> {
    if !data.starts_with(SQLITE_MAGIC) {
        return Err("not an SQLite database (no \"SQLite format 3\" header)".to_string());
    }
    let Some((header, rest)) = data.split_first_chunk::<SQLITE_HEADER_LEN>() else {
        return Err(format!("SQLite database truncated to {} bytes", data.len()));
    };
    // Bytes 18 and 19 are 2 in WAL mode, which SQLite's in-memory VFS cannot open; the
    // `-wal` file is not here anyway, so read the database as a rollback-journal one.
    let mut header = *header;
    for version in &mut header[18..20] {
        if *version == 2 {
            *version = 1;
        }
    }
    let setup = |e: rusqlite::Error| format!("cannot open the SQLite database: {e}");
    let mut conn = Connection::open_in_memory().map_err(setup)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
        .map_err(setup)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        .map_err(setup)?;
    // No value larger than the largest header blob, so no schema can make one.
    let max_value = i32::try_from(MAX_HEADER_BYTES).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, max_value)
        .map_err(setup)?;
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)
        .map_err(setup)?;
    conn.pragma_update(None, "cell_size_check", true)
        .map_err(setup)?;
    conn.deserialize_read_exact(MAIN_DB, (&header[..]).chain(rest), data.len(), true)
        .map_err(setup)?;
    Ok(conn)
}

/// Checks that `Packages` is a plain table with a stored `blob` column, so that reading it
/// runs no view, virtual table or generated-column expression of the database's schema.
fn check_table(conn: &Connection) -> Result<(), String> {
    let object: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT type, sql FROM sqlite_master \
             WHERE type IN ('table', 'view') AND name = 'Packages' COLLATE NOCASE",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(|e| format!("not a readable SQLite database: {e}"))?;
    let Some((kind, sql)) = object else {
        return Err("no Packages table: not an rpm sqlite database".to_string());
    };
    let is_virtual = sql.is_some_and(|sql| {
        sql.trim_start()
            .get(..14)
            .is_some_and(|start| start.eq_ignore_ascii_case("CREATE VIRTUAL"))
    });
    if kind != "table" || is_virtual {
        return Err("Packages is not a plain table: not an rpm sqlite database".to_string());
    }
    let hidden: Option<i64> = conn
        .query_row(
            "SELECT hidden FROM pragma_table_xinfo('Packages') WHERE name = 'blob' COLLATE NOCASE",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| format!("reading the Packages table's columns: {e}"))?;
    match hidden {
        None => {
            Err("the Packages table has no blob column: not an rpm sqlite database".to_string())
        }
        Some(0) => Ok(()),
        Some(_) => Err(
            "the Packages table's blob column is generated: not an rpm sqlite database".to_string(),
        ),
    }
}

/// What a header says about its package.
#[derive(Debug, PartialEq, Eq)]
struct Header<'a> {
    name: &'a str,
    epoch: Option<u32>,
    version: &'a str,
    release: &'a str,
    source_rpm: Option<&'a str>,
}

impl Header<'_> {
    /// The package, or `None` for a `gpg-pubkey` entry.
    fn to_package(&self, path: &str) -> Option<Package> {
        if self.name == GPG_PUBKEY {
            return None;
        }
        let epoch = match self.epoch {
            Some(epoch) if epoch != 0 => format!("{epoch}:"),
            _ => String::new(),
        };
        let version = format!("{epoch}{}-{}", self.version, self.release);
        let mut package = Package::new(PackageKind::Rpm, self.name, version, path);
        if let Some((name, version, release)) = self.source_rpm.and_then(split_source_rpm) {
            if name != package.name {
                package.source = Some(name.to_string());
            }
            let source_version = format!("{epoch}{version}-{release}");
            if source_version != package.version {
                package.source_version = Some(source_version);
            }
        }
        Some(package)
    }
}

/// Splits a source rpm file name (`openssl-3.0.7-24.el9.src.rpm`) into name, version and
/// release; `None` when it is not `name-version-release.src.rpm` (or `.nosrc.rpm`).
fn split_source_rpm(file: &str) -> Option<(&str, &str, &str)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, version, release))
}

/// One index entry of a header.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: i32,
    kind: u32,
    offset: i32,
    count: u32,
}

impl Entry {
    fn from_bytes(b: &[u8; ENTRY_LEN]) -> Self {
        Self {
            tag: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            kind: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            offset: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            count: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        }
    }

    /// The entry's data: from its offset to the end of the store, after checking that the
    /// offset is inside the store, aligned for its type, and that `count` items can fit.
    fn data<'a>(&self, store: &'a [u8]) -> Result<&'a [u8], String> {
        let tag = self.tag;
        let offset = usize::try_from(self.offset)
            .ok()
            .filter(|&offset| offset <= store.len())
            .ok_or_else(|| {
                format!(
                    "tag {tag}: offset {} outside the {}-byte store",
                    self.offset,
                    store.len()
                )
            })?;
        let data = store.get(offset..).unwrap_or_default();
        let count = u64::from(self.count);
        let item_len: u64 = match self.kind {
            TYPE_NULL => 0,
            TYPE_CHAR | TYPE_INT8 | TYPE_BIN => 1,
            TYPE_INT16 => 2,
            TYPE_INT32 => 4,
            TYPE_INT64 => 8,
            // A string is at least its NUL; a STRING entry is exactly one string.
            TYPE_STRING if count != 1 => {
                return Err(format!("tag {tag}: STRING with count {count}"));
            }
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => 1,
            other => return Err(format!("tag {tag}: unknown type {other}")),
        };
        if item_len > 1 && !(offset as u64).is_multiple_of(item_len) {
            return Err(format!(
                "tag {tag}: offset {offset} not aligned for its type"
            ));
        }
        if count * item_len > data.len() as u64 {
            return Err(format!(
                "tag {tag}: {count} items past the end of the store"
            ));
        }
        Ok(data)
    }

    /// The entry's string, the first one of an array.
    fn string<'a>(&self, store: &'a [u8]) -> Result<&'a str, String> {
        let tag = self.tag;
        if !matches!(self.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(format!("tag {tag}: type {}, not a string", self.kind));
        }
        if self.count == 0 {
            return Err(format!("tag {tag}: no string"));
        }
        let data = self.data(store)?;
        let end = data
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("tag {tag}: string not NUL-terminated"))?;
        let bytes = data.get(..end).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|_| format!("tag {tag}: string not UTF-8"))
    }

    /// The entry's integer, the first one of an array.
    fn int32(&self, store: &[u8]) -> Result<u32, String> {
        let tag = self.tag;
        if self.kind != TYPE_INT32 || self.count == 0 {
            return Err(format!(
                "tag {tag}: type {} count {}, not an INT32",
                self.kind, self.count
            ));
        }
        match self.data(store)?.first_chunk::<4>() {
            Some(bytes) => Ok(u32::from_be_bytes(*bytes)),
            None => Err(format!("tag {tag}: INT32 past the end of the store")),
        }
    }
}

/// Parses a header blob as rpmdb stores it (no lead, no magic): `il` and `dl` as big-endian
/// `u32`, `il` index entries, then the `dl`-byte data store. Every entry's offset and count
/// are checked against the store; a tag present twice is read from its last entry.
fn parse_header(blob: &[u8]) -> Result<Header<'_>, String> {
    let Some((counts, rest)) = blob.split_first_chunk::<8>() else {
        return Err(format!(
            "{} bytes, shorter than a header's counts",
            blob.len()
        ));
    };
    let il = u32::from_be_bytes([counts[0], counts[1], counts[2], counts[3]]);
    let dl = u32::from_be_bytes([counts[4], counts[5], counts[6], counts[7]]);
    if il > MAX_INDEX_ENTRIES {
        return Err(format!(
            "{il} index entries exceeds the limit of {MAX_INDEX_ENTRIES}"
        ));
    }
    if dl > MAX_DATA_BYTES {
        return Err(format!(
            "{dl}-byte data store exceeds the limit of {MAX_DATA_BYTES}"
        ));
    }
    let index_len = il as usize * ENTRY_LEN;
    let expected = index_len + dl as usize;
    if rest.len() != expected {
        return Err(format!(
            "{} bytes after the counts, which announce {il} entries and {dl} bytes of data ({expected} bytes)",
            rest.len()
        ));
    }
    let Some((index, store)) = rest.split_at_checked(index_len) else {
        return Err("index past the end of the header".to_string());
    };
    let (entries, _) = index.as_chunks::<ENTRY_LEN>();

    let [
        mut name,
        mut version,
        mut release,
        mut epoch,
        mut source_rpm,
    ] = [None; 5];
    for entry in entries.iter().map(Entry::from_bytes) {
        entry.data(store)?;
        let slot = match entry.tag {
            TAG_NAME => &mut name,
            TAG_VERSION => &mut version,
            TAG_RELEASE => &mut release,
            TAG_EPOCH => &mut epoch,
            TAG_SOURCERPM => &mut source_rpm,
            _ => continue,
        };
        *slot = Some(entry);
    }
    Ok(Header {
        name: required(name, store, "NAME")?,
        epoch: epoch.map(|entry| entry.int32(store)).transpose()?,
        version: required(version, store, "VERSION")?,
        release: required(release, store, "RELEASE")?,
        source_rpm: source_rpm.map(|entry| entry.string(store)).transpose()?,
    })
}

/// The non-empty string of a tag every package has.
fn required<'a>(entry: Option<Entry>, store: &'a [u8], what: &str) -> Result<&'a str, String> {
    let value = entry
        .ok_or_else(|| format!("no {what} tag"))?
        .string(store)?;
    if value.is_empty() {
        return Err(format!("empty {what}"));
    }
    Ok(value)
}

/// A value of a crafted header entry.
enum Value<'a> {
    Str(&'a str),
    Int32(u32),
    #[cfg(test)]
    StrArray(&'a [&'a str]),
    #[cfg(test)]
    I18n(&'a [&'a str]),
}

/// A header blob holding `tags` in order, each INT32 aligned to 4 bytes, as rpm does.
fn header_blob(tags: &[(i32, Value)]) -> Vec<u8> {
    let mut index = Vec::with_capacity(tags.len() * ENTRY_LEN);
    let mut store = Vec::new();
    let strings = |store: &mut Vec<u8>, values: &[&str]| {
        for value in values {
            store.extend_from_slice(value.as_bytes());
            store.push(0);
        }
    };
    for (tag, value) in tags {
        let (kind, count) = match value {
            Value::Str(_) => (TYPE_STRING, 1),
            Value::Int32(_) => (TYPE_INT32, 1),
            #[cfg(test)]
            Value::StrArray(values) => (TYPE_STRING_ARRAY, values.len()),
            #[cfg(test)]
            Value::I18n(values) => (TYPE_I18NSTRING, values.len()),
        };
        if kind == TYPE_INT32 {
            store.resize(store.len().next_multiple_of(4), 0);
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&kind.to_be_bytes());
        index.extend_from_slice(&(store.len() as u32).to_be_bytes());
        index.extend_from_slice(&(count as u32).to_be_bytes());
        match value {
            Value::Str(value) => strings(&mut store, &[value]),
            Value::Int32(value) => store.extend_from_slice(&value.to_be_bytes()),
            #[cfg(test)]
            Value::StrArray(values) | Value::I18n(values) => strings(&mut store, values),
        }
    }
    let mut blob = Vec::with_capacity(8 + index.len() + store.len());
    blob.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&store);
    blob
}

/// A header blob as rpmdb stores it, for tests and fixtures: NAME, VERSION, RELEASE, EPOCH
/// when given, ARCH and SOURCERPM when given (`openssl-3.0.7-24.el9.src.rpm`).
pub fn craft_header(
    name: &str,
    epoch: Option<u32>,
    version: &str,
    release: &str,
    arch: &str,
    sourcerpm: Option<&str>,
) -> Vec<u8> {
    let mut tags = vec![
        (TAG_NAME, Value::Str(name)),
        (TAG_VERSION, Value::Str(version)),
        (TAG_RELEASE, Value::Str(release)),
    ];
    if let Some(epoch) = epoch {
        tags.push((TAG_EPOCH, Value::Int32(epoch)));
    }
    tags.push((TAG_ARCH, Value::Str(arch)));
    if let Some(sourcerpm) = sourcerpm {
        tags.push((TAG_SOURCERPM, Value::Str(sourcerpm)));
    }
    header_blob(&tags)
}

/// The bytes of an `rpmdb.sqlite` holding `headers` in its `Packages` table, with rpm's
/// schema, for tests and fixtures.
///
/// # Panics
///
/// When SQLite fails on its in-memory database (out of memory, a header over 1 GB).
pub fn craft_rpmdb(headers: &[Vec<u8>]) -> Vec<u8> {
    let build = || -> rusqlite::Result<Vec<u8>> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        )?;
        for header in headers {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [header])?;
        }
        Ok(conn.serialize(MAIN_DB)?.to_vec())
    };
    build().expect("building an rpmdb in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/var/lib/rpm/rpmdb.sqlite";

    fn rpm(
        name: &str,
        version: &str,
        source: Option<&str>,
        source_version: Option<&str>,
    ) -> Package {
        Package {
            kind: PackageKind::Rpm,
            name: name.to_string(),
            version: version.to_string(),
            source: source.map(str::to_string),
            source_version: source_version.map(str::to_string),
            path: PATH.to_string(),
        }
    }

    fn bad_reason(result: Result<Vec<Package>, ScanError>) -> String {
        match result {
            Err(ScanError::BadPackageDb { path, reason }) => {
                assert_eq!(path, PATH);
                reason
            }
            other => panic!("expected BadPackageDb, got {other:?}"),
        }
    }

    /// A database with a custom schema and statements.
    fn sqlite(sql: &str) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn.serialize(MAIN_DB).unwrap().to_vec()
    }

    #[test]
    fn matches_the_two_rpmdb_paths() {
        assert!(matches("/var/lib/rpm/rpmdb.sqlite"));
        assert!(matches("/usr/lib/sysimage/rpm/rpmdb.sqlite"));
        for other in [
            "var/lib/rpm/rpmdb.sqlite",
            "/var/lib/rpm/rpmdb.sqlite-wal",
            "/var/lib/rpm/rpmdb.sqlite-shm",
            "/var/lib/rpm/Packages",
            "/var/lib/rpm/Packages.db",
            "/usr/lib/sysimage/rpm/rpmdb.sqlite/",
            "/home/u/var/lib/rpm/rpmdb.sqlite",
            "",
        ] {
            assert!(!matches(other), "{other}");
        }
    }

    #[test]
    fn reads_packages_epochs_and_sources() {
        let db = craft_rpmdb(&[
            craft_header(
                "openssl-libs",
                Some(1),
                "3.0.7",
                "24.el9",
                "x86_64",
                Some("openssl-3.0.7-24.el9.src.rpm"),
            ),
            craft_header(
                "bash",
                None,
                "5.1.8",
                "6.el9_1",
                "x86_64",
                Some("bash-5.1.8-6.el9_1.src.rpm"),
            ),
            craft_header("gpg-pubkey", None, "fd431d51", "4ae0493b", "(none)", None),
            craft_header(
                "libfoo",
                Some(2),
                "2.1",
                "3",
                "aarch64",
                Some("foo-suite-1.0-7.nosrc.rpm"),
            ),
            craft_header(
                "tzdata",
                Some(0),
                "2023c",
                "1.el9",
                "noarch",
                Some("tzdata-2023c-1.el9.src.rpm"),
            ),
            craft_header("no-source", None, "1", "1", "x86_64", None),
            craft_header(
                "odd-source",
                None,
                "1",
                "1",
                "x86_64",
                Some("odd-source-1-1.x86_64.rpm"),
            ),
            craft_header(
                "python3-setuptools-wheel",
                None,
                "53.0.0",
                "12.el9",
                "noarch",
                Some("python-setuptools-53.0.0-12.el9.src.rpm"),
            ),
        ]);
        let packages = parse_sqlite(PATH, &db).unwrap();
        assert_eq!(
            packages,
            vec![
                rpm("bash", "5.1.8-6.el9_1", None, None),
                rpm("libfoo", "2:2.1-3", Some("foo-suite"), Some("2:1.0-7")),
                rpm("no-source", "1-1", None, None),
                rpm("odd-source", "1-1", None, None),
                rpm("openssl-libs", "1:3.0.7-24.el9", Some("openssl"), None),
                rpm(
                    "python3-setuptools-wheel",
                    "53.0.0-12.el9",
                    Some("python-setuptools"),
                    None
                ),
                rpm("tzdata", "2023c-1.el9", None, None),
            ]
        );
        assert_eq!(packages[4].advisory_name(), "openssl");
        assert_eq!(packages[1].advisory_version(), "2:1.0-7");
    }

    #[test]
    fn the_other_path_is_kept() {
        let path = "/usr/lib/sysimage/rpm/rpmdb.sqlite";
        let db = craft_rpmdb(&[craft_header(
            "zlib", None, "1.2.11", "40.el9", "x86_64", None,
        )]);
        let packages = parse_sqlite(path, &db).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].path, path);
    }

    #[test]
    fn multilib_duplicates_are_listed_once() {
        let db = craft_rpmdb(&[
            craft_header(
                "glibc",
                None,
                "2.34",
                "60.el9",
                "x86_64",
                Some("glibc-2.34-60.el9.src.rpm"),
            ),
            craft_header(
                "glibc",
                None,
                "2.34",
                "60.el9",
                "i686",
                Some("glibc-2.34-60.el9.src.rpm"),
            ),
        ]);
        assert_eq!(
            parse_sqlite(PATH, &db).unwrap(),
            vec![rpm("glibc", "2.34-60.el9", None, None)]
        );
    }

    #[test]
    fn an_empty_table_and_only_gpg_pubkeys_give_no_packages() {
        assert_eq!(parse_sqlite(PATH, &craft_rpmdb(&[])).unwrap(), vec![]);
        let keys = craft_rpmdb(&[craft_header(
            "gpg-pubkey",
            None,
            "fd431d51",
            "4ae0493b",
            "(none)",
            None,
        )]);
        assert_eq!(parse_sqlite(PATH, &keys).unwrap(), vec![]);
    }

    #[test]
    fn string_arrays_give_their_first_string_and_the_last_duplicate_tag_wins() {
        let blob = header_blob(&[
            (TAG_NAME, Value::StrArray(&["first", "second"])),
            (TAG_VERSION, Value::I18n(&["1.0", "ignored"])),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_RELEASE, Value::Str("2")),
            (TAG_EPOCH, Value::Int32(3)),
        ]);
        let header = parse_header(&blob).unwrap();
        assert_eq!(
            header,
            Header {
                name: "first",
                epoch: Some(3),
                version: "1.0",
                release: "2",
                source_rpm: None
            }
        );
    }

    #[test]
    fn reads_a_database_left_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rpmdb.sqlite");
        {
            let conn = Connection::open(&file).unwrap();
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
                .unwrap();
            let header = craft_header(
                "curl",
                None,
                "7.76.1",
                "26.el9",
                "x86_64",
                Some("curl-7.76.1-26.el9.src.rpm"),
            );
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [header])
                .unwrap();
        }
        let data = std::fs::read(&file).unwrap();
        assert_eq!(&data[18..20], &[2, 2], "the file is marked WAL");
        assert_eq!(
            parse_sqlite(PATH, &data).unwrap(),
            vec![rpm("curl", "7.76.1-26.el9", None, None)]
        );
    }

    #[test]
    fn splits_source_rpm_names() {
        assert_eq!(
            split_source_rpm("openssl-3.0.7-24.el9.src.rpm"),
            Some(("openssl", "3.0.7", "24.el9"))
        );
        assert_eq!(
            split_source_rpm("a-b-c-1-2.nosrc.rpm"),
            Some(("a-b-c", "1", "2"))
        );
        for bad in [
            "openssl-3.0.7-24.el9",
            "openssl.src.rpm",
            "1-2.src.rpm",
            "-1-2.src.rpm",
            "a--2.src.rpm",
            "a-1-.src.rpm",
            "",
        ] {
            assert_eq!(split_source_rpm(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_is_not_an_sqlite_rpmdb() {
        let reason = bad_reason(parse_sqlite(PATH, b""));
        assert!(reason.contains("not an SQLite database"), "{reason}");
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let reason = bad_reason(parse_sqlite(PATH, &junk));
        assert!(reason.contains("not an SQLite database"), "{reason}");

        let reason = bad_reason(parse_sqlite(PATH, b"SQLite format 3\0short"));
        assert!(reason.contains("truncated"), "{reason}");
        let mut garbled = b"SQLite format 3\0".to_vec();
        garbled.extend_from_slice(&junk);
        bad_reason(parse_sqlite(PATH, &garbled));

        let reason = bad_reason(parse_sqlite(
            PATH,
            &sqlite("CREATE TABLE Names (key TEXT, hnum INTEGER)"),
        ));
        assert!(reason.contains("no Packages table"), "{reason}");
        let reason = bad_reason(parse_sqlite(
            PATH,
            &sqlite("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY)"),
        ));
        assert!(reason.contains("no blob column"), "{reason}");
        let view = "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                    SELECT zeroblob(x) AS blob FROM c";
        let reason = bad_reason(parse_sqlite(PATH, &sqlite(view)));
        assert!(reason.contains("not a plain table"), "{reason}");
        let generated =
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB AS (zeroblob(hnum)))";
        let reason = bad_reason(parse_sqlite(PATH, &sqlite(generated)));
        assert!(reason.contains("generated"), "{reason}");
    }

    #[test]
    fn rejects_a_database_over_the_limit() {
        // Zeroed, so the allocator maps pages it never touches.
        let huge = vec![0u8; MAX_RPMDB_BYTES + 1];
        let reason = bad_reason(parse_sqlite(PATH, &huge));
        assert!(reason.contains("exceeds the limit"), "{reason}");
    }

    #[test]
    fn truncated_or_mangled_databases_never_panic() {
        let db = craft_rpmdb(&[craft_header(
            "zlib", None, "1.2.11", "40.el9", "x86_64", None,
        )]);
        for len in [100, 512, db.len() / 2] {
            let reason = bad_reason(parse_sqlite(PATH, &db[..len]));
            assert!(reason.contains("malformed"), "{len}: {reason}");
        }
        for at in (16..db.len()).step_by(37) {
            let mut mangled = db.clone();
            mangled[at] ^= 0xff;
            let _ = parse_sqlite(PATH, &mangled);
        }
    }

    /// A valid header of one STRING entry for `tag`, then the index entry patched.
    fn patched(patch: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut blob = header_blob(&[
            (TAG_NAME, Value::Str("n")),
            (TAG_VERSION, Value::Str("1")),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_EPOCH, Value::Int32(1)),
        ]);
        patch(&mut blob);
        blob
    }

    fn set_u32(blob: &mut [u8], at: usize, value: u32) {
        blob[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    /// Where field `field` (0 tag, 1 type, 2 offset, 3 count) of entry `entry` is.
    fn field(entry: usize, field: usize) -> usize {
        8 + entry * ENTRY_LEN + field * 4
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(parse_header(&patched(|_| ())).is_ok());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("short", vec![0, 0, 0, 1]),
            ("huge il", patched(|b| set_u32(b, 0, MAX_INDEX_ENTRIES + 1))),
            ("il u32::MAX", patched(|b| set_u32(b, 0, u32::MAX))),
            ("huge dl", patched(|b| set_u32(b, 4, MAX_DATA_BYTES + 1))),
            ("dl too large", patched(|b| set_u32(b, 4, 1000))),
            ("truncated", patched(|b| b.truncate(b.len() - 1))),
            ("trailing byte", patched(|b| b.push(0))),
            ("offset outside", patched(|b| set_u32(b, field(1, 2), 1000))),
            (
                "negative offset",
                patched(|b| set_u32(b, field(1, 2), -4i32 as u32)),
            ),
            ("unknown type", patched(|b| set_u32(b, field(2, 1), 42))),
            ("string count 2", patched(|b| set_u32(b, field(0, 3), 2))),
            (
                "int32 count huge",
                patched(|b| set_u32(b, field(3, 3), u32::MAX)),
            ),
            ("int32 misaligned", patched(|b| set_u32(b, field(3, 2), 1))),
            (
                "name is int32",
                patched(|b| set_u32(b, field(0, 1), TYPE_INT32)),
            ),
            (
                "epoch is string",
                patched(|b| set_u32(b, field(3, 1), TYPE_STRING)),
            ),
            (
                "array count beyond store",
                patched(|b| {
                    set_u32(b, field(0, 1), TYPE_STRING_ARRAY);
                    set_u32(b, field(0, 3), 100);
                }),
            ),
            (
                "array count 0",
                patched(|b| {
                    set_u32(b, field(0, 1), TYPE_STRING_ARRAY);
                    set_u32(b, field(0, 3), 0);
                }),
            ),
            ("no name", patched(|b| set_u32(b, field(0, 0), 999))),
            ("not NUL-terminated", {
                let mut blob = header_blob(&[
                    (TAG_VERSION, Value::Str("1")),
                    (TAG_RELEASE, Value::Str("1")),
                    (TAG_NAME, Value::Str("name")),
                ]);
                blob.pop();
                let dl = u32::from_be_bytes(blob[4..8].try_into().unwrap());
                set_u32(&mut blob, 4, dl - 1);
                blob
            }),
            (
                "not UTF-8",
                header_blob(&[
                    (TAG_NAME, Value::Str("caf\u{e9}")),
                    (TAG_VERSION, Value::Str("1")),
                    (TAG_RELEASE, Value::Str("1")),
                ])
                .into_iter()
                .map(|b| if b == 0xc3 { 0xff } else { b })
                .collect(),
            ),
            (
                "empty version",
                header_blob(&[
                    (TAG_NAME, Value::Str("n")),
                    (TAG_VERSION, Value::Str("")),
                    (TAG_RELEASE, Value::Str("1")),
                ]),
            ),
        ];
        for (what, blob) in cases {
            assert!(
                parse_header(&blob).is_err(),
                "{what}: {:?}",
                parse_header(&blob)
            );
        }
    }

    #[test]
    fn mangled_headers_never_panic() {
        let blob = craft_header(
            "openssl-libs",
            Some(1),
            "3.0.7",
            "24.el9",
            "x86_64",
            Some("openssl-3.0.7-24.el9.src.rpm"),
        );
        for len in 0..blob.len() {
            assert!(parse_header(&blob[..len]).is_err(), "truncated to {len}");
        }
        for at in 0..blob.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut mangled = blob.clone();
                mangled[at] = value;
                let _ = parse_header(&mangled);
            }
        }
    }

    #[test]
    fn malformed_headers_are_skipped_unless_all_are() {
        let good = craft_header("zlib", None, "1.2.11", "40.el9", "x86_64", None);
        let mut bad = good.clone();
        bad.truncate(10);
        let db = craft_rpmdb(&[bad.clone(), good, vec![]]);
        assert_eq!(
            parse_sqlite(PATH, &db).unwrap(),
            vec![rpm("zlib", "1.2.11-40.el9", None, None)]
        );

        let reason = bad_reason(parse_sqlite(PATH, &craft_rpmdb(&[bad, vec![1, 2, 3]])));
        assert!(
            reason.contains("no well-formed header; header 1:"),
            "{reason}"
        );

        let text = sqlite(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB); \
             INSERT INTO Packages (blob) VALUES ('text'), (NULL), (42)",
        );
        let reason = bad_reason(parse_sqlite(PATH, &text));
        assert!(reason.contains("not a BLOB"), "{reason}");
    }
}
