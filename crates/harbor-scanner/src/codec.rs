//! The stored form of advisories and layer inventories: JSON, deflated.

use std::io::{Read, Write};

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

/// Inflates and parses what [`encode`] wrote.
pub fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, ScanError> {
    let bad = |reason: String| ScanError::BadAdvisory {
        source_name: "stored record".into(),
        reason,
    };
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(MAX_DECODED)
        .read_to_end(&mut json)
        .map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))
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
    }
}
