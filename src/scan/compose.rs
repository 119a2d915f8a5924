//! The project's compose file: which services the app starts beside it and which settings it
//! gets, so verify can run the app the way its authors do with no flags.
//!
//! Owns: finding the compose file (the project folder, the repository root above it, then
//! `docker/`, `deploy/`, `.devcontainer/`), merging `compose.override.*` into it the way Compose
//! does, `${VAR}` interpolation (process environment, then the compose folder's `.env`), picking
//! the app's own service (its `build` is the project) and reading its environment, ports,
//! command, secrets and the services it depends on. It returns plain data ([`ComposeFacts`]);
//! turning the services into verify sidecars (`plan::ServiceSpec`) is the plan's job, and it never
//! starts anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use super::Fact;

/// File names of a compose file, in the order Compose itself prefers them.
const FILE_NAMES: &[&str] = &["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
/// Override files merged into the base file, in this order.
const OVERRIDE_NAMES: &[&str] =
    &["compose.override.yaml", "compose.override.yml", "docker-compose.override.yml", "docker-compose.override.yaml"];
/// Folders below a root that often hold the compose file.
const SUBFOLDERS: &[&str] = &["docker", "deploy", ".devcontainer"];
/// How many folders above the project the repository root may be.
const MAX_UP: usize = 3;
/// Lists that an override file appends to instead of replacing.
const APPENDED: &[&str] = &["ports", "expose", "env_file", "volumes", "dns", "external_links", "extra_hosts"];

/// What the compose file says about the app and the services beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ComposeFacts {
    /// The compose file, relative to the project root (`compose.yaml`, `../docker-compose.yml`).
    pub file: String,
    /// Override files merged into it, relative to the project root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// The app's own service (`web`).
    pub app_service: String,
    /// The app's environment (`environment` over `env_file`), each with where it came from.
    /// Values may be secrets (an `.env` file): front ends print the names only, and the JSON
    /// has `{"name", "source"}` for each.
    #[serde(serialize_with = "env_names")]
    pub env: Vec<Fact<(String, String)>>,
    /// The services the app depends on (`depends_on`, `links`, and theirs), with an image or a build.
    pub services: Vec<ComposeService>,
    /// The container port of the app's first `ports` mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<Fact<u16>>,
    /// The app's `command` and `entrypoint`, as facts only (pyslim has its own entrypoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Fact<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Fact<Vec<String>>>,
    /// File-based secrets the app is given: the value is the secret's name, the source its file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Fact<String>>,
    /// What could not be read (a missing required variable, a missing env file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A service the app depends on, as the compose file describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ComposeService {
    /// The compose service name, the host name the app reaches it by (`db`).
    pub name: String,
    /// More host names (`links: ["db:database"]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Image reference, interpolated; for a service with only a `build`, the tag it gets.
    pub image: String,
    /// Its environment (`environment` over `env_file`). Values may be secrets: the JSON lists
    /// the names only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", serialize_with = "map_names")]
    pub env: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `healthcheck.test` as compose writes it (`["CMD-SHELL", "..."]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Vec<String>>,
    /// `build` context relative to the project root (or absolute when outside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_context: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// `compose.yaml: services.db`.
    pub source: String,
}

/// The app's variables as `{"name", "source"}`: never their values (they may be secrets).
fn env_names<S: serde::Serializer>(env: &[Fact<(String, String)>], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(env.len()))?;
    for f in env {
        seq.serialize_element(&BTreeMap::from([("name", f.value.0.as_str()), ("source", f.source.as_str())]))?;
    }
    seq.end()
}

/// A service's variable names, never their values.
fn map_names<S: serde::Serializer>(env: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(env.keys())
}

/// The compose facts of the project at `root`, with variables from this process's environment.
/// `Err` is a warning: a compose file was found but says nothing pyslim can use.
pub fn detect(root: &Path) -> Result<Option<ComposeFacts>, String> {
    detect_with(root, &|k| std::env::var(k).ok())
}

/// [`detect`] with the environment given (tests).
pub fn detect_with(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<ComposeFacts>, String> {
    let Some((file, overrides)) = discover(root) else { return Ok(None) };
    let dir = file.parent().unwrap_or(root).to_path_buf();
    let shown = |p: &Path| relative(root, p).display().to_string();
    let file_name = shown(&file);
    let dotenv = read_env_file(&dir.join(".env")).unwrap_or_default();
    let lookup = |k: &str| env(k).or_else(|| dotenv.get(k).cloned());
    let mut warnings = Vec::new();

    let mut doc = Value::Null;
    for path in std::iter::once(&file).chain(&overrides) {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", shown(path)))?;
        let mut value: Value =
            serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: not valid YAML: {e}", shown(path)))?;
        interpolate_value(&mut value, &lookup, &mut warnings, &shown(path));
        let mut value = version_one(value);
        normalize(&mut value);
        merge(&mut doc, value);
    }
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return Err(format!("{file_name} has no `services`: compose settings not used"));
    };

    let app = app_service(services, root, &dir).ok_or_else(|| {
        format!(
            "{file_name}: no service builds this project (no `build:` names this folder, and not exactly one \
             service has a `build`): compose services and settings not used"
        )
    })?;
    let app_def = &services[app.as_str()];
    let at = |what: &str| format!("{file_name}: services.{app}.{what}");

    let mut facts = ComposeFacts {
        file: file_name.clone(),
        overrides: overrides.iter().map(|p| shown(p)).collect(),
        app_service: app.clone(),
        ..Default::default()
    };
    for (k, v, source) in service_env(app_def, &dir, env, &file_name, &format!("services.{app}"), &mut warnings) {
        facts.env.push(Fact::new((k, v), source));
    }
    facts.port = app_def
        .get("ports")
        .and_then(Value::as_sequence)
        .and_then(|s| s.first())
        .and_then(container_port)
        .map(|p| Fact::new(p, at("ports")));
    facts.command = app_def.get("command").and_then(argv).map(|a| Fact::new(a, at("command")));
    facts.entrypoint = app_def.get("entrypoint").and_then(argv).map(|a| Fact::new(a, at("entrypoint")));
    facts.secrets = secrets(app_def, &doc, &dir, root);

    // The services the app depends on, and theirs, in the order first named.
    let mut order: Vec<String> = Vec::new();
    let mut aliases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut queue = vec![app.clone()];
    while let Some(name) = queue.pop() {
        let Some(def) = services.get(name.as_str()) else { continue };
        for (dep, alias) in dependencies(def) {
            if dep == app {
                continue;
            }
            if let Some(a) = alias.filter(|a| *a != dep) {
                aliases.entry(dep.clone()).or_default().insert(a);
            }
            if !order.contains(&dep) {
                order.push(dep.clone());
                queue.insert(0, dep);
            }
        }
    }
    for name in order {
        let Some(def) = services.get(name.as_str()) else {
            warnings.push(format!("{file_name}: services.{app} depends on `{name}`, which is not defined"));
            continue;
        };
        let build = def.get("build").and_then(|b| build_of(b, &dir));
        let image = match (def.get("image").and_then(Value::as_str), &build) {
            (Some(i), _) => i.trim().to_string(),
            // Built here: named by its Dockerfile's base (`FROM postgres:16` is a postgres), so
            // its kind's probe applies; the engine tags the built image itself.
            (None, Some((ctx, file))) => base_image(&ctx.join(file.as_deref().unwrap_or("Dockerfile")))
                .unwrap_or_else(|| format!("pyslim-compose-{}", name.to_ascii_lowercase())),
            (None, None) => continue,
        };
        let here = format!("services.{name}");
        let env =
            service_env(def, &dir, env, &file_name, &here, &mut warnings).into_iter().map(|(k, v, _)| (k, v)).collect();
        let healthcheck = def.get("healthcheck").and_then(|h| {
            if h.get("disable").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            match h.get("test")? {
                Value::String(s) => Some(vec!["CMD-SHELL".to_string(), s.clone()]),
                v => strings(v),
            }
        });
        facts.services.push(ComposeService {
            aliases: aliases.remove(&name).map(|a| a.into_iter().collect()).unwrap_or_default(),
            image,
            env,
            command: def.get("command").and_then(argv),
            healthcheck,
            build_context: build.as_ref().map(|(c, _)| relative(root, c)),
            dockerfile: build.and_then(|(_, d)| d),
            source: format!("{file_name}: {here}"),
            name,
        });
    }
    facts.warnings = warnings;
    Ok(Some(facts))
}

/// The compose file and its overrides: the first folder (project, repository root above it,
/// then `docker/`, `deploy/`, `.devcontainer/` under either) that holds one.
fn discover(root: &Path) -> Option<(PathBuf, Vec<PathBuf>)> {
    let mut folders = vec![root.to_path_buf()];
    let mut dir = root;
    for _ in 0..MAX_UP {
        if dir.join(".git").exists() {
            break;
        }
        let Some(up) = dir.parent() else { break };
        folders.push(up.to_path_buf());
        dir = up;
    }
    let repo = dir.to_path_buf();
    for r in std::iter::once(root).chain((repo != root).then_some(repo.as_path())) {
        folders.extend(SUBFOLDERS.iter().map(|s| r.join(s)));
    }
    for folder in folders {
        if let Some(file) = FILE_NAMES.iter().map(|n| folder.join(n)).find(|p| p.is_file()) {
            let overrides = OVERRIDE_NAMES.iter().map(|n| folder.join(n)).filter(|p| p.is_file()).collect();
            return Some((file, overrides));
        }
    }
    None
}

/// The service whose `build` is the project; else the only service with a `build`.
fn app_service(services: &Mapping, root: &Path, dir: &Path) -> Option<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let built: Vec<(String, PathBuf)> = services
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), build_of(v.get("build")?, dir)?.0)))
        .collect();
    if let Some((name, _)) = built.iter().find(|(_, ctx)| ctx.canonicalize().is_ok_and(|c| c == root)) {
        return Some(name.clone());
    }
    match built.as_slice() {
        [(name, _)] => Some(name.clone()),
        _ => None,
    }
}

/// A `build` (a context string or `{context, dockerfile}`) as the context folder and Dockerfile.
fn build_of(build: &Value, dir: &Path) -> Option<(PathBuf, Option<String>)> {
    let (context, dockerfile) = match build {
        Value::String(s) => (s.as_str(), None),
        Value::Mapping(_) => (
            build.get("context").and_then(Value::as_str).unwrap_or("."),
            build.get("dockerfile").and_then(Value::as_str).map(str::to_string),
        ),
        _ => return None,
    };
    // A git URL context is not a folder of this project.
    if context.contains("://") || context.starts_with("git@") {
        return None;
    }
    Some((normalize_path(&dir.join(context)), dockerfile))
}

/// The image the last `FROM` of a Dockerfile names (`FROM postgres:16 AS db` -> `postgres:16`),
/// when it is a plain reference (its `${ARG}`s resolved, not an earlier stage, not `scratch`).
fn base_image(dockerfile: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dockerfile).ok()?;
    let df = super::dockerfile::parse(&text, "Dockerfile");
    let (image, _) = df.froms.last()?;
    let plain = !image.is_empty()
        && !image.contains('$')
        && !image.eq_ignore_ascii_case("scratch")
        && !df.stages.iter().any(|s| s.eq_ignore_ascii_case(image));
    plain.then(|| image.clone())
}

/// The names a service depends on (`depends_on` as a list or a map, `links` as `NAME[:ALIAS]`),
/// each with an alias when `links` gives one.
fn dependencies(def: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    match def.get("depends_on") {
        Some(Value::Sequence(s)) => out.extend(s.iter().filter_map(Value::as_str).map(|n| (n.to_string(), None))),
        Some(Value::Mapping(m)) => out.extend(m.keys().filter_map(Value::as_str).map(|n| (n.to_string(), None))),
        _ => {}
    }
    for link in def.get("links").and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str) {
        let (name, alias) = match link.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim().to_string())),
            None => (link.trim(), None),
        };
        out.push((name.to_string(), alias));
    }
    out
}

/// A service's environment: `env_file` entries in order, then `environment` over them; each
/// with its source. A bare `KEY` takes this process's value (and is skipped without one).
fn service_env(
    def: &Value,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    file: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, String, String)> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (path, required) in env_files(def.get("env_file")) {
        let full = dir.join(&path);
        match read_env_file(&full) {
            Some(vars) => {
                for (k, v) in vars {
                    out.insert(k, (v, format!("{file}: {at}.env_file {path}")));
                }
            }
            None if required => warnings.push(format!("{file}: {at}.env_file {path} cannot be read")),
            None => {}
        }
    }
    if let Some(Value::Mapping(m)) = def.get("environment") {
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            let value = match v {
                Value::Null => env(k),
                other => scalar(other),
            };
            if let Some(v) = value {
                out.insert(k.to_string(), (v, format!("{file}: {at}.environment")));
            }
        }
    }
    out.into_iter().map(|(k, (v, s))| (k, v, s)).collect()
}

/// `env_file` as (path, required) entries: a string, a list of strings, or `{path, required}`.
fn env_files(v: Option<&Value>) -> Vec<(String, bool)> {
    let one = |v: &Value| match v {
        Value::String(s) => Some((s.clone(), true)),
        Value::Mapping(_) => {
            Some((v.get("path")?.as_str()?.to_string(), v.get("required").and_then(Value::as_bool).unwrap_or(true)))
        }
        _ => None,
    };
    match v {
        Some(Value::Sequence(s)) => s.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The app's file-based secrets (`secrets: [name]` with a top-level `secrets: name: file: PATH`).
fn secrets(app: &Value, doc: &Value, dir: &Path, root: &Path) -> Vec<Fact<String>> {
    let names = app.get("secrets").and_then(Value::as_sequence).into_iter().flatten().filter_map(|s| match s {
        Value::String(n) => Some(n.clone()),
        m => m.get("source").and_then(Value::as_str).map(str::to_string),
    });
    names
        .filter_map(|n| {
            let file = doc.get("secrets")?.get(n.as_str())?.get("file")?.as_str()?;
            Some(Fact::new(n, relative(root, &normalize_path(&dir.join(file))).display().to_string()))
        })
        .collect()
}

/// The container port of a `ports` entry: `"8000:8000"`, `"127.0.0.1:8080:8000/tcp"`, `8000`,
/// `"8000-8001:8000-8001"` (the first), or `{target: 8000}`.
fn container_port(entry: &Value) -> Option<u16> {
    match entry {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => {
            let last = s.rsplit(':').next()?;
            let last = last.split('/').next()?;
            last.split('-').next()?.trim().parse().ok()
        }
        Value::Mapping(_) => container_port(entry.get("target")?),
        _ => None,
    }
}

/// A command as argv: a list, or a string split the way Compose splits it (shell words).
fn argv(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => shlex::split(s),
        v => strings(v),
    }
}

/// A list of scalars as strings.
fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_sequence()?.iter().map(scalar).collect()
}

/// A scalar as text (`5432`, `true`, `"x"`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A `.env` / `env_file` file: `KEY=VALUE` lines (an optional `export `), `#` comments, values
/// unquoted. `None` when it cannot be read.
pub fn read_env_file(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(parse_env_file(&text))
}

/// The variables of an env file's text.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else { continue };
        let k = k.trim();
        if k.is_empty() || k.contains(char::is_whitespace) {
            continue;
        }
        let v = v.trim();
        let v = match v.chars().next() {
            Some(q @ ('"' | '\'')) => match v[1..].find(q) {
                Some(end) => v[1..=end].to_string(),
                None => v[1..].to_string(),
            },
            // an unquoted value ends at ` #` (a comment)
            _ => v.split(" #").next().unwrap_or("").trim_end().to_string(),
        };
        out.insert(k.to_string(), v);
    }
    out
}

/// Interpolates every string (and map key) of a parsed file.
fn interpolate_value(v: &mut Value, env: &dyn Fn(&str) -> Option<String>, warnings: &mut Vec<String>, file: &str) {
    match v {
        Value::String(s) => match interpolate(s, env) {
            Ok(out) => *s = out,
            Err(e) => {
                warnings.push(format!("{file}: {e}"));
                *s = String::new();
            }
        },
        Value::Sequence(items) => items.iter_mut().for_each(|i| interpolate_value(i, env, warnings, file)),
        Value::Mapping(m) => m.values_mut().for_each(|i| interpolate_value(i, env, warnings, file)),
        Value::Tagged(t) => interpolate_value(&mut t.value, env, warnings, file),
        _ => {}
    }
}

/// Compose interpolation of one string: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?message}`, `${VAR?message}`, `${VAR:+alternative}`, `${VAR+alternative}`, `$$` for a
/// `$`. Defaults are interpolated too. `Err` names a required variable that is missing.
pub fn interpolate(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let next = s[i..].find('$').map_or(s.len(), |n| i + n);
            out.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let Some(end) = closing_brace(s, i + 2) else {
                    return Err(format!("unterminated `${{` in {s:?}"));
                };
                out.push_str(&expand(&s[i + 2..end], env)?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len =
                    s[i + 1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len() - i - 1);
                out.push_str(&env(&s[i + 1..i + 1 + len]).unwrap_or_default());
                i += 1 + len;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The `}` that closes a `${` whose body starts at `from` (bodies may nest `${...}`).
fn closing_brace(s: &str, from: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s[from..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(from + i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// One `${...}` body.
fn expand(body: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
    let (name, rest) = body.split_at(name_len);
    let value = env(name);
    let (colon, rest) = match rest.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // With `:`, an empty value counts as unset.
    let set = value.as_deref().is_some_and(|v| !colon || !v.is_empty());
    let Some(op) = rest.chars().next() else { return Ok(value.unwrap_or_default()) };
    let arg = &rest[1..];
    match op {
        '-' if set => Ok(value.unwrap_or_default()),
        '-' => interpolate(arg, env),
        '+' if set => interpolate(arg, env),
        '+' => Ok(String::new()),
        '?' if set => Ok(value.unwrap_or_default()),
        '?' => {
            let msg = interpolate(arg, env)?;
            Err(if msg.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {msg}")
            })
        }
        _ => Err(format!("invalid interpolation format for `${{{body}}}`")),
    }
}

/// A file in the old version-1 format (services at the top level, no `services:` key) as the
/// current one.
fn version_one(doc: Value) -> Value {
    let Some(top) = doc.as_mapping() else { return doc };
    let is_service = |v: &Value| v.get("image").is_some() || v.get("build").is_some();
    if doc.get("services").is_some() || top.is_empty() || !top.values().all(is_service) {
        return doc;
    }
    let mut wrapped = Mapping::new();
    wrapped.insert(Value::from("services"), doc);
    Value::Mapping(wrapped)
}

/// Lists Compose treats as maps become maps (`environment: ["A=1"]` -> `{A: "1"}`), and a
/// string `env_file` a list, so an override merges into them by key.
fn normalize(doc: &mut Value) {
    let Some(services) = doc.get_mut("services").and_then(Value::as_mapping_mut) else { return };
    for def in services.values_mut() {
        let Some(def) = def.as_mapping_mut() else { continue };
        for key in ["environment", "labels"] {
            if let Some(Value::Sequence(items)) = def.get(key) {
                let mut map = Mapping::new();
                for item in items.iter().filter_map(Value::as_str) {
                    match item.split_once('=') {
                        Some((k, v)) => map.insert(Value::from(k.trim()), Value::from(v)),
                        None => map.insert(Value::from(item.trim()), Value::Null),
                    };
                }
                def.insert(Value::from(key), Value::Mapping(map));
            }
        }
        if let Some(Value::String(s)) = def.get("env_file") {
            let list = Value::Sequence(vec![Value::from(s.clone())]);
            def.insert(Value::from("env_file"), list);
        }
        if let Some(Value::Sequence(items)) = def.get("depends_on") {
            let map: Mapping = items.iter().map(|i| (i.clone(), Value::Mapping(Mapping::new()))).collect();
            def.insert(Value::from("depends_on"), Value::Mapping(map));
        }
    }
}

/// Merges `over` into `base` as Compose merges an override file: maps key by key, the lists in
/// [`APPENDED`] appended, everything else replaced.
fn merge(base: &mut Value, over: Value) {
    merge_at(base, over, "");
}

fn merge_at(base: &mut Value, over: Value, key: &str) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                let name = k.as_str().unwrap_or("").to_string();
                match b.get_mut(&k) {
                    Some(existing) => merge_at(existing, v, &name),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Sequence(b), Value::Sequence(o)) if APPENDED.contains(&key) => {
            b.extend(o);
        }
        (b, o) => *b = o,
    }
}

/// `path` with `.` and `..` folded away lexically.
fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` relative to `root` (`../compose.yaml` above it); `path` itself when they share nothing.
fn relative(root: &Path, path: &Path) -> PathBuf {
    let root = normalize_path(root);
    let path = normalize_path(path);
    let common = root.components().zip(path.components()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path;
    }
    let mut out = PathBuf::new();
    for _ in root.components().skip(common) {
        out.push("..");
    }
    for c in path.components().skip(common) {
        out.push(c);
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "USER" => Some("alice".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn interpolation_follows_the_compose_specification() {
        let cases = [
            ("$USER", "alice"),
            ("${USER}", "alice"),
            ("x${USER}y", "xalicey"),
            ("${MISSING}", ""),
            ("${MISSING:-app}", "app"),
            ("${MISSING-app}", "app"),
            ("${EMPTY:-app}", "app"),
            ("${EMPTY-app}", ""),
            ("${USER:+set}", "set"),
            ("${MISSING:+set}", ""),
            ("${EMPTY+set}", "set"),
            ("${MISSING:-${USER}}", "alice"),
            ("$$USER costs $$5", "$USER costs $5"),
            ("postgresql://${USER:-app}:pw@db/x", "postgresql://alice:pw@db/x"),
            ("a $ b", "a $ b"),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &env).as_deref(), Ok(want), "{input}");
        }
        let err = interpolate("${MISSING:?set it in .env}", &env).unwrap_err();
        assert!(err.contains("MISSING") && err.contains("set it in .env"), "{err}");
        assert!(interpolate("${EMPTY:?}", &env).is_err());
        assert_eq!(interpolate("${EMPTY?}", &env).as_deref(), Ok(""));
        assert!(interpolate("${USER", &env).is_err());
    }

    #[test]
    fn an_override_merges_maps_by_key_appends_ports_and_replaces_scalars() {
        let mut base: Value = serde_yaml_ng::from_str(
            "services:\n  web:\n    image: a\n    ports: ['8000:8000']\n    environment: ['A=1', 'B=2']\n    \
             env_file: .env\n    command: [x]\n",
        )
        .unwrap();
        let mut over: Value = serde_yaml_ng::from_str(
            "services:\n  web:\n    image: b\n    ports: ['9000:9000']\n    environment: {B: '3', C: '4'}\n    \
             env_file: [extra.env]\n    command: [y, z]\n  db:\n    image: postgres\n",
        )
        .unwrap();
        normalize(&mut base);
        normalize(&mut over);
        merge(&mut base, over);
        let web = &base["services"]["web"];
        assert_eq!(web["image"], Value::from("b"));
        assert_eq!(strings(&web["ports"]).unwrap(), ["8000:8000", "9000:9000"]);
        assert_eq!(strings(&web["env_file"]).unwrap(), [".env", "extra.env"]);
        assert_eq!(strings(&web["command"]).unwrap(), ["y", "z"]);
        let env = web["environment"].as_mapping().unwrap();
        let pairs: Vec<(String, String)> = env.iter().map(|(k, v)| (scalar(k).unwrap(), scalar(v).unwrap())).collect();
        let want = [("A", "1"), ("B", "3"), ("C", "4")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(pairs, want);
        assert_eq!(base["services"]["db"]["image"], Value::from("postgres"));
    }

    #[test]
    fn a_built_service_is_named_by_its_last_plain_from() {
        let dir = tempfile::tempdir().unwrap();
        let named = |text: &str| {
            let f = dir.path().join("Dockerfile");
            std::fs::write(&f, text).unwrap();
            base_image(&f)
        };
        assert_eq!(named("FROM postgres:16\nADD x /y\n").as_deref(), Some("postgres:16"));
        assert_eq!(named("FROM --platform=linux/amd64 redis:7 AS cache\n").as_deref(), Some("redis:7"));
        assert_eq!(named("ARG V=11.8\nFROM mariadb:${V}\n").as_deref(), Some("mariadb:11.8"));
        assert_eq!(named("FROM postgres:16 AS base\nFROM base\n"), None);
        assert_eq!(named("FROM scratch\n"), None);
        assert_eq!(named("FROM postgres:${TAG}\n"), None);
        assert_eq!(named("# no FROM\n"), None);
    }

    #[test]
    fn env_files_strip_quotes_comments_and_export() {
        let vars =
            parse_env_file("# comment\nA=1\nexport B=\"two words\"\nC='x#y'\nD=plain # trailing\n\nnot a line\nE=\n");
        let want: BTreeMap<String, String> = [("A", "1"), ("B", "two words"), ("C", "x#y"), ("D", "plain"), ("E", "")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        assert_eq!(vars, want);
    }

    #[test]
    fn ports_give_the_container_port() {
        for (entry, want) in [
            (Value::from("8000:8000"), Some(8000)),
            (Value::from("127.0.0.1:8080:5000/tcp"), Some(5000)),
            (Value::from("3000"), Some(3000)),
            (Value::from("9000-9001:8000-8001"), Some(8000)),
            (Value::from(8080), Some(8080)),
            (serde_yaml_ng::from_str("{target: 80, published: 8080}").unwrap(), Some(80)),
            (Value::from("x"), None),
        ] {
            assert_eq!(container_port(&entry), want, "{entry:?}");
        }
    }

    #[test]
    fn relative_paths_climb_with_dot_dot() {
        assert_eq!(relative(Path::new("/r/api"), Path::new("/r/compose.yaml")), PathBuf::from("../compose.yaml"));
        assert_eq!(relative(Path::new("/r"), Path::new("/r/./db/../db")), PathBuf::from("db"));
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), PathBuf::from("."));
    }
}
