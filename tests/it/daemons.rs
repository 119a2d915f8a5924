//! Real daemons other than the machine's own Docker Engine (issue 5), each started by the test
//! and torn down by a guard whatever happens:
//!
//! - a throwaway `dockerd` whose data-root is a small tmpfs, to fill its disk for real: once while
//!   the build context uploads, once inside a build step; then the same build succeeds once there
//!   is room, so nothing pyslim left behind gets in the way;
//! - Podman's Docker-compatible API (`podman system service`) with storage of its own: the demo
//!   builds with Podman's builder and is verified over HTTP.
//!
//! Both need root (mount, dockerd) and the `pyslim-mirror/` stand-in images in the machine's
//! daemon, which are copied in with `docker save | load`. Under `CI` a missing piece is a failure.

use std::path::PathBuf;
use std::process::{Child, Command as Std};
use std::time::Duration;

use assert_cmd::Command;

use crate::common;
use common::{copy_images, have, is_root, run, stop, wait_for};

const SLIM: &str = "pyslim-mirror/python:3.13-slim";
const DISTROLESS: &str = "pyslim-mirror/distroless/python3-debian13:nonroot";

fn pyslim(docker_host: &str) -> Command {
    common::pyslim_with(Some(docker_host))
}

/// A `dockerd` of the test's own, on a tmpfs data-root whose size the test sets. Dropping it
/// stops the daemon (and the containerd it started) and unmounts the tmpfs.
struct ThrowawayDockerd {
    child: Child,
    data: PathBuf,
    host: String,
    bridge: String,
    _dir: tempfile::TempDir,
}

impl ThrowawayDockerd {
    fn start() -> Option<Self> {
        if !is_root() || !have("dockerd") || !have("ip") {
            return common::missing(
                "the disk-full test starts its own dockerd on a tmpfs: it needs root, dockerd and ip",
            );
        }
        let dir = tempfile::Builder::new().prefix("pyslim-dd").tempdir_in("/tmp").unwrap();
        let (data, exec) = (dir.path().join("data"), dir.path().join("x"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&exec).unwrap();
        run(Std::new("mount").args(["-t", "tmpfs", "-o", "size=1g", "tmpfs"]).arg(&data));
        // vfs copies whole layers: no overlay needed inside this machine, and disk use is honest.
        let config = dir.path().join("daemon.json");
        std::fs::write(&config, r#"{"storage-driver": "vfs"}"#).unwrap();
        let sock = exec.join("docker.sock");
        let log = dir.path().join("dockerd.log");
        // A bridge of its own for RUN steps (the machine's daemon owns docker0); no iptables rules.
        let bridge = format!("pysdd{}", std::process::id() % 100_000);
        let _ = Std::new("ip").args(["link", "del", &bridge]).output();
        run(Std::new("ip").args(["link", "add", "name", &bridge, "type", "bridge"]));
        run(Std::new("ip").args(["addr", "add", "10.213.7.1/24", "dev", &bridge]));
        run(Std::new("ip").args(["link", "set", &bridge, "up"]));
        let child = Std::new("dockerd")
            .arg("--config-file")
            .arg(&config)
            .arg("--data-root")
            .arg(&data)
            .arg("--exec-root")
            .arg(&exec)
            .arg("--pidfile")
            .arg(exec.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", sock.display()))
            .arg(format!("--bridge={bridge}"))
            .args(["--iptables=false", "--ip-masq=false"])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("dockerd.err")).unwrap())
            .spawn()
            .unwrap();
        let host = format!("unix://{}", sock.display());
        let d = ThrowawayDockerd { child, data, host, bridge, _dir: dir };
        let err_log = d._dir.path().join("dockerd.err");
        wait_for("the throwaway dockerd", &err_log, || {
            d.docker().arg("info").output().is_ok_and(|o| o.status.success())
        });
        Some(d)
    }

    fn docker(&self) -> Std {
        let mut c = Std::new("docker");
        c.args(["-H", &self.host]);
        c
    }

    fn used_mb(&self) -> u64 {
        let out = run(Std::new("df").args(["-m", "--output=used"]).arg(&self.data));
        out.lines().last().unwrap().trim().parse().unwrap()
    }

    /// Resizes the data-root to what it holds now plus `free_mb`.
    fn leave_free(&self, free_mb: u64) {
        let size = self.used_mb() + free_mb;
        run(Std::new("mount").args(["-o", &format!("remount,size={size}m")]).arg(&self.data));
    }

    fn list(&self, args: &[&str]) -> String {
        run(self.docker().args(args)).trim().to_string()
    }
}

impl Drop for ThrowawayDockerd {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(30));
        let _ = Std::new("umount").arg("-l").arg(&self.data).status();
        let _ = Std::new("ip").args(["link", "del", &self.bridge]).status();
    }
}

fn assert_disk_full_failure(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("pyslim said:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The daemon's cause, and what to do about it; not a file of the project blamed.
    assert!(stderr.contains("no space left on device"), "{stderr}");
    assert!(stderr.contains("hint: the Docker daemon's disk is full"), "{stderr}");
    assert!(!stderr.contains("cannot read"), "{stderr}");
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_daemon_whose_disk_fills_up() {
    if !common::docker_images_ready(&[SLIM, DISTROLESS]) {
        return;
    }
    let docker0 = common::docker0_present();
    let Some(daemon) = ThrowawayDockerd::start() else { return };
    copy_images(&[SLIM, DISTROLESS], daemon.docker().arg("load"));

    let dir = tempfile::tempdir().unwrap();
    let project = common::tiny_project(dir.path(), "disk-full", "disk full");
    // 150 MB (sparse here, 150 MB in the daemon): more than the room left.
    std::fs::File::create(project.join("model.bin")).unwrap().set_len(150 << 20).unwrap();
    let tag = "pyslim-test/disk-full:latest";
    let build = || {
        let mut c = pyslim(&daemon.host);
        c.args(["build", "--variant", "distroless", "--entrypoint", "python app.py", "--tag", tag])
            .arg(&project)
            .timeout(Duration::from_secs(300));
        c
    };

    // 1. The upload of the build context fills the disk.
    daemon.leave_free(64);
    assert_disk_full_failure(&build().output().unwrap());

    // 2. A build step fills it (vfs copies the 128 MB builder base for its first step).
    std::fs::remove_file(project.join("model.bin")).unwrap();
    daemon.leave_free(64);
    assert_disk_full_failure(&build().output().unwrap());

    // Nothing of pyslim's is left: no containers, no half-built or dangling images, no tag.
    assert_eq!(daemon.list(&["ps", "-aq"]), "", "containers left behind");
    assert_eq!(daemon.list(&["images", "-q", "--filter", "dangling=true"]), "", "dangling images");
    assert_eq!(daemon.list(&["images", "-q", "--filter", "label=org.pyslim.project=disk-full"]), "");
    assert!(!daemon.docker().args(["image", "inspect", tag]).output().unwrap().status.success());

    // 3. With room again the same build goes through: the failures left nothing in the way.
    // (vfs copies every layer whole: the builder's layers, the strip tools' layer among them, are
    // each a full copy of the 128 MB base.)
    daemon.leave_free(1600);
    let out = build().output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(daemon.docker().args(["image", "inspect", tag]).output().unwrap().status.success());
    drop(daemon);
    assert_eq!(common::docker0_present(), docker0, "the throwaway daemon changed the machine's docker0");
}

/// `podman system service` on a private store (vfs), with container limits this machine allows.
struct PodmanService {
    child: Child,
    flags: Vec<String>,
    host: String,
    dir: tempfile::TempDir,
}

impl PodmanService {
    fn start() -> Option<Self> {
        if !is_root() || !have("podman") {
            return common::missing("no podman (scripts/test.sh installs it from Debian) or not root");
        }
        let dir = tempfile::Builder::new().prefix("pyslim-pm").tempdir_in("/tmp").unwrap();
        let p = dir.path();
        let flags = vec![
            format!("--root={}", p.join("storage").display()),
            format!("--runroot={}", p.join("run").display()),
            "--storage-driver=vfs".to_string(),
        ];
        // Podman raises the open-files and process limits of containers by default, which this
        // sandboxed kernel refuses; ask for limits under the ones we have.
        let conf = p.join("containers.conf");
        std::fs::write(&conf, "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n").unwrap();
        let sock = p.join("podman.sock");
        let log = p.join("service.log");
        let child = Std::new("podman")
            .args(&flags)
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", sock.display()))
            .env("CONTAINERS_CONF", &conf)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(p.join("service.err")).unwrap())
            .spawn()
            .unwrap();
        let host = format!("unix://{}", sock.display());
        let s = PodmanService { child, flags, host, dir };
        let err_log = s.dir.path().join("service.err");
        wait_for("podman system service", &err_log, || std::os::unix::net::UnixStream::connect(&sock).is_ok());
        Some(s)
    }

    fn podman(&self) -> Std {
        let mut c = Std::new("podman");
        c.args(&self.flags).env("CONTAINERS_CONF", self.dir.path().join("containers.conf"));
        c
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(20));
        // Its store is a folder of the temporary directory, removed with it.
        let _ = self.podman().args(["rm", "-af"]).output();
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn podman_builds_and_verifies_the_demo() {
    if !common::docker_images_ready(&[SLIM, DISTROLESS]) {
        return;
    }
    let Some(podman) = PodmanService::start() else { return };
    copy_images(&[SLIM, DISTROLESS], podman.podman().arg("load"));

    let tag = "pyslim-test/podman-demo:distroless";
    let out = pyslim(&podman.host)
        .args(["build", "--demo", "--variant", "distroless", "--verify", "--tag", tag])
        .timeout(Duration::from_secs(900))
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("pyslim said:\n{stderr}\n{stdout}");
    assert!(out.status.success(), "{stderr}");
    // Podman was recognised, built with its own (classic-API) builder, and its steps were read.
    assert!(stderr.contains("with Podman 4") || stderr.contains("with Podman 5"), "{stderr}");
    assert!(stderr.contains("(classic builder)"), "{stderr}");
    assert!(stderr.contains("[distroless 1/"), "no step progress from Podman's builder: {stderr}");
    assert!(stderr.contains("verified (HTTP 200"), "{stderr}");

    // The verify container is gone; the image runs as the non-root user and carries our labels.
    assert_eq!(run(podman.podman().args(["ps", "-aq"])).trim(), "", "containers left behind");
    let user = run(podman.podman().args(["image", "inspect", "--format", "{{.Config.User}}", tag]));
    assert_eq!(user.trim(), "65532:65532");
    let label =
        run(podman.podman().args(["image", "inspect", "--format", "{{index .Labels \"org.pyslim.variant\"}}", tag]));
    assert_eq!(label.trim(), "distroless");
}
