//! Java artifacts in jars, wars and ears, from the `META-INF/maven/<groupId>/<artifactId>/
//! pom.properties` files Maven writes into them, nested archives included (Spring Boot's
//! `BOOT-INF/lib/*.jar`, a war's `WEB-INF/lib/*.jar`) down to three levels.
//!
//! A jar without `pom.properties` gives no package: its `MANIFEST.MF` does not name a Maven
//! groupId reliably, so it is not read. Limits: 100,000 entries an archive, nested archives of
//! at most 64 MiB (larger ones are skipped), 1 GiB decompressed in all for one outer file.
//! A nested archive that cannot be read, and an entry that cannot be decompressed (a method
//! other than stored or deflate), are skipped; only an unreadable outer archive, too many
//! entries in it, or the 1 GiB budget running out are errors.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::error::ScanError;
use crate::package::{Package, PackageKind};

/// The limits protecting [`parse`].
#[derive(Clone, Copy)]
struct Limits {
    /// Entries in one archive.
    entries: usize,
    /// Levels of archives inside the outer one.
    depth: u32,
    /// The size of a nested archive, read into memory whole.
    nested: u64,
    /// The size of one `pom.properties`.
    properties: u64,
    /// Decompressed bytes read in all.
    total: u64,
}

const LIMITS: Limits = Limits {
    entries: 100_000,
    depth: 3,
    nested: 64 * 1024 * 1024,
    properties: 1024 * 1024,
    total: 1024 * 1024 * 1024,
};

/// True for `*.jar`, `*.war` and `*.ear` (any case).
pub fn matches(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).as_bytes();
    name.len() > 4 && {
        let ext = &name[name.len() - 4..];
        [b".jar", b".war", b".ear"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(*e))
    }
}

/// The Maven artifacts in the archive `data` found at `path`, sorted and without duplicates.
/// A package found in a nested archive has the path `outer.jar!/BOOT-INF/lib/inner.jar`.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    parse_with(path, data, LIMITS)
}

fn parse_with(path: &str, data: &[u8], limits: Limits) -> Result<Vec<Package>, ScanError> {
    let mut walk = Walk {
        limits,
        budget: limits.total,
        found: Vec::new(),
    };
    match walk.archive(path, data, 0) {
        Ok(()) => {}
        Err(Failure::Budget) => {
            return Err(ScanError::bad_db(
                path,
                format_args!("more than {} bytes decompressed", limits.total),
            ));
        }
        Err(Failure::Archive(reason)) => return Err(ScanError::bad_db(path, reason)),
    }
    let mut found = walk.found;
    found.sort();
    found.dedup();
    Ok(found)
}

enum Failure {
    /// The archive itself cannot be read.
    Archive(String),
    /// The decompression budget is spent: stop everything.
    Budget,
}

struct Walk {
    limits: Limits,
    budget: u64,
    found: Vec<Package>,
}

impl Walk {
    /// Scans the archive `data`, named `display` in packages, `depth` levels down.
    fn archive(&mut self, display: &str, data: &[u8], depth: u32) -> Result<(), Failure> {
        let mut archive =
            ZipArchive::new(Cursor::new(data)).map_err(|e| Failure::Archive(e.to_string()))?;
        if archive.len() > self.limits.entries {
            return Err(Failure::Archive(format!(
                "more than {} entries",
                self.limits.entries
            )));
        }
        for index in 0..archive.len() {
            let Ok(mut entry) = archive.by_index(index) else {
                continue;
            };
            if !entry.is_file() {
                continue;
            }
            let Ok(name) = entry.name().map(|n| n.into_owned()) else {
                continue;
            };
            if let Some((group, artifact)) = pom_properties_coordinates(&name) {
                let Some(bytes) = self.read(&mut entry, self.limits.properties)? else {
                    continue;
                };
                if let Some(package) = pom_package(group, artifact, &bytes, display) {
                    self.found.push(package);
                }
            } else if depth < self.limits.depth
                && matches(&name)
                && entry.size() <= self.limits.nested
            {
                let Some(bytes) = self.read(&mut entry, self.limits.nested)? else {
                    continue;
                };
                drop(entry);
                match self.archive(&format!("{display}!/{name}"), &bytes, depth + 1) {
                    Err(Failure::Budget) => return Err(Failure::Budget),
                    // Not an archive after all, or too big: skipped.
                    Ok(()) | Err(Failure::Archive(_)) => {}
                }
            }
        }
        Ok(())
    }

    /// An entry's bytes, at most `max`; `None` if it is larger or cannot be decompressed.
    fn read(&mut self, entry: &mut dyn Read, max: u64) -> Result<Option<Vec<u8>>, Failure> {
        let allowed = max.min(self.budget);
        let mut bytes = Vec::new();
        let result = entry
            .take(allowed.saturating_add(1))
            .read_to_end(&mut bytes);
        self.budget = self.budget.saturating_sub(bytes.len() as u64);
        if result.is_err() {
            return Ok(None);
        }
        if bytes.len() as u64 > allowed {
            return if allowed < max {
                Err(Failure::Budget)
            } else {
                Ok(None)
            };
        }
        Ok(Some(bytes))
    }
}

/// `(groupId, artifactId)` of an entry named `META-INF/maven/<groupId>/<artifactId>/pom.properties`.
fn pom_properties_coordinates(name: &str) -> Option<(&str, &str)> {
    let rest = name
        .strip_prefix("META-INF/maven/")?
        .strip_suffix("/pom.properties")?;
    let (group, artifact) = rest.split_once('/')?;
    (!group.is_empty() && !artifact.is_empty() && !artifact.contains('/'))
        .then_some((group, artifact))
}

/// The package a `pom.properties` names; its `groupId` and `artifactId` default to the
/// directories it is in. `None` without a version, or with an unexpanded `${...}` one.
fn pom_package(group: &str, artifact: &str, bytes: &[u8], display: &str) -> Option<Package> {
    let text = String::from_utf8_lossy(bytes);
    let (mut group, mut artifact) = (group.to_string(), artifact.to_string());
    let mut version = None;
    for (key, value) in properties(&text) {
        match key {
            "groupId" if !value.is_empty() => group = value.to_string(),
            "artifactId" if !value.is_empty() => artifact = value.to_string(),
            "version" => version = Some(value.to_string()),
            _ => {}
        }
    }
    let version = version.filter(|v| !v.is_empty() && !v.contains("${"))?;
    Some(Package::new(
        PackageKind::Maven,
        format!("{group}:{artifact}"),
        version,
        display,
    ))
}

/// The `key=value`, `key: value` and `key value` lines of a Java properties file, comments
/// (`#`, `!`) and blank lines skipped. Escapes and continuation lines are not interpreted.
fn properties(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            return None;
        }
        let key_end = line
            .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
            .unwrap_or(line.len());
        let (key, rest) = line.split_at(key_end);
        let rest = rest.trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
        Some((key, value))
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;

    /// A zip of `(name, bytes)` entries; `.jar` entries are stored, as Spring Boot does.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            let method = if name.ends_with(".jar") {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            writer
                .start_file(
                    *name,
                    SimpleFileOptions::default().compression_method(method),
                )
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
        format!(
            "#Generated by Maven\n#Tue Oct 10 12:00:00 UTC 2023\nartifactId={artifact}\ngroupId={group}\nversion={version}\n"
        )
        .into_bytes()
    }

    fn names(packages: &[Package]) -> Vec<(&str, &str, &str)> {
        packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.path.as_str()))
            .collect()
    }

    /// A Spring Boot style fat jar: its own pom.properties, a nested library, a shaded one,
    /// a jar nested four levels deep, a jar without Maven metadata and a corrupt one.
    fn spring_boot_jar() -> Vec<u8> {
        let log4j = zip(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n"),
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                &pom("org.apache.logging.log4j", "log4j-core", "2.14.1"),
            ),
            (
                "org/apache/logging/log4j/core/Logger.class",
                b"\xca\xfe\xba\xbe",
            ),
        ]);
        let level4 = zip(&[(
            "META-INF/maven/deep/level4/pom.properties",
            &pom("deep", "level4", "4"),
        )]);
        let level3 = zip(&[
            (
                "META-INF/maven/deep/level3/pom.properties",
                &pom("deep", "level3", "3"),
            ),
            ("lib/level4.jar", &level4),
        ]);
        let level2 = zip(&[("lib/level3.jar", &level3)]);
        let shaded = zip(&[
            (
                "META-INF/maven/com.google.guava/guava/pom.properties",
                b"! comment\ngroupId : com.google.guava\nartifactId guava\n  version:32.1.3-jre\n",
            ),
            // No groupId or artifactId: taken from the directories.
            (
                "META-INF/maven/com.google.guava/failureaccess/pom.properties",
                b"version=1.0.1\n",
            ),
            // Unexpanded or missing versions: skipped.
            (
                "META-INF/maven/com.x/templated/pom.properties",
                b"groupId=com.x\nartifactId=templated\nversion=${project.version}\n",
            ),
            (
                "META-INF/maven/com.x/noversion/pom.properties",
                b"groupId=com.x\nartifactId=noversion\n",
            ),
            (
                "META-INF/maven/com.x/toodeep/extra/pom.properties",
                &pom("com.x", "toodeep", "1"),
            ),
        ]);
        let manifest_only = zip(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: thing\r\nImplementation-Version: 1.0\r\n",
        )]);
        zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Main-Class: org.springframework.boot.loader.JarLauncher\r\n",
            ),
            (
                "META-INF/maven/com.example/shop/pom.properties",
                &pom("com.example", "shop", "1.0.0"),
            ),
            (
                "BOOT-INF/classes/com/example/Shop.class",
                b"\xca\xfe\xba\xbe",
            ),
            ("BOOT-INF/lib/log4j-core-2.14.1.jar", &log4j),
            ("BOOT-INF/lib/guava-32.1.3-jre.jar", &shaded),
            ("BOOT-INF/lib/level1.jar", &zip(&[("level2.jar", &level2)])),
            ("BOOT-INF/lib/thing-1.0.jar", &manifest_only),
            ("BOOT-INF/lib/corrupt.jar", b"PK\x03\x04 this is not a zip"),
        ])
    }

    #[test]
    fn matching_paths() {
        assert!(matches("/app/app.jar"));
        assert!(matches("/usr/local/tomcat/webapps/ROOT.war"));
        assert!(matches("/opt/app.EAR"));
        assert!(!matches("/app/app.jar.sha1"));
        assert!(!matches("/app/.jar"));
        assert!(!matches("/app/jar"));
        assert!(!matches("/app/app.zip"));
        assert!(!matches("/app/€€"));
        assert!(matches("/app/€€.jar"));
    }

    #[test]
    fn fat_jar_with_nested_jars() {
        let path = "/app/shop.jar";
        let packages = parse(path, &spring_boot_jar()).unwrap();
        let guava = "/app/shop.jar!/BOOT-INF/lib/guava-32.1.3-jre.jar";
        assert_eq!(
            names(&packages),
            [
                ("com.example:shop", "1.0.0", path),
                ("com.google.guava:failureaccess", "1.0.1", guava),
                ("com.google.guava:guava", "32.1.3-jre", guava),
                (
                    "deep:level3",
                    "3",
                    "/app/shop.jar!/BOOT-INF/lib/level1.jar!/level2.jar!/lib/level3.jar"
                ),
                (
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1",
                    "/app/shop.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"
                ),
            ]
        );
        assert!(packages.iter().all(|p| p.kind == PackageKind::Maven));
    }

    #[test]
    fn war_with_web_inf_lib() {
        let jackson = zip(&[(
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
            &pom("com.fasterxml.jackson.core", "jackson-databind", "2.9.10.1"),
        )]);
        let war = zip(&[
            ("WEB-INF/web.xml", b"<web-app/>"),
            ("WEB-INF/lib/jackson-databind-2.9.10.1.jar", &jackson),
        ]);
        let packages = parse("/usr/local/tomcat/webapps/ROOT.war", &war).unwrap();
        assert_eq!(
            names(&packages),
            [(
                "com.fasterxml.jackson.core:jackson-databind",
                "2.9.10.1",
                "/usr/local/tomcat/webapps/ROOT.war!/WEB-INF/lib/jackson-databind-2.9.10.1.jar"
            )]
        );
    }

    #[test]
    fn limits() {
        let jar = spring_boot_jar();
        // Too many entries in the outer archive.
        let few = Limits {
            entries: 5,
            ..LIMITS
        };
        assert!(matches!(
            parse_with("/a.jar", &jar, few),
            Err(ScanError::BadPackageDb { .. })
        ));
        // Nested archives over the size limit are skipped.
        let small = Limits {
            nested: 64,
            ..LIMITS
        };
        assert_eq!(
            names(&parse_with("/a.jar", &jar, small).unwrap()),
            [("com.example:shop", "1.0.0", "/a.jar")]
        );
        // Only the outer level.
        let flat = Limits { depth: 0, ..LIMITS };
        assert_eq!(parse_with("/a.jar", &jar, flat).unwrap().len(), 1);
        // The decompression budget running out is an error, not a partial answer.
        let poor = Limits {
            total: 1000,
            ..LIMITS
        };
        let err = parse_with("/a.jar", &jar, poor).unwrap_err();
        assert!(err.to_string().contains("more than 1000 bytes"), "{err}");
        // An oversized pom.properties is skipped.
        let tiny = Limits {
            properties: 10,
            depth: 0,
            ..LIMITS
        };
        assert!(parse_with("/a.jar", &jar, tiny).unwrap().is_empty());
    }

    #[test]
    fn properties_syntax() {
        let text = "# c\n! c\n\n  a=1\nb : 2 \nc 3\nd\ne=x=y\nf:\n";
        let pairs: Vec<_> = properties(text).collect();
        assert_eq!(
            pairs,
            [
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", ""),
                ("e", "x=y"),
                ("f", "")
            ]
        );
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        for data in [
            &b""[..],
            b"PK",
            b"PK\x05\x06",
            b"\xff\xfe\xfd",
            b"not a zip at all",
        ] {
            let err = parse("/app/x.jar", data).unwrap_err();
            assert!(
                matches!(err, ScanError::BadPackageDb { ref path, .. } if path == "/app/x.jar")
            );
        }
        let jar = spring_boot_jar();
        for end in (0..jar.len()).step_by(7) {
            let _ = parse("/app/x.jar", &jar[..end]);
        }
        // Corrupt bytes inside: flipped at many positions, never a panic.
        for at in (0..jar.len()).step_by(13) {
            let mut bad = jar.clone();
            bad[at] ^= 0x5a;
            let _ = parse("/app/x.jar", &bad);
        }
        let mut x: u32 = 0xdead_beef;
        for _ in 0..200 {
            let mut data: Vec<u8> = b"PK\x03\x04".to_vec();
            data.extend((0..1024).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            let _ = parse("/app/x.jar", &data);
        }
        // Invalid UTF-8 in a pom.properties is replaced.
        let jar = zip(&[("META-INF/maven/g/a/pom.properties", b"version=1.\xff\n")]);
        assert_eq!(
            names(&parse("/x.jar", &jar).unwrap()),
            [("g:a", "1.\u{fffd}", "/x.jar")]
        );
    }
}
