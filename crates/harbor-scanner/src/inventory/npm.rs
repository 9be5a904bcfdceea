//! npm packages from `package-lock.json` and from installed `node_modules/**/package.json`.
//!
//! Lockfiles: version 1 (nested `dependencies`) and versions 2 and 3 (the `packages` map; its
//! `dependencies` copy in v2 is ignored). Skipped: the root project, workspace packages (keys
//! outside `node_modules/`), links (`link: true`), dev dependencies (`dev: true`, not installed
//! by a production `npm ci --omit=dev`), and v1 entries whose version is not a registry version
//! (`file:`, git and tarball URLs). Aliases (`"x": "npm:real@1.2.3"`) report the real package.

use serde_json::{Map, Value};

use crate::error::ScanError;
use crate::package::{Package, PackageKind};

/// True for a file either [`parse_lock`] or [`parse_package_json`] reads.
pub fn matches(path: &str) -> bool {
    matches_lock(path) || matches_package_json(path)
}

/// True for a `package-lock.json`.
pub fn matches_lock(path: &str) -> bool {
    path.rsplit('/').next() == Some("package-lock.json")
}

/// True for the `package.json` of an installed package: `.../node_modules/<name>/package.json`
/// or `.../node_modules/@scope/<name>/package.json`.
pub fn matches_package_json(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    if parts.next() != Some("package.json") {
        return false;
    }
    let Some(name) = parts.next() else {
        return false;
    };
    if name.is_empty() || name.starts_with('.') || name.starts_with('@') {
        return false;
    }
    match parts.next() {
        Some("node_modules") => true,
        Some(scope) if scope.len() > 1 && scope.starts_with('@') => {
            parts.next() == Some("node_modules")
        }
        _ => false,
    }
}

/// Parses `data` with [`parse_lock`] or [`parse_package_json`], whichever `path` names;
/// empty for any other path.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    if matches_lock(path) {
        parse_lock(path, data)
    } else if matches_package_json(path) {
        parse_package_json(path, data)
    } else {
        Ok(Vec::new())
    }
}

/// The packages a `package-lock.json` installs, sorted and without duplicates.
pub fn parse_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    let root = parse_object(path, data)?;
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(packages) = root.get("packages") {
        let packages = packages
            .as_object()
            .ok_or_else(|| ScanError::bad_db(path, "`packages` is not an object"))?;
        for (key, entry) in packages {
            let Some(entry) = entry.as_object() else {
                continue;
            };
            let Some(at) = key.rfind("node_modules/") else {
                continue;
            };
            let key_name = &key[at + "node_modules/".len()..];
            if key_name.is_empty() || flag(entry, "link") || flag(entry, "dev") {
                continue;
            }
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(key_name);
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                push(&mut found, name, version);
            }
        }
    } else if let Some(deps) = root.get("dependencies") {
        let deps = deps
            .as_object()
            .ok_or_else(|| ScanError::bad_db(path, "`dependencies` is not an object"))?;
        // Depth-first over the nested `dependencies` without recursion.
        let mut stack: Vec<&Map<String, Value>> = vec![deps];
        while let Some(deps) = stack.pop() {
            for (key, entry) in deps {
                let Some(entry) = entry.as_object() else {
                    continue;
                };
                if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                    stack.push(nested);
                }
                if flag(entry, "dev") {
                    continue;
                }
                let Some(version) = entry.get("version").and_then(Value::as_str) else {
                    continue;
                };
                match version.strip_prefix("npm:") {
                    Some(alias) => {
                        // `npm:name@version`, the name possibly scoped (`npm:@s/x@1.0.0`).
                        if let Some((name, version)) =
                            alias.rsplit_once('@').filter(|(n, _)| !n.is_empty())
                        {
                            push(&mut found, name, version);
                        }
                    }
                    None if version.contains(':') => {}
                    None => push(&mut found, key, version),
                }
            }
        }
    }
    Ok(into_packages(path, found))
}

/// The package an installed `package.json` describes; empty when `name` or `version` is missing.
pub fn parse_package_json(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    let root = parse_object(path, data)?;
    let mut found = Vec::new();
    if let (Some(name), Some(version)) = (
        root.get("name").and_then(Value::as_str),
        root.get("version").and_then(Value::as_str),
    ) {
        push(&mut found, name, version);
    }
    Ok(into_packages(path, found))
}

fn parse_object(path: &str, data: &[u8]) -> Result<Map<String, Value>, ScanError> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    match serde_json::from_slice(data).map_err(|e| ScanError::bad_db(path, e))? {
        Value::Object(map) => Ok(map),
        _ => Err(ScanError::bad_db(path, "not a JSON object")),
    }
}

fn flag(entry: &Map<String, Value>, key: &str) -> bool {
    entry.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn push(found: &mut Vec<(String, String)>, name: &str, version: &str) {
    let (name, version) = (name.trim(), version.trim());
    if !name.is_empty() && !version.is_empty() {
        found.push((name.to_string(), version.to_string()));
    }
}

fn into_packages(path: &str, mut found: Vec<(String, String)>) -> Vec<Package> {
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|(name, version)| Package::new(PackageKind::Npm, name, version, path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK_V1: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@babel/code-frame": {
      "version": "7.22.13",
      "resolved": "https://registry.npmjs.org/@babel/code-frame/-/code-frame-7.22.13.tgz",
      "integrity": "sha512-XktuhWlJ5g+3TJXc5upd9Ks1HutSArik6jf2eAjYFyIOf4ej3RN+184cZbzDvbPnuTJIUhPKKJE3cIsYTiAT3w==",
      "dev": true
    },
    "express": {
      "version": "4.17.1",
      "resolved": "https://registry.npmjs.org/express/-/express-4.17.1.tgz",
      "integrity": "sha512-mHJ9O79RqluphRrcw2X/GTh3k9tVv8YcoyY4Kkh4WDMUYKRZUq0h1o0w2rrrxBqM7VoeUVqgb27xlEMXTnYt4g==",
      "requires": { "debug": "2.6.9", "qs": "6.7.0" },
      "dependencies": {
        "debug": {
          "version": "2.6.9",
          "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
          "requires": { "ms": "2.0.0" }
        },
        "ms": { "version": "2.0.0" }
      }
    },
    "debug": { "version": "4.3.4" },
    "ms": { "version": "2.1.2" },
    "qs": { "version": "6.7.0" },
    "old-lodash": { "version": "npm:lodash@4.17.20" },
    "@types/scoped-alias": { "version": "npm:@types/node@20.8.0" },
    "local-lib": { "version": "file:../local-lib" },
    "from-git": { "version": "git+https://github.com/example/from-git.git#0f1e2d3c" },
    "no-version": { "resolved": "https://example.com/x.tgz" }
  }
}"#;

    const LOCK_V3: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "1.0.0",
      "workspaces": ["packages/ui"],
      "dependencies": { "express": "^4.18.2", "@nestjs/core": "^10.0.0" }
    },
    "node_modules/@nestjs/core": {
      "version": "10.2.8",
      "resolved": "https://registry.npmjs.org/@nestjs/core/-/core-10.2.8.tgz",
      "integrity": "sha512-9+MZ2s8ixfY9Bl/M9ofChiyYymcwdK9ZWNH4GDMF7Am7XRAQ1oqde6MYGG05rhQwiVXuTwaYLlXciJKfsrg5qg=="
    },
    "node_modules/express": {
      "version": "4.18.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz"
    },
    "node_modules/express/node_modules/debug": { "version": "2.6.9" },
    "node_modules/express/node_modules/@types/qs": { "version": "6.9.10" },
    "node_modules/debug": { "version": "4.3.4" },
    "node_modules/a/node_modules/debug": { "version": "4.3.4" },
    "node_modules/old-lodash": { "name": "lodash", "version": "4.17.20" },
    "node_modules/ui": { "resolved": "packages/ui", "link": true },
    "packages/ui": { "name": "ui", "version": "0.0.1" },
    "packages/ui/node_modules/react": { "version": "18.2.0" },
    "node_modules/typescript": { "version": "5.2.2", "dev": true },
    "node_modules/fsevents": { "version": "2.3.3", "optional": true, "devOptional": true },
    "node_modules/broken": "not an object"
  }
}"#;

    fn names(packages: &[Package]) -> Vec<(&str, &str)> {
        packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect()
    }

    #[test]
    fn matching_paths() {
        assert!(matches_lock("/app/package-lock.json"));
        assert!(matches("/app/package-lock.json"));
        assert!(!matches_lock("/app/package.json"));
        assert!(!matches_lock("/app/yarn.lock"));

        assert!(matches_package_json(
            "/app/node_modules/express/package.json"
        ));
        assert!(matches_package_json(
            "/app/node_modules/express/node_modules/debug/package.json"
        ));
        assert!(matches_package_json(
            "/app/node_modules/@babel/core/package.json"
        ));
        assert!(matches_package_json(
            "/app/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/package.json"
        ));
        assert!(matches("/usr/lib/node_modules/npm/package.json"));
        // The project's own manifest, files deeper inside a package, scope directories.
        assert!(!matches_package_json("/app/package.json"));
        assert!(!matches_package_json(
            "/app/node_modules/express/lib/package.json"
        ));
        assert!(!matches_package_json(
            "/app/node_modules/@babel/package.json"
        ));
        assert!(!matches_package_json("/app/node_modules/.bin/package.json"));
        assert!(!matches_package_json("/app/node_modules/@/x/package.json"));
        assert!(!matches_package_json(
            "/app/node_modules/express/package.json.bak"
        ));
        assert!(!matches_package_json("package.json"));
        assert!(!matches_package_json("/node_modules//package.json"));
    }

    #[test]
    fn lock_v1_nested() {
        let packages = parse_lock("/app/package-lock.json", LOCK_V1.as_bytes()).unwrap();
        assert_eq!(
            names(&packages),
            [
                ("@types/node", "20.8.0"),
                ("debug", "2.6.9"),
                ("debug", "4.3.4"),
                ("express", "4.17.1"),
                ("lodash", "4.17.20"),
                ("ms", "2.0.0"),
                ("ms", "2.1.2"),
                ("qs", "6.7.0"),
            ]
        );
        assert!(
            packages
                .iter()
                .all(|p| p.kind == PackageKind::Npm && p.path == "/app/package-lock.json")
        );
    }

    #[test]
    fn lock_v3_packages() {
        let packages = parse("/app/package-lock.json", LOCK_V3.as_bytes()).unwrap();
        assert_eq!(
            names(&packages),
            [
                ("@nestjs/core", "10.2.8"),
                ("@types/qs", "6.9.10"),
                ("debug", "2.6.9"),
                ("debug", "4.3.4"),
                ("express", "4.18.2"),
                ("fsevents", "2.3.3"),
                ("lodash", "4.17.20"),
                ("react", "18.2.0"),
            ]
        );
    }

    #[test]
    fn lock_v2_uses_packages_not_dependencies() {
        let lock = r#"{
  "lockfileVersion": 2,
  "packages": { "": { "name": "x" }, "node_modules/ms": { "version": "2.1.3" } },
  "dependencies": { "ms": { "version": "2.1.3" }, "stale": { "version": "9.9.9" } }
}"#;
        let packages = parse_lock("/package-lock.json", lock.as_bytes()).unwrap();
        assert_eq!(names(&packages), [("ms", "2.1.3")]);
    }

    #[test]
    fn package_json() {
        let data = br#"{
  "name": "@babel/core",
  "version": "7.23.3",
  "description": "Babel compiler core.",
  "main": "./lib/index.js",
  "dependencies": { "debug": "^4.1.0" }
}"#;
        let path = "/app/node_modules/@babel/core/package.json";
        let packages = parse(path, data).unwrap();
        assert_eq!(
            packages,
            [Package::new(
                PackageKind::Npm,
                "@babel/core",
                "7.23.3",
                path
            )]
        );
        // A UTF-8 byte order mark is tolerated.
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(data);
        assert_eq!(parse_package_json(path, &bom).unwrap().len(), 1);
        // Missing or non-string name or version: nothing.
        for data in [
            &br#"{"name": "x"}"#[..],
            br#"{"version": "1.0.0"}"#,
            br#"{"name": "x", "version": 1}"#,
            br#"{"name": "", "version": "1.0.0"}"#,
            b"{}",
        ] {
            assert!(parse_package_json(path, data).unwrap().is_empty());
        }
    }

    #[test]
    fn parse_ignores_other_paths() {
        assert!(
            parse("/app/package.json", b"{\"name\":\"x\",\"version\":\"1\"}")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        let path = "/app/package-lock.json";
        for data in [
            &b""[..],
            b"\xff\xfe\x00\x01",
            b"[1, 2, 3]",
            b"\"string\"",
            b"{\"packages\": []}",
            b"{\"dependencies\": 5}",
            b"{\"name\": \"\xc3\x28\"}",
            &LOCK_V3.as_bytes()[..300],
        ] {
            assert!(matches!(
                parse_lock(path, data),
                Err(ScanError::BadPackageDb { .. })
            ));
            let _ = parse_package_json("/node_modules/x/package.json", data);
        }
        for data in [&b"[]"[..], b"null", b"\xff", b""] {
            assert!(parse_package_json("/node_modules/x/package.json", data).is_err());
        }
        // Structurally odd but valid JSON: ignored entries, no error.
        let odd = br#"{"dependencies": {"a": 1, "b": {"version": 2}, "c": {"dependencies": []},
            "d": {"version": "npm:@x"}, "e": {"version": "npm:"}}}"#;
        assert!(parse_lock(path, odd).unwrap().is_empty());
        let odd = br#"{"packages": {"node_modules/": {"version": "1"}, "node_modules/x": {"version": null}}}"#;
        assert!(parse_lock(path, odd).unwrap().is_empty());
        // Deep nesting hits serde_json's recursion limit: an error, no stack overflow.
        let deep = format!(
            "{}{}",
            "{\"dependencies\":".repeat(10_000),
            "}".repeat(10_000)
        );
        assert!(parse_lock(path, deep.as_bytes()).is_err());
        for end in 0..LOCK_V1.len() {
            let _ = parse_lock(path, &LOCK_V1.as_bytes()[..end]);
        }
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..200 {
            let data: Vec<u8> = (0..512)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_lock(path, &data);
            let _ = parse_package_json(path, &data);
        }
    }
}
