//! The project's Python version (major.minor). Owns the order of the sources, the same order
//! other tools read them: `.python-version`, `runtime.txt`, Pipfile `python_version`,
//! `.tool-versions`, Poetry's `python` constraint, `requires-python` (a range: the newest
//! `python:3.X-slim` in the catalogue that the range allows and for which the lockfile has a Linux
//! wheel of every compiled runtime dependency), then an existing Dockerfile's `FROM python:3.X`
//! and CI configuration. A fixed version is checked against the lock's wheels and the catalogue.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::catalogue::{self, Family};
use crate::python::PythonVersion;

use super::deps::Project;
use super::dockerfile::Dockerfile;
use super::files::{Ctx, get_str};
use super::{Fact, ScanReport};

pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, project: &Project, docker: Option<&Dockerfile>) {
    let fact = fixed_sources(ctx, report, project).or_else(|| range_sources(ctx, project)).or_else(|| {
        docker.and_then(|d| {
            d.froms.iter().rev().find_map(|(img, line)| {
                python_image_version(img).map(|v| Fact::new(v, format!("{}:{line} (FROM {img})", d.path)))
            })
        })
    });
    let fact = fact.or_else(|| ci_version(ctx));
    if let Some(f) = &fact {
        let v = f.value;
        if !catalogue::versions(Family::PythonSlim).contains(&v) {
            ctx.warn(format!(
                "Python {v} ({}) is not in pyslim's image catalogue; choose another with --python",
                f.source
            ));
        }
        if let Some(lock) = &project.lock {
            for p in lock.missing_wheels(v) {
                ctx.warn(format!(
                    "{} {} has no Linux wheel for Python {v} in {}: it would be compiled from source",
                    p.name, p.version, lock.file
                ));
            }
        }
        if let Some((spec, shown)) = requires_python(project)
            && let Ok(s) = VersionSpecifiers::from_str(&spec)
            && !allows(&s, v)
        {
            ctx.warn(format!("Python {v} ({}) is outside {shown} ({spec})", f.source));
        }
    }
    report.python = fact;
}

/// `.python-version`, `runtime.txt`, Pipfile, `.tool-versions`: a version, not a range.
fn fixed_sources(ctx: &mut Ctx, _report: &ScanReport, project: &Project) -> Option<Fact<PythonVersion>> {
    // .python-version: the root, then each folder up to the build context (uv workspace root).
    let mut dirs = vec![(ctx.root.clone(), String::new())];
    if project.context_dir != ctx.root {
        let mut d = ctx.root.clone();
        let mut prefix = String::new();
        while d != project.context_dir {
            let Some(parent) = d.parent() else { break };
            d = parent.to_path_buf();
            prefix.push_str("../");
            dirs.push((d.clone(), prefix.clone()));
        }
    }
    for (dir, prefix) in dirs {
        let path = dir.join(".python-version");
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let shown = format!("{prefix}.python-version");
        let Some(text) = ctx.read_path(&path, &shown) else { continue };
        for (i, l) in text.lines().enumerate() {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match PythonVersion::parse_loose(t) {
                Some(v) => return Some(Fact::new(v, if i == 0 { shown } else { format!("{shown}:{}", i + 1) })),
                None => {
                    ctx.warn(format!("{shown}:{}: `{t}` is not a CPython 3.X version; ignored", i + 1));
                    break;
                }
            }
        }
    }
    if let Some(text) = ctx.exists("runtime.txt").then(|| ctx.read("runtime.txt")).flatten() {
        let t = text.trim();
        match PythonVersion::parse_loose(t) {
            Some(v) => return Some(Fact::new(v, format!("runtime.txt ({t})"))),
            None => ctx.warn(format!("runtime.txt: `{t}` is not a version like python-3.11.4; ignored")),
        }
    }
    if let Some(pf) = &project.pipfile {
        for key in ["python_version", "python_full_version"] {
            if let Some(s) = get_str(pf, &["requires", key]) {
                match PythonVersion::parse_loose(s) {
                    Some(v) => return Some(Fact::new(v, format!("Pipfile [requires] {key} = \"{s}\""))),
                    None => ctx.warn(format!("Pipfile: [requires] {key} = \"{s}\" is not a version; ignored")),
                }
            }
        }
    }
    if let Some(text) = ctx.exists(".tool-versions").then(|| ctx.read(".tool-versions")).flatten() {
        for (i, l) in text.lines().enumerate() {
            let mut it = l.split_whitespace();
            if it.next() == Some("python")
                && let Some(v) = it.find_map(PythonVersion::parse_loose)
            {
                return Some(Fact::new(v, format!(".tool-versions:{}", i + 1)));
            }
        }
    }
    None
}

/// Poetry's python constraint, then `requires-python`.
fn range_sources(ctx: &mut Ctx, project: &Project) -> Option<Fact<PythonVersion>> {
    let py = project.pyproject.as_ref();
    let poetry = py.and_then(|t| get_str(t, &["tool", "poetry", "dependencies", "python"]));
    let mut ranges: Vec<(String, String)> = Vec::new();
    if let Some(c) = poetry {
        ranges.push((poetry_to_pep440(c), format!("pyproject.toml [tool.poetry.dependencies] python = \"{c}\"")));
    }
    if let Some((spec, shown)) = requires_python(project) {
        ranges.push((spec, shown));
    }
    for (spec, shown) in ranges {
        let alternatives: Vec<VersionSpecifiers> = spec
            .split("||")
            .filter_map(|alt| match VersionSpecifiers::from_str(alt.trim()) {
                Ok(s) => Some(s),
                Err(e) => {
                    ctx.warn(format!("{shown}: `{}` is not a version range ({e}); ignored", alt.trim()));
                    None
                }
            })
            .collect();
        if alternatives.is_empty() {
            continue;
        }
        let offered = catalogue::versions(Family::PythonSlim);
        let allowed: Vec<PythonVersion> =
            offered.iter().copied().filter(|v| alternatives.iter().any(|s| allows(s, *v))).collect();
        let Some(newest) = allowed.last().copied() else {
            ctx.warn(format!("{shown}: no Python version in pyslim's catalogue satisfies it; ignored"));
            continue;
        };
        let Some(lock) = &project.lock else {
            return Some(Fact::new(newest, format!("{shown}: newest catalogue version it allows")));
        };
        let fits = allowed.iter().rev().find(|v| lock.missing_wheels(**v).is_empty()).copied();
        return Some(match fits {
            Some(v) if v == newest => {
                Fact::new(v, format!("{shown}: newest catalogue version it allows, with wheels in {}", lock.file))
            }
            Some(v) => {
                let missing: Vec<String> =
                    lock.missing_wheels(newest).iter().map(|p| format!("{} {}", p.name, p.version)).collect();
                let skipped: Vec<String> =
                    allowed.iter().rev().take_while(|x| **x > v).map(|x| x.to_string()).collect();
                let verb = if skipped.len() == 1 { "lacks" } else { "lack" };
                Fact::new(
                    v,
                    format!(
                        "{shown}: newest version with wheels in {} ({} {verb} wheels for {})",
                        lock.file,
                        skipped.join(", "),
                        missing.join(", ")
                    ),
                )
            }
            None => Fact::new(newest, format!("{shown}: newest catalogue version it allows")),
        });
    }
    None
}

/// The project's `requires-python` and how to name it.
fn requires_python(project: &Project) -> Option<(String, String)> {
    let s = project.pyproject.as_ref().and_then(|t| get_str(t, &["project", "requires-python"]))?;
    Some((s.to_string(), format!("pyproject.toml requires-python \"{s}\"")))
}

/// Whether a range admits some release of a minor version (3.12.4 counts for 3.12).
fn allows(spec: &VersionSpecifiers, v: PythonVersion) -> bool {
    (0..=40u64).any(|patch| spec.contains(&Version::new([u64::from(v.major), u64::from(v.minor), patch])))
}

/// Poetry constraint syntax (`^3.11`, `~3.10`, `>=3.9 <3.13`, `3.11.*`, `||`) -> PEP 440.
fn poetry_to_pep440(c: &str) -> String {
    c.split("||")
        .map(|alt| {
            let mut out: Vec<String> = Vec::new();
            let mut pending_op = String::new();
            for tok in alt.split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()) {
                if tok.chars().all(|ch| "<>=!~^".contains(ch)) {
                    pending_op = tok.to_string();
                    continue;
                }
                let tok = format!("{pending_op}{tok}");
                pending_op.clear();
                out.extend(poetry_token(&tok));
            }
            out.join(",")
        })
        .collect::<Vec<_>>()
        .join("||")
}

fn poetry_token(tok: &str) -> Vec<String> {
    let parts = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<u64>>();
    if tok == "*" {
        return vec![];
    }
    if let Some(v) = tok.strip_prefix('^') {
        let p = parts(v);
        let upper = match p.as_slice() {
            [0, 0, ..] if p.len() > 2 => format!("0.0.{}", p[2] + 1),
            [0, m, ..] => format!("0.{}", m + 1),
            [maj, ..] => format!("{}", maj + 1),
            [] => return vec![],
        };
        return vec![format!(">={v}"), format!("<{upper}")];
    }
    if let Some(v) = tok.strip_prefix('~').filter(|v| !v.starts_with('=')) {
        let p = parts(v);
        let upper = match p.as_slice() {
            [maj] => format!("{}", maj + 1),
            [maj, min, ..] => format!("{maj}.{}", min + 1),
            [] => return vec![],
        };
        return vec![format!(">={v}"), format!("<{upper}")];
    }
    if tok.starts_with(|c: char| c.is_ascii_digit()) {
        return vec![format!("=={tok}")];
    }
    vec![tok.to_string()]
}

/// `python:3.10-slim`, `docker.io/library/python:3.12`, `python:3.11.4-bookworm`.
pub fn python_image_version(image: &str) -> Option<PythonVersion> {
    let last = image.rsplit('/').next()?;
    let (name, tag) = last.split_once(':')?;
    if name != "python" && name != "pypy" {
        return None;
    }
    PythonVersion::parse_loose(tag)
}

/// `.github/workflows/*.yml` `python-version:` (the newest listed), `.gitlab-ci.yml` `image: python:3.X`.
fn ci_version(ctx: &mut Ctx) -> Option<Fact<PythonVersion>> {
    let mut found: Option<Fact<PythonVersion>> = None;
    let wf = ctx.root.join(".github/workflows");
    let mut names: Vec<String> = std::fs::read_dir(&wf)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    for n in names {
        let rel = format!(".github/workflows/{n}");
        let Some(text) = ctx.read(&rel) else { continue };
        for (i, l) in text.lines().enumerate() {
            let t = l.trim().trim_start_matches("- ");
            let Some(rest) = t.strip_prefix("python-version:").or_else(|| t.strip_prefix("python:")) else { continue };
            let versions: Vec<PythonVersion> = rest
                .split(|c: char| c == ',' || c == '[' || c == ']' || c.is_whitespace())
                .map(|s| s.trim_matches(|c| c == '"' || c == '\''))
                .filter_map(PythonVersion::parse_loose)
                .collect();
            if let Some(v) = versions.into_iter().max()
                && found.as_ref().is_none_or(|f| f.value < v)
            {
                found = Some(Fact::new(v, format!("{rel}:{} (python-version)", i + 1)));
            }
        }
    }
    if found.is_some() {
        return found;
    }
    let text = ctx.exists(".gitlab-ci.yml").then(|| ctx.read(".gitlab-ci.yml")).flatten()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let img = l.trim().strip_prefix("image:")?.trim().trim_matches(|c| c == '"' || c == '\'');
        python_image_version(img).map(|v| Fact::new(v, format!(".gitlab-ci.yml:{} (image: {img})", i + 1)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_constraints() {
        assert_eq!(poetry_to_pep440("^3.11"), ">=3.11,<4");
        assert_eq!(poetry_to_pep440("~3.10"), ">=3.10,<3.11");
        assert_eq!(poetry_to_pep440(">=3.9 <3.13"), ">=3.9,<3.13");
        assert_eq!(poetry_to_pep440(">= 3.9, < 3.12"), ">=3.9,<3.12");
        assert_eq!(poetry_to_pep440("3.11.*"), "==3.11.*");
        let s = VersionSpecifiers::from_str(">=3.12.4").unwrap();
        assert!(allows(&s, PythonVersion::new(3, 12)));
        assert!(!allows(&s, PythonVersion::new(3, 11)));
    }

    #[test]
    fn image_versions() {
        assert_eq!(python_image_version("python:3.10-slim"), Some(PythonVersion::new(3, 10)));
        assert_eq!(python_image_version("docker.io/library/python:3.12.1-bookworm"), Some(PythonVersion::new(3, 12)));
        assert_eq!(python_image_version("node:20"), None);
        assert_eq!(python_image_version("python:latest"), None);
    }
}
