//! `.dockerignore` patterns (Docker's own semantics) and the path questions the context writer
//! and the secret scan ask. Property: errors, never a panic (a pruned folder may hide a file a
//! `!**/x` pattern re-includes: Docker's own walker prunes the same way, so that is not checked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyslim::ignorefile::DockerIgnore;

mod common;

fuzz_target!(|data: &[u8]| {
    common::write_corpus(|| {
        let seed = common::SEEDS.iter().find(|(n, _)| *n == ".dockerignore").unwrap().1;
        vec![seed.as_bytes().to_vec(), b"*\n!app.py\n!src/**\nsrc/**/*.pyc\n".to_vec()]
    });
    check(data);
});

fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // The last lines double as paths to ask about.
    let Ok(ignore) = DockerIgnore::parse(&text) else { return };
    for path in text.lines().rev().take(4).chain(["app.py", ".env", "src/pkg/x.pyc", "data/a/b"]) {
        let path = path.trim().trim_start_matches('!').trim_matches('/');
        if path.is_empty() {
            continue;
        }
        let _ = ignore.is_excluded(path);
        let _ = ignore.prunes_dir(path);
    }
}
