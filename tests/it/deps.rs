//! Which dependencies a build installs and what a failed install says, through the real binary:
//! the requirements file the project's own Dockerfile installs is the image's dependency set; a
//! poetry.lock written by Poetry 1.x keeps the packages its export must not drop (uvicorn's
//! `standard` extra brings uvloop under a marker that also names the platform); the scan's
//! `python.bound` says which Pythons the ranges and the pins allow; a pin without a wheel for the
//! chosen Python names the Pythons it has wheels for. Builds run on the real daemon with the
//! stand-in images (`pyslim-mirror/`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The real binary with its own index cache and none of the caller's index settings.
fn pyslim(cache: &Path) -> assert_cmd::Command {
    let mut c = common::pyslim_with(None);
    c.env("XDG_CACHE_HOME", cache).env("XDG_CONFIG_HOME", cache.join("config"));
    for var in ["PYSLIM_OFFLINE", "PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_CONFIG_FILE"] {
        c.env_remove(var);
    }
    c
}

fn scan_json(cmd: &mut assert_cmd::Command, dir: &Path) -> Value {
    let out = cmd.args(["scan", "--json"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "scan failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

struct Tag(String);

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = Std::new("docker").args(["image", "rm", "-f", &self.0]).output();
    }
}

/// `pyslim build DIR --verify --json --tag TAG ARGS`: exit code and JSON result.
fn build(dir: &Path, tag: &Tag, args: &[&str]) -> (Option<i32>, Value) {
    let cache = tempfile::tempdir().unwrap();
    let out = pyslim(cache.path())
        .args(["build", "--verify", "--json", "--timeout", "90", "--tag", &tag.0])
        .args(args)
        .arg(dir)
        .timeout(std::time::Duration::from_secs(1200))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let j = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), j)
}

// ---- the Dockerfile's requirements file

#[test]
fn the_requirements_file_the_dockerfile_installs_is_the_dependency_set() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("dockerfile-requirements"));
    let pm = &j["package_manager"];
    assert_eq!(pm["value"], "pip");
    assert_eq!(pm["source"], "requirements/docker.txt (installed by Dockerfile:5)", "{pm}");
    assert_eq!(strings(&j["dependency_files"]), ["requirements/docker.txt", "requirements/common.txt"]);
    let names: Vec<String> =
        j["dependencies"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["flask", "gunicorn"], "psycopg2 is the platform's, not the container's");
    let w = strings(&j["warnings"]);
    assert!(
        w.iter().any(|w| w.starts_with("Dockerfile:5 installs requirements/docker.txt, not requirements.txt")),
        "{w:?}"
    );
}

#[test]
fn without_such_a_dockerfile_line_requirements_txt_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    common::copy_dir(&fixture("dockerfile-requirements"), &dir);
    std::fs::remove_file(dir.join("Dockerfile")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &dir);
    assert_eq!(j["package_manager"]["source"], "requirements.txt");
    assert!(strings(&j["dependency_files"]).contains(&"requirements/platform.txt".to_string()));
    assert!(j["dependencies"].as_array().unwrap().iter().any(|d| d["name"] == "psycopg2"));
}

const IMAGES_311: &[&str] = &["pyslim-mirror/python:3.11", "pyslim-mirror/python:3.11-slim"];

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn the_dockerfiles_requirements_build_and_start() {
    if !common::docker_images_ready(IMAGES_311) {
        return;
    }
    // requirements.txt would compile psycopg2 2.7.3, which fails on every maintained Python
    let tag = Tag("pyslim-test/deps-dockerfile-reqs:latest".into());
    let (code, j) = build(&fixture("dockerfile-requirements"), &tag, &["--variant", "multistage-slim"]);
    assert_eq!(code, Some(0), "{j}");
    assert_eq!(j["verified"], true, "{j}");
    let df = j["dockerfile"].as_str().unwrap();
    assert!(df.contains("-r requirements/docker.txt"), "{df}");
    assert!(!df.contains("platform.txt") && !df.contains("libpq"), "{df}");
}

// ---- Poetry 1.x locks and the export

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_poetry_1_lock_keeps_uvloop_from_uvicorns_standard_extra() {
    if !common::docker_images_ready(IMAGES_311) {
        return;
    }
    // Poetry 2's export drops uvloop from this lock and pip's hash mode then refuses it as
    // unpinned; Poetry 1.8 exports it. The app answers only when uvloop imports.
    let tag = Tag("pyslim-test/deps-poetry1-extra:latest".into());
    let (code, j) =
        build(&fixture("poetry1-extra-marker"), &tag, &["--python", "3.11", "--variant", "multistage-slim"]);
    assert_eq!(code, Some(0), "{j}");
    assert_eq!(j["verified"], true, "{j}");
    assert!(j["verify_detail"].as_str().unwrap().contains("HTTP 200"), "{j}");
    let df = j["dockerfile"].as_str().unwrap();
    assert!(df.contains("'poetry>=1.8,<2'"), "{df}");
}

// ---- the bound of the Python choice

#[test]
fn the_python_fact_says_what_the_range_and_the_pins_allow() {
    let cache = tempfile::tempdir().unwrap();
    // the lock lists every file: offline gives the whole answer
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("poetry1-extra-marker"));
    let py = &j["python"];
    assert_eq!(py["value"], "3.12", "{py}");
    let b = &py["bound"];
    assert_eq!(b["range"], ">=3.11,<4", "{b}");
    assert_eq!(strings(&b["allowed_by_range"])[0], "3.11", "{b}");
    assert!(strings(&b["allowed_by_range"]).contains(&"3.13".to_string()), "{b}");
    assert_eq!(b["max_by_pins"], "3.12", "{b}");
    let wheels = strings(&b["wheels_for"]);
    assert!(wheels.contains(&"3.11".to_string()) && !wheels.contains(&"3.13".to_string()), "{b}");
    assert!(b["max_reason"].as_str().unwrap().contains("uvloop 0.19.0 has wheels up to cp312"), "{b}");
    // nothing bounds a project without a range or pins with file lists
    let j = scan_json(pyslim(cache.path()).env("PYSLIM_OFFLINE", "1"), &fixture("pip-flask"));
    assert!(j["python"].is_null() || j["python"]["bound"].is_null(), "{}", j["python"]);
}

// ---- a pin without a wheel for the chosen Python

const IMAGES_313: &[&str] = &["pyslim-mirror/python:3.13", "pyslim-mirror/python:3.13-slim"];

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_failed_source_build_names_the_pythons_the_pin_has_wheels_for() {
    if !common::docker_images_ready(IMAGES_313) {
        return;
    }
    // asyncpg 0.29.0 has wheels up to cp312 on PyPI and does not compile on 3.13
    let tag = Tag("pyslim-test/deps-pin-no-wheel:latest".into());
    let (code, j) = build(&fixture("pin-no-wheel"), &tag, &["--python", "3.13", "--variant", "multistage-slim"]);
    assert_eq!(code, Some(1), "{j}");
    assert_eq!(j["error_kind"], "no-wheel", "{j}");
    let cause = j["error"].as_str().unwrap();
    assert!(
        cause.starts_with("asyncpg has no wheel for Python 3.13; asyncpg 0.29.0 has wheels for Python 3.8 to 3.12 (per https://pypi.org/simple/"),
        "{cause}"
    );
    let hint = j["hint"].as_str().unwrap();
    assert!(hint.contains("--python 3.12"), "{hint}");
}

// ---- direct pins, unpinned dependencies: resolved as of the pins

#[test]
fn direct_pins_date_the_set_and_choose_a_python_of_their_time() {
    let cache = tempfile::tempdir().unwrap();
    let j = scan_json(&mut pyslim(cache.path()), &fixture("pins-as-of"));
    let dated = &j["pins_as_of"];
    assert_eq!(dated["value"], "2022-08-08", "{dated}");
    assert!(dated["source"].as_str().unwrap().contains("flask==2.2.2"), "{dated}");
    let py = &j["python"];
    assert_eq!(py["value"], "3.11", "{py}");
    assert!(py["source"].as_str().unwrap().contains("the pins predate the newer ones"), "{py}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn unpinned_dependencies_as_of_the_pins_start_where_todays_do_not() {
    if !common::docker_images_ready(IMAGES_311) {
        return;
    }
    // Flask 2.2.2 asks for Werkzeug>=2.2.2; today's Werkzeug removed what it imports
    let tag = Tag("pyslim-test/deps-pins-as-of:latest".into());
    let (code, j) = build(&fixture("pins-as-of"), &tag, &["--variant", "multistage-slim"]);
    assert_eq!(code, Some(0), "{j}");
    assert_eq!(j["verified"], true, "{j}");
    let df = j["dockerfile"].as_str().unwrap();
    assert!(df.contains("--uploaded-prior-to=2022-08-09T00:00:00Z -r requirements.txt"), "{df}");
    assert!(df.contains("'pip>=26'"), "a pip that knows the cutoff: {df}");
    // gunicorn 20.1 imports pkg_resources at start, which the venv only has because pyslim added it
    assert!(df.contains("import pkg_resources") && df.contains("setuptools<82"), "{df}");

    let (code, j) = build(&fixture("pins-as-of"), &tag, &["--variant", "multistage-slim", "--deps-as-of", "latest"]);
    assert_eq!(code, Some(3), "today's set must not start: {j}");
    let cause = j["error"].as_str().unwrap_or_default();
    assert!(cause.contains("cannot import name 'url_quote' from 'werkzeug.urls'"), "{j}");
}
