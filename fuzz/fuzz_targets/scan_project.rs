//! One file of a realistic project replaced by the input (its first byte picks which, from the
//! seeds in tests/fuzz_shared.in); then scan, serialize, plan, check and render every variant in
//! both flavours. Property: no panic, whatever the bytes. Under AddressSanitizer (which watches
//! the C parser the scan reaches, tree-sitter) it runs about 8x slower: scripts/fuzz.sh uses no
//! sanitizer unless FUZZ_SANITIZER=address.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

mod common;
use common::{SEEDS, write_corpus};

/// One project folder per process, holding every seed file: `pyslim-fuzz-scan-<pid>` in the
/// temporary folder. libFuzzer ends with `exit()`, which runs no destructors, so each start
/// removes the folders of processes that are gone.
fn project() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        for e in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("pyslim-fuzz-scan-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = tmp.join(format!("pyslim-fuzz-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, body) in SEEDS {
            write(&dir, name, body.as_bytes());
        }
        dir
    })
}

fn write(dir: &Path, name: &str, body: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fuzz_target!(|data: &[u8]| {
    write_corpus(|| (0..SEEDS.len()).map(|i| [&[i as u8][..], SEEDS[i].1.as_bytes()].concat()).collect());
    let Some((&pick, body)) = data.split_first() else { return };
    let (name, seed) = SEEDS[pick as usize % SEEDS.len()];
    let dir = project();
    write(dir, name, body);
    common::exercise(dir);
    write(dir, name, seed.as_bytes());
});
