//! Dependencies installed from a git repository, through the real binary: the scan finds them in
//! every lock format and in requirement lines (never keeping a URL's credentials), the
//! Dockerfile exports Poetry and PDM locks without hashes (pip refuses hashes beside a
//! repository), turns Pipenv's editable git entries into regular installs and gives a slim
//! builder git; and two real builds on the daemon: a Poetry lock whose git dependency is served
//! by a real git server (git's HTTP protocol, from a container) builds and answers HTTP, and a
//! repository on a host that does not resolve ends with its own one-line cause.
//!
//! The Docker tests run with `--features docker` and need the daemon and the stand-in images
//! (`scripts/fixture-images.sh`):
//! without them they fail when `CI` is set and are skipped with the reason otherwise. Images are
//! tagged `pyslim-test/realclasses-vcs-*`, the git server container is named
//! `pyslim-test-realclasses-git-*`; both are removed at the end, also when an assertion fails.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

/// The commit of `tests/vcs-repos/greeting` made by [`GitServer`] (fixed author and dates), the
/// one the fixtures' locks name.
const GREETING_SHA: &str = "1048839cc46de305a9679f7ed48483ef64f2beed";
/// The repository URL the fixtures name.
const FIXTURE_URL: &str = "https://git.example.com/acme/greeting.git";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn scan_json(name: &str) -> Value {
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .args(["scan", "--json"])
        .arg(fixture(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dockerfile(name: &str, args: &[&str]) -> String {
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .arg("dockerfile")
        .arg(fixture(name))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The builder stage of a multi-stage Dockerfile.
fn builder(df: &str) -> &str {
    let start = df.find(" AS builder").expect("a builder stage");
    let end = df[start..].find("\nFROM ").map(|e| start + e).unwrap_or(df.len());
    &df[start..end]
}

#[test]
fn every_lock_format_names_its_git_dependency() {
    for (name, source) in [
        ("vcs-poetry", "poetry.lock [[package]] greeting"),
        ("vcs-uv", "uv.lock [[package]] greeting"),
        ("vcs-pdm", "pdm.lock [[package]] greeting"),
        ("vcs-pipenv", "Pipfile.lock [default] greeting"),
        ("vcs-requirements-hashes", "requirements.txt:5"),
    ] {
        let j = scan_json(name);
        let vcs = j["vcs_dependencies"].as_array().unwrap_or_else(|| panic!("{name}: {j}"));
        assert_eq!(vcs.len(), 1, "{name}: {vcs:?}");
        assert_eq!(vcs[0]["value"]["name"], "greeting", "{name}");
        assert_eq!(vcs[0]["value"]["host"], "git.example.com", "{name}");
        assert_eq!(vcs[0]["value"]["url"], format!("git+{FIXTURE_URL}@{GREETING_SHA}"), "{name}");
        assert_eq!(vcs[0]["value"]["editable"], name == "vcs-pipenv", "{name}");
        assert_eq!(vcs[0]["source"], source, "{name}");
    }
    // a file pip will refuse is a warning with the line and the way out
    let j = scan_json("vcs-requirements-hashes");
    let w: Vec<&str> = j["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(
        w.iter().any(|w| w.starts_with(
            "requirements.txt:5: greeting comes from a git repository and requirements.txt has --hash options"
        )),
        "{w:?}"
    );
    // nothing from git: no fact, no warning
    let j = scan_json("poetry2-fastapi");
    assert!(j.get("vcs_dependencies").is_none(), "{j}");
    // the text form names it with its source
    let out = common::pyslim_with(None).env("PYSLIM_OFFLINE", "1").arg("scan").arg(fixture("vcs-uv")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("from git        greeting (git+https://git.example.com/acme/greeting.git@"), "{text}");
}

#[test]
fn a_repository_url_never_keeps_its_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::tiny_project(tmp.path(), "creds", "x");
    std::fs::write(
        dir.join("requirements.txt"),
        "greeting @ git+https://deploy:pyslim-vcs-token-3c1e@git.example.com/acme/greeting.git@v1\n",
    )
    .unwrap();
    let out = common::pyslim_with(None).env("PYSLIM_OFFLINE", "1").args(["scan", "--json"]).arg(&dir).output().unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let vcs = j["vcs_dependencies"].to_string();
    assert!(!vcs.contains("pyslim-vcs-token-3c1e") && !vcs.contains("deploy"), "{vcs}");
    assert!(vcs.contains("git+https://git.example.com/acme/greeting.git@v1"), "{vcs}");
    let out = common::pyslim_with(None).env("PYSLIM_OFFLINE", "1").arg("scan").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("from git")).unwrap_or_else(|| panic!("{text}"));
    assert!(!line.contains("pyslim-vcs-token-3c1e"), "{line}");
}

#[test]
fn exports_leave_out_hashes_and_the_slim_builder_gets_git() {
    // Poetry and PDM: no hashes in the export when the lock has a repository
    let df = dockerfile("vcs-poetry", &["--variant", "distroless", "--python", "3.13"]);
    assert!(df.contains("poetry export --without-hashes --only main"), "{df}");
    assert!(df.contains("# - greeting comes from a git repository: the lock is exported --without-hashes"), "{df}");
    assert!(builder(&df).contains("apt-get install -y --no-install-recommends git"), "{df}");
    let df = dockerfile("vcs-pdm", &["--variant", "multistage-slim", "--python", "3.13"]);
    assert!(df.contains("pdm export --no-hashes --prod"), "{df}");
    // a lock without one keeps its hashes
    let df = dockerfile("poetry2-fastapi", &["--variant", "distroless", "--python", "3.13"]);
    assert!(df.contains("poetry export --only main") && !df.contains("--without-hashes"), "{df}");
    assert!(!df.contains("install -y --no-install-recommends git"), "{df}");
    // Pipenv: the editable entry is installed as a regular package
    let df = dockerfile("vcs-pipenv", &["--variant", "distroless", "--python", "3.13"]);
    assert!(df.contains("sed -i 's#^-e \\(git+\\|hg+\\|svn+\\|bzr+\\)#\\1#' /tmp/requirements.txt"), "{df}");
    // uv clones with git: the slim single stage installs it and removes it again
    let df = dockerfile("vcs-uv", &["--variant", "slim", "--python", "3.13"]);
    assert!(df.contains("apt-get install -y --no-install-recommends git"), "{df}");
    assert!(df.contains("apt-get purge -y --auto-remove git"), "{df}");
    // the full image ships git: nothing to add
    let df = dockerfile("vcs-uv", &["--variant", "naive", "--python", "3.13"]);
    assert!(!df.contains("apt-get"), "{df}");
}

// ---- real builds --------------------------------------------------------------------------

const PY313: [&str; 3] = [
    "pyslim-mirror/python:3.13",
    "pyslim-mirror/python:3.13-slim",
    "pyslim-mirror/distroless/python3-debian13:nonroot",
];

/// A git server in a container: `tests/vcs-repos/greeting` committed with a fixed author and
/// date, cloned bare, served over git's HTTP protocol on port 8080. Removed on drop.
struct GitServer {
    name: String,
    url: String,
}

impl GitServer {
    fn start() -> GitServer {
        let name = format!("pyslim-test-realclasses-git-{}", std::process::id());
        let repos = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcs-repos/greeting");
        let script = "set -e; cp -r /src /tmp/w; cd /tmp/w; git init -q -b main; git add .; \
            GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z \
            git -c user.name=pyslim -c user.email=fixture@pyslim.invalid commit -qm 'greeting 1.0.0'; \
            git rev-parse HEAD; git clone -q --bare . /tmp/srv/greeting.git; \
            cd /tmp/srv/greeting.git; git update-server-info; echo ready; \
            exec python3 -m http.server 8080 -d /tmp/srv";
        let out = Std::new("docker")
            .args(["run", "-d", "--name", &name, "--label", "pyslim-test=realclasses", "-v"])
            .arg(format!("{}:/src:ro", repos.display()))
            .args(["pyslim-mirror/python:3.13", "sh", "-c", script])
            .output()
            .unwrap();
        let mut server = GitServer { name: name.clone(), url: String::new() };
        assert!(out.status.success(), "docker run: {}", String::from_utf8_lossy(&out.stderr));
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let logs = loop {
            let logs = common::run(Std::new("docker").args(["logs", &name]));
            if logs.contains("ready") {
                break logs;
            }
            assert!(std::time::Instant::now() < until, "the git server did not start: {logs}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert!(logs.starts_with(GREETING_SHA), "the fixture repository's commit changed: {logs}");
        let ip = common::run(Std::new("docker").args(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &name]));
        server.url = format!("http://{}:8080/greeting.git", ip.trim());
        server
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = Std::new("docker").args(["rm", "-f", &self.name]).output();
    }
}

/// Python's `json.dumps(obj, sort_keys=True)` of a list of strings (ASCII, no escapes needed).
fn py_json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Points a copy of `vcs-poetry` at `url` the way `poetry lock` would have written it: the URL in
/// pyproject.toml and poetry.lock, and the lock's content-hash (Poetry 2: sha256 of the sorted
/// JSON of the relevant `[project]` keys beside `[tool.poetry]`'s, here none).
fn poetry_fixture_at(url: &str, dir: &Path) {
    common::copy_dir(&fixture("vcs-poetry"), dir);
    for file in ["pyproject.toml", "poetry.lock"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap().replace(FIXTURE_URL, url);
        std::fs::write(dir.join(file), text).unwrap();
    }
    let py: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("pyproject.toml")).unwrap()).unwrap();
    let deps: Vec<String> =
        py["project"]["dependencies"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect();
    let requires = py["project"]["requires-python"].as_str().unwrap();
    let relevant = format!(
        "{{\"project\": {{\"dependencies\": {}, \"requires-python\": \"{requires}\"}}, \"tool\": {{\"poetry\": {{}}}}}}",
        py_json_list(&deps)
    );
    use sha2::Digest;
    let hash = format!("{:x}", sha2::Sha256::digest(relevant.as_bytes()));
    let lock = std::fs::read_to_string(dir.join("poetry.lock")).unwrap();
    let lock: Vec<String> = lock
        .lines()
        .map(|l| if l.starts_with("content-hash = ") { format!("content-hash = \"{hash}\"") } else { l.to_string() })
        .collect();
    std::fs::write(dir.join("poetry.lock"), lock.join("\n") + "\n").unwrap();
}

/// `pyslim build DIR --json ARGS`: the exit code, the JSON on stdout and stderr.
fn build_json(dir: &Path, tag: &str, args: &[&str]) -> (i32, Value, String) {
    let out = common::pyslim_with(None)
        .env("PYSLIM_OFFLINE", "1")
        .arg("build")
        .arg(dir)
        .args(["--json", "--tag", tag])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn the_fixture_lock_matches_what_poetry_writes() {
    // the content-hash rule used by the build test, checked on the fixture as committed (which
    // the scan finds fresh, as Poetry did when it wrote it)
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    poetry_fixture_at(FIXTURE_URL, &dir);
    assert_eq!(
        std::fs::read_to_string(dir.join("poetry.lock")).unwrap(),
        std::fs::read_to_string(fixture("vcs-poetry").join("poetry.lock")).unwrap()
    );
    let j = scan_json("vcs-poetry");
    assert_eq!(j["lock_state"]["value"]["stale"], false, "{j}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_poetry_lock_with_a_git_dependency_builds_and_starts() {
    if !common::docker_images_ready(&PY313) {
        return;
    }
    let server = GitServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vcs-poetry");
    poetry_fixture_at(&server.url, &dir);
    let tag = "pyslim-test/realclasses-vcs-poetry:test".to_string();
    let _tags = common::Tags(vec![tag.clone()]);
    let (code, j, stderr) =
        build_json(&dir, &tag, &["--verify", "--timeout", "60", "--python", "3.13", "--variant", "distroless"]);
    assert_eq!(code, 0, "{j}\n{stderr}");
    assert_eq!(j["verified"], true, "{j}");
    assert_eq!(j["http_status"], 200, "{j}");
    // the repository's code is in the image, at the locked commit
    let out = common::run(Std::new("docker").args([
        "run",
        "--rm",
        "--entrypoint",
        "/opt/venv/bin/python",
        &tag,
        "-c",
        "import greeting, importlib.metadata as m; print(greeting.hello('x')); print(m.distribution('greeting').read_text('direct_url.json'))",
    ]));
    assert!(out.contains("hello x, from a git dependency"), "{out}");
    assert!(out.contains(GREETING_SHA), "{out}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn an_unreachable_git_host_has_its_own_cause() {
    if !common::docker_images_ready(&PY313) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vcs-unreachable");
    common::copy_dir(&fixture("vcs-unreachable"), &dir);
    let tag = "pyslim-test/realclasses-vcs-unreachable:test".to_string();
    let _tags = common::Tags(vec![tag.clone()]);
    let (code, j, stderr) = build_json(&dir, &tag, &["--python", "3.13", "--variant", "distroless"]);
    assert_eq!(code, 1, "{j}\n{stderr}");
    assert_eq!(j["error_kind"], "vcs-unreachable", "{j}");
    let cause = j["error"].as_str().unwrap();
    assert!(cause.starts_with("the build could not reach git.example.invalid, the git host of greeting"), "{cause}");
    assert!(cause.contains("Could not resolve host"), "{cause}");
    assert!(stderr.contains("\ncause: the build could not reach git.example.invalid"), "{stderr}");
}
