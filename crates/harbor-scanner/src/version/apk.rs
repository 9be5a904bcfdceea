//! Alpine (apk) versions, `N(.N)*[a-z](_suf[N])*[~hash][-rN]`, ordered as apk-tools'
//! `version.c` orders them.
//!
//! The grammar is apk's own: a version apk would refuse is `None` here.
//! Later numbers that start with `0` compare as strings (`1.01 < 1.1`, `1.0 < 1.00`), as apk
//! does; every other number compares numerically, at any length.

use std::cmp::Ordering;

use super::cmp_digits;

/// Token kinds, in the order apk-tools gives them: the order matters when one version ends
/// or changes kind before the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

/// The value of a `_suffix`; below [`SUFFIX_NONE`] is a pre-release.
const SUFFIXES: [(&str, u8); 9] = [
    ("alpha", 1),
    ("beta", 2),
    ("pre", 3),
    ("rc", 4),
    ("cvs", 6),
    ("svn", 7),
    ("git", 8),
    ("hg", 9),
    ("p", 10),
];
const SUFFIX_NONE: u8 = 5;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    value: &'a [u8],
    suffix: u8,
}

impl<'a> Token<'a> {
    fn new(kind: Kind, value: &'a [u8]) -> Self {
        Token {
            kind,
            value,
            suffix: 0,
        }
    }
}

/// The length of the leading run of `s` whose bytes satisfy `pred`.
fn span(s: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !pred(c)).unwrap_or(s.len())
}

/// Splits `s` into tokens ending with [`Kind::End`]; `None` when apk would refuse it.
fn tokenize(s: &str) -> Option<Vec<Token<'_>>> {
    let s = s.trim().as_bytes();
    let n = span(s, |c| c.is_ascii_digit());
    if n == 0 {
        return None;
    }
    let mut tokens = vec![Token::new(Kind::InitialDigit, &s[..n])];
    let mut rest = &s[n..];
    let mut last = Kind::InitialDigit;
    while let Some(&c) = rest.first() {
        let token = match c {
            b'a'..=b'z' if last <= Kind::Digit => {
                let t = Token::new(Kind::Letter, &rest[..1]);
                rest = &rest[1..];
                t
            }
            b'.' if last <= Kind::Digit => {
                let n = span(&rest[1..], |c| c.is_ascii_digit());
                if n == 0 {
                    return None;
                }
                let t = Token::new(Kind::Digit, &rest[1..=n]);
                rest = &rest[1 + n..];
                t
            }
            b'0'..=b'9' if last == Kind::Suffix => {
                let n = span(rest, |c| c.is_ascii_digit());
                let t = Token::new(Kind::SuffixNo, &rest[..n]);
                rest = &rest[n..];
                t
            }
            b'_' if last <= Kind::SuffixNo => {
                let n = span(&rest[1..], |c| c.is_ascii_lowercase());
                let name = &rest[1..=n];
                let (_, value) = SUFFIXES.iter().find(|(s, _)| s.as_bytes() == name)?;
                rest = &rest[1 + n..];
                Token {
                    kind: Kind::Suffix,
                    value: name,
                    suffix: *value,
                }
            }
            b'~' if last < Kind::CommitHash => {
                let n = span(&rest[1..], |c| c.is_ascii_hexdigit());
                if n == 0 {
                    return None;
                }
                let t = Token::new(Kind::CommitHash, &rest[1..=n]);
                rest = &rest[1 + n..];
                t
            }
            b'-' if last < Kind::RevisionNo && rest.get(1) == Some(&b'r') => {
                let n = span(&rest[2..], |c| c.is_ascii_digit());
                if n == 0 {
                    return None;
                }
                let t = Token::new(Kind::RevisionNo, &rest[2..2 + n]);
                rest = &rest[2 + n..];
                t
            }
            _ => return None,
        };
        last = token.kind;
        tokens.push(token);
    }
    tokens.push(Token::new(Kind::End, &[]));
    Some(tokens)
}

/// Compares two tokens of the same kind.
fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        // A later number with a leading zero compares as a string ("fraction").
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
            cmp_digits(a.value, b.value)
        }
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::Letter | Kind::CommitHash | Kind::End => a.value.cmp(b.value),
    }
}

/// Orders two apk versions; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let ta = tokenize(a)?;
    let tb = tokenize(b)?;
    for (x, y) in ta.iter().zip(&tb) {
        if x.kind != y.kind {
            // Equal so far and one changes kind (or ends) first: a pre-release suffix makes
            // its version older, otherwise the version whose token kind comes later (the end
            // comes last) is older.
            if x.kind == Kind::Suffix && x.suffix < SUFFIX_NONE {
                return Some(Ordering::Less);
            }
            if y.kind == Kind::Suffix && y.suffix < SUFFIX_NONE {
                return Some(Ordering::Greater);
            }
            return Some(y.kind.cmp(&x.kind));
        }
        if x.kind == Kind::End {
            break;
        }
        let ord = token_cmp(x, y);
        if ord != Ordering::Equal {
            return Some(ord);
        }
    }
    Some(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testutil::*;

    #[test]
    fn brief_examples() {
        assert_less(
            compare,
            &[
                ("1.2.3-r0", "1.2.3-r1"),
                ("1.2.3_rc1", "1.2.3"),
                ("1.2.3", "1.2.3_p1"),
                ("1.2.3", "1.2.3a"),
                ("3.0.8-r0", "3.0.10-r0"),
                ("1.1.1t-r0", "1.1.1u-r0"),
                ("2.0_alpha1", "2.0_beta1"),
            ],
        );
    }

    #[test]
    fn suffix_order() {
        assert_ascending(
            compare,
            &[
                "1.0_alpha",
                "1.0_alpha1",
                "1.0_alpha2",
                "1.0_beta1",
                "1.0_pre1",
                "1.0_rc1",
                "1.0_rc2",
                "1.0_rc10",
                "1.0",
                "1.0_cvs1",
                "1.0_svn1",
                "1.0_git20240101",
                "1.0_hg1",
                "1.0_p1",
                "1.0_p2",
                "1.0a",
                "1.0.1",
            ],
        );
        // Several suffixes: a later pre-release suffix is older than none.
        assert_less(
            compare,
            &[
                ("0.1.0_alpha_pre2", "0.1.0_alpha"),
                ("1.0_alpha", "1.0_alpha_p1"),
                ("1.0_rc1_p1", "1.0_rc2"),
            ],
        );
    }

    #[test]
    fn leading_zeros_compare_as_fractions() {
        assert_ascending(compare, &["1.001", "1.01", "1.09", "1.1", "1.10"]);
        assert_less(
            compare,
            &[("1.0", "1.00"), ("1.05", "1.1"), ("1.09", "1.10")],
        );
        // The first number is always numeric.
        assert_equal(compare, &[("01.0", "1.0"), ("007", "7")]);
    }

    #[test]
    fn ends_and_revisions() {
        // A longer version is newer unless what follows is a pre-release suffix.
        assert_ascending(
            compare,
            &[
                "1.2",
                "1.2-r0",
                "1.2-r1",
                "1.2.0",
                "1.2.0-r5",
                "1.2.1_rc1",
                "1.2.1",
                "1.2.1-r0",
            ],
        );
        assert_less(
            compare,
            &[
                ("1.2.3-r9", "1.2.3-r10"),
                (
                    "1.2.3-r999999999999999999999999",
                    "1.2.3-r1000000000000000000000000",
                ),
            ],
        );
    }

    #[test]
    fn commit_hash() {
        assert_less(
            compare,
            &[
                ("1.0", "1.0~abc"),
                ("1.0~abc", "1.0~abd"),
                ("1.0~abc", "1.0~abc-r0"),
                ("1.0_git1~abc", "1.0_git2~abc"),
            ],
        );
        assert!(compare("1.0~", "1.0").is_none());
        assert!(compare("1.0~xyz", "1.0").is_none());
    }

    #[test]
    fn real_world() {
        assert_ascending(
            compare,
            &[
                "1.1.1s-r0",
                "1.1.1t-r0",
                "1.1.1t-r1",
                "1.1.1u-r0",
                "3.0.8-r0",
                "3.0.8-r3",
                "3.0.10-r0",
                "3.1.4-r5",
            ],
        );
        assert_less(
            compare,
            &[
                ("1.36.1-r2", "1.36.1-r5"),
                ("2.38-r10", "2.40-r0"),
                ("1.2.13-r0", "1.2.13-r1"),
                ("8.5.0-r0", "8.9.1-r0"),
                ("2024a-r0", "2024b-r0"),
                // `_git` is a post-release suffix.
                ("0.5.0-r0", "0.5.0_git20230101-r0"),
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
                "v1.0",
                ".1",
                "1.",
                "1..2",
                "1_",
                "1_foo",
                "1_ALPHA",
                "1-r",
                "1-1",
                "1-rc1",
                "1.0A",
                "1.0a.1",
                "1.0ab",
                "1.0a1",
                "1.0-r1-r2",
                "1.0-r1_p1",
                "1.0-r1~ab",
                "1.0~ab~cd",
                "1 0",
                "1.0é",
            ],
        );
    }

    #[test]
    fn junk() {
        no_panic(compare, &["1.0", "1.0_rc1", "1.0-r0", "1.0~ab12"]);
    }
}
