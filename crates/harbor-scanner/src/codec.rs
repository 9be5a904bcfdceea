//! The stored form of advisories and layer inventories: JSON, deflated.

use std::io::Write;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ScanError;

/// Largest decoded value accepted (a stored row is never near it).
const MAX_DECODED: u64 = 256 << 20;

/// Serialises and deflates `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}

/// Inflates and parses what [`encode`] wrote. The inflater and its buffer are kept per
/// thread: a scan decodes thousands of rows, and a fresh inflater each time costs its
/// window and buffers (measured: 75 MiB of peak memory for 5,000 advisories).
pub fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, ScanError> {
    use flate2::{Decompress, FlushDecompress, Status};
    use std::cell::RefCell;
    thread_local! {
        static INFLATE: RefCell<(Decompress, Vec<u8>)> = RefCell::new((Decompress::new(false), Vec::new()));
    }
    let bad = |reason: String| ScanError::BadAdvisory {
        source_name: "stored record".into(),
        reason,
    };
    INFLATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (inflater, out) = &mut *guard;
        inflater.reset(false);
        out.clear();
        loop {
            let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
            let input = data.get(consumed..).unwrap_or_default();
            if out.len() == out.capacity() {
                if out.len() as u64 >= MAX_DECODED {
                    return Err(bad(format!("decodes to more than {MAX_DECODED} bytes")));
                }
                out.reserve((data.len() * 4).max(4096));
            }
            let before = (inflater.total_in(), out.len());
            let status = inflater
                .decompress_vec(input, out, FlushDecompress::Finish)
                .map_err(|e| bad(e.to_string()))?;
            if status == Status::StreamEnd {
                break;
            }
            if (inflater.total_in(), out.len()) == before && out.len() < out.capacity() {
                return Err(bad("truncated".into()));
            }
        }
        let value = serde_json::from_slice(out).map_err(|e| bad(e.to_string()));
        if out.capacity() > 1 << 20 {
            *out = Vec::new(); // do not keep a large buffer for the thread's lifetime
        }
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::LayerInventory;

    #[test]
    fn round_trips_and_refuses_junk() {
        let mut layer = LayerInventory::default();
        layer.deleted.push("/srv/old".into());
        let bytes = encode(&layer);
        assert_eq!(decode::<LayerInventory>(&bytes).unwrap(), layer);
        assert!(decode::<LayerInventory>(b"not deflate").is_err());
        // Truncated data is an error, not a hang; the thread's inflater then still works.
        assert!(decode::<LayerInventory>(&bytes[..bytes.len() / 2]).is_err());
        assert_eq!(decode::<LayerInventory>(&bytes).unwrap(), layer);
    }

    #[test]
    fn values_larger_than_the_first_buffer_round_trip() {
        let layer = LayerInventory {
            deleted: (0..20_000)
                .map(|i| format!("/usr/share/doc/package-{i}"))
                .collect(),
            ..Default::default()
        };
        let bytes = encode(&layer);
        assert!(
            bytes.len() * 4 < 600_000,
            "compresses well, so the buffer must grow"
        );
        assert_eq!(decode::<LayerInventory>(&bytes).unwrap(), layer);
    }
}
