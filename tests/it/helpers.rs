//! The helper files beside a written Dockerfile (`.pyslim/pyslim_helpers/`): what
//! `pyslim dockerfile --write` writes, refreshes and refuses to overwrite, and that a plain
//! `docker build` of the written files (BuildKit and the classic builder, no pyslim in the loop)
//! gives an image that starts and answers: a Django service whose uWSGI pip compiles from source,
//! on distroless, with the shared-library step, a build step and a pre-start step (the launcher).
//!
//! Images are tagged `pyslim-test/helpers-*` and containers labelled `org.pyslim.test=helpers-*`;
//! both are removed at the end, also after a failed assertion.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn copy_fixture(tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name);
    common::copy_dir(&fixture(name), &dir);
    dir
}

/// `pyslim dockerfile --write ARGS DIR`: (success, stderr).
fn write(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = common::pyslim_with(None)
        .args(["dockerfile", "--write", "--variant", "distroless"])
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn helper_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(".pyslim/pyslim_helpers"))
        .map(|rd| rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn write_puts_the_helpers_beside_the_dockerfile_refreshes_them_and_keeps_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path(), "django-uwsgi");
    let (ok, err) = write(&dir, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("wrote") && err.contains(".pyslim/pyslim_helpers/libs.py"), "{err}");
    assert_eq!(
        helper_files(&dir),
        ["__init__.py", "assemble.py", "elf.py", "launch.py", "libs.py", "loader.py"],
        "the package, never the trace hook"
    );
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("COPY .pyslim/pyslim_helpers/ /pyslim/helpers/pyslim_helpers/"), "{dockerfile}");
    assert!(dockerfile.contains("COPY .pyslim/pyslim_helpers/launch.py /pyslim/launch.py"), "{dockerfile}");
    let version = pyslim::render::helpers::version();
    assert!(dockerfile.contains(&format!("pyslim_helpers {version} (.pyslim/pyslim_helpers/libs.py")), "{dockerfile}");
    let libs = dir.join(".pyslim/pyslim_helpers/libs.py");
    let text = std::fs::read_to_string(&libs).unwrap();
    assert!(text.starts_with(&format!("# pyslim_helpers {version}, written by `pyslim dockerfile --write`")), "{text}");

    // again: nothing changes
    let (ok, err) = write(&dir, &[]);
    assert!(ok && err.contains("unchanged") && err.contains("libs.py") && !err.contains("wrote"), "{err}");

    // pyslim's own copy from another version (its header matches its body): refreshed, no backup
    let older = "print('an older helper')\n";
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(older.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let old_header =
        format!("# pyslim_helpers 0.9, written by `pyslim dockerfile --write`; edits are kept (sha256 {sha})\n");
    std::fs::write(&libs, format!("{old_header}{older}")).unwrap();
    let (ok, err) = write(&dir, &[]);
    assert!(ok && err.contains("refreshed") && err.contains("libs.py"), "{err}");
    assert_eq!(std::fs::read_to_string(&libs).unwrap(), text);
    assert_eq!(helper_files(&dir).len(), 6, "no backup of pyslim's own copy: {:?}", helper_files(&dir));

    // the user's edit: refused with a clear message, nothing written (not the Dockerfile either)
    let edited = text.replace("def stem(", "# my tweak\ndef stem(");
    std::fs::write(&libs, &edited).unwrap();
    std::fs::remove_file(dir.join("Dockerfile")).unwrap();
    let (ok, err) = write(&dir, &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("libs.py was edited since pyslim wrote it") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&libs).unwrap(), edited);
    assert!(!dir.join("Dockerfile").exists(), "a refusal writes nothing");

    // --force: replaced, the edit kept as a backup
    let (ok, err) = write(&dir, &["--force"]);
    assert!(ok && err.contains("replaced") && err.contains("libs.py.pyslim-backup"), "{err}");
    assert_eq!(std::fs::read_to_string(&libs).unwrap(), text);
    assert_eq!(std::fs::read_to_string(dir.join(".pyslim/pyslim_helpers/libs.py.pyslim-backup")).unwrap(), edited);
}

#[test]
fn a_variant_without_helpers_writes_none() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path(), "pip-flask");
    let out =
        common::pyslim_with(None).args(["dockerfile", "--write", "--variant", "slim"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.join(".pyslim").exists());
}

const IMAGES: [&str; 2] = ["pyslim-mirror/python:3.13", "pyslim-mirror/distroless/python3-debian13:nonroot"];
const LABEL: &str = "org.pyslim.test=helpers-plain";

/// Removes the images and containers of the test on drop.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let ps = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label={LABEL}")]).output();
        if let Ok(o) = ps {
            for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
        for t in &self.0 {
            let _ = Command::new("docker").args(["rmi", "-f", t]).output();
        }
    }
}

/// A docker CLI that builds with BuildKit: one with the buildx plugin, or one from before Docker
/// 23 (BuildKit built in). `None` when this machine has neither.
fn buildkit_cli() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let cli = dir.join("docker");
        if !cli.is_file() {
            continue;
        }
        if Command::new(&cli).args(["buildx", "version"]).output().is_ok_and(|o| o.status.success()) {
            return Some(cli);
        }
        let version = Command::new(&cli).args(["version", "--format", "{{.Client.Version}}"]).output();
        let major = version.ok().and_then(|o| {
            String::from_utf8_lossy(&o.stdout).split('.').next().and_then(|m| m.trim().parse::<u32>().ok())
        });
        if major.is_some_and(|m| m < 23) {
            return Some(cli);
        }
    }
    None
}

/// `GET /` on 127.0.0.1:port until it answers (or `timeout`): the status line and body.
fn get(port: u16, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut out = String::new();
            if s.read_to_string(&mut out).is_ok() && out.starts_with("HTTP/") {
                return Some(out);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

/// Runs `tag` (with the secret key the settings read), requests it, and returns (answer, logs).
fn run_and_request(tag: &str) -> (Option<String>, String) {
    let out = Command::new("docker")
        .args(["run", "-d", "--label", LABEL, "-e", "DJANGO_SECRET_KEY=test-only", "-p", "127.0.0.1::8000", tag])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker run {tag}: {}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = Command::new("docker").args(["port", &id, "8000/tcp"]).output().unwrap();
    let port = String::from_utf8_lossy(&port.stdout);
    let port: u16 = port.lines().next().and_then(|l| l.rsplit(':').next()).and_then(|p| p.trim().parse().ok()).unwrap();
    let answer = get(port, Duration::from_secs(90));
    let logs = Command::new("docker").args(["logs", &id]).output().unwrap();
    let logs = format!("{}{}", String::from_utf8_lossy(&logs.stdout), String::from_utf8_lossy(&logs.stderr));
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    (answer, logs)
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn plain_docker_build_of_the_written_files_starts_and_answers() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let Some(buildkit) = buildkit_cli() else {
        return common::missing("no docker CLI here builds with BuildKit (no buildx plugin)").unwrap_or(());
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path(), "django-uwsgi");
    let pid = std::process::id();
    let mut cleanup = Cleanup(Vec::new());
    for (flavour, cli, buildkit_env) in [("buildkit", buildkit.clone(), "1"), ("classic", PathBuf::from("docker"), "0")]
    {
        let args: &[&str] = if flavour == "classic" { &["--classic", "--force"] } else { &[] };
        let (ok, err) = write(&dir, args);
        assert!(ok, "{flavour}: {err}");
        let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        assert!(dockerfile.contains("-m pyslim_helpers.libs") && !dockerfile.contains("printf"), "{dockerfile}");
        let tag = format!("pyslim-test/helpers-plain-{pid}:{flavour}");
        cleanup.0.push(tag.clone());
        let out = Command::new(&cli)
            .args(["build", "-q", "-t", &tag, "--label", LABEL, "."])
            .env("DOCKER_BUILDKIT", buildkit_env)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{flavour} docker build:\n{}\n{dockerfile}",
            String::from_utf8_lossy(&out.stderr)
        );

        let (answer, logs) = run_and_request(&tag);
        let answer = answer.unwrap_or_else(|| panic!("{flavour}: no answer from the image\n{logs}"));
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{flavour}: {answer}\n{logs}"
        );
        // the app's own code ran: its page links the static file collectstatic hashed at build time
        assert!(answer.contains("<p>hello</p>") && answer.contains("/static/site."), "{flavour}: {answer}");
        assert!(logs.contains("pyslim: running pre-start step 1/1 `django-admin migrate"), "{flavour}: {logs}");
        // the shared-library step ran from the helper file and copied what uWSGI links
        let manifest = Command::new("docker")
            .args(["run", "--rm", "--label", LABEL, "--entrypoint", "/usr/bin/python3.13", &tag, "-c"])
            .arg("import os; print(open('/etc/pyslim/runtime-libs.txt').read()); print(os.path.getsize('/pyslim/launch.py'))")
            .output()
            .unwrap();
        let manifest = String::from_utf8_lossy(&manifest.stdout);
        assert!(manifest.contains("libpython3.13.so.1.0 for /opt/venv/bin/uwsgi"), "{flavour}: {manifest}");
        let launcher: usize = manifest.lines().last().and_then(|l| l.trim().parse().ok()).unwrap();
        assert!(launcher < 4096, "{flavour}: the launcher in the image is {launcher} bytes");
    }
    drop(cleanup);
}
