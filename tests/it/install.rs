//! What an installed pyslim offers the shell: completion scripts and the man page, generated
//! from the same clap definition as `--help` (so they know every flag, `--pull` and `--push` too);
//! and the channels it is installed through: the Python wheel (maturin, `bindings = "bin"`) in a
//! fresh venv and as a uv tool, and the release workflow that builds the binaries and wheels.

use std::path::{Path, PathBuf};
use std::process::Command as Std;
use std::sync::Mutex;

use assert_cmd::Command;

fn pyslim(args: &[&str]) -> String {
    let out = Command::cargo_bin("pyslim").unwrap().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_know_the_subcommands_and_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = pyslim(&["completions", shell]);
        for word in ["compare", "pull", "push", "mirror", "always"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = Command::cargo_bin("pyslim").unwrap().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_page_documents_every_subcommand() {
    let page = pyslim(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH pyslim"), "{}", &page[..200.min(page.len())]);
    for word in ["PYSLIM BUILD", "PYSLIM COMPARE", "PYSLIM TUI", "\\-\\-push", "\\-\\-pull"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}

// ---- The install channels a release offers: a Python wheel, the release workflow ----

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Std) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{text}", out.status);
    text
}

/// A venv of test tools from PyPI (maturin, check-jsonschema, uv), made once and kept under
/// cargo's target tmp folder: the tools the release uses, not dependencies of pyslim.
fn tools() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pytools");
    let bin = venv.join("bin");
    let wanted = ["maturin", "check-jsonschema", "uv"];
    if wanted.iter().all(|t| bin.join(t).exists()) {
        return bin;
    }
    run(Std::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Std::new(bin.join("pip")).args(["install", "--quiet", "maturin>=1.5,<2", "check-jsonschema", "uv"]));
    bin
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_as_a_uv_tool_and_runs() {
    let bin = tools();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wheels");
    // A dev-profile build reuses what the suite compiled (only the binary is linked again, which
    // is why scripts/test.sh runs this test last, alone: the other tests run that binary): the
    // packaging is what is tested here, and the release workflow builds the release wheels.
    let log = run(Std::new(bin.join("maturin"))
        .args(["build", "--profile", "dev", "--locked", "--out"])
        .arg(&out)
        .current_dir(repo()));
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(wheels.len(), 1, "one wheel expected: {wheels:?}\n{log}");
    let wheel = &wheels[0];
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    let version = env!("CARGO_PKG_VERSION");
    assert!(name.starts_with(&format!("pyslim-{version}-py3-none-")), "{name}: a binary wheel for any Python 3");

    // pip into a fresh venv, from the file alone (no index).
    let venv = tmp.path().join("venv");
    run(Std::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Std::new(venv.join("bin/pip")).args(["install", "--quiet", "--no-index"]).arg(wheel));
    let v = run(Std::new(venv.join("bin/pyslim")).arg("--version"));
    assert_eq!(v.trim(), format!("pyslim {version}"));
    // The installed binary is the whole tool, not a stub: it knows its subcommands.
    let h = run(Std::new(venv.join("bin/pyslim")).arg("--help"));
    assert!(h.contains("compare") && h.contains("dockerfile"), "{h}");

    // `uv tool install` of the wheel, into folders of the test's own.
    let tool_dir = tmp.path().join("uv-tools");
    let tool_bin = tmp.path().join("uv-bin");
    run(Std::new(bin.join("uv"))
        .args(["tool", "install", "--offline", "--no-cache"])
        .arg(wheel)
        .env("UV_TOOL_DIR", &tool_dir)
        .env("UV_TOOL_BIN_DIR", &tool_bin)
        .env("UV_PYTHON_DOWNLOADS", "never"));
    let v = run(Std::new(tool_bin.join("pyslim")).arg("--version"));
    assert_eq!(v.trim(), format!("pyslim {version}"));
}

#[test]
fn the_release_workflow_is_a_valid_github_actions_workflow() {
    let bin = tools();
    let workflow = repo().join(".github/workflows/release.yml");
    run(Std::new(bin.join("check-jsonschema")).args(["--builtin-schema", "vendor.github-workflows"]).arg(&workflow));
    // The validator itself refuses a broken workflow (so the check above can fail).
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.yml");
    std::fs::write(&broken, "jobs:\n  a:\n    runs-on: ubuntu-22.04\n    stepz: []\n").unwrap();
    let out = Std::new(bin.join("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success(), "check-jsonschema accepted a workflow without `on` and with `stepz`");
    // What the release promises: Linux and macOS, x86_64 and arm64, binaries and wheels.
    let text = std::fs::read_to_string(&workflow).unwrap();
    for needle in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "PyO3/maturin-action",
        "pyslim --version",
    ] {
        assert!(text.contains(needle), "release.yml lacks {needle}");
    }
}
