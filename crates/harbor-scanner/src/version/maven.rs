//! Maven versions, ordered as Maven 3.9's `ComparableVersion` orders them.
//!
//! A version is split into numbers and qualifiers at `.`, `-` and digit/letter transitions;
//! a `-` or a transition opens a sub-list, and so does a qualifier after a `.` when a digit or
//! the end follows it (`1.foo == 1-foo`). Trailing null items
//! (`0`, `ga`, `final`, `release`, empty) are trimmed, so `1.0 == 1` and `1.0.0-ga == 1`.
//! Qualifiers order `alpha` = `a` < `beta` = `b` < `milestone` = `m` < `rc` = `cr` <
//! `snapshot` < release < `sp` < any other (case-insensitively, lexically). Any string is a
//! Maven version, once trimmed, except an empty one or one holding whitespace or control
//! characters.

use std::cmp::Ordering;

use super::{cmp_digits, trim_leading_zeros};

/// One item of a parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number: its digits without leading zeros (empty for zero).
    Int(String),
    /// A qualifier, lowercase, aliases resolved (`ga` is empty, `cr` is `rc`, ...).
    Str(String),
    /// A sub-list, opened by `-` or a digit/letter transition.
    List(Vec<Item>),
}

/// The known qualifiers in order; the empty one is the release.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: usize = 5;

/// A qualifier's sort key: its rank among [`QUALIFIERS`], unknown ones after them, lexically.
fn qualifier_key(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn new_qualifier(q: &str, followed_by_digit: bool) -> Item {
    let q = match q {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(q.to_owned())
}

fn new_item(digits: bool, text: &str) -> Item {
    if digits {
        let n = trim_leading_zeros(text.as_bytes());
        // `n` is a tail of `text`, ASCII digits only.
        Item::Int(text[text.len() - n.len()..].to_owned())
    } else {
        new_qualifier(text, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.is_empty(),
            Item::Str(q) => q.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares with another item, or with nothing (`None`, the padding of a shorter list).
    fn cmp_to(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(n), None) => {
                if n.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => cmp_digits(a.as_bytes(), b.as_bytes()),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(q), None) => qualifier_key(q).cmp(&(RELEASE, "")),
            (Item::Str(a), Some(Item::Str(b))) => qualifier_key(a).cmp(&qualifier_key(b)),
            (Item::Str(_), Some(_)) => Ordering::Less,
            (Item::List(items), None) => items
                .iter()
                .map(|i| i.cmp_to(None))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let ord = match (a.get(i), b.get(i)) {
            (Some(l), r) => l.cmp_to(r),
            (None, Some(r)) => r.cmp_to(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if ord.is_ne() {
            return ord;
        }
    }
    Ordering::Equal
}

/// Builds the nested lists: an arena of lists, each child list recorded in its parent as
/// `Node::List(index)`; children always have larger indices than their parents.
enum Node {
    Item(Item),
    List(usize),
}

struct Builder {
    lists: Vec<Vec<Node>>,
    current: usize,
}

impl Builder {
    fn push(&mut self, item: Item) {
        self.lists[self.current].push(Node::Item(item));
    }

    /// Opens a sub-list in the current list and makes it current.
    fn open(&mut self) {
        let index = self.lists.len();
        self.lists.push(Vec::new());
        self.lists[self.current].push(Node::List(index));
        self.current = index;
    }

    fn current_is_empty(&self) -> bool {
        self.lists[self.current].is_empty()
    }

    /// Trims trailing nulls from every list (children first), then builds the tree.
    fn finish(mut self) -> Vec<Item> {
        let mut empty = vec![false; self.lists.len()];
        for index in (0..self.lists.len()).rev() {
            let list = &mut self.lists[index];
            let mut i = list.len();
            while i > 0 {
                i -= 1;
                let (null, is_list) = match &list[i] {
                    Node::Item(item) => (item.is_null(), false),
                    Node::List(child) => (empty[*child], true),
                };
                if null {
                    list.remove(i);
                } else if !is_list {
                    break;
                }
            }
            empty[index] = list.is_empty();
        }
        let mut lists: Vec<Option<Vec<Node>>> = self.lists.into_iter().map(Some).collect();
        build(&mut lists, 0)
    }
}

fn build(lists: &mut [Option<Vec<Node>>], index: usize) -> Vec<Item> {
    let nodes = lists
        .get_mut(index)
        .and_then(Option::take)
        .unwrap_or_default();
    nodes
        .into_iter()
        .map(|node| match node {
            Node::Item(item) => item,
            Node::List(child) => Item::List(build(lists, child)),
        })
        .collect()
}

/// Parses as `ComparableVersion.parseVersion` does (Maven 3.9).
fn parse(s: &str) -> Option<Vec<Item>> {
    let s = s.trim();
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let v = s.to_lowercase();
    let mut b = Builder {
        lists: vec![Vec::new()],
        current: 0,
    };
    let mut digits = false;
    let mut start = 0;
    for (i, c) in v.char_indices() {
        match c {
            '.' => {
                if i == start {
                    b.push(Item::Int(String::new()));
                } else {
                    b.push(new_item(digits, &v[start..i]));
                }
                start = i + 1;
            }
            '-' => {
                if i == start {
                    b.push(Item::Int(String::new()));
                } else {
                    b.push(new_item(digits, &v[start..i]));
                }
                start = i + 1;
                b.open();
            }
            '0'..='9' => {
                if !digits && i > start {
                    // A qualifier after a `.` goes in its own sub-list, like after a `-`.
                    if !b.current_is_empty() {
                        b.open();
                    }
                    b.push(new_qualifier(&v[start..i], true));
                    start = i;
                    b.open();
                }
                digits = true;
            }
            _ => {
                if digits && i > start {
                    b.push(new_item(true, &v[start..i]));
                    start = i;
                    b.open();
                }
                digits = false;
            }
        }
    }
    if v.len() > start {
        if !digits && !b.current_is_empty() {
            b.open();
        }
        b.push(new_item(digits, &v[start..]));
    }
    Some(b.finish())
}

/// Orders two Maven versions; `None` when either is empty or holds whitespace or control
/// characters.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(cmp_lists(&parse(a)?, &parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testutil::*;

    /// The canonical form, as `ComparableVersion.getCanonical` prints it.
    fn canonical(s: &str) -> String {
        fn render(items: &[Item]) -> String {
            let mut out = String::new();
            for item in items {
                if !out.is_empty() {
                    out.push(if matches!(item, Item::List(_)) {
                        '-'
                    } else {
                        '.'
                    });
                }
                match item {
                    Item::Int(n) if n.is_empty() => out.push('0'),
                    Item::Int(n) | Item::Str(n) => out.push_str(n),
                    Item::List(items) => out.push_str(&render(items)),
                }
            }
            out
        }
        render(&parse(s).expect("a version"))
    }

    #[test]
    fn brief_examples() {
        assert_ascending(
            compare,
            &[
                "1.0-alpha1",
                "1.0-beta1",
                "1.0-rc1",
                "1.0-SNAPSHOT",
                "1.0",
                "1.0-sp1",
                "1.0.1",
            ],
        );
        assert_ascending(compare, &["2.14.1", "2.15.0", "2.17.1"]);
        assert_equal(compare, &[("1.0", "1"), ("1.0.0-ga", "1"), ("1.0.0", "1")]);
    }

    #[test]
    fn qualifier_order() {
        assert_ascending(
            compare,
            &[
                "1-alpha",
                "1-beta",
                "1-milestone",
                "1-rc",
                "1-snapshot",
                "1",
                "1-sp",
                "1-abc",
                "1-foo",
                "1-zzz",
            ],
        );
        assert_equal(
            compare,
            &[
                ("1-a1", "1-alpha-1"),
                ("1-b1", "1-beta-1"),
                ("1-m1", "1-milestone-1"),
                ("1-cr1", "1-rc1"),
                ("1-CR1", "1-rc-1"),
                ("1-ga", "1"),
                ("1-final", "1"),
                ("1-release", "1"),
                ("1.FINAL", "1"),
                ("1.0.0.RELEASE", "1"),
                ("1-SNAPSHOT", "1-snapshot"),
                ("1.0-Alpha1", "1-alpha-1"),
            ],
        );
        // A lone `a`, `b`, `m` not followed by a digit is an unknown qualifier.
        assert_less(compare, &[("1-sp", "1-a"), ("1-b", "1-c")]);
    }

    /// Examples from Maven's POM reference ("Version Order Specification"), as Maven's code
    /// orders them: where the prose says `1-ga-1` = `1-1`, the code (and so this) says `<`.
    #[test]
    fn pom_reference_examples() {
        assert_ascending(
            compare,
            &[
                "1", "1-ga.1", "1-sp", "1-sp-1", "1-sp.1", "1-foo", "1-foo2", "1-foo10", "1-ga-1",
                "1-1", "1.1",
            ],
        );
        assert_equal(
            compare,
            &[
                ("1.ga", "1-ga"),
                ("1-ga", "1-0"),
                ("1-0", "1.0"),
                ("1.0", "1"),
                ("1-a1", "1-alpha-1"),
                ("1.foo", "1-foo"),
                ("1.foo2", "1-foo2"),
            ],
        );
        // A qualifier after a dot counts as after a hyphen: 1.0.X1 < 1.0-X2 < 1.0.1.
        assert_less(
            compare,
            &[
                ("1.0.0.X1", "1.0.0-X2"),
                ("1.0.RC2", "1.0-RC3"),
                ("1.0-RC3", "1.0.1"),
            ],
        );
    }

    #[test]
    fn trimming() {
        for (v, c) in [
            ("1.0.0", "1"),
            ("1.ga", "1"),
            ("1.final", "1"),
            ("1.0", "1"),
            ("1.", "1"),
            ("1-", "1"),
            ("1.0.0-foo.0.0", "1-foo"),
            ("1.0.0-0.0.0", "1"),
            ("1-1.foo-bar1baz-.1", "1-1.foo-bar-1-baz-0.1"),
            ("1.0-alpha1", "1-alpha-1"),
            ("1.0.RC2", "1-rc-2"),
            ("1.0-SNAPSHOT", "1-snapshot"),
            ("2.17.1", "2.17.1"),
            ("007.0010", "7.10"),
        ] {
            assert_eq!(canonical(v), c, "{v}");
        }
    }

    /// Orders from Maven's `ComparableVersionTest`, checked against Maven 3.8.7's jar.
    #[test]
    fn comparable_version_test_order() {
        assert_ascending(compare, &["1", "1-1", "1.1", "1.2", "1.10", "2"]);
        assert_ascending(
            compare,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
        assert_ascending(
            compare,
            &[
                "2.0.a", "2.0-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
                "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
                "11", "11.a", "11b", "11c", "11m",
            ],
        );
        assert_equal(compare, &[("2.0.a", "2.0.0.a")]);
    }

    #[test]
    fn big_numbers() {
        assert_less(
            compare,
            &[
                ("1.2147483647", "1.2147483648"),
                ("1.9223372036854775807", "1.9223372036854775808"),
                (
                    "1.999999999999999999999999999",
                    "1.1000000000000000000000000000",
                ),
            ],
        );
        assert_equal(compare, &[("1.000000000000000000000000001", "1.1")]);
    }

    #[test]
    fn real_world() {
        assert_ascending(
            compare,
            &[
                "2.0-beta9",
                "2.0-rc1",
                "2.0",
                "2.12.4",
                "2.14.1",
                "2.15.0",
                "2.16.0",
                "2.17.0",
                "2.17.1",
            ],
        );
        assert_less(
            compare,
            &[
                ("5.3.17", "5.3.18"),
                ("5.3.18", "5.3.20.RELEASE"),
                ("2.13.4", "2.13.4.1"),
                ("2.13.4.1", "2.13.4.2"),
                ("31.1-android", "31.1-jre"),
                ("31.1-jre", "32.0.0-android"),
                ("9.4.48.v20220622", "9.4.51.v20230217"),
                ("1.0.0-M1", "1.0.0-RC1"),
                ("3.0.0-M1", "3.0.0"),
            ],
        );
    }

    #[test]
    fn rejected() {
        assert_invalid(compare, &["", " ", "1 0", "1.0\t1", "1.0\u{0}", "\u{0}"]);
    }

    #[test]
    fn junk() {
        no_panic(compare, &["1.0", "1.0-SNAPSHOT", "1-1.foo-bar1baz-.1"]);
        // Odd but accepted, as by Maven.
        assert_equal(compare, &[("-", "0"), (".", "0"), ("-0", "0")]);
        assert_less(compare, &[("f", "é"), ("1.0é", "1.0é1")]);
    }
}
