//! Shared by the tests that need the real Docker daemon and the `pyslim-mirror/` stand-in images:
//! one rule for when they are missing (a failure under `CI`, a printed skip elsewhere).

#![allow(dead_code)] // each test binary uses its own subset

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

/// A minimal pip project (no dependencies) whose `app.py` prints `marker`, for builds that
/// exercise pyslim rather than pip.
pub fn tiny_project(parent: &std::path::Path, name: &str, marker: &str) -> std::path::PathBuf {
    let p = parent.join(name);
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("requirements.txt"), "").unwrap();
    std::fs::write(p.join("app.py"), format!("print('{marker}')\n")).unwrap();
    p
}
