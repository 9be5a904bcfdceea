//! Semantic Versioning 2.0 (crates.io, npm) and Go module and toolchain versions, through the
//! `semver` crate.
//!
//! Lenient: a leading `v` or `=` is dropped, a short core is padded (`1.2` is `1.2.0`) and
//! leading zeros in the core are dropped. Build metadata (Go's `+incompatible` too) does not
//! take part in the order. Numbers must fit in 64 bits.

use std::cmp::Ordering;

use ::semver::Version;

/// Orders two SemVer versions; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(cmp_versions(&parse(a)?, &parse(b)?))
}

/// Orders two Go versions: module versions (`v1.2.3`, pseudo-versions, `+incompatible`) or
/// toolchain versions (`go1.21.3`, `go1.21rc2`, `1.21.3`); `None` when either is not one.
pub fn compare_go(a: &str, b: &str) -> Option<Ordering> {
    Some(cmp_versions(&parse_go(a)?, &parse_go(b)?))
}

/// SemVer precedence: the build metadata is ignored.
fn cmp_versions(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

/// Parses leniently: see the module documentation.
fn parse(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('=').unwrap_or(s).trim_start();
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let (core, tail) = s.split_at(core_end);
    let mut parts = Vec::with_capacity(3);
    for part in core.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = part.trim_start_matches('0');
        parts.push(if trimmed.is_empty() { "0" } else { trimmed });
    }
    if parts.len() > 3 {
        return None;
    }
    parts.resize(3, "0");
    Version::parse(&format!("{}{tail}", parts.join("."))).ok()
}

/// Parses a Go module or toolchain version.
fn parse_go(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = match s.strip_prefix("go") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => s,
    };
    match go_tag_prerelease(s) {
        Some((release, kind, number)) => parse(&format!("{release}-{kind}.{number}")),
        None => parse(s),
    }
}

/// Splits a toolchain pre-release such as `1.21rc2` or `1.20beta1` into `("1.21", "rc", "2")`.
fn go_tag_prerelease(s: &str) -> Option<(&str, &str, &str)> {
    let at = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (release, rest) = s.split_at(at);
    if release.is_empty()
        || release.ends_with('.')
        || !release.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    ["beta", "rc"].into_iter().find_map(|kind| {
        let number = rest.strip_prefix(kind)?;
        let valid = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
        valid.then_some((release, kind, number))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testutil::*;

    #[test]
    fn precedence() {
        // The SemVer 2.0 specification's own example, and more.
        assert_ascending(
            compare,
            &[
                "0.0.1",
                "0.9.0",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.1",
                "1.1.0",
                "1.10.0",
                "2.0.0",
            ],
        );
    }

    #[test]
    fn lenient_forms() {
        assert_equal(
            compare,
            &[
                ("v1.2.3", "1.2.3"),
                ("=1.2.3", "1.2.3"),
                ("= v1.2.3", "1.2.3"),
                (" 1.2.3 ", "1.2.3"),
                ("1.2", "1.2.0"),
                ("1", "1.0.0"),
                ("1.2-rc.1", "1.2.0-rc.1"),
                ("01.02.03", "1.2.3"),
                ("1.0.0+build.5", "1.0.0"),
                ("1.0.0+a", "1.0.0+b"),
                ("1.0.0-rc.1+x", "1.0.0-rc.1"),
            ],
        );
    }

    #[test]
    fn rejected() {
        assert_invalid(
            compare,
            &[
                "",
                "v",
                "=",
                "1.",
                ".1",
                "1..2",
                "1.2.3.4",
                "a.b.c",
                "1.2.x",
                "1.0.0-",
                "1.0.0+",
                "1.0.0-a..b",
                "99999999999999999999.0.0",
                "1.0é",
                "1 0",
            ],
        );
    }

    #[test]
    fn go_modules() {
        assert_ascending(
            compare_go,
            &[
                "v0.0.0-20190101000000-abcdef123456",
                "v0.0.0-20210101000000-abcdef123456",
                "v0.0.1",
                "v0.1.0",
                "v1.2.3-pre",
                "v1.2.3",
                "v1.2.4-0.20230101000000-abcdef123456",
                "v1.2.4",
                "v2.0.0-rc.1",
                "v2.0.0+incompatible",
                "v2.1.0+incompatible",
                "v10.0.0",
            ],
        );
        assert_equal(
            compare_go,
            &[
                ("v2.0.0+incompatible", "v2.0.0"),
                ("v1.2.3", "1.2.3"),
                ("v1", "v1.0.0"),
                ("v1.2", "v1.2.0"),
            ],
        );
    }

    #[test]
    fn go_toolchain() {
        assert_ascending(
            compare_go,
            &[
                "go1.19",
                "go1.19.13",
                "go1.20beta1",
                "go1.20rc1",
                "go1.20rc3",
                "go1.20",
                "go1.20.1",
                "go1.21rc2",
                "go1.21.0",
                "go1.21.3",
                "go1.21.10",
                "go1.22.0",
            ],
        );
        assert_equal(
            compare_go,
            &[
                ("go1.21.3", "1.21.3"),
                ("go1.21.3", "v1.21.3"),
                ("go1.20", "1.20.0"),
                ("go1.21rc2", "1.21.0-rc.2"),
                ("go1.20beta1", "1.20.0-beta.1"),
            ],
        );
        assert_invalid(
            compare_go,
            &[
                "",
                "go",
                "gox1.2",
                "go1.21rc",
                "go1.21gamma1",
                "go1.rc1",
                "devel go1.23-abc",
            ],
        );
    }

    #[test]
    fn junk() {
        no_panic(compare, &["1.0.0", "v1.2.3-rc.1+b", "0.0.0"]);
        no_panic(
            compare_go,
            &["go1.21.3", "v0.0.0-20210101000000-abcdef123456"],
        );
    }
}
