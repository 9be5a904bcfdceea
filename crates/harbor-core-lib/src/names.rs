//! Repository names, tags and references, validated by the OCI distribution spec's rules.

use std::fmt;

use crate::digest::Digest;
use crate::error::Error;

/// Longest repository name accepted.
pub const MAX_NAME_LEN: usize = 255;

/// A validated repository name such as `library/nginx` or `a/b/c/d`.
///
/// Each `/`-separated component matches `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

impl RepositoryName {
    /// Validates a repository name.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::NameInvalid("repository name is empty".into()));
        }
        if s.len() > MAX_NAME_LEN {
            return Err(Error::NameInvalid(format!(
                "repository name is {} characters long; the limit is {MAX_NAME_LEN}",
                s.len()
            )));
        }
        if let Some(bad) = s.split('/').find(|c| !valid_component(c)) {
            return Err(Error::NameInvalid(format!(
                "invalid repository name component {bad:?}: components are lowercase letters and digits separated by '.', '_', '__' or '-'"
            )));
        }
        Ok(RepositoryName(s.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first path component (Harbor's project).
    pub fn first_component(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    // Leading run of [a-z0-9]+.
    let start = i;
    while i < b.len() && alnum(b[i]) {
        i += 1;
    }
    if i == start {
        return false;
    }
    while i < b.len() {
        // Separator: '.', '_', '__' or '-'+.
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    true
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Longest tag accepted.
pub const MAX_TAG_LEN: usize = 128;

/// A validated tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Validates a tag.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= MAX_TAG_LEN
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b[1..]
                .iter()
                .all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'-'));
        if ok {
            Ok(Tag(s.to_owned()))
        } else {
            let shown: String = s.chars().take(150).collect();
            Err(Error::TagInvalid(format!(
                "invalid tag {shown:?}: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}"
            )))
        }
    }

    /// The tag as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// What a manifest URL points at: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A mutable tag.
    Tag(Tag),
    /// An immutable content digest.
    Digest(Digest),
}

impl Reference {
    /// Parses a reference: anything with a `:` is a digest, anything else a tag.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.contains(':') {
            Digest::parse(s).map(Reference::Digest)
        } else {
            Tag::parse(s).map(Reference::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in [
            "a",
            "library/nginx",
            "a/b/c/d",
            "my-app",
            "my--app",
            "my.app",
            "my_app",
            "my__app",
            "0",
            "a1/b2.c3_d4-e5",
            &"a".repeat(255),
        ] {
            assert!(RepositoryName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            RepositoryName::parse("library/nginx")
                .unwrap()
                .first_component(),
            "library"
        );
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in [
            "",
            "../x",
            "x/..",
            ".",
            "A",
            "library/Nginx",
            "a//b",
            "/a",
            "a/",
            "a___b",
            "a..b",
            "-a",
            "a-",
            "a.",
            "_a",
            "a b",
            "a%2fb",
            "a\\b",
            &"a".repeat(256),
            &"a".repeat(300),
        ] {
            let err = RepositoryName::parse(bad).unwrap_err();
            assert!(matches!(err, Error::NameInvalid(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn validates_tags() {
        for ok in ["latest", "v1.0.0", "_x", "A-b_c.d", &"t".repeat(128)] {
            assert!(Tag::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a:b", "a/b", "a b", "ä", &"t".repeat(129)] {
            assert!(
                matches!(Tag::parse(bad), Err(Error::TagInvalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_references() {
        assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
        assert!(matches!(
            Reference::parse(
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            Ok(Reference::Digest(_))
        ));
        assert!(matches!(
            Reference::parse("sha256:abc"),
            Err(Error::DigestInvalid(_))
        ));
    }
}
