//! Version ordering per ecosystem: dpkg, apk, RPM, SemVer, Go, PEP 440 and Maven.
//!
//! Each submodule has a `compare(a, b) -> Option<Ordering>` that returns `None` when either
//! string is not a version of its scheme. None of them panics, whatever the input.

use std::cmp::Ordering;

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod semver;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu (Debian Policy 5.6.12).
    Dpkg,
    /// Alpine and Wolfi (apk-tools `version.c`).
    Apk,
    /// RPM distributions (`rpmvercmp`, epoch and release).
    Rpm,
    /// Semantic Versioning 2.0 (crates.io, npm).
    SemVer,
    /// Go modules: SemVer with a `v` prefix, pseudo-versions.
    Go,
    /// Python (PEP 440).
    Pep440,
    /// Maven's ComparableVersion.
    Maven,
}

/// Orders `a` and `b` under `scheme`; `None` when either is not a version of the scheme.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    match scheme {
        Scheme::Dpkg => dpkg::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::SemVer => semver::compare(a, b),
        Scheme::Go => semver::compare_go(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
    }
}

/// Compares two runs of ASCII digits as numbers of any length.
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_leading_zeros(a);
    let b = trim_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `digits` without its leading zeros (empty for zero).
fn trim_leading_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

/// Shared checks for the scheme tests.
#[cfg(test)]
pub(crate) mod testutil {
    use std::cmp::Ordering;

    /// Strings that are not versions of most schemes, or are odd ones; no compare may panic.
    pub(crate) const JUNK: &[&str] = &[
        "",
        " ",
        ":",
        "-",
        "1:",
        ":1",
        "~~",
        "^^",
        "..",
        "1..2",
        "1.",
        ".1",
        "1-",
        "-1",
        "_",
        "1_",
        "1_foo",
        "1-r",
        "1~",
        "+",
        "1+",
        "v",
        "go",
        "!",
        "1!",
        "999999999999999999999999999",
        "1.999999999999999999999999999",
        "999999999999999999999999999:1",
        "1-999999999999999999999999999",
        "é",
        "1.0é",
        "版本1",
        "1.0\u{0}",
        "\u{feff}1.0",
        "1 0",
        "1.0.0-",
        "1.0.0+",
        "a",
        "Z",
        "0",
        "00",
        "-0",
        "1.0-1-",
        "1::2",
        "1.2.3.4.5.6.7.8.9.10",
        "1.0-alpha-beta-gamma.delta_1~x^y+z",
    ];

    /// Feeds every pair of junk strings (and junk against real versions) to `cmp`.
    pub(crate) fn no_panic(cmp: fn(&str, &str) -> Option<Ordering>, valid: &[&str]) {
        for a in JUNK.iter().chain(valid) {
            for b in JUNK.iter().chain(valid) {
                let _ = cmp(a, b);
            }
        }
    }

    /// Checks that `versions` is strictly ascending under `cmp`, pair by pair and both ways,
    /// and that sorting a shuffled copy gives it back.
    pub(crate) fn assert_ascending(cmp: fn(&str, &str) -> Option<Ordering>, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            assert_eq!(cmp(a, a), Some(Ordering::Equal), "{a} == {a}");
            for b in &versions[i + 1..] {
                assert_eq!(cmp(a, b), Some(Ordering::Less), "{a} < {b}");
                assert_eq!(cmp(b, a), Some(Ordering::Greater), "{b} > {a}");
            }
        }
        let mut shuffled = versions.to_vec();
        // A fixed permutation: reverse, then interleave the halves.
        shuffled.reverse();
        let half = shuffled.len() / 2;
        let (front, back) = shuffled.split_at(half);
        let mut mixed: Vec<&str> = Vec::with_capacity(shuffled.len());
        for i in 0..back.len().max(front.len()) {
            if let Some(v) = back.get(i) {
                mixed.push(v);
            }
            if let Some(v) = front.get(i) {
                mixed.push(v);
            }
        }
        mixed.sort_by(|a, b| cmp(a, b).expect("valid versions"));
        assert_eq!(mixed, versions);
    }

    /// Checks that each pair compares equal both ways.
    pub(crate) fn assert_equal(cmp: fn(&str, &str) -> Option<Ordering>, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert_eq!(cmp(a, b), Some(Ordering::Equal), "{a} == {b}");
            assert_eq!(cmp(b, a), Some(Ordering::Equal), "{b} == {a}");
        }
    }

    /// Checks that `a < b` (and `b > a`) for each pair.
    pub(crate) fn assert_less(cmp: fn(&str, &str) -> Option<Ordering>, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert_eq!(cmp(a, b), Some(Ordering::Less), "{a} < {b}");
            assert_eq!(cmp(b, a), Some(Ordering::Greater), "{b} > {a}");
        }
    }

    /// Checks that each string is rejected (compared with itself and with `1`).
    pub(crate) fn assert_invalid(cmp: fn(&str, &str) -> Option<Ordering>, bad: &[&str]) {
        for v in bad {
            assert_eq!(cmp(v, v), None, "{v:?} is not a version");
            assert_eq!(cmp(v, "1"), None, "{v:?} is not a version");
            assert_eq!(cmp("1", v), None, "{v:?} is not a version");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Scheme; 7] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::SemVer,
        Scheme::Go,
        Scheme::Pep440,
        Scheme::Maven,
    ];

    #[test]
    fn digits_compare_without_overflow() {
        assert_eq!(cmp_digits(b"007", b"7"), Ordering::Equal);
        assert_eq!(cmp_digits(b"", b"0"), Ordering::Equal);
        assert_eq!(cmp_digits(b"9", b"10"), Ordering::Less);
        assert_eq!(
            cmp_digits(
                b"999999999999999999999999999",
                b"1000000000000000000000000000"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn dispatch_reaches_each_scheme() {
        let lt = Some(Ordering::Less);
        assert_eq!(compare(Scheme::Dpkg, "1.0~rc1", "1.0"), lt);
        assert_eq!(compare(Scheme::Apk, "1.2.3_rc1", "1.2.3"), lt);
        assert_eq!(compare(Scheme::Rpm, "1.0", "1.0^git1"), lt);
        assert_eq!(compare(Scheme::SemVer, "1.0.0-rc.1", "1.0.0"), lt);
        assert_eq!(
            compare(Scheme::Go, "v0.0.0-20210101000000-abcdef123456", "v0.0.1"),
            lt
        );
        assert_eq!(compare(Scheme::Pep440, "1.0rc1", "1.0"), lt);
        assert_eq!(compare(Scheme::Maven, "1.0-SNAPSHOT", "1.0"), lt);
    }

    #[test]
    fn junk_never_panics_in_any_scheme() {
        for scheme in ALL {
            for a in testutil::JUNK {
                for b in testutil::JUNK {
                    let _ = compare(scheme, a, b);
                }
                let _ = compare(scheme, a, "1.0");
                let _ = compare(scheme, "1.0", a);
            }
        }
    }

    #[test]
    fn empty_is_never_a_version() {
        for scheme in ALL {
            assert_eq!(compare(scheme, "", "1"), None, "{scheme:?}");
            assert_eq!(compare(scheme, "1", ""), None, "{scheme:?}");
        }
    }
}
