//! Debian versions, `[epoch:]upstream[-revision]`, ordered as Debian Policy §5.6.12 says.
//!
//! Lenient where dpkg only warns: the upstream part need not start with a digit and any
//! printable ASCII is accepted. Rejected: an empty or non-numeric epoch, an empty upstream
//! part or revision, whitespace inside, non-ASCII.

use std::cmp::Ordering;

use super::cmp_digits;

/// A parsed version, borrowing from the input.
struct Version<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

fn parse(s: &str) -> Option<Version<'_>> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (epoch, rest)
        }
        None => ("", s),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => {
            if revision.is_empty() {
                return None;
            }
            (upstream, revision)
        }
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return None;
    }
    Some(Version {
        epoch: epoch.as_bytes(),
        upstream: upstream.as_bytes(),
        revision: revision.as_bytes(),
    })
}

/// Orders two Debian versions; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let a = parse(a)?;
    let b = parse(b)?;
    Some(
        cmp_digits(a.epoch, b.epoch)
            .then_with(|| verrevcmp(a.upstream, b.upstream))
            .then_with(|| verrevcmp(a.revision, b.revision)),
    )
}

/// The weight of a byte in a non-digit run; `None` is the end of the string.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (byte by byte, weighted by [`order`]) and
/// digit runs (numerically).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let not_digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while not_digit(a, i) || not_digit(b, j) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let a_end = a[i..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(a.len(), |p| i + p);
        let b_end = b[j..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| j + p);
        let ord = cmp_digits(&a[i..a_end], &b[j..b_end]);
        if ord != Ordering::Equal {
            return ord;
        }
        i = a_end;
        j = b_end;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testutil::*;

    #[test]
    fn policy_examples() {
        assert_ascending(
            compare,
            &[
                "1.0~rc1~git1",
                "1.0~rc1",
                "1.0~rc2",
                "1.0",
                "1.0a",
                "1.0+b1",
                "1.0.1",
                "1.1",
                "1.10",
                "2.0",
                "1:0.1",
                "2:0.0.1",
            ],
        );
    }

    #[test]
    fn tilde_sorts_before_the_end() {
        assert_less(
            compare,
            &[
                ("1.0~", "1.0"),
                ("1.0~~", "1.0~"),
                ("1.0~~a", "1.0~"),
                ("1.0~beta", "1.0"),
                ("1.0-1~bpo1", "1.0-1"),
                ("2.0~", "2.0.0"),
            ],
        );
    }

    #[test]
    fn letters_before_other_characters() {
        // A letter sorts before '+', '.', '-' and ':' (ASCII + 256), the end before all.
        assert_less(
            compare,
            &[
                ("1.0", "1.0a"),
                ("1.0a", "1.0+"),
                ("1.0z", "1.0."),
                ("1.0Z", "1.0a"),
                ("1.0a", "1.0.0"),
                ("1+", "1."),
            ],
        );
    }

    #[test]
    fn epochs() {
        assert_less(
            compare,
            &[
                ("2.0", "1:0.1"),
                ("1:9.9", "2:0.1"),
                ("9:1.0", "10:0.1"),
                (
                    "999999999999999999999999999:1",
                    "1000000000000000000000000000:0",
                ),
            ],
        );
        assert_equal(compare, &[("0:1.0", "1.0"), ("00:1.0-1", "1.0-1")]);
    }

    #[test]
    fn revisions() {
        assert_ascending(
            compare,
            &[
                "1.0",
                "1.0-0.1",
                "1.0-1",
                "1.0-1+b1",
                "1.0-1+deb12u1",
                "1.0-1.1",
                "1.0-2",
                "1.0-10",
            ],
        );
        assert_less(
            compare,
            &[
                ("2.36-9+deb12u4", "2.36-9+deb12u7"),
                ("2.36-9+deb12u9", "2.36-9+deb12u10"),
                ("3.0.11-1~deb12u2", "3.0.11-1"),
                ("1.2.11.dfsg-2+deb11u2", "1.2.13.dfsg-1"),
            ],
        );
        // The revision is what follows the last hyphen.
        assert_less(
            compare,
            &[("1.0-rc1-1", "1.0-rc1-2"), ("1.0-a-9", "1.0-b-1")],
        );
        // No revision is revision "0".
        assert_equal(compare, &[("1.0", "1.0-0"), ("1.0", "1.0-00")]);
    }

    #[test]
    fn digits_of_any_length() {
        assert_equal(
            compare,
            &[
                ("1.001", "1.1"),
                ("1.000", "1.0"),
                ("1.0", "1.00"),
                (
                    "999999999999999999999999999",
                    "0999999999999999999999999999",
                ),
            ],
        );
        assert_less(
            compare,
            &[
                ("1.9", "1.10"),
                ("20231212", "20240101"),
                (
                    "1.999999999999999999999999999",
                    "1.1000000000000000000000000000",
                ),
            ],
        );
    }

    #[test]
    fn real_world() {
        assert_ascending(
            compare,
            &[
                "1.1.1n-0+deb10u3",
                "1.1.1n-0+deb11u4",
                "1.1.1w-0+deb11u1",
                "3.0.11-1~deb12u1",
                "3.0.11-1~deb12u2",
                "3.0.15-1~deb12u1",
                "3.0.15-1",
            ],
        );
        assert_ascending(
            compare,
            &[
                "2.35-0ubuntu3",
                "2.35-0ubuntu3.1",
                "2.35-0ubuntu3.10",
                "2.39-0ubuntu8",
                "1:2.3-1",
            ],
        );
        assert_less(
            compare,
            &[
                ("7.88.1-10+deb12u5", "7.88.1-10+deb12u8"),
                ("1:1.2.13.dfsg-1", "1:1.3.dfsg-3"),
                ("252.22-1~deb12u1", "252.26-1~deb12u2"),
                ("5.2.15-2", "5.2.15-2+b7"),
            ],
        );
        // Upstream parts may hold hyphens and colons when there is a revision and an epoch.
        assert_less(
            compare,
            &[("1:2.0-beta-1", "1:2.0-beta-2"), ("1:a:b-1", "1:a:c-1")],
        );
    }

    #[test]
    fn sloppy_but_accepted() {
        assert_equal(compare, &[(" 1.0-1 ", "1.0-1")]);
        // dpkg only warns when the upstream part does not start with a digit.
        assert_less(compare, &[("a1", "b1"), ("~1", "1")]);
    }

    #[test]
    fn rejected() {
        assert_invalid(
            compare,
            &[
                "", " ", ":", "-", "1:", ":1", "a:1", "-1:1", "1.0-", "1:-1", "-1", "1 0", "é",
                "1.0é",
            ],
        );
    }

    #[test]
    fn junk() {
        no_panic(compare, &["1.0", "1:1.0-1", "~", "1.0~rc1"]);
        assert_equal(compare, &[("~~", "~~")]);
    }
}
