//! Go modules from the build information the Go toolchain embeds in binaries.
//!
//! The binary is streamed, never held whole: its first bytes must be an ELF, PE or Mach-O
//! header (anything else is rejected after one read), then the file is searched for the
//! `\xff Go buildinf:` header at 16-byte aligned file offsets, for at most 512 MiB. Only the
//! inline format of Go 1.18 and later (header flag `2`) is decoded; older, pointer-based
//! build information gives no packages. A header that does not decode (a stray copy of the
//! magic, truncated strings) is skipped and the search goes on.

use std::io::{self, Read};

use crate::error::ScanError;
use crate::package::{Package, PackageKind};

/// The build information header's first 14 bytes.
const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: usize = 16;
/// Header flag: the version and module strings follow the header inline (Go 1.18+).
const FLAG_INLINE: u8 = 2;
const CHUNK: usize = 64 * 1024;
/// How far into a file the header is searched for.
const SCAN_LIMIT: u64 = 512 * 1024 * 1024;
/// The longest version or module string read.
const MAX_STRING: u64 = 16 * 1024 * 1024;
/// The sentinels `cmd/go` frames the module information with.
const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// True for a tar entry worth handing to [`parse`]: a regular file with an execute bit and at
/// least 1 KiB. `mode` may be the permission bits alone (as tar headers usually carry them) or
/// include the file type bits, which must then say regular file.
pub fn matches_candidate(mode: u32, size: u64) -> bool {
    const S_IFMT: u32 = 0o170_000;
    const S_IFREG: u32 = 0o100_000;
    let file_type = mode & S_IFMT;
    (file_type == 0 || file_type == S_IFREG) && mode & 0o111 != 0 && size >= 1024
}

/// The Go modules a binary was built from: its dependencies (replacements applied), the main
/// module unless its version is `(devel)`, and the toolchain as `stdlib` (`go1.21.3` is
/// `v1.21.3`). Empty for anything that is not a Go 1.18+ binary. Reads `reader` only as far
/// as the build information (or 512 MiB); the rest is left unread. Only read errors fail.
pub fn parse(path: &str, reader: &mut dyn Read) -> Result<Vec<Package>, ScanError> {
    Ok(match find_build_info(reader, SCAN_LIMIT)? {
        Some((go_version, modinfo)) => packages(path, &go_version, &modinfo),
        None => Vec::new(),
    })
}

/// A minimal executable holding Go build information for `go_version` (`go1.21.3`) and
/// `modinfo` (the tab-separated text, which this wraps in the sentinels): an ELF magic and
/// filler, the header at a 16-byte aligned offset, the two strings, more filler. For tests
/// and fixtures, here and in other crates.
pub fn craft_binary(go_version: &str, modinfo: &str) -> Vec<u8> {
    craft_at(0x1040, go_version, modinfo)
}

/// [`craft_binary`] with the header at `offset` (rounded up to 16).
fn craft_at(offset: usize, go_version: &str, modinfo: &str) -> Vec<u8> {
    let mut out = b"\x7fELF\x02\x01\x01\x00".to_vec();
    // Filler below 0xff, so it never contains the magic.
    let mut i: usize = 0;
    while out.len() < offset || !out.len().is_multiple_of(ALIGN) {
        out.push((i * 31 % 251) as u8);
        i += 1;
    }
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[8, FLAG_INLINE]);
    out.extend_from_slice(&[0; HEADER_LEN - 16]);
    put_string(&mut out, go_version.as_bytes());
    let mut framed = INFO_START.to_vec();
    framed.extend_from_slice(modinfo.as_bytes());
    framed.extend_from_slice(&INFO_END);
    put_string(&mut out, &framed);
    out.extend((0..512).map(|i| (i * 17 % 251) as u8));
    out
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    let mut n = s.len() as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s);
}

/// A window on the stream: `buf[0]` is at file offset `base`, a multiple of 16.
struct Window<'a> {
    reader: &'a mut dyn Read,
    buf: Vec<u8>,
    base: u64,
    eof: bool,
}

impl Window<'_> {
    /// Reads until `buf` holds `want` bytes or the stream ends; true if it holds them.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        let mut filled = self.buf.len();
        if filled >= want || self.eof {
            return Ok(filled >= want);
        }
        self.buf.resize(want, 0);
        while filled < want {
            match self.reader.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(filled);
        Ok(filled >= want)
    }

    /// A uvarint at `*at`, advancing past it; `None` if malformed, over 64 bits or cut short.
    fn uvarint(&mut self, at: &mut usize) -> io::Result<Option<u64>> {
        self.fill(*at + 10)?;
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(*at + i) else {
                return Ok(None);
            };
            if i == 9 && byte > 1 {
                return Ok(None);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                *at += i + 1;
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// A uvarint-length-prefixed string at `*at`, advancing past it.
    fn string(&mut self, at: &mut usize) -> io::Result<Option<Vec<u8>>> {
        let Some(len) = self.uvarint(at)? else {
            return Ok(None);
        };
        if len > MAX_STRING {
            return Ok(None);
        }
        let end = *at + len as usize;
        if !self.fill(end)? {
            return Ok(None);
        }
        let s = self.buf[*at..end].to_vec();
        *at = end;
        Ok(Some(s))
    }
}

/// The Go version and module information of the first decodable inline build information
/// header in the first `limit` bytes.
fn find_build_info(
    reader: &mut dyn Read,
    limit: u64,
) -> Result<Option<(String, String)>, ScanError> {
    let mut w = Window {
        reader,
        buf: Vec::with_capacity(CHUNK),
        base: 0,
        eof: false,
    };
    w.fill(CHUNK)?;
    if !is_executable(&w.buf) {
        return Ok(None);
    }
    let mut pos = 0;
    loop {
        if pos + HEADER_LEN > w.buf.len() {
            // `pos` is a multiple of 16, so `base` stays aligned.
            w.buf.drain(..pos);
            w.base += pos as u64;
            pos = 0;
            w.fill(CHUNK)?;
            if w.buf.len() < HEADER_LEN {
                return Ok(None);
            }
        }
        if w.base + pos as u64 >= limit {
            return Ok(None);
        }
        if w.buf[pos] == MAGIC[0]
            && w.buf[pos..pos + MAGIC.len()] == *MAGIC
            && let Some(found) = decode(&mut w, pos)?
        {
            return Ok(Some(found));
        }
        pos += ALIGN;
    }
}

/// Decodes the header at `buf[pos..]`; `None` if it is not an inline Go 1.18+ header.
fn decode(w: &mut Window<'_>, pos: usize) -> io::Result<Option<(String, String)>> {
    let (pointer_size, flags) = (w.buf[pos + 14], w.buf[pos + 15]);
    if !matches!(pointer_size, 4 | 8) || flags & FLAG_INLINE == 0 {
        return Ok(None);
    }
    let mut at = pos + HEADER_LEN;
    let Some(version) = w.string(&mut at)? else {
        return Ok(None);
    };
    let Some(modinfo) = w.string(&mut at)? else {
        return Ok(None);
    };
    let Ok(version) = String::from_utf8(version) else {
        return Ok(None);
    };
    if !(version.starts_with("go") || version.starts_with("devel")) {
        return Ok(None);
    }
    let modinfo = modinfo.strip_prefix(&INFO_START).unwrap_or(&modinfo);
    let modinfo = modinfo.strip_suffix(&INFO_END).unwrap_or(modinfo);
    Ok(Some((
        version,
        String::from_utf8_lossy(modinfo).into_owned(),
    )))
}

fn is_executable(head: &[u8]) -> bool {
    const MAGICS: [&[u8]; 7] = [
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    MAGICS.iter().any(|magic| head.starts_with(magic))
}

/// The packages of a binary's Go version and (unframed) module information.
fn packages(path: &str, go_version: &str, modinfo: &str) -> Vec<Package> {
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(version) = stdlib_version(go_version) {
        found.push(("stdlib".to_string(), version));
    }
    // (path, version) of `mod` and `dep` lines; a `=>` line rewrites the one before it.
    let mut modules: Vec<(&str, &str)> = Vec::new();
    for line in modinfo.lines() {
        let mut fields = line.split('\t');
        let kind = fields.next();
        let module = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        match kind {
            Some("mod" | "dep") => modules.push(module),
            Some("=>") => {
                if let Some(last) = modules.last_mut() {
                    *last = module;
                }
            }
            _ => {}
        }
    }
    for (module, version) in modules {
        // Empty versions are local replacements (`=> ../dir`).
        if !module.is_empty() && !version.is_empty() && version != "(devel)" {
            found.push((module.to_string(), version.to_string()));
        }
    }
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|(name, version)| Package::new(PackageKind::Go, name, version, path))
        .collect()
}

/// The semantic version of a Go toolchain version: `go1.21.3` is `v1.21.3`, `go1.20` is
/// `v1.20.0`, `go1.21rc2` is `v1.21.0-rc.2`, and `go1.21.3 X:boringcrypto` is `v1.21.3`.
/// `None` for development toolchains (`devel ...`) and anything else unrecognised.
fn stdlib_version(go_version: &str) -> Option<String> {
    let tag = go_version.split_whitespace().next()?.strip_prefix("go")?;
    let release_end = tag
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tag.len());
    let (release, pre) = tag.split_at(release_end);
    let numbers: Vec<&str> = release.split('.').collect();
    if numbers.is_empty() || numbers.len() > 3 || numbers.iter().any(|n| n.is_empty()) {
        return None;
    }
    let mut version = format!(
        "v{}.{}.{}",
        numbers[0],
        numbers.get(1).unwrap_or(&"0"),
        numbers.get(2).unwrap_or(&"0")
    );
    if !pre.is_empty() {
        let kind_end = pre.find(|c: char| c.is_ascii_digit())?;
        let (kind, number) = pre.split_at(kind_end);
        if !matches!(kind, "alpha" | "beta" | "rc") || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        version.push_str(&format!("-{kind}.{number}"));
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODINFO: &str = "path\tgithub.com/example/api/cmd/server
mod\tgithub.com/example/api\t(devel)\t
dep\tgithub.com/google/uuid\tv1.3.0\th1:t6JiXgmwXMjEs8VusXIJk2BXHsn+wx8BZdTaoZ5fu7I=
dep\tgolang.org/x/net\tv0.7.0\th1:rJrUqqhjsgNp7KqAIc25s9pZnjU7TUcSY7HcVZjdn1g=
=>\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xza/zcXTity9cCdXQYSjIM=
dep\tgithub.com/example/internal\tv0.0.0-00010101000000-000000000000\t
=>\t../internal\t\t
dep\tgoogle.golang.org/grpc\tv1.56.3\th1:8I4C0Yq1EjstUzUJzpcRVbuYA2mODtEmpWiQoN/b2nc=
build\t-buildmode=exe
build\t-compiler=gc
build\tCGO_ENABLED=0
build\tGOARCH=amd64
build\tGOOS=linux
build\tvcs=git
build\tvcs.revision=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c
";

    fn names(packages: &[Package]) -> Vec<(&str, &str)> {
        packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect()
    }

    fn scan(data: &[u8]) -> Vec<Package> {
        parse("/usr/bin/server", &mut &data[..]).unwrap()
    }

    /// A reader handing out at most `step` bytes a call, counting what it gave.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        given: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.given);
            buf[..n].copy_from_slice(&self.data[self.given..self.given + n]);
            self.given += n;
            Ok(n)
        }
    }

    #[test]
    fn candidates() {
        assert!(matches_candidate(0o755, 4096));
        assert!(matches_candidate(0o100_700, 1024));
        assert!(matches_candidate(0o100_001, 1 << 30));
        assert!(!matches_candidate(0o644, 4096));
        assert!(!matches_candidate(0o100_644, 4096));
        assert!(!matches_candidate(0o755, 1023));
        assert!(!matches_candidate(0o040_755, 4096)); // a directory
        assert!(!matches_candidate(0o120_777, 4096)); // a symlink
    }

    #[test]
    fn crafted_binary() {
        let binary = craft_binary("go1.21.3", MODINFO);
        let packages = scan(&binary);
        assert_eq!(
            names(&packages),
            [
                ("github.com/google/uuid", "v1.3.0"),
                ("golang.org/x/net", "v0.17.0"),
                ("google.golang.org/grpc", "v1.56.3"),
                ("stdlib", "v1.21.3"),
            ]
        );
        assert!(
            packages
                .iter()
                .all(|p| p.kind == PackageKind::Go && p.path == "/usr/bin/server")
        );
    }

    #[test]
    fn versioned_main_module_is_reported() {
        let modinfo = "path\tgithub.com/acme/tool\nmod\tgithub.com/acme/tool\tv1.4.0\th1:abc=\n";
        let packages = scan(&craft_binary("go1.22.0 X:boringcrypto", modinfo));
        assert_eq!(
            names(&packages),
            [("github.com/acme/tool", "v1.4.0"), ("stdlib", "v1.22.0")]
        );
    }

    #[test]
    fn unframed_modinfo_and_devel_toolchain() {
        // The header of a crafted binary, followed by hand-written strings.
        let mut blob = craft_at(64, "", "");
        blob.truncate(64 + HEADER_LEN);
        put_string(&mut blob, b"devel go1.23-abcdef");
        put_string(&mut blob, b"dep\texample.com/m\tv1.0.0\t\n");
        assert_eq!(
            scan(&blob),
            [Package::new(
                PackageKind::Go,
                "example.com/m",
                "v1.0.0",
                "/usr/bin/server"
            )]
        );
    }

    #[test]
    fn streams_across_chunk_boundaries() {
        for offset in [CHUNK - 32, CHUNK - 16, CHUNK, CHUNK + 16, 3 * CHUNK - 16] {
            let binary = craft_at(offset, "go1.20", MODINFO);
            for step in [1, 7, 4096, CHUNK, usize::MAX] {
                let mut reader = Trickle {
                    data: &binary,
                    step,
                    given: 0,
                };
                let packages = parse("/bin/x", &mut reader).unwrap();
                assert_eq!(packages.len(), 4, "offset {offset}, step {step}");
                assert!(packages.contains(&Package::new(
                    PackageKind::Go,
                    "stdlib",
                    "v1.20.0",
                    "/bin/x"
                )));
            }
        }
    }

    #[test]
    fn stops_reading_after_the_build_info() {
        let mut binary = craft_binary("go1.21.3", MODINFO);
        let end = binary.len();
        binary.resize(end + 10 * CHUNK, 0);
        let mut reader = Trickle {
            data: &binary,
            step: usize::MAX,
            given: 0,
        };
        assert_eq!(parse("/bin/x", &mut reader).unwrap().len(), 4);
        assert!(reader.given < binary.len());
    }

    #[test]
    fn non_executables_are_rejected_after_one_read() {
        let mut script = b"#!/bin/sh\nexec /usr/bin/server \"$@\"\n".to_vec();
        script.extend_from_slice(&craft_binary("go1.21.3", MODINFO));
        script.resize(10 * CHUNK, b'#');
        let mut reader = Trickle {
            data: &script,
            step: usize::MAX,
            given: 0,
        };
        assert!(parse("/bin/x", &mut reader).unwrap().is_empty());
        assert_eq!(reader.given, CHUNK);
    }

    #[test]
    fn misaligned_and_stray_magic_are_skipped() {
        let real = craft_at(0x2000, "go1.21.3", MODINFO);
        // A misaligned copy of a whole header, and an aligned stray magic followed by junk
        // (as a binary that links `debug/buildinfo` carries in its read-only data).
        let mut binary = real.clone();
        let misaligned = craft_at(0x100, "go1.9.9", "dep\tevil.example/x\tv6.6.6\t\n");
        binary[0x501..0x501 + 64].copy_from_slice(&misaligned[0x100..0x100 + 64]);
        binary[0x800..0x800 + 14].copy_from_slice(MAGIC);
        binary[0x800 + 14] = 8;
        binary[0x800 + 15] = FLAG_INLINE;
        binary[0x800 + 32] = 3;
        binary[0x800 + 33..0x800 + 36].copy_from_slice(b"abc");
        let packages = scan(&binary);
        assert_eq!(packages.len(), 4);
        assert!(packages.iter().all(|p| p.name != "evil.example/x"));

        let mut only_misaligned = real[..0x1000].to_vec();
        only_misaligned.extend_from_slice(&real[0x2000 - 8..]);
        assert!(scan(&only_misaligned).is_empty());
    }

    #[test]
    fn pre_1_18_pointer_format_is_empty() {
        let mut binary = craft_binary("go1.16.15", MODINFO);
        let at = 0x1040;
        assert_eq!(&binary[at..at + 14], MAGIC);
        binary[at + 15] = 0; // little-endian pointers, not inline
        assert!(scan(&binary).is_empty());
    }

    #[test]
    fn scan_limit() {
        let binary = craft_at(0x3000, "go1.21.3", MODINFO);
        assert!(find_build_info(&mut &binary[..], 0x3000).unwrap().is_none());
        assert!(find_build_info(&mut &binary[..], 0x3010).unwrap().is_some());
    }

    #[test]
    fn stdlib_versions() {
        let cases = [
            ("go1.21.3", Some("v1.21.3")),
            ("go1.20", Some("v1.20.0")),
            ("go1", Some("v1.0.0")),
            ("go1.21rc2", Some("v1.21.0-rc.2")),
            ("go1.9beta1", Some("v1.9.0-beta.1")),
            ("go1.22.1 X:nocoverageredesign", Some("v1.22.1")),
            ("devel go1.23-abcdef", None),
            ("go", None),
            ("go1..2", None),
            ("go1.2.3.4", None),
            ("go1.21rc", None),
            ("go1.21xyz1", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(stdlib_version(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn read_errors_fail() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        assert!(matches!(
            parse("/bin/x", &mut Broken),
            Err(ScanError::Io(_))
        ));
    }

    #[test]
    fn junk_never_panics() {
        let binary = craft_binary("go1.21.3", MODINFO);
        // Every truncation: either nothing or everything.
        for end in 0..binary.len() {
            let n = scan(&binary[..end]).len();
            assert!(n == 0 || n == 4, "{end}: {n}");
        }
        // Huge, overlong and unterminated varints after a valid header.
        let header_at = 0x1040;
        for varint in [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..],
            &[0xff; 10],
            &[0xff; 40],
            &[0x80, 0x80, 0x80, 0x80, 0x08],
            &[0x05, b'g', b'o'],
        ] {
            let mut blob = binary[..header_at + HEADER_LEN].to_vec();
            blob.extend_from_slice(varint);
            assert!(scan(&blob).is_empty());
            blob.resize(blob.len() + 3 * CHUNK, 0x80);
            assert!(scan(&blob).is_empty());
        }
        // Invalid UTF-8 in the strings.
        let mut blob = binary[..header_at + HEADER_LEN].to_vec();
        put_string(&mut blob, b"go\xff1.2");
        put_string(&mut blob, b"x");
        assert!(scan(&blob).is_empty());
        let mut blob = binary[..header_at + HEADER_LEN].to_vec();
        put_string(&mut blob, b"go1.2");
        put_string(
            &mut blob,
            b"dep\t\xff\xfe\tv1\t\n=>\n=>\t\t\t\ndep\n\t\t\t\t",
        );
        let _ = scan(&blob);
        // Pseudo-random bytes behind an ELF magic, with magics sprinkled in.
        let mut x: u32 = 0x2545_f491;
        for round in 0..50 {
            let mut data: Vec<u8> = b"\x7fELF".to_vec();
            data.extend((0..8192).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            for at in (16..data.len() - 64).step_by(16 * (round + 1)) {
                data[at..at + 14].copy_from_slice(MAGIC);
            }
            let _ = scan(&data);
        }
    }
}
