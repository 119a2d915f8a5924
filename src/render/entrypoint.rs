//! Entrypoint argv: how the plan's command (`uvicorn app:app ...`) runs inside an image.
//!
//! Owns the rewriting of the argv so that it starts from the venv (`/opt/venv/bin/python -m
//! uvicorn ...`) without relying on `PATH` or on a console script's shebang, and the removal of
//! tool wrappers (`poetry run`, `uv run`) that are not in the runtime image; and the launcher that
//! runs the pre-start steps before the server without a shell (distroless has none).

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

use crate::servers::{self, is_python};

/// The argv, started from the venv at `venv`: `python …` becomes the venv's python, servers with
/// a `__main__` module run as `python -m NAME`, other commands as the venv's `bin/NAME`.
/// Absolute paths are kept as they are.
pub(crate) fn from_venv(argv: &[String], venv: &str) -> Vec<String> {
    let argv = without_tool_wrapper(argv);
    let Some(first) = argv.first() else { return argv };
    let python = format!("{venv}/bin/python");
    let mut out = Vec::with_capacity(argv.len() + 2);
    if is_python(first) {
        out.push(python);
    } else if first.starts_with('/') {
        out.push(first.clone());
    } else if let Some(module) = servers::python_module(first) {
        out.push(python);
        out.push("-m".into());
        out.push(module.to_string());
    } else if OTHER_MODULE_ENTRYPOINTS.contains(&first.as_str()) {
        out.push(python);
        out.push("-m".into());
        out.push(first.clone());
    } else {
        out.push(format!("{venv}/bin/{first}"));
    }
    out.extend(argv[1..].iter().cloned());
    out
}

/// The pre-start launcher, run as `python -I -c LAUNCHER STEP... -- SERVER ARGV...`: each step
/// (a command line, split like a POSIX shell, found on `PATH`, so the venv's console scripts
/// resolve) runs in order with SIGTERM/SIGINT passed on; a failing step ends the container with
/// its exit code (127 not found, 126 not runnable, 128+N killed by signal N) and one line on
/// stderr; then the server replaces the launcher (`os.execvp`), so it is PID 1's program and gets
/// the signals. `-I` keeps the project's files and `PYTHON*` settings out of the launcher itself
/// (the steps and the server get the environment unchanged).
pub(crate) const LAUNCHER: &str = r#"import os, shlex, signal, subprocess, sys
args = sys.argv[1:]
steps, server = args[:args.index("--")], args[args.index("--") + 1:]
def say(line):
    print("pyslim: " + line, file=sys.stderr, flush=True)
for n, step in enumerate(steps, 1):
    what = "pre-start step %d/%d `%s`" % (n, len(steps), step)
    say("running " + what)
    try:
        child = subprocess.Popen(shlex.split(step))
    except OSError as e:
        say("%s cannot run: %s" % (what, e.strerror or e))
        sys.exit(127 if isinstance(e, FileNotFoundError) else 126)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    code = child.wait()
    if code:
        code = code if code > 0 else 128 - code
        say("%s failed with exit code %d; the server was not started" % (what, code))
        sys.exit(code)
try:
    os.execvp(server[0], server)
except OSError as e:
    say("cannot start the server `%s`: %s" % (shlex.join(server), e.strerror or e))
    sys.exit(127)
"#;

/// The entrypoint argv that runs `steps` (command lines, as written unless a tool wrapper is
/// dropped) with `python`, then execs `server`; just `server` when there are no steps.
pub(crate) fn with_pre_start(python: &str, steps: &[String], server: Vec<String>) -> Vec<String> {
    if steps.is_empty() {
        return server;
    }
    let mut out = vec![python.to_string(), "-I".into(), "-c".into(), LAUNCHER.into()];
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

    #[test]
    fn rewrites() {
        assert_eq!(
            from_venv(&v("uvicorn app:app --port 8000"), "/opt/venv"),
            v("/opt/venv/bin/python -m uvicorn app:app --port 8000")
        );
        assert_eq!(
            from_venv(&v("python manage.py runserver"), "/opt/venv"),
            v("/opt/venv/bin/python manage.py runserver")
        );
        assert_eq!(from_venv(&v("python3.13 app.py"), "/opt/venv"), v("/opt/venv/bin/python app.py"));
        assert_eq!(from_venv(&v("uwsgi --http :8000"), "/opt/venv"), v("/opt/venv/bin/uwsgi --http :8000"));
        assert_eq!(from_venv(&v("poetry run gunicorn a:b"), "/opt/venv"), v("/opt/venv/bin/python -m gunicorn a:b"));
        assert_eq!(
            from_venv(&v("uv run --no-sync streamlit run a.py"), "/v"),
            v("/v/bin/python -m streamlit run a.py")
        );
        assert_eq!(from_venv(&v("/usr/bin/env x"), "/v"), v("/usr/bin/env x"));
        assert!(!is_python("python3.x"));
    }

    /// Runs the launcher with the host's `python3` (the image runs the same text): steps in
    /// order, the server exec'd after them, a failing step's exit code and line, 127 for a
    /// missing command. Skipped without `python3` outside CI.
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
            let argv = with_pre_start(&py, steps, server.clone());
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
        assert_eq!(argv[..3], v("/p -I -c")[..]);
        assert_eq!(argv[4..], ["flask db upgrade", "django-admin migrate --settings=s", "--", "gunicorn", "a:b"]);
    }
}
