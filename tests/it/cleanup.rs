//! Rebuilds clean up after themselves (issue 5): when a rebuild moves a tag, the image it used
//! to name is removed if pyslim built it and nothing else refers to it; an image the user tagged
//! too is kept. Real daemon, real binary.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

use crate::common;

fn docker(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("docker").args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn ready() -> bool {
    common::docker_images_ready(&["pyslim-mirror/python:3.13-slim"])
}

fn build(project: &Path, tag: &str) -> String {
    Command::cargo_bin("pyslim")
        .unwrap()
        .env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror")
        .args(["build", "--variant", "multistage-slim", "--python", "3.13", "--tag", tag])
        .args(["--entrypoint", "python -m http.server 8000", "--port", "8000"])
        .arg(project)
        .timeout(Duration::from_secs(300))
        .assert()
        .success();
    docker(&["image", "inspect", "-f", "{{.Id}}", tag]).1
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_rebuild_removes_the_image_it_replaced_but_not_a_user_tagged_one() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = common::tiny_project(dir.path(), "cleanup-svc", "v1");
    let tag = "pyslim-test/cleanup:latest";
    let keep = "pyslim-test/cleanup-keep:latest";

    let first = build(&p, tag);
    std::fs::write(p.join("app.py"), "print('v2')\n").unwrap();
    let second = build(&p, tag);
    assert_ne!(first, second, "a source edit gives a new image");
    assert!(!docker(&["image", "inspect", &first]).0, "the replaced image {first} was left dangling");

    // An image the user also tagged survives the rebuild.
    assert!(docker(&["tag", &second, keep]).0);
    std::fs::write(p.join("app.py"), "print('v3')\n").unwrap();
    let third = build(&p, tag);
    assert_ne!(second, third);
    assert!(docker(&["image", "inspect", &second]).0, "an image with another tag was removed");

    for t in [tag, keep] {
        docker(&["rmi", t]);
    }
}

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn two_runs_on_the_same_tag_take_turns_and_both_verify() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = common::tiny_project(dir.path(), "turns-svc", "turns");
    let tag = "pyslim-test/turns:latest";
    let run = |marker: &str| {
        std::fs::write(p.join("app.py"), format!("print('{marker}')\n")).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_pyslim"))
            .env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror")
            .args(["build", "--variant", "multistage-slim", "--python", "3.13", "--tag", tag, "--verify"])
            .args(["--entrypoint", "python -m http.server 8000", "--port", "8000"])
            .arg(&p)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = run("a");
    std::thread::sleep(Duration::from_millis(300));
    let b = run("b");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (ea, eb) = (String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
    assert!(a.status.success(), "first run: {ea}");
    assert!(b.status.success(), "second run: {eb}");
    assert!(
        ea.contains("another pyslim run is building") || eb.contains("another pyslim run is building"),
        "neither run waited for the other:\n{ea}\n---\n{eb}"
    );
    docker(&["rmi", tag]);
}
