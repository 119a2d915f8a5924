//! Start commands the project states itself: the Procfile's `web:` line, the CMD/ENTRYPOINT of
//! its Dockerfiles (`Dockerfile`, then `Dockerfile.prod` and the like) and the start scripts they
//! name (`boot.sh`, `docker-entrypoint.sh` with `exec "$@"`). Owns turning each into one
//! candidate: the server command, the commands before it (pre-start steps) and notes about what
//! was left out; and the build steps offered as candidates (a Procfile `release:` line, the
//! project's own Dockerfile `RUN` lines that run project code). Which candidate wins and what the
//! server is handed is `app`'s call.

use std::collections::BTreeMap;

use super::deps::Project;
use super::dockerfile::{self, Dockerfile};
use super::files::Ctx;
use super::shell::{self, Script};
use super::{AppServer, Fact, ScanReport, command_line};
use crate::servers;

/// Other Dockerfiles a project keeps for production, read after the main one.
const OTHER_DOCKERFILES: &[&str] = &[
    "Dockerfile.prod",
    "Dockerfile.production",
    "Dockerfile.web",
    "prod.Dockerfile",
    "docker/Dockerfile",
    "docker/prod/Dockerfile",
    "compose/production/django/Dockerfile",
];

/// A start command found in a Procfile, a Dockerfile or a start script.
#[derive(Clone, Debug)]
pub struct Strong {
    /// The server command, wrappers (`exec`, `poetry run`, `gosu u`) removed, variables the
    /// file sets resolved (`$PORT` stays when nothing sets it).
    pub argv: Vec<String>,
    pub source: String,
    pub pre_start: Vec<Fact<String>>,
    /// Variables the Dockerfile sets (`ENV PORT=8000`), for the port.
    pub env: BTreeMap<String, String>,
    /// The Dockerfile (or Procfile) it came from, for messages.
    pub origin: String,
    /// Things left out (wait loops, conditional commands), each a sentence.
    pub notes: Vec<String>,
}

impl Strong {
    /// Whether it starts a development server (`runserver`, `flask run`) or a bare script,
    /// which a production server the project also names beats.
    pub fn is_development(&self) -> bool {
        match servers::identify(&self.argv) {
            Some(s) => s.name == "Django runserver" || s.name == "django-admin runserver" || s.name == "flask run",
            None => true,
        }
    }
}

/// The server an argv starts (`python -m uvicorn` counts as uvicorn, `python app.py` as
/// `python`), from the server table.
pub fn server_of(argv: &[String]) -> Option<AppServer> {
    if let Some(s) = servers::identify(argv) {
        return Some(AppServer::from_table(&s.app_server));
    }
    let first = argv.first()?;
    let script = argv.get(1).map(String::as_str).unwrap_or("");
    if servers::is_python(first) && script.ends_with(".py") && !script.ends_with("manage.py") {
        return Some(AppServer::Python);
    }
    None
}

/// Every start command the project states, best first (the main Dockerfile, the Procfile, other
/// Dockerfiles), plus warnings for commands that start nothing pyslim recognises.
/// The project's console scripts (`[project.scripts]`, `[tool.poetry.scripts]`): a start script
/// that execs one of them starts the service.
pub fn console_scripts(project: &Project) -> Vec<String> {
    let Some(py) = &project.pyproject else { return Vec::new() };
    let tables = [
        py.get("project").and_then(|p| p.get("scripts")),
        py.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.get("scripts")),
    ];
    tables.into_iter().flatten().filter_map(|t| t.as_table()).flat_map(|t| t.keys().cloned()).collect()
}

pub fn candidates(ctx: &mut Ctx, docker: Option<&Dockerfile>, scripts: &[String]) -> Vec<Strong> {
    let mut out = Vec::new();
    let mut unrecognised = Vec::new();
    if let Some(d) = docker {
        match from_dockerfile(ctx, d, scripts) {
            Ok(s) => out.push(s),
            Err(Some(msg)) => unrecognised.push(msg),
            Err(None) => {}
        }
    }
    match procfile(ctx, scripts) {
        Ok(s) => out.push(s),
        Err(Some(msg)) => unrecognised.push(msg),
        Err(None) => {}
    }
    for name in OTHER_DOCKERFILES {
        if !ctx.is_file(name) {
            continue;
        }
        let Some(text) = ctx.read(name) else { continue };
        let d = dockerfile::parse(&text, name);
        if let Ok(s) = from_dockerfile(ctx, &d, scripts) {
            out.push(s);
        }
    }
    if out.is_empty() {
        for m in unrecognised {
            ctx.warn(m);
        }
    }
    out
}

fn procfile(ctx: &mut Ctx, scripts: &[String]) -> Result<Strong, Option<String>> {
    if !ctx.exists("Procfile") {
        return Err(None);
    }
    let text = ctx.read("Procfile").ok_or(None)?;
    for (i, line) in text.lines().enumerate() {
        let Some(cmd) = line.trim().strip_prefix("web:") else { continue };
        let source = format!("Procfile:{} web:", i + 1);
        let script = shell::parse(cmd.trim(), &BTreeMap::new(), &[]);
        return from_script(ctx, script, &source, "Procfile", &BTreeMap::new(), 0, scripts).ok_or_else(|| {
            Some(format!("{source} runs `{}`, which pyslim does not recognise as a server; not used", cmd.trim()))
        });
    }
    Err(None)
}

fn from_dockerfile(ctx: &mut Ctx, d: &Dockerfile, scripts: &[String]) -> Result<Strong, Option<String>> {
    let (argv, source) = d.argv().ok_or(None)?;
    let env = &d.env;
    // The text a shell would run, and what `"$@"` is inside a script the ENTRYPOINT names.
    let entry_script = d
        .entrypoint
        .as_ref()
        .filter(|e| !e.shell_form)
        .and_then(|e| shell::script_of(&e.argv).map(|s| (s.to_string(), e.argv[1..].to_vec())));
    let script = if let Some((path, mut extra)) = entry_script {
        let cmd: Vec<String> = d.cmd.as_ref().map(|c| c.argv.clone()).unwrap_or_default();
        extra.retain(|a| !a.ends_with(".sh") && a != &path);
        let args: Vec<String> = extra.into_iter().chain(cmd).collect();
        match locate(ctx, d, &path) {
            Some(file) => {
                let text = ctx.read(&file).unwrap_or_default();
                let mut s = shell::parse(&text, env, &args);
                s.notes.iter_mut().for_each(|n| *n = format!("{file} {n}"));
                let origin = d.path.clone();
                return from_script(ctx, s, &file, &origin, env, 1, scripts).ok_or_else(|| {
                    Some(format!(
                        "{source} runs `{path}`, which starts nothing pyslim recognises as a server; not used"
                    ))
                });
            }
            None => return Err(Some(format!("{source} runs `{path}`, which is not in the project; not used"))),
        }
    } else if let Some(text) = shell::sh_c(&argv) {
        shell::parse(text, env, &[])
    } else if d.entrypoint.as_ref().is_some_and(|e| e.shell_form) {
        shell::parse(&d.entrypoint.as_ref().map(|e| e.raw.clone()).unwrap_or_default(), env, &[])
    } else if d.entrypoint.is_none() && d.cmd.as_ref().is_some_and(|c| c.shell_form) {
        shell::parse(&d.cmd.as_ref().map(|c| c.raw.clone()).unwrap_or_default(), env, &[])
    } else {
        // exec form: no shell, but wrappers and variables are read the same way
        shell::parse(&command_line(&argv), env, &[])
    };
    from_script(ctx, script, &source, &d.path, env, 0, scripts).ok_or_else(|| {
        Some(format!("{source} runs `{}`, which pyslim does not recognise as a server; not used", argv.join(" ")))
    })
}

/// The project file a path in the image names: `COPY boot.sh /app/boot.sh` then
/// `ENTRYPOINT ["/app/boot.sh"]`, or a path whose tail is a project file.
fn locate(ctx: &mut Ctx, d: &Dockerfile, path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    for (srcs, dest) in &d.copies {
        for src in srcs {
            let src_name = src.rsplit('/').next().unwrap_or(src);
            let dest_is_file = dest.ends_with(name) && src_name == name;
            let dest_is_target = dest.trim_end_matches('/') == path.trim_end_matches('/');
            if (dest_is_file || dest_is_target) && ctx.is_file(src.trim_start_matches("./")) {
                return Some(src.trim_start_matches("./").to_string());
            }
        }
    }
    project_path(ctx, path)
}

/// The shortest tail of a path that is a project file (`/code/etc/uwsgi.ini` -> `etc/uwsgi.ini`).
fn project_path(ctx: &mut Ctx, path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    let parts: Vec<&str> = trimmed.split('/').collect();
    (0..parts.len()).map(|i| parts[i..].join("/")).find(|p| !p.is_empty() && ctx.is_file(p))
}

/// The server step of a parsed script (recursing into a script it runs) and the steps before it.
fn from_script(
    ctx: &mut Ctx,
    script: Script,
    file: &str,
    origin: &str,
    env: &BTreeMap<String, String>,
    depth: usize,
    scripts: &[String],
) -> Option<Strong> {
    let at = |line: usize| {
        if file.starts_with("Procfile") || file.contains(':') { file.to_string() } else { format!("{file}:{line}") }
    };
    let is_server = |argv: &[String]| {
        server_of(argv).is_some()
            || argv.first().is_some_and(|p| scripts.iter().any(|s| s == p.rsplit('/').next().unwrap_or(p)))
    };
    let server_at = script.steps.iter().rposition(|s| is_server(&s.argv));
    let (idx, mut strong) = match server_at {
        Some(i) => {
            let step = &script.steps[i];
            (
                i,
                Strong {
                    argv: normalise(ctx, &step.argv),
                    source: at(step.line),
                    pre_start: Vec::new(),
                    env: env.clone(),
                    origin: origin.to_string(),
                    notes: script.notes.clone(),
                },
            )
        }
        None => {
            // the last command may be a start script: read it with the rest as "$@"
            if depth >= 2 {
                return None;
            }
            let i = script.steps.iter().rposition(|s| shell::script_of(&s.argv).is_some())?;
            let step = &script.steps[i];
            let path = shell::script_of(&step.argv)?.to_string();
            let file2 = project_path(ctx, &path)?;
            let text = ctx.read(&file2)?;
            let args: Vec<String> = step.argv.iter().skip_while(|a| **a != path).skip(1).cloned().collect();
            let mut inner = shell::parse(&text, env, &args);
            inner.notes.iter_mut().for_each(|n| *n = format!("{file2} {n}"));
            let mut s = from_script(ctx, inner, &file2, origin, env, depth + 1, scripts)?;
            let mut before = pre_start(ctx, &script, i, &at);
            before.append(&mut s.pre_start);
            s.pre_start = before;
            s.notes.extend(script.notes.clone());
            return Some(s);
        }
    };
    strong.pre_start = pre_start(ctx, &script, idx, &at);
    let server_program = script.steps[idx].argv.first().cloned();
    for s in &script.steps[..idx] {
        if s.argv.first() == server_program.as_ref() {
            continue; // the same server in another branch
        }
        if let Some(n) = s.note.as_deref().filter(|n| n.starts_with("only when")) {
            strong.notes.push(format!("{} `{}` left out ({n})", at(s.line), command_line(&s.argv)));
        }
    }
    Some(strong)
}

fn pre_start(ctx: &mut Ctx, script: &Script, idx: usize, at: &dyn Fn(usize) -> String) -> Vec<Fact<String>> {
    script.steps[..idx]
        .iter()
        .filter(|s| !s.note.as_deref().is_some_and(|n| n.starts_with("only when")))
        .map(|s| {
            let argv = normalise(ctx, &s.argv);
            let source = match &s.note {
                Some(n) => format!("{} ({n})", at(s.line)),
                None => at(s.line),
            };
            Fact::new(command_line(&argv), source)
        })
        .collect()
}

/// A command as the image runs it: a program at an absolute path in the project's own image
/// (`/venv/bin/uwsgi`, `/usr/local/bin/gunicorn`) by its name, and absolute file arguments
/// that are project files (`/code/etc/uwsgi.ini`) relative to the project.
fn normalise(ctx: &mut Ctx, argv: &[String]) -> Vec<String> {
    let mut out = argv.to_vec();
    if let Some(first) = out.first_mut()
        && first.starts_with('/')
        && first.contains("/bin/")
        && !first.ends_with("/env")
    {
        *first = first.rsplit('/').next().unwrap_or(first).to_string();
    }
    for a in out.iter_mut().skip(1) {
        if a.starts_with('/')
            && a.contains('.')
            && let Some(p) = project_path(ctx, a)
        {
            *a = p;
        }
    }
    out
}

/// Build steps the project states but pyslim does not apply by default: the Procfile's
/// `release:` line and the project's own Dockerfile `RUN` lines that run project code
/// (`python manage.py collectstatic`, `flask translate compile`), not installs or system setup.
pub fn build_step_candidates(ctx: &mut Ctx, report: &mut ScanReport, docker: Option<&Dockerfile>) {
    if ctx.exists("Procfile")
        && let Some(text) = ctx.read("Procfile")
    {
        for (i, line) in text.lines().enumerate() {
            if let Some(cmd) = line.trim().strip_prefix("release:") {
                report
                    .build_step_candidates
                    .push(Fact::new(cmd.trim().to_string(), format!("Procfile:{} release:", i + 1)));
            }
        }
    }
    let Some(d) = docker else { return };
    for (run, line) in &d.runs {
        for (stmt, ()) in shell::parse(run, &d.env, &[]).steps.iter().map(|s| (s, ())) {
            if runs_project_code(&stmt.argv) {
                let argv = normalise(ctx, &stmt.argv);
                // keep the `VAR=x` settings the line gives the command
                let prefix: Vec<&str> =
                    run.split_whitespace().take_while(|w| w.contains('=') && !w.starts_with('-')).collect();
                let text = if prefix.is_empty() {
                    command_line(&argv)
                } else {
                    format!("{} {}", prefix.join(" "), command_line(&argv))
                };
                report.build_step_candidates.push(Fact::new(text, format!("{}:{line} (RUN)", d.path)));
            }
        }
    }
}

/// Whether a command runs the project's own code (not an install, a linter or system setup).
fn runs_project_code(argv: &[String]) -> bool {
    let Some(first) = argv.first() else { return false };
    let base = first.rsplit('/').next().unwrap_or(first);
    if servers::is_python(base) {
        return match argv.get(1).map(String::as_str) {
            Some("-m") => !matches!(
                argv.get(2).map(String::as_str),
                Some(
                    "pip"
                        | "venv"
                        | "compileall"
                        | "ensurepip"
                        | "pytest"
                        | "flake8"
                        | "black"
                        | "isort"
                        | "mypy"
                        | "ruff"
                )
            ),
            Some("-c") | None => false,
            Some(_) => true,
        };
    }
    matches!(base, "flask" | "django-admin" | "pybabel" | "alembic" | "manage.py")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn project_code_runs() {
        assert!(runs_project_code(&v("python manage.py collectstatic --noinput")));
        assert!(runs_project_code(&v("flask translate compile")));
        assert!(!runs_project_code(&v("python -m pip install -r r.txt")));
        assert!(!runs_project_code(&v("pip install x")));
        assert!(!runs_project_code(&v("apt-get install -y libpq5")));
        assert_eq!(server_of(&v("python blog.py")), Some(AppServer::Python));
        assert_eq!(server_of(&v("gunicorn a:b")), Some(AppServer::Gunicorn));
        assert_eq!(server_of(&v("flask db upgrade")), None);
    }
}
