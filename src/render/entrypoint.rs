//! Entrypoint argv: how the plan's command (`uvicorn app:app ...`) runs inside an image.
//!
//! Owns the rewriting of the argv so that it starts from the venv (`/opt/venv/bin/python -m
//! uvicorn ...`) without relying on `PATH` or on a console script's shebang, and the removal of
//! tool wrappers (`poetry run`, `uv run`) that are not in the runtime image; and the argv that
//! runs the pre-start steps before the server without a shell (distroless has none) through the
//! launcher helper file (`pyslim_helpers/launch.py`, see `helpers`).

/// Tools outside the server table (`assets/servers.toml`) whose package has a `__main__` module.
const OTHER_MODULE_ENTRYPOINTS: &[&str] = &["celery"];

/// Drops `poetry run`, `uv run`, `pdm run`, `pipenv run` in front of the real command: those
/// tools are not in the runtime image, and the venv is already the environment.
pub(crate) fn without_tool_wrapper(argv: &[String]) -> Vec<String> {
    let wrappers = ["poetry", "uv", "pdm", "pipenv", "hatch", "rye"];
    if argv.len() >= 3 && wrappers.contains(&argv[0].as_str()) && argv[1] == "run" {
        let mut rest = &argv[2..];
        // `uv run --no-sync cmd`: skip the wrapper's own options
        while rest.first().is_some_and(|a| a.starts_with('-')) && rest.len() > 1 {
            rest = &rest[1..];
        }
        return rest.to_vec();
    }
    argv.to_vec()
}

use std::collections::BTreeMap;

use crate::plan::ExtraRequirement;
use crate::scan::ScanReport;
use crate::servers::{self, ModuleStart, is_python};

/// The releases the image installs, by normalized distribution name: the scan's runtime pins (a
/// lock's, else requirement `==` pins) and the `==` pins of the extra requirements (`--install
/// gunicorn==19.9.0`), which pip installs with them.
pub(crate) fn pinned_versions(scan: &ScanReport, extras: &[ExtraRequirement]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> =
        scan.pins.iter().filter(|p| !p.version.is_empty()).map(|p| (p.name.clone(), p.version.clone())).collect();
    for pin in extras.iter().filter_map(|e| crate::scan::exact_pin(&e.requirement)) {
        out.insert(pin.name, pin.version);
    }
    out
}

/// How the image starts the plan's command: the argv, and a Dockerfile comment when a pinned
/// server release needs its console script instead of `python -m`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct VenvStart {
    pub argv: Vec<String>,
    pub note: Option<String>,
}

/// The argv, started from the venv at `venv`: `python …` becomes the venv's python, servers with
/// a `__main__` module run as `python -m NAME`, other commands as the venv's `bin/NAME`.
/// A server whose pinned release (`pinned`, from [`pinned_versions`]) predates its `__main__`
/// (`module_since` in `assets/servers.toml`: gunicorn before 20.1.0) runs its console script
/// through the venv's python (`python /opt/venv/bin/gunicorn …`): no reliance on the shebang,
/// and `bin/` is in every variant's venv (minimal keeps it whole). Absolute paths are kept as
/// they are.
pub(crate) fn from_venv(argv: &[String], venv: &str, pinned: &BTreeMap<String, String>) -> VenvStart {
    let argv = without_tool_wrapper(argv);
    let Some(first) = argv.first() else { return VenvStart { argv, note: None } };
    let python = format!("{venv}/bin/python");
    let mut out = Vec::with_capacity(argv.len() + 2);
    let mut note = None;
    let lookup = |name: &str| pinned.get(&crate::scan::normalize(name)).cloned();
    if is_python(first) {
        out.push(python);
    } else if first.starts_with('/') {
        out.push(first.clone());
    } else {
        match servers::module_start(first, &lookup) {
            ModuleStart::Module(module) => {
                out.push(python);
                out.push("-m".into());
                out.push(module.to_string());
            }
            ModuleStart::TooOld { module, package, version, since } => {
                note = Some(format!(
                    "{package} {version} (pinned) has no {module}/__main__.py ({since} added it), so `python -m {module}`\n\
                     cannot start it: its console script runs through the venv's python."
                ));
                out.push(python);
                out.push(format!("{venv}/bin/{first}"));
            }
            ModuleStart::NoModule if OTHER_MODULE_ENTRYPOINTS.contains(&first.as_str()) => {
                out.push(python);
                out.push("-m".into());
                out.push(first.clone());
            }
            ModuleStart::NoModule => out.push(format!("{venv}/bin/{first}")),
        }
    }
    out.extend(argv[1..].iter().cloned());
    VenvStart { argv: out, note }
}

/// The entrypoint argv that runs `steps` (command lines, as written unless a tool wrapper is
/// dropped) with the launcher (`python -I /pyslim/launch.py STEP... -- SERVER...`), then execs
/// `server`; just `server` when there are no steps. The launcher runs each step in order with
/// SIGTERM/SIGINT passed on; a failing step ends the container with its exit code (127 not found,
/// 126 not runnable, 128+N killed by signal N) and one line on stderr; then the server replaces
/// the launcher (`os.execvp`), so it is PID 1's program and gets the signals. `-I` keeps the
/// project's files and `PYTHON*` settings out of the launcher itself (the steps and the server get
/// the environment unchanged).
pub(crate) fn with_pre_start(python: &str, steps: &[String], server: Vec<String>) -> Vec<String> {
    if steps.is_empty() {
        return server;
    }
    let mut out = vec![python.to_string(), "-I".into(), super::helpers::LAUNCHER_IN_IMAGE.into()];
    out.extend(steps.iter().map(|line| match shlex::split(line) {
        Some(argv) if without_tool_wrapper(&argv) != argv => crate::scan::command_line(&without_tool_wrapper(&argv)),
        _ => line.clone(),
    }));
    out.push("--".into());
    out.extend(server);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn start(argv: &str, venv: &str) -> Vec<String> {
        from_venv(&v(argv), venv, &BTreeMap::new()).argv
    }

    #[test]
    fn rewrites() {
        assert_eq!(
            start("uvicorn app:app --port 8000", "/opt/venv"),
            v("/opt/venv/bin/python -m uvicorn app:app --port 8000")
        );
        assert_eq!(start("python manage.py runserver", "/opt/venv"), v("/opt/venv/bin/python manage.py runserver"));
        assert_eq!(start("python3.13 app.py", "/opt/venv"), v("/opt/venv/bin/python app.py"));
        assert_eq!(start("uwsgi --http :8000", "/opt/venv"), v("/opt/venv/bin/uwsgi --http :8000"));
        assert_eq!(start("poetry run gunicorn a:b", "/opt/venv"), v("/opt/venv/bin/python -m gunicorn a:b"));
        assert_eq!(start("uv run --no-sync streamlit run a.py", "/v"), v("/v/bin/python -m streamlit run a.py"));
        assert_eq!(start("/usr/bin/env x", "/v"), v("/usr/bin/env x"));
        assert_eq!(start("celery -A proj worker", "/v"), v("/v/bin/python -m celery -A proj worker"));
        assert!(!is_python("python3.x"));
    }

    fn pins(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_old_server_pin_runs_its_console_script_through_the_venv_python() {
        let old = pins(&[("gunicorn", "19.9.0"), ("flask", "2.0.3")]);
        let s = from_venv(&v("gunicorn -b 0.0.0.0:8000 app:app"), "/opt/venv", &old);
        assert_eq!(s.argv, v("/opt/venv/bin/python /opt/venv/bin/gunicorn -b 0.0.0.0:8000 app:app"));
        let note = s.note.unwrap();
        assert!(note.contains("gunicorn 19.9.0 (pinned) has no gunicorn/__main__.py (20.1.0 added it)"), "{note}");
        // a tool wrapper is dropped first, as for -m
        assert_eq!(from_venv(&v("poetry run gunicorn a:b"), "/v", &old).argv, v("/v/bin/python /v/bin/gunicorn a:b"));
        // new enough, or not pinned: unchanged
        for p in [pins(&[("gunicorn", "20.1.0")]), pins(&[("gunicorn", "23.0.0")]), pins(&[("flask", "0.12.2")])] {
            let s = from_venv(&v("gunicorn a:b"), "/opt/venv", &p);
            assert_eq!(s, VenvStart { argv: v("/opt/venv/bin/python -m gunicorn a:b"), note: None }, "{p:?}");
        }
        // the pin of another distribution decides for `fastapi run` (fastapi's __main__, fastapi-cli's script)
        let fastapi = pins(&[("fastapi", "0.111.0"), ("fastapi-cli", "0.0.4")]);
        assert_eq!(
            from_venv(&v("fastapi run main.py"), "/v", &fastapi).argv,
            v("/v/bin/python /v/bin/fastapi run main.py")
        );
        assert_eq!(
            from_venv(&v("fastapi run main.py"), "/v", &pins(&[("fastapi", "0.115.0")])).argv,
            v("/v/bin/python -m fastapi run main.py")
        );
        // uvicorn 0.8.6 (2019) predates uvicorn/__main__.py; 0.10.0 is newer than 0.9.1
        assert_eq!(
            from_venv(&v("uvicorn a:b"), "/v", &pins(&[("uvicorn", "0.8.6")])).argv,
            v("/v/bin/python /v/bin/uvicorn a:b")
        );
        assert_eq!(
            from_venv(&v("uvicorn a:b"), "/v", &pins(&[("uvicorn", "0.10.0")])).argv,
            v("/v/bin/python -m uvicorn a:b")
        );
    }

    #[test]
    fn pins_come_from_the_scan_and_the_extra_requirements() {
        let scan = ScanReport {
            pins: vec![
                crate::scan::LockedPackage { name: "gunicorn".into(), version: "19.7.1".into(), ..Default::default() },
                crate::scan::LockedPackage { name: "werkzeug".into(), version: String::new(), ..Default::default() },
            ],
            ..Default::default()
        };
        let extra = |r: &str| ExtraRequirement { requirement: r.into(), reason: String::new() };
        let p = pinned_versions(&scan, &[]);
        assert_eq!(p, pins(&[("gunicorn", "19.7.1")]));
        let p = pinned_versions(&scan, &[extra("Uvicorn==0.8.6"), extra("daphne>=2"), extra("granian")]);
        assert_eq!(p, pins(&[("gunicorn", "19.7.1"), ("uvicorn", "0.8.6")]));
        // names are looked up normalized
        let s = from_venv(&v("gunicorn a:b"), "/v", &p);
        assert_eq!(s.argv[1], "/v/bin/gunicorn");
    }

    /// Runs the argv with the host's `python3` and the launcher file the image gets: steps in
    /// order, the server exec'd after them, a failing step's exit code and line, 127 for a
    /// missing command (the launcher's own cases are in its pytest tests). Skipped without
    /// `python3` outside CI.
    #[test]
    fn launcher_runs_steps_in_order_then_execs_the_server() {
        use std::process::Command;
        let Ok(py) = Command::new("python3").arg("-c").arg("import sys; print(sys.executable)").output() else {
            assert!(std::env::var_os("CI").is_none(), "python3 is needed to test the launcher");
            eprintln!("SKIPPED: no python3");
            return;
        };
        let py = String::from_utf8_lossy(&py.stdout).trim().to_string();
        let dir = tempfile::tempdir().unwrap();
        let step = |n: &str| format!("{py} -c \"open('order', 'a').write('{n} ')\"");
        let server = vec![py.clone(), "-c".into(), "import os; print(open('order').read() + str(os.getpid()))".into()];
        let run = |steps: &[String]| {
            let mut argv = with_pre_start(&py, steps, server.clone());
            assert_eq!(argv[2], "/pyslim/launch.py");
            argv[2] = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helpers/pyslim_helpers/launch.py").into();
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]).current_dir(dir.path());
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            let child = c.spawn().unwrap();
            let pid = child.id();
            (child.wait_with_output().unwrap(), pid)
        };
        let (out, pid) = run(&[step("one"), step("two")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // the server replaced the launcher: same process id
        assert_eq!(stdout.trim(), format!("one two {pid}"), "{stderr}");
        assert!(stderr.contains("pyslim: running pre-start step 1/2"), "{stderr}");

        std::fs::remove_file(dir.path().join("order")).unwrap();
        let fail = format!("{py} -c 'import sys; sys.exit(7)'");
        let (out, _) = run(&[step("one"), fail, step("three")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{stderr}");
        assert!(stderr.contains("pre-start step 2/3") && stderr.contains("failed with exit code 7"), "{stderr}");
        assert!(out.stdout.is_empty(), "the server ran after a failed step");
        assert_eq!(std::fs::read_to_string(dir.path().join("order")).unwrap(), "one ");

        let (out, _) = run(&["pyslim-no-such-command x".into()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(127), "{stderr}");
        assert!(stderr.contains("pre-start step 1/1 `pyslim-no-such-command x` cannot run"), "{stderr}");
    }

    #[test]
    fn no_steps_no_launcher_and_wrappers_dropped() {
        assert_eq!(with_pre_start("/p", &[], v("gunicorn a:b")), v("gunicorn a:b"));
        let steps = ["poetry run flask db upgrade".to_string(), "django-admin migrate --settings=s".to_string()];
        let argv = with_pre_start("/p", &steps, v("gunicorn a:b"));
        assert_eq!(argv[..3], v("/p -I /pyslim/launch.py")[..]);
        assert_eq!(argv[3..], ["flask db upgrade", "django-admin migrate --settings=s", "--", "gunicorn", "a:b"]);
    }
}
