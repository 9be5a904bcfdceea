//! Blob byte streams and their verification: a blob's bytes are hashed as they pass, and
//! the stream fails instead of yielding its last chunk when the digest or size is wrong,
//! so a destination never receives a complete wrong blob.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use harbor_core::{Digest, Hasher};

use crate::error::Error;

/// A stream of blob bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, Error>>;

/// A blob being downloaded: its size and its bytes, verified against its digest.
pub struct BlobStream {
    /// Size in bytes, as announced by the registry.
    pub size: u64,
    /// The bytes; the stream ends with an error if they do not match the digest or size.
    pub stream: ByteStream,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Wraps `inner` so that it yields exactly `size` bytes hashing to `digest`, or an error
/// in place of the chunk that completes (or exceeds) the size.
pub fn verify<S>(inner: S, digest: Digest, size: u64) -> ByteStream
where
    S: Stream<Item = Result<Bytes, Error>> + Send + 'static,
{
    Box::pin(Verify {
        inner: Box::pin(inner),
        hasher: Some(Hasher::new(digest.algorithm())),
        digest,
        size,
        received: 0,
        done: false,
    })
}

/// Like [`verify`] for the size only: for a caller that hashes the bytes itself (such as
/// a store that verifies what it writes), so that they are hashed once.
pub fn verify_size<S>(inner: S, digest: Digest, size: u64) -> ByteStream
where
    S: Stream<Item = Result<Bytes, Error>> + Send + 'static,
{
    Box::pin(Verify {
        inner: Box::pin(inner),
        hasher: None,
        digest,
        size,
        received: 0,
        done: false,
    })
}

struct Verify {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>,
    /// `None`: the size only is checked.
    hasher: Option<Hasher>,
    digest: Digest,
    size: u64,
    received: u64,
    done: bool,
}

impl Verify {
    fn check_digest(&self) -> Result<(), Error> {
        let Some(hasher) = &self.hasher else {
            return Ok(());
        };
        let actual = hasher.digest();
        if actual == self.digest {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: self.digest.clone(),
                actual,
            })
        }
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes, Error>>> {
        self.done = true;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for Verify {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => self.fail(e),
            Poll::Ready(Some(Ok(chunk))) => {
                if chunk.is_empty() {
                    return Poll::Ready(Some(Ok(chunk)));
                }
                self.received += chunk.len() as u64;
                if self.received > self.size {
                    let e = Error::SizeMismatch {
                        digest: self.digest.clone(),
                        expected: self.size,
                        actual: self.received,
                    };
                    return self.fail(e);
                }
                if let Some(h) = &mut self.hasher {
                    h.update(&chunk);
                }
                if self.received == self.size
                    && let Err(e) = self.check_digest()
                {
                    return self.fail(e);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                self.done = true;
                if self.received < self.size {
                    let e = Error::SizeMismatch {
                        digest: self.digest.clone(),
                        expected: self.size,
                        actual: self.received,
                    };
                    return Poll::Ready(Some(Err(e)));
                }
                if self.size == 0
                    && let Err(e) = self.check_digest()
                {
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn chunks(
        parts: &[&'static [u8]],
    ) -> impl Stream<Item = Result<Bytes, Error>> + Send + 'static {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    async fn run(s: ByteStream) -> (Vec<u8>, Option<Error>) {
        let mut out = Vec::new();
        let mut s = s;
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn size_only_checks_the_size() {
        let d = Digest::sha256(b"hello world");
        // Wrong bytes of the right size pass: the caller hashes them.
        let (out, err) = run(verify_size(chunks(&[b"hello ", b"WORLD"]), d.clone(), 11)).await;
        assert_eq!(out, b"hello WORLD");
        assert!(err.is_none());
        let (_, err) = run(verify_size(chunks(&[b"hello ", b"world!"]), d.clone(), 11)).await;
        assert!(matches!(err, Some(Error::SizeMismatch { .. })), "{err:?}");
        let (_, err) = run(verify_size(chunks(&[b"hello"]), d, 11)).await;
        assert!(matches!(err, Some(Error::SizeMismatch { .. })), "{err:?}");
    }

    #[tokio::test]
    async fn passes_good_bytes() {
        let d = Digest::sha256(b"hello world");
        let (out, err) = run(verify(chunks(&[b"hello ", b"world"]), d, 11)).await;
        assert_eq!(out, b"hello world");
        assert!(err.is_none());
        let (out, err) = run(verify(chunks(&[]), Digest::sha256(b""), 0)).await;
        assert!(out.is_empty() && err.is_none());
    }

    #[tokio::test]
    async fn withholds_the_last_chunk_of_a_wrong_blob() {
        let d = Digest::sha256(b"hello world");
        let (out, err) = run(verify(chunks(&[b"hello ", b"WORLD"]), d, 11)).await;
        assert_eq!(out, b"hello ", "the completing chunk is not passed on");
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
    }

    #[tokio::test]
    async fn short_and_long_bodies_fail() {
        let d = Digest::sha256(b"hello world");
        let (_, err) = run(verify(chunks(&[b"hello"]), d.clone(), 11)).await;
        assert!(
            matches!(err, Some(Error::SizeMismatch { actual: 5, .. })),
            "{err:?}"
        );
        assert!(err.is_some_and(|e| e.is_transient()));
        let (out, err) = run(verify(chunks(&[b"hello ", b"world!!"]), d, 11)).await;
        assert_eq!(out, b"hello ");
        assert!(
            matches!(err, Some(Error::SizeMismatch { actual: 13, .. })),
            "{err:?}"
        );
        let (_, err) = run(verify(chunks(&[]), Digest::sha256(b"x"), 0)).await;
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
    }
}
