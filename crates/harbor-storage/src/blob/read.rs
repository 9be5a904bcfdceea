//! Reading blob files fast.
//!
//! - Committed blobs ([`blob_stream`]) are immutable, so they are served zero-copy from
//!   memory-mapped windows of [`WINDOW`] bytes: the socket write copies straight from the
//!   page cache, and a window is unmapped as soon as the HTTP layer has sent it (mapped
//!   memory per download stays at a few windows). A window whose pages are not all in the
//!   page cache is faulted in on the blocking pool first, so the async workers never wait
//!   for the disk.
//! - Upload staging files ([`file_stream`]), which a later request may truncate, are read
//!   with `pread` into recycled buffers (allocated and zeroed once, returned to a pool when
//!   the chunk is dropped). A read first tries `preadv2(RWF_NOWAIT)` on the async worker;
//!   only on a page-cache miss does it move to the blocking pool.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use harbor_core::ports::ByteStream;
use memmap2::{Advice, Mmap, MmapOptions};
use rustix::io::{Errno, ReadWriteFlags};

/// Bytes per memory-mapped window of a committed blob.
pub(crate) const WINDOW: usize = 1024 * 1024;

/// Bytes per chunk sent to the network.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Buffers kept for reuse (16 MiB).
const POOL_MAX: usize = 64;

static POOL: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

fn take_buffer() -> Box<[u8]> {
    let reused = POOL.lock().ok().and_then(|mut p| p.pop());
    reused.unwrap_or_else(|| vec![0u8; CHUNK].into_boxed_slice())
}

/// A pooled buffer holding `len` valid bytes; goes back to the pool when dropped.
struct Pooled {
    buf: Option<Box<[u8]>>,
    len: usize,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        self.buf.as_deref().map_or(&[][..], |b| &b[..self.len])
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let (Some(buf), Ok(mut pool)) = (self.buf.take(), POOL.lock())
            && pool.len() < POOL_MAX
        {
            pool.push(buf);
        }
    }
}

/// Fills `buf[*filled..len]` from `pos`; with `nowait`, stops at the first byte not in the
/// page cache and reports `Ok(false)`.
fn fill(
    file: &File,
    buf: &mut [u8],
    filled: &mut usize,
    len: usize,
    pos: u64,
    nowait: bool,
) -> io::Result<bool> {
    let flags = if nowait {
        ReadWriteFlags::NOWAIT
    } else {
        ReadWriteFlags::empty()
    };
    while *filled < len {
        let mut slices = [IoSliceMut::new(&mut buf[*filled..len])];
        match rustix::io::preadv2(file, &mut slices, pos + *filled as u64, flags) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob file is shorter than recorded",
                ));
            }
            Ok(n) => *filled += n,
            Err(Errno::AGAIN) if nowait => return Ok(false),
            Err(Errno::INTR) => {}
            // Kernels or file systems without RWF_NOWAIT: read the blocking way.
            Err(Errno::OPNOTSUPP | Errno::INVAL) if nowait => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// One chunk at `pos`.
async fn read_chunk(file: Arc<File>, pos: u64, len: usize) -> io::Result<Bytes> {
    let mut buf = take_buffer();
    let mut filled = 0;
    if !fill(&file, &mut buf, &mut filled, len, pos, true)? {
        buf = tokio::task::spawn_blocking(move || {
            fill(&file, &mut buf, &mut filled, len, pos, false).map(|_| buf)
        })
        .await
        .map_err(io::Error::other)??;
    }
    Ok(Bytes::from_owner(Pooled {
        buf: Some(buf),
        len,
    }))
}

/// Whether every page of a mapping is in the page cache.
fn resident(map: &Mmap) -> bool {
    let page = rustix::param::page_size();
    let mut vec = vec![0u8; map.len().div_ceil(page)];
    // SAFETY: the address and length describe a live mapping owned by `map`, and `vec` holds
    // one byte per page of it, as mincore(2) requires.
    let rc = unsafe {
        libc::mincore(
            map.as_ptr() as *mut libc::c_void,
            map.len(),
            vec.as_mut_ptr(),
        )
    };
    rc == 0 && vec.iter().all(|b| b & 1 == 1)
}

/// Maps `len` bytes of `file` at page-aligned `offset`.
fn map_window(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
    // SAFETY: committed blob files are immutable: written once under a temporary name,
    // renamed into place, never written or truncated afterwards. Deleting one unlinks it,
    // which leaves existing mappings valid.
    unsafe { MmapOptions::new().offset(offset).len(len).map(file) }
}

/// One window covering `range` (which lies inside one `WINDOW`-aligned block).
async fn window(file: Arc<File>, range: Range<u64>) -> io::Result<Bytes> {
    let base = range.start - range.start % WINDOW as u64;
    let len = (range.end - base) as usize;
    let map = map_window(&file, base, len)?;
    let map = if resident(&map) {
        map
    } else {
        // Fault the pages in off the async workers.
        tokio::task::spawn_blocking(move || {
            if map.advise(Advice::PopulateRead).is_err() {
                let page = rustix::param::page_size();
                let mut sum = 0u8;
                for i in (0..map.len()).step_by(page) {
                    sum = sum.wrapping_add(map[i]);
                }
                std::hint::black_box(sum);
            }
            map
        })
        .await
        .map_err(io::Error::other)?
    };
    let skip = (range.start - base) as usize;
    Ok(Bytes::from_owner(map).slice(skip..))
}

/// Streams `range` of a committed (immutable) blob file, zero-copy.
pub(crate) fn blob_stream(file: File, range: Range<u64>) -> ByteStream {
    let file = Arc::new(file);
    let w = WINDOW as u64;
    let windows = std::iter::successors(Some(range.start), move |&pos| {
        let next = (pos / w + 1) * w;
        (next < range.end).then_some(next)
    })
    .filter(move |&pos| pos < range.end)
    .map(move |pos| pos..((pos / w + 1) * w).min(range.end));
    futures::stream::iter(windows)
        .then(move |r| window(file.clone(), r))
        .boxed()
}

/// Streams `range` of a file that may change (upload staging), in pooled buffers.
pub(crate) fn file_stream(file: File, range: Range<u64>) -> ByteStream {
    let file = Arc::new(file);
    let reads = (range.start..range.end)
        .step_by(CHUNK)
        .map(move |pos| (pos, (range.end - pos).min(CHUNK as u64) as usize));
    futures::stream::iter(reads)
        .then(move |(pos, len)| read_chunk(file.clone(), pos, len))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::io::Write;

    #[tokio::test]
    async fn streams_ranges_and_recycles_buffers() {
        let data: Vec<u8> = (0..(3 * CHUNK + 123)).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        for range in [0..data.len() as u64, 5..CHUNK as u64 + 7, 100..100, 0..1] {
            let file = File::open(f.path()).unwrap();
            let chunks: Vec<Bytes> = file_stream(file, range.clone())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(
                chunks.concat(),
                &data[range.start as usize..range.end as usize]
            );
        }
        assert!(!POOL.lock().unwrap().is_empty(), "buffers come back");
        // A file shorter than the range: an error, not a hang or short body.
        let file = File::open(f.path()).unwrap();
        let r: io::Result<Vec<Bytes>> = file_stream(file, 0..data.len() as u64 + 10)
            .try_collect()
            .await;
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn maps_windows_of_committed_blobs() {
        let len = 3 * WINDOW + 4567;
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let w = WINDOW as u64;
        for range in [
            0..len as u64,
            1..w,
            w - 1..w + 1,
            w..2 * w,
            5..3 * w + 17,
            len as u64 - 1..len as u64,
            7..7,
        ] {
            let file = File::open(f.path()).unwrap();
            let chunks: Vec<Bytes> = blob_stream(file, range.clone())
                .try_collect()
                .await
                .unwrap();
            assert!(chunks.iter().all(|c| c.len() <= WINDOW));
            assert_eq!(
                chunks.concat(),
                &data[range.start as usize..range.end as usize],
                "{range:?}"
            );
        }
    }
}
