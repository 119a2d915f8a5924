//! Bad input through the real binary (issue 5): a corpus of broken projects under
//! `tests/broken/` plus cases made at test time (a 200 MB file, symlink loops, non-UTF-8 names,
//! an empty folder, a missing path). Each case asserts the message, the exit code, and that a
//! failing `dockerfile --write` leaves the project exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn pyslim() -> Command {
    let mut c = Command::cargo_bin("pyslim").unwrap();
    c.env_remove("PYSLIM_IMAGE_MIRROR").env("NO_COLOR", "1");
    c
}

/// Copies a corpus case into a temporary folder, so writes never touch the repository.
fn copy_case(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken").join(name);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Every regular file under `dir` with its content (symlinks as their target).
fn listing(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            let p = e.path();
            if ft.is_symlink() {
                out.insert(p.clone(), std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes());
            } else if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let len = e.metadata().unwrap().len();
                // Large files are compared by length only.
                let content = if len > 1 << 20 { len.to_le_bytes().to_vec() } else { std::fs::read(&p).unwrap() };
                out.insert(p, content);
            }
        }
    }
    out
}

fn scan_json(dir: &Path) -> serde_json::Value {
    let out = pyslim().args(["scan", "--json"]).arg(dir).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("scan --json prints one JSON object")
}

fn warnings(j: &serde_json::Value) -> Vec<String> {
    j["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

fn assert_warned(j: &serde_json::Value, needles: &[&str]) {
    let w = warnings(j);
    for n in needles {
        assert!(w.iter().any(|x| x.contains(n)), "no warning containing {n:?} in {w:#?}");
    }
}

/// `dockerfile --write` must either write both files or fail with `message` and change nothing.
fn write_outcome(dir: &Path, message: Option<&str>) {
    let before = listing(dir);
    let assert = pyslim().args(["dockerfile", "--write"]).arg(dir).assert();
    match message {
        None => {
            assert.success();
            assert!(dir.join("Dockerfile").is_file() && dir.join(".dockerignore").is_file());
        }
        Some(m) => {
            let out = assert.failure().code(1).get_output().clone();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(m), "stderr {stderr:?} lacks {m:?}");
            assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert_eq!(listing(dir), before, "a failed write changed the project");
        }
    }
}

#[test]
fn malformed_pyproject() {
    let d = copy_case("bad-pyproject");
    assert_warned(&scan_json(d.path()), &["pyproject.toml:1: not valid TOML"]);
    write_outcome(d.path(), None);
}

#[test]
fn malformed_poetry_lock() {
    let d = copy_case("bad-poetry-lock");
    let j = scan_json(d.path());
    assert_warned(&j, &["poetry.lock:3: not valid TOML"]);
    assert_eq!(j["package_manager"]["value"], "poetry");
    write_outcome(d.path(), None);
}

#[test]
fn malformed_uv_lock() {
    let d = copy_case("bad-uv-lock");
    assert_warned(&scan_json(d.path()), &["uv.lock:2: not valid TOML"]);
}

#[test]
fn malformed_pipfile_and_lock() {
    let d = copy_case("bad-pipfile");
    assert_warned(&scan_json(d.path()), &["Pipfile:1: not valid TOML", "Pipfile.lock:1: not valid JSON"]);
    // Nothing says how to start this service: a clear error, nothing written.
    write_outcome(d.path(), Some("no entrypoint was detected"));
}

#[test]
fn binary_junk_in_requirements() {
    let d = copy_case("junk-requirements");
    let j = scan_json(d.path());
    let w = warnings(&j);
    assert!(w.iter().any(|x| x.contains("requirements.txt") && x.contains("not text")), "{w:#?}");
    // One warning for the file, not one per garbage line.
    assert!(w.iter().filter(|x| x.contains("requirements.txt")).count() <= 2, "{w:#?}");
}

#[test]
fn requirement_include_cycle() {
    let d = copy_case("include-cycle");
    let j = scan_json(d.path());
    assert_warned(&j, &["include cycle: requirements.txt -> b.txt -> requirements.txt"]);
    let deps: Vec<&str> = j["dependencies"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(deps.contains(&"flask") && deps.contains(&"gunicorn"), "{deps:?}");
    write_outcome(d.path(), None);
}

#[test]
fn conflicting_version_pins() {
    let d = copy_case("conflicting-pins");
    assert_warned(&scan_json(d.path()), &["fastapi", "conflicting", "outside pyproject.toml requires-python"]);
}

#[test]
fn no_entrypoint_is_an_error_that_writes_nothing() {
    let d = copy_case("no-entrypoint");
    write_outcome(d.path(), Some("no entrypoint was detected"));
}

#[test]
fn a_200_mb_file_is_never_read() {
    let d = copy_case("include-cycle");
    let big = std::fs::File::create(d.path().join("data.bin")).unwrap();
    big.set_len(200 * 1024 * 1024).unwrap();
    // A large file named like a source file is skipped too, with a warning.
    let big_py = std::fs::File::create(d.path().join("generated.py")).unwrap();
    big_py.set_len(200 * 1024 * 1024).unwrap();
    let j = scan_json(d.path());
    assert_eq!(j["app"]["value"], "app:app");
    write_outcome(d.path(), None);
}

#[test]
fn symlink_loops() {
    let d = copy_case("include-cycle");
    std::os::unix::fs::symlink("loop-b", d.path().join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", d.path().join("loop-b")).unwrap();
    std::fs::create_dir(d.path().join("pkg")).unwrap();
    std::os::unix::fs::symlink("..", d.path().join("pkg/up")).unwrap();
    std::os::unix::fs::symlink("requirements.txt", d.path().join("requirements-dev.txt")).unwrap();
    let j = scan_json(d.path());
    assert_eq!(j["app"]["value"], "app:app");
    write_outcome(d.path(), None);
}

#[test]
fn non_utf8_file_names() {
    use std::os::unix::ffi::OsStrExt;
    let d = copy_case("include-cycle");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    std::fs::write(d.path().join(name), "x = 1\n").unwrap();
    std::fs::create_dir(d.path().join(std::ffi::OsStr::from_bytes(b"d\xff"))).unwrap();
    let j = scan_json(d.path());
    assert_eq!(j["app"]["value"], "app:app");
}

#[test]
fn empty_folder() {
    let d = tempfile::tempdir().unwrap();
    let j = scan_json(d.path());
    assert!(j["package_manager"].is_null() && j["entrypoint"].is_null());
    assert!(!warnings(&j).is_empty(), "an empty folder deserves a word");
    write_outcome(d.path(), Some("no entrypoint was detected"));
}

#[test]
fn missing_path_and_file_instead_of_folder() {
    let out = pyslim().args(["scan", "/nonexistent/pyslim-project"]).assert().failure().code(1).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/pyslim-project") && stderr.contains("does not exist"), "{stderr}");
    let f = tempfile::NamedTempFile::new().unwrap();
    let out = pyslim().args(["dockerfile"]).arg(f.path()).assert().failure().code(1).get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
}

#[test]
fn existing_files_are_never_replaced_without_force() {
    let d = copy_case("include-cycle");
    std::fs::write(d.path().join("Dockerfile"), "FROM scratch\n# mine\n").unwrap();
    write_outcome(d.path(), Some("already exists; pass --force"));
    // With --force: replaced, and the user's file is kept as a backup.
    pyslim().args(["dockerfile", "--write", "--force"]).arg(d.path()).assert().success();
    assert_eq!(std::fs::read_to_string(d.path().join("Dockerfile.pyslim-backup")).unwrap(), "FROM scratch\n# mine\n");
}

#[test]
fn broken_pyslim_toml_is_an_error_naming_the_file() {
    let d = copy_case("include-cycle");
    std::fs::write(d.path().join("pyslim.toml"), "port = \"eighty\"\nprot = 1\n").unwrap();
    write_outcome(d.path(), Some("pyslim.toml is not valid pyslim configuration"));
}

#[test]
fn bad_flags_are_usage_errors() {
    pyslim().args(["dockerfile", "--demo", "--variant", "tiny"]).assert().failure().code(2);
    let out = pyslim()
        .args(["dockerfile", "--demo", "--entrypoint", "uvicorn 'app:app"])
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unbalanced quotes"));
    let out = pyslim()
        .args(["dockerfile", "--demo", "--runtime", "corp/unknown:1"])
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("custom_image"));
}
