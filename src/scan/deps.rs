//! Package manager, lockfile and dependencies. Owns: which tool installs the project (pip,
//! Poetry 1.x/2.x, uv incl. workspace members whose lock sits in a parent folder, PDM, Pipenv,
//! plain PEP 621 pyproject, setup.py), the files the install step needs (in copy order, relative
//! to the build context), the runtime dependencies (PEP 508 via `pep508_rs`, dev groups left out),
//! whether the project is itself an installable package, and the `src/` layout.
//! It does not choose the Python version (`python_version`) or the framework (`app`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{Requirement, VerbatimUrl};

use super::files::{Ctx, get, get_str, get_table, line_of};
use super::lock::{self, LockInfo};
use super::pycode::{self, Code};
use super::{Dependency, Fact, PackageManager, ScanReport};

/// How far up a uv workspace root is looked for.
const MAX_WORKSPACE_UP: usize = 6;
/// Parse warnings per requirements file before they are summarized.
const MAX_LINE_WARNINGS: usize = 5;

/// What the other detectors need to know about the project's packaging.
#[derive(Debug, Default)]
pub struct Project {
    pub manager: Option<PackageManager>,
    pub lock: Option<LockInfo>,
    /// Parsed root `pyproject.toml`.
    pub pyproject: Option<toml::Table>,
    /// Parsed `Pipfile`.
    pub pipfile: Option<toml::Table>,
    /// The build context folder (the root, or a uv workspace root above it).
    pub context_dir: PathBuf,
    /// Runtime dependency names: declared, plus runtime packages of the lock.
    pub runtime_names: BTreeSet<String>,
    /// Extras requested per declared dependency (`fastapi[standard]` -> standard).
    pub extras: BTreeMap<String, BTreeSet<String>>,
    /// Without a lock: the exact `==` pins of the declared dependencies, with the files the
    /// package index lists for them (`index`).
    pub pins: Option<LockInfo>,
}

impl Project {
    /// Whether a distribution is among the declared or locked runtime dependencies.
    pub fn has(&self, name: &str) -> bool {
        self.runtime_names.contains(name)
    }

    /// Whether the project declares no runtime dependency at all.
    pub fn runtime_is_empty(&self) -> bool {
        self.runtime_names.is_empty()
    }

    pub fn has_extra(&self, name: &str, extra: &str) -> bool {
        self.extras.get(name).is_some_and(|e| e.contains(extra))
    }

    /// The pins whose wheels bound the Python choice: the lock's, else the `==` pins.
    pub fn wheel_info(&self) -> Option<&LockInfo> {
        self.lock.as_ref().or(self.pins.as_ref())
    }
}

pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, _code: &Code) -> Project {
    let mut p = Project { context_dir: ctx.root.clone(), ..Default::default() };
    p.pyproject = if ctx.exists("pyproject.toml") { ctx.read_toml("pyproject.toml") } else { None };
    p.pipfile = if ctx.exists("Pipfile") { ctx.read_toml("Pipfile") } else { None };
    let py = p.pyproject.clone().unwrap_or_default();
    let has_pyproject = p.pyproject.is_some();
    let build_backend = get_str(&py, &["build-system", "build-backend"]).unwrap_or("").to_string();
    let has_build_system = py.contains_key("build-system");

    // Lockfiles at the root, strongest first.
    let locks: Vec<(&str, PackageManager)> = [
        ("uv.lock", PackageManager::Uv),
        ("poetry.lock", PackageManager::Poetry),
        ("pdm.lock", PackageManager::Pdm),
        ("Pipfile.lock", PackageManager::Pipenv),
    ]
    .into_iter()
    .filter(|(f, _)| ctx.exists(f))
    .collect();
    if locks.len() > 1 {
        let names: Vec<&str> = locks.iter().map(|(f, _)| *f).collect();
        ctx.warn(format!("several lockfiles ({}); using {}", names.join(", "), names[0]));
    }

    let mut requirements = requirement_roots(ctx);
    // The project's own Dockerfile says which requirements file a container installs.
    let from_dockerfile = dockerfile_requirements(ctx);
    if let Some((file, at)) = &from_dockerfile
        && requirements.first() != Some(file)
    {
        if let Some(usual) = requirements.first() {
            ctx.warn(format!(
                "{at} installs {file}, not {usual}: the image gets {file}'s dependencies, as the project's own \
                 container does (point pyslim at a copy without that Dockerfile line to install {usual} instead)"
            ));
        }
        requirements = vec![file.clone()];
    }
    let (manager, lockfile, why): (PackageManager, Option<String>, String) = if let Some((f, m)) = locks.first() {
        (*m, Some(f.to_string()), f.to_string())
    } else if let Some(ws) = uv_workspace(ctx) {
        report.context_root = Some(ws.prefix.clone());
        p.context_dir = ws.dir.clone();
        let lock_rel = format!("{}/uv.lock", ws.prefix);
        report.dependency_files = ws.files.clone();
        (PackageManager::Uv, Some(lock_rel.clone()), format!("{lock_rel} (uv workspace member)"))
    } else if get(&py, &["tool", "poetry"]).is_some() || build_backend.starts_with("poetry") {
        ctx.warn("Poetry project without poetry.lock: versions are not pinned; run `poetry lock`");
        (PackageManager::Poetry, None, "pyproject.toml [tool.poetry]".to_string())
    } else if ctx.exists("Pipfile") {
        ctx.warn("Pipfile without Pipfile.lock: `pipenv install --deploy` needs the lock; run `pipenv lock`");
        (PackageManager::Pipenv, None, "Pipfile".to_string())
    } else if let Some(first) = requirements.first() {
        let why = match &from_dockerfile {
            Some((file, at)) if file == first => format!("{first} (installed by {at})"),
            _ => first.clone(),
        };
        (PackageManager::Pip, None, why)
    } else if get(&py, &["tool", "pdm"]).is_some() && !py.contains_key("project") {
        (PackageManager::Pdm, None, "pyproject.toml [tool.pdm]".to_string())
    } else if py.contains_key("project") {
        (PackageManager::Pyproject, None, "pyproject.toml [project]".to_string())
    } else if ctx.exists("setup.py") || ctx.exists("setup.cfg") {
        let f = if ctx.exists("setup.py") { "setup.py" } else { "setup.cfg" };
        (PackageManager::SetupPy, None, f.to_string())
    } else {
        if has_pyproject {
            ctx.warn("pyproject.toml has no [project], [tool.poetry] or lockfile: dependencies unknown");
        } else {
            ctx.warn("no dependency declaration found (requirements.txt, pyproject.toml, Pipfile, setup.py)");
        }
        detect_source_dir(ctx, report, &py);
        return p;
    };
    let why = match manager {
        PackageManager::Poetry if py.contains_key("project") => {
            format!("{why} + pyproject.toml [project] (Poetry 2.x)")
        }
        PackageManager::Poetry if get(&py, &["tool", "poetry", "dependencies"]).is_some() => {
            format!("{why} + pyproject.toml [tool.poetry] (Poetry 1.x style)")
        }
        _ => why,
    };
    p.manager = Some(manager);
    report.package_manager = Some(Fact::new(manager, why));

    if let Some(lf) = &lockfile {
        report.lockfile = Some(Fact::new(lf.clone(), lock_source(manager)));
        let shown = lf.clone();
        p.lock = lock::read(ctx, lf, &shown);
    }

    let mut deps: Vec<Dependency> = Vec::new();
    let mut installable = false;
    match manager {
        PackageManager::Pip => {
            let mut files = Vec::new();
            for r in &requirements {
                let mut stack = Vec::new();
                read_requirements(ctx, r, false, &mut stack, &mut files, &mut deps, &mut installable);
            }
            report.dependency_files = files;
            if installable && has_pyproject {
                report.dependency_files.push("pyproject.toml".into());
            }
        }
        PackageManager::Pipenv => {
            report.dependency_files =
                ["Pipfile", "Pipfile.lock"].iter().filter(|f| ctx.exists(f)).map(|f| f.to_string()).collect();
            if let Some(pf) = &p.pipfile {
                pipfile_deps(ctx, pf, &mut deps);
            }
        }
        PackageManager::SetupPy => {
            report.dependency_files = ["setup.py", "setup.cfg", "pyproject.toml", "requirements.txt"]
                .iter()
                .filter(|f| ctx.exists(f))
                .map(|f| f.to_string())
                .collect();
            setup_deps(ctx, &mut deps);
            if deps.is_empty() && ctx.exists("requirements.txt") {
                let mut stack = Vec::new();
                let mut files = Vec::new();
                read_requirements(ctx, "requirements.txt", false, &mut stack, &mut files, &mut deps, &mut installable);
            }
            installable = true;
        }
        _ => {
            if report.dependency_files.is_empty() {
                let mut files = vec!["pyproject.toml".to_string()];
                if let Some(lf) = &lockfile {
                    files.push(lf.clone());
                }
                for extra in ["setup.py", "setup.cfg"] {
                    if ctx.exists(extra) {
                        files.push(extra.to_string());
                    }
                }
                report.dependency_files = files.into_iter().filter(|f| ctx.exists(f)).collect();
            }
            pyproject_deps(ctx, &py, manager, &mut deps);
            installable = is_installable(&py, manager, has_build_system);
            if installable && build_backend == "hatchling.build" && !hatch_finds_files(ctx, &py) {
                installable = false;
                ctx.warn(
                    "pyproject.toml builds with hatchling, but hatchling would find no package or module named \
                     like the project (and no [tool.hatch.build.targets.wheel] packages): the project is not \
                     installed, its dependencies are, and its source runs from the image's /app",
                );
            }
        }
    }

    // Requirement lines like `-e .` make the project installable; so does a build backend.
    report.installable = installable;
    for d in &deps {
        p.runtime_names.insert(d.name.clone());
        if let Ok(r) = Requirement::<VerbatimUrl>::from_str(&d.requirement) {
            let e = p.extras.entry(d.name.clone()).or_default();
            e.extend(r.extras.iter().map(|x| x.to_string()));
        }
    }
    if let Some(l) = &p.lock {
        for pkg in l.packages.iter().filter(|pkg| pkg.runtime) {
            p.runtime_names.insert(pkg.name.clone());
        }
    }
    warn_conflicting_pins(ctx, &deps);
    report.dependencies = deps;
    detect_source_dir(ctx, report, &py);
    p
}

fn lock_source(m: PackageManager) -> &'static str {
    match m {
        PackageManager::Uv => "uv lockfile",
        PackageManager::Poetry => "Poetry lockfile",
        PackageManager::Pdm => "PDM lockfile",
        PackageManager::Pipenv => "Pipenv lockfile",
        _ => "lockfile",
    }
}

/// The requirements file the project's own Dockerfile installs (`RUN pip install -r
/// requirements/docker.txt`, `uv pip install -r /requirements/production.txt`), as a path in the
/// project, with the line that installs it (`Dockerfile:13`). A path in the image is matched to
/// the project by its longest tail that exists (`/requirements/production.txt` ->
/// `requirements/production.txt`). The first such line wins; a production Dockerfile
/// (`Dockerfile.prod`) is read first, and development files (`requirements-dev.txt`) are passed
/// over: pyslim builds the production image.
fn dockerfile_requirements(ctx: &mut Ctx) -> Option<(String, String)> {
    for name in ["Dockerfile.prod", "Dockerfile.production", "Dockerfile", "dockerfile", "Containerfile"] {
        if ctx.is_file(name)
            && let Some(found) = requirements_installed_by(ctx, name)
        {
            return Some(found);
        }
    }
    None
}

/// Whether a requirements file is for development (`requirements-dev.txt`, `test.txt`,
/// `requirements_lint.in`): a production image does not install it.
fn dev_requirements(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        ["dev", "develop", "development", "test", "tests", "testing", "lint", "docs", "doc", "ci", "local", "typing"]
            .contains(&w.to_ascii_lowercase().as_str())
    })
}

/// The first production requirements file `name` (a Dockerfile) installs with pip.
fn requirements_installed_by(ctx: &mut Ctx, name: &str) -> Option<(String, String)> {
    let text = ctx.read(name)?;
    let df = super::dockerfile::parse(&text, name);
    for (run, line) in &df.runs {
        for segment in run.split("&&").flat_map(|s| s.split(';')) {
            let words = shlex::split(segment).unwrap_or_default();
            let Some(install) = words.iter().position(|w| w == "install") else { continue };
            if !words[..install].iter().any(|w| w == "pip" || w.ends_with("/pip") || w.starts_with("pip3")) {
                continue;
            }
            let mut it = words[install + 1..].iter();
            while let Some(w) = it.next() {
                let file = match w.as_str() {
                    "-r" | "--requirement" => it.next().cloned(),
                    _ => w.strip_prefix("--requirement=").or_else(|| w.strip_prefix("-r")).map(String::from),
                };
                let Some(file) = file.filter(|f| !f.is_empty()) else { continue };
                let file = super::dockerfile::substitute(&file, &df.env);
                let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
                for i in 0..parts.len() {
                    let rel = parts[i..].join("/");
                    if ctx.is_file(&rel) && (rel.ends_with(".txt") || rel.ends_with(".in")) {
                        if dev_requirements(&rel) {
                            break;
                        }
                        return Some((rel, format!("{name}:{line}")));
                    }
                }
            }
        }
    }
    None
}

/// Top-level requirement files: `requirements.txt` first, then production-looking ones;
/// dev/test/docs files are left out (they are not runtime dependencies).
fn requirement_roots(ctx: &mut Ctx) -> Vec<String> {
    if ctx.is_file("requirements.txt") {
        return vec!["requirements.txt".into()];
    }
    let mut found = Vec::new();
    for dir in ["", "requirements/"] {
        let Ok(rd) = std::fs::read_dir(ctx.root.join(dir)) else { continue };
        for e in rd.flatten() {
            let Some(name) = e.file_name().to_str().map(String::from) else { continue };
            let looks = if dir.is_empty() {
                name.starts_with("requirements") && name.ends_with(".txt")
            } else {
                name.ends_with(".txt")
            };
            if looks {
                found.push(format!("{dir}{name}"));
            }
        }
    }
    let dev = |n: &str| ["dev", "test", "lint", "doc", "ci", "local", "type"].iter().any(|w| n.contains(w));
    found.retain(|n| !dev(n.rsplit('/').next().unwrap_or(n)));
    found.sort_by_key(|n| {
        let base = n.rsplit('/').next().unwrap_or(n);
        let rank = if base.contains("prod") {
            0
        } else if base.contains("base") || base.contains("common") {
            1
        } else {
            2
        };
        (rank, n.clone())
    });
    found.truncate(1);
    found
}

/// Joins `\` continuations and strips comments; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if buf.is_empty() {
            start = i + 1;
        }
        let line = strip_comment(raw);
        if let Some(body) = line.strip_suffix('\\') {
            buf.push_str(body);
            buf.push(' ');
            continue;
        }
        buf.push_str(line);
        let t = buf.trim().to_string();
        if !t.is_empty() {
            out.push((start, t));
        }
        buf.clear();
    }
    if !buf.trim().is_empty() {
        out.push((start, buf.trim().to_string()));
    }
    out
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Reads a requirements file and its `-r`/`-c` includes. `stack` detects cycles; `files`
/// collects every file (copy order: includer first); constraints add no dependencies.
fn read_requirements(
    ctx: &mut Ctx,
    rel: &str,
    constraints: bool,
    stack: &mut Vec<String>,
    files: &mut Vec<String>,
    deps: &mut Vec<Dependency>,
    installable: &mut bool,
) {
    if stack.iter().any(|s| s == rel) {
        let mut chain = stack.clone();
        chain.push(rel.to_string());
        ctx.warn(format!("requirements include cycle: {}; the repeated include was skipped", chain.join(" -> ")));
        return;
    }
    if files.iter().any(|f| f == rel) {
        return;
    }
    if stack.len() > 20 {
        ctx.warn(format!("{rel}: requirements includes nest deeper than 20 levels; stopped"));
        return;
    }
    let Some(text) = ctx.read(rel) else { return };
    if looks_binary(&text) {
        ctx.warn(format!("{rel}: not text (binary data?); ignored"));
        return;
    }
    files.push(rel.to_string());
    stack.push(rel.to_string());
    let dir = Path::new(rel).parent().map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
    let mut bad = 0usize;
    for (n, line) in logical_lines(&text) {
        let include = option_value(&line, &["-r", "--requirement"]).map(|v| (v, false));
        let include = include.or_else(|| option_value(&line, &["-c", "--constraint"]).map(|v| (v, true)));
        if let Some((target, is_constraint)) = include {
            let target_rel = join_rel(&dir, &target);
            if target.contains("://") {
                ctx.warn(format!("{rel}:{n}: remote include {target} is not followed"));
            } else if !ctx.exists(&target_rel) {
                ctx.warn(format!("{rel}:{n}: includes {target_rel}, which does not exist"));
            } else {
                read_requirements(ctx, &target_rel, constraints || is_constraint, stack, files, deps, installable);
            }
            continue;
        }
        if let Some(target) = option_value(&line, &["-e", "--editable"]) {
            if is_local_path(&target) {
                if matches!(target.trim_end_matches('/'), "." | "./") && !constraints {
                    *installable = true;
                }
            } else if let Some(name) = egg_name(&target)
                && !constraints
            {
                deps.push(Dependency {
                    name: lock::normalize(&name),
                    requirement: line.clone(),
                    source: format!("{rel}:{n}"),
                });
            }
            continue;
        }
        if line.starts_with('-') {
            continue; // --index-url, --find-links, --hash, --pre, --only-binary, ...
        }
        // Per-requirement options (`--hash=...`) follow the requirement.
        let req = line.split(" --").next().unwrap_or(&line).trim().to_string();
        if is_local_path(&req) {
            if req.trim_end_matches('/') == "." && !constraints {
                *installable = true;
            }
            continue;
        }
        match Requirement::<VerbatimUrl>::from_str(&req) {
            Ok(r) => {
                if !constraints {
                    deps.push(Dependency { name: r.name.to_string(), requirement: req, source: format!("{rel}:{n}") });
                }
            }
            Err(e) => {
                if let Some(name) = egg_name(&req) {
                    if !constraints {
                        deps.push(Dependency {
                            name: lock::normalize(&name),
                            requirement: req,
                            source: format!("{rel}:{n}"),
                        });
                    }
                    continue;
                }
                bad += 1;
                if bad <= MAX_LINE_WARNINGS {
                    let shown: String = req.chars().filter(|c| !c.is_control()).take(60).collect();
                    ctx.warn(format!("{rel}:{n}: not a requirement: `{shown}` ({}); ignored", e.message));
                }
            }
        }
    }
    if bad > MAX_LINE_WARNINGS {
        ctx.warn(format!("{rel}: {} more lines that are not requirements were ignored", bad - MAX_LINE_WARNINGS));
    }
    stack.pop();
}

/// True for decoded text that is mostly not text: more than 30 % replacement or control
/// characters (random bytes give about half; a text file with a few junk lines far less, and
/// keeps its good lines).
fn looks_binary(text: &str) -> bool {
    let total = text.chars().count().max(1);
    let junk =
        text.chars().filter(|c| *c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))).count();
    junk * 10 > total * 3
}

/// Warns when one distribution is pinned to two different exact versions (`x==1` and `x==2`):
/// pip refuses such a set, so the build would fail.
fn warn_conflicting_pins(ctx: &mut Ctx, deps: &[Dependency]) {
    let mut pins: std::collections::BTreeMap<&str, Vec<(&str, &str)>> = Default::default();
    for d in deps {
        if let Some((_, v)) = d.requirement.split_once("==") {
            let v = v.split([';', ' ', ',']).next().unwrap_or("").trim();
            if !v.is_empty() {
                pins.entry(d.name.as_str()).or_default().push((v, d.source.as_str()));
            }
        }
    }
    for (name, mut found) in pins {
        found.sort_unstable();
        found.dedup_by(|a, b| a.0 == b.0);
        if found.len() > 1 {
            let list: Vec<String> = found.iter().map(|(v, s)| format!("=={v} ({s})")).collect();
            ctx.warn(format!("{name} has conflicting pins: {}; pip will refuse to install both", list.join(" and ")));
        }
    }
}

/// `-r file`, `-rfile`, `--requirement file`, `--requirement=file`.
fn option_value(line: &str, names: &[&str]) -> Option<String> {
    for name in names {
        if let Some(rest) = line.strip_prefix(name) {
            let v = if name.starts_with("--") {
                rest.strip_prefix('=').or_else(|| rest.strip_prefix(' ')).or_else(|| rest.strip_prefix('\t'))?
            } else {
                rest
            };
            let v = v.trim();
            if !v.is_empty() && (name.len() != 2 || !rest.starts_with('-')) {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn join_rel(dir: &str, target: &str) -> String {
    let joined = if dir.is_empty() || target.starts_with('/') { target.to_string() } else { format!("{dir}/{target}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            x => parts.push(x),
        }
    }
    parts.join("/")
}

fn is_local_path(s: &str) -> bool {
    let s = s.trim();
    !s.contains("://")
        && (s == "." || s.starts_with("./") || s.starts_with("../") || s.starts_with('/') || s.starts_with("file:"))
}

fn egg_name(s: &str) -> Option<String> {
    let frag = s.split_once("#egg=")?.1;
    let name = frag.split(['&', ' ', '[']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Line where a string first appears in a file's text (for sources like `pyproject.toml:8`).
fn find_line(text: Option<&str>, needle: &str) -> Option<usize> {
    let t = text?;
    t.find(needle).map(|i| line_of(t, i))
}

/// Line of a `key = ...` line in TOML text.
fn key_line(text: Option<&str>, key: &str) -> Option<usize> {
    let t = text?;
    t.lines()
        .position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix('"').unwrap_or(l);
            l.strip_prefix(key).is_some_and(|r| r.trim_start_matches('"').trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

fn pyproject_deps(ctx: &mut Ctx, py: &toml::Table, manager: PackageManager, deps: &mut Vec<Dependency>) {
    let text = ctx.read("pyproject.toml");
    let src = |needle: &str, section: &str| match find_line(text.as_deref(), needle) {
        Some(l) => format!("pyproject.toml:{l}"),
        None => format!("pyproject.toml [{section}]"),
    };
    if let Some(list) = get(py, &["project", "dependencies"]).and_then(|d| d.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let Some(s) = item.as_str() else {
                ctx.warn(format!("pyproject.toml: [project.dependencies] entry {} is not a string; ignored", i + 1));
                continue;
            };
            match Requirement::<VerbatimUrl>::from_str(s) {
                Ok(r) => deps.push(Dependency {
                    name: r.name.to_string(),
                    requirement: s.to_string(),
                    source: src(&format!("\"{s}\""), "project.dependencies"),
                }),
                Err(e) => ctx.warn(format!("pyproject.toml: dependency `{s}` is not PEP 508 ({}); ignored", e.message)),
            }
        }
        return;
    }
    // Poetry 1.x (or Poetry 2 with dynamic dependencies): [tool.poetry.dependencies].
    if matches!(manager, PackageManager::Poetry)
        && let Some(t) = get_table(py, &["tool", "poetry", "dependencies"])
    {
        for (name, spec) in t {
            if name == "python" {
                continue;
            }
            let (version, optional, extras) = match spec {
                toml::Value::String(s) => (s.clone(), false, Vec::new()),
                toml::Value::Table(tt) => (
                    tt.get("version").and_then(|v| v.as_str()).unwrap_or("*").to_string(),
                    tt.get("optional").and_then(|v| v.as_bool()).unwrap_or(false),
                    tt.get("extras")
                        .and_then(|e| e.as_array())
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                ),
                toml::Value::Array(_) => ("(per-platform)".to_string(), false, Vec::new()),
                _ => ("*".to_string(), false, Vec::new()),
            };
            if optional {
                continue; // only installed with an extra
            }
            let req = if extras.is_empty() {
                format!("{name} {version}")
            } else {
                format!("{name}[{}] {version}", extras.join(","))
            };
            let source = match key_line(text.as_deref(), name) {
                Some(l) => format!("pyproject.toml:{l}"),
                None => "pyproject.toml [tool.poetry.dependencies]".to_string(),
            };
            deps.push(Dependency { name: lock::normalize(name), requirement: req, source });
        }
    }
}

fn pipfile_deps(ctx: &mut Ctx, pf: &toml::Table, deps: &mut Vec<Dependency>) {
    let text = ctx.read("Pipfile");
    let Some(pkgs) = pf.get("packages").and_then(|p| p.as_table()) else { return };
    for (name, spec) in pkgs {
        let version = match spec {
            toml::Value::String(s) if s != "*" => s.clone(),
            toml::Value::Table(t) => {
                t.get("version").and_then(|v| v.as_str()).filter(|v| *v != "*").unwrap_or("").to_string()
            }
            _ => String::new(),
        };
        let extras: Vec<String> = spec
            .get("extras")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let req = if extras.is_empty() {
            format!("{name}{version}")
        } else {
            format!("{name}[{}]{version}", extras.join(","))
        };
        let source = match key_line(text.as_deref(), name) {
            Some(l) => format!("Pipfile:{l}"),
            None => "Pipfile [packages]".into(),
        };
        deps.push(Dependency { name: lock::normalize(name), requirement: req, source });
    }
}

fn setup_deps(ctx: &mut Ctx, deps: &mut Vec<Dependency>) {
    if let Some(src) = ctx.read("setup.py")
        && let Some(list) = pycode::string_list_kwarg(&src, "install_requires")
    {
        for (s, line) in list {
            match Requirement::<VerbatimUrl>::from_str(&s) {
                Ok(r) => deps.push(Dependency {
                    name: r.name.to_string(),
                    requirement: s,
                    source: format!("setup.py:{line}"),
                }),
                Err(e) => ctx.warn(format!("setup.py:{line}: `{s}` is not PEP 508 ({}); ignored", e.message)),
            }
        }
        return;
    }
    // setup.cfg: [options] install_requires = (indented continuation lines)
    let Some(cfg) = ctx.read("setup.cfg") else { return };
    let mut in_options = false;
    let mut in_list = false;
    for (i, raw) in cfg.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('[') {
            in_options = t == "[options]";
            in_list = false;
            continue;
        }
        if !in_options {
            continue;
        }
        if let Some(rest) = t.strip_prefix("install_requires") {
            in_list = true;
            let first = rest.trim_start().trim_start_matches('=').trim();
            if !first.is_empty()
                && let Ok(r) = Requirement::<VerbatimUrl>::from_str(first)
            {
                deps.push(Dependency {
                    name: r.name.to_string(),
                    requirement: first.into(),
                    source: format!("setup.cfg:{}", i + 1),
                });
            }
            continue;
        }
        if in_list {
            if !raw.starts_with([' ', '\t']) || t.is_empty() {
                in_list = !t.is_empty() && raw.starts_with([' ', '\t']);
                if !in_list {
                    continue;
                }
            }
            if let Ok(r) = Requirement::<VerbatimUrl>::from_str(t) {
                deps.push(Dependency {
                    name: r.name.to_string(),
                    requirement: t.into(),
                    source: format!("setup.cfg:{}", i + 1),
                });
            }
        }
    }
}

/// Whether hatchling's default file selection finds something to put in a wheel: explicit
/// wheel-target files, else `<name>/__init__.py`, `src/<name>/__init__.py` or `<name>.py` (the
/// project name with `-` and `.` as `_`). Without any, `pip install .` fails ("Unable to
/// determine which files to ship inside the wheel").
fn hatch_finds_files(ctx: &Ctx, py: &toml::Table) -> bool {
    let wheel = get(py, &["tool", "hatch", "build", "targets", "wheel"]);
    let build = get(py, &["tool", "hatch", "build"]);
    let explicit = |t: Option<&toml::Value>| {
        ["packages", "include", "only-include", "sources", "force-include"]
            .iter()
            .any(|k| t.and_then(|t| t.get(*k)).is_some())
    };
    if explicit(wheel) || explicit(build) {
        return true;
    }
    let Some(name) = get_str(py, &["project", "name"]) else { return true };
    let module: String = name.to_lowercase().chars().map(|c| if c == '-' || c == '.' { '_' } else { c }).collect();
    [format!("{module}/__init__.py"), format!("src/{module}/__init__.py"), format!("{module}.py")]
        .iter()
        .any(|p| ctx.exists(p))
}

fn is_installable(py: &toml::Table, manager: PackageManager, has_build_system: bool) -> bool {
    match manager {
        PackageManager::Poetry => {
            if get(py, &["tool", "poetry", "package-mode"]).and_then(|v| v.as_bool()) == Some(false) {
                return false;
            }
            has_build_system || get(py, &["tool", "poetry", "packages"]).is_some()
        }
        PackageManager::Uv => match get(py, &["tool", "uv", "package"]).and_then(|v| v.as_bool()) {
            Some(b) => b,
            None => has_build_system,
        },
        PackageManager::Pdm => match get(py, &["tool", "pdm", "distribution"]).and_then(|v| v.as_bool()) {
            Some(b) => b,
            None => has_build_system,
        },
        PackageManager::Pyproject | PackageManager::SetupPy => true,
        PackageManager::Pip | PackageManager::Pipenv => false,
    }
}

/// `src/` layouts: an explicit package folder in the build configuration, else a `src/`
/// folder that holds Python code.
fn detect_source_dir(ctx: &mut Ctx, report: &mut ScanReport, py: &toml::Table) {
    let explicit = get(py, &["tool", "poetry", "packages"])
        .and_then(|p| p.as_array())
        .and_then(|a| a.iter().find_map(|x| x.get("from")?.as_str().map(String::from)))
        .or_else(|| {
            get(py, &["tool", "setuptools", "package-dir"])
                .and_then(|d| d.get(""))
                .and_then(|v| v.as_str())
                .map(String::from)
        })
        .or_else(|| {
            get(py, &["tool", "hatch", "build", "targets", "wheel", "packages"])
                .and_then(|p| p.as_array())
                .and_then(|a| a.first()?.as_str().map(String::from))
                .and_then(|p| p.rsplit_once('/').map(|(dir, _)| dir.to_string()))
        })
        .or_else(|| get_str(py, &["tool", "setuptools", "packages", "find", "where"]).map(String::from))
        .filter(|d| !d.is_empty() && d != ".");
    if let Some(d) = explicit
        && ctx.is_dir(&d)
    {
        report.source_dir = Some(d);
        return;
    }
    if ctx.is_dir("src") {
        let has_py = std::fs::read_dir(ctx.root.join("src")).into_iter().flatten().flatten().any(|e| {
            let p = e.path();
            p.extension().is_some_and(|x| x == "py")
                || (p.is_dir() && p.join("__init__.py").exists())
                || (p.is_dir()
                    && std::fs::read_dir(&p)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|f| f.path().extension().is_some_and(|x| x == "py")))
        });
        if has_py {
            report.source_dir = Some("src".into());
        }
    }
}

/// A uv workspace above the root that lists the root as a member.
struct Workspace {
    dir: PathBuf,
    /// Relative path from the root to the workspace root (`../..`).
    prefix: String,
    /// Files the install step needs, relative to the workspace root.
    files: Vec<String>,
}

fn uv_workspace(ctx: &mut Ctx) -> Option<Workspace> {
    let root = ctx.root.clone();
    let mut dir = root.parent();
    let mut ups = 1;
    while let Some(d) = dir {
        if ups > MAX_WORKSPACE_UP {
            break;
        }
        if d.join("uv.lock").is_file() && d.join("pyproject.toml").is_file() {
            let prefix = vec![".."; ups].join("/");
            let shown = format!("{prefix}/pyproject.toml");
            let text = ctx.read_path(&d.join("pyproject.toml"), &shown)?;
            let table = ctx.toml(&text, &shown)?;
            let members: Vec<String> = get(&table, &["tool", "uv", "workspace", "members"])
                .and_then(|m| m.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let excludes: Vec<String> = get(&table, &["tool", "uv", "workspace", "exclude"])
                .and_then(|m| m.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let member_dirs: Vec<String> = members
                .iter()
                .flat_map(|m| expand_glob(d, m))
                .filter(|m| !excludes.iter().any(|x| glob_match(x, m)))
                .collect();
            let me = root.strip_prefix(d).ok()?.to_string_lossy().replace('\\', "/");
            if !member_dirs.contains(&me) {
                ctx.warn(format!(
                    "{prefix}/uv.lock belongs to a uv workspace that does not list {me} as a member; not used"
                ));
                return None;
            }
            let mut files = vec!["pyproject.toml".to_string(), "uv.lock".to_string()];
            for m in &member_dirs {
                if d.join(m).join("pyproject.toml").is_file() {
                    files.push(format!("{m}/pyproject.toml"));
                }
            }
            return Some(Workspace { dir: d.to_path_buf(), prefix, files });
        }
        if d.join(".git").exists() {
            break; // the repository root: a workspace would sit here at the latest
        }
        dir = d.parent();
        ups += 1;
    }
    None
}

/// Expands a workspace member glob (`packages/*`) into existing folders, relative to `base`.
fn expand_glob(base: &Path, pattern: &str) -> Vec<String> {
    let mut current = vec![String::new()];
    for seg in pattern.trim_end_matches('/').split('/') {
        let mut next = Vec::new();
        for c in &current {
            let dir = if c.is_empty() { base.to_path_buf() } else { base.join(c) };
            if seg.contains(['*', '?', '[']) {
                let Ok(rd) = std::fs::read_dir(&dir) else { continue };
                let mut names: Vec<String> = rd
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(String::from))
                    .collect();
                names.sort();
                for n in names.into_iter().filter(|n| glob_match(seg, n)) {
                    next.push(if c.is_empty() { n } else { format!("{c}/{n}") });
                }
            } else if dir.join(seg).is_dir() {
                next.push(if c.is_empty() { seg.to_string() } else { format!("{c}/{seg}") });
            }
        }
        current = next;
    }
    current
}

/// `*` and `?` within one path segment.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn m(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&p[1..], t) || (!t.is_empty() && t[0] != '/' && m(p, &t[1..])),
            (Some('?'), Some(c)) if *c != '/' => m(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &t[1..]),
            _ => false,
        }
    }
    m(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_lines() {
        let l = logical_lines("flask>=3 # web\n# c\n\ngunicorn \\\n  ==23.0\n");
        assert_eq!(l, vec![(1, "flask>=3".to_string()), (4, "gunicorn    ==23.0".to_string())]);
        assert_eq!(option_value("-r base.txt", &["-r", "--requirement"]), Some("base.txt".into()));
        assert_eq!(option_value("-rbase.txt", &["-r", "--requirement"]), Some("base.txt".into()));
        assert_eq!(option_value("--requirement=a/b.txt", &["-r", "--requirement"]), Some("a/b.txt".into()));
        assert_eq!(option_value("requests", &["-r", "--requirement"]), None);
        assert_eq!(join_rel("requirements", "../base.txt"), "base.txt");
        assert_eq!(egg_name("git+https://x/y.git@v1#egg=My_Pkg"), Some("My_Pkg".into()));
        assert!(glob_match("packages/*", "packages/api"));
        assert!(!glob_match("packages/*", "packages/api/x"));
    }

    #[test]
    fn includes_cycles_and_junk() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("requirements.txt"),
            "-r base.txt\n-c constraints.txt\nFlask[async]>=3 --hash=sha256:00\n-e .\n",
        )
        .unwrap();
        std::fs::write(d.path().join("base.txt"), "gunicorn==23.0.0\n-r requirements.txt\n").unwrap();
        std::fs::write(d.path().join("constraints.txt"), "urllib3<3\n").unwrap();
        let mut ctx = Ctx::new(d.path().to_path_buf());
        let (mut stack, mut files, mut deps, mut inst) = (vec![], vec![], vec![], false);
        read_requirements(&mut ctx, "requirements.txt", false, &mut stack, &mut files, &mut deps, &mut inst);
        assert_eq!(files, vec!["requirements.txt", "base.txt", "constraints.txt"]);
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["gunicorn", "flask"]);
        assert_eq!(deps[1].source, "requirements.txt:3");
        assert!(inst);
        let w = ctx.into_warnings();
        assert!(w.iter().any(|w| w.contains("requirements.txt -> base.txt -> requirements.txt")), "{w:?}");
    }
}
