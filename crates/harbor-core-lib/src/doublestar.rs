//! Doublestar patterns, as Harbor's immutability and retention selectors use them
//! (Go's `bmatcuk/doublestar`), matched against `/`-separated names:
//!
//! - `*` matches any run of characters except `/`; `?` one character except `/`;
//! - `**` as a whole path segment matches any number of segments: `a/**/b` matches `a/b`
//!   and `a/x/y/b`, `a/**` matches `a` and everything below it, `**` everything
//!   (elsewhere, as in `a**`, it acts as `*`);
//! - `[abc]`, `[a-z]`, `[!a]` or `[^a]` one character of a class (never `/`);
//! - `{a,b}` alternatives, which may nest and contain any of the above;
//! - `\` escapes the next character.
//!
//! Matching runs in time proportional to pattern length × name length per alternative (no
//! exponential backtracking).

use std::fmt;

/// The most alternatives one pattern's braces may expand to.
const MAX_ALTERNATIVES: usize = 256;
/// The longest pattern accepted, in characters.
const MAX_PATTERN: usize = 1024;

/// Why a pattern is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// One given character.
    Lit(char),
    /// `?`: one character except `/`.
    Any,
    /// `[...]`: one character (not `/`) in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `*`: any run without `/`.
    Star,
    /// `**` alone in the pattern, or between `/`-free surroundings at both ends: anything.
    Globstar,
    /// `**/` as a leading or middle segment: nothing, or anything that ends with `/`.
    DirsSlash,
    /// `/**` at the end: nothing, or `/` followed by anything.
    SlashAll,
}

/// A compiled doublestar pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    alternatives: Vec<Vec<Token>>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl Pattern {
    /// Compiles `pattern`; fails on unbalanced braces or brackets, a trailing `\`, or too
    /// many alternatives.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        if pattern.chars().count() > MAX_PATTERN {
            return Err(PatternError(format!(
                "pattern is longer than {MAX_PATTERN} characters"
            )));
        }
        let chars: Vec<char> = pattern.chars().collect();
        let expanded = expand(&chars)?;
        let alternatives = expanded
            .iter()
            .map(|alt| tokenize(alt))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pattern {
            source: pattern.to_owned(),
            alternatives,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True if the whole of `name` matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        self.alternatives.iter().any(|t| Matcher::new(t, &s).run())
    }
}

/// True if `name` matches `pattern`; an invalid pattern matches nothing.
pub fn matches(pattern: &str, name: &str) -> bool {
    Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}

/// Expands `{a,b}` alternatives (outermost first, recursively) into brace-free patterns,
/// keeping escapes so that tokenizing sees them.
fn expand(p: &[char]) -> Result<Vec<Vec<char>>, PatternError> {
    // Find the first top-level `{` and its matching `}`.
    let mut i = 0;
    let mut open = None;
    while i < p.len() {
        match p[i] {
            '\\' => i += 1,
            '[' => i = class_end(p, i)?,
            '{' => {
                open = Some(i);
                break;
            }
            '}' => return Err(PatternError("unbalanced '}' in pattern".into())),
            _ => {}
        }
        i += 1;
    }
    let Some(open) = open else {
        return Ok(vec![p.to_vec()]);
    };
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    let mut j = open;
    while j < p.len() {
        match p[j] {
            '\\' => j += 1,
            '[' => j = class_end(p, j)?,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&p[start..j]);
                    close = Some(j);
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(&p[start..j]);
                start = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    let Some(close) = close else {
        return Err(PatternError("unbalanced '{' in pattern".into()));
    };
    let prefix = &p[..open];
    let suffixes = expand(&p[close + 1..])?;
    let mut out = Vec::new();
    for part in parts {
        for middle in expand(part)? {
            for suffix in &suffixes {
                if out.len() >= MAX_ALTERNATIVES {
                    return Err(PatternError(format!(
                        "pattern expands to more than {MAX_ALTERNATIVES} alternatives"
                    )));
                }
                let mut alt = prefix.to_vec();
                alt.extend_from_slice(&middle);
                alt.extend_from_slice(suffix);
                out.push(alt);
            }
        }
    }
    Ok(out)
}

/// Index of the `]` closing the class that opens at `p[open]`.
fn class_end(p: &[char], open: usize) -> Result<usize, PatternError> {
    let mut i = open + 1;
    if matches!(p.get(i), Some('!' | '^')) {
        i += 1;
    }
    // A `]` right after the opening is a literal member.
    if p.get(i) == Some(&']') {
        i += 1;
    }
    while i < p.len() {
        match p[i] {
            '\\' => i += 1,
            ']' => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err(PatternError("unbalanced '[' in pattern".into()))
}

fn tokenize(p: &[char]) -> Result<Vec<Token>, PatternError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                let c = *p
                    .get(i + 1)
                    .ok_or_else(|| PatternError("pattern ends with '\\'".into()))?;
                out.push(Token::Lit(c));
                i += 2;
            }
            '?' => {
                out.push(Token::Any);
                i += 1;
            }
            '[' => {
                let end = class_end(p, i)?;
                out.push(class(&p[i + 1..end])?);
                i = end + 1;
            }
            '*' => {
                let mut j = i;
                while p.get(j) == Some(&'*') {
                    j += 1;
                }
                let segment_start = i == 0 || p[i - 1] == '/';
                let segment_end = j == p.len() || p[j] == '/';
                if j - i >= 2 && segment_start && segment_end {
                    if j == p.len() {
                        // `/**` at the end, or a pattern that is only `**`.
                        if out.last() == Some(&Token::Lit('/')) && i > 0 {
                            out.pop();
                            out.push(Token::SlashAll);
                        } else {
                            out.push(Token::Globstar);
                        }
                        i = j;
                    } else {
                        out.push(Token::DirsSlash);
                        i = j + 1; // the `/` belongs to the token
                    }
                } else {
                    out.push(Token::Star);
                    i = j;
                }
            }
            c => {
                out.push(Token::Lit(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

fn class(body: &[char]) -> Result<Token, PatternError> {
    let (negated, body) = match body.first() {
        Some('!' | '^') => (true, &body[1..]),
        _ => (false, body),
    };
    // Members with whether they were escaped (an escaped `-` is not a range).
    let mut members: Vec<(char, bool)> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] == '\\' {
            let c = *body
                .get(i + 1)
                .ok_or_else(|| PatternError("class ends with '\\'".into()))?;
            members.push((c, true));
            i += 2;
        } else {
            members.push((body[i], false));
            i += 1;
        }
    }
    if members.is_empty() {
        return Err(PatternError("empty character class in pattern".into()));
    }
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < members.len() {
        let (lo, _) = members[k];
        if k + 2 < members.len() && members[k + 1] == ('-', false) {
            let (hi, _) = members[k + 2];
            if hi < lo {
                return Err(PatternError(format!(
                    "invalid range {lo}-{hi} in character class"
                )));
            }
            ranges.push((lo, hi));
            k += 3;
        } else {
            ranges.push((lo, lo));
            k += 1;
        }
    }
    Ok(Token::Class { negated, ranges })
}

/// Memoised matching of one brace-free alternative.
struct Matcher<'a> {
    t: &'a [Token],
    s: &'a [char],
    memo: Vec<Option<bool>>,
}

impl<'a> Matcher<'a> {
    fn new(t: &'a [Token], s: &'a [char]) -> Self {
        Matcher {
            t,
            s,
            memo: vec![None; (t.len() + 1) * (s.len() + 1)],
        }
    }

    fn run(&mut self) -> bool {
        self.at(0, 0)
    }

    fn at(&mut self, ti: usize, si: usize) -> bool {
        let key = ti * (self.s.len() + 1) + si;
        if let Some(v) = self.memo[key] {
            return v;
        }
        let v = self.compute(ti, si);
        self.memo[key] = Some(v);
        v
    }

    fn compute(&mut self, ti: usize, si: usize) -> bool {
        let (t, s) = (self.t, self.s);
        let Some(tok) = t.get(ti) else {
            return si == s.len();
        };
        let c = s.get(si).copied();
        match tok {
            Token::Lit(l) => c == Some(*l) && self.at(ti + 1, si + 1),
            Token::Any => c.is_some_and(|c| c != '/') && self.at(ti + 1, si + 1),
            Token::Class { negated, ranges } => {
                c.is_some_and(|c| {
                    c != '/' && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                }) && self.at(ti + 1, si + 1)
            }
            Token::Star => {
                self.at(ti + 1, si) || (c.is_some_and(|c| c != '/') && self.at(ti, si + 1))
            }
            Token::Globstar => self.at(ti + 1, si) || (c.is_some() && self.at(ti, si + 1)),
            Token::DirsSlash => {
                self.at(ti + 1, si) || (si..s.len()).any(|k| s[k] == '/' && self.at(ti + 1, k + 1))
            }
            Token::SlashAll => {
                self.at(ti + 1, si)
                    || (c == Some('/') && (si + 1..=s.len()).any(|k| self.at(ti + 1, k)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p).unwrap().matches(s)
    }

    #[test]
    fn literals_match_whole_names_only() {
        assert!(m("v1", "v1"));
        assert!(!m("v1", "v10"));
        assert!(!m("v1", "xv1"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn star_stays_within_a_segment() {
        assert!(m("*", "latest"));
        assert!(m("*", ""));
        assert!(!m("*", "a/b"));
        assert!(m("v*", "v1.2.3"));
        assert!(!m("v*", "release-v1"));
        assert!(m("*-rc", "1.0-rc"));
        assert!(m("a/*", "a/b"));
        assert!(!m("a/*", "a/b/c"));
        assert!(m("*/*", "a/b"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("v?", "v1"));
        assert!(!m("v?", "v"));
        assert!(!m("v?", "v12"));
        assert!(!m("a?b", "a/b"));
        assert!(m("caf?", "café"));
    }

    #[test]
    fn globstar_crosses_segments() {
        assert!(m("**", ""));
        assert!(m("**", "app"));
        assert!(m("**", "team/app/web"));
        assert!(m("**/app", "app"));
        assert!(m("**/app", "team/app"));
        assert!(m("**/app", "a/b/c/app"));
        assert!(!m("**/app", "team/webapp"));
        assert!(m("team/**", "team/app"));
        assert!(m("team/**", "team/a/b"));
        assert!(m("team/**", "team"));
        assert!(!m("team/**", "teams/app"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/xb"));
        assert!(m("**/*-dev", "x/y/z-dev"));
        // Not a whole segment: acts as `*`.
        assert!(m("a**", "abc"));
        assert!(!m("a**", "a/b"));
    }

    #[test]
    fn classes() {
        assert!(m("v[0-9]", "v7"));
        assert!(!m("v[0-9]", "vx"));
        assert!(m("[abc]x", "bx"));
        assert!(m("[!abc]x", "dx"));
        assert!(!m("[!abc]x", "ax"));
        assert!(m("[^a]", "b"));
        assert!(!m("a[/]b", "a/b"));
        assert!(m("[]]", "]"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "m"));
    }

    #[test]
    fn alternatives() {
        assert!(m("{v1,v2}", "v1"));
        assert!(m("{v1,v2}", "v2"));
        assert!(!m("{v1,v2}", "v3"));
        assert!(m("release-{1.*,2.0}", "release-1.4"));
        assert!(m("release-{1.*,2.0}", "release-2.0"));
        assert!(!m("release-{1.*,2.0}", "release-2.1"));
        assert!(m("{a,b{c,d}}", "bd"));
        assert!(m("{app,team/**}", "team/x/y"));
        assert!(m("x{,y}", "x"));
        assert!(m("{a,b}-{c,d}", "b-c"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\{b", "a{b"));
        assert!(m("\\?", "?"));
    }

    #[test]
    fn invalid_patterns() {
        for p in ["{a,b", "a}", "[ab", "a\\", "[]", "[z-a]"] {
            assert!(Pattern::new(p).is_err(), "{p} should be invalid");
            assert!(!matches(p, "a"));
        }
        let many = "{a,b}".repeat(9);
        assert!(Pattern::new(&many).is_err());
    }

    #[test]
    fn no_exponential_blowup() {
        let p = Pattern::new(&"*a".repeat(30)).unwrap();
        let s = "a".repeat(29) + "b";
        assert!(!p.matches(&s));
        let p = Pattern::new(&"**/".repeat(20)).unwrap();
        assert!(!p.matches("x/".repeat(200).trim_end_matches('/')));
    }
}
