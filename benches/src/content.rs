//! Generated test content: images with random layers.

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of some bytes.
pub fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Fast pseudo-random bytes (xorshift64*), different for every seed.
pub fn random_bytes(len: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

/// A blob and its digest.
#[derive(Clone, Debug)]
pub struct Blob {
    /// The bytes.
    pub data: Bytes,
    /// Their digest.
    pub digest: String,
}

impl Blob {
    /// Wraps bytes, computing the digest.
    pub fn new(data: Bytes) -> Self {
        let digest = digest(&data);
        Blob { data, digest }
    }
}

/// An image: one layer, a config and the manifest naming them.
#[derive(Clone, Debug)]
pub struct Image {
    /// The layer.
    pub layer: Blob,
    /// The config.
    pub config: Blob,
    /// The manifest.
    pub manifest: Blob,
}

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

impl Image {
    /// An image whose layer is `layer_size` random bytes from `seed`.
    pub fn generate(layer_size: usize, seed: u64) -> Self {
        let layer = Blob::new(random_bytes(layer_size, seed));
        let config = Blob::new(Bytes::from(
            serde_json::json!({
                "architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
                "config": {"Labels": {"harbor-bench.seed": seed.to_string()}}
            })
            .to_string(),
        ));
        let manifest = Blob::new(Bytes::from(
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config.digest, "size": config.data.len()},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": layer.digest, "size": layer.data.len()}]
            })
            .to_string(),
        ));
        Image {
            layer,
            config,
            manifest,
        }
    }

    /// Bytes an image push or pull moves.
    pub fn bytes(&self) -> u64 {
        (self.layer.data.len() + self.config.data.len() + self.manifest.data.len()) as u64
    }
}

/// Parses sizes like `1MB`, `100MiB`, `512KB`, `1GiB`, `4096`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" | "g" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    Ok(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_content() {
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("100MiB").unwrap(), 100 * 1024 * 1024);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("1XB").is_err());
        assert_eq!(random_bytes(1001, 1).len(), 1001);
        assert_ne!(random_bytes(64, 1), random_bytes(64, 2));
        let img = Image::generate(1000, 7);
        assert_eq!(img.layer.digest, digest(&img.layer.data));
        let m: serde_json::Value = serde_json::from_slice(&img.manifest.data).unwrap();
        assert_eq!(m["layers"][0]["digest"], img.layer.digest.as_str());
    }
}
