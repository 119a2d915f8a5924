//! The offline stand-in base images (`scripts/fixture-images.sh`) behave like the public images
//! they stand in for: the interpreter sits at the catalogue's path (`assets/images.toml`), the
//! official layout (`python`, `python3`, `python3.X`, `pip` in `/usr/local/bin`, no
//! EXTERNALLY-MANAGED) holds, `python -m venv` and `pip install` of a wheel from PyPI work, and
//! the full images build C extensions from source as the official (buildpack-deps) ones do.
//!
//! The image list comes from `scripts/fixture-images.sh --list` (so `PYSLIM_FIXTURE_NAMESPACE` and
//! `PYSLIM_FIXTURE_SUITES` select what is checked). Missing images fail under `CI` and are skipped
//! with the reason printed elsewhere. With `PYSLIM_FIXTURE_SUITES` unset, the opt-in suites
//! (`--suites`: bullseye's Python 3.9, noble's 3.12) are checked too when their images are built
//! and current (`--check`), and named as not checked otherwise: CI requires only the default
//! suites. Containers run with `--rm`; nothing else is created.

use std::path::Path;
use std::process::Command;

use pyslim::catalogue::{self, Family};

mod common;

#[derive(Debug, Clone)]
struct StandIn {
    /// The local image, e.g. `pyslim-mirror/python:3.14-slim`.
    image: String,
    /// The public image it stands in for, e.g. `docker.io/library/python:3.14-slim`.
    public: String,
    /// major.minor of its Python.
    python: String,
    /// `full`, `slim`, `distroless` or `distroless-nonroot`.
    kind: String,
}

impl StandIn {
    fn has_pip(&self) -> bool {
        self.kind == "full" || self.kind == "slim"
    }
}

fn script(suites: Option<&str>, arg: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture-images.sh")).arg(arg);
    if let Some(s) = suites {
        c.env("PYSLIM_FIXTURE_SUITES", s);
    }
    c
}

/// The stand-ins of `suites` (`None`: the script's selection, `PYSLIM_FIXTURE_SUITES` or its default).
fn standins(suites: Option<&str>) -> Vec<StandIn> {
    let out = common::run(&mut script(suites, "--list"));
    let list: Vec<StandIn> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "unexpected --list line {l:?}");
            StandIn { image: f[0].into(), public: f[1].into(), python: f[2].into(), kind: f[3].into() }
        })
        .collect();
    assert!(!list.is_empty(), "fixture-images.sh --list printed no image");
    list
}

/// The stand-ins, or `None` when the daemon or an image is missing (a failure under `CI`); with
/// `PYSLIM_FIXTURE_SUITES` unset, plus those of every opt-in suite whose images are built and current.
fn ready() -> Option<Vec<StandIn>> {
    let mut list = standins(None);
    let images: Vec<&str> = list.iter().map(|s| s.image.as_str()).collect();
    if !common::docker_images_ready(&images) {
        return None;
    }
    if std::env::var_os("PYSLIM_FIXTURE_SUITES").is_none() {
        for suite in opt_in_suites() {
            let current = script(Some(&suite), "--check").output().is_ok_and(|o| o.status.success());
            if current {
                eprintln!("note: opt-in suite {suite} is built: checking its stand-ins too");
                list.extend(standins(Some(&suite)));
            } else {
                eprintln!("note: opt-in suite {suite} is not built (or outdated): not checked");
            }
        }
    }
    Some(list)
}

/// The suites `fixture-images.sh --suites` marks `opt-in` (not built by default).
fn opt_in_suites() -> Vec<String> {
    let out = common::run(&mut script(None, "--suites"));
    out.lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [suite, "opt-in"] => Some(suite.to_string()),
            [_, "default"] => None,
            _ => panic!("unexpected --suites line {l:?}"),
        })
        .collect()
}

/// `docker run --rm` with `args` after the image; returns success and stdout+stderr.
fn docker_run(pre: &[&str], image: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "bridge"])
        .args(pre)
        .arg(image)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker run {image}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs `check` for every stand-in in parallel and fails once with every problem listed.
fn each<F>(list: &[StandIn], check: F)
where
    F: Fn(&StandIn) -> Result<(), String> + Sync,
{
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = list.iter().map(|x| (x, s.spawn(|| check(x)))).collect();
        handles
            .into_iter()
            .filter_map(|(x, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{}: {e}", x.image)),
                Err(_) => Some(format!("{}: check panicked", x.image)),
            })
            .collect()
    });
    assert!(problems.is_empty(), "{} stand-in(s) misbehave:\n{}", problems.len(), problems.join("\n\n"));
}

/// The catalogue's interpreter for a stand-in; a stand-in the catalogue does not list yet is
/// held to the official layout of its family (and said so).
fn interpreter(s: &StandIn) -> Result<String, String> {
    match catalogue::find(&s.public) {
        Some(entry) => {
            if entry.python.to_string() != s.python {
                return Err(format!(
                    "catalogue says Python {} for {}, the stand-in has {}",
                    entry.python, s.public, s.python
                ));
            }
            let family_ok = match s.kind.as_str() {
                "full" => entry.family == Family::Python,
                "slim" => entry.family == Family::PythonSlim,
                _ => entry.family == Family::Distroless,
            };
            if !family_ok {
                return Err(format!(
                    "catalogue family {:?} for {} does not match kind {}",
                    entry.family, s.public, s.kind
                ));
            }
            Ok(entry.interpreter.clone())
        }
        None => {
            eprintln!("note: {} has no catalogue entry; checking the official layout", s.public);
            Ok(if s.has_pip() {
                format!("/usr/local/bin/python{}", s.python)
            } else {
                format!("/usr/bin/python{}", s.python)
            })
        }
    }
}

#[test]
fn interpreters_sit_where_the_catalogue_says() {
    let Some(list) = ready() else { return };
    each(&list, |s| {
        let path = interpreter(s)?;
        let probe = "import os, sys, sysconfig\n\
                     print('%d.%d' % sys.version_info[:2])\n\
                     print(os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))";
        let (ok, out) = docker_run(&["--entrypoint", &path], &s.image, &["-c", probe]);
        if !ok {
            return Err(format!("{path} -c ... failed:\n{out}"));
        }
        let lines: Vec<&str> = out.lines().collect();
        if lines.first() != Some(&s.python.as_str()) {
            return Err(format!("{path} reports {out:?}, expected Python {}", s.python));
        }
        if s.has_pip() && lines.get(1) != Some(&"False") {
            return Err(format!("EXTERNALLY-MANAGED is present (official images have none): {out:?}"));
        }
        if s.has_pip() {
            // the official images' names, all resolving in /usr/local/bin, pip driving this Python
            let v = &s.python;
            let script = format!(
                "for n in python python3 python{v} pip pip3 pip{v}; do command -v $n; done; \
                 python3 -c 'import sys; print(sys.executable)'; pip --version"
            );
            let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", &script]);
            let want: Vec<String> = ["python", "python3", &format!("python{v}"), "pip", "pip3", &format!("pip{v}")]
                .iter()
                .map(|n| format!("/usr/local/bin/{n}"))
                .collect();
            let got: Vec<&str> = out.lines().take(6).collect();
            if !ok || got != want || !out.contains(&format!("(python {v})")) {
                return Err(format!("expected {want:?} and pip for Python {v}, got:\n{out}"));
            }
        } else {
            let out = common::run(Command::new("docker").args([
                "image",
                "inspect",
                "-f",
                "{{json .Config.Entrypoint}} {{.Config.User}}",
                &s.image,
            ]));
            let want_user = if s.kind == "distroless-nonroot" { "65532" } else { "" };
            if out.trim() != format!("[\"{path}\"] {want_user}").trim() {
                return Err(format!("entrypoint/user {out:?}, expected [{path:?}] {want_user}"));
            }
        }
        Ok(())
    });
}

#[test]
fn venv_and_system_pip_install_a_wheel_from_pypi() {
    let Some(list) = ready() else { return };
    let with_pip: Vec<StandIn> = list.into_iter().filter(StandIn::has_pip).collect();
    each(&with_pip, |s| {
        // a venv (what pyslim's builder stages do) and a system-wide install (single-stage recipes)
        let script = "set -e; export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
            python -m venv /tmp/venv
            /tmp/venv/bin/pip install -q six
            /tmp/venv/bin/python -c 'import six, sys; assert sys.prefix == \"/tmp/venv\"; print(\"venv\", six.__version__)'
            pip install -q --root-user-action=ignore six
            python -c 'import six; print(\"system\", six.__file__)'";
        let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", script]);
        if ok && out.contains("venv ") && out.contains("system ") {
            Ok(())
        } else {
            Err(format!("venv + pip install six failed:\n{out}"))
        }
    });
}

#[test]
fn full_images_build_mysqlclient_and_psycopg2_from_source() {
    let Some(list) = ready() else { return };
    let full: Vec<StandIn> = list.into_iter().filter(|s| s.kind == "full").collect();
    each(&full, |s| {
        // neither has a Linux wheel on PyPI: both compile against libmysqlclient / libpq headers
        // found through pkg-config and pg_config, as on the official buildpack-deps based images
        let script = "set -e; export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
            python -m venv /tmp/venv
            /tmp/venv/bin/pip install -q --no-binary mysqlclient,psycopg2 mysqlclient psycopg2
            /tmp/venv/bin/python -c 'import MySQLdb, psycopg2; print(\"built\", MySQLdb.version_info, psycopg2.__version__)'";
        let (ok, out) = docker_run(&[], &s.image, &["sh", "-c", script]);
        if ok && out.contains("built ") {
            Ok(())
        } else {
            Err(format!("pip install mysqlclient psycopg2 failed:\n{}", tail(&out, 40)))
        }
    });
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
