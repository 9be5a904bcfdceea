//! Parsing and producing the headers and query strings of the OCI API.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use harbor_core::Error;
use harbor_core::registry::ByteRange;
use harbor_core::registry::ChunkRange;

/// `Docker-Content-Digest`
pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");
/// `Docker-Upload-UUID`
pub(crate) const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// `OCI-Chunk-Min-Length`
pub(crate) const OCI_CHUNK_MIN_LENGTH: HeaderName = HeaderName::from_static("oci-chunk-min-length");
/// `OCI-Subject`
pub(crate) const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// `OCI-Tag`
pub(crate) const OCI_TAG: HeaderName = HeaderName::from_static("oci-tag");
/// `OCI-Filters-Applied`
pub(crate) const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// A header value from text we built ourselves from validated parts.
pub(crate) fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Range: 0-<last byte>` as upload responses carry it (`0-0` when empty).
pub(crate) fn upload_range(offset: u64) -> HeaderValue {
    value(&format!("0-{}", offset.saturating_sub(1)))
}

/// `Content-Length` as a number, if present and valid.
pub(crate) fn content_length(h: &HeaderMap) -> Result<Option<u64>, Error> {
    match h.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| Error::SizeInvalid("malformed Content-Length".into())),
    }
}

/// A header as text, if present and printable.
pub(crate) fn text(h: &HeaderMap, name: HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Parses `Range: bytes=<first>-<last>` (also `<first>-` and `-<suffix>`). Anything else,
/// including several ranges, is `None`: unsatisfiable.
pub(crate) fn parse_range(s: &str) -> Option<ByteRange> {
    let spec = s.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let num = |x: &str| x.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (false, false) => Some(ByteRange::FromTo(num(first)?, num(last)?)),
        (false, true) => Some(ByteRange::From(num(first)?)),
        (true, false) => Some(ByteRange::Suffix(num(last)?)),
        (true, true) => None,
    }
}

/// Parses an upload `Content-Range`: `<start>-<end>`, optionally prefixed by `bytes ` or
/// `bytes=` and followed by `/<total>` or `/*`.
pub(crate) fn parse_content_range(s: &str) -> Result<ChunkRange, Error> {
    let bad = || Error::BlobUploadInvalid(format!("malformed Content-Range {s:?}"));
    let mut spec = s.trim();
    for prefix in ["bytes=", "bytes "] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            spec = rest.trim();
        }
    }
    let spec = spec.split('/').next().unwrap_or(spec);
    let (start, end) = spec.split_once('-').ok_or_else(bad)?;
    Ok(ChunkRange {
        start: start.trim().parse().map_err(|_| bad())?,
        end: end.trim().parse().map_err(|_| bad())?,
    })
}

/// The decoded query parameters, in order.
pub(crate) fn query(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The first value of a query parameter.
pub(crate) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `n` and `last` of a paginated listing.
pub(crate) fn pagination(q: &[(String, String)]) -> Result<(Option<usize>, Option<String>), Error> {
    let n = match param(q, "n") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            Error::PaginationInvalid(format!("n must be a non-negative integer, not {v:?}"))
        })?),
    };
    let last = param(q, "last")
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    Ok((n, last))
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(parse_range("bytes=0-9"), Some(ByteRange::FromTo(0, 9)));
        assert_eq!(parse_range("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        for bad in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "0-9",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_content_ranges() {
        let r = |start, end| ChunkRange { start, end };
        assert_eq!(parse_content_range("0-99").unwrap(), r(0, 99));
        assert_eq!(parse_content_range("bytes 100-199/*").unwrap(), r(100, 199));
        assert_eq!(
            parse_content_range("bytes=100-199/1000").unwrap(),
            r(100, 199)
        );
        for bad in ["", "-", "a-b", "100", "1-x"] {
            assert!(parse_content_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_pagination() {
        let q = |s: &str| query(&format!("/x?{s}").parse::<Uri>().unwrap());
        assert_eq!(
            pagination(&q("n=5&last=b")).unwrap(),
            (Some(5), Some("b".into()))
        );
        assert_eq!(pagination(&q("")).unwrap(), (None, None));
        assert!(pagination(&q("n=-1")).is_err());
        assert!(pagination(&q("n=x")).is_err());
    }
}
