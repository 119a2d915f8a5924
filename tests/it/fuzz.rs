//! Property-based fuzzing of every parser the scan runs (requirements with includes, pyproject,
//! poetry.lock, uv.lock, Pipfile(.lock), pdm.lock, Procfile, Dockerfile, .python-version,
//! runtime.txt, .tool-versions, .dockerignore, Python source) and of the renderer fed by them.
//!
//! Inputs are mutations of realistic files (bytes inserted, deleted, replaced; lines duplicated or
//! cut) plus raw junk. The property: scanning never panics and always returns a report; planning
//! and rendering what the scan found never panic either. `scripts/fuzz.sh` runs a long bounded
//! session (`PROPTEST_CASES`); a crash found there becomes a regression case in `regressions()`.

use std::path::Path;

use proptest::prelude::*;
use pyslim::plan::Config;

// `SEEDS` (realistic files, one per file name the scan reads) and `exercise` (scan, plan and
// render), shared with the cargo-fuzz targets under fuzz/.
include!("../fuzz_shared.in");

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
    DuplicateLine(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), prop::sample::select(b"\"'[]{}=:\n\\#$,.<>*\x00\xff".to_vec()))
            .prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Insert(i, bytes) => {
                let at = i % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Replace(i, c) => {
                if !b.is_empty() {
                    let at = i % b.len();
                    b[at] = *c;
                }
            }
            Edit::DuplicateLine(i) => {
                let text = b.clone();
                let lines: Vec<&[u8]> = text.split(|c| *c == b'\n').collect();
                let line = lines[i % lines.len()];
                b.extend_from_slice(b"\n");
                b.extend_from_slice(line);
            }
            Edit::Truncate(i) => b.truncate(i % len),
        }
    }
    b
}

/// One generated project: for each seed file, absent, the seed, a mutation, or raw junk.
fn project() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let per_file = (0..SEEDS.len())
        .map(|i| {
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(SEEDS[i].1.as_bytes().to_vec())),
                4 => prop::collection::vec(edit(), 1..6).prop_map(move |e| Some(apply(SEEDS[i].1.as_bytes(), &e))),
                1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Some),
            ]
            .prop_map(move |c| c.map(|c| (i, c)))
            .boxed()
        })
        .collect::<Vec<_>>();
    per_file.prop_map(|v| v.into_iter().flatten().collect())
}

fn write_project(dir: &Path, files: &[(usize, Vec<u8>)]) {
    for (i, content) in files {
        let path = dir.join(SEEDS[*i].0);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn scan_plan_render_never_panic(files in project()) {
        let dir = tempfile::tempdir().unwrap();
        write_project(dir.path(), &files);
        exercise(dir.path());
    }

    #[test]
    fn config_parser_never_panics(text in "[a-z_\\[\\]=\" 0-9.:\\n]{0,200}") {
        let _ = Config::parse(&text);
    }
}

/// Crashes found by long fuzz sessions, kept as regression cases.
#[test]
fn regressions() {
    let cases: &[&[(&str, &[u8])]] = &[
        // every seed file at once, unmodified
        &[],
        // a requirements include that points at itself, and one with a NUL byte
        &[("requirements.txt", b"-r requirements.txt\n"), ("base.txt", b"fla\x00sk\n")],
        // pyproject with a dependency list of the wrong type
        &[("pyproject.toml", b"[project]\nname = 1\ndependencies = \"fastapi\"\nrequires-python = 3\n")],
        // Procfile with only a prefix, Dockerfile with only a continuation
        &[("Procfile", b"web:"), ("Dockerfile", b"CMD \\\n")],
        // Python source that is not UTF-8 and a half-open call
        &[("app.py", b"app = FastAPI(\xff\nuvicorn.run(app, port=")],
    ];
    for (n, case) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        if case.is_empty() {
            for (name, content) in SEEDS {
                let p = dir.path().join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, content).unwrap();
            }
        }
        for (name, content) in *case {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        eprintln!("regression case {n}");
        exercise(dir.path());
    }
}
