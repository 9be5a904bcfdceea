//! Hashing throughput: raw `sha2` (the CPU's limit) against the registry's streaming
//! hasher, whose state can be saved and restored between upload requests.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use harbor_core::{Algorithm, Hasher};
use sha2::{Digest as _, Sha256};

fn hashing(c: &mut Criterion) {
    let data: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("raw sha2, 16 MiB", |b| {
        b.iter(|| Sha256::digest(std::hint::black_box(&data)))
    });
    for chunk in [64 * 1024, 256 * 1024] {
        g.bench_with_input(
            BenchmarkId::new("streaming verifier, chunks", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let mut h = Hasher::new(Algorithm::Sha256);
                    for c in data.chunks(chunk) {
                        h.update(c);
                    }
                    h.finalize()
                })
            },
        );
    }
    g.bench_function("save + restore state per 256 KiB", |b| {
        b.iter(|| {
            let mut h = Hasher::new(Algorithm::Sha256);
            for c in data.chunks(256 * 1024) {
                h.update(c);
                h = Hasher::restore(&h.save()).expect("state");
            }
            h.finalize()
        })
    });
    g.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
