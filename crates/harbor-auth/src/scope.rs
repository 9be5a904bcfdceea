//! Token scopes: `repository:library/nginx:pull,push`, `registry:catalog:*`.

use crate::AuthError;

/// One requested scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// `repository`, `registry`, ...
    pub kind: String,
    /// The resource name; may itself contain `:` (e.g. a registry host with a port).
    pub name: String,
    /// Requested actions.
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses `type:name:actions`. The type ends at the first `:` and the actions start
    /// after the last one, so the name may contain colons.
    pub fn parse(s: &str) -> Result<Self, AuthError> {
        let bad = || AuthError::InvalidScope(s.chars().take(200).collect());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
        let valid = |x: &str| !x.is_empty() && !x.chars().any(char::is_whitespace);
        if !valid(kind) || !valid(name) {
            return Err(bad());
        }
        let actions: Vec<String> = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if actions.iter().any(|a| !valid(a)) {
            return Err(bad());
        }
        Ok(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }
}

/// Most scopes one token request may ask for (clients ask for one to a few; an unbounded
/// number would make tokens, and the work to grant them, as large as a caller likes).
pub const MAX_SCOPES: usize = 32;

/// Parses every `scope` query value; a value may hold several scopes separated by spaces.
/// More than [`MAX_SCOPES`] fail with [`AuthError::TooManyScopes`].
pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Scope>, AuthError> {
    let mut scopes = Vec::new();
    for s in values.into_iter().flat_map(str::split_whitespace) {
        if scopes.len() == MAX_SCOPES {
            return Err(AuthError::TooManyScopes);
        }
        scopes.push(Scope::parse(s)?);
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scopes() {
        let s = Scope::parse("repository:library/nginx:pull,push").unwrap();
        assert_eq!(
            (s.kind.as_str(), s.name.as_str()),
            ("repository", "library/nginx")
        );
        assert_eq!(s.actions, ["pull", "push"]);
        let s = Scope::parse("repository:host:5000/a/b:pull").unwrap();
        assert_eq!(s.name, "host:5000/a/b");
        let s = Scope::parse("registry:catalog:*").unwrap();
        assert_eq!((s.kind.as_str(), s.actions[0].as_str()), ("registry", "*"));
        assert!(Scope::parse("repository:x:").unwrap().actions.is_empty());
        let all = parse_all(["repository:a:pull repository:b:push", "registry:catalog:*"]).unwrap();
        assert_eq!(all.len(), 3);
        for bad in [
            "",
            "repository",
            "repository:",
            "repository:x",
            ":x:pull",
            "repository::pull",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
    }
}
