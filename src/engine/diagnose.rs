//! Diagnosis: turns the words of a failure (the failed build step's last log lines, the
//! container's last log lines when verify failed) into one line of cause and one line of remedy.
//! The patterns are data (`assets/diagnoses.toml`); this module owns only the matching and the
//! fallbacks by outcome (exit code, no answer, HTTP 5xx). The engine collects the text, the
//! front ends show the result.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

const TABLE: &str = include_str!("../../assets/diagnoses.toml");
const IMPORT_NAMES: &str = include_str!("../../assets/import_names.toml");

/// Why something failed, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Stable id of the cause (`missing-tool`, `no-wheel`, `stale-lock`, `env-missing`, ...).
    pub kind: String,
    /// One line: what went wrong.
    pub cause: String,
    /// One line: the way forward.
    pub hint: String,
}

/// Where the text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The build log (the failed step's last lines and the daemon's error).
    Build,
    /// The service container's logs.
    Start,
}

/// Facts of the build that the templates may name.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The build's Python (`3.13`).
    pub python: Option<String>,
    /// The port verify waited on.
    pub port: u16,
    /// Compiled pins (from the lockfile or the package index) and the Pythons their files have
    /// Linux wheels for (PEP 503 names).
    pub wheel_pythons: std::collections::BTreeMap<String, crate::scan::WheelPythons>,
    /// The project's exact pins (PEP 503 name -> version: a lock's packages, or `==` pins), so
    /// an error raised inside a distribution the project does not pin can say so.
    pub pins: std::collections::BTreeMap<String, String>,
    /// The variable that selects the service's database and where it is read
    /// (`DATABASE_URL (mysite/settings.py:12)`), named by `{database}`.
    pub database_env: Option<String>,
    /// Variables the app reads at start without a default and the run does not set, with the
    /// line that reads each (`REDIS_URL`, `backend/constants.py`, 16; the scan's `required_env`).
    pub unset_env: Vec<(String, String, usize)>,
}

/// The unset variable whose reading line is a frame of the traceback in `log_tail` (`File
/// "/app/backend/constants.py", line 16`): the error came from the missing value.
fn unset_env_in_traceback<'a>(log_tail: &[String], facts: &'a Facts) -> Option<&'a (String, String, usize)> {
    facts.unset_env.iter().find(|(_, file, line)| {
        let frame = format!("/{file}\", line {line},");
        log_tail.iter().any(|l| l.trim_start().starts_with("File \"") && l.contains(&frame))
    })
}

/// The distribution an import name belongs to (`assets/import_names.toml`, else the name itself).
fn distribution_of(module: &str) -> String {
    static CELL: OnceLock<std::collections::BTreeMap<String, String>> = OnceLock::new();
    let table = CELL.get_or_init(|| {
        #[derive(Deserialize)]
        struct T {
            import: std::collections::BTreeMap<String, String>,
        }
        toml::from_str::<T>(IMPORT_NAMES).map(|t| t.import).unwrap_or_default()
    });
    let d = table.get(module).cloned().unwrap_or_else(|| module.to_string());
    crate::scan::normalize(&d)
}

/// The top-level packages of a traceback's site-packages frames, in order
/// (`File "/opt/venv/lib/python3.11/site-packages/pydantic/main.py"` -> `pydantic`).
fn site_package_frames(lines: &[String]) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"File "[^"]*/site-packages/([A-Za-z_][A-Za-z0-9_]*)"#).expect("a fixed, tested pattern")
    });
    lines.iter().filter_map(|l| re.captures(l)).map(|c| c[1].to_string()).collect()
}

/// When the error was raised inside a distribution the project does not pin, called from one
/// it pins (pydantic, newest release, under tortoise-orm 0.20.0): the cause's addition and the
/// hint.
fn unpinned_raiser(lines: &[String], facts: &Facts) -> Option<(String, String)> {
    if facts.pins.is_empty() {
        return None;
    }
    let frames = site_package_frames(lines);
    let raiser = frames.last()?;
    let raiser_dist = distribution_of(raiser);
    if facts.pins.contains_key(&raiser_dist) {
        return None;
    }
    let (caller, version) = frames.iter().rev().filter(|m| *m != raiser).find_map(|m| {
        let d = distribution_of(m);
        facts.pins.get(&d).map(|v| (d, v.clone()))
    })?;
    Some((
        format!(
            " (raised in {raiser_dist}, which the project does not pin, so pip installed its newest release, \
             called from {caller} {version}, which it pins)"
        ),
        format!(
            "pin {raiser_dist} to a release that {caller} {version} was made for (add `{raiser_dist}<X.Y` to the \
             requirements; its changelog says where the break came), or upgrade the {caller} pin"
        ),
    ))
}

fn wheel_info<'a>(facts: &'a Facts, package: Option<&str>) -> Option<(String, &'a crate::scan::WheelPythons)> {
    let p = package?;
    let key = p.to_ascii_lowercase().replace(['_', '.'], "-");
    facts.wheel_pythons.get(&key).map(|w| (p.to_string(), w))
}

/// `; asyncpg 0.29.0 has wheels for Python 3.8 to 3.12 (per https://pypi.org/simple/)` for a pin
/// whose file list is known, else nothing.
fn wheels_note(facts: &Facts, package: Option<&str>) -> String {
    let Some((name, w)) = wheel_info(facts, package) else { return String::new() };
    let minor = |v: &str| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let contiguous = w.minors.windows(2).all(|p| minor(&p[1]) == minor(&p[0]) + 1);
    let span = match w.minors.as_slice() {
        [] => "no Linux wheel at all".to_string(),
        [one] => format!("wheels for Python {one} only"),
        [first, .., last] if contiguous => format!("wheels for Python {first} to {last}"),
        all => format!("wheels for Python {}", all.join(", ")),
    };
    let none_here = !w.minors.is_empty() && python_with_wheels(w).is_none();
    format!(
        "; {name} {} has {span} (per {}){}",
        w.version,
        w.from,
        if none_here { ", none of them a Python with an image" } else { "" }
    )
}

/// The newest Python with a `python:3.X-slim` image in the catalogue that the pin has a wheel for.
fn python_with_wheels(w: &crate::scan::WheelPythons) -> Option<String> {
    let offered = crate::catalogue::versions(crate::catalogue::Family::PythonSlim);
    w.minors.iter().rev().find(|m| offered.iter().any(|v| v.to_string() == **m)).cloned()
}

/// `--python 3.12` (the newest Python with an image the pin has wheels for), else `--python X.Y`.
fn python_choice(facts: &Facts, package: Option<&str>) -> String {
    let v = wheel_info(facts, package).and_then(|(_, w)| python_with_wheels(w));
    format!("--python {}", v.as_deref().unwrap_or("X.Y"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    diagnosis: Vec<Entry>,
    service: Vec<Service>,
}

/// A client library whose error lines name the service a `needs-service` cause is about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Service {
    pattern: String,
    name: String,
}

/// The services of `assets/diagnoses.toml`'s `[[service]]` table, compiled.
fn services() -> &'static [(Regex, String)] {
    &compiled().1
}

/// The service the log's client library names (`psycopg2.OperationalError` -> PostgreSQL), the
/// last such line winning.
fn service_in_log(lines: &[String]) -> Option<&'static str> {
    lines.iter().rev().find_map(|l| services().iter().find(|(re, _)| re.is_match(l)).map(|(_, n)| n.as_str()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kind: String,
    phase: Phase,
    pattern: String,
    cause: String,
    hint: String,
    /// The cause and hint when the package publishes no wheels at all (never "choose a Python").
    source_only_cause: Option<String>,
    source_only_hint: Option<String>,
    /// The file the message is about when the pattern has no group for it (`pg_config`).
    file: Option<String>,
    #[allow(dead_code)] // read by the unit test
    sample: String,
}

struct Compiled {
    entry: Entry,
    re: Regex,
}

fn table() -> &'static [Compiled] {
    &compiled().0
}

/// The diagnoses and the services of `assets/diagnoses.toml`, with their patterns compiled.
type CompiledTables = (Vec<Compiled>, Vec<(Regex, String)>);

/// `assets/diagnoses.toml`, parsed once for both of its tables.
fn compiled() -> &'static CompiledTables {
    static CELL: OnceLock<CompiledTables> = OnceLock::new();
    CELL.get_or_init(|| {
        let t: Table = toml::from_str(TABLE).expect("assets/diagnoses.toml is checked by a unit test");
        let diagnoses = t
            .diagnosis
            .into_iter()
            .map(|entry| {
                let re = Regex::new(&entry.pattern).expect("every pattern in assets/diagnoses.toml is tested");
                Compiled { entry, re }
            })
            .collect();
        let services = t
            .service
            .into_iter()
            .map(|s| (Regex::new(&s.pattern).expect("every service pattern is tested"), s.name))
            .collect();
        (diagnoses, services)
    })
}

/// The distribution being built from source when the log ends (`Building wheel for greenlet`,
/// uv's `Failed to build `greenlet==3.0.1``).
fn package_in_build(lines: &[String]) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?:Building wheel for|Failed building wheel for|Failed to build|Running setup\.py install for|Collecting|Processing|No matching distribution found for) `?(?:\./)?([A-Za-z0-9_.-]+)",
        )
            .expect("a fixed, tested pattern")
    });
    lines
        .iter()
        .rev()
        .filter_map(|l| re.captures(l))
        .map(|c| c[1].split("==").next().unwrap_or_default().to_string())
        .find(|p| p != "installable" && !p.is_empty())
}

/// The index pip used (`Looking in indexes: https://pypi.python.org/simple`), user-info masked.
fn index_in_build(lines: &[String]) -> Option<String> {
    let url = lines.iter().rev().find_map(|l| l.trim().strip_prefix("Looking in indexes: "))?;
    let url = url.split([',', ' ']).next()?.to_string();
    Some(match url.split_once("://").and_then(|(s, rest)| rest.split_once('@').map(|(_, host)| (s, host))) {
        Some((scheme, host)) => format!("{scheme}://***@{host}"),
        None => url,
    })
}

/// Fills `{1}`, `{2}` (the groups that took part in the match, in order), `{python}`, `{port}`,
/// `{index}`, `{wheels}`, `{python_choice}`, `{site_package}`, `{database}` and `{package}`
/// (`{service}` is filled by [`diagnose`]).
fn fill(
    template: &str,
    groups: &[String],
    facts: &Facts,
    package: Option<&str>,
    index: Option<&str>,
    site: Option<&str>,
) -> String {
    let mut out = template
        .to_string()
        .replace("{site_package}", site.unwrap_or("a dependency"))
        .replace("{index}", &index.map(|i| format!(" at {i}")).unwrap_or_default())
        .replace("{wheels}", &wheels_note(facts, package))
        .replace("{python_choice}", &python_choice(facts, package))
        .replace(
            "{database}",
            &facts
                .database_env
                .as_ref()
                .map(|d| format!(" (the database the service uses comes from {d})"))
                .unwrap_or_default(),
        );
    for (i, g) in groups.iter().enumerate() {
        out = out.replace(&format!("{{{}}}", i + 1), g);
    }
    let python = facts.python.clone().unwrap_or_else(|| "X.Y".into());
    let out = out.replace("{python}", &python).replace("{port}", &facts.port.to_string());
    match package {
        Some(p) => out.replace("{package}", p),
        // At the start of the line the sentence needs its capital.
        None => out.replacen("{package} is", "A dependency is", 1).replace("{package}", "the dependency"),
    }
}

/// Whether `name` publishes no Linux wheel at all: known so (`assets/build_deps.toml`
/// `source_only`), or its file list (lock or index) has no wheel.
fn publishes_no_wheels(name: &str, facts: &Facts) -> bool {
    let name = crate::scan::normalize(name);
    crate::scan::build_deps::source_only(&name) || facts.wheel_pythons.get(&name).is_some_and(|w| w.minors.is_empty())
}

/// Whether pip was installing the project's own folder (`Processing /app`, `Processing ./`).
fn builds_the_project(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        let t = l.trim();
        t == "Processing /app"
            || t.starts_with("Processing /app/")
            || t.starts_with("Processing ./")
            || t == "Processing ."
    })
}

/// `{debian}` and `{build_package}` for the file a message is about (`sql.h`, `pg_config`).
fn debian_words(file: Option<&str>, facts: &Facts) -> (String, String) {
    let python = facts.python.clone().unwrap_or_else(|| "3".into());
    match file.and_then(|f| crate::scan::build_deps::package_for_file(f, &python)) {
        Some((debian, _)) => (
            format!("the Debian package {debian}"),
            format!("--build-package {debian} (pyslim.toml: build_packages = [\"{debian}\"])"),
        ),
        None => (
            "a library's -dev package".to_string(),
            match file {
                Some(f) => format!(
                    "--build-package NAME-dev, the Debian package that has {f} (`apt-file search {f}` names it)"
                ),
                None => "--build-package NAME-dev, the Debian package the log above asks for".to_string(),
            },
        ),
    }
}

/// The first entry of `phase` (in table order) that matches one of `lines` (the last matching
/// line wins), with the groups that took part in the match.
fn matching(phase: Phase, lines: &[String]) -> Option<(&'static Compiled, Vec<String>)> {
    table().iter().filter(|c| c.entry.phase == phase).find_map(|c| {
        let caps = lines.iter().rev().find_map(|l| c.re.captures(l.trim_end()))?;
        Some((c, caps.iter().skip(1).flatten().map(|m| m.as_str().trim().to_string()).collect()))
    })
}

/// The Debian package a failed build's log asks for, with the file it lacked (`unixodbc-dev`
/// for `sql.h`): when the cause is a missing header or tool that `assets/build_deps.toml` knows.
/// A front end can build again with it (`--build-package`).
pub fn missing_package(lines: &[String], facts: &Facts) -> Option<(String, String)> {
    let (c, groups) = matching(Phase::Build, lines)?;
    if !c.entry.hint.contains("{build_package}") {
        return None;
    }
    let file = c.entry.file.clone().or_else(|| groups.first().cloned())?;
    let python = facts.python.clone().unwrap_or_else(|| "3".into());
    let (debian, _) = crate::scan::build_deps::package_for_file(&file, &python)?;
    Some((debian, file))
}

/// The first entry of `phase` (in table order) that matches one of `lines` (the last matching
/// line wins), with its templates filled.
pub fn diagnose(phase: Phase, lines: &[String], facts: &Facts) -> Option<Diagnosis> {
    if let Some((c, groups)) = matching(phase, lines) {
        let package = package_in_build(lines);
        let index = index_in_build(lines);
        let site = site_package_frames(lines).pop();
        let service = service_in_log(lines).unwrap_or("a service (a database, Redis, ...)");
        let file = c.entry.file.as_deref().or(groups.first().map(String::as_str));
        let (debian, build_package) = debian_words(file, facts);
        let fill = |t: &str| {
            fill(t, &groups, facts, package.as_deref(), index.as_deref(), site.as_deref())
                .replace("{service}", service)
                .replace("{debian}", &debian)
                .replace("{build_package}", &build_package)
        };
        // A package without any wheel (or the project itself) is never told to choose a Python
        // it has wheels for.
        let subject = package.as_deref().or(groups.first().map(String::as_str));
        let own =
            subject.is_some_and(|p| builds_the_project(lines) && !facts.pins.contains_key(&crate::scan::normalize(p)));
        let no_wheels = own || subject.is_some_and(|p| publishes_no_wheels(p, facts));
        let (cause, hint) = match (no_wheels, &c.entry.source_only_cause, &c.entry.source_only_hint) {
            (true, cause, hint) => (cause.as_ref().unwrap_or(&c.entry.cause), hint.as_ref().unwrap_or(&c.entry.hint)),
            (false, _, _) => (&c.entry.cause, &c.entry.hint),
        };
        let subject = subject.unwrap_or("the dependency");
        let source_build = if own {
            format!("{subject} (the project itself) compiles from its source")
        } else {
            format!("{subject} publishes no wheels, so it always compiles from source")
        };
        let fill = |t: &str| fill(&t.replace("{source_build}", &source_build));
        return Some(Diagnosis { kind: c.entry.kind.clone(), cause: fill(cause), hint: fill(hint) });
    }
    None
}

/// The last log line worth quoting (a traceback's final line rather than a blank or a frame).
pub fn last_words(lines: &[String]) -> Option<String> {
    lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("File \"") && !l.starts_with('^') && !l.starts_with('~'))
        .map(|l| {
            let mut s: String = l.chars().take(160).collect();
            if l.chars().count() > 160 {
                s.push('…');
            }
            s
        })
}

/// The last line of a failed step that names an error (`ValueError: ...`, `ERROR: ...`), for a
/// failure no pattern knows.
pub fn error_line(lines: &[String]) -> Option<String> {
    let pick = |pred: &dyn Fn(&str) -> bool| {
        lines.iter().rev().map(|l| l.trim()).find(|l| pred(l)).map(|l| l.chars().take(200).collect::<String>())
    };
    pick(&|l| l.contains("Error: ") || l.contains("Exception: "))
        .or_else(|| pick(&|l| l.starts_with("ERROR") || l.starts_with("error:") || l.starts_with("E:")))
}

/// Why a build failed when no pattern of `assets/diagnoses.toml` knows its words: the step and
/// the last line of its output that names an error, else the last line it printed, else the
/// daemon's message. Every failed build gets a cause this way.
pub fn build_failure(step: Option<&str>, lines: &[String], message: &str) -> Diagnosis {
    let said = error_line(lines).or_else(|| last_words(lines)).filter(|l| !l.is_empty());
    let step = step.map(|s| super::events::shorten(s.trim(), 70));
    let cause = match (step, said) {
        (Some(step), Some(line)) => format!("the build step `{step}` failed: {line}"),
        (None, Some(line)) => format!("the build failed: {line}"),
        (Some(step), None) => format!("the build step `{step}` failed: {}", message.trim()),
        (None, None) => format!("the build failed: {}", message.trim()),
    };
    Diagnosis {
        kind: "build-failed".into(),
        cause,
        hint: "the build log above shows the failing command's output; `pyslim dockerfile` prints the Dockerfile \
               to try by hand"
            .into(),
    }
}

/// How a verify run ended, for the fallback when no pattern names the cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFailure {
    /// The container stopped with this exit code.
    Exited(i64),
    /// It answered, but only with this status (500 and up).
    Http(u16),
    /// Nothing answered on the port in time.
    NoAnswer,
    /// Verify itself could not run (no probe, container did not start).
    Other,
}

/// Why a service did not start: a pattern in its logs, else the outcome itself with the last
/// log line quoted.
pub fn start_failure(failure: StartFailure, log_tail: &[String], facts: &Facts) -> Diagnosis {
    if let Some((name, file, line)) = unset_env_in_traceback(log_tail, facts) {
        // what the missing value caused, unless that is the same missing variable (KeyError)
        let raised = match diagnose(Phase::Start, log_tail, facts) {
            Some(d) if d.kind == "env-missing" => String::new(),
            Some(d) => format!(": {}", d.cause),
            None => last_words(log_tail).map(|l| format!(" ({l})")).unwrap_or_default(),
        };
        return Diagnosis {
            kind: "env-missing".into(),
            cause: format!(
                "the app reads the environment variable {name} at start ({file}:{line}) and it is not set{raised}"
            ),
            hint: format!(
                "set it with --env {name}=... (or [verify] env in pyslim.toml; or give it a default in the code)"
            ),
        };
    }
    if let Some(mut d) = diagnose(Phase::Start, log_tail, facts) {
        if matches!(d.kind.as_str(), "app-error" | "import-error")
            && let Some((why, hint)) = unpinned_raiser(log_tail, facts)
        {
            d.cause.push_str(&why);
            d.hint = hint;
        }
        // The status says more than "the app raised" when it answered at all.
        return match failure {
            StartFailure::Http(code) => Diagnosis { cause: format!("answered HTTP {code}: {}", d.cause), ..d },
            _ => d,
        };
    }
    let said = last_words(log_tail).map(|l| format!(" (last log line: {l})")).unwrap_or_default();
    match failure {
        StartFailure::Exited(code) => Diagnosis {
            kind: "app-exited".into(),
            cause: format!("the app exited with code {code} at start{said}"),
            hint: "run the image to see its whole output (`docker run --rm IMAGE`); fix the start command with \
                   --entrypoint or the configuration with --env KEY=VALUE"
                .into(),
        },
        StartFailure::Http(code) => Diagnosis {
            kind: "http-error".into(),
            cause: format!("the app started but answered HTTP {code}{said}"),
            hint: "the container's last log lines show the error; a missing build step (collectstatic), setting \
                   (--env KEY=VALUE) or database is the usual cause"
                .into(),
        },
        StartFailure::NoAnswer => Diagnosis {
            kind: "no-port".into(),
            cause: format!("nothing answered HTTP on port {} in time{said}", facts.port),
            hint: format!(
                "make the server listen on 0.0.0.0:{0} (not 127.0.0.1), or tell pyslim its port with --port N; \
                 a slow start needs a longer --timeout",
                facts.port
            ),
        },
        StartFailure::Other => Diagnosis {
            kind: "verify-error".into(),
            cause: format!("verify could not run the image{said}"),
            hint: "see the detail above; check the daemon with `docker run --rm IMAGE`".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts { python: Some("3.13".into()), port: 8000, ..Default::default() }
    }

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn pip_26_failed_builds_name_the_packages_not_the_word_installable() {
        let one = lines(&[
            "      error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1",
            "  ERROR: Failed building wheel for asyncpg",
            "Failed to build asyncpg",
            "error: failed-wheel-build-for-install",
            "× Failed to build installable wheels for some pyproject.toml based projects",
            "╰─> asyncpg",
        ]);
        let d = diagnose(Phase::Build, &one, &facts()).unwrap();
        assert_eq!(d.kind, "no-wheel");
        assert!(d.cause.starts_with("asyncpg has no wheel for Python 3.13"), "{}", d.cause);
        let three = lines(&[
            "Failed to build httptools uvloop watchfiles",
            "× Failed to build installable wheels for some pyproject.toml based projects",
            "╰─> httptools, uvloop, watchfiles",
        ]);
        let d = diagnose(Phase::Build, &three, &facts()).unwrap();
        assert!(d.cause.starts_with("httptools uvloop watchfiles have no wheel"), "{}", d.cause);
    }

    #[test]
    fn an_unset_variable_read_on_a_frame_of_the_traceback_is_the_cause() {
        let log = lines(&[
            "Traceback (most recent call last):",
            "  File \"/app/backend/constants.py\", line 16, in <module>",
            "    REDIS = _Redis.from_url(os.getenv(\"REDIS_URL\"))",
            "ValueError: Redis URL must specify one of the following schemes (redis://, rediss://, unix://)",
        ]);
        let mut f = facts();
        f.unset_env = vec![("REDIS_URL".into(), "backend/constants.py".into(), 16)];
        let d = start_failure(StartFailure::Exited(1), &log, &f);
        assert_eq!(d.kind, "env-missing");
        assert!(
            d.cause.starts_with(
                "the app reads the environment variable REDIS_URL at start (backend/constants.py:16) and it is not set"
            ),
            "{}",
            d.cause
        );
        assert!(d.cause.contains("Redis URL must specify"), "the error it caused is kept: {}", d.cause);
        assert!(d.hint.contains("--env REDIS_URL="), "{}", d.hint);
        // a KeyError for it says it once
        let key = lines(&["  File \"/app/config.py\", line 45, in <module>", "KeyError: 'SERVER_NAME'"]);
        f.unset_env = vec![("SERVER_NAME".into(), "config.py".into(), 45)];
        assert_eq!(
            start_failure(StartFailure::Exited(1), &key, &f).cause,
            "the app reads the environment variable SERVER_NAME at start (config.py:45) and it is not set"
        );
        f.unset_env = vec![("REDIS_URL".into(), "backend/constants.py".into(), 16)];
        // another line of the same file is not the read
        f.unset_env = vec![("REDIS_URL".into(), "backend/constants.py".into(), 17)];
        assert_ne!(start_failure(StartFailure::Exited(1), &log, &f).kind, "env-missing");
    }

    #[test]
    fn needs_service_names_the_service_from_its_client_library() {
        let lines = |l: &str| vec!["Traceback (most recent call last):".to_string(), l.to_string()];
        let pg = diagnose(Phase::Start, &lines("psycopg2.OperationalError: Connection refused"), &facts()).unwrap();
        assert_eq!(pg.kind, "needs-service");
        assert!(pg.cause.starts_with("the app connects to PostgreSQL outside the image"), "{}", pg.cause);
        let redis =
            diagnose(Phase::Start, &lines("redis.exceptions.ConnectionError: Error 111 connecting"), &facts()).unwrap();
        assert!(redis.cause.contains("connects to Redis outside"), "{}", redis.cause);
        let other = diagnose(Phase::Start, &lines("ConnectionRefusedError: [Errno 111]"), &facts()).unwrap();
        assert!(other.cause.contains("connects to a service (a database, Redis, ...) outside"), "{}", other.cause);
        for (re, name) in services() {
            assert!(!name.is_empty() && !re.as_str().is_empty());
        }
    }

    #[test]
    fn every_entry_parses_and_matches_its_sample() {
        for c in table() {
            let got = diagnose(c.entry.phase, std::slice::from_ref(&c.entry.sample), &facts());
            let got = got.unwrap_or_else(|| panic!("{}: sample does not match: {}", c.entry.kind, c.entry.sample));
            assert!(!got.cause.contains('{') && !got.hint.contains("{1}"), "{got:?}");
            assert!(!got.cause.is_empty() && !got.hint.is_empty());
        }
    }

    #[test]
    fn every_entry_is_reachable() {
        // An entry shadowed by an earlier one of the same phase for its own sample is dead data.
        for c in table() {
            let got = diagnose(c.entry.phase, std::slice::from_ref(&c.entry.sample), &facts()).unwrap();
            assert_eq!(got.kind, c.entry.kind, "sample of {} is claimed by {}", c.entry.pattern, got.kind);
        }
    }

    #[test]
    fn specific_causes_win_over_generic_ones() {
        let log = lines(&[
            "Building wheel for psycopg2 (setup.py): started",
            "Error: pg_config executable not found.",
            "ERROR: Failed building wheel for psycopg2",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(d.kind, "missing-tool");
        // psycopg2 publishes no wheels: no Python to choose, the package to install
        assert!(d.cause.starts_with("psycopg2 publishes no wheels") && d.cause.contains("pg_config"), "{d:?}");
        assert!(d.hint.starts_with("install it in the builder with --build-package libpq-dev"), "{d:?}");
        assert!(!d.hint.contains("--python"), "{d:?}");
        let gcc = lines(&[
            "  Building wheel for greenlet (pyproject.toml): started",
            "  error: command 'gcc' failed: No such file or directory",
        ]);
        let d = diagnose(Phase::Build, &gcc, &facts()).unwrap();
        assert_eq!(d.kind, "missing-tool");
        assert!(d.cause.starts_with("greenlet is compiled from source (no wheel for Python 3.13)"), "{d:?}");
        assert!(d.hint.starts_with("choose a Python greenlet has wheels for with --python"), "{d:?}");
        let d = diagnose(Phase::Build, &lines(&["/bin/sh: 1: gcc: not found"]), &facts()).unwrap();
        assert!(d.cause.starts_with("A dependency is compiled"), "{d:?}");
        let d = diagnose(Phase::Build, &lines(&["  ERROR: Failed building wheel for greenlet"]), &facts()).unwrap();
        assert_eq!(d.cause, "greenlet has no wheel for Python 3.13, and building it from source failed");
        assert!(d.hint.contains("--python"), "{d:?}");
        let uv = lines(&["  × Failed to build `greenlet==3.0.1`"]);
        assert_eq!(diagnose(Phase::Build, &uv, &facts()).unwrap().cause.split(' ').next(), Some("greenlet"));
    }

    #[test]
    fn start_failures_name_the_variable_or_module() {
        let tb = lines(&[
            "Traceback (most recent call last):",
            "  File \"/app/config.py\", line 4, in <module>",
            "    SERVER_NAME = os.environ['SERVER_NAME']",
            "KeyError: 'SERVER_NAME'",
        ]);
        let d = start_failure(StartFailure::Exited(1), &tb, &facts());
        assert_eq!(d.kind, "env-missing");
        assert_eq!(d.hint, "set it with --env SERVER_NAME=... (or give it a default in the code)");
        let d = start_failure(
            StartFailure::Exited(1),
            &lines(&["ModuleNotFoundError: No module named 'altair'"]),
            &facts(),
        );
        assert!(d.cause.contains("altair"), "{d:?}");
    }

    #[test]
    fn fallbacks_say_what_happened() {
        let d = start_failure(StartFailure::Exited(3), &lines(&["bye"]), &facts());
        assert_eq!(d.cause, "the app exited with code 3 at start (last log line: bye)");
        let d = start_failure(StartFailure::NoAnswer, &[], &facts());
        assert!(d.cause.contains("port 8000") && d.hint.contains("0.0.0.0:8000"), "{d:?}");
        let d = start_failure(StartFailure::Http(500), &lines(&["GET / 500", "Internal Server Error"]), &facts());
        assert_eq!(d.kind, "http-error");
        assert!(d.cause.contains("HTTP 500") && d.cause.contains("Internal Server Error"), "{d:?}");
        let d = start_failure(
            StartFailure::Http(500),
            &lines(&["ValueError: Missing staticfiles manifest entry"]),
            &facts(),
        );
        assert!(d.cause.starts_with("answered HTTP 500: the app raised ValueError"), "{d:?}");
    }

    #[test]
    fn project_and_metadata_failures() {
        let log = lines(&[
            "      ValueError: Unable to determine which files to ship inside the wheel using the following heuristics",
            "error: metadata-generation-failed",
        ]);
        assert_eq!(diagnose(Phase::Build, &log, &facts()).unwrap().kind, "project-build");
        let log = lines(&["Collecting psycopg2==2.7.3", "error: metadata-generation-failed"]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert!(d.cause.starts_with("psycopg2's package metadata"), "{d:?}");
        let tail = lines(&["  File \"x.py\", line 1", "      RuntimeError: boom", "hint: See above for details."]);
        assert_eq!(error_line(&tail).as_deref(), Some("RuntimeError: boom"));
    }

    #[test]
    fn the_unreachable_index_is_named_without_its_token() {
        let log = lines(&[
            "Looking in indexes: https://deploy:s3cret@pypi.example.com/simple",
            "WARNING: Retrying ... Failed to establish a new connection: [Errno -2] Name or service not known",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(
            d.cause,
            "the build could not reach the package index at https://***@pypi.example.com/simple (network, DNS or proxy)"
        );
    }

    #[test]
    fn a_pin_for_another_python_and_meson_without_pkg_config() {
        let log = lines(&[
            "ERROR: Ignored the following versions that require a different python version: 6.0 Requires-Python >=3.12; 6.1 Requires-Python >=3.12",
            "ERROR: Could not find a version that satisfies the requirement Django<6.1,>=6.0 (from versions: 1.1.3)",
            "ERROR: No matching distribution found for Django<6.1,>=6.0",
        ]);
        let d = diagnose(Phase::Build, &log, &Facts { python: Some("3.11".into()), port: 8000, ..Default::default() })
            .unwrap();
        assert_eq!(d.cause, "Django needs Python >=3.12, and the build uses Python 3.11");
        let log = lines(&[
            "Collecting pycairo",
            "../cairo/meson.build:31:12: ERROR: Dependency lookup for cairo with method 'pkg-config' failed: Pkg-config for machine host machine not found. Giving up.",
            "error: metadata-generation-failed",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert!(d.cause.starts_with("pycairo publishes no wheels, so it always compiles from source"), "{d:?}");
    }

    #[test]
    fn a_locked_package_names_the_pythons_it_has_wheels_for() {
        let mut f = facts();
        f.wheel_pythons.insert(
            "psycopg2-binary".into(),
            crate::scan::WheelPythons {
                version: "2.9.3".into(),
                minors: vec!["3.8".into(), "3.9".into(), "3.10".into()],
                from: "poetry.lock".into(),
            },
        );
        let log = lines(&[
            "  Building wheel for psycopg2-binary (setup.py): started",
            "Error: pg_config executable not found.",
        ]);
        let d = diagnose(Phase::Build, &log, &f).unwrap();
        assert_eq!(
            d.cause,
            "psycopg2-binary is compiled from source (no wheel for Python 3.13; psycopg2-binary 2.9.3 has wheels \
             for Python 3.8 to 3.10 (per poetry.lock)) and the builder has no pg_config (the Debian package libpq-dev)"
        );
        let d = diagnose(Phase::Build, &lines(&["ERROR: Failed building wheel for greenlet"]), &f).unwrap();
        assert_eq!(d.cause, "greenlet has no wheel for Python 3.13, and building it from source failed");
    }

    #[test]
    fn an_index_pin_names_its_wheels_and_the_python_to_choose() {
        let mut f = facts();
        let wp = |minors: &[&str]| crate::scan::WheelPythons {
            version: "0.29.0".into(),
            minors: minors.iter().map(|m| m.to_string()).collect(),
            from: "https://pypi.org/simple/".into(),
        };
        f.wheel_pythons.insert("asyncpg".into(), wp(&["3.8", "3.9", "3.10", "3.11", "3.12"]));
        let log = lines(&[
            "  Building wheel for asyncpg (pyproject.toml): finished",
            "  ERROR: Failed building wheel for asyncpg",
        ]);
        let d = diagnose(Phase::Build, &log, &f).unwrap();
        assert_eq!(
            d.cause,
            "asyncpg has no wheel for Python 3.13; asyncpg 0.29.0 has wheels for Python 3.8 to 3.12 \
             (per https://pypi.org/simple/), and building it from source failed"
        );
        assert!(d.hint.starts_with("choose a Python that asyncpg has wheels for with --python 3.12,"), "{d:?}");
        // wheels only for Pythons no image exists for: said, and no version offered
        f.wheel_pythons.insert("asyncpg".into(), wp(&["3.6"]));
        let d = diagnose(Phase::Build, &log, &f).unwrap();
        assert!(
            d.cause.contains(
                "wheels for Python 3.6 only (per https://pypi.org/simple/), none of them a Python with an image"
            ),
            "{d:?}"
        );
        assert!(d.hint.contains("--python X.Y"), "{d:?}");
    }

    #[test]
    fn several_failed_source_builds_are_named_together() {
        let log = lines(&[
            "Failed to build httptools uvloop watchfiles",
            "ERROR: Failed to build installable wheels for some pyproject.toml based projects (httptools, uvloop, watchfiles)",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(d.kind, "no-wheel");
        assert!(d.cause.starts_with("httptools, uvloop, watchfiles have no wheel for Python 3.13"), "{d:?}");
    }

    #[test]
    fn an_old_release_that_imports_abcs_from_collections_is_named() {
        let tb = lines(&[
            "  File \"/opt/venv/lib/python3.11/site-packages/werkzeug/datastructures.py\", line 16, in <module>",
            "    from collections import Container, Iterable, MutableSet",
            "ImportError: cannot import name 'Container' from 'collections' (/usr/lib/python3.11/collections/__init__.py)",
        ]);
        let d = start_failure(StartFailure::Exited(1), &tb, &facts());
        assert_eq!(d.kind, "python-too-new");
        assert!(d.cause.starts_with("werkzeug imports Container from collections, which Python 3.10 removed"), "{d:?}");
        assert!(d.hint.contains("--python 3.9"), "{d:?}");
    }

    #[test]
    fn an_error_inside_an_unpinned_distribution_says_so() {
        let tb = lines(&[
            "  File \"/app/app/models/pydantic.py\", line 4, in <module>",
            "  File \"/opt/venv/lib/python3.11/site-packages/tortoise/contrib/pydantic/creator.py\", line 428, in pydantic_model_creator",
            "  File \"/opt/venv/lib/python3.11/site-packages/pydantic/main.py\", line 1937, in create_model",
            "pydantic.errors.PydanticUserError: `model_config` cannot be used as a model field name.",
        ]);
        let mut f = facts();
        f.pins.insert("tortoise-orm".into(), "0.20.0".into());
        f.pins.insert("pydantic-settings".into(), "2.1.0".into());
        let d = start_failure(StartFailure::Exited(3), &tb, &f);
        assert_eq!(d.kind, "app-error");
        assert!(
            d.cause.ends_with(
                "(raised in pydantic, which the project does not pin, so pip installed its newest release, called \
                 from tortoise-orm 0.20.0, which it pins)"
            ),
            "{d:?}"
        );
        assert!(d.hint.starts_with("pin pydantic to a release that tortoise-orm 0.20.0 was made for"), "{d:?}");
        // pinned: nothing added
        f.pins.insert("pydantic".into(), "2.5.3".into());
        let d = start_failure(StartFailure::Exited(3), &tb, &f);
        assert!(!d.cause.contains("does not pin"), "{d:?}");
    }

    #[test]
    fn version_control_failures_name_the_host_and_never_a_token() {
        let log = lines(&[
            "Collecting greeting@ git+https://deploy:s3cret@git.example.invalid/acme/greeting.git@1048839",
            "  Running command git clone --filter=blob:none --quiet https://deploy:****@git.example.invalid/acme/greeting.git /tmp/pip-install-x/greeting",
            "  fatal: unable to access 'https://deploy:s3cret@git.example.invalid/acme/greeting.git/': Could not resolve host: git.example.invalid",
            "  error: subprocess-exited-with-error",
            "ERROR: Could not fetch URL https://pypi.org/simple/x/: Temporary failure in name resolution",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(d.kind, "vcs-unreachable");
        assert_eq!(
            d.cause,
            "the build could not reach git.example.invalid, the git host of greeting, a dependency installed from its \
             repository (https://git.example.invalid/acme/greeting.git/: Could not resolve host: git.example.invalid)"
        );
        assert!(!d.cause.contains("s3cret") && !d.hint.contains("s3cret"), "{d:?}");
        // git's own protocol, and a repository that needs credentials
        let git = lines(&[
            "fatal: unable to connect to git.example.invalid:",
            "git.example.invalid[0: ...]: errno=Name or service not known",
        ]);
        let d = diagnose(Phase::Build, &git, &facts()).unwrap();
        assert_eq!(d.kind, "vcs-unreachable", "before the index's `Name or service not known`");
        assert!(
            d.cause.starts_with("the build could not reach git.example.invalid, the git host of the dependency"),
            "{d:?}"
        );
        let private = lines(&["fatal: could not read Username for 'https://github.com': No such device or address"]);
        assert!(diagnose(Phase::Build, &private, &facts()).unwrap().cause.contains("needs credentials"));
        // the hash refusal of an export with hashes beside a repository
        let refused = lines(&[
            "ERROR: Can't verify hashes for these requirements because we don't have a way to hash version control repositories:",
            "    greeting@ git+http://127.0.0.1:18931/greeting.git@9c98bd2 from git+http://127.0.0.1:18931/greeting.git@9c98bd2 (from -r /tmp/requirements.txt (line 1))",
        ]);
        let d = diagnose(Phase::Build, &refused, &facts()).unwrap();
        assert_eq!(d.kind, "vcs-hashes");
        assert!(d.hint.contains("--without-hashes"), "{d:?}");
        // no git in the builder
        let pdm = lines(&[
            "[PdmUsageError]: Hash is not available for 'greeting @ git+https://git.example.com/acme/greeting.git@1048839', please export with `--no-hashes` option.",
        ]);
        assert_eq!(diagnose(Phase::Build, &pdm, &facts()).unwrap().kind, "vcs-hashes");
        let nogit = lines(&["ERROR: Cannot find command 'git' - do you have 'git' installed and in your PATH?"]);
        assert!(diagnose(Phase::Build, &nogit, &facts()).unwrap().cause.contains("has no git"));
    }

    #[test]
    fn a_build_failure_no_pattern_knows_quotes_its_error_line() {
        // A Pipenv export of an old lock that crashed: no pattern, the error line is the cause.
        let log = lines(&[
            "  File \"/opt/pipenv/lib/python3.13/site-packages/pipenv/routines/requirements.py\", line 31, in requirements_from_deps",
            "    version = package_info[\"version\"]",
            "KeyError: 'version'",
        ]);
        assert_eq!(diagnose(Phase::Build, &log, &facts()), None);
        let d = build_failure(
            Some("RUN /opt/pipenv/bin/pipenv requirements > /tmp/requirements.txt"),
            &log,
            "exit code: 1",
        );
        assert_eq!(d.kind, "build-failed");
        assert_eq!(
            d.cause,
            "the build step `RUN /opt/pipenv/bin/pipenv requirements > /tmp/requirements.txt` failed: KeyError: 'version'"
        );
        // no error line: the last words; no log at all: the daemon's message
        let d = build_failure(None, &lines(&["building...", "Killed"]), "exit code: 137");
        assert_eq!(d.cause, "the build failed: Killed");
        let d = build_failure(Some("RUN make"), &[], "exit code: 2");
        assert_eq!(d.cause, "the build step `RUN make` failed: exit code: 2");
    }

    #[test]
    fn a_missing_header_names_its_debian_package_and_the_flag() {
        let log = lines(&[
            "  Building wheel for pyodbc (pyproject.toml): started",
            "      src/pyodbc.h:56:10: fatal error: sql.h: No such file or directory",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(
            d.cause,
            "pyodbc is compiled from source (no wheel for Python 3.13) and the header sql.h is missing: the Debian \
             package unixodbc-dev has it"
        );
        assert!(
            d.hint.starts_with(
                "install it in the builder with --build-package unixodbc-dev (pyslim.toml: build_packages = [\"unixodbc-dev\"])"
            ),
            "{d:?}"
        );
        for (line, debian) in [
            ("crypt.h: No such file or directory", "libcrypt-dev"),
            ("fatal error: ffi.h: No such file or directory", "libffi-dev"),
            ("fatal error: libxml/xmlversion.h: No such file or directory", "libxml2-dev"),
            ("fatal error: Python.h: No such file or directory", "python3.13-dev"),
            ("OSError: mysql_config not found", "libmariadb-dev"),
            ("Error: pg_config executable not found.", "libpq-dev"),
        ] {
            let d = diagnose(Phase::Build, &lines(&[line]), &facts()).unwrap();
            assert!(d.cause.contains(&format!("the Debian package {debian}")), "{line}: {d:?}");
            assert!(d.hint.contains(&format!("--build-package {debian}")), "{line}: {d:?}");
        }
        // the package a front end builds again with, and the file it lacked
        let log = lines(&["      odbccheck.c:5:10: fatal error: sql.h: No such file or directory"]);
        assert_eq!(missing_package(&log, &facts()), Some(("unixodbc-dev".into(), "sql.h".into())));
        let pg = lines(&["Error: pg_config executable not found."]);
        assert_eq!(missing_package(&pg, &facts()), Some(("libpq-dev".into(), "pg_config".into())));
        assert_eq!(missing_package(&lines(&["fatal error: acme/widget.h: No such file or directory"]), &facts()), None);
        assert_eq!(missing_package(&lines(&["ERROR: ResolutionImpossible"]), &facts()), None);
        // a header the table does not know: how to find its package
        let d = diagnose(Phase::Build, &lines(&["fatal error: acme/widget.h: No such file or directory"]), &facts());
        assert!(d.unwrap().hint.contains("`apt-file search acme/widget.h`"));
    }

    #[test]
    fn a_package_without_wheels_is_never_told_to_choose_a_python() {
        // uWSGI publishes no wheels: every build failure of it, whatever the words
        for log in [
            &["  Building wheel for uwsgi (setup.py): started", "  ERROR: Failed building wheel for uwsgi"][..],
            &[
                "  Building wheel for uwsgi (setup.py): started",
                "error: command 'gcc' failed: No such file or directory",
            ],
            &[
                "  Building wheel for uwsgi (setup.py): started",
                "  plugins/python/uwsgi_python.h:2:10: fatal error: Python.h: No such file or directory",
            ],
            &["Collecting uwsgi==2.0.23", "error: metadata-generation-failed"],
        ] {
            let d = diagnose(Phase::Build, &lines(log), &facts()).unwrap();
            assert!(!d.hint.contains("has wheels for") && !d.hint.contains("they have wheels"), "{log:?}: {d:?}");
            assert!(!d.cause.contains("no wheel for Python"), "{log:?}: {d:?}");
        }
        // the same from the index's answer: a pin whose file list has no wheel
        let mut f = facts();
        f.wheel_pythons.insert(
            "feedparser-c".into(),
            crate::scan::WheelPythons { version: "1.0".into(), minors: vec![], from: "poetry.lock".into() },
        );
        let d = diagnose(Phase::Build, &lines(&["  ERROR: Failed building wheel for feedparser-c"]), &f).unwrap();
        assert!(d.cause.starts_with("feedparser-c publishes no wheels"), "{d:?}");
        // and every entry whose hint offers another Python has words for this case
        for c in table() {
            if c.entry.hint.contains("wheels for") {
                assert!(
                    c.entry.source_only_hint.is_some(),
                    "{} ({}) needs a source_only_hint",
                    c.entry.kind,
                    c.entry.pattern
                );
            }
        }
    }

    #[test]
    fn the_projects_own_extension_is_not_told_to_choose_a_python() {
        let log = lines(&[
            "Processing /app",
            "  Building wheel for odbc-status (pyproject.toml): started",
            "      odbccheck.c:5:10: fatal error: sql.h: No such file or directory",
        ]);
        let d = diagnose(Phase::Build, &log, &facts()).unwrap();
        assert_eq!(
            d.cause,
            "odbc-status (the project itself) compiles from its source, and the header sql.h is missing: the Debian \
             package unixodbc-dev has it"
        );
        assert!(!d.hint.contains("--python"), "{d:?}");
    }

    #[test]
    fn nothing_known_is_none() {
        assert_eq!(diagnose(Phase::Build, &lines(&["all good", ""]), &facts()), None);
    }
}
