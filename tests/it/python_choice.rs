//! The Python choice when no version has wheels for every pin, through the real binary and a
//! real local package index (python3's http.server) that answers with pages recorded from PyPI
//! (`tests/index-recorded/`), so nothing here depends on the live index: the version with the
//! most pins on wheels wins, the version the project's own Dockerfile runs wins a tie, and a
//! compatible-release pin (`pandas~=1.5.3`) bounds the choice like an `==` pin.

use crate::common::{self, LocalIndex};

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A PEP 691 index serving the recorded pages (http.server names them text/html; the scan reads a
/// JSON body as PEP 691 all the same).
fn local_index() -> Option<LocalIndex> {
    common::local_index(&[
        ("pandas", include_str!("../index-recorded/pandas.json").to_string()),
        ("psycopg2-binary", include_str!("../index-recorded/psycopg2-binary.json").to_string()),
        ("contourpy", include_str!("../index-recorded/contourpy.json").to_string()),
    ])
}

/// `pyslim scan --json DIR` asking only the local index, with an empty cache of its own.
fn scan_json(index: &LocalIndex, dir: &Path) -> Value {
    let cache = tempfile::tempdir().unwrap();
    let mut c = common::pyslim_with(None);
    c.env("XDG_CACHE_HOME", cache.path()).env("XDG_CONFIG_HOME", cache.path().join("config"));
    for var in ["PYSLIM_OFFLINE", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_CONFIG_FILE"] {
        c.env_remove(var);
    }
    let out = c.env("PIP_INDEX_URL", &index.url).args(["scan", "--json"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn python(j: &Value) -> (String, String) {
    (
        j["python"]["value"].as_str().unwrap_or_default().to_string(),
        j["python"]["source"].as_str().unwrap_or_default().to_string(),
    )
}

fn warnings(j: &Value) -> Vec<String> {
    j["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

fn copy_fixture(name: &str, parent: &Path) -> PathBuf {
    let dst = parent.join(name);
    common::copy_dir(&fixture(name), &dst);
    dst
}

#[test]
fn no_python_with_every_wheel_chooses_the_most_pins_on_wheels() {
    let Some(index) = local_index() else { return };
    let j = scan_json(&index, &fixture("pins-no-common-python"));
    let (v, source) = python(&j);
    // 3.9, 3.10 and 3.11 each compile one pin, 3.12 and 3.13 two: 3.11 is the maintained one
    assert_eq!(v, "3.11", "{source}");
    assert!(
        source.starts_with(
            "no catalogue version has wheels for every pinned package; 3.11 has them for the most (2 of 3 compiled pins)"
        ),
        "{source}"
    );
    let w = warnings(&j);
    assert!(
        w.iter().any(|w| w.contains("on Python 3.11, psycopg2-binary 2.9.3 (wheels up to cp310) compile from source")),
        "{w:?}"
    );
    // what compiles there gets its build packages, and the pin's own index answer is named
    let deps = j["build_deps"]["value"].as_array().unwrap();
    assert_eq!(deps.len(), 1, "{deps:?}");
    assert_eq!(deps[0]["package"], "psycopg2-binary");
    assert!(deps[0]["debian"].as_array().unwrap().iter().any(|d| d == "libpq-dev"), "{deps:?}");
}

#[test]
fn the_version_the_projects_dockerfile_runs_wins_a_tie() {
    let Some(index) = local_index() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture("pins-no-common-python", tmp.path());
    std::fs::write(dir.join("Dockerfile"), "FROM python:3.10-slim\nCOPY . /app\nCMD [\"python\", \"/app/app.py\"]\n")
        .unwrap();
    let (v, source) = python(&scan_json(&index, &dir));
    assert_eq!(v, "3.10", "{source}");
    assert!(source.ends_with("the version Dockerfile:1 (FROM python:3.10-slim) runs"), "{source}");
    // but not over a version with more pins on wheels: 3.13 compiles two
    std::fs::write(dir.join("Dockerfile"), "FROM python:3.13-slim\n").unwrap();
    let (v, source) = python(&scan_json(&index, &dir));
    assert_eq!(v, "3.11", "{source}");
}

#[test]
fn a_compatible_release_pin_bounds_the_python_like_an_exact_one() {
    let Some(index) = local_index() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("compatible");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(fixture("pins-no-common-python").join("app.py"), dir.join("app.py")).unwrap();
    std::fs::write(dir.join("requirements.txt"), "pandas~=1.5.3\n").unwrap();
    let (v, source) = python(&scan_json(&index, &dir));
    // pandas 1.5.3, the newest release inside ~=1.5.3, has wheels up to cp311
    assert_eq!(v, "3.11", "{source}");
    assert!(source.contains("pandas 1.5.3 (~=1.5.3) has wheels up to cp311"), "{source}");
    // a range that is not a pin says nothing
    std::fs::write(dir.join("requirements.txt"), "pandas>=1.5\n").unwrap();
    let j = scan_json(&index, &dir);
    assert_ne!(python(&j).0, "3.11", "{j}");
}
