//! Framework, app target, app server, entrypoint argv and port. Owns how evidence is weighed:
//! a `Procfile` `web:` line and an existing Dockerfile's CMD/ENTRYPOINT are strong (their argv is
//! kept, with `$PORT` resolved and the listen address made `0.0.0.0`); an app object found in code
//! (`app = FastAPI()`, a `create_app()` factory, Django's `WSGI_APPLICATION`) is next; an import
//! is weaker, and a dependency that is listed but never imported is weak evidence and said so.
//! The argv it builds runs from the project root with `source_dir` on `PYTHONPATH`.

use std::sync::LazyLock;

use regex::Regex;

use super::command_line;
use super::deps::Project;
use super::dockerfile::Dockerfile;
use super::files::Ctx;
use super::pycode::{AppObject, Code, Ctor, RunCall, RunKind, is_test_path, is_vendored};
use super::start::{self, server_of};
use super::{AppServer, Fact, Framework, ScanReport};
use crate::servers;

/// Regexes compiled once: listen addresses, identifiers, Django settings, `$PORT`, server configs.
static LISTEN_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(unix:|tcp:)?[\w.\[\]-]*:(\d+|\$\{?PORT.*)$").expect("static regex"));
static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("static regex"));
static DJANGO_APPLICATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*(WSGI_APPLICATION|ASGI_APPLICATION)\s*=\s*['"]([\w.]+)['"]"#).expect("static regex")
});
static PORT_VARIABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{PORT(:?-[^}]*)?\}|\$PORT\b").expect("static regex"));
static PORT_WITH_DEFAULT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\$\{PORT:?-(\d+)\}").expect("static regex"));
static GUNICORN_BIND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^\s*bind\s*=\s*\[?\s*['"][^'"]*:(\d+)['"]"#).expect("static regex"));
static GUNICORN_BIND_LOOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*bind\s*=.*?(\d{2,5})").expect("static regex"));
static UWSGI_LISTEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*(http|http-socket|socket)\s*=\s*\S*:(\d+)").expect("static regex"));

/// The app the entrypoint serves.
#[derive(Clone, Debug)]
struct Target {
    /// `pkg.module:attr`, `pkg:create_app()`, or a script path (Streamlit, Gradio).
    app: String,
    /// For factories: `pkg.module:create_app` (uvicorn `--factory` form).
    factory: Option<String>,
    /// File that defines it (relative to the root).
    file: Option<String>,
    source: String,
}

pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, code: &Code, project: &Project, docker: Option<&Dockerfile>) {
    start::build_step_candidates(ctx, report, docker);
    let mut candidates = start::candidates(ctx, docker, &start::console_scripts(project));
    // A production server the project names beats a development server it also names; the
    // order (Dockerfile, Procfile, other Dockerfiles) decides otherwise.
    candidates.sort_by_key(|s| s.is_development());
    let mut strong = candidates.into_iter().next();
    if let Some(s) = &mut strong {
        let (argv, changes) = servers::production(&s.argv);
        if !changes.is_empty() {
            ctx.warn(format!(
                "{}: `{}` is a development command ({}); the entrypoint uses the production form",
                s.source,
                command_line(&s.argv),
                changes.join(", ")
            ));
            s.argv = argv;
        }
        for n in &s.notes {
            ctx.warn(n.clone());
        }
        report.pre_start = s.pre_start.clone();
    }

    // Framework and target from code (or Django settings, Streamlit/Gradio scripts).
    let found = find_framework(ctx, report, code, project);
    let (mut framework, mut target) = match found {
        Some((f, t)) => (Some(f), t),
        None => (None, None),
    };

    if let Some(s) = &strong {
        let server = server_of(&s.argv);
        // The strong command names the target; the code tells what it is.
        if let Some(t) = strong_target(&s.argv, server) {
            if let Some(fw) = resolve_target(code, report, &t) {
                framework = Some(fw);
            }
            if !(server == Some(AppServer::Python) && t.ends_with(".py") && target.is_some()) {
                target = Some(Target { app: t, factory: None, file: None, source: s.source.clone() });
            }
        }
        if framework.is_none() && server == Some(AppServer::Streamlit) {
            framework = Some(Fact::new(Framework::Streamlit, s.source.clone()));
        }
    }
    // Django's runserver or `flask run` in the project's files loses to a production server
    // the project depends on (its pre-start steps are kept).
    if let (Some(s), Some(f)) = (&strong, framework.as_ref().map(|f| f.value))
        && matches!(servers::identify(&s.argv).map(|r| r.interface), Some(servers::Interface::Own))
        && s.is_development()
        && let Some((sv, why)) = dependency_server(f, project, report)
    {
        ctx.warn(format!(
            "{}: `{}` is a development server; using {} instead ({why})",
            s.source,
            command_line(&s.argv),
            sv.as_str()
        ));
        if target.as_ref().is_some_and(|t| t.source == s.source) {
            target = find_framework(ctx, report, code, project).and_then(|(_, t)| t);
        }
        strong = None;
    }
    if framework.is_none() && target.is_none() && strong.is_none() {
        // A bare ASGI callable (`async def app(scope, receive, send)`) served by uvicorn.
        target = raw_asgi(code, report);
    }
    let generic = framework.is_none() && target.is_none() && strong.is_none();
    if generic {
        target = generic_script(code);
    }
    let generic = generic && target.is_some();
    report.framework = framework.clone();
    if let Some(t) = &target {
        report.app = Some(Fact::new(t.app.clone(), t.source.clone()));
    }

    let fw = framework.as_ref().map(|f| f.value);
    let raw_asgi_target = fw.is_none() && target.is_some() && strong.is_none() && !generic;
    let (server, server_source) = match &strong {
        Some(s) => match server_of(&s.argv) {
            Some(sv) => (Some(sv), s.source.clone()),
            // the project's own console script (`pypi-server run`) starts it
            None => (Some(AppServer::Python), format!("{} (the project's own command)", s.source)),
        },
        None => match fw {
            Some(f) => {
                let (sv, why) = choose_server(ctx, f, project, report, target.as_ref());
                (Some(sv), why)
            }
            None if raw_asgi_target => (Some(AppServer::Uvicorn), dep_source(report, project, "uvicorn")),
            None if generic => (Some(AppServer::Python), "the script starts its own server (a guess)".into()),
            None => (None, String::new()),
        },
    };
    if let Some(sv) = server {
        report.app_server = Some(Fact::new(sv, server_source));
    }

    // Port: the strong command's own, then code, then server config, the Dockerfile's ENV PORT
    // and EXPOSE, then the default.
    let port = strong
        .as_ref()
        .and_then(|s| argv_port(&s.argv).map(|p| Fact::new(p, s.source.clone())))
        .or_else(|| code_port(code, target.as_ref(), fw))
        .or_else(|| config_port(ctx, server, strong.as_ref().map(|s| s.argv.as_slice())))
        .or_else(|| {
            let s = strong.as_ref()?;
            let p = s.env.get("PORT")?.parse::<u16>().ok()?;
            Some(Fact::new(p, format!("{} (ENV PORT={p})", s.origin)))
        })
        .or_else(|| {
            docker.and_then(|d| d.expose.first().map(|(p, l)| Fact::new(*p, format!("{}:{l} (EXPOSE)", d.path))))
        })
        .or_else(|| default_port(fw, server));
    report.port = port.clone();
    let port_num = port.as_ref().map(|p| p.value).unwrap_or(8000);

    let mut port_env: Option<Fact<String>> = None;
    let entry = match &strong {
        Some(s) => {
            let (argv, env) = bind_all(ctx, &s.argv, port_num);
            port_env = env;
            Some(Fact::new(argv, s.source.clone()))
        }
        None => match (fw, server, &target) {
            (Some(f), Some(sv), Some(t)) => {
                let argv = build_argv(f, sv, t, port_num, report);
                Some(Fact::new(argv, format!("{} serving {} from {}", sv.as_str(), t.app, t.source)))
            }
            (None, Some(AppServer::Python), Some(t)) if generic => {
                Some(Fact::new(script_argv(&t.app, report), t.source.clone()))
            }
            (None, Some(sv), Some(t)) if raw_asgi_target => {
                let argv = build_argv(Framework::Starlette, sv, t, port_num, report);
                Some(Fact::new(argv, format!("{} serving {} from {}", sv.as_str(), t.app, t.source)))
            }
            _ => None,
        },
    };
    if entry.is_none() && fw.is_some() {
        ctx.warn("no app object was found, so no entrypoint: pass --entrypoint (e.g. 'uvicorn app:app')");
    }
    if let Some(e) = &entry {
        check_script_binding(ctx, code, &e.value);
        report.extra_requirements = missing_requirements(project, &e.value, &e.source);
    }
    if report.pre_start.is_empty()
        && report.installable
        && let Some(script) = start::console_scripts(project).into_iter().find(|n| is_database_setup(n))
    {
        report.pre_start.push(Fact::new(
            script.clone(),
            format!(
                "pyproject.toml console script `{script}` (sets up the database before serving; a guess from its name)"
            ),
        ));
    }
    report.runtime_env = runtime_env(code, docker, strong.as_ref(), &report.pre_start);
    // a candidate the scan already applies (Django's collectstatic) is not offered twice
    let applied: Vec<String> = report.build_steps.iter().map(|b| b.value.clone()).collect();
    report.build_step_candidates.retain(|c| !applied.iter().any(|a| c.value.ends_with(a.as_str())));
    report.runtime_env.extend(port_env);
    report.entrypoint_alternatives = alternatives(report, fw, port_num, entry.as_ref().map(|e| &e.value));
    report.entrypoint = entry;
    super::env::detect(report, code);
}

/// The project's Dockerfile `ENV` settings that first-party code reads (the port excepted: the
/// entrypoint carries it, or a config file binding `$(PORT)` gets its own fact).
fn runtime_env(
    code: &Code,
    docker: Option<&Dockerfile>,
    strong: Option<&start::Strong>,
    pre_start: &[Fact<String>],
) -> Vec<Fact<String>> {
    // Variables a tool the commands run reads itself (`flask deploy` needs FLASK_APP).
    const TOOL_ENV: &[(&str, &str)] = &[("flask", "FLASK_APP")];
    let runs = |tool: &str| {
        strong.is_some_and(|s| s.argv.first().is_some_and(|a| a == tool))
            || pre_start.iter().any(|p| p.value.split_whitespace().next() == Some(tool))
    };
    let mut env: Vec<(String, String, String)> = Vec::new();
    if let Some(d) = docker {
        env.extend(d.env.iter().map(|(k, v)| (k.clone(), v.clone(), d.path.clone())));
    }
    if let Some(s) = strong {
        for (k, v) in &s.env {
            if !env.iter().any(|(k2, _, _)| k2 == k) {
                env.push((k.clone(), v.clone(), s.origin.clone()));
            }
        }
    }
    let mut out = Vec::new();
    for (k, v, origin) in env {
        if k == "PORT" || v.is_empty() || v.contains('$') {
            continue;
        }
        if let Some((tool, _)) = TOOL_ENV.iter().find(|(t, key)| *key == k && runs(t)) {
            out.push(Fact::new(format!("{k}={v}"), format!("{origin} (ENV {k}), read by `{tool}`")));
            continue;
        }
        let read = code.files.iter().filter(|f| !is_test_path(&f.path) && !is_vendored(&f.path)).find_map(|f| {
            f.env_reads
                .iter()
                .find(|(n, _)| *n == k || n.strip_suffix('*').is_some_and(|p| k.starts_with(p)))
                .map(|(_, l)| format!("{}:{l}", f.path))
        });
        if let Some(at) = read {
            out.push(Fact::new(format!("{k}={v}"), format!("{origin} (ENV {k}), read at {at}")));
        }
    }
    out
}

/// A console script whose name says it creates the database (`init_db`, `create-db`).
fn is_database_setup(name: &str) -> bool {
    let n = name.replace(['-', '_'], "").to_ascii_lowercase();
    matches!(n.as_str(), "initdb" | "createdb" | "setupdb" | "initdatabase" | "createtables")
}

/// Requirements the entrypoint needs that the project does not declare: its server (from the
/// server table) and a gunicorn worker class's package.
fn missing_requirements(project: &Project, argv: &[String], source: &str) -> Vec<Fact<String>> {
    let provided = |package: &str, provided_by: &[String]| {
        let name = package.split('[').next().unwrap_or(package);
        project.has(name)
            || provided_by.iter().any(|p| match p.split_once('[') {
                Some((n, extra)) => project.has_extra(n, extra.trim_end_matches(']')),
                None => project.has(p),
            })
    };
    let mut out = Vec::new();
    let Some(row) = servers::identify(argv) else {
        // a command of the project's own that is told which server to use (`--server gunicorn`)
        for w in argv.windows(2).filter(|w| w[0] == "--server") {
            if let Some(row) = servers::by_name(&w[1]).filter(|r| !provided(&r.package, &r.provided_by)) {
                out.push(Fact::new(
                    row.package.clone(),
                    format!(
                        "the entrypoint ({source}) asks for {} (`--server {}`), which the project does not depend on",
                        row.name, w[1]
                    ),
                ));
            }
        }
        return out;
    };
    if row.interface != servers::Interface::Own && !provided(&row.package, &row.provided_by) {
        out.push(Fact::new(
            row.package.clone(),
            format!("the entrypoint ({source}) runs {}, which the project does not depend on", row.name),
        ));
    }
    if row.interface == servers::Interface::Own
        && row.package != "django"
        && row.package != "flask"
        && !provided(&row.package, &row.provided_by)
    {
        out.push(Fact::new(
            row.package.clone(),
            format!("the entrypoint ({source}) runs `{}`, which the project's dependencies do not bring", row.name),
        ));
    }
    for w in servers::worker_classes() {
        let uses = argv.iter().enumerate().any(|(i, a)| {
            a == &format!("--worker-class={}", w.class_name)
                || (i > 0 && matches!(argv[i - 1].as_str(), "-k" | "--worker-class") && a == &w.class_name)
        });
        if uses && !provided(&w.package, &w.provided_by) {
            out.push(Fact::new(
                w.package.clone(),
                format!(
                    "the entrypoint ({source}) uses gunicorn's {} worker, which the project does not depend on",
                    w.class_name
                ),
            ));
        }
    }
    out
}

/// Servers the project depends on that can serve the detected app, as full commands.
fn alternatives(
    report: &ScanReport,
    fw: Option<Framework>,
    port: u16,
    entry: Option<&Vec<String>>,
) -> Vec<Fact<Vec<String>>> {
    let (Some(app), Some(fw)) = (&report.app, fw) else { return Vec::new() };
    let has = |name: &str| report.dependencies.iter().any(|d| d.name == name);
    let listen = |name: &str| servers::by_name(name).map(|row| servers::listen_args(row, port)).unwrap_or_default();
    let cmd = |head: &[&str], server: &str, tail: &[&str]| -> Vec<String> {
        let head = head.iter().map(|s| s.to_string());
        let tail = tail.iter().map(|s| s.to_string());
        head.chain(listen(server)).chain(tail).collect()
    };
    let a = app.value.as_str();
    let mut out: Vec<(Vec<String>, &str)> = Vec::new();
    match fw {
        Framework::Fastapi | Framework::Starlette | Framework::Litestar | Framework::Quart => {
            if has("uvicorn") {
                out.push((cmd(&["uvicorn", a], "uvicorn", &[]), "ASGI"));
                if has("gunicorn") {
                    out.push((cmd(&["gunicorn", "-k", "uvicorn.workers.UvicornWorker"], "gunicorn", &[a]), "ASGI"));
                }
            }
            if has("hypercorn") || fw == Framework::Quart {
                out.push((cmd(&["hypercorn"], "hypercorn", &[a]), "ASGI"));
            }
            if has("granian") {
                out.push((cmd(&["granian", "--interface", "asgi"], "granian", &[a]), "ASGI"));
            }
        }
        Framework::Flask | Framework::Django | Framework::Falcon | Framework::Bottle if has("gunicorn") => {
            out.push((cmd(&["gunicorn"], "gunicorn", &[a]), "WSGI"));
        }
        _ => {}
    }
    out.into_iter()
        .filter(|(argv, _)| Some(argv) != entry)
        .map(|(argv, kind)| {
            let server = argv[0].clone();
            Fact::new(argv, format!("{kind} app {} + {server} dependency", app.source))
        })
        .collect()
}

// ---------------------------------------------------------------- strong evidence

/// The app argument of a command (`app:app`, `mysite.wsgi:application`, `app.py` for Streamlit).
fn strong_target(argv: &[String], server: Option<AppServer>) -> Option<String> {
    let address = &*LISTEN_ADDRESS;
    if matches!(server, Some(AppServer::Streamlit | AppServer::Python))
        && let Some(p) = argv.iter().find(|a| a.ends_with(".py"))
    {
        return Some(p.clone());
    }
    let mut skip_next = false;
    for a in argv.iter().skip(1) {
        if skip_next {
            skip_next = false;
            if a.contains(':') && !address.is_match(a) && !a.contains('=') {
                // `--module pkg:app` (uwsgi), `--app pkg:create_app()` (flask)
                return Some(a.clone());
            }
            continue;
        }
        if a.starts_with('-') {
            skip_next =
                !a.contains('=') && !matches!(a.as_str(), "--factory" | "--reload" | "--proxy-headers" | "--master");
            if let Some((_, v)) = a.split_once('=')
                && (a.starts_with("--app=") || a.starts_with("--module="))
            {
                return Some(v.to_string());
            }
            continue;
        }
        if a.contains(':') && !address.is_match(a) {
            return Some(a.clone());
        }
    }
    None
}

/// The framework of a `module:attr` target, from the code (or Django's wsgi/asgi module).
fn resolve_target(code: &Code, report: &ScanReport, target: &str) -> Option<Fact<Framework>> {
    let (module, attr) = target.split_once(':')?;
    let attr = attr.trim_end_matches("()");
    let file = module_file(code, report, module)?;
    if let Some(a) = code.apps.iter().find(|a| a.file == file && a.var == attr) {
        return Some(Fact::new(framework_of(a.ctor), format!("{}:{} ({})", a.file, a.line, app_label(a))));
    }
    if let Some(f) = code.factories.iter().find(|f| f.file == file && f.name == attr) {
        return Some(Fact::new(framework_of(f.ctor), format!("{}:{} (def {}())", f.file, f.line, f.name)));
    }
    let pf = code.file(&file)?;
    if pf.imports_top("django").is_some() {
        return Some(Fact::new(Framework::Django, format!("{file} (Django {attr})")));
    }
    None
}

fn module_file(code: &Code, report: &ScanReport, module: &str) -> Option<String> {
    let path = module.replace('.', "/");
    let mut candidates = vec![format!("{path}.py"), format!("{path}/__init__.py")];
    if let Some(sd) = &report.source_dir {
        candidates.insert(0, format!("{sd}/{path}.py"));
        candidates.insert(1, format!("{sd}/{path}/__init__.py"));
    }
    candidates.into_iter().find(|c| code.file(c).is_some())
}

fn framework_of(c: Ctor) -> Framework {
    match c {
        Ctor::FastApi => Framework::Fastapi,
        Ctor::Starlette => Framework::Starlette,
        Ctor::Litestar => Framework::Litestar,
        Ctor::Flask => Framework::Flask,
        Ctor::Gradio => Framework::Gradio,
        Ctor::Quart => Framework::Quart,
        Ctor::Sanic => Framework::Sanic,
        Ctor::Falcon => Framework::Falcon,
        Ctor::Bottle => Framework::Bottle,
        Ctor::Dash => Framework::Dash,
        Ctor::Aiohttp => Framework::Aiohttp,
        Ctor::Tornado => Framework::Tornado,
    }
}

// ---------------------------------------------------------------- framework from code

/// Module path of a file, importable from the root with `source_dir` on sys.path.
fn module_of(file: &str, source_dir: Option<&str>) -> Option<String> {
    let mut rel = file;
    if let Some(sd) = source_dir
        && let Some(r) = file.strip_prefix(&format!("{sd}/"))
    {
        rel = r;
    }
    let rel = rel.strip_suffix(".py")?;
    let rel = rel.strip_suffix("/__init__").unwrap_or(rel);
    let ident = &*IDENTIFIER;
    let parts: Vec<&str> = rel.split('/').collect();
    parts.iter().all(|p| ident.is_match(p)).then(|| parts.join("."))
}

/// `FastAPI()`, or `create_app()` for an app a factory built.
fn app_label(a: &AppObject) -> String {
    match &a.via {
        Some(f) => format!("{f}()"),
        None => a.ctor.label().to_string(),
    }
}

fn score(a: &AppObject, code: &Code) -> i64 {
    let name = a.file.rsplit('/').next().unwrap_or(&a.file);
    let mut s: i64 = 0;
    if a.module_level {
        s += 100;
    }
    if ["app.py", "main.py", "server.py", "api.py", "asgi.py", "wsgi.py", "application.py", "__init__.py", "web.py"]
        .contains(&name)
    {
        s += 20;
    }
    if a.var == "app" || a.var == "application" {
        s += 10;
    }
    if code.runs.iter().any(|r| r.file == a.file && r.target.as_deref() == Some(a.var.as_str())) {
        s += 15;
    }
    s - 5 * a.file.matches('/').count() as i64
}

fn find_framework(
    ctx: &mut Ctx,
    report: &mut ScanReport,
    code: &Code,
    project: &Project,
) -> Option<(Fact<Framework>, Option<Target>)> {
    let sd = report.source_dir.clone();
    // 1. Web app objects (FastAPI(), Flask(), ...), module level first.
    let mut apps: Vec<&AppObject> = code
        .apps
        .iter()
        .filter(|a| !a.ctor.serves_itself() && !is_test_path(&a.file) && !is_vendored(&a.file) && a.module_level)
        .filter(|a| declared(project, a.ctor))
        .collect();
    apps.sort_by_key(|a| -score(a, code));
    if let Some(a) = apps.first()
        && let Some(m) = module_of(&a.file, sd.as_deref())
    {
        let source = format!("{}:{} ({})", a.file, a.line, app_label(a));
        return Some((
            Fact::new(framework_of(a.ctor), source.clone()),
            Some(Target { app: format!("{m}:{}", a.var), factory: None, file: Some(a.file.clone()), source }),
        ));
    }
    // 2. Factories: `def create_app(): ... Flask(__name__)`.
    let mut facts: Vec<_> = code
        .factories
        .iter()
        .filter(|f| !f.ctor.serves_itself() && !is_test_path(&f.file) && !is_vendored(&f.file))
        .filter(|f| declared(project, f.ctor))
        .collect();
    facts.sort_by_key(|f| {
        let pref = if ["create_app", "make_app", "get_app", "app_factory"].contains(&f.name.as_str()) { 0 } else { 1 };
        (pref, f.file.matches('/').count(), f.file.clone())
    });
    if let Some(f) = facts.first()
        && let Some(m) = module_of(&f.file, sd.as_deref())
    {
        let source = format!("{}:{} (def {}() builds {})", f.file, f.line, f.name, f.ctor.label());
        return Some((
            Fact::new(framework_of(f.ctor), source.clone()),
            Some(Target {
                app: format!("{m}:{}()", f.name),
                factory: Some(format!("{m}:{}", f.name)),
                file: Some(f.file.clone()),
                source,
            }),
        ));
    }
    // 3. uvicorn.run("module:app") naming a target we could not see being built.
    if let Some(r) =
        code.runs.iter().find(|r| r.kind == RunKind::Uvicorn && r.target_is_string && !is_test_path(&r.file))
        && let Some(t) = &r.target
    {
        let source = format!("{}:{} (uvicorn.run(\"{t}\"))", r.file, r.line);
        let fw = resolve_target(code, report, t).map(|f| f.value).unwrap_or(Framework::Fastapi);
        return Some((
            Fact::new(fw, source.clone()),
            Some(Target { app: t.clone(), factory: None, file: Some(r.file.clone()), source }),
        ));
    }
    // 3b. A script that starts its own server (aiohttp `web.run_app`, tornado `listen`, NiceGUI
    //     `ui.run`, Dash `app.run`): the framework of what it imports.
    if let Some(found) = script_framework(code, project) {
        return Some(found);
    }
    // 4. Django.
    if let Some(found) = django(ctx, report, code, project) {
        return Some(found);
    }
    // 5. Gradio: a Blocks/Interface that is launched.
    let mut gradio: Vec<&AppObject> =
        code.apps.iter().filter(|a| a.ctor == Ctor::Gradio && !is_test_path(&a.file)).collect();
    gradio.sort_by_key(|a| {
        let launched = code.runs.iter().any(|r| r.kind == RunKind::Launch && r.file == a.file);
        (!launched, a.file.matches('/').count(), a.file.clone())
    });
    if let Some(a) = gradio.first() {
        let source = format!("{}:{} (gradio {}, launch())", a.file, a.line, a.var);
        return Some((
            Fact::new(Framework::Gradio, source.clone()),
            Some(Target { app: a.file.clone(), factory: None, file: Some(a.file.clone()), source }),
        ));
    }
    // 6. Streamlit: a script that imports streamlit.
    let mut st: Vec<(&str, usize)> = code
        .files
        .iter()
        .filter(|f| !is_test_path(&f.path) && !f.path.contains("pages/"))
        .filter_map(|f| f.imports_top("streamlit").map(|l| (f.path.as_str(), l)))
        .collect();
    st.sort_by_key(|(p, _)| {
        let name = p.rsplit('/').next().unwrap_or(p);
        let pref = ["streamlit_app.py", "app.py", "main.py", "Home.py", "Hello.py"]
            .iter()
            .position(|n| *n == name)
            .unwrap_or(9);
        (p.matches('/').count(), pref, p.to_string())
    });
    if let Some((p, l)) = st.first() {
        let source = format!("{p}:{l} (import streamlit)");
        return Some((
            Fact::new(Framework::Streamlit, source.clone()),
            Some(Target { app: p.to_string(), factory: None, file: Some(p.to_string()), source }),
        ));
    }
    // 7. Imports only, then dependencies only (weak).
    let order = [
        ("fastapi", Framework::Fastapi),
        ("litestar", Framework::Litestar),
        ("starlette", Framework::Starlette),
        ("flask", Framework::Flask),
        ("django", Framework::Django),
        ("streamlit", Framework::Streamlit),
        ("gradio", Framework::Gradio),
    ];
    // Only first-party code counts, and only for a framework the project declares (any, when
    // it declares nothing): a vendored copy of bottle that mentions django is not Django.
    for (pkg, fw) in order {
        if let Some((file, line)) = code.first_import(pkg)
            && !is_test_path(file)
            && !is_vendored(file)
            && (project.has(pkg) || report.dependencies.is_empty())
        {
            return Some((Fact::new(fw, format!("{file}:{line} (import {pkg}; no app object found)")), None));
        }
    }
    for (pkg, fw) in order {
        if let Some(d) = report.dependencies.iter().find(|d| d.name == pkg) {
            return Some((Fact::new(fw, format!("{} ({pkg} listed, never imported: weak evidence)", d.source)), None));
        }
    }
    None
}

/// Whether the framework of an app constructor is a declared dependency (always, when the
/// project declares none). Checked for the frameworks pyslim learned from the wild, whose
/// constructors (`Application()`, `App()`, `Bottle()`) also appear in vendored copies.
fn declared(project: &Project, c: Ctor) -> bool {
    let fw = framework_of(c);
    let older = matches!(
        fw,
        Framework::Fastapi | Framework::Starlette | Framework::Litestar | Framework::Flask | Framework::Gradio
    );
    older || project.runtime_is_empty() || project.has(fw.package())
}

/// Frameworks whose app a script starts itself, by the package the script imports.
const SCRIPT_FRAMEWORKS: &[(&str, Framework)] = &[
    ("aiohttp", Framework::Aiohttp),
    ("tornado", Framework::Tornado),
    ("nicegui", Framework::Nicegui),
    ("dash", Framework::Dash),
    ("bottle", Framework::Bottle),
    ("sanic", Framework::Sanic),
];

/// A first-party script that starts a server of a framework it imports (`python main.py`).
fn script_framework(code: &Code, project: &Project) -> Option<(Fact<Framework>, Option<Target>)> {
    let mut hits: Vec<(&RunCall, Framework)> = Vec::new();
    for r in code.runs.iter().filter(|r| !is_test_path(&r.file) && !is_vendored(&r.file)) {
        let Some(f) = code.file(&r.file) else { continue };
        let fw = SCRIPT_FRAMEWORKS.iter().find(|(pkg, _)| f.imports_top(pkg).is_some()).map(|(_, fw)| *fw);
        let Some(fw) = fw else { continue };
        let own =
            r.kind == RunKind::Own || (r.kind == RunKind::AppRun && matches!(fw, Framework::Dash | Framework::Bottle));
        if own && (project.has(fw.package()) || project.runtime_is_empty()) {
            hits.push((r, fw));
        }
    }
    hits.sort_by_key(|(r, _)| {
        let guarded = code.file(&r.file).is_some_and(|f| f.main_guard);
        (!guarded, r.file.matches('/').count(), r.file.clone())
    });
    let (r, fw) = hits.first()?;
    let source = format!("{}:{} ({}() starts the server)", r.file, r.line, r.callee);
    Some((
        Fact::new(*fw, source.clone()),
        Some(Target { app: r.file.clone(), factory: None, file: Some(r.file.clone()), source }),
    ))
}

/// Any first-party script that starts a server itself, when nothing else names one: a guess.
fn generic_script(code: &Code) -> Option<Target> {
    let mut runs: Vec<&RunCall> = code
        .runs
        .iter()
        .filter(|r| !is_test_path(&r.file) && !is_vendored(&r.file))
        .filter(|r| matches!(r.kind, RunKind::Own | RunKind::Uvicorn))
        .filter(|r| code.file(&r.file).is_some_and(|f| f.main_guard))
        .collect();
    runs.sort_by_key(|r| (r.file.matches('/').count(), r.file.clone()));
    let r = runs.first()?;
    Some(Target {
        app: r.file.clone(),
        factory: None,
        file: Some(r.file.clone()),
        source: format!("{}:{} ({}(): a guess, the script seems to start its own server)", r.file, r.line, r.callee),
    })
}

/// A module-level `async def app(scope, receive, send)` when uvicorn is a dependency.
fn raw_asgi(code: &Code, report: &ScanReport) -> Option<Target> {
    if !report.dependencies.iter().any(|d| d.name == "uvicorn") {
        return None;
    }
    let mut found: Vec<&(String, String, usize)> =
        code.asgi_callables.iter().filter(|(f, _, _)| !is_test_path(f)).collect();
    found.sort_by_key(|(f, n, _)| (n != "app" && n != "application", f.matches('/').count(), f.clone()));
    let (file, name, line) = found.first()?;
    let m = module_of(file, report.source_dir.as_deref())?;
    Some(Target {
        app: format!("{m}:{name}"),
        factory: None,
        file: Some(file.clone()),
        source: format!("{file}:{line} (ASGI callable {name}(scope, receive, send))"),
    })
}

fn django(
    ctx: &mut Ctx,
    report: &mut ScanReport,
    code: &Code,
    project: &Project,
) -> Option<(Fact<Framework>, Option<Target>)> {
    let mut manages: Vec<&str> = code
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| (*p == "manage.py" || p.ends_with("/manage.py")) && p.matches('/').count() <= 2)
        .collect();
    manages.sort_by_key(|p| p.matches('/').count());
    let manage = *manages.first()?;
    let mf = code.file(manage)?;
    if mf.imports_top("django").is_none() && !project.has("django") {
        return None;
    }
    let mdir = manage.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
    if !mdir.is_empty() && report.source_dir.is_none() {
        // manage.py puts its own folder on sys.path; a server started from the root needs it too.
        report.source_dir = Some(mdir.clone());
    }
    let framework = Fact::new(Framework::Django, format!("{manage} (Django)"));
    let settings =
        mf.env_defaults.iter().find(|(k, _, _)| k == "DJANGO_SETTINGS_MODULE").map(|(_, v, _)| v.clone()).or_else(
            || {
                code.files.iter().find(|f| f.path.ends_with("/settings.py") && !is_test_path(&f.path)).and_then(|f| {
                    let rel = f.path.strip_prefix(&format!("{mdir}/")).unwrap_or(&f.path);
                    module_of(rel, None)
                })
            },
        )?;
    let prefix = if mdir.is_empty() { String::new() } else { format!("{mdir}/") };
    super::django::detect(ctx, report, code, manage, &settings, &prefix);
    let base = format!("{prefix}{}", settings.replace('.', "/"));
    let files = [
        format!("{base}.py"),
        format!("{base}/__init__.py"),
        format!("{base}/base.py"),
        format!("{base}/production.py"),
        format!("{base}/prod.py"),
        format!("{base}/common.py"),
    ];
    let re = &*DJANGO_APPLICATION;
    let mut wsgi: Option<(String, String)> = None;
    let mut asgi: Option<(String, String)> = None;
    for f in &files {
        if !ctx.is_file(f) {
            continue;
        }
        let Some(text) = ctx.read(f) else { continue };
        for c in re.captures_iter(&text) {
            let line = super::files::line_of(&text, c.get(0).map(|m| m.start()).unwrap_or(0));
            let value = c[2].to_string();
            let target = match value.rsplit_once('.') {
                Some((m, a)) => format!("{m}:{a}"),
                None => continue,
            };
            let src = format!("{f}:{line} ({} = \"{value}\")", &c[1]);
            if &c[1] == "WSGI_APPLICATION" {
                wsgi.get_or_insert((target, src));
            } else {
                asgi.get_or_insert((target, src));
            }
        }
    }
    let pkg = settings.rsplit_once('.').map(|(p, _)| p.to_string()).unwrap_or(settings.clone());
    if wsgi.is_none() && ctx.is_file(&format!("{prefix}{}/wsgi.py", pkg.replace('.', "/"))) {
        wsgi = Some((format!("{pkg}.wsgi:application"), format!("{prefix}{}/wsgi.py", pkg.replace('.', "/"))));
    }
    let asgi_server =
        project.has("uvicorn") || project.has("daphne") || project.has("hypercorn") || project.has("granian");
    let chosen = match (wsgi, asgi) {
        (_, Some(a)) if asgi_server && (!project.has("gunicorn") || project.has("channels")) => Some(a),
        (Some(w), _) => Some(w),
        (None, Some(a)) => Some(a),
        (None, None) => None,
    };
    let target = chosen.map(|(app, source)| Target { app, factory: None, file: None, source });
    Some((framework, target))
}

// ---------------------------------------------------------------- server and argv

fn is_asgi(f: Framework) -> bool {
    f.is_asgi()
}

fn dep_source(report: &ScanReport, project: &Project, name: &str) -> String {
    match report.dependencies.iter().find(|d| d.name == name) {
        Some(d) => format!("{} ({})", d.source, d.requirement),
        None => format!("{name} in {}", project.lock.as_ref().map(|l| l.file.as_str()).unwrap_or("the dependencies")),
    }
}

/// The production server the project depends on that can serve a framework's app, with why.
fn dependency_server(f: Framework, project: &Project, report: &ScanReport) -> Option<(AppServer, String)> {
    let asgi_django = f == Framework::Django
        && report.app.as_ref().is_some_and(|a| a.value.contains(".asgi:") || a.source.contains("ASGI_APPLICATION"));
    let order: &[(&str, AppServer)] = match f {
        Framework::Django if asgi_django => &[
            ("uvicorn", AppServer::Uvicorn),
            ("daphne", AppServer::Daphne),
            ("hypercorn", AppServer::Hypercorn),
            ("granian", AppServer::Granian),
            ("gunicorn", AppServer::Gunicorn),
        ],
        Framework::Django => &[
            ("gunicorn", AppServer::Gunicorn),
            ("uwsgi", AppServer::Uwsgi),
            ("granian", AppServer::Granian),
            ("uvicorn", AppServer::Uvicorn),
            ("waitress", AppServer::Waitress),
        ],
        Framework::Flask | Framework::Falcon | Framework::Bottle => &[
            ("gunicorn", AppServer::Gunicorn),
            ("uwsgi", AppServer::Uwsgi),
            ("granian", AppServer::Granian),
            ("waitress", AppServer::Waitress),
        ],
        Framework::Fastapi | Framework::Starlette | Framework::Litestar | Framework::Quart => &[
            ("uvicorn", AppServer::Uvicorn),
            ("hypercorn", AppServer::Hypercorn),
            ("granian", AppServer::Granian),
            ("daphne", AppServer::Daphne),
        ],
        _ => &[],
    };
    for (n, sv) in order {
        if project.has(n) {
            return Some((*sv, dep_source(report, project, n)));
        }
        // `fastapi[standard]` brings uvicorn; Quart depends on hypercorn
        if let Some(row) = servers::by_name(n)
            && let Some(p) = row.provided_by.iter().find(|p| match p.split_once('[') {
                Some((name, extra)) => project.has_extra(name, extra.trim_end_matches(']')),
                None => project.has(p),
            })
        {
            let name = p.split('[').next().unwrap_or(p);
            return Some((*sv, format!("{} brings {n}", dep_source(report, project, name))));
        }
    }
    None
}

fn choose_server(
    ctx: &mut Ctx,
    f: Framework,
    project: &Project,
    report: &ScanReport,
    target: Option<&Target>,
) -> (AppServer, String) {
    match f {
        Framework::Streamlit => return (AppServer::Streamlit, "streamlit runs its own server".into()),
        Framework::Gradio => return (AppServer::Python, "gradio's launch() starts the server".into()),
        Framework::Sanic => return (AppServer::Sanic, dep_source(report, project, "sanic")),
        _ => {}
    }
    if let Some(t) = target.filter(|t| t.app.ends_with(".py")) {
        return (AppServer::Python, format!("{} starts its own server", t.source));
    }
    if let Some(found) = dependency_server(f, project, report) {
        return found;
    }
    match f {
        Framework::Django => {
            ctx.warn(
                "no production server (gunicorn, uWSGI, uvicorn, ...) among the dependencies: using Django's runserver, \
                 which is for development only; gunicorn can be added (to the dependencies, or the image's extra requirements)",
            );
            (AppServer::Python, "manage.py runserver (no server dependency)".into())
        }
        Framework::Flask | Framework::Falcon | Framework::Bottle => {
            ctx.warn(format!(
                "no WSGI server (gunicorn, uWSGI, waitress) among the dependencies: the image adds gunicorn to serve the {} app",
                f.as_str()
            ));
            (
                AppServer::Gunicorn,
                format!("assumed: no WSGI server dependency, gunicorn added for the {} app", f.as_str()),
            )
        }
        _ => {
            ctx.warn(format!(
                "no ASGI server among the dependencies: the image adds uvicorn to serve the {} app (or add {}[standard] or uvicorn)",
                f.as_str(),
                f.as_str()
            ));
            (
                AppServer::Uvicorn,
                format!("assumed: no ASGI server dependency, uvicorn added for the {} app", f.as_str()),
            )
        }
    }
}

/// The argv that serves a target: the server's own arguments, with the listen flags its row in
/// `assets/servers.toml` gives (`servers::listen_args`), placed where that server reads them.
fn build_argv(f: Framework, sv: AppServer, t: &Target, port: u16, report: &ScanReport) -> Vec<String> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let listen = |name: &str| servers::by_name(name).map(|row| servers::listen_args(row, port)).unwrap_or_default();
    let join = |a: Vec<String>, b: Vec<String>, c: Vec<String>| a.into_iter().chain(b).chain(c).collect::<Vec<_>>();
    match (sv, f) {
        (AppServer::Streamlit, _) => join(v(&["streamlit", "run", &t.app]), listen("streamlit"), vec![]),
        (AppServer::Python, _) if t.app.ends_with(".py") => script_argv(&t.app, report),
        (AppServer::Python, Framework::Django) => {
            let manage = match &report.source_dir {
                Some(sd) if !sd.is_empty() => format!("{sd}/manage.py"),
                _ => "manage.py".into(),
            };
            join(v(&["python", &manage, "runserver"]), listen("Django runserver"), vec![])
        }
        (AppServer::Python, Framework::Flask) => {
            join(v(&["flask", "--app", &t.app, "run"]), listen("flask run"), vec![])
        }
        (AppServer::Python, _) => v(&["python", &t.app]),
        (AppServer::Waitress, _) => join(v(&["waitress-serve"]), listen("waitress"), vec![t.app.clone()]),
        (AppServer::Sanic, _) => join(v(&["sanic", &t.app]), listen("sanic"), vec![]),
        (AppServer::Uvicorn, _) => match &t.factory {
            Some(fac) => join(v(&["uvicorn", fac, "--factory"]), listen("uvicorn"), vec![]),
            None => join(v(&["uvicorn", &t.app]), listen("uvicorn"), vec![]),
        },
        (AppServer::Gunicorn, f) if is_asgi(f) => {
            join(v(&["gunicorn", "-k", "uvicorn.workers.UvicornWorker"]), listen("gunicorn"), vec![t.app.clone()])
        }
        (AppServer::Gunicorn, _) => join(v(&["gunicorn"]), listen("gunicorn"), vec![t.app.clone()]),
        (AppServer::Hypercorn, _) => join(v(&["hypercorn"]), listen("hypercorn"), vec![t.app.clone()]),
        (AppServer::Granian, f) => {
            let iface = if is_asgi(f) || t.app.contains(".asgi:") { "asgi" } else { "wsgi" };
            let app = match &t.factory {
                Some(fac) => v(&["--factory", fac]),
                None => vec![t.app.clone()],
            };
            join(v(&["granian", "--interface", iface]), listen("granian"), app)
        }
        (AppServer::Daphne, _) => join(v(&["daphne"]), listen("daphne"), vec![t.app.clone()]),
        (AppServer::Uwsgi, _) => join(v(&["uwsgi"]), listen("uwsgi"), v(&["--master", "--module", &t.app])),
    }
}

/// `python script.py`, or `python -m pkg.script` when the script sits in a package and imports
/// it by its package name (run from the root, the package is importable without installing).
fn script_argv(script: &str, report: &ScanReport) -> Vec<String> {
    if let Some((dir, _)) = script.rsplit_once('/')
        && report.root.join(dir).join("__init__.py").is_file()
        && let Some(m) = module_of(script, report.source_dir.as_deref())
    {
        let m = m.strip_suffix(".__main__").map(str::to_string).unwrap_or(m);
        return vec!["python".into(), "-m".into(), m];
    }
    vec!["python".into(), script.to_string()]
}

/// Makes a strong command listen on 0.0.0.0 at `port` (resolving `$PORT`), with its own
/// server's flags (`assets/servers.toml`); a command of an unknown program is kept as it is.
fn bind_all(ctx: &mut Ctx, argv: &[String], port: u16) -> (Vec<String>, Option<Fact<String>>) {
    let p = port.to_string();
    let port_re = &*PORT_VARIABLE;
    let out: Vec<String> = argv.iter().map(|a| port_re.replace_all(a, p.as_str()).into_owned()).collect();
    let Some(row) = servers::identify(&out) else { return (out, None) };
    // a config file that binds `:$(PORT)`: the image must set PORT
    let port_file = row.ini_port_variable.as_deref().and_then(|var| {
        config_files(&out).into_iter().find_map(|f| {
            let text = if ctx.is_file(&f) { ctx.read(&f)? } else { return None };
            let at = text.find(var)?;
            Some(Fact::new(
                format!("PORT={port}"),
                format!("{f}:{} (binds {var}, read from the environment)", super::files::line_of(&text, at)),
            ))
        })
    });
    let listen = servers::listen_on(&out, row, port, port_file.is_some());
    if listen.was_local {
        ctx.warn(format!(
            "`{}` listens on localhost only, unreachable from outside a container; the entrypoint binds 0.0.0.0 instead",
            out.join(" ")
        ));
    }
    (listen.argv, port_file)
}

/// Config files an argv names (`uwsgi etc/uwsgi.ini`, `--ini x.ini`, `-c gunicorn.conf.py`).
fn config_files(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in argv.iter().enumerate().skip(1) {
        let prev = argv[i - 1].as_str();
        if a.ends_with(".ini") || matches!(prev, "-c" | "--config" | "--ini") {
            out.push(a.trim_start_matches("./").to_string());
        } else if let Some(v) = a.strip_prefix("--ini=").or_else(|| a.strip_prefix("--config=")) {
            out.push(v.trim_start_matches("./").to_string());
        }
    }
    out
}

/// Warns when a `python script.py` entrypoint starts a server that listens on localhost only.
fn check_script_binding(ctx: &mut Ctx, code: &Code, argv: &[String]) {
    if !argv.first().is_some_and(|a| a.starts_with("python")) {
        return;
    }
    let Some(script) = argv.get(1).filter(|s| s.ends_with(".py")) else { return };
    for r in code.runs.iter().filter(|r| &r.file == script) {
        let host = r.host.as_deref();
        let local = matches!(host, None | Some("127.0.0.1") | Some("localhost"));
        if !local {
            continue;
        }
        match r.kind {
            RunKind::Launch => ctx.warn(format!(
                "{}:{}: launch() listens on 127.0.0.1 unless told otherwise: pass server_name=\"0.0.0.0\" or set GRADIO_SERVER_NAME=0.0.0.0 in the image",
                r.file, r.line
            )),
            // aiohttp, NiceGUI, tornado and waitress listen on every interface by default
            RunKind::Own if host.is_none() && !r.callee.ends_with("bottle.run") && r.callee != "run" => {}
            RunKind::AppRun | RunKind::Uvicorn | RunKind::Own => ctx.warn(format!(
                "{}:{}: the server listens on {} only: pass host=\"0.0.0.0\" so the container can be reached",
                r.file,
                r.line,
                host.unwrap_or("127.0.0.1")
            )),
        }
    }
}

// ---------------------------------------------------------------- port

/// An explicit port in a command (`--port 8080`, `-b 0.0.0.0:8080`, `${PORT:-5000}`), read with
/// its server's own flags.
fn argv_port(argv: &[String]) -> Option<u16> {
    let default_re = &*PORT_WITH_DEFAULT;
    let argv: Vec<String> = argv.iter().map(|a| default_re.replace_all(a, "$1").into_owned()).collect();
    if servers::identify(&argv).is_some() {
        return servers::port_of(&argv);
    }
    // a program the table does not know (the project's own console script): the usual flags
    argv.windows(2).find(|w| matches!(w[0].as_str(), "--port" | "-p")).and_then(|w| w[1].parse::<u16>().ok())
}

fn code_port(code: &Code, target: Option<&Target>, fw: Option<Framework>) -> Option<Fact<u16>> {
    let file = target.and_then(|t| t.file.clone());
    // `app.listen(options.port)` with `define("port", default=8888)` (tornado.options)
    let option = |r: &RunCall| code.file(&r.file).and_then(|f| f.port_option);
    let owned: Vec<RunCall> = code
        .runs
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.port.is_none() && r.kind == RunKind::Own {
                r.port = option(&r).map(|(p, _)| p);
            }
            r
        })
        .collect();
    let code_runs = &owned;
    let mut runs: Vec<_> =
        code_runs.iter().filter(|r| r.port.is_some() && !is_test_path(&r.file) && !is_vendored(&r.file)).collect();
    // A Flask app.run() is only about Flask; launch() only about Gradio.
    runs.retain(|r| match r.kind {
        RunKind::Uvicorn => true,
        RunKind::AppRun => {
            matches!(fw, Some(Framework::Flask) | None)
                || code.apps.iter().any(|a| a.file == r.file && Some(a.var.as_str()) == r.target.as_deref())
        }
        RunKind::Launch => matches!(fw, Some(Framework::Gradio) | None),
        RunKind::Own => true,
    });
    runs.sort_by_key(|r| (file.as_deref() != Some(r.file.as_str()), r.file.matches('/').count()));
    let r = runs.first()?;
    let what = match r.kind {
        RunKind::Uvicorn => "uvicorn.run",
        RunKind::AppRun => "app.run",
        RunKind::Launch => "launch",
        RunKind::Own => r.callee.as_str(),
    };
    let port = r.port?;
    let kw = if r.kind == RunKind::Launch { "server_port" } else { "port" };
    Some(Fact::new(port, format!("{}:{} ({what}({kw}={port}))", r.file, r.line)))
}

fn config_port(ctx: &mut Ctx, server: Option<AppServer>, argv: Option<&[String]>) -> Option<Fact<u16>> {
    let named = argv.map(config_files).unwrap_or_default();
    match server? {
        AppServer::Gunicorn => {
            let known = ["gunicorn.conf.py", "gunicorn_config.py", "gunicorn.config.py", "config/gunicorn.conf.py"];
            for f in named.iter().map(String::as_str).chain(known) {
                if !ctx.is_file(f) {
                    continue;
                }
                let text = ctx.read(f)?;
                let re = &*GUNICORN_BIND;
                if let Some(c) = re.captures(&text)
                    && let Ok(p) = c[1].parse::<u16>()
                {
                    let line = super::files::line_of(&text, c.get(0).map(|m| m.start()).unwrap_or(0));
                    return Some(Fact::new(p, format!("{f}:{line} (bind)")));
                }
                // `bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"` and similar.
                let re = &*GUNICORN_BIND_LOOSE;
                if let Some(c) = re.captures(&text)
                    && let Ok(p) = c[1].parse::<u16>()
                {
                    let line = super::files::line_of(&text, c.get(0).map(|m| m.start()).unwrap_or(0));
                    return Some(Fact::new(p, format!("{f}:{line} (bind default)")));
                }
            }
            None
        }
        AppServer::Uwsgi => {
            for f in named.iter().map(String::as_str).chain(["uwsgi.ini", "app.ini", "wsgi.ini"]) {
                if !ctx.is_file(f) {
                    continue;
                }
                let text = ctx.read(f)?;
                let re = &*UWSGI_LISTEN;
                if let Some(c) = re.captures(&text)
                    && let Ok(p) = c[2].parse::<u16>()
                {
                    let line = super::files::line_of(&text, c.get(0).map(|m| m.start()).unwrap_or(0));
                    return Some(Fact::new(p, format!("{f}:{line} ({})", &c[1])));
                }
            }
            None
        }
        _ => None,
    }
}

fn default_port(fw: Option<Framework>, server: Option<AppServer>) -> Option<Fact<u16>> {
    let Some(fw) = fw else {
        return server.map(|sv| Fact::new(8000, format!("{} default", sv.as_str())));
    };
    let (p, who) = match (fw, server) {
        (Framework::Streamlit, _) => (8501, "streamlit"),
        (Framework::Gradio, _) => (7860, "gradio"),
        (Framework::Aiohttp, _) => (8080, "aiohttp web.run_app"),
        (Framework::Nicegui, _) => (8080, "nicegui ui.run"),
        (Framework::Bottle, Some(AppServer::Python)) => (8080, "bottle run"),
        (Framework::Dash, _) => (8050, "dash"),
        (Framework::Flask, Some(AppServer::Python) | None) => (5000, "flask"),
        (Framework::Django, Some(AppServer::Python) | None) => (8000, "django"),
        (_, Some(sv)) => (8000, sv.as_str()),
        (f, None) => (8000, f.as_str()),
    };
    Some(Fact::new(p, format!("{who} default")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn commands_and_targets() {
        assert_eq!(server_of(&a("python -m uvicorn x:y")), Some(AppServer::Uvicorn));
        assert_eq!(server_of(&a("python manage.py runserver")), Some(AppServer::Python));
        assert_eq!(server_of(&a("./start.sh")), None);
        let g = a("gunicorn -w 2 -b 0.0.0.0:$PORT pkg:create_app()");
        assert_eq!(strong_target(&g, Some(AppServer::Gunicorn)).as_deref(), Some("pkg:create_app()"));
        assert_eq!(
            strong_target(&a("uwsgi --http :8000 --module mysite.wsgi:application"), Some(AppServer::Uwsgi)).as_deref(),
            Some("mysite.wsgi:application")
        );
        assert_eq!(strong_target(&a("streamlit run app.py"), Some(AppServer::Streamlit)).as_deref(), Some("app.py"));
        assert_eq!(argv_port(&a("gunicorn -b 0.0.0.0:${PORT:-5000} x:y")), Some(5000));
        assert_eq!(argv_port(&a("gunicorn -b 0.0.0.0:$PORT x:y")), None);
        assert_eq!(argv_port(&a("uvicorn x:y --port=9000")), Some(9000));
        assert_eq!(module_of("src/svc/main.py", Some("src")).as_deref(), Some("svc.main"));
        assert_eq!(module_of("pkg/__init__.py", None).as_deref(), Some("pkg"));
        assert_eq!(module_of("my-app/main.py", None), None);
    }

    #[test]
    fn binding_is_made_public() {
        let mut ctx = Ctx::new(std::env::temp_dir());
        assert_eq!(
            bind_all(&mut ctx, &a("uvicorn app:app --host 127.0.0.1 --port $PORT"), 8000).0,
            a("uvicorn app:app --host 0.0.0.0 --port 8000")
        );
        assert_eq!(bind_all(&mut ctx, &a("gunicorn app:app"), 8000).0, a("gunicorn -b 0.0.0.0:8000 app:app"));
        assert_eq!(
            bind_all(&mut ctx, &a("python manage.py runserver"), 8000).0,
            a("python manage.py runserver 0.0.0.0:8000")
        );
        assert!(ctx.into_warnings()[0].contains("localhost only"));
    }
}
