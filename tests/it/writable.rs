//! Services that write where they live (issue 10: "SQLite or a path where the project allows
//! one"), through the real binary on the real daemon with the stand-in images. pyslim's images
//! run as the non-root user 65532 with /app and the venv owned by root, so a service whose SQLite
//! file sits beside its source cannot start unless the scan finds the place and render makes
//! that directory (and only it) the runtime user's:
//! - a Flask app that creates its database in its instance folder at import: fails with the
//!   SQLite cause when `--writable ''` removes the scan's directory, verifies without the flag,
//!   on multistage-slim, distroless, the single-stage slim image and minimal (`FROM scratch`);
//! - a Django app on SQLite in BASE_DIR with a model that `/` writes and reads: `migrate` runs
//!   before the server as a pre-start step and the project folder is writable, on distroless and
//!   multistage-slim; the runtime user still cannot modify the shipped source.
//!
//! Images are tagged `pyslim-test/writable-*` and removed at the end.

use std::path::{Path, PathBuf};

use crate::common;

const IMAGES: [&str; 3] = [
    "pyslim-mirror/python:3.13-slim",
    "pyslim-mirror/distroless/python3-debian13:nonroot",
    "pyslim-mirror/python:3.13",
];

use common::{Run, Tags};

fn fixture(tmp: &Path, name: &str) -> PathBuf {
    common::fixture_copy(tmp, name)
}

/// `pyslim build DIR --verify --tag TAG ARGS...` against the stand-ins.
fn build(dir: &Path, tag: &str, tags: &mut Tags, args: &[&str]) -> Run {
    common::build_verify(dir, tag, tags, args, 900)
}

fn expect_ok(what: &str, r: &Run) {
    common::expect_verified(what, r);
}

/// `pyslim scan DIR --json` as JSON.
fn scan_json(dir: &Path) -> serde_json::Value {
    let out = common::pyslim_with(None).arg("scan").arg(dir).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a one-off Python command in the image (its entrypoint replaced) as the image's user.
fn in_image(tag: &str, python: &str, code: &str) -> (bool, String) {
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--entrypoint", python, tag, "-c", code])
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn filter_flask_sqlite_in_its_instance_folder() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "flask-sqlite-instance");
    let mut tags = Tags(Vec::new());

    let scan = scan_json(&dir);
    let writable = scan["writable"].as_array().cloned().unwrap_or_default();
    assert_eq!(writable.len(), 1, "{scan:#}");
    assert_eq!(writable[0]["value"], "/app/instance", "{scan:#}");
    let source = writable[0]["source"].as_str().unwrap();
    assert!(source.starts_with("app.py:10") && source.contains("SQLite database notes.db"), "{source}");

    // Without the directory (what pyslim did before): a cannot-write cause, exit 3.
    let r =
        build(&dir, "pyslim-test/writable-flask-none", &mut tags, &["--writable", "", "--variant", "multistage-slim"]);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("cause: the app cannot write"), "{all}");

    for variant in ["multistage-slim", "distroless", "slim", "minimal"] {
        let tag = format!("pyslim-test/writable-flask-{variant}");
        let r = build(&dir, &tag, &mut tags, &["--variant", variant]);
        expect_ok(variant, &r);
        // the directory is the user's, /app itself is not
        // (the single-stage slim image installs a requirements file into the image's Python)
        let python = if variant == "slim" { "/usr/local/bin/python3.13" } else { "/opt/venv/bin/python" };
        let (ok, out) = in_image(
            &tag,
            python,
            "import os; print(os.stat('/app/instance').st_uid, os.stat('/app').st_uid, os.access('/app', os.W_OK))",
        );
        assert!(ok, "{variant}: {out}");
        assert_eq!(out.trim(), "65532 0 False", "{variant}");
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn filter_django_sqlite_migrates_before_the_server() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "django-sqlite");
    let mut tags = Tags(Vec::new());

    let scan = scan_json(&dir);
    let pre: Vec<String> =
        scan["pre_start"].as_array().unwrap().iter().map(|f| f["value"].as_str().unwrap().to_string()).collect();
    assert_eq!(pre, ["python manage.py migrate --noinput"], "{scan:#}");
    assert!(scan["pre_start"][0]["source"].as_str().unwrap().contains("SQLite"), "{scan:#}");
    let writable: Vec<&str> =
        scan["writable"].as_array().unwrap().iter().map(|f| f["value"].as_str().unwrap()).collect();
    assert_eq!(writable, ["/app", "/app/media"], "{scan:#}");

    for variant in ["distroless", "multistage-slim"] {
        let tag = format!("pyslim-test/writable-django-{variant}");
        let r = build(&dir, &tag, &mut tags, &["--variant", variant]);
        expect_ok(variant, &r);
        // the project folder takes new files (the database, its journal); the source stays root's
        let (ok, out) = in_image(
            &tag,
            "/opt/venv/bin/python",
            "import os; open('/app/new.txt', 'w').write('x'); \
             print(os.access('/app/manage.py', os.W_OK), os.access('/app/mysite/settings.py', os.W_OK), \
             os.stat('/app/media').st_uid)",
        );
        assert!(ok, "{variant}: {out}");
        assert_eq!(out.trim(), "False False 65532", "{variant}");
    }
}
