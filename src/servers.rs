//! The server table (`assets/servers.toml`, embedded): how each server or framework CLI that can
//! start a Python web service takes its listen address, port and workers, which flags are for
//! development only, and which package provides it.
//!
//! Owns: recognising the server an argv starts ([`identify`]), and every rewrite of an argv's
//! listen address and port ([`listen_on`], [`with_port`], [`port_of`], [`production`]), so a
//! server is only ever handed its own flags. It does not decide which server a project should
//! use: that is `scan` (and the user, through `plan`).

use std::sync::OnceLock;

use serde::Deserialize;

const SERVERS_TOML: &str = include_str!("../assets/servers.toml");

/// What a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    Asgi,
    Wsgi,
    /// The command serves one framework's app itself (streamlit, `flask run`, `runserver`).
    Own,
}

/// Where listen flags that an argv lacks are added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddAt {
    /// Right after the program (and its subcommand): before a positional app argument.
    Start,
    #[default]
    End,
}

/// One row of `assets/servers.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: String,
    /// JSON name of the scan's `AppServer` this command counts as.
    pub app_server: String,
    pub program: String,
    #[serde(default)]
    pub script: Option<String>,
    #[serde(default)]
    pub subcommand: Option<String>,
    #[serde(default)]
    pub module: Option<String>,
    /// The first release whose distribution has `MODULE/__main__.py`: an older pin has no
    /// `python -m MODULE` (gunicorn before 20.1.0), so the console script starts it.
    #[serde(default)]
    pub module_since: Option<String>,
    /// The distribution `module_since` is a release of, when not `package` (`fastapi run`'s
    /// console script comes from fastapi-cli, its `__main__` from fastapi).
    #[serde(default)]
    pub module_package: Option<String>,
    pub interface: Interface,
    pub package: String,
    #[serde(default)]
    pub provided_by: Vec<String>,
    #[serde(default)]
    pub host: Vec<String>,
    #[serde(default)]
    pub port: Vec<String>,
    #[serde(default)]
    pub bind: Vec<String>,
    #[serde(default)]
    pub bind_host: Option<String>,
    #[serde(default)]
    pub positional_bind: bool,
    #[serde(default)]
    pub add_at: AddAt,
    /// Name the port before the address when both are added (`--server.port N --server.address A`).
    #[serde(default)]
    pub port_first: bool,
    #[serde(default)]
    pub workers: Option<String>,
    #[serde(default)]
    pub dev_flags: Vec<String>,
    #[serde(default)]
    pub dev_flags_with_value: Vec<String>,
    #[serde(default)]
    pub dev_subcommand: Option<String>,
    #[serde(default)]
    pub prod_subcommand: Option<String>,
    pub default_port: u16,
    #[serde(default)]
    pub ini_port_variable: Option<String>,
}

/// A gunicorn worker class that needs a package of its own (`-k uvicorn.workers.UvicornWorker`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerClass {
    #[serde(rename = "class")]
    pub class_name: String,
    pub package: String,
    #[serde(default)]
    pub provided_by: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    server: Vec<Server>,
    #[serde(default)]
    worker_class: Vec<WorkerClass>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The file is embedded and checked by a unit test, so a parse failure is a build defect.
        toml::from_str(SERVERS_TOML).expect("assets/servers.toml is valid (checked by servers::tests)")
    })
}

/// Every known server, in table order.
pub fn all() -> &'static [Server] {
    &table().server
}

/// Gunicorn worker classes that need a package.
pub fn worker_classes() -> &'static [WorkerClass] {
    &table().worker_class
}

/// The server with this table name or program (`"gunicorn"`, `"fastapi run"`).
pub fn by_name(name: &str) -> Option<&'static Server> {
    all().iter().find(|s| s.name == name).or_else(|| all().iter().find(|s| s.program == name && s.script.is_none()))
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Whether a program name is a Python interpreter (`python`, `python3`, `/usr/bin/python3.13`).
pub fn is_python(cmd: &str) -> bool {
    let base = basename(cmd);
    base == "python"
        || base == "python3"
        || base.strip_prefix("python3.").is_some_and(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
}

/// The program an argv runs and the index of its first argument: `python -m uvicorn x` is
/// (`uvicorn`, 3), `python manage.py runserver` is (`python`, `manage.py`, 2).
struct Program<'a> {
    program: &'a str,
    script: Option<&'a str>,
    /// Index of the first word after the program (and after `-m NAME` / the script).
    args: usize,
}

fn program(argv: &[String]) -> Option<Program<'_>> {
    let first = argv.first()?;
    if is_python(first) {
        return match argv.get(1).map(String::as_str) {
            Some("-m") => Some(Program { program: argv.get(2)?.as_str(), script: None, args: 3 }),
            Some(s) if s.ends_with(".py") => Some(Program { program: "python", script: Some(basename(s)), args: 2 }),
            _ => None,
        };
    }
    Some(Program { program: basename(first), script: None, args: 1 })
}

/// The server an argv starts (`python -m uvicorn` counts as uvicorn, `fastapi dev` as
/// `fastapi run`, `python manage.py runserver` as Django's runserver).
pub fn identify(argv: &[String]) -> Option<&'static Server> {
    let p = program(argv)?;
    let rest = &argv[p.args.min(argv.len())..];
    all().iter().find(|s| {
        if s.program != p.program || s.script.as_deref() != p.script {
            return false;
        }
        match &s.subcommand {
            Some(sub) => rest.iter().any(|w| w == sub || s.dev_subcommand.as_ref() == Some(w)),
            None => true,
        }
    })
}

/// Index of the first argument after the program and its subcommand.
fn after_command(argv: &[String], s: &Server) -> usize {
    let Some(p) = program(argv) else { return argv.len() };
    let mut at = p.args.min(argv.len());
    if let Some(sub) = &s.subcommand
        && let Some(i) = argv[at..].iter().position(|w| w == sub || s.dev_subcommand.as_ref() == Some(w))
    {
        at += i + 1;
    }
    at
}

/// Where a flag's value is: `(index, Some(prefix))` for `--flag=value`, `(index, None)` for
/// `--flag value` (the value at index + 1).
fn find_flag(argv: &[String], flags: &[String], from: usize) -> Option<(usize, bool)> {
    for (i, a) in argv.iter().enumerate().skip(from) {
        for f in flags {
            if a == f && i + 1 < argv.len() {
                return Some((i, false));
            }
            if a.strip_prefix(f.as_str()).is_some_and(|r| r.starts_with('=')) {
                return Some((i, true));
            }
        }
    }
    None
}

fn flag_value(argv: &[String], (i, inline): (usize, bool)) -> &str {
    if inline { argv[i].split_once('=').map(|(_, v)| v).unwrap_or("") } else { &argv[i + 1] }
}

fn set_flag_value(argv: &mut [String], (i, inline): (usize, bool), value: &str) {
    if inline {
        let flag = argv[i].split_once('=').map(|(f, _)| f.to_string()).unwrap_or_default();
        argv[i] = format!("{flag}={value}");
    } else {
        argv[i + 1] = value.to_string();
    }
}

/// Whether a listen host is loopback-only (or empty, which the caller replaces anyway).
fn is_local(host: &str) -> bool {
    matches!(host.trim_matches(['[', ']']), "127.0.0.1" | "localhost" | "::1" | "")
}

fn split_addr(addr: &str) -> (&str, &str) {
    addr.rsplit_once(':').unwrap_or(("", addr))
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p > 0)
}

/// The result of making an argv listen on all interfaces at a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub argv: Vec<String>,
    /// The argv listened on a loopback address, which was replaced.
    pub was_local: bool,
}

/// Makes `argv` (started by `server`) listen on 0.0.0.0 at `port`: existing host/port/bind flags
/// are rewritten (a public host is kept), missing ones added with this server's own flags.
/// A uWSGI config file that takes its port from `$(PORT)` is left to it (the caller sets PORT).
pub fn listen_on(argv: &[String], server: &Server, port: u16, config_port_variable: bool) -> Listen {
    let mut out = argv.to_vec();
    let p = port.to_string();
    let mut was_local = false;
    let start = after_command(&out, server);
    let mut additions: Vec<String> = Vec::new();
    let bind_host = server.bind_host.as_deref().unwrap_or("0.0.0.0");

    if server.positional_bind {
        let addr = format!("{bind_host}:{p}");
        match out.get(start) {
            Some(a) if !a.starts_with('-') => {
                let (h, _) = if a.contains(':') { split_addr(a) } else { ("", a.as_str()) };
                if !h.is_empty() && is_local(h) {
                    was_local = true;
                }
                out[start] = if h.is_empty() || is_local(h) { addr } else { format!("{h}:{p}") };
            }
            _ => out.insert(start.min(out.len()), addr),
        }
        return Listen { argv: out, was_local };
    }

    let mut port_set = false;
    if !server.bind.is_empty()
        && let Some(at) = find_flag(&out, &server.bind, 1)
    {
        let value = flag_value(&out, at).to_string();
        if !value.starts_with("unix:") {
            let (h, _) = split_addr(&value);
            let h = h.strip_prefix("tcp:").unwrap_or(h);
            if is_local(h) && !h.is_empty() {
                was_local = true;
            }
            let host = if is_local(h) { bind_host } else { h };
            set_flag_value(&mut out, at, &format!("{host}:{p}"));
            port_set = true;
        }
    }
    if !server.host.is_empty() {
        match find_flag(&out, &server.host, 1) {
            Some(at) if is_local(flag_value(&out, at)) => {
                was_local |= !flag_value(&out, at).is_empty();
                set_flag_value(&mut out, at, "0.0.0.0");
            }
            Some(_) => {}
            None if !port_set => additions.extend([server.host[0].clone(), "0.0.0.0".to_string()]),
            None => {}
        }
    }
    if !server.port.is_empty() && !port_set {
        match find_flag(&out, &server.port, 1) {
            Some(at) => {
                set_flag_value(&mut out, at, &p);
                port_set = true;
            }
            // a server with a bind flag too (waitress) gets the bind below
            None if server.bind.is_empty() => {
                additions.extend([server.port[0].clone(), p.clone()]);
                port_set = true;
            }
            None => {}
        }
    }
    let has_config_file = out.iter().skip(1).any(|a| a.ends_with(".ini") || a == "--ini" || a.starts_with("--ini="));
    if !port_set && !server.bind.is_empty() {
        // A config file that binds `:$(PORT)` reads the port from the environment when it is
        // parsed (uWSGI's `--env` comes too late): the image sets PORT, the argv stays.
        if !(config_port_variable || has_config_file && server.ini_port_variable.is_some()) {
            additions.extend([server.bind[0].clone(), format!("{bind_host}:{p}")]);
        }
    }
    if !additions.is_empty() {
        match server.add_at {
            AddAt::Start => {
                let at = start.min(out.len());
                out.splice(at..at, additions);
            }
            AddAt::End => out.extend(additions),
        }
    }
    Listen { argv: out, was_local }
}

/// The listen flags a new command for this server takes, in its own syntax: `-b 0.0.0.0:N`
/// (gunicorn), `--host 0.0.0.0 --port N` (uvicorn), `0.0.0.0:N` (runserver).
pub fn listen_args(server: &Server, port: u16) -> Vec<String> {
    let bind_host = server.bind_host.as_deref().unwrap_or("0.0.0.0");
    if server.positional_bind {
        return vec![format!("{bind_host}:{port}")];
    }
    if let Some(flag) = server.bind.first() {
        return vec![flag.clone(), format!("{bind_host}:{port}")];
    }
    let host = server.host.first().map(|h| [h.clone(), "0.0.0.0".to_string()]);
    let port_arg = server.port.first().map(|f| [f.clone(), port.to_string()]);
    let (a, b) = if server.port_first { (port_arg, host) } else { (host, port_arg) };
    a.into_iter().chain(b).flatten().collect()
}

/// Rewrites the port an argv already names (its server's own port/bind flags, a runserver
/// address); adds nothing when it names none, and leaves an argv of an
/// unknown program as it is.
pub fn with_port(argv: &[String], port: u16) -> Vec<String> {
    let mut out = argv.to_vec();
    let Some(server) = identify(argv) else { return out };
    let p = port.to_string();
    if server.positional_bind {
        let start = after_command(&out, server);
        if let Some(a) = out.get(start).filter(|a| !a.starts_with('-')).cloned() {
            out[start] = match a.rsplit_once(':') {
                Some((h, _)) => format!("{h}:{p}"),
                None if a.chars().all(|c| c.is_ascii_digit()) => p,
                None => a,
            };
        }
        return out;
    }
    if let Some(at) = find_flag(&out, &server.bind, 1) {
        let value = flag_value(&out, at).to_string();
        if let Some((h, old)) = value.rsplit_once(':')
            && old.chars().all(|c| c.is_ascii_digit())
        {
            set_flag_value(&mut out, at, &format!("{h}:{p}"));
        }
    }
    if let Some(at) = find_flag(&out, &server.port, 1) {
        set_flag_value(&mut out, at, &p);
    }
    out
}

/// The port an argv names explicitly for its server (`--port 8080`, `-b 0.0.0.0:8080`,
/// `runserver 8001`); `None` for a variable (`$PORT`) or an unknown program.
pub fn port_of(argv: &[String]) -> Option<u16> {
    let server = identify(argv)?;
    if server.positional_bind {
        let a = argv.get(after_command(argv, server))?;
        return parse_port(split_addr(a).1);
    }
    if let Some(at) = find_flag(argv, &server.bind, 1)
        && let Some(p) = parse_port(split_addr(flag_value(argv, at)).1)
    {
        return Some(p);
    }
    if let Some(at) = find_flag(argv, &server.port, 1) {
        return parse_port(flag_value(argv, at));
    }
    None
}

/// The argv without development-only flags (`--reload`, `--reload-dir src`, `--debug`) and with
/// a development subcommand replaced (`fastapi dev` -> `fastapi run`); the second value lists
/// what changed, for a note.
pub fn production(argv: &[String]) -> (Vec<String>, Vec<String>) {
    let Some(server) = identify(argv) else { return (argv.to_vec(), Vec::new()) };
    let mut out = Vec::with_capacity(argv.len());
    let mut changes = Vec::new();
    let start = program(argv).map(|p| p.args).unwrap_or(1);
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if i >= start {
            if let (Some(dev), Some(prod)) = (&server.dev_subcommand, &server.prod_subcommand)
                && a == dev
            {
                changes.push(format!("`{} {dev}` -> `{} {prod}`", server.program, server.program));
                out.push(prod.clone());
                i += 1;
                continue;
            }
            let name = a.split_once('=').map(|(f, _)| f).unwrap_or(a);
            if server.dev_flags.iter().any(|f| f == a || f == name) {
                changes.push(format!("`{a}` dropped"));
                i += 1;
                continue;
            }
            if server.dev_flags_with_value.iter().any(|f| f == name) {
                if a.contains('=') {
                    changes.push(format!("`{a}` dropped"));
                    i += 1;
                } else {
                    changes.push(format!("`{a} {}` dropped", argv.get(i + 1).map(String::as_str).unwrap_or("")));
                    i += 2;
                }
                continue;
            }
        }
        out.push(a.clone());
        i += 1;
    }
    (out, changes)
}

/// How a program from the table starts from a venv, given the release the image installs.
#[derive(Debug, PartialEq, Eq)]
pub enum ModuleStart {
    /// `python -m MODULE`.
    Module(&'static str),
    /// The pinned release predates the module's `__main__`: the console script must start it.
    TooOld {
        module: &'static str,
        /// The distribution and its pinned version (`gunicorn`, `19.9.0`).
        package: &'static str,
        version: String,
        /// The first release with `MODULE/__main__.py`.
        since: &'static str,
    },
    /// The table knows no module for it.
    NoModule,
}

impl Server {
    /// The distribution that provides it: `package` without its extras.
    pub fn distribution(&self) -> &str {
        self.package.split('[').next().unwrap_or(&self.package).trim()
    }

    /// The distribution whose release decides whether `python -m MODULE` works: `module_package`,
    /// else [`Self::distribution`].
    pub fn module_distribution(&self) -> &str {
        self.module_package.as_deref().unwrap_or_else(|| self.distribution())
    }
}

/// Whether `version` is an older release than `since` (PEP 440 order, so `0.10.0` is newer than
/// `0.9.1`); `None` when either is not a PEP 440 version.
pub fn older_than(version: &str, since: &str) -> Option<bool> {
    use std::str::FromStr;
    let v = pep440_rs::Version::from_str(version.trim()).ok()?;
    let s = pep440_rs::Version::from_str(since.trim()).ok()?;
    Some(v < s)
}

/// How `program` starts from a venv: `python -m MODULE` unless `pinned` (the version the image
/// installs of a distribution, by name) says the release predates the module's `__main__`
/// (`module_since`). An unpinned or unreadable version keeps `-m`: today's releases have it.
pub fn module_start(program: &str, pinned: &dyn Fn(&str) -> Option<String>) -> ModuleStart {
    let Some(server) = all().iter().find(|s| s.program == program && s.script.is_none()) else {
        return ModuleStart::NoModule;
    };
    let Some(module) = server.module.as_deref() else { return ModuleStart::NoModule };
    let Some(since) = server.module_since.as_deref() else { return ModuleStart::Module(module) };
    let package = server.module_distribution();
    match pinned(package) {
        Some(version) if older_than(&version, since) == Some(true) => {
            ModuleStart::TooOld { module, package, version, since }
        }
        _ => ModuleStart::Module(module),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn listen(s: &str, port: u16) -> Vec<String> {
        let argv = a(s);
        let server = identify(&argv).unwrap_or_else(|| panic!("{s}: unknown"));
        listen_on(&argv, server, port, false).argv
    }

    #[test]
    fn table_parses_and_every_entry_is_consistent() {
        assert!(all().len() >= 14);
        for s in all() {
            assert!(
                s.positional_bind || !s.bind.is_empty() || (!s.host.is_empty() && !s.port.is_empty()),
                "{}: no way to set the listen address",
                s.name
            );
            assert_eq!(s.dev_subcommand.is_some(), s.prod_subcommand.is_some(), "{}", s.name);
            if let Some(since) = &s.module_since {
                assert!(s.module.is_some(), "{}: module_since without a module", s.name);
                assert_eq!(older_than(since, since), Some(false), "{}: module_since {since} is not a version", s.name);
            }
            assert!(s.module_package.is_none() || s.module_since.is_some(), "{}: module_package alone", s.name);
            assert!(
                [
                    "uvicorn",
                    "gunicorn",
                    "uwsgi",
                    "hypercorn",
                    "granian",
                    "daphne",
                    "streamlit",
                    "python",
                    "waitress",
                    "sanic"
                ]
                .contains(&s.app_server.as_str()),
                "{}: app_server {}",
                s.name,
                s.app_server
            );
        }
        assert!(worker_classes().iter().any(|w| w.package == "uvicorn"));
    }

    #[test]
    fn versions_compare_as_pep440() {
        assert_eq!(older_than("19.9.0", "20.1.0"), Some(true));
        assert_eq!(older_than("20.0.4", "20.1.0"), Some(true));
        assert_eq!(older_than("20.1.0", "20.1.0"), Some(false));
        assert_eq!(older_than("20.1", "20.1.0"), Some(false));
        assert_eq!(older_than("23.0.0", "20.1.0"), Some(false));
        // numbers, not text: 0.10.0 is newer than 0.9.1
        assert_eq!(older_than("0.10.0", "0.9.1"), Some(false));
        assert_eq!(older_than("0.9.0", "0.9.1"), Some(true));
        assert_eq!(older_than("20.1.0rc1", "20.1.0"), Some(true));
        assert_eq!(older_than(" 19.7.1 ", "20.1.0"), Some(true));
        assert_eq!(older_than("not-a-version", "20.1.0"), None);
    }

    #[test]
    fn an_old_pin_has_no_python_dash_m() {
        let pins = |v: &'static str| move |name: &str| (name == "gunicorn").then(|| v.to_string());
        assert_eq!(
            module_start("gunicorn", &pins("19.9.0")),
            ModuleStart::TooOld { module: "gunicorn", package: "gunicorn", version: "19.9.0".into(), since: "20.1.0" }
        );
        assert_eq!(module_start("gunicorn", &pins("20.1.0")), ModuleStart::Module("gunicorn"));
        assert_eq!(module_start("gunicorn", &pins("latest")), ModuleStart::Module("gunicorn"));
        assert_eq!(module_start("gunicorn", &|_: &str| None), ModuleStart::Module("gunicorn"));
        // hypercorn has had its __main__ from the first release: no pin matters
        let old_hypercorn = |name: &str| (name == "hypercorn").then(|| "0.1.0".to_string());
        assert_eq!(module_start("hypercorn", &old_hypercorn), ModuleStart::Module("hypercorn"));
        // `fastapi run`: the console script is fastapi-cli's, the __main__ fastapi's (0.112.0)
        let fastapi = |name: &str| match name {
            "fastapi" => Some("0.111.0".to_string()),
            "fastapi-cli" => Some("0.0.4".to_string()),
            _ => None,
        };
        assert!(matches!(module_start("fastapi", &fastapi), ModuleStart::TooOld { package: "fastapi", .. }));
        assert_eq!(by_name("uvicorn").unwrap().module_distribution(), "uvicorn");
        assert_eq!(by_name("fastapi run").unwrap().distribution(), "fastapi-cli");
        assert_eq!(by_name("litestar run").unwrap().module_distribution(), "litestar");
    }

    #[test]
    fn identifies_servers() {
        let name = |s: &str| identify(&a(s)).map(|s| s.name.as_str());
        assert_eq!(name("python -m uvicorn x:y"), Some("uvicorn"));
        assert_eq!(name("gunicorn -k uvicorn.workers.UvicornWorker x:y"), Some("gunicorn"));
        assert_eq!(name("fastapi dev main.py"), Some("fastapi run"));
        assert_eq!(name("flask --app x run"), Some("flask run"));
        assert_eq!(name("flask db upgrade"), None);
        assert_eq!(name("python manage.py runserver"), Some("Django runserver"));
        assert_eq!(name("python manage.py migrate"), None);
        assert_eq!(name("/venv/bin/uwsgi /code/etc/uwsgi.ini"), Some("uWSGI"));
        assert_eq!(name("waitress-serve --listen=*:8080 app:app"), Some("waitress"));
        assert_eq!(name("./start.sh"), None);
    }

    #[test]
    fn each_server_gets_its_own_flags() {
        // the issue: a Procfile `gunicorn app:app` got uvicorn's --host/--port
        assert_eq!(listen("gunicorn app:app", 5000), a("gunicorn -b 0.0.0.0:5000 app:app"));
        assert_eq!(
            listen("gunicorn -b :5000 --access-logfile - flasky:app", 5000),
            a("gunicorn -b 0.0.0.0:5000 --access-logfile - flasky:app")
        );
        assert_eq!(listen("uvicorn app:app --host 127.0.0.1", 8000), a("uvicorn app:app --host 0.0.0.0 --port 8000"));
        assert_eq!(listen("hypercorn blog:app", 8000), a("hypercorn -b 0.0.0.0:8000 blog:app"));
        assert_eq!(
            listen("granian --interface asgi x:y", 8000),
            a("granian --interface asgi x:y --host 0.0.0.0 --port 8000")
        );
        assert_eq!(listen("daphne x.asgi:application", 8000), a("daphne -b 0.0.0.0 -p 8000 x.asgi:application"));
        assert_eq!(listen("uwsgi --module x.wsgi", 8000), a("uwsgi --module x.wsgi --http 0.0.0.0:8000"));
        assert_eq!(
            listen("uwsgi --http-socket :9000 --module x", 8000),
            a("uwsgi --http-socket 0.0.0.0:8000 --module x")
        );
        assert_eq!(listen("waitress-serve app:app", 8080), a("waitress-serve --listen 0.0.0.0:8080 app:app"));
        assert_eq!(listen("waitress-serve --port=5000 app:app", 8080), a("waitress-serve --port=8080 app:app"));
        assert_eq!(listen("fastapi run main.py", 8000), a("fastapi run main.py --host 0.0.0.0 --port 8000"));
        assert_eq!(listen("flask --app x run", 5000), a("flask --app x run --host 0.0.0.0 --port 5000"));
        assert_eq!(
            listen("streamlit run a.py", 8501),
            a("streamlit run a.py --server.address 0.0.0.0 --server.port 8501")
        );
        assert_eq!(listen("python manage.py runserver", 8000), a("python manage.py runserver 0.0.0.0:8000"));
        assert_eq!(listen("python manage.py runserver 8001", 8001), a("python manage.py runserver 0.0.0.0:8001"));
        assert_eq!(listen("sanic server:app", 8000), a("sanic server:app --host 0.0.0.0 --port 8000"));
        // a uWSGI ini that binds `:$(PORT)` keeps it (the image sets PORT), no second socket
        let argv = a("uwsgi ./etc/uwsgi.ini");
        let s = identify(&argv).unwrap();
        assert_eq!(listen_on(&argv, s, 8000, true).argv, argv);
        assert_eq!(listen_on(&argv, s, 8000, false).argv, argv);
        assert!(listen_on(&a("uvicorn x:y --host localhost"), by_name("uvicorn").unwrap(), 1, false).was_local);
    }

    #[test]
    fn ports_read_and_rewritten() {
        assert_eq!(port_of(&a("gunicorn -b 0.0.0.0:5000 x:y")), Some(5000));
        assert_eq!(port_of(&a("gunicorn -b 0.0.0.0:$PORT x:y")), None);
        assert_eq!(port_of(&a("uvicorn x:y --port=9000")), Some(9000));
        assert_eq!(port_of(&a("python manage.py runserver 0.0.0.0:8001")), Some(8001));
        assert_eq!(port_of(&a("streamlit run a.py --server.port 8502")), Some(8502));
        assert_eq!(port_of(&a("myserver --port 1")), None);
        assert_eq!(
            with_port(&a("uvicorn a:b --host 0.0.0.0 --port 8000"), 80),
            a("uvicorn a:b --host 0.0.0.0 --port 80")
        );
        assert_eq!(with_port(&a("gunicorn --bind=0.0.0.0:8000 a:b"), 1), a("gunicorn --bind=0.0.0.0:1 a:b"));
        assert_eq!(with_port(&a("daphne -b 0.0.0.0 -p 8000 a:b"), 9), a("daphne -b 0.0.0.0 -p 9 a:b"));
        // a flag another server uses is not touched: gunicorn has no --port
        assert_eq!(with_port(&a("gunicorn -b 0.0.0.0:8000 a:b --port 3"), 9), a("gunicorn -b 0.0.0.0:9 a:b --port 3"));
        assert_eq!(with_port(&a("python app.py --port 8000"), 9), a("python app.py --port 8000"));
    }

    #[test]
    fn production_drops_development_flags() {
        let (argv, changes) = production(&a("fastapi dev main.py --reload"));
        assert_eq!(argv, a("fastapi run main.py"));
        assert_eq!(changes.len(), 2);
        let (argv, _) = production(&a("uvicorn app:app --reload --reload-dir src --port 8000"));
        assert_eq!(argv, a("uvicorn app:app --port 8000"));
        let (argv, _) = production(&a("flask --app x run --debug"));
        assert_eq!(argv, a("flask --app x run"));
        assert_eq!(production(&a("gunicorn a:b")).1, Vec::<String>::new());
        let unpinned = |_: &str| None;
        assert_eq!(module_start("uvicorn", &unpinned), ModuleStart::Module("uvicorn"));
        assert_eq!(module_start("uwsgi", &unpinned), ModuleStart::NoModule);
        let args = |name: &str| listen_args(by_name(name).unwrap(), 8000).join(" ");
        assert_eq!(args("gunicorn"), "-b 0.0.0.0:8000");
        assert_eq!(args("uvicorn"), "--host 0.0.0.0 --port 8000");
        assert_eq!(args("streamlit"), "--server.port 8000 --server.address 0.0.0.0");
        assert_eq!(args("daphne"), "-b 0.0.0.0 -p 8000");
        assert_eq!(args("Django runserver"), "0.0.0.0:8000");
    }
}
