//! The Python choice that installs, and build dependencies, through the real binary: one fixture
//! per class (a Poetry 1.1 lock whose compiled pins stop at cp310, `==` pins answered by the
//! package index, a PDM test-only dependency, `runtime.txt` python-3.6, a pin that compiles on
//! the chosen Python), the index configured by the user (a local PEP 503 server), offline and
//! unreachable, and real builds on the daemon that start and answer HTTP.
//!
//! The index tests ask the real PyPI (it answers here and in CI); the cache is a temporary folder
//! per test so each one really asks.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The real binary with its own index cache (`XDG_CACHE_HOME`) and no index settings of the caller.
fn pyslim(cache: &Path) -> assert_cmd::Command {
    let mut c = common::pyslim_with(None);
    c.env("XDG_CACHE_HOME", cache);
    for var in ["PYSLIM_OFFLINE", "PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_CONFIG_FILE"] {
        c.env_remove(var);
    }
    // pip.conf files of this machine must not redirect the index
    c.env("XDG_CONFIG_HOME", cache.join("config"));
    c
}

fn scan_json(cmd: &mut assert_cmd::Command, dir: &Path) -> Value {
    let out = cmd.args(["scan", "--json"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "scan failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn python(j: &Value) -> (String, String) {
    (
        j["python"]["value"].as_str().unwrap_or("null").to_string(),
        j["python"]["source"].as_str().unwrap_or("").to_string(),
    )
}

fn warnings(j: &Value) -> Vec<String> {
    j["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

#[test]
fn poetry_1_1_lock_compiled_pins_bound_the_python() {
    let cache = tempfile::tempdir().unwrap();
    // The lock lists every file: no index needed, so offline gives the same answer.
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("poetry11-compiled"));
    let (v, source) = python(&j);
    assert_eq!(v, "3.10", "{source}");
    assert!(source.contains("asyncpg 0.26.0 has wheels up to cp310"), "{source}");
    assert!(source.contains("psycopg2-binary 2.9.3 has wheels up to cp310"), "{source}");
    assert!(source.contains("(poetry.lock)"), "{source}");
    // coverage 6.4.4 is a dev dependency: its cp311 wheels say nothing either way
    assert!(!source.contains("coverage"), "{source}");
    let w = warnings(&j);
    assert!(
        w.iter().any(|w| w.starts_with("Python 3.10 is end of life since 2026-10") && w.contains("upgrade them")),
        "{w:?}"
    );
    assert_eq!(j["build_deps"]["value"], Value::Array(vec![]), "everything installs from wheels on 3.10");
}

#[test]
fn exact_pins_without_a_lock_ask_the_index() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(&mut pyslim(cache.path()), &fixture("pins-greenlet"));
    let (v, source) = python(&j);
    assert_eq!(v, "3.12", "{source}");
    assert!(source.contains("greenlet 3.0.1 has wheels up to cp312"), "{source}");
    assert!(source.contains("https://pypi.org/simple/"), "{source}");
    // the answers are cached: offline, the same choice, and the source says how it was made
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("pins-greenlet"));
    let (v, source) = python(&j);
    assert_eq!(v, "3.12", "{source}");
    assert!(source.contains("offline: cached answers (PYSLIM_OFFLINE)"), "{source}");
    // a .python-version that asks for 3.13 is overridden, in plain words
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture("pins-greenlet", tmp.path());
    std::fs::write(dir.join(".python-version"), "3.13\n").unwrap();
    let j = scan_json(&mut pyslim(cache.path()), &dir);
    assert_eq!(python(&j).0, "3.12");
    let w = warnings(&j);
    assert!(
        w.iter().any(|w| w.starts_with(".python-version says Python 3.13, but greenlet 3.0.1 has wheels up to cp312")),
        "{w:?}"
    );
}

#[test]
fn pipfile_lock_pins_ask_the_index_and_dev_packages_do_not_count() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(&mut pyslim(cache.path()), &fixture("pipenv-pins"));
    let (v, source) = python(&j);
    // coverage 6.4.4 (develop, wheels up to cp311) would hold it to 3.11
    assert_eq!(v, "3.12", "{source}");
    assert!(source.contains("greenlet 3.0.1 has wheels up to cp312"), "{source}");
    assert!(!source.contains("coverage"), "{source}");
    // the Pipfile's source is PyPI's old host name: asked as https://pypi.org/simple/
    assert!(source.contains("https://pypi.org/simple/"), "{source}");
    assert!(warnings(&j).iter().all(|w| !w.contains("package index")), "{:?}", warnings(&j));
}

#[test]
fn offline_without_a_cache_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("pins-greenlet"));
    assert!(j["python"].is_null(), "nothing known: the plan's default decides: {}", j["python"]);
    let w = warnings(&j);
    assert!(w.iter().any(|w| w.contains("greenlet") && w.contains("PYSLIM_OFFLINE is set")), "{w:?}");
}

#[test]
fn unreachable_index_is_a_warning_not_a_failure() {
    let cache = tempfile::tempdir().unwrap();
    let j =
        scan_json(pyslim(cache.path()).env("PIP_INDEX_URL", "http://127.0.0.1:9/simple/"), &fixture("pins-greenlet"));
    assert!(j["python"].is_null());
    let w = warnings(&j);
    assert!(
        w.iter().any(|w| w.contains("the package index http://127.0.0.1:9/simple/ gave no file list")
            && w.contains("PYSLIM_OFFLINE=1 skips the index")),
        "{w:?}"
    );
}

/// A PEP 503 (HTML) index with greenlet's recorded files.
fn local_index() -> Option<common::LocalIndex> {
    let page: Value =
        serde_json::from_str(include_str!("../index-recorded/greenlet.json")).expect("recorded page is JSON");
    let links: String = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let n = f["filename"].as_str().unwrap();
            format!("<a href=\"../../files/{n}\">{n}</a><br/>\n")
        })
        .collect();
    common::local_index(&[("greenlet", format!("<html><body>\n{links}</body></html>\n"))])
}

#[test]
fn the_configured_index_is_asked() {
    let Some(index) = local_index() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // only greenlet is on this index: flask and gunicorn are pure wheels elsewhere, said in a warning
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PIP_INDEX_URL", &index.url), &fixture("pins-greenlet"));
    let (v, source) = python(&j);
    assert_eq!(v, "3.12", "{source}");
    assert!(source.contains(&index.url), "{source}");
    // an --index-url line in the requirements wins over the environment
    let dir = copy_fixture("pins-greenlet", tmp.path());
    let reqs = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
    std::fs::write(dir.join("requirements.txt"), format!("--index-url {}\n{reqs}", index.url)).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PIP_INDEX_URL", "http://127.0.0.1:9/simple/"), &dir);
    assert_eq!(python(&j).0, "3.12", "{}", python(&j).1);
}

#[test]
fn test_only_dependency_of_an_old_pdm_lock_does_not_hold_python_back() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("pdm-testonly"));
    let (v, source) = python(&j);
    // coverage 7.3.2 (test group) has wheels up to cp312 only
    assert_eq!(v, "3.15", "{source}");
    assert!(source.contains("requires-python \">=3.9\""), "{source}");
    // The only warning is the lock's age (lock_version 4.4 without inherit_metadata, read directly).
    assert!(warnings(&j).iter().all(|w| w.starts_with("pdm.lock is old")), "{:?}", warnings(&j));
}

#[test]
fn runtime_txt_python_36_gets_the_nearest_maintained_version() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(&mut pyslim(cache.path()), &fixture("runtime-py36"));
    let (v, source) = python(&j);
    assert_eq!(v, "3.11", "{source}");
    assert!(source.starts_with("runtime.txt (python-3.6.15) asks for 3.6; nearest maintained version"), "{source}");
    let w = warnings(&j);
    assert!(w.iter().any(|w| w.contains("no image is published for it any more")), "{w:?}");
    assert!(!w.iter().any(|w| w.contains("PythonSlim") || w.contains("catalogue image for")), "{w:?}");
    // and the Dockerfile is for that version
    let out = pyslim(cache.path())
        .env_remove("PYSLIM_IMAGE_MIRROR")
        .arg("dockerfile")
        .arg(fixture("runtime-py36"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FROM python:3.11"));
    // a --python no image exists for: plain words and the way forward
    let out =
        pyslim(cache.path()).args(["dockerfile", "--python", "3.6"]).arg(fixture("runtime-py36")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("pyslim knows no python:3.X") && err.contains("Python 3.6") && err.contains("--python X.Y"),
        "{err}"
    );
}

#[test]
fn a_pin_that_compiles_gets_headers_in_the_builder_and_its_library_at_run_time() {
    let cache = tempfile::tempdir().unwrap();
    let dir = fixture("sdist-headers");
    // on 3.11 psycopg2-binary 2.9.3 (wheels up to cp310) compiles
    let mut cmd = pyslim(cache.path());
    let out = cmd
        .env_remove("PYSLIM_IMAGE_MIRROR")
        .args(["dockerfile", "--python", "3.11", "--builder", "python:3.11-slim"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let df = String::from_utf8_lossy(&out.stdout).into_owned();
    let builder = &df[df.find("AS builder").unwrap()..df.find("AS runtime").unwrap()];
    assert!(builder.contains("apt-get install -y --no-install-recommends build-essential libpq-dev"), "{builder}");
    let runtime = &df[df.find("AS runtime").unwrap()..];
    assert!(runtime.contains("apt-get install -y --no-install-recommends libpq5"), "{runtime}");
    // the full image ships gcc and libpq-dev: only the runtime library is added
    let out = pyslim(cache.path())
        .env_remove("PYSLIM_IMAGE_MIRROR")
        .args(["dockerfile", "--python", "3.11"])
        .arg(&dir)
        .output()
        .unwrap();
    let df = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(df.contains("FROM python:3.11 AS builder"), "{df}");
    assert_eq!(df.matches("apt-get install").count(), 1, "{df}");
    // on 3.10 it installs from a wheel: nothing to add, and scan says why
    let j = scan_json(&mut pyslim(cache.path()), &dir);
    assert_eq!(python(&j).0, "3.10");
    assert_eq!(j["build_deps"]["value"], Value::Array(vec![]));
    assert!(j["system_libs"]["value"].as_array().unwrap().is_empty());
    // the source-only psycopg2 always compiles: its build dependencies are in the scan
    let j = scan_json(&mut pyslim(cache.path()), &fixture("psycopg2-source"));
    let deps = j["build_deps"]["value"].as_array().unwrap();
    assert_eq!(deps[0]["package"], "psycopg2");
    assert_eq!(deps[0]["debian"], serde_json::json!(["build-essential", "libpq-dev"]));
}

#[test]
fn help_lists_the_offline_switch() {
    let cache = tempfile::tempdir().unwrap();
    let out = pyslim(cache.path()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("PYSLIM_OFFLINE") && help.contains("PIP_INDEX_URL"), "{help}");
}

fn copy_fixture(name: &str, parent: &Path) -> PathBuf {
    let to = parent.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(fixture(name)).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

// ---- real builds on the daemon (stand-ins under pyslim-mirror/)

const IMAGES: &[&str] = &[
    "pyslim-mirror/python:3.11",
    "pyslim-mirror/python:3.11-slim",
    "pyslim-mirror/distroless/python3-debian12:nonroot",
];

struct Tag(String);

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = Std::new("docker").args(["image", "rm", "-f", &self.0]).output();
    }
}

/// `pyslim build DIR --verify --json` with `args`; returns the JSON result.
fn build_verified(dir: &Path, tag: &Tag, args: &[&str]) -> Value {
    let cache = tempfile::tempdir().unwrap();
    let out = pyslim(cache.path())
        .args(["build", "--verify", "--json", "--timeout", "90", "--tag", &tag.0])
        .args(args)
        .arg(dir)
        .timeout(std::time::Duration::from_secs(900))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build of {} failed ({:?}):\n{stdout}\n{}",
        dir.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn the_chosen_python_builds_and_starts() {
    if !common::docker_images_ready(IMAGES) {
        return;
    }
    // greenlet 2.0.2 has wheels up to cp311: no flags, pyslim picks 3.11 and it installs from wheels
    let tag = Tag("pyslim-test/pyver-greenlet:latest".into());
    let j = build_verified(&fixture("greenlet-311"), &tag, &[]);
    assert_eq!(j["verified"], true, "{j}");
    let df = j["dockerfile"].as_str().unwrap();
    assert!(df.contains("FROM pyslim-mirror/python:3.11"), "{df}");
    // (the builder may still apt-get binutils, to strip extension modules)
    assert!(!df.contains("build-essential") && !df.contains("gcc"), "greenlet installs from a wheel on 3.11: {df}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_pin_without_a_wheel_for_the_python_compiles_and_starts() {
    if !common::docker_images_ready(IMAGES) {
        return;
    }
    // psycopg2-binary 2.9.3 on 3.11 (no wheel): compiled with pg_config in the builder, libpq5 at
    // run time; the app imports psycopg2, so it answers only when libpq.so.5 loads
    // (distroless: no apt, so libpq and what it links that the runtime lacks are copied from the builder)
    for (variant, tag) in [
        ("multistage-slim", "pyslim-test/pyver-psycopg-ms:latest"),
        ("slim", "pyslim-test/pyver-psycopg-slim:latest"),
        ("distroless", "pyslim-test/pyver-psycopg-dl:latest"),
    ] {
        let tag = Tag(tag.into());
        let j = build_verified(&fixture("sdist-headers"), &tag, &["--python", "3.11", "--variant", variant]);
        assert_eq!(j["verified"], true, "{variant}: {j}");
        assert!(j["verify_detail"].as_str().unwrap().contains("HTTP 200"), "{variant}: {j}");
        let df = j["dockerfile"].as_str().unwrap();
        let lib = if variant == "distroless" { "--also libpq.so.5" } else { "libpq5" };
        assert!(df.contains(lib), "{variant}: {df}");
    }
}
