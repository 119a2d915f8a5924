//! The offline stand-in base images (`scripts/fixture-images.sh`) behave like the public images
//! they stand in for: the interpreter sits at the catalogue's path (`assets/images.toml`), the
//! official layout (`python`, `python3`, `python3.X`, `pip` in `/usr/local/bin`, no
//! EXTERNALLY-MANAGED) holds, `python -m venv` and `pip install` of a wheel from PyPI work, and
//! the full images build C extensions from source as the official (buildpack-deps) ones do.
//!
//! The service stand-ins (`scripts/fixture-services.sh`: postgres, mysql/mariadb, redis) are real
//! servers that honour the official images' variables and answer real clients from other
//! containers (psql, the mysql client, redis-cli) on a private network of the test's own.
//!
//! The image list comes from `scripts/fixture-images.sh --list` (so `PYSLIM_FIXTURE_NAMESPACE` and
//! `PYSLIM_FIXTURE_SUITES` select what is checked). Missing images fail under `CI` and are skipped
//! with the reason printed elsewhere. With `PYSLIM_FIXTURE_SUITES` unset, the opt-in suites
//! (`--suites`: bullseye's Python 3.9, noble's 3.12, jammy's 3.10) are checked too when their images are built
//! and current (`--check`), and named as not checked otherwise: CI requires only the default
//! suites. Containers run with `--rm`; nothing else is created.

use std::path::Path;
use std::process::Command;

use pyslim::catalogue::{self, Family};

use crate::common;

#[derive(Debug, Clone)]
struct StandIn {
    /// The local image, e.g. `pyslim-mirror/python:3.14-slim`.
    image: String,
    /// The public image it stands in for, e.g. `docker.io/library/python:3.14-slim`.
    public: String,
    /// major.minor of its Python.
    python: String,
    /// `full`, `slim`, `distroless` or `distroless-nonroot`.
    kind: String,
}

impl StandIn {
    fn has_pip(&self) -> bool {
        self.kind == "full" || self.kind == "slim"
    }
}

fn script(suites: Option<&str>, arg: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture-images.sh")).arg(arg);
    if let Some(s) = suites {
        c.env("PYSLIM_FIXTURE_SUITES", s);
    }
    c
}

/// The stand-ins of `suites` (`None`: the script's selection, `PYSLIM_FIXTURE_SUITES` or its default).
fn standins(suites: Option<&str>) -> Vec<StandIn> {
    let out = common::run(&mut script(suites, "--list"));
    let list: Vec<StandIn> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "unexpected --list line {l:?}");
            StandIn { image: f[0].into(), public: f[1].into(), python: f[2].into(), kind: f[3].into() }
        })
        .collect();
    assert!(!list.is_empty(), "fixture-images.sh --list printed no image");
    list
}

/// The stand-ins, or `None` when the daemon or an image is missing (a failure under `CI`); with
/// `PYSLIM_FIXTURE_SUITES` unset, plus those of every opt-in suite whose images are built and current.
fn ready() -> Option<Vec<StandIn>> {
    let mut list = standins(None);
    let images: Vec<&str> = list.iter().map(|s| s.image.as_str()).collect();
    if !common::docker_images_ready(&images) {
        return None;
    }
    if std::env::var_os("PYSLIM_FIXTURE_SUITES").is_none() {
        for suite in opt_in_suites() {
            let current = script(Some(&suite), "--check").output().is_ok_and(|o| o.status.success());
            if current {
                eprintln!("note: opt-in suite {suite} is built: checking its stand-ins too");
                list.extend(standins(Some(&suite)));
            } else {
                eprintln!("note: opt-in suite {suite} is not built (or outdated): not checked");
            }
        }
    }
    Some(list)
}

/// The suites `fixture-images.sh --suites` marks `opt-in` (not built by default).
fn opt_in_suites() -> Vec<String> {
    let out = common::run(&mut script(None, "--suites"));
    out.lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [suite, "opt-in"] => Some(suite.to_string()),
            [_, "default"] => None,
            _ => panic!("unexpected --suites line {l:?}"),
        })
        .collect()
}

/// `docker run --rm` with `args` after the image; returns success and stdout+stderr.
fn docker_run(pre: &[&str], image: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "bridge"])
        .args(pre)
        .arg(image)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker run {image}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs `check` for every stand-in in parallel and fails once with every problem listed.
fn each<F>(list: &[StandIn], check: F)
where
    F: Fn(&StandIn) -> Result<(), String> + Sync,
{
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = list.iter().map(|x| (x, s.spawn(|| check(x)))).collect();
        handles
            .into_iter()
            .filter_map(|(x, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{}: {e}", x.image)),
                Err(_) => Some(format!("{}: check panicked", x.image)),
            })
            .collect()
    });
    assert!(problems.is_empty(), "{} stand-in(s) misbehave:\n{}", problems.len(), problems.join("\n\n"));
}

/// The catalogue's interpreter for a stand-in; a stand-in the catalogue does not list yet is
/// held to the official layout of its family (and said so).
fn interpreter(s: &StandIn) -> Result<String, String> {
    match catalogue::find(&s.public) {
        Some(entry) => {
            if entry.python.to_string() != s.python {
                return Err(format!(
                    "catalogue says Python {} for {}, the stand-in has {}",
                    entry.python, s.public, s.python
                ));
            }
            let family_ok = match s.kind.as_str() {
                "full" => entry.family == Family::Python,
                "slim" => entry.family == Family::PythonSlim,
                _ => entry.family == Family::Distroless,
            };
            if !family_ok {
                return Err(format!(
                    "catalogue family {:?} for {} does not match kind {}",
                    entry.family, s.public, s.kind
                ));
            }
            Ok(entry.interpreter.clone())
        }
        None => {
            eprintln!("note: {} has no catalogue entry; checking the official layout", s.public);
            Ok(if s.has_pip() {
                format!("/usr/local/bin/python{}", s.python)
            } else {
                format!("/usr/bin/python{}", s.python)
            })
        }
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn interpreters_sit_where_the_catalogue_says() {
    let Some(list) = ready() else { return };
    each(&list, |s| {
        let path = interpreter(s)?;
        let probe = "import os, sys, sysconfig\n\
                     print('%d.%d' % sys.version_info[:2])\n\
                     print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))";
        let (ok, out) = docker_run(&["--entrypoint", &path], &s.image, &["-c", probe]);
        if !ok {
            return Err(format!("{path} -c ... failed:\n{out}"));
        }
        let lines: Vec<&str> = out.lines().collect();
        if lines.first() != Some(&s.python.as_str()) {
            return Err(format!("{path} reports {out:?}, expected Python {}", s.python));
        }
        if s.has_pip() && lines.get(1) != Some(&"False") {
            return Err(format!("EXTERNALLY-MANAGED is present (official images have none): {out:?}"));
        }
        if s.has_pip() {
            // the official images' names, all resolving in /usr/local/bin, pip driving this Python
            let v = &s.python;
            let script = format!(
                "for n in python python3 python{v} pip pip3 pip{v}; do command -v $n; done; \
                 python3 -c 'import sys; print(sys.executable)'; pip --version"
            );
            let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", &script]);
            let want: Vec<String> = ["python", "python3", &format!("python{v}"), "pip", "pip3", &format!("pip{v}")]
                .iter()
                .map(|n| format!("/usr/local/bin/{n}"))
                .collect();
            let got: Vec<&str> = out.lines().take(6).collect();
            if !ok || got != want || !out.contains(&format!("(python {v})")) {
                return Err(format!("expected {want:?} and pip for Python {v}, got:\n{out}"));
            }
        } else {
            let out = common::run(Command::new("docker").args([
                "image",
                "inspect",
                "-f",
                "{{json .Config.Entrypoint}} {{.Config.User}}",
                &s.image,
            ]));
            let want_user = if s.kind == "distroless-nonroot" { "65532" } else { "" };
            if out.trim() != format!("[\"{path}\"] {want_user}").trim() {
                return Err(format!("entrypoint/user {out:?}, expected [{path:?}] {want_user}"));
            }
        }
        Ok(())
    });
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn venv_and_system_pip_install_a_wheel_from_pypi() {
    let Some(list) = ready() else { return };
    let with_pip: Vec<StandIn> = list.into_iter().filter(StandIn::has_pip).collect();
    each(&with_pip, |s| {
        // a venv (what pyslim's builder stages do) and a system-wide install (single-stage recipes)
        let script = "set -e; export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
            python -m venv /tmp/venv
            /tmp/venv/bin/pip install -q six
            /tmp/venv/bin/python -c 'import six, sys; assert sys.prefix == \"/tmp/venv\"; print(\"venv\", six.__version__)'
            pip install -q --root-user-action=ignore six
            python -c 'import six; print(\"system\", six.__file__)'";
        let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", script]);
        if ok && out.contains("venv ") && out.contains("system ") {
            Ok(())
        } else {
            Err(format!("venv + pip install six failed:\n{out}"))
        }
    });
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn full_images_build_mysqlclient_and_psycopg2_from_source() {
    let Some(list) = ready() else { return };
    let full: Vec<StandIn> = list.into_iter().filter(|s| s.kind == "full").collect();
    each(&full, |s| {
        // neither has a Linux wheel on PyPI: both compile against libmysqlclient / libpq headers
        // found through pkg-config and pg_config, as on the official buildpack-deps based images
        let script = "set -e; export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
            python -m venv /tmp/venv
            /tmp/venv/bin/pip install -q --no-binary mysqlclient,psycopg2 mysqlclient psycopg2
            /tmp/venv/bin/python -c 'import MySQLdb, psycopg2; print(\"built\", MySQLdb.version_info, psycopg2.__version__)'";
        let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", script]);
        if ok && out.contains("built ") {
            Ok(())
        } else {
            Err(format!("pip install mysqlclient psycopg2 failed:\n{}", tail(&out, 40)))
        }
    });
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `scripts/demo.sh` builds one suite first so that a first run is quick: that suite must hold
/// every base image the demo's five variants use (read from their rendered Dockerfiles), under the
/// namespace the demo points its mirror at. Needs neither Docker nor root.
#[test]
fn the_demo_suite_holds_every_image_the_demo_uses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = std::fs::read_to_string(root.join("scripts/demo.sh")).unwrap();
    let suite =
        regex::Regex::new(r"\$\{PYSLIM_DEMO_SUITES:-([a-z ]+)\}").unwrap().captures(&demo).unwrap_or_else(|| {
            panic!("scripts/demo.sh no longer names its default suites as ${{PYSLIM_DEMO_SUITES:-...}}")
        })[1]
            .to_string();
    let mut listing = script(None, "--list");
    listing.arg(&suite).env_remove("PYSLIM_FIXTURE_SUITES").env("PYSLIM_FIXTURE_NAMESPACE", "pyslim-mirror");
    let listed: Vec<String> =
        common::run(&mut listing).lines().filter_map(|l| l.split_whitespace().next().map(str::to_string)).collect();
    let from = regex::Regex::new(r"(?m)^FROM (\S+)(?: AS (\S+))?|from=([^,\s]+)").unwrap();
    for variant in ["naive", "slim", "multistage-slim", "distroless", "minimal"] {
        let dockerfile = common::run(Command::new(env!("CARGO_BIN_EXE_pyslim")).args([
            "dockerfile",
            "--demo",
            "--variant",
            variant,
            "--mirror",
            "pyslim-mirror",
        ]));
        let mut stages = vec!["scratch".to_string()];
        let mut used = 0;
        for c in from.captures_iter(&dockerfile) {
            let image = c.get(1).or(c.get(3)).unwrap().as_str().to_string();
            if let Some(alias) = c.get(2) {
                stages.push(alias.as_str().to_string());
            }
            if stages.contains(&image) {
                continue;
            }
            used += 1;
            assert!(
                listed.contains(&image),
                "the demo's {variant} Dockerfile uses {image}, which suite `{suite}` (scripts/demo.sh) does not build: {listed:?}"
            );
        }
        assert!(used > 0, "no base image found in the {variant} Dockerfile:\n{dockerfile}");
    }
}

// ---- Service stand-ins (scripts/fixture-services.sh) -------------------------------------------
// Real servers from Debian packages under the tags compose files name. Each check runs the
// server on a private network of its own and talks to it from another container with a real
// client (psql, the mariadb/mysql client, redis-cli), as an app beside it would.

/// `(image, stand-in-for, package=version, kind)` lines of `fixture-services.sh --list`.
fn service_standins() -> Vec<(String, String, String, String)> {
    let mut c = Command::new("bash");
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture-services.sh")).arg("--list");
    common::run(&mut c)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "unexpected --list line {l:?}");
            (f[0].to_string(), f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect()
}

fn services_ready() -> bool {
    common::docker_images_ready(&["pyslim-mirror/postgres:16", "pyslim-mirror/mysql:8", "pyslim-mirror/redis:7"])
}

/// A private network with the containers started on it; all removed on drop.
struct Net {
    name: String,
    containers: std::sync::Mutex<Vec<String>>,
}

impl Net {
    fn new(what: &str) -> Net {
        let name = format!("pyslim-test-sidecars-{what}-{}", std::process::id());
        common::run(Command::new("docker").args(["network", "create", "--label", "org.pyslim.test=sidecars", &name]));
        Net { name, containers: std::sync::Mutex::new(Vec::new()) }
    }

    /// `docker run -d` on the network as `NAME` (a host name there); returns the name.
    fn start(&self, name: &str, pre: &[&str], image: &str, args: &[&str]) -> String {
        let full = format!("{}-{name}", self.name);
        let out = Command::new("docker")
            .args(["run", "-d", "--name", &full, "--network", &self.name, "--network-alias", name])
            .args(["--label", "org.pyslim.test=sidecars"])
            .args(pre)
            .arg(image)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker run {image}: {}", String::from_utf8_lossy(&out.stderr));
        self.containers.lock().unwrap().push(full.clone());
        full
    }

    /// A client container on the network: success and stdout+stderr.
    fn client(&self, pre: &[&str], image: &str, args: &[&str]) -> (bool, String) {
        let out = Command::new("docker")
            .args(["run", "--rm", "--network", &self.name])
            .args(pre)
            .arg(image)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// Polls the client until it succeeds (the server came up) or 120 s pass.
    fn until(&self, pre: &[&str], image: &str, args: &[&str]) -> Result<String, String> {
        let start = std::time::Instant::now();
        loop {
            let (ok, out) = self.client(pre, image, args);
            if ok {
                return Ok(out);
            }
            if start.elapsed() > std::time::Duration::from_secs(120) {
                return Err(format!("{args:?} never succeeded; last:\n{out}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in self.containers.lock().unwrap().iter() {
            let _ = Command::new("docker").args(["rm", "-fv", c]).output();
        }
        let _ = Command::new("docker").args(["network", "rm", &self.name]).output();
    }
}

/// The exit code and logs of a container once it stopped (within 120 s).
fn exited(container: &str) -> (i64, String) {
    let start = std::time::Instant::now();
    loop {
        let state = common::run(Command::new("docker").args([
            "inspect",
            "-f",
            "{{.State.Running}} {{.State.ExitCode}}",
            container,
        ]));
        if let Some(code) = state.trim().strip_prefix("false ") {
            let logs = Command::new("docker").args(["logs", container]).output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&logs.stdout), String::from_utf8_lossy(&logs.stderr));
            return (code.parse().unwrap(), text);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "{container} is still running");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn init_dir(file: &str, text: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(file), text).unwrap();
    // the servers read it as their own user
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.path().join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    d
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn service_standins_answer_to_the_tags_compose_files_use() {
    if !services_ready() {
        return;
    }
    let list = service_standins();
    let ids = common::run(Command::new("docker").args([
        "images",
        "--no-trunc",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ]));
    let id_of = |r: &str| ids.lines().find_map(|l| l.strip_prefix(&format!("{r} "))).map(str::to_string);
    let mut by_kind: std::collections::BTreeMap<&str, Option<String>> = Default::default();
    for (image, public, version, kind) in &list {
        let id = id_of(image)
            .unwrap_or_else(|| panic!("{image} (for {public}) is missing: run scripts/fixture-services.sh"));
        assert!(!version.ends_with("=unbuilt"), "{image}: --list names no server version");
        // one server image per kind behind every tag
        let first = by_kind.entry(kind).or_insert_with(|| Some(id.clone()));
        assert_eq!(first.as_deref(), Some(id.as_str()), "{image} is not the {kind} stand-in");
    }
    // the tags the real services' compose files name
    for tag in [
        "postgres:10.3",
        "postgres:16",
        "postgres:18.1",
        "redis:8.4",
        "redis:latest",
        "mysql/mysql-server:5.7",
        "mysql:5.7",
        "mariadb:11",
    ] {
        assert!(list.iter().any(|(i, ..)| i == &format!("pyslim-mirror/{tag}")), "no stand-in for {tag}");
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn postgres_standin_honours_the_official_images_variables() {
    if !services_ready() {
        return;
    }
    let img = "pyslim-mirror/postgres:16";
    let net = Net::new("pg");
    let init = init_dir("init.sql", "CREATE TABLE t (x int); INSERT INTO t VALUES (42);\n");
    let mount = format!("{}:/docker-entrypoint-initdb.d:ro", init.path().display());
    let db = net.start(
        "db",
        &[
            "-e",
            "POSTGRES_USER=u",
            "-e",
            "POSTGRES_PASSWORD=pw",
            "-e",
            "POSTGRES_DB=d",
            "-e",
            "PGDATA=/var/lib/postgresql/data/pgdata",
            "-v",
            &mount,
        ],
        img,
        &[],
    );
    let trust = net.start("trust", &["-e", "POSTGRES_HOST_AUTH_METHOD=trust"], img, &[]);
    let nopass = net.start("nopass", &[], img, &[]);
    // the init script ran in POSTGRES_DB as POSTGRES_USER, reached over the network with the password
    let out = net
        .until(&["-e", "PGPASSWORD=pw"], img, &["psql", "-h", "db", "-U", "u", "-d", "d", "-tAc", "select x from t"])
        .unwrap();
    assert_eq!(out.trim(), "42");
    let (ok, out) =
        net.client(&["-e", "PGPASSWORD=wrong"], img, &["psql", "-h", "db", "-U", "u", "-d", "d", "-c", "select 1"]);
    assert!(!ok && out.contains("password authentication failed"), "{out}");
    // pg_isready inside, as compose healthchecks call it; the data where PGDATA says
    common::run(Command::new("docker").args(["exec", &db, "pg_isready", "-U", "u"]));
    common::run(Command::new("docker").args(["exec", &db, "test", "-s", "/var/lib/postgresql/data/pgdata/PG_VERSION"]));
    // trust: no password needed; the default user and database are postgres
    let out =
        net.until(&[], img, &["psql", "-h", "trust", "-U", "postgres", "-tAc", "select current_database()"]).unwrap();
    assert_eq!(out.trim(), "postgres", "{trust}");
    // no password and no trust: the official image's refusal
    let (code, logs) = exited(&nopass);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("superuser password is not specified"), "{logs}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn mysql_and_mariadb_standins_honour_the_official_images_variables() {
    if !services_ready() {
        return;
    }
    let img = "pyslim-mirror/mysql:8";
    let net = Net::new("my");
    let init = init_dir("init.sql", "CREATE TABLE t (x int); INSERT INTO t VALUES (42);\n");
    let mount = format!("{}:/docker-entrypoint-initdb.d:ro", init.path().display());
    let e = |kv: &'static str| ["-e", kv];
    let mysql_env: Vec<&str> =
        [e("MYSQL_ROOT_PASSWORD=r"), e("MYSQL_DATABASE=d"), e("MYSQL_USER=u"), e("MYSQL_PASSWORD=p")].concat();
    let my = net.start(
        "mysql",
        &[mysql_env, vec!["-v", &mount]].concat(),
        img,
        &["--default-authentication-plugin=mysql_native_password"],
    );
    let maria_env: Vec<&str> =
        [e("MARIADB_ROOT_PASSWORD=r2"), e("MARIADB_DATABASE=d2"), e("MARIADB_USER=u2"), e("MARIADB_PASSWORD=p2")]
            .concat();
    net.start("maria", &maria_env, "pyslim-mirror/mariadb:11", &[]);
    let random = net.start("random", &e("MYSQL_RANDOM_ROOT_PASSWORD=yes"), "pyslim-mirror/mysql/mysql-server:5.7", &[]);
    net.start("empty", &e("MYSQL_ALLOW_EMPTY_PASSWORD=yes"), img, &[]);
    let none = net.start("none", &[], img, &[]);
    // the user reaches its database, where the init script ran
    let out = net.until(&[], img, &["mysql", "-h", "mysql", "-uu", "-pp", "d", "-NBe", "select x from t"]).unwrap();
    assert_eq!(out.trim(), "42");
    let (ok, out) = net.client(&[], img, &["mysql", "-h", "mysql", "-uroot", "-pr", "-NBe", "select current_user()"]);
    assert!(ok && out.contains("root@%"), "root from another container: {out}");
    let (ok, out) = net.client(&[], img, &["mysql", "-h", "mysql", "-uu", "-pwrong", "d", "-e", "select 1"]);
    assert!(!ok && out.contains("Access denied"), "{out}");
    // like MySQL's, it exits 0 for a running server even when the account is refused
    common::run(Command::new("docker").args(["exec", &my, "mysqladmin", "ping", "-h", "localhost"]));
    // the MARIADB_* forms
    let out =
        net.until(&[], img, &["mariadb", "-h", "maria", "-uu2", "-pp2", "d2", "-NBe", "select database()"]).unwrap();
    assert_eq!(out.trim(), "d2");
    // an empty root password (MariaDB 11's client cannot check the server's self-signed
    // certificate without a password to derive the fingerprint from: told not to)
    let out = net
        .until(&[], img, &["mysql", "-h", "empty", "-uroot", "--skip-ssl-verify-server-cert", "-NBe", "select 1"])
        .unwrap();
    assert_eq!(out.trim(), "1");
    // a random root password, printed once
    let start = std::time::Instant::now();
    let pw = loop {
        let logs = common::run(Command::new("docker").args(["logs", &random]));
        if let Some(pw) = logs.lines().find_map(|l| l.strip_prefix("GENERATED ROOT PASSWORD: ")) {
            break pw.trim().to_string();
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "no generated password:\n{logs}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let out =
        net.until(&[], img, &["mysql", "-h", "random", "-uroot", &format!("-p{pw}"), "-NBe", "select 1"]).unwrap();
    assert_eq!(out.trim(), "1");
    // none of the three: refused, as the official image does
    let (code, logs) = exited(&none);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("password option is not specified"), "{logs}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn redis_standin_answers_other_containers_with_and_without_a_password() {
    if !services_ready() {
        return;
    }
    let img = "pyslim-mirror/redis:7";
    let net = Net::new("redis");
    let open = net.start("cache", &[], img, &[]);
    net.start("locked", &[], img, &["redis-server", "--requirepass", "x"]);
    let out = net.until(&[], img, &["redis-cli", "-h", "cache", "PING"]).unwrap();
    assert_eq!(out.trim(), "PONG");
    assert_eq!(common::run(Command::new("docker").args(["exec", &open, "redis-cli", "ping"])).trim(), "PONG");
    let out = net.until(&[], img, &["redis-cli", "-h", "locked", "-a", "x", "--no-auth-warning", "PING"]).unwrap();
    assert_eq!(out.trim(), "PONG");
    let (_, out) = net.client(&[], img, &["redis-cli", "-h", "locked", "PING"]);
    assert!(out.contains("NOAUTH"), "{out}");
}
