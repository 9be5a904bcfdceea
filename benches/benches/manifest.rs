//! Manifest parsing and validation: a small image, a 390-layer image and a large index.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harbor_core::manifest::{OCI_INDEX, OCI_MANIFEST, parse};
use serde_json::json;

fn digest(i: usize) -> String {
    harbor_core::Digest::sha256(i.to_string().as_bytes()).to_string()
}

fn image(layers: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(0), "size": 1234},
        "layers": (1..=layers).map(|i| json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(i), "size": 1_000_000 + i
        })).collect::<Vec<_>>(),
        "annotations": {"org.opencontainers.image.created": "2026-11-28T00:00:00Z"}
    }))
    .expect("json")
}

fn index(manifests: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": (0..manifests).map(|i| json!({
            "mediaType": OCI_MANIFEST, "digest": digest(i), "size": 1000 + i,
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.example.n": i.to_string()}
        })).collect::<Vec<_>>()
    }))
    .expect("json")
}

fn manifests(c: &mut Criterion) {
    let mut g = c.benchmark_group("manifest parse+validate");
    for (name, ct, body) in [
        ("small image (3 layers)", OCI_MANIFEST, image(3)),
        ("390-layer image", OCI_MANIFEST, image(390)),
        ("index of 1000 manifests", OCI_INDEX, index(1000)),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| parse(Some(ct), std::hint::black_box(&body)).expect("valid"))
        });
    }
    g.finish();
}

criterion_group!(benches, manifests);
criterion_main!(benches);
