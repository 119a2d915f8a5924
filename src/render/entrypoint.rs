//! Entrypoint argv: how the plan's command (`uvicorn app:app ...`) runs inside an image.
//!
//! Owns the rewriting of the argv so that it starts from the venv (`/opt/venv/bin/python -m
//! uvicorn ...`) without relying on `PATH` or on a console script's shebang, and the removal of
//! tool wrappers (`poetry run`, `uv run`) that are not in the runtime image.

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
}
