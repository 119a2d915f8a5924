//! Services beside the app (issue 17): the real binary verifies fixture apps that need Postgres,
//! Redis or MySQL at start, with the services started from the `pyslim-mirror/` stand-ins
//! (scripts/fixture-services.sh) on a private network, and leaves nothing behind: every
//! container, network and volume carrying the run's `org.pyslim.pid` label (the sidecars, their
//! network and volumes) is counted after the run, on success, on failure, and after SIGINT /
//! SIGTERM while a service is starting, and the app's own container is gone too.
//!
//! One test at a time (a lock): each builds an image and starts real servers on a shared daemon.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const IMAGES: &[&str] =
    &["pyslim-mirror/python:3.13-slim", "pyslim-mirror/postgres:16", "pyslim-mirror/redis:7", "pyslim-mirror/mysql:8"];

fn ready() -> bool {
    common::docker_images_ready(IMAGES)
}

/// A copy of a fixture in a temp folder (pyslim may write `.pyslim/` into it).
fn fixture(tmp: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let dst = tmp.join(name);
    copy_dir(&src, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// The binary with the stand-ins' mirror, building one variant and verifying it as JSON.
fn pyslim(project: &Path, tag: &str, extra: &[&str]) -> Command {
    pyslim_variant(project, "multistage-slim", tag, extra)
}

fn pyslim_variant(project: &Path, variant: &str, tag: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyslim"));
    c.env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror").env("NO_COLOR", "1");
    for var in ["DOCKER_CONTEXT", "PYSLIM_BUILDER", "PYSLIM_VERIFY_FROM", "CI_PYSLIM_UNUSED"] {
        c.env_remove(var);
    }
    c.args(["build", "--variant", variant, "--verify", "--json", "--tag", tag]);
    c.args(extra).arg(project);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Runs to the end; returns the process id (what its resources are labelled with) and output.
fn run(mut c: Command) -> (u32, Output) {
    let child = c.spawn().unwrap();
    let pid = child.id();
    (pid, child.wait_with_output().unwrap())
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Containers, networks and volumes a pyslim process labelled with its id.
/// Appends `text` to the fixture copy's `pyslim.toml`.
fn add_to_config(p: &Path, text: &str) {
    let toml = std::fs::read_to_string(p.join("pyslim.toml")).unwrap() + text;
    std::fs::write(p.join("pyslim.toml"), toml).unwrap();
}

fn left_by(pid: u32) -> Vec<String> {
    let label = format!("label=org.pyslim.pid={pid}");
    let mut left = Vec::new();
    for (what, args) in [
        ("container", vec!["ps", "-a", "-q", "--filter", &label]),
        ("network", vec!["network", "ls", "-q", "--filter", &label]),
        ("volume", vec!["volume", "ls", "-q", "--filter", &label]),
    ] {
        left.extend(docker(&args).lines().filter(|l| !l.is_empty()).map(|l| format!("{what} {l}")));
    }
    left
}

/// The app's verify containers a run named in its progress (`verifying in NAME`) that still exist.
fn app_containers_left(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split("verifying in ").nth(1))
        .map(|name| name.trim().to_string())
        .filter(|name| !docker(&["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]).is_empty())
        .collect()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("no JSON ({e}):\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn an_app_that_migrates_postgres_at_start_verifies_with_service_flag() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-postgres");
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-pg:ms", &["--service", "postgres:16"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let v = json(&out);
    assert_eq!(v["verified"], true, "{err}");
    assert_eq!(v["services"][0]["name"], "postgres");
    assert!(v["services"][0]["ready_seconds"].as_f64().is_some(), "{v}");
    assert_eq!(v["services"][0]["ready_by"], "a Postgres startup answered");
    // progress says what started and when it was ready
    assert!(err.contains("service postgres (postgres:16): starting"), "{err}");
    assert!(err.contains("service postgres: ready in"), "{err}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    assert!(err.contains("verifying in "), "{err}");
    assert_eq!(app_containers_left(&err), Vec::<String>::new());
    // without the service (and without the compose file's) the same app does not start: the
    // database is what it needs
    let (_, alone) = run(pyslim(&p, "pyslim-test/sidecars-pg:ms", &["--timeout", "20", "--no-compose"]));
    assert_eq!(alone.status.code(), Some(3), "{}", stderr(&alone));
    docker(&["rmi", "pyslim-test/sidecars-pg:ms"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_compose_style_service_built_from_its_context_is_ready_by_its_healthcheck() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-postgres");
    // What the compose file says, written as [[verify.services]]: built FROM postgres:16 with an
    // init script adding the app's database, its own credentials and healthcheck.
    add_to_config(
        &p,
        r#"
[verify.env]
DATABASE_URL = "postgresql://blog:secret@db:5432/shop"

[[verify.services]]
name = "db"
image = "postgres:16"
aliases = ["database"]
healthcheck = ["CMD-SHELL", "pg_isready -U blog -d shop"]
build = { context = "db" }
env = { POSTGRES_USER = "blog", POSTGRES_PASSWORD = "secret" }
"#,
    );
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-pgbuilt:ms", &[]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let v = json(&out);
    assert_eq!(v["verified"], true, "{err}");
    assert_eq!(v["services"][0]["ready_by"], "its healthcheck, then a Postgres startup answered", "{v}");
    assert!(err.contains("service db: building its image from"), "{err}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    // the service image built for the run is gone too (this run's: other tests may build one)
    let mine = format!("label=org.pyslim.pid={pid}");
    assert_eq!(docker(&["images", "-q", "--filter", "reference=pyslim-sidecar/*", "--filter", &mine]), "");
    docker(&["rmi", "pyslim-test/sidecars-pgbuilt:ms"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn redis_at_start_verifies_and_a_service_without_an_image_is_left_out() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-redis");
    let args = ["--service", "redis:7", "--service", "mongo:7", "--pull", "never"];
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-redis:ms", &args));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let v = json(&out);
    assert_eq!(v["verified"], true, "{err}");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services[0]["ready_by"], "PING answered PONG", "{v}");
    let mongo = services[1]["left_out"].as_str().unwrap();
    assert!(mongo.contains("pyslim-mirror/mongo:7 has no local copy"), "{mongo}");
    assert!(mongo.contains("--service mongo="), "the flag that replaces it: {mongo}");
    assert!(err.contains("service mongo (mongo:7) left out"), "{err}");
    assert_eq!(app_containers_left(&err), Vec::<String>::new());
    // a postgres tag the mirror lacks is named with a local tag that replaces it
    let (_, out) =
        run(pyslim(&p, "pyslim-test/sidecars-redis:ms", &["--service", "db=postgres:9.6", "--pull", "never"]));
    let v = json(&out);
    let why = v["services"][0]["left_out"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("--service db=postgres:18"), "{why}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    docker(&["rmi", "pyslim-test/sidecars-redis:ms"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn an_app_on_mysql_verifies_with_a_named_service() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-mysql");
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-mysql:ms", &["--service", "db=mysql:8"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let v = json(&out);
    assert_eq!(v["verified"], true, "{err}");
    assert_eq!(v["services"][0]["ready_by"], "a MySQL handshake", "{v}");
    assert_eq!(app_containers_left(&err), Vec::<String>::new());
    assert_eq!(left_by(pid), Vec::<String>::new());
    docker(&["rmi", "pyslim-test/sidecars-mysql:ms"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_service_that_exits_is_the_cause_with_its_last_lines() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-postgres");
    // no POSTGRES_PASSWORD: the server refuses to initialize, as the official image does
    add_to_config(
        &p,
        "\n[[verify.services]]\nname = \"db\"\nimage = \"postgres:16\"\nenv = { POSTGRES_USER = \"x\" }\n",
    );
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-pgfail:ms", &["--env", "DATABASE_URL=postgresql://x@db/x"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["error_kind"], "service-failed", "{v}");
    let cause = v["error"].as_str().unwrap();
    assert!(cause.contains("the service db (postgres:16) exited with code 1 before it was ready"), "{cause}");
    let tail = v["log_tail"].as_array().unwrap();
    assert!(tail.iter().any(|l| l.as_str().unwrap().contains("superuser password is not specified")), "{tail:?}");
    assert!(cause.contains("superuser password is not specified"), "the line that says why: {cause}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    docker(&["rmi", "pyslim-test/sidecars-pgfail:ms"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn the_minimal_variant_is_traced_and_verified_beside_its_service() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-redis");
    let (pid, out) =
        run(pyslim_variant(&p, "minimal", "pyslim-test/sidecars-redis:minimal", &["--service", "redis:7"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let v = json(&out);
    assert_eq!(v["verified"], true, "{err}");
    // the tracing run had a Redis of its own, and so did verify
    assert!(err.contains("tracing GET /: HTTP 200"), "{err}");
    assert_eq!(err.matches("service redis: ready in").count(), 2, "{err}");
    let trace = std::fs::read_to_string(p.join(".pyslim/trace.txt")).unwrap();
    assert!(trace.lines().any(|l| l == "module redis"), "the trace saw the client library:\n{trace}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    assert_eq!(app_containers_left(&err), Vec::<String>::new());
    docker(&["rmi", "pyslim-test/sidecars-redis:minimal"]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_service_that_never_gets_ready_times_out_with_its_cause() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-redis");
    // a healthcheck that never passes: the server runs, but is never ready
    add_to_config(
        &p,
        "\n[[verify.services]]\nname = \"cache\"\nimage = \"redis:7\"\nhealthcheck = [\"CMD\", \"false\"]\n",
    );
    let (pid, out) = run(pyslim(&p, "pyslim-test/sidecars-timeout:ms", &["--timeout", "8"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["error_kind"], "service-failed", "{v}");
    let cause = v["error"].as_str().unwrap();
    assert!(cause.contains("the service cache (redis:7) was not ready within 8s"), "{cause}");
    assert!(v["log_tail"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("Ready to accept")), "{v}");
    assert_eq!(left_by(pid), Vec::<String>::new());
    docker(&["rmi", "pyslim-test/sidecars-timeout:ms"]);
}

/// Starts a run, waits until a service is starting, sends `signal`, and checks that the run
/// ends cancelled with nothing of its own left.
fn killed_while_a_service_starts(signal: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let p = fixture(tmp.path(), "sidecar-mysql");
    let mut c = pyslim(&p, "pyslim-test/sidecars-kill:ms", &["--service", "db=mysql:8"]);
    // plain progress lines (no terminal): one per event
    let mut child = c.spawn().unwrap();
    let pid = child.id();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("service db (mysql:8): starting") {
                let _ = tx.send(());
            }
            seen.push(line);
        }
        seen
    });
    rx.recv_timeout(Duration::from_secs(600)).expect("the service never started");
    assert!(!left_by(pid).is_empty(), "the service should be running now");
    assert!(Command::new("kill").args([signal, &pid.to_string()]).status().unwrap().success());
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "after {signal}");
    assert!(started.elapsed() < Duration::from_secs(60), "cleanup took {:?}", started.elapsed());
    assert_eq!(left_by(pid), Vec::<String>::new(), "left after {signal}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn sigint_and_sigterm_while_a_service_starts_leave_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !ready() {
        return;
    }
    killed_while_a_service_starts("-INT");
    killed_while_a_service_starts("-TERM");
    docker(&["rmi", "pyslim-test/sidecars-kill:ms"]);
}
