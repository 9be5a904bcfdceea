//! Python versions (PEP 440), parsed and ordered by the `pep440_rs` crate.
//!
//! The parser accepts what PEP 440 normalises: any case, a leading `v`, `alpha`/`beta`/`c`/
//! `pre`/`preview` for `a`/`b`/`rc`, `-N`, `rev` and `r` for `.postN`, separators `.`, `-`, `_`
//! and surrounding whitespace. Legacy (non-PEP 440) versions are `None`. Numbers must fit in
//! 64 bits.

use std::cmp::Ordering;
use std::str::FromStr;

use pep440_rs::Version;

/// Orders two PEP 440 versions; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let a = Version::from_str(a.trim()).ok()?;
    let b = Version::from_str(b.trim()).ok()?;
    Some(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testutil::*;

    #[test]
    fn pep_order() {
        assert_ascending(
            compare,
            &[
                "1.0.dev0",
                "1.0.dev456",
                "1.0a1.dev0",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1",
                "1.0rc2",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.1",
                "1.1.dev1",
                "1.1",
                "2!0.1",
            ],
        );
    }

    #[test]
    fn brief_order() {
        assert_ascending(
            compare,
            &[
                "1.0.dev0",
                "1.0a1.dev0",
                "1.0a1",
                "1.0b1",
                "1.0rc1",
                "1.0",
                "1.0.post1",
                "1.1",
            ],
        );
    }

    #[test]
    fn normalisation() {
        assert_equal(
            compare,
            &[
                ("1.0", "1.0.0"),
                ("1", "1.0.0.0"),
                ("1.0alpha1", "1.0a1"),
                ("1.0-ALPHA-1", "1.0a1"),
                ("1.0beta2", "1.0b2"),
                ("1.0c1", "1.0rc1"),
                ("1.0pre1", "1.0rc1"),
                ("1.0preview1", "1.0rc1"),
                ("1.0a", "1.0a0"),
                ("1.0-1", "1.0.post1"),
                ("1.0rev1", "1.0.post1"),
                ("1.0r1", "1.0.post1"),
                ("1.0.post", "1.0.post0"),
                ("1.0-dev", "1.0.dev0"),
                ("v1.0", "1.0"),
                ("V1.0RC1", "1.0rc1"),
                (" 1.0 ", "1.0"),
                ("0!1.0", "1.0"),
                ("01.02", "1.2"),
                ("1.0+ABC", "1.0+abc"),
                ("1.0+abc-1", "1.0+abc.1"),
            ],
        );
    }

    #[test]
    fn local_versions() {
        // Local segments: numbers above strings, longer above its prefix.
        assert_ascending(
            compare,
            &[
                "1.0",
                "1.0+a",
                "1.0+a.b",
                "1.0+b",
                "1.0+ubuntu1",
                "1.0+1",
                "1.0+1.a",
                "1.0+2",
            ],
        );
        assert_less(compare, &[("1.0+999", "1.0.post0"), ("1.0+cpu", "1.0.1")]);
    }

    #[test]
    fn real_world() {
        assert_less(
            compare,
            &[
                ("2.31.0", "2.32.0"),
                ("2.0.0rc1", "2.0.0"),
                ("1.26.17", "1.26.18"),
                ("2023.7.22", "2024.2.2"),
                ("41.0.7", "42.0.0"),
                ("2.1.0+cu118", "2.1.1"),
                ("0.0.0.dev20240101", "0.0.0"),
            ],
        );
    }

    #[test]
    fn rejected() {
        assert_invalid(
            compare,
            &[
                "",
                "a",
                "1.0-SNAPSHOT",
                "1.0.x",
                "1.0.*",
                "1.0+",
                "1.0++a",
                "!1",
                "1!",
                "1.0 0",
                "1.0é",
                "99999999999999999999999",
            ],
        );
    }

    #[test]
    fn junk() {
        no_panic(compare, &["1.0", "1!1.0rc1.post2.dev3+local.7", "0"]);
    }
}
