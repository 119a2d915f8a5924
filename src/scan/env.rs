//! Environment variables the service cannot start without: read when its modules are imported
//! (module or class level) with no default, in the modules the entrypoint imports (its app
//! module, what that imports from the project, Django's settings), e.g. `os.environ["SERVER_NAME"]`
//! in a config class, or `Redis.from_url(os.getenv("REDIS_URL"))`. Owns the first-party import
//! closure and the `required_env` facts; reading the reads is `pycode`'s job.

use std::collections::BTreeSet;

use super::pycode::Code;
use super::{Fact, Framework, ScanReport};

/// The file of a module (`pkg.mod` -> `pkg/mod.py` or `pkg/mod/__init__.py`), under the source
/// folder or the root.
fn module_file(code: &Code, source_dir: Option<&str>, module: &str) -> Option<String> {
    let path = module.replace('.', "/");
    let mut candidates = Vec::new();
    if let Some(sd) = source_dir.filter(|s| !s.is_empty()) {
        candidates.push(format!("{sd}/{path}.py"));
        candidates.push(format!("{sd}/{path}/__init__.py"));
    }
    candidates.push(format!("{path}.py"));
    candidates.push(format!("{path}/__init__.py"));
    candidates.into_iter().find(|c| code.file(c).is_some())
}

/// A relative import (`.base`, `..config`, `.`) from `file`, as a file.
fn relative_file(code: &Code, file: &str, rel: &str) -> Option<String> {
    let dots = rel.chars().take_while(|c| *c == '.').count();
    let rest = &rel[dots..];
    let mut dir: Vec<&str> = file.split('/').collect();
    dir.pop(); // the file itself
    for _ in 1..dots {
        dir.pop()?;
    }
    let base = dir.join("/");
    let path = if rest.is_empty() {
        base.clone()
    } else if base.is_empty() {
        rest.replace('.', "/")
    } else {
        format!("{base}/{}", rest.replace('.', "/"))
    };
    [format!("{path}.py"), format!("{path}/__init__.py")].into_iter().find(|c| code.file(c).is_some())
}

/// Every first-party file imported (transitively) from `start`, `start` included.
pub fn closure(code: &Code, source_dir: Option<&str>, start: &[String]) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = start.iter().filter(|f| code.file(f).is_some()).cloned().collect();
    while let Some(f) = queue.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        let Some(pf) = code.file(&f) else { continue };
        for (m, _) in &pf.imports {
            // `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` too
            let parts: Vec<&str> = m.split('.').collect();
            for i in 1..=parts.len() {
                if let Some(file) = module_file(code, source_dir, &parts[..i].join(".")) {
                    queue.push(file);
                }
            }
        }
        for rel in &pf.relative_imports {
            if let Some(file) = relative_file(code, &f, rel) {
                queue.push(file);
            }
        }
    }
    seen.into_iter().collect()
}

/// The files the entrypoint starts from: the app's module or script, and Django's settings.
fn start_files(report: &ScanReport, code: &Code) -> Vec<String> {
    let sd = report.source_dir.as_deref();
    let mut out = Vec::new();
    if let Some(app) = &report.app {
        let v = app.value.as_str();
        if v.ends_with(".py") {
            out.push(v.to_string());
        } else if let Some((m, _)) = v.split_once(':')
            && let Some(f) = module_file(code, sd, m)
        {
            out.push(f);
        }
    }
    if let Some(e) = &report.entrypoint {
        let argv = &e.value;
        if let Some(script) = argv.iter().skip(1).find(|a| a.ends_with(".py") && !a.ends_with("manage.py")) {
            out.push(script.clone());
        }
        if let Some(i) = argv.iter().position(|a| a == "-m")
            && let Some(f) = argv.get(i + 1).and_then(|m| module_file(code, sd, m))
        {
            out.push(f);
        }
    }
    if report.framework.as_ref().is_some_and(|f| f.value == Framework::Django) {
        for f in &code.files {
            for (k, v, _) in &f.env_defaults {
                if k == "DJANGO_SETTINGS_MODULE"
                    && let Some(file) = module_file(code, sd, v)
                {
                    out.push(file);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Fills `required_env` from the modules the entrypoint imports.
pub fn detect(report: &mut ScanReport, code: &Code) {
    let start = start_files(report, code);
    let files = closure(code, report.source_dir.as_deref(), &start);
    let mut out: Vec<Fact<String>> = Vec::new();
    for f in files {
        let Some(pf) = code.file(&f) else { continue };
        for r in &pf.env_required {
            if out.iter().any(|o| o.value == r.name) || r.name == "PORT" {
                continue;
            }
            out.push(Fact::new(
                r.name.clone(),
                format!("{f}:{} ({} when the app is imported, no default)", r.line, r.how),
            ));
        }
    }
    report.required_env = out;
}
