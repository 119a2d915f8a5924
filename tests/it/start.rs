//! The start of a service in a real image (issue 10, image side), through the real binary on the
//! stand-in images: pre-start steps run in order by the shell-less launcher on distroless (and in
//! a single-stage image), a failing step stops the container with its exit code, a build step's
//! output reaches the final image, `--env` reaches the verify container only, and a Django
//! service with hashed static files answers 200 only because `collectstatic` ran at build time
//! (served by gunicorn through `--add-server`, whose `django-admin` pre-start step is a console
//! script of the venv), and a service that needs a database on the loopback verifies next to one
//! with `--network host`.
//!
//! Docker time is kept small: tiny fixtures, one build per scenario, every rebuild reusing
//! the layers of the first. Images are tagged `pyslim-test/startimage-*` and removed at the end.

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
    common::build_verify(dir, tag, tags, args, 600)
}

fn expect_ok(what: &str, r: &Run) {
    common::expect_verified(what, r);
}

/// The image's config and history, as text: what `docker inspect` and `docker history` show.
fn image_metadata(tag: &str) -> String {
    let inspect = std::process::Command::new("docker").args(["image", "inspect", tag]).output().unwrap();
    let history = std::process::Command::new("docker").args(["history", "--no-trunc", tag]).output().unwrap();
    assert!(inspect.status.success(), "{tag}: {}", String::from_utf8_lossy(&inspect.stderr));
    format!("{}{}", String::from_utf8_lossy(&inspect.stdout), String::from_utf8_lossy(&history.stdout))
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn pre_start_steps_build_steps_and_verify_env_on_distroless_and_slim() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "start-steps");
    let mut tags = Tags(Vec::new());
    let tag = "pyslim-test/startimage-steps:distroless";

    // (a) + (c) + (e): the server answers 200 only when both steps ran in order, the build
    // step's file is in the image and GREETING came from --env
    let r = build(&dir, tag, &mut tags, &["--env", "GREETING=hello", "--timeout", "60"]);
    expect_ok("distroless", &r);
    assert!(r.stdout.starts_with(tag), "{}", r.stdout);
    let meta = image_metadata(tag);
    assert!(!meta.contains("GREETING"), "--env was baked into the image:\n{meta}");
    assert!(meta.contains("-I") && meta.contains("server.py"), "{meta}");

    // the same start in a single-stage image (no venv, the image's own python runs the steps)
    let r = build(
        &dir,
        "pyslim-test/startimage-steps:slim",
        &mut tags,
        &["--variant", "slim", "--env", "GREETING=hello", "--timeout", "60"],
    );
    expect_ok("slim", &r);

    // (e) without --env the service stops at start, and verify says so
    let r = build(&dir, tag, &mut tags, &["--timeout", "30"]);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("NOT verified: the container exited with code 3"), "{}", r.stdout);
    assert!(r.stderr.contains("GREETING is not set"), "{}", r.stderr);

    // (b) a failing step stops the container with its exit code; later steps and the server never run
    let r = build(
        &dir,
        "pyslim-test/startimage-steps:failing",
        &mut tags,
        &[
            "--env",
            "GREETING=hello",
            "--timeout",
            "30",
            "--pre-start",
            "python step.py one",
            "--pre-start",
            "python -c 'import sys; sys.exit(7)'",
            "--pre-start",
            "python step.py two",
        ],
    );
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("NOT verified: the container exited with code 7"), "{}", r.stdout);
    assert!(r.stderr.contains("pyslim: running pre-start step 1/3"), "{}", r.stderr);
    assert!(r.stderr.contains("pre-start step 2/3") && r.stderr.contains("failed with exit code 7"), "{}", r.stderr);
    assert!(!r.stderr.contains("running pre-start step 3/3"), "{}", r.stderr);
    drop(tags);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn django_answers_200_only_because_collectstatic_ran() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "django-static");
    let mut tags = Tags(Vec::new());
    let tag = "pyslim-test/startimage-django:distroless";
    let common_args = ["--add-server", "gunicorn", "--env", "DJANGO_SECRET_KEY=verify-only-value"];

    // (d) collectstatic (a build step, with its placeholder SECRET_KEY) wrote the manifest
    let mut args = common_args.to_vec();
    args.extend(["--timeout", "90"]);
    let r = build(&dir, tag, &mut tags, &args);
    expect_ok("django", &r);
    eprintln!("{}", r.stdout);
    let meta = image_metadata(tag);
    for absent in ["build-only-placeholder", "verify-only-value", "DJANGO_SECRET_KEY"] {
        assert!(!meta.contains(absent), "{absent} reached the image:\n{meta}");
    }
    assert!(meta.contains("gunicorn") && meta.contains("django-admin migrate"), "{meta}");

    // the same project without the build step (and, to start sooner, without the pre-start
    // step): the manifest is missing and the page fails; verify waits out its timeout on a 500
    let mut args = common_args.to_vec();
    args.extend(["--timeout", "40", "--build-step", "", "--pre-start", ""]);
    let r = build(&dir, "pyslim-test/startimage-django:no-collectstatic", &mut tags, &args);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("HTTP 500"), "{}\n{}", r.stdout, r.stderr);
    drop(tags);
}

/// The flags through the real binary, no daemon needed: steps, extras and --add-server reach the
/// Dockerfile; bad values are refused with the reason (exit 1, clap's 2 for an unknown server).
#[test]
fn start_flags_reach_the_dockerfile_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "django-static");
    let out = common::pyslim_with(None)
        .arg("dockerfile")
        .arg(&dir)
        .args(["--add-server", "gunicorn", "--pre-start", "python manage.py migrate --noinput"])
        .args(["--build-step", "python manage.py collectstatic --noinput --clear", "--install", "whitenoise>=6"])
        .args(["--build-env", "DJANGO_SECRET_KEY=flag-placeholder", "--env", "DJANGO_SECRET_KEY=never-in-a-dockerfile"])
        .output()
        .unwrap();
    let df = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        df.contains("\"python manage.py migrate --noinput\", \"--\", \"/opt/venv/bin/python\", \"-m\", \"gunicorn\""),
        "{df}"
    );
    assert!(
        df.contains("collectstatic --noinput --clear") && df.contains("DJANGO_SECRET_KEY=flag-placeholder"),
        "{df}"
    );
    // --install replaces the list; --add-server adds its server to it
    // (after the cutoff of the project's dated pins: Django==5.2.19)
    assert!(df.contains("--uploaded-prior-to=") && df.contains(" 'whitenoise>=6' gunicorn \\\n"), "{df}");
    assert!(!df.contains("never-in-a-dockerfile"), "{df}");

    for (args, code, why) in [
        (vec!["--pre-start", "flask db upgrade; gunicorn app:app"], 1, "shell operator"),
        (vec!["--env", "1X=y"], 1, "not an environment variable name"),
        (vec!["--env", "PYSLIM_TEST_UNSET_VARIABLE"], 1, "no PYSLIM_TEST_UNSET_VARIABLE in this environment"),
        (vec!["--add-server", "hypercorn"], 2, "gunicorn"),
    ] {
        let out = common::pyslim_with(None)
            .arg("dockerfile")
            .arg(&dir)
            .args(&args)
            .env_remove("PYSLIM_TEST_UNSET_VARIABLE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(why) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_service_that_needs_a_database_on_loopback_verifies_on_the_host_network() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "host-service");
    let mut tags = Tags(Vec::new());
    let tag = "pyslim-test/startimage-host-service:distroless";

    // the scan reads the port from the script's own HTTPServer address
    let scan = common::pyslim_with(None).args(["scan", "--json"]).arg(&dir).output().unwrap();
    let j: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(j["port"]["value"], 18765, "{}", j["port"]);

    // no database: the one-line cause names the way to verify next to one
    let r = build(&dir, tag, &mut tags, &["--timeout", "30"]);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("cause: the app connects to a service"), "{}", r.stdout);
    assert!(r.stdout.contains("--network host"), "{}", r.stdout);

    // a "database" on this machine's loopback (a real TCP server), reached from the host network
    let db = std::net::TcpListener::bind("127.0.0.1:54329").expect("port 54329 is free");
    std::thread::spawn(move || {
        for c in db.incoming() {
            drop(c);
        }
    });
    let r = build(&dir, tag, &mut tags, &["--network", "host", "--timeout", "30"]);
    expect_ok("host network", &r);
}

/// A project pinning gunicorn 19.9.0 (no `gunicorn/__main__.py` before 20.1.0, and
/// `import pkg_resources` at start before 21.0.0) on Python 3.11: the image starts gunicorn's
/// console script through the venv's python, not `python -m gunicorn` ("No module named
/// gunicorn.__main__"), and the builder adds setuptools<82 for its pkg_resources (implicit
/// requirements). Verified on
/// distroless and on minimal (`FROM scratch`, whose venv keeps `bin/`), from the image's own
/// entrypoint.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn an_old_gunicorn_starts_from_its_console_script_on_distroless_and_minimal() {
    const PY311: [&str; 3] = [
        "pyslim-mirror/python:3.11",
        "pyslim-mirror/python:3.11-slim",
        "pyslim-mirror/distroless/python3-debian12:nonroot",
    ];
    if !common::docker_images_ready(&PY311) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "gunicorn19-flask");
    let mut tags = Tags(Vec::new());
    for variant in ["distroless", "minimal"] {
        let tag = format!("pyslim-test/startimage-gunicorn19:{variant}");
        let r = build(&dir, &tag, &mut tags, &["--variant", variant, "--timeout", "60"]);
        expect_ok(variant, &r);
        let out = std::process::Command::new("docker")
            .args(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", &tag])
            .output()
            .unwrap();
        let entrypoint = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            entrypoint, r#"["/opt/venv/bin/python","/opt/venv/bin/gunicorn","-b","0.0.0.0:8000","app:app"]"#,
            "{variant}"
        );
    }
    drop(tags);
}

/// A service that looks its user up at start (`getpass.getuser()`, as PyMySQL does on connect)
/// verifies on the slim runtimes too: the numeric user 65532 gets an `/etc/passwd` entry there
/// (distroless has `nonroot`, minimal writes its own), where before it died with
/// `OSError: No username set in the environment`.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_service_that_looks_up_its_user_starts_on_slim() {
    if !common::docker_images_ready(&IMAGES[..1]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "user-lookup");
    let mut tags = Tags(Vec::new());
    for variant in ["multistage-slim", "slim"] {
        let tag = format!("pyslim-test/startimage-user:{variant}");
        let r = build(&dir, &tag, &mut tags, &["--variant", variant, "--python", "3.13", "--timeout", "60"]);
        expect_ok(variant, &r);
        let out = std::process::Command::new("docker")
            .args(["run", "--rm", "--entrypoint", "/bin/sh", &tag, "-c", "id -un && grep :65532: /etc/group"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.starts_with("nonroot\n"),
            "{variant}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
