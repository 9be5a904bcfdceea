//! Writing OCI image layouts for clients to copy from.

use std::path::Path;

use serde_json::json;

use crate::common::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, data, sha256};

/// A gzip member holding `payload` in stored (uncompressed) deflate blocks: valid gzip,
/// so clients treat the layer as already compressed and copy it byte for byte.
pub fn gzip_stored(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = payload.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn put(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let hex = digest.trim_start_matches("sha256:");
    std::fs::write(dir.join("blobs/sha256").join(hex), bytes).unwrap();
    digest
}

/// One single-platform image; returns (manifest digest, manifest bytes, layer digest).
fn image(dir: &Path, arch: &str, layer_len: usize, seed: u8) -> (String, Vec<u8>, String) {
    let layer = gzip_stored(&data(layer_len, seed));
    let ld = put(dir, &layer);
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&data(layer_len, seed))]},
        "config": {}
    }))
    .unwrap();
    let cd = put(dir, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": layer.len()}]
    }))
    .unwrap();
    let md = put(dir, &manifest);
    (md, manifest, ld)
}

/// What a generated layout holds.
pub struct Layout {
    /// Digest of the single-platform image tagged `v1`.
    pub image: String,
    /// Its layer.
    pub layer: String,
    /// Digest of the two-platform index tagged `multi`.
    pub index: String,
}

/// Writes a layout with `v1` (one image, `layer_len` bytes of layer) and `multi` (an index).
pub fn write(dir: &Path, layer_len: usize) -> Layout {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let (md, m, ld) = image(dir, "amd64", layer_len, 1);
    let (amd, amd_m, _) = image(dir, "amd64", 20_000, 2);
    let (arm, arm_m, _) = image(dir, "arm64", 30_000, 3);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_m.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_m.len(), "platform": {"architecture": "arm64", "os": "linux"}}
        ]
    }))
    .unwrap();
    let xd = put(dir, &index);
    let top = json!({
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": md, "size": m.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}},
            {"mediaType": OCI_INDEX, "digest": xd, "size": index.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}
        ]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    Layout {
        image: md,
        layer: ld,
        index: xd,
    }
}

/// The manifest digest a layout's `index.json` records for `tag`.
pub fn tagged(dir: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {tag} in {}", dir.display()))
}

/// The bytes of a blob in a layout.
pub fn blob(dir: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}
