//! Shared libraries of what the builder compiled (issue 9, "the runtime gets its shared
//! libraries"): the multi-stage builder resolves the DT_NEEDED closure of the venv's ELF files and
//! stages, at their own paths, exactly the libraries the runtime image lacks.
//!
//! - the rendered step, both flavours (BuildKit looks at the runtime image through a bind mount,
//!   the classic builder uses the list of what every runtime ships), through the real binary;
//! - the builder script itself on this machine: a binary that links libpython gets it copied,
//!   with its closure less what a fake runtime root has, and is refused in one line when the
//!   runtime has no standard library under the prefix that libpython was built for;
//! - a uWSGI compiled from source (`tests/fixtures/uwsgi-app`, links libpcre2, libxml2 and
//!   libpython3.13) built and verified on the daemon: distroless (BuildKit and classic) and
//!   multistage-slim. Images are tagged `pyslim-test/elf-*` and removed at the end.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn dockerfile(args: &[&str], builder: Option<&str>) -> String {
    let mut c = common::pyslim_with(None);
    if let Some(b) = builder {
        c.env("PYSLIM_BUILDER", b);
    }
    let out = c.arg("dockerfile").args(args).arg(fixture("uwsgi-app")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn filter_step_is_rendered_for_both_flavours_and_every_multistage_variant() {
    let bk = dockerfile(&["--python", "3.13", "--variant", "distroless"], None);
    let builder = &bk[..bk.find("AS runtime").unwrap()];
    let runtime = &bk[bk.find("AS runtime").unwrap()..];
    assert!(
        builder.contains(
            "--mount=type=bind,from=pyslim-mirror/distroless/python3-debian13:nonroot,target=/pyslim-runtime"
        ),
        "{bk}"
    );
    assert!(builder.contains("--runtime-root /pyslim-runtime") && !builder.contains("--runtime-has lib"), "{bk}");
    // after the install: the closure is of the installed venv
    assert!(builder.find("pip install").unwrap() < builder.find("-m pyslim_helpers.libs").unwrap(), "{bk}");
    // the helper package is copied from the files beside the Dockerfile, never written into it
    assert!(builder.contains("COPY .pyslim/pyslim_helpers/ /pyslim/helpers/pyslim_helpers/"), "{bk}");
    assert!(!bk.contains("printf"), "{bk}");
    assert!(runtime.contains("COPY --from=builder /pyslim/libs/ /") && !runtime.contains("RUN"), "{bk}");
    assert!(!bk.contains("LD_LIBRARY_PATH"), "{bk}");

    let classic = dockerfile(&["--python", "3.13", "--variant", "distroless", "--classic"], None);
    assert!(!classic.contains("--mount"), "{classic}");
    assert!(classic.contains("--runtime-has libc,libm,"), "{classic}");
    assert!(classic.contains("COPY --from=builder /pyslim/libs/ /"), "{classic}");

    let ms = dockerfile(&["--python", "3.13", "--variant", "multistage-slim"], None);
    assert!(ms.contains("from=pyslim-mirror/python:3.13-slim,target=/pyslim-runtime"), "{ms}");
    assert!(ms.contains("COPY --from=builder /pyslim/libs/ /"), "{ms}");
    // single-stage variants have no builder to copy from
    let slim = dockerfile(&["--python", "3.13", "--variant", "slim"], None);
    assert!(!slim.contains("pyslim_helpers"), "{slim}");
}

const PYTHON: &str = "/usr/bin/python3";

/// Runs the builder's helper (`python -m pyslim_helpers.libs`) with this machine's python3 on
/// `venv`, against the fake runtime `root`.
fn run_script(venv: &Path, out: &Path, root: &Path) -> std::process::Output {
    Command::new(PYTHON)
        .env("PYTHONPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/helpers"))
        .args(["-m", "pyslim_helpers.libs"])
        .args(["--venv", venv.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--manifest", "/etc/pyslim/runtime-libs.txt", "--runtime", "fake-runtime"])
        .args(["--runtime-python", "/usr/bin/python3", "--runtime-root", root.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn filter_script_copies_the_closure_the_runtime_lacks_and_refuses_a_stray_libpython() {
    // this machine's python3 and its libpython (python3-dev) and a C compiler
    // Debian's interpreter: the libpython the loader finds by soname is the one it was built with
    let info = Command::new(PYTHON)
        .args(["-c", "import sysconfig as s; print(s.get_config_var('LDVERSION'), s.get_config_var('LIBDIR'), s.get_config_var('prefix'), s.get_config_var('MULTIARCH'))"])
        .output();
    let Ok(info) = info else { return common::missing("no /usr/bin/python3 on this machine").unwrap_or(()) };
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let [ldversion, libdir, prefix, arch] = info.split_whitespace().collect::<Vec<_>>()[..] else {
        return common::missing(format!("python3 reports no LDVERSION/LIBDIR/prefix/MULTIARCH: {info}")).unwrap_or(());
    };
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let src = tmp.path().join("embed.c");
    std::fs::write(&src, "#include <Python.h>\nint main(void) { Py_Initialize(); return Py_FinalizeEx(); }\n").unwrap();
    let inc = Command::new(PYTHON).args(["-c", "import sysconfig; print(sysconfig.get_path('include'))"]).output();
    let inc = String::from_utf8_lossy(&inc.unwrap().stdout).trim().to_string();
    let cc = Command::new("cc")
        .arg(&src)
        .arg(format!("-I{inc}"))
        .arg(format!("-L{libdir}"))
        .arg(format!("-lpython{ldversion}"))
        .arg("-o")
        .arg(venv.join("bin/embed"))
        .output();
    if !cc.as_ref().is_ok_and(|o| o.status.success()) {
        return common::missing(format!("no C compiler or libpython{ldversion}.so here: {cc:?}")).unwrap_or(());
    }
    // a runtime with glibc only (the loader's default dirs), no libpython, no stdlib
    let root = tmp.path().join("root");
    let libs = root.join(format!("usr/lib/{arch}"));
    std::fs::create_dir_all(&libs).unwrap();
    std::fs::write(libs.join("libc.so.6"), "").unwrap();
    std::fs::write(libs.join("libm.so.6"), "").unwrap();
    // merged /usr, as Debian: /lib is a relative link
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();

    let out = tmp.path().join("out");
    let r = run_script(&venv, &out, &root);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    // the line the build error quotes (engine::diagnose::error_line)
    assert!(stderr.starts_with("ERROR: "), "{stderr}");
    assert!(stderr.contains(&format!("libpython{ldversion}.so")) && stderr.contains("multistage-slim"), "{stderr}");

    // the same runtime with the stdlib under the builder's prefix: libpython and what it links
    // that the root lacks are copied at their paths, named by soname; libc and libm are not
    let stdlib = root.join(format!("{}/lib/python{}", prefix.trim_start_matches('/'), &ldversion));
    std::fs::create_dir_all(&stdlib).unwrap();
    std::fs::write(stdlib.join("os.py"), "").unwrap();
    let r = run_script(&venv, &out, &root);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let manifest = std::fs::read_to_string(out.join("etc/pyslim/runtime-libs.txt")).unwrap();
    let copied: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).collect();
    let libpython = copied.iter().find(|l| l.contains(&format!("libpython{ldversion}.so"))).expect(&manifest);
    assert!(libpython.ends_with(&format!("for {}", venv.join("bin/embed").display())), "{manifest}");
    let path = libpython.split_whitespace().next().unwrap();
    assert!(out.join(path.trim_start_matches('/')).is_file(), "{path} staged: {manifest}");
    assert!(!manifest.contains("/libc.so.6") && !manifest.contains("/libm.so.6"), "{manifest}");
}

use common::Tags;

const IMAGES: [&str; 3] = [
    "pyslim-mirror/python:3.13",
    "pyslim-mirror/python:3.13-slim",
    "pyslim-mirror/distroless/python3-debian13:nonroot",
];

#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn filter_uwsgi_built_from_source_starts_on_distroless_and_multistage_slim() {
    if !common::docker_images_ready(&IMAGES) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("uwsgi-app");
    common::copy_dir(&fixture("uwsgi-app"), &dir);
    let mut tags = Tags(Vec::new());
    for (variant, builder, tag, libs) in [
        (
            "distroless",
            "buildkit",
            "pyslim-test/elf-uwsgi:distroless",
            &["libpcre2-8.so.0", "libxml2.so.2", "libpython3.13.so.1.0"][..],
        ),
        (
            "distroless",
            "classic",
            "pyslim-test/elf-uwsgi:distroless-classic",
            &["libpcre2-8.so.0", "libpython3.13.so.1.0"],
        ),
        ("multistage-slim", "buildkit", "pyslim-test/elf-uwsgi:ms", &["libxml2.so.2", "libpython3.13.so.1.0"]),
    ] {
        tags.0.push(tag.to_string());
        let out = common::pyslim_with(None)
            .env("PYSLIM_BUILDER", builder)
            .args(["build", "--verify", "--json", "--timeout", "60", "--python", "3.13", "--variant", variant])
            .args(["--tag", tag])
            .arg(&dir)
            .timeout(std::time::Duration::from_secs(900))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{variant} ({builder}): {:?}\n{stdout}\n{stderr}", out.status.code());
        let j: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(j["verified"], true, "{variant} ({builder}): {j}");
        assert!(j["verify_detail"].as_str().unwrap().contains("HTTP 200"), "{variant} ({builder}): {j}");
        // what was copied, and for what, is in the image
        let m = Command::new("docker")
            .args(["run", "--rm", "--entrypoint", "/usr/bin/python3.13", tag, "-c"])
            .arg("print(open('/etc/pyslim/runtime-libs.txt').read())")
            .output()
            .unwrap();
        let manifest = String::from_utf8_lossy(&m.stdout);
        for lib in libs {
            assert!(manifest.contains(&format!("/{lib} for /opt/venv/bin/uwsgi")), "{variant} ({builder}): {manifest}");
        }
        // never glibc, never what the runtime's own Python links
        for lib in ["/libc.so.6", "/libssl.so", "/libz.so"] {
            assert!(!manifest.contains(lib), "{variant} ({builder}): {manifest}");
        }
    }
    drop(tags);
}
