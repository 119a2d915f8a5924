//! Faults between pyslim and the daemon (issue 5), through the real binary: a "daemon" socket
//! that accepts and drops every connection, and a proxy to the real daemon that cuts the build
//! connection mid-build (what a daemon stopped mid-build looks like from the client). Each run
//! must end with a message naming the cause, a non-zero exit that is not a panic, and no
//! container left behind.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::common;

const DOCKER_SOCK: &str = "/var/run/docker.sock";

fn docker_ready() -> bool {
    common::docker_images_ready(&[
        "pyslim-mirror/distroless/python3-debian13:nonroot",
        "pyslim-mirror/python:3.13-slim",
    ])
}

fn pyslim() -> Command {
    common::pyslim_with(None)
}

fn containers_of(project_label: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=org.pyslim.project={project_label}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A socket that accepts connections and closes them at once.
fn dropping_socket(dir: &Path) -> PathBuf {
    let path = dir.join("drop.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    path
}

/// A proxy to the real daemon that cuts any connection carrying a build request `cut_after`
/// after the request started.
fn cutting_proxy(dir: &Path, cut_after: Duration, cut: Arc<AtomicBool>) -> PathBuf {
    let path = dir.join("proxy.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(daemon) = UnixStream::connect(DOCKER_SOCK) else { continue };
            let cut = cut.clone();
            std::thread::spawn(move || pipe_pair(client, daemon, cut_after, cut));
        }
    });
    path
}

fn pipe_pair(client: UnixStream, daemon: UnixStream, cut_after: Duration, cut: Arc<AtomicBool>) {
    let mut c_read = client.try_clone().unwrap();
    let mut d_write = daemon.try_clone().unwrap();
    let is_build = Arc::new(AtomicBool::new(false));
    let flag = is_build.clone();
    // client -> daemon: watch for the build request line.
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            if buf[..n].windows(7).any(|w| w == b"/build?") {
                flag.store(true, Ordering::SeqCst);
            }
            if d_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    // daemon -> client, cut once a build has run for `cut_after`.
    let mut d_read = daemon.try_clone().unwrap();
    d_read.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut c_write = client;
    let mut started: Option<Instant> = None;
    let mut buf = [0u8; 16384];
    loop {
        if is_build.load(Ordering::SeqCst) {
            let s = *started.get_or_insert_with(Instant::now);
            if s.elapsed() >= cut_after {
                cut.store(true, Ordering::SeqCst);
                let _ = c_write.shutdown(std::net::Shutdown::Both);
                let _ = daemon.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
        match d_read.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
}

fn assert_clean_failure(out: &std::process::Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("pyslim said:\n{stderr}");
    assert!(!out.status.success(), "expected a failure; stderr: {stderr}");
    assert_ne!(out.status.code(), Some(101), "a panic: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
}

/// A "daemon" that answers every request with HTTP 500 and a Docker-style error message.
fn erroring_daemon(dir: &Path) -> PathBuf {
    let path = dir.join("error.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                // One request per connection is enough for a client that gets an error.
                let _ = conn.read(&mut buf);
                let body = r#"{"message":"storage driver fuse-overlayfs failed: no space left on device"}"#;
                let reply = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes());
            });
        }
    });
    path
}

#[test]
fn a_daemon_that_answers_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sock = erroring_daemon(dir.path());
    for args in [&["build", "--demo", "--variant", "distroless"][..], &["compare", "--demo", "--no-verify"][..]] {
        let out = pyslim()
            .env("DOCKER_HOST", format!("unix://{}", sock.display()))
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        // The daemon's own words reach the user.
        assert_clean_failure(&out, &["no space left on device"]);
    }
}

#[test]
fn a_socket_that_drops_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dropping_socket(dir.path());
    let out = pyslim()
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["build", "--demo", "--variant", "distroless"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_clean_failure(&out, &[&sock.display().to_string()]);
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn the_daemon_connection_cut_mid_build() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cut = Arc::new(AtomicBool::new(false));
    let sock = cutting_proxy(dir.path(), Duration::from_secs(4), cut.clone());
    // A project name of its own, so leftovers are attributable to this test.
    let project = dir.path().join("faults-cut-demo");
    let demo = pyslim::demo::DemoProject::extract().unwrap();
    common::copy_dir(&demo.path(), &project);
    let out = pyslim()
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["build", "--no-cache", "--variant", "multistage-slim", "--tag", "pyslim-test/faults-cut:latest"])
        .arg(&project)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert!(cut.load(Ordering::SeqCst), "the proxy never cut a build: {}", String::from_utf8_lossy(&out.stderr));
    assert_clean_failure(&out, &["lost the connection to the Docker daemon during the build"]);
    // Give the daemon a moment to notice the client left, then nothing of ours may remain.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(containers_of("faults-cut-demo"), "", "containers left behind");
    let tagged = std::process::Command::new("docker")
        .args(["image", "inspect", "pyslim-test/faults-cut:latest"])
        .output()
        .unwrap();
    assert!(!tagged.status.success(), "a half-built image was tagged");
}
