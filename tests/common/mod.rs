//! Shared by the tests that need the real Docker daemon and the `pyslim-mirror/` stand-in images:
//! one rule for when they are missing (a failure under `CI`, a printed skip elsewhere).

#![allow(dead_code)] // each test binary uses its own subset

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command as Std, Stdio};
use std::time::{Duration, Instant};

use pyslim::engine::Engine;

/// Reports a missing prerequisite: panics under `CI` (Docker tests never skip silently there),
/// otherwise prints why the test is skipped and returns `None`.
pub fn missing<T>(why: impl std::fmt::Display) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{why} (CI is set, so this is a failure; run scripts/fixture-images.sh)");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// A connected engine when the daemon answers and every image in `images` exists locally.
pub async fn engine_with(images: &[&str]) -> Option<Engine> {
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => return missing(format!("no Docker daemon: {e}")),
    };
    for image in images {
        match engine.image_exists(image).await {
            Ok(true) => {}
            _ => return missing(format!("stand-in image {image} is missing")),
        }
    }
    Some(engine)
}

/// The same check through the docker CLI, for tests that drive the real binary.
pub fn docker_images_ready(images: &[&str]) -> bool {
    for image in images {
        let ok = std::process::Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return missing::<()>(format!("no Docker daemon or stand-in image {image}")).is_some();
        }
    }
    true
}

/// The real binary set up for the stand-in images: the `pyslim-mirror` mirror, no colour, and
/// none of the caller's daemon or pyslim settings; `docker_host` sets `DOCKER_HOST`.
pub fn pyslim_with(docker_host: Option<&str>) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("pyslim").unwrap();
    c.env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror").env("NO_COLOR", "1");
    for var in ["DOCKER_CONTEXT", "PYSLIM_BUILDER", "PYSLIM_VERIFY_FROM", "PYSLIM_SSH_COMMAND"] {
        c.env_remove(var);
    }
    if let Some(host) = docker_host {
        c.env("DOCKER_HOST", host);
    }
    c
}

/// A minimal pip project (no dependencies) whose `app.py` prints `marker`, for builds that
/// exercise pyslim rather than pip.
pub fn tiny_project(parent: &std::path::Path, name: &str, marker: &str) -> std::path::PathBuf {
    let p = parent.join(name);
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("requirements.txt"), "").unwrap();
    std::fs::write(p.join("app.py"), format!("print('{marker}')\n")).unwrap();
    p
}

// Helpers for tests that start daemons of their own (tests/it/daemons.rs, tests/it/remote.rs).

pub fn is_root() -> bool {
    Std::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub fn have(program: &str) -> bool {
    Std::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

pub fn run(cmd: &mut Std) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker save <images> | <load>`: copies the stand-ins into another daemon or store.
pub fn copy_images(images: &[&str], load: &mut Std) {
    let mut save = Std::new("docker").arg("save").args(images).stdout(Stdio::piped()).spawn().unwrap();
    let out = load.stdin(save.stdout.take().unwrap()).output().unwrap();
    assert!(save.wait().unwrap().success(), "docker save {images:?} failed");
    assert!(out.status.success(), "loading {images:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Sends SIGTERM and waits up to `grace` before SIGKILL (dockerd and Podman clean up on TERM).
pub fn stop(child: &mut Child, grace: Duration) {
    let _ = Std::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn wait_for(what: &str, log: &Path, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            Instant::now() < until,
            "{what} did not come up in 60 s; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether the machine daemon's default bridge exists (a second dockerd started with
/// `--bridge=none` deletes it; the tests that start daemons check they did not).
pub fn docker0_present() -> bool {
    Std::new("ip").args(["link", "show", "docker0"]).output().is_ok_and(|o| o.status.success())
}

/// Every place of a `docker save` archive where `marker` occurs: the archive's own entries
/// (image config with its history, manifests) and every file inside every layer tar
/// (gzip-compressed layers are decompressed first).
pub fn occurrences(tag: &str, marker: &str, dir: &Path) -> Vec<String> {
    let file = dir.join(format!("{}.tar", tag.replace(['/', ':'], "_")));
    let out = Std::new("docker").args(["save", "-o"]).arg(&file).arg(tag).output().unwrap();
    assert!(out.status.success(), "docker save {tag}: {}", String::from_utf8_lossy(&out.stderr));
    let mut found = Vec::new();
    let mut outer = tar::Archive::new(std::fs::File::open(&file).unwrap());
    let mut entries_seen = 0;
    for e in outer.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        entries_seen += 1;
        if data.starts_with(&[0x1f, 0x8b]) {
            let mut child = Std::new("gzip")
                .arg("-dc")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let input = data.clone();
            let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            data = out.stdout;
        }
        if contains(&data, marker.as_bytes()) {
            found.push(name.clone());
        }
        // a layer: look at each file too (names where the marker is)
        let mut inner = tar::Archive::new(data.as_slice());
        if let Ok(files) = inner.entries() {
            for f in files.flatten() {
                let path = f.path().map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
                let mut body = Vec::new();
                let mut f = f;
                if f.read_to_end(&mut body).is_ok() && contains(&body, marker.as_bytes()) {
                    found.push(format!("{name}:{path}"));
                }
            }
        }
    }
    assert!(entries_seen > 2, "docker save of {tag} is empty");
    let _ = std::fs::remove_file(&file);
    found
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Copies the folder `src` to `dst` (created), recursively: a fixture into a temporary folder
/// that a test may change.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// Removes a test's images on drop (also when an assertion panics).
pub struct Tags(pub Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = Std::new("docker").args(["rmi", "-f", t]).output();
        }
    }
}

/// Copies `tests/fixtures/NAME` into `tmp` and returns the copy.
pub fn fixture_copy(tmp: &Path, name: &str) -> std::path::PathBuf {
    let to = tmp.join(name);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name), &to);
    to
}

/// What a `pyslim` run printed and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `pyslim build DIR --verify --tag TAG ARGS...` against the stand-ins, at most `secs` seconds;
/// the tag is removed with `tags`.
pub fn build_verify(dir: &Path, tag: &str, tags: &mut Tags, args: &[&str], secs: u64) -> Run {
    tags.0.push(tag.to_string());
    let out = pyslim_with(None)
        .arg("build")
        .arg(dir)
        .args(["--verify", "--tag", tag])
        .args(args)
        .timeout(Duration::from_secs(secs))
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// The run exited 0 and its image answered HTTP 200.
pub fn expect_verified(what: &str, r: &Run) {
    assert_eq!(r.code, Some(0), "{what}: exit {:?}\n{}\n{}", r.code, r.stdout, r.stderr);
    assert!(r.stdout.contains("verified: HTTP 200"), "{what}: {}\n{}", r.stdout, r.stderr);
}

/// Scans `dir` in this process as a machine without the package index would, but with the
/// index answers recorded in `tests/index-cache/`: every in-process scan of the test binary goes
/// through here, off the network (`scan::stay_offline`, which reads a cache however old), so
/// snapshots and scan facts never depend on the live index or on the developer's `~/.cache`.
/// `PYSLIM_RECORD_INDEX=1` goes online instead and adds what the fixtures ask for and the
/// recording lacks (then review and commit `tests/index-cache/`).
pub fn scan(dir: &Path) -> Result<pyslim::scan::ScanReport, pyslim::scan::ScanError> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("PYSLIM_RECORD_INDEX").is_none() {
            pyslim::scan::stay_offline();
        }
        pyslim::scan::use_cache_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/index-cache"));
    });
    pyslim::scan::scan(dir)
}

/// A package index on 127.0.0.1 (python3's http.server) serving `simple/NAME/index.html` with the
/// given bodies (PEP 503 HTML, or recorded PEP 691 JSON, which the scan reads as JSON all the
/// same); stopped on drop. `None` (or a failure under `CI`) without python3.
pub struct LocalIndex {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for LocalIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn local_index(pages: &[(&str, String)]) -> Option<LocalIndex> {
    if !have("python3") {
        return missing("python3 is not installed (it serves the local index)");
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in pages {
        let page = dir.path().join("simple").join(name);
        std::fs::create_dir_all(&page).unwrap();
        std::fs::write(page.join("index.html"), body).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Std::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "-d"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the local index did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(LocalIndex { child, url: format!("http://127.0.0.1:{port}/simple/"), _dir: dir })
}
