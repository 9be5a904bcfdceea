//! RPM versions, `[epoch:]version[-release]`: the epoch numerically, then version and release
//! with `rpmvercmp`.
//!
//! A missing epoch is `0`. A missing release sorts before any release (`1.0 < 1.0-1`), as
//! OSV's reference matcher orders them; rpm itself skips the release when one side has none.
//! Rejected: an empty string, version or release, a non-numeric epoch, whitespace, non-ASCII.

use std::cmp::Ordering;

use super::cmp_digits;

struct Evr<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    release: &'a [u8],
}

fn parse(s: &str) -> Option<Evr<'_>> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => {
            if !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (epoch, rest)
        }
        None => ("", s),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((version, release)) => {
            if release.is_empty() {
                return None;
            }
            (version, release)
        }
        None => (rest, ""),
    };
    if version.is_empty() {
        return None;
    }
    Some(Evr {
        epoch: epoch.as_bytes(),
        version: version.as_bytes(),
        release: release.as_bytes(),
    })
}

/// Orders two RPM versions; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let a = parse(a)?;
    let b = parse(b)?;
    Some(
        cmp_digits(a.epoch, b.epoch)
            .then_with(|| rpmvercmp(a.version, b.version))
            .then_with(|| rpmvercmp(a.release, b.release)),
    )
}

/// rpm's `rpmvercmp`: runs of digits (numerically) or letters (bytewise); any other byte
/// separates them, except `~` (before everything, even the end) and `^` (after the end,
/// before anything else). A number is newer than letters.
fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let is_sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        i += a[i..].iter().take_while(|c| is_sep(c)).count();
        j += b[j..].iter().take_while(|c| is_sep(c)).count();
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());

        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }

        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }

        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };

        let numeric = ca.is_ascii_digit();
        let in_segment = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let a_len = a[i..].iter().take_while(|c| in_segment(c)).count();
        let b_len = b[j..].iter().take_while(|c| in_segment(c)).count();
        if b_len == 0 {
            // Different kinds of segment: the numeric one is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[i..i + a_len], &b[j..j + b_len]);
        let ord = if numeric {
            cmp_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i += a_len;
        j += b_len;
    }
    // Whichever has something left (other than separators) is newer.
    match (i < a.len(), j < b.len()) {
        (false, false) => Ordering::Equal,
        (false, true) => Ordering::Less,
        (true, _) => Ordering::Greater,
    }
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
                ("1.0~rc1", "1.0"),
                ("1.0", "1.0^git1"),
                ("1.0^git1", "1.0.1"),
                ("1:9.9", "2:1.0"),
                ("1.0-1.el9", "1.0-2.el9"),
                ("1.0a", "1.0.1"),
            ],
        );
    }

    #[test]
    fn tilde_and_caret() {
        assert_ascending(
            compare,
            &[
                "1.0~~",
                "1.0~alpha",
                "1.0~rc1",
                "1.0~rc2",
                "1.0",
                "1.0^",
                "1.0^git1",
                "1.0^git1^post1",
                "1.0^git2",
                "1.0a",
                "1.0.1",
            ],
        );
        assert_less(
            compare,
            &[
                ("1.0~rc1^git1", "1.0~rc1^git2"),
                ("1.0~rc1^git1", "1.0"),
                ("1.0^git1~pre", "1.0^git1"),
            ],
        );
    }

    #[test]
    fn segments() {
        assert_ascending(
            compare,
            &["1.0", "1.0a", "1.0b", "1.0.1", "1.1", "1.2", "1.10", "2"],
        );
        // Numeric beats alpha, numbers compare numerically, letters bytewise.
        assert_less(
            compare,
            &[
                ("1.a", "1.1"),
                ("1.Z", "1.a"),
                ("2.0", "10.0"),
                (
                    "1.999999999999999999999999999",
                    "1.1000000000000000000000000000",
                ),
                ("a", "b"),
                ("abc", "abd"),
                ("1.0.0", "1.0.0.0"),
            ],
        );
        // Separators only separate; leading zeros do not count.
        assert_equal(
            compare,
            &[
                ("1.0", "1_0"),
                ("1.0", "1+0"),
                ("1..0", "1.0"),
                ("1.0.", "1.0"),
                ("1.01", "1.1"),
                ("1.001", "1.1"),
                ("1a", "1.a"),
            ],
        );
    }

    #[test]
    fn epochs_and_releases() {
        assert_ascending(
            compare,
            &[
                "1.0",
                "1.0-1",
                "1.0-1.el9",
                "1.0-1.el9_1",
                "1.0-2.el9",
                "1.0-10.el9",
                "1.1-1",
                "1:0.1-1",
                "2:0-1",
            ],
        );
        assert_equal(
            compare,
            &[
                ("0:1.0-1", "1.0-1"),
                (":1.0-1", "1.0-1"),
                ("000:1.0", "1.0"),
            ],
        );
        // The release is what follows the last hyphen.
        assert_less(compare, &[("1.0-rc1-1", "1.0-rc1-2")]);
    }

    #[test]
    fn real_world() {
        assert_ascending(
            compare,
            &[
                "3.0.7-24.el9",
                "3.0.7-25.el9_3",
                "3.0.7-27.el9",
                "1:3.0.7-28.el9_4",
                "1:3.0.7-28.el9_5.1",
                "1:3.2.2-6.el9_5",
            ],
        );
        assert_less(
            compare,
            &[
                ("2.34-60.el9", "2.34-83.el9_3.7"),
                ("5.14.0-362.8.1.el9_3", "5.14.0-362.13.1.el9_3"),
                ("1.2.11-40.el9", "1.2.11-41.el9"),
                ("0.9.8-0.1.beta1.fc39", "0.9.8-1.fc39"),
            ],
        );
    }

    #[test]
    fn rejected() {
        assert_invalid(
            compare,
            &[
                "", " ", ":", "-", "1:", "a:1.0", "-1:1.0", "1.0-", "1:-1", "-1", "1 0", "1.0é",
            ],
        );
    }

    #[test]
    fn junk() {
        no_panic(
            compare,
            &["1.0", "1:1.0-1", "~", "^", "1.0~rc1", "1.0^git1"],
        );
        assert_equal(compare, &[("~~", "~~"), ("^^", "^^")]);
        assert_less(compare, &[("~~", "~"), ("~", "^")]);
    }
}
