//! Paging (`page`, `page_size`, `X-Total-Count`, `Link`), Harbor's `q` filters and times.

use axum::Json;
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use harbor_core::identity::{Match, Page};
use serde::Serialize;

use super::error::{ApiError, ApiResult};

/// Largest `page_size`.
pub(crate) const MAX_PAGE_SIZE: u64 = 100;

/// The decoded query string.
pub(crate) fn query(uri: &Uri) -> Vec<(String, String)> {
    crate::oci::headers::query(uri)
}

/// A query parameter.
pub(crate) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `sort=a,-b` over the named `keys` (`-` for descending), for listings of `what`.
pub(crate) fn sort_keys<K: Copy>(
    s: Option<&str>,
    what: &str,
    keys: &[(&str, K)],
) -> ApiResult<Vec<(K, bool)>> {
    s.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (desc, name) = match item.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, item),
            };
            keys.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| (*k, desc))
                .ok_or_else(|| {
                    let names: Vec<&str> = keys.iter().map(|(n, _)| *n).collect();
                    ApiError::bad_request(format!(
                        "cannot sort {what} by {name:?}: use {}",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

/// `page` (from 1, default 1) and `page_size` (1..=100, default 10).
///
/// As Harbor: `page` 0 or below is the first page; `page_size` 0 or below means "no
/// limit", which here is the largest page ([`MAX_PAGE_SIZE`]). Above it is a `400`.
pub(crate) fn page(q: &[(String, String)]) -> ApiResult<Page> {
    let num = |name: &str, default: i64| -> ApiResult<i64> {
        match param(q, name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(format!("{name} must be a 64-bit integer, not {v:?}"))
            }),
        }
    };
    let page = u64::try_from(num("page", 1)?).unwrap_or(0).max(1);
    let page_size = match u64::try_from(num("page_size", 10)?) {
        Ok(0) | Err(_) => MAX_PAGE_SIZE,
        Ok(n) if n > MAX_PAGE_SIZE => {
            return Err(ApiError::unprocessable(format!(
                "page_size must be at most {MAX_PAGE_SIZE}"
            )));
        }
        Ok(n) => n,
    };
    Ok(Page { page, page_size })
}

/// A boolean query parameter (`true`/`false`, any case); anything else is Harbor's 422.
pub(crate) fn flag(q: &[(String, String)], name: &str, default: bool) -> ApiResult<bool> {
    match param(q, name) {
        None | Some("") => Ok(default),
        Some(v) => boolean(name, v),
    }
}

/// `true` or `false` (any case) in parameter `name`; anything else is Harbor's 422.
pub(crate) fn boolean(name: &str, v: &str) -> ApiResult<bool> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ApiError::unprocessable(format!(
            "{name} must be true or false, not {v:?}"
        )))
    }
}

/// One value of a `q` filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum QValue {
    /// `k=v`
    Exact(String),
    /// `k=~v`
    Fuzzy(String),
    /// `k=[min~max]` (either side may be empty)
    Range(String, String),
}

impl QValue {
    /// As a text match; ranges are not text filters.
    pub fn text(&self, key: &str) -> ApiResult<Match> {
        match self {
            QValue::Exact(v) => Ok(Match::Exact(v.clone())),
            QValue::Fuzzy(v) => Ok(Match::Fuzzy(v.clone())),
            QValue::Range(..) => Err(ApiError::bad_request(format!(
                "{key} does not take a range"
            ))),
        }
    }

    /// The exact value.
    pub fn exact(&self, key: &str) -> ApiResult<&str> {
        match self {
            QValue::Exact(v) => Ok(v),
            _ => Err(ApiError::bad_request(format!("{key} takes an exact value"))),
        }
    }
}

/// Parses Harbor's `q=k1=v1,k2=~v2,k3=[a~b]` into `(key, value)` pairs.
pub(crate) fn parse_q(q: Option<&str>) -> ApiResult<Vec<(String, QValue)>> {
    let Some(q) = q.filter(|q| !q.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in q.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&q[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&q[start..]);
    for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("invalid q item {item:?}: use key=value"))
        })?;
        let k = k.trim().to_owned();
        let v = v.trim();
        let value = if let Some(f) = v.strip_prefix('~') {
            QValue::Fuzzy(f.to_owned())
        } else if let Some(r) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let (a, b) = r.split_once('~').ok_or_else(|| {
                ApiError::bad_request(format!("invalid range for {k}: use [min~max]"))
            })?;
            QValue::Range(a.trim().to_owned(), b.trim().to_owned())
        } else {
            QValue::Exact(v.to_owned())
        };
        out.push((k, value));
    }
    Ok(out)
}

/// A list response: the JSON array, `X-Total-Count`, and `Link` to the previous and
/// next pages (other query parameters kept).
pub(crate) fn list<T: Serialize>(uri: &Uri, page: Page, total: u64, items: Vec<T>) -> Response {
    let mut resp = Json(items).into_response();
    let h = resp.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    let others: Vec<(String, String)> = query(uri)
        .into_iter()
        .filter(|(k, _)| k != "page" && k != "page_size")
        .collect();
    let link = |p: u64| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &others {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &p.to_string());
        ser.append_pair("page_size", &page.page_size.to_string());
        // The router is nested under `/api/v2.0`, which `uri` no longer shows.
        let path = uri.path();
        let prefix = if path.starts_with("/api/v2.0/") {
            ""
        } else {
            "/api/v2.0"
        };
        format!("<{prefix}{path}?{}>", ser.finish())
    };
    let mut links = Vec::new();
    if page.page > 1 && page.offset() < total.saturating_add(page.page_size) {
        links.push(format!("{}; rel=\"prev\"", link(page.page - 1)));
    }
    if page.offset().saturating_add(page.page_size) < total {
        links.push(format!("{}; rel=\"next\"", link(page.page + 1)));
    }
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        h.insert("link", v);
    }
    resp
}

/// RFC 3339 UTC time of a millisecond timestamp, always with three fraction digits (as
/// Harbor writes them: `2026-01-02T03:04:05.600Z`), so that times sort as strings.
pub(crate) fn time(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Parses a time filter: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or milliseconds.
pub(crate) fn parse_time(s: &str) -> ApiResult<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let rfc = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339);
    let t = match rfc {
        Ok(t) => t,
        Err(_) => {
            let fmt =
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
            time::PrimitiveDateTime::parse(s, &fmt)
                .map(|p| p.assume_utc())
                .map_err(|_| ApiError::bad_request(format!("invalid time {s:?}")))?
        }
    };
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A resource id from a path: a positive integer, else `400` naming `what`.
pub(crate) fn positive_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("the {what} id must be a positive integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_three_fraction_digits_and_sort_as_strings() {
        assert_eq!(time(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(time(1_700_000_000_600), "2023-11-14T22:13:20.600Z");
        assert_eq!(time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        // A whole second sorts before a later moment of the same second.
        assert!(time(1_700_000_000_000) < time(1_700_000_000_001));
        assert!(time(1_700_000_000_950) < time(1_700_000_000_951));
        assert_eq!(
            parse_time(&time(1_700_000_000_123)).ok(),
            Some(1_700_000_000_123)
        );
    }

    #[test]
    fn parses_q() {
        let q = parse_q(Some(
            "name=~lib,public=true,op_time=[2020-01-01 00:00:00~2020-02-01 00:00:00]",
        ))
        .unwrap();
        assert_eq!(q[0], ("name".into(), QValue::Fuzzy("lib".into())));
        assert_eq!(q[1], ("public".into(), QValue::Exact("true".into())));
        assert_eq!(
            q[2],
            (
                "op_time".into(),
                QValue::Range("2020-01-01 00:00:00".into(), "2020-02-01 00:00:00".into())
            )
        );
        assert!(parse_q(Some("novalue")).is_err());
        assert!(parse_q(None).unwrap().is_empty());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01 00:00:01").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T00:00:02Z").unwrap(), 2000);
        assert_eq!(parse_time("3000").unwrap(), 3000);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(time(1500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn pages() {
        let q = |s: &str| -> Vec<(String, String)> {
            form_urlencoded::parse(s.as_bytes()).into_owned().collect()
        };
        assert_eq!(
            page(&q("")).unwrap(),
            Page {
                page: 1,
                page_size: 10
            }
        );
        assert_eq!(
            page(&q("page=3&page_size=100")).unwrap(),
            Page {
                page: 3,
                page_size: 100
            }
        );
        // Harbor's leniency: page 0 or below is the first, page_size 0 or below the largest.
        for (lenient, want) in [
            ("page=0", (1, 10)),
            ("page=-1&page_size=5", (1, 5)),
            ("page_size=0", (1, MAX_PAGE_SIZE)),
            ("page=2&page_size=-1", (2, MAX_PAGE_SIZE)),
        ] {
            let p = page(&q(lenient)).unwrap();
            assert_eq!((p.page, p.page_size), want, "{lenient}");
        }
        for bad in ["page_size=101", "page=x", "page_size=1.5"] {
            assert!(page(&q(bad)).is_err(), "{bad}");
        }
    }
}
