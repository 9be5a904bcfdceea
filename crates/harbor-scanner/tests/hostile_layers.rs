//! Layers built to hurt: corrupt compression, not a tar, decompression bombs, too many
//! entries, oversized or unreadable package databases. Each gives a clear
//! error or a warning, never a panic and never unbounded memory.

use harbor_scanner::ScanError;
use harbor_scanner::fixtures::LayerBuilder;
use harbor_scanner::inventory::{Limits, merge, scan_layer};

fn scan(
    blob: &[u8],
    limits: &Limits,
) -> Result<harbor_scanner::inventory::LayerInventory, ScanError> {
    scan_layer("sha256:test", blob, limits)
}

#[test]
fn corrupt_compression_and_junk_are_corrupt_layers() {
    let mut gzip = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\n", 0o644)
        .gzip();
    let len = gzip.len();
    gzip.truncate(len / 2);
    for blob in [
        gzip,
        vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3],
        b"this is not a tar archive at all, just text".repeat(20),
    ] {
        match scan(&blob, &Limits::default()) {
            Err(ScanError::CorruptLayer { layer, reason }) => {
                assert_eq!(layer, "sha256:test");
                assert!(!reason.is_empty());
            }
            other => panic!("expected a corrupt layer, got {other:?}"),
        }
    }
    // An empty blob is an empty layer (no entries), not an error.
    assert_eq!(scan(b"", &Limits::default()).unwrap().files.len(), 0);
}

#[test]
fn decompression_bombs_and_entry_floods_hit_the_limits() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = LayerBuilder::new().file("big", &zeros, 0o644).gzip();
    assert!(bomb.len() < 100 << 10, "compresses well: {}", bomb.len());
    let limits = Limits {
        max_layer_bytes: 1 << 20,
        ..Limits::default()
    };
    match scan(&bomb, &limits) {
        Err(ScanError::LimitExceeded { what, limit, .. }) => {
            assert_eq!((what, limit), ("uncompressed size", 1 << 20))
        }
        other => panic!("expected the size limit, got {other:?}"),
    }
    let mut flood = LayerBuilder::new();
    for i in 0..50 {
        flood = flood.file(&format!("f/{i}"), b"x", 0o644);
    }
    let limits = Limits {
        max_entries: 20,
        ..Limits::default()
    };
    match scan(&flood.tar(), &limits) {
        Err(ScanError::LimitExceeded { what, .. }) => assert_eq!(what, "entry count"),
        other => panic!("expected the entry limit, got {other:?}"),
    }
}

#[test]
fn bad_package_databases_are_warnings_and_hide_lower_layers() {
    let lower = LayerBuilder::new()
        .file("etc/os-release", b"ID=debian\nVERSION_ID=12\n", 0o644)
        .file("var/lib/dpkg/status", b"Package: a\nStatus: install ok installed\nVersion: 1\n", 0o644)
        .file("app/Cargo.lock", b"version = 3\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n", 0o644)
        .tar();
    let upper = LayerBuilder::new()
        .file("var/lib/dpkg/status", b"\xff\xfe not utf-8", 0o644)
        .file("app/Cargo.lock", &vec![b'#'; 4096], 0o644)
        .tar();
    let limits = Limits {
        max_file_bytes: 1024,
        ..Limits::default()
    };
    let lower = scan(&lower, &limits).unwrap();
    let upper = scan(&upper, &limits).unwrap();
    assert_eq!(upper.warnings.len(), 2, "{:?}", upper.warnings);
    assert!(
        upper
            .warnings
            .iter()
            .any(|w| w.contains("/app/Cargo.lock") && w.contains("limit")),
        "{:?}",
        upper.warnings
    );
    let image = merge([&lower, &upper]);
    assert!(
        image.packages.is_empty(),
        "replaced databases no longer name their packages: {:?}",
        image.packages
    );
    assert_eq!(image.os.unwrap().id, "debian");
    assert_eq!(image.warnings.len(), 2);
}
