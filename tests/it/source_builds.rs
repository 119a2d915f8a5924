//! Source builds that stop at a missing header, through the real binary: `--build-package` (or
//! `build_packages` in pyslim.toml) installs a Debian package in the builder, a single-stage slim
//! image keeps the matching run-time library; and a real build on the daemon of a service whose
//! own C extension needs sql.h and libodbc.so.2 (neither the full python image's headers nor
//! distroless have them): its first build stops at sql.h, pyslim builds again with the package
//! that has it (unixodbc-dev), and the image starts and answers HTTP with the library copied
//! into the distroless runtime. A failure no pattern knows still ends with a cause line.
//!
//! The Docker test runs with `--features docker` and needs the daemon and the stand-in images
//! (`scripts/fixture-images.sh`):
//! without them it fails when `CI` is set and is skipped with the reason otherwise. Its image is
//! tagged `pyslim-test/realclasses-header:test` and removed at the end.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn dockerfile(dir: &Path, args: &[&str]) -> String {
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .arg("dockerfile")
        .arg(dir)
        .args(["--python", "3.13", "--entrypoint", "python app.py", "--port", "8000"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_named_build_package_reaches_every_variant() {
    let dir = fixture("sdist-missing-header");
    let df =
        dockerfile(&dir, &["--variant", "distroless", "--builder", "python:3.13", "--build-package", "unixodbc-dev"]);
    let builder = &df[df.find("AS builder").unwrap()..df.find("AS runtime").unwrap()];
    assert!(builder.contains("apt-get install -y --no-install-recommends unixodbc-dev"), "{builder}");
    // the single-stage slim image installs it while it installs, and keeps the library
    let df = dockerfile(&dir, &["--variant", "slim", "--build-package", "unixodbc-dev"]);
    assert!(df.contains("apt-get install -y --no-install-recommends unixodbc-dev libodbc2"), "{df}");
    assert!(
        df.contains("apt-get purge -y --auto-remove unixodbc-dev\n")
            || df.contains("apt-get purge -y --auto-remove unixodbc-dev \\"),
        "{df}"
    );
    // the naive image, the way one is written by hand: installed and left in
    let df = dockerfile(&dir, &["--variant", "naive", "--build-package", "unixodbc-dev"]);
    assert!(df.contains("apt-get install -y --no-install-recommends unixodbc-dev") && !df.contains("purge"), "{df}");
    // pyslim.toml says the same, and a name that is not a Debian package is refused
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("p");
    common::copy_dir(&dir, &copy);
    std::fs::write(copy.join("pyslim.toml"), "build_packages = [\"unixodbc-dev\"]\n").unwrap();
    let df = dockerfile(&copy, &["--variant", "multistage-slim"]);
    assert!(df.contains("unixodbc-dev"), "{df}");
    let out = common::pyslim_with(None)
        .args(["dockerfile", "--build-package", "libfoo; rm -rf /"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("build package `libfoo; rm -rf /` is not a Debian package name"), "{err}");
}

const IMAGES: [&str; 2] = ["pyslim-mirror/python:3.13", "pyslim-mirror/distroless/python3-debian13:nonroot"];

/// `pyslim build DIR --json ARGS`: the exit code, the JSON on stdout and stderr.
fn build_json(dir: &Path, tag: &str, args: &[&str]) -> (i32, Value, String) {
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .arg("build")
        .arg(dir)
        .args(["--json", "--tag", tag, "--python", "3.13", "--variant", "distroless", "--builder", "python:3.13"])
        .args(["--entrypoint", "python app.py", "--port", "8000"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_missing_header_gets_its_package_and_the_build_starts() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sdist-missing-header");
    common::copy_dir(&fixture("sdist-missing-header"), &dir);
    let tag = "pyslim-test/realclasses-header:test".to_string();
    let _tags = common::Tags(vec![tag.clone()]);
    // The full python image has a compiler but not sql.h: the first build stops there, pyslim
    // names the package that has it, builds again with it, and the runtime gets libodbc.so.2.
    let (code, j, stderr) = build_json(&dir, &tag, &["--verify", "--timeout", "60"]);
    assert_eq!(code, 0, "{j}\n{stderr}");
    assert!(
        stderr.contains(
            "pyslim: the build stopped at a missing sql.h, which Debian's unixodbc-dev has: building again with \
             --build-package unixodbc-dev"
        ),
        "{stderr}"
    );
    assert_eq!(j["verified"], true, "{j}");
    assert_eq!(j["http_status"], 200, "{j}");
    assert!(
        j["dockerfile"].as_str().unwrap().contains("apt-get install -y --no-install-recommends unixodbc-dev"),
        "{j}"
    );
    let out = common::run(Std::new("docker").args([
        "run",
        "--rm",
        "--entrypoint",
        "/opt/venv/bin/python",
        &tag,
        "-c",
        "import odbccheck; print(odbccheck.env_ok()); print(open('/proc/self/maps').read().count('libodbc.so.2') > 0)",
    ]));
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["True", "True"], "{out}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_build_failure_no_pattern_knows_still_ends_with_a_cause() {
    if !common::docker_images_ready(&[
        "pyslim-mirror/python:3.13-slim",
        "pyslim-mirror/distroless/python3-debian13:nonroot",
    ]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::tiny_project(tmp.path(), "unknown-failure", "x");
    let tag = "pyslim-test/realclasses-unknown:test".to_string();
    let _tags = common::Tags(vec![tag.clone()]);
    let step = "python3 -c \"import sys; print('pyslim-realclasses: a failure no pattern knows', file=sys.stderr); sys.exit(7)\"";
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .arg("build")
        .arg(&dir)
        .args(["--json", "--tag", &tag, "--python", "3.13", "--variant", "distroless"])
        .args(["--entrypoint", "python app.py", "--port", "8000", "--build-step", step])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(out.status.code(), Some(1), "{j}\n{stderr}");
    assert_eq!(j["error_kind"], "build-failed", "{j}");
    let cause = j["error"].as_str().unwrap();
    // the step as the builder names it (`[builder 9/9] RUN ...` with BuildKit)
    assert!(cause.starts_with("the build step `") && cause.contains("RUN "), "{cause}");
    assert!(cause.ends_with("failed: pyslim-realclasses: a failure no pattern knows"), "{cause}");
    assert!(stderr.contains("\ncause: the build step `"), "{stderr}");
}
