//! Pulls and pushes against a real registry: Debian's `docker-registry` (the distribution
//! registry 2.8), started here on 127.0.0.1 with a free port and temporary storage (the daemon
//! allows plain HTTP to loopback registries). Stand-in images are copied into it under a unique
//! prefix and the local copies of those names removed, so the build must pull them through
//! the image mirror; the shared `pyslim-mirror/*` images are never touched. One registry runs
//! without auth, one with htpasswd (bcrypt) and credentials in a `DOCKER_CONFIG` the test writes.

use crate::common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command as Std, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

const SLIM: &str = "python:3.13-slim";
const DISTROLESS: &str = "distroless/python3-debian13:nonroot";

/// A `docker-registry serve` process with its own storage; stopped (and its files removed) on drop.
struct Registry {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
}

impl Registry {
    fn start(auth: Option<(&str, &str)>) -> Option<Registry> {
        if !common::have("docker-registry") || (auth.is_some() && !common::have("htpasswd")) {
            return common::missing("docker-registry or htpasswd is not installed (scripts/test.sh installs them)");
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, pass)) = auth {
            // bcrypt entries, as `htpasswd -B` writes them (the registry accepts only bcrypt).
            let line = common::run(Std::new("htpasswd").args(["-Bbn", user, pass]));
            std::fs::write(dir.path().join("htpasswd"), line.trim()).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: pyslim-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Std::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let reg = Registry { child: Some(child), port, dir, auth: auth.map(|(u, p)| (u.to_string(), p.to_string())) };
        common::wait_for("docker-registry", &reg.dir.path().join("registry.log"), || {
            http_get(port, "/v2/", &[], None).is_some()
        });
        Some(reg)
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            common::stop(&mut c, Duration::from_secs(5));
        }
    }

    /// A `DOCKER_CONFIG` folder whose `config.json` holds `user:pass` for this registry.
    fn docker_config(&self, user: &str, pass: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let json = format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, self.host());
        std::fs::write(d.path().join("config.json"), json).unwrap();
        d
    }

    /// The manifest digest the registry serves for `name:tag` (`/v2/<name>/manifests/<tag>`).
    fn manifest_digest(&self, name: &str, tag: &str) -> Option<String> {
        let accept = [
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
        ];
        let (status, headers) =
            http_get(self.port, &format!("/v2/{name}/manifests/{tag}"), &accept, self.auth.as_ref())?;
        if status != 200 {
            return None;
        }
        headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest").then(|| v.trim().to_string())
        })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A plain HTTP GET (the registry speaks HTTP/1.1 on loopback): status and raw headers.
fn http_get(port: u16, path: &str, accept: &[&str], auth: Option<&(String, String)>) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for a in accept {
        req.push_str(&format!("Accept: {a}\r\n"));
    }
    if let Some((u, p)) = auth {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Authorization: Basic {b}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let head = text.split("\r\n\r\n").next()?.to_string();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head))
}

/// Copies stand-ins into the registry under `prefix` (tag, push, untag: the shared
/// `pyslim-mirror/*` images are never removed or retagged), so the names exist only there.
fn seed(reg: &Registry, prefix: &str, images: &[&str], docker_config: Option<&Path>) {
    for image in images {
        let target = format!("{}/{prefix}/{image}", reg.host());
        common::run(Std::new("docker").args(["tag", &format!("pyslim-mirror/{image}"), &target]));
        let mut push = Std::new("docker");
        if let Some(d) = docker_config {
            push.env("DOCKER_CONFIG", d);
        }
        common::run(push.args(["push", "-q", &target]));
        common::run(Std::new("docker").args(["rmi", &target]));
    }
}

/// Removes every local tag under `REGISTRY/prefix/` that a test pulled or built.
struct LocalImages(String);

impl Drop for LocalImages {
    fn drop(&mut self) {
        let out = Std::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for image in out.lines().filter(|l| l.starts_with(&self.0)) {
            let _ = Std::new("docker").args(["rmi", "-f", image]).stdout(Stdio::null()).status();
        }
    }
}

fn ready() -> bool {
    common::docker_images_ready(&[&format!("pyslim-mirror/{SLIM}"), &format!("pyslim-mirror/{DISTROLESS}")])
}

fn prefix(test: &str) -> String {
    format!("pyslim-test-{test}-{}", std::process::id())
}

fn pyslim(docker_config: &Path) -> assert_cmd::Command {
    let mut c = common::pyslim_with(None);
    c.env("DOCKER_CONFIG", docker_config).env_remove("DOCKER_HOST");
    c
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Without auth: `compare --demo` with the mirror on the registry pulls the two base images it
/// lacks, builds and verifies `multistage-slim` and `distroless` (python:3.13-slim builder and
/// runtime, distroless runtime). `naive` is left out for CI time: its `COPY . .` comes before the
/// install, so it never hits the cache (about a minute per run) and pulling its 490 MB base adds
/// no code path; `build --push` pushes the verified image and the
/// registry serves the reported digest.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn compare_pulls_from_a_registry_and_build_pushes_the_verified_image() {
    if !ready() {
        return;
    }
    let Some(reg) = Registry::start(None) else { return };
    let prefix = prefix("open");
    let empty = tempfile::tempdir().unwrap();
    seed(&reg, &prefix, &[SLIM, DISTROLESS], None);
    let _cleanup = LocalImages(format!("{}/{prefix}/", reg.host()));
    let mirror = format!("{}/{prefix}", reg.host());

    let t = Instant::now();
    let out = pyslim(empty.path())
        .args(["compare", "--demo", "--json", "--variants", "multistage-slim,distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(900))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "compare failed:\n{err}");
    for image in [SLIM, DISTROLESS] {
        assert!(err.contains(&format!("pulled {mirror}/{image}")), "no pull of {image}:\n{err}");
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let variants = json["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{json}");
    assert!(variants.iter().all(|v| v["verified"] == true), "{json}");
    eprintln!("compare through the registry: {:.1} s", t.elapsed().as_secs_f64());

    // Present now: `missing` pulls nothing the second time.
    let out = pyslim(empty.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("pulling"), "{}", stderr(&out));

    let tag = format!("{}/{prefix}/demo:distroless", reg.host());
    let out = pyslim(empty.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror, "--push", "--tag", &tag, "--json"])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert!(out.status.success(), "push failed:\n{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true, "push implies verify: {json}");
    let digest = json["pushed"]["digest"].as_str().unwrap_or_else(|| panic!("no pushed digest: {json}"));
    assert!(digest.starts_with("sha256:"), "{json}");
    assert_eq!(json["pushed"]["reference"], tag.as_str());
    assert_eq!(reg.manifest_digest(&format!("{prefix}/demo"), "distroless").as_deref(), Some(digest));
    assert!(stderr(&out).contains(&format!("pushed {tag}")), "{}", stderr(&out));
}

/// With htpasswd auth: credentials from `DOCKER_CONFIG` (`auths`, then a `credHelpers` helper)
/// pull and push; a wrong password and no credentials are clear auth errors within seconds.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn private_registry_uses_docker_config_credentials() {
    if !ready() {
        return;
    }
    let Some(reg) = Registry::start(Some(("pyslim", "s3cret-pass"))) else { return };
    let prefix = prefix("auth");
    let good = reg.docker_config("pyslim", "s3cret-pass");
    seed(&reg, &prefix, &[SLIM, DISTROLESS], Some(good.path()));
    let _cleanup = LocalImages(format!("{}/{prefix}/", reg.host()));
    let mirror = format!("{}/{prefix}", reg.host());
    let slim = format!("{mirror}/{SLIM}");

    // A wrong password: the registry's answer, the registry, a remedy; nothing pulled.
    let wrong = reg.docker_config("pyslim", "wrong");
    let t = Instant::now();
    let out = pyslim(wrong.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    assert!(err.contains(&format!("cannot pull {slim}")) && err.contains("unauthorized"), "{err}");
    assert!(err.contains(&format!("docker login {}", reg.host())), "{err}");
    assert!(!image_exists(&slim));

    // No credentials at all.
    let none = tempfile::tempdir().unwrap();
    let out = pyslim(none.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot pull") && err.contains("no basic auth credentials"), "{err}");
    assert!(err.contains("docker login"), "{err}");

    // Credential helpers: docker-credential-NAME get, the server on stdin, the secret here from
    // the environment so one script serves a right and a wrong answer.
    let helper_dir = tempfile::tempdir().unwrap();
    let helper = helper_dir.path().join("docker-credential-pyslimtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"pyslim\",\"Secret\":\"'$PYSLIM_TEST_SECRET'\"}}'\n",
            reg.host()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", helper_dir.path().display(), std::env::var("PATH").unwrap_or_default());
    // `credsStore` (one helper for every registry) answering a wrong secret: the registry's
    // "unauthorized", so the helper's credentials were sent (none would be "no basic auth").
    let store = tempfile::tempdir().unwrap();
    std::fs::write(store.path().join("config.json"), r#"{"credsStore": "pyslimtest"}"#).unwrap();
    let out = pyslim(store.path())
        .env("PATH", &path)
        .env("PYSLIM_TEST_SECRET", "wrong")
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("unauthorized") && !err.contains("no basic auth credentials"), "{err}");
    // `credHelpers` (per registry) with the right secret: pull, build, verify, push.
    let helped = tempfile::tempdir().unwrap();
    std::fs::write(
        helped.path().join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "pyslimtest"}}}}"#, reg.host()),
    )
    .unwrap();
    let tag = format!("{}/{prefix}/demo:distroless", reg.host());
    let out = pyslim(helped.path())
        .env("PATH", &path)
        .env("PYSLIM_TEST_SECRET", "s3cret-pass")
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror, "--push", "--tag", &tag, "--json"])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("pulled {slim}")), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = json["pushed"]["digest"].as_str().unwrap_or_else(|| panic!("{json}"));
    assert_eq!(reg.manifest_digest(&format!("{prefix}/demo"), "distroless").as_deref(), Some(digest));

    // Pushing with a wrong password is refused with the reason.
    let out = pyslim(wrong.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror, "--push", "--tag", &tag])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot push {tag}")) && err.contains("docker login"), "{err}");
}

/// A stopped registry, an image the registry does not have, a push without a registry in the
/// tag and `--pull never`: each a clear error with a remedy, within seconds, nothing left behind.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn registry_failures_are_clear_and_quick() {
    if !ready() {
        return;
    }
    let Some(mut reg) = Registry::start(None) else { return };
    let empty = tempfile::tempdir().unwrap();
    let prefix = prefix("fail");
    let _cleanup = LocalImages(format!("{}/{prefix}/", reg.host()));
    let mirror = format!("{}/{prefix}", reg.host());

    // Nothing under the prefix: the registry's "manifest unknown".
    let out = pyslim(empty.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot pull {mirror}/{SLIM}")) && err.contains("manifest unknown"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    // `never` keeps the offline behaviour and names the remedy.
    let out = pyslim(empty.path())
        .args(["build", "--demo", "--variant", "distroless", "--mirror", &mirror, "--pull", "never"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not present locally") && err.contains("--pull missing"), "{err}");
    assert!(!err.contains("pulling"), "{err}");

    // The registry stopped: connection refused, within seconds.
    reg.stop();
    let t = Instant::now();
    let out = pyslim(empty.path())
        .args(["compare", "--demo", "--mirror", &mirror])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    assert!(err.contains("connection refused") && err.contains("nothing answers at"), "{err}");

    // A push needs a registry in the tag; refused before anything is built.
    let out = pyslim(empty.path())
        .args(["build", "--demo", "--push", "--tag", "pyslim-test/registry-no-registry:1"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("names no registry"), "{err}");
    assert!(!image_exists("pyslim-test/registry-no-registry:1"));
    let left = Std::new("docker").args(["images", "-q", &format!("{mirror}/*")]).output().unwrap();
    assert!(left.stdout.is_empty(), "a failed pull left images behind");
}

fn image_exists(image: &str) -> bool {
    Std::new("docker").args(["image", "inspect", image]).output().is_ok_and(|o| o.status.success())
}

/// Cancelling (Ctrl-C in the CLI, Esc in the wizard) during a pull drops the request: the
/// daemon aborts the download, the engine answers `Cancelled` at once, and no image is tagged.
/// The image is a fresh 150 MB layer of random bytes, so nothing of it is in the daemon already.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn cancelling_a_pull_leaves_nothing() {
    use pyslim::engine::events::BuildEvent;
    use pyslim::engine::{CancellationToken, EngineError};
    use pyslim::plan::{PullPolicy, Variant};

    let Some(engine) = common::engine_with(&[]).await else { return };
    let Some(reg) = Registry::start(None) else { return };
    let prefix = prefix("cancel");
    let _cleanup = LocalImages(format!("{}/{prefix}/", reg.host()));
    let image = format!("{}/{prefix}/random:1", reg.host());
    let dir = tempfile::tempdir().unwrap();
    let mut data = std::fs::File::create(dir.path().join("random.bin")).unwrap();
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    std::io::copy(&mut (&mut urandom).take(150 << 20), &mut data).unwrap();
    drop(data);
    let mut tar = Std::new("tar")
        .arg("-C")
        .arg(dir.path())
        .args(["-cf", "-", "random.bin"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    common::run(Std::new("docker").args(["import", "-", &image]).stdin(tar.stdout.take().unwrap()));
    assert!(tar.wait().unwrap().success());
    common::run(Std::new("docker").args(["push", "-q", &image]));
    common::run(Std::new("docker").args(["rmi", &image]));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    // Cancel as soon as bytes are moving.
    let watcher = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(ev) = rx.recv().await {
            if let BuildEvent::Pull { transfer, .. } = &ev {
                seen += 1;
                if transfer.bytes_done > 0 || seen > 3 {
                    token.cancel();
                }
            }
        }
        seen
    });
    let t = Instant::now();
    let result = engine
        .ensure_images(std::slice::from_ref(&image), PullPolicy::Missing, Variant::Distroless, &tx, &cancel)
        .await;
    drop(tx);
    let events = watcher.await.unwrap();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?} after {events} pull events");
    assert!(t.elapsed() < Duration::from_secs(30), "cancel took {:?}", t.elapsed());
    // The daemon drops the aborted pull: no tag appears afterwards either.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!image_exists(&image), "a cancelled pull left {image}");

    // The same through the binary: Ctrl-C (SIGINT) while `pyslim build` pulls its runtime exits
    // 130 and leaves the image absent. The random image is the project's declared runtime.
    seed(&reg, &prefix, &[SLIM], None);
    let parent = tempfile::tempdir().unwrap();
    let project = common::tiny_project(parent.path(), "cancel-pull", "hello");
    std::fs::write(
        project.join("pyslim.toml"),
        format!("[[custom_image]]\nref = \"{image}\"\npython = \"3.13\"\ninterpreter = \"/usr/bin/python3.13\"\n"),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("pyslim");
    let mut child = Std::new(bin)
        .arg("build")
        .arg(&project)
        .args(["--variant", "multistage-slim", "--runtime", &image, "--entrypoint", "python app.py"])
        .args(["--mirror", &format!("{}/{prefix}", reg.host())])
        .env("DOCKER_CONFIG", empty.path())
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut lines, &mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains(&format!("pulling {image}")) {
            common::run(Std::new("kill").args(["-INT", &child.id().to_string()]));
            break;
        }
    }
    let mut rest = String::new();
    let _ = lines.read_to_string(&mut rest);
    let status = child.wait().unwrap();
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("cancelled"), "{seen}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!image_exists(&image), "a cancelled pull left {image}:\n{seen}");
}
