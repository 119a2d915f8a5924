//! Failures explained, and the locks and credentials that used to cause them, through the real
//! binary: stale and old locks (written by the real Poetry 1.8, uv and PDM 2.10) scan with a
//! warning and build; index credentials in requirements.txt are a warning that never prints the
//! token and reach no final image; a resolver conflict and four ways an app fails at start end
//! with the JSON `error_kind`, `error` and `hint` a user can act on.
//!
//! The Docker tests need the daemon and the stand-in images (`scripts/fixture-images.sh`):
//! without them they fail when `CI` is set and are skipped with the reason otherwise. Every image
//! is tagged `pyslim-test/diagnose-*` and removed at the end, also when an assertion fails.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

const TOKEN: &str = "pyslim-fixture-token-7f3a";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A copy of a fixture in a temporary folder (builds must not write into the repository).
fn copy_fixture(name: &str, tmp: &Path) -> PathBuf {
    let dst = tmp.join(name);
    common::copy_dir(&fixture(name), &dst);
    dst
}

fn scan_json(name: &str) -> Value {
    let out = common::pyslim_with(None).args(["scan", "--json"]).arg(fixture(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dockerfile(name: &str, args: &[&str]) -> String {
    let out = common::pyslim_with(None).arg("dockerfile").arg(fixture(name)).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn warnings(scan: &Value) -> Vec<String> {
    scan["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

#[test]
fn stale_and_old_locks_are_warnings_and_pick_a_tool_that_reads_them() {
    let poetry = scan_json("stale-poetry-lock");
    assert_eq!(poetry["lock_state"]["value"]["stale"], true, "{poetry}");
    assert_eq!(poetry["lock_state"]["value"]["written_by"], "1.8.5");
    assert!(warnings(&poetry).iter().any(|w| w.starts_with("poetry.lock is stale (written by Poetry 1.8.5)")));
    let df = dockerfile("stale-poetry-lock", &["--variant", "multistage-slim", "--python", "3.11"]);
    assert!(df.contains("'poetry>=1.8,<2'") && !df.contains("poetry-plugin-export>=1.9"), "{df}");

    let uv = scan_json("stale-uv-lock");
    assert_eq!(uv["lock_state"]["value"]["stale"], true, "{uv}");
    assert!(warnings(&uv).iter().any(|w| w.starts_with("uv.lock is stale (not locked: itsdangerous)")));
    let df = dockerfile("stale-uv-lock", &["--variant", "distroless", "--python", "3.13"]);
    assert!(df.contains("sync --frozen") && !df.contains("sync --locked"), "{df}");

    let pdm = scan_json("old-pdm-lock");
    assert_eq!(pdm["lock_state"]["value"]["without_markers"], true, "{pdm}");
    assert!(warnings(&pdm).iter().any(|w| w.contains("lock_version 4.4, without `inherit_metadata`")));
    let df = dockerfile("old-pdm-lock", &["--variant", "distroless", "--python", "3.13"]);
    assert!(!df.contains("pdm export") && df.contains("printf '%s\\n' anyio==4.16.0 click==8.5.1"), "{df}");
    assert!(df.contains("'typing-extensions==4.16.0 ; python_version < \"3.15\"' uvicorn==0.32.1"), "{df}");

    // Fresh locks keep today's tools and flags, and no warning.
    for (name, tool) in
        [("poetry2-fastapi", "poetry>=2,<3"), ("uv-fastapi", "sync --locked"), ("pdm-litestar", "pdm>=2,<3")]
    {
        let s = scan_json(name);
        assert!(!warnings(&s).iter().any(|w| w.contains("stale") || w.contains("is old")), "{name}: {s}");
        assert!(dockerfile(name, &["--variant", "multistage-slim"]).contains(tool), "{name}");
    }
}

#[test]
fn index_credentials_are_a_warning_that_never_prints_the_token() {
    let s = scan_json("index-credentials");
    assert_eq!(s["index_credentials"], serde_json::json!(["requirements.txt:2"]));
    let w = warnings(&s);
    let w = w.iter().find(|w| w.starts_with("requirements.txt:2 has a package-index URL with credentials")).unwrap();
    assert!(w.contains("https://deploy:***@pypi.org/simple") && w.contains("--build-secret"), "{w}");
    let text = common::pyslim_with(None).arg("scan").arg(fixture("index-credentials")).output().unwrap();
    for out in [String::from_utf8_lossy(&text.stdout), String::from_utf8_lossy(&text.stderr), s.to_string().into()] {
        assert!(!out.contains(TOKEN), "the token is printed: {out}");
    }
    // Every variant's final stage copies the cleaned source; the single stages their
    // requirement files too.
    for variant in ["naive", "slim", "multistage-slim", "distroless"] {
        let df = dockerfile("index-credentials", &["--variant", variant, "--python", "3.13"]);
        assert!(df.contains(" AS source\nCOPY . /app/\n"), "{variant}: {df}");
        assert!(df.contains("sed -i -E 's#://[^/@[:space:]]+@#://#g' /app/requirements.txt"), "{variant}: {df}");
        let last = df.rsplit("\nFROM ").next().unwrap();
        assert!(!last.contains("COPY . ") && !last.contains("COPY requirements.txt"), "{variant}: {last}");
    }
}

use common::Tags;

const PY311: [&str; 1] = ["pyslim-mirror/python:3.11-slim"];
const PY313: [&str; 2] = ["pyslim-mirror/python:3.13-slim", "pyslim-mirror/distroless/python3-debian13:nonroot"];

/// `pyslim build DIR --json ARGS`: the exit code and the JSON on stdout.
fn build_json(dir: &Path, tag: &str, args: &[&str]) -> (i32, Value, String) {
    let out =
        common::pyslim_with(None).arg("build").arg(dir).args(["--json", "--tag", tag]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn locks_that_todays_tools_refuse_still_build_and_start() {
    if !common::docker_images_ready(&PY313) || !common::docker_images_ready(&PY311) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut tags = Tags(Vec::new());
    // Python 3.11 for Poetry 1.8: its dependencies have wheels there, so the tool installs fast.
    for (name, python, variant) in [
        ("stale-uv-lock", "3.13", "distroless"),
        ("old-pdm-lock", "3.13", "distroless"),
        ("stale-poetry-lock", "3.11", "multistage-slim"),
    ] {
        let tag = format!("pyslim-test/diagnose-{name}:test");
        tags.0.push(tag.clone());
        let dir = copy_fixture(name, tmp.path());
        let (code, j, stderr) =
            build_json(&dir, &tag, &["--verify", "--timeout", "60", "--python", python, "--variant", variant]);
        assert_eq!(code, 0, "{name}: {j}\n{stderr}");
        assert_eq!(j["verified"], true, "{name}: {j}");
        assert_eq!(j["http_status"], 200, "{name}: {j}");
        assert!(j.get("error").is_none(), "{name}: {j}");
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn index_credentials_reach_no_final_image() {
    if !common::docker_images_ready(&PY313) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture("index-credentials", tmp.path());
    let mut tags = Tags(Vec::new());
    for variant in ["slim", "distroless"] {
        let tag = format!("pyslim-test/diagnose-credentials:{variant}");
        tags.0.push(tag.clone());
        let (code, j, stderr) = build_json(&dir, &tag, &["--python", "3.13", "--variant", variant]);
        assert_eq!(code, 0, "{variant}: {j}\n{stderr}");
        let leaks = common::occurrences(&tag, TOKEN, tmp.path());
        assert!(leaks.is_empty(), "{variant}: the token is in {leaks:?}");
        // Positive control: the requirement file is in the image, cleaned.
        let found = common::occurrences(&tag, "--index-url https://pypi.org/simple", tmp.path());
        assert!(found.iter().any(|f| f.ends_with("app/requirements.txt")), "{variant}: {found:?}");
    }
}

/// What `build --verify --json` says about an app that fails at start.
struct StartCase {
    fixture: &'static str,
    kind: &'static str,
    error: &'static str,
    hint: &'static str,
    http_status: Option<u16>,
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn every_start_failure_is_explained() {
    if !common::docker_images_ready(&PY313) {
        return;
    }
    let cases = [
        StartCase {
            fixture: "start-env-missing",
            kind: "env-missing",
            error: "the app reads the environment variable SERVER_NAME at start and it is not set",
            hint: "set it with --env SERVER_NAME=...",
            http_status: None,
        },
        StartCase {
            // os.getenv's None fails elsewhere: the traceback passes the line that reads it
            fixture: "start-env-none",
            kind: "env-missing",
            error: "the app reads the environment variable CACHE_URL at start (app.py:7) and it is not set",
            hint: "set it with --env CACHE_URL=...",
            http_status: None,
        },
        StartCase {
            fixture: "start-import-error",
            kind: "import-error",
            error: "the app imports yaml, which is not installed in the image",
            hint: "add the distribution that provides yaml",
            http_status: None,
        },
        StartCase {
            fixture: "start-no-port",
            kind: "no-port",
            error: "nothing answered HTTP on port 8000 in time (last log line: serving on 127.0.0.1:8000)",
            hint: "make the server listen on 0.0.0.0:8000",
            http_status: None,
        },
        StartCase {
            fixture: "start-http-500",
            kind: "app-error",
            error: "answered HTTP 500: the app raised ValueError: Missing staticfiles manifest entry",
            hint: "the container's last log lines show where",
            http_status: Some(500),
        },
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut tags = Tags(Vec::new());
    for c in &cases {
        let tag = format!("pyslim-test/diagnose-{}:test", c.fixture);
        tags.0.push(tag.clone());
        let dir = copy_fixture(c.fixture, tmp.path());
        // The no-port case waits out its timeout; the others end when the app exits or answers,
        // which on a loaded machine can take longer than 8 s.
        let timeout = if c.kind == "no-port" { "8" } else { "60" };
        let args = [
            "--verify",
            "--timeout",
            timeout,
            "--python",
            "3.13",
            "--variant",
            "distroless",
            "--entrypoint",
            "python app.py",
            "--port",
            "8000",
        ];
        let (code, j, stderr) = build_json(&dir, &tag, &args);
        assert_eq!(code, 3, "{}: {j}\n{stderr}", c.fixture);
        assert_eq!(j["verified"], false, "{}: {j}", c.fixture);
        assert_eq!(j["error_kind"], c.kind, "{}: {j}", c.fixture);
        assert!(j["error"].as_str().unwrap().starts_with(c.error), "{}: {j}", c.fixture);
        assert!(j["hint"].as_str().unwrap().starts_with(c.hint), "{}: {j}", c.fixture);
        assert_eq!(j["http_status"].as_u64().map(|s| s as u16), c.http_status, "{}: {j}", c.fixture);
        assert!(!j["log_tail"].as_array().unwrap().is_empty(), "{}: {j}", c.fixture);
        // The text form names the cause and the remedy too.
        assert!(stderr.contains("did NOT start"), "{}: {stderr}", c.fixture);
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_failed_build_names_its_cause_in_json_and_text() {
    if !common::docker_images_ready(&PY313) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conflict");
    std::fs::create_dir(&dir).unwrap();
    // fastapi 0.115.0 requires starlette <0.39: pip cannot install both.
    std::fs::write(dir.join("requirements.txt"), "fastapi==0.115.0\nstarlette==0.41.3\nuvicorn==0.32.1\n").unwrap();
    std::fs::write(dir.join("main.py"), "from fastapi import FastAPI\n\napp = FastAPI()\n").unwrap();
    let tag = "pyslim-test/diagnose-conflict:test".to_string();
    let _tags = Tags(vec![tag.clone()]);
    let (code, j, stderr) = build_json(&dir, &tag, &["--python", "3.13", "--variant", "distroless"]);
    assert_eq!(code, 1, "{j}\n{stderr}");
    assert_eq!(j["name"], "distroless", "{j}");
    assert_eq!(j["error_kind"], "resolver-conflict", "{j}");
    assert_eq!(j["error"], "the dependencies cannot be installed together (the resolver found a conflict)", "{j}");
    assert!(j["hint"].as_str().unwrap().starts_with("relax or align the conflicting pins"), "{j}");
    assert!(j["reason"].as_str().unwrap().contains("build failed at"), "{j}");
    assert!(stderr.contains("\ncause: the dependencies cannot be installed together"), "{stderr}");
    assert!(stderr.contains("\nhint: relax or align"), "{stderr}");
}

#[test]
fn the_scan_records_which_pythons_each_compiled_locked_package_has_wheels_for() {
    for name in ["poetry1-fastapi", "uv-fastapi"] {
        let report = common::scan(&fixture(name)).unwrap();
        let wheels = pyslim::scan::wheel_pythons(&report.pins);
        let core = wheels.get("pydantic-core").unwrap_or_else(|| panic!("{name}: {wheels:?}"));
        assert!(core.minors.iter().any(|v| v == "3.11"), "{name}: {core:?}");
        assert!(core.from.ends_with("lock"), "{name}: {core:?}");
        assert!(!wheels.contains_key("fastapi"), "{name}: pure packages are not listed");
    }
}
