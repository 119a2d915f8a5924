//! The project's Python version (major.minor): the Python choice that installs. Owns the order
//! of the sources, the same order other tools read them (`.python-version`, `runtime.txt`,
//! Pipfile `python_version`, `.tool-versions`; then the ranges, Poetry's `python` and
//! `requires-python`; then an existing Dockerfile's `FROM python:3.X` and the CI's version), and
//! the choice among the catalogue's `python:3.X-slim` versions: the named version when an image
//! exists and every runtime pin installs from a wheel on it, else the newest maintained version
//! the ranges allow on which every pin installs (file lists from the lock, or the index), with
//! plain warnings for conflicts, end-of-life versions and versions no image exists for.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::catalogue::{self, Family};
use crate::python::PythonVersion;

use super::deps::Project;
use super::dockerfile::Dockerfile;
use super::files::{Ctx, get_str};
use super::lock::LockInfo;
use super::{Fact, PythonBound, ScanReport};

pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, project: &Project, docker: Option<&Dockerfile>) {
    let fixed = fixed_sources(ctx, report, project);
    let ranges = range_sources(ctx, project);
    // The versions the project's own Dockerfile and CI run: a weaker hint than a fixed version or
    // a range, and the tie-break when no version has wheels for every pin.
    let from = docker.and_then(|d| {
        d.froms.iter().rev().find_map(|(img, line)| {
            python_image_version(img).map(|v| Fact::new(v, format!("{}:{line} (FROM {img})", d.path)))
        })
    });
    let ci = ci_version(ctx);
    let named: Vec<Fact<PythonVersion>> = from.iter().chain(ci.iter()).cloned().collect();
    let hint = fixed.or_else(|| if ranges.is_empty() { from.or(ci) } else { None });
    let constraints = Constraints {
        hint: hint.as_ref(),
        ranges: &ranges,
        pins: project.wheel_info(),
        dated: report.pins_as_of.as_ref(),
        named: &named,
    };
    let choice = choose(&constraints);
    for w in choice.warnings {
        ctx.warn(w);
    }
    report.python_bound = choice.fact.as_ref().and_then(|_| bound(&constraints));
    report.python = choice.fact;
}

/// The range the project allows, as catalogue versions: what its ranges admit and what its pins
/// install on from wheels, so a script can pick the nearest version an image exists for.
/// `None` when neither a range nor a pin with a file list says anything.
pub(crate) fn bound(c: &Constraints) -> Option<PythonBound> {
    let offered = catalogue::versions(Family::PythonSlim);
    let allowed_by_range: Option<Vec<PythonVersion>> = (!c.ranges.is_empty())
        .then(|| offered.iter().copied().filter(|v| c.ranges.iter().all(|r| r.allows(*v))).collect());
    let pins = c.pins.filter(|p| p.packages.iter().any(|x| x.runtime && x.files_from.is_some()));
    let wheels_for: Option<Vec<PythonVersion>> =
        pins.map(|p| offered.iter().copied().filter(|v| p.missing_wheels(*v).is_empty()).collect());
    if allowed_by_range.is_none() && wheels_for.is_none() {
        return None;
    }
    let list = |w: &Option<Vec<PythonVersion>>| w.as_ref().filter(|w| w.len() < offered.len()).cloned();
    let span = list(&wheels_for);
    let (min_by_pins, max_by_pins) =
        (span.as_ref().and_then(|w| w.first().copied()), span.as_ref().and_then(|w| w.last().copied()));
    // The pins that stop the span: those without a wheel for the version above it.
    let above = max_by_pins.and_then(|m| offered.iter().copied().find(|v| *v > m));
    let max_reason = match (pins, above) {
        (Some(p), Some(v)) => Some(why_not(p, v)),
        _ => None,
    };
    let range = c.ranges.iter().map(|r| r.spec.clone()).collect::<Vec<_>>().join(" and ");
    Some(PythonBound {
        range: (!range.is_empty()).then_some(range),
        allowed_by_range,
        wheels_for,
        min_by_pins,
        max_by_pins,
        max_reason,
    })
}

/// What bounds the Python choice.
pub(crate) struct Constraints<'a> {
    /// A version the project names (`.python-version`, `runtime.txt`, Pipfile, `.tool-versions`,
    /// else a Dockerfile `FROM` or the CI's).
    pub hint: Option<&'a Fact<PythonVersion>>,
    /// Ranges (`requires-python`, Poetry's `python`), each with how to name it.
    pub ranges: &'a [Range],
    /// The runtime pins with their file lists (lock or index).
    pub pins: Option<&'a LockInfo>,
    /// The release date of the newest pin of a set of direct pins (`pins_as_of`).
    pub dated: Option<&'a Fact<String>>,
    /// The versions the project's own Dockerfile (`FROM python:3.10`) and CI name: when no
    /// version has wheels for every pin, they win a tie in the number of pins on wheels.
    pub named: &'a [Fact<PythonVersion>],
}

/// A version range the project declares.
pub(crate) struct Range {
    pub alternatives: Vec<VersionSpecifiers>,
    pub spec: String,
    pub shown: String,
}

impl Range {
    fn allows(&self, v: PythonVersion) -> bool {
        self.alternatives.iter().any(|s| allows(s, v))
    }
}

pub(crate) struct Choice {
    pub fact: Option<Fact<PythonVersion>>,
    pub warnings: Vec<String>,
}

/// The newest Python a maintained distroless image ships (3.13 today).
pub(crate) fn distroless_newest() -> Option<PythonVersion> {
    catalogue::all().iter().filter(|i| i.family == Family::Distroless && !i.is_eol()).map(|i| i.python).max()
}

fn maintained(v: PythonVersion) -> bool {
    catalogue::for_family(Family::PythonSlim, v, false).is_some_and(|i| !i.is_eol())
}

fn eol_warning(v: PythonVersion) -> Option<String> {
    let img = catalogue::for_family(Family::PythonSlim, v, false)?;
    let eol = img.eol.as_deref()?;
    Some(format!(
        "Python {v} is end of life since {eol}: its images get no security fixes; plan a move to a newer Python"
    ))
}

/// `greenlet 3.0.1 has wheels up to cp312`, for every pin that lacks a wheel for `v`.
fn why_not(pins: &LockInfo, v: PythonVersion) -> String {
    let missing = pins.missing_wheels(v);
    let mut list: Vec<String> =
        missing.iter().take(3).map(|p| format!("{} has {}", p.label(), p.wheel_span())).collect();
    if missing.len() > 3 {
        list.push(format!("{} more", missing.len() - 3));
    }
    list.join(", ")
}

/// Where the file lists came from, once (`poetry.lock`, `https://pypi.org/simple/ (cached)`).
fn files_from(pins: &LockInfo) -> String {
    let mut froms: Vec<&str> =
        pins.packages.iter().filter(|p| p.runtime).filter_map(|p| p.files_from.as_deref()).collect();
    froms.sort_unstable();
    froms.dedup();
    froms.join(", ")
}

/// The newest maintained catalogue Python (`python:3.X-slim`) that the ranges allow and for
/// which every runtime pin installs from a wheel (or is pure Python); a named version wins when
/// it exists and installs. When nothing installs from wheels, the nearest (or newest)
/// maintained version, with a warning naming the pins that compile. Conflicts are warnings.
pub(crate) fn choose(c: &Constraints) -> Choice {
    let mut warnings = Vec::new();
    let offered = catalogue::versions(Family::PythonSlim);
    let mut allowed: Vec<PythonVersion> =
        offered.iter().copied().filter(|v| c.ranges.iter().all(|r| r.allows(*v))).collect();
    if allowed.is_empty() {
        if !c.ranges.is_empty() {
            let names: Vec<String> = c.ranges.iter().map(|r| format!("{} ({})", r.shown, r.spec)).collect();
            warnings.push(format!(
                "no Python version in pyslim's catalogue ({} to {}) satisfies {}; ignoring it",
                offered.first().map(|v| v.to_string()).unwrap_or_default(),
                offered.last().map(|v| v.to_string()).unwrap_or_default(),
                names.join(" and ")
            ));
        }
        allowed = offered.clone();
    }
    // Nothing names a version: up to the newest Python that every variant has an image for (a
    // maintained distroless one), the pins only lower it. A brand-new Python is chosen only
    // when the project allows it, since unpinned dependencies are not checked.
    let every_variant = distroless_newest();
    if c.hint.is_none()
        && c.ranges.is_empty()
        && let Some(top) = every_variant
        && allowed.iter().any(|v| *v <= top)
    {
        allowed.retain(|v| *v <= top);
    }
    let has_files = c.pins.is_some_and(|p| p.packages.iter().any(|p| p.runtime && p.files_from.is_some()));
    let installs = |v: PythonVersion| c.pins.is_none_or(|p| p.missing_wheels(v).is_empty());
    let with_files = |text: String, v: PythonVersion| match c.pins {
        // Source-only pins (psycopg2) compile on any Python: they do not count either way.
        Some(p) if has_files && p.packages.iter().any(|x| x.runtime && x.compiles_on(v)) => {
            format!("{text}, with wheels for every pinned package that has any ({})", files_from(p))
        }
        Some(p) if has_files => format!("{text}, with wheels for every pinned package ({})", files_from(p)),
        _ => text,
    };

    // The version the project names, when it exists and installs.
    if let Some(h) = c.hint {
        let v = h.value;
        if allowed.contains(&v) && installs(v) {
            warnings.extend(eol_warning(v));
            return Choice { fact: Some(Fact::new(v, h.source.clone())), warnings };
        }
    }
    if c.hint.is_none() && c.ranges.is_empty() && !has_files {
        return Choice { fact: None, warnings };
    }

    // Best by: installs from wheels, maintained, nearest to the named version (else newest).
    // When no version has wheels for every pin: the one with the most pins on wheels (fewest
    // compiling), then one the project's Dockerfile or CI runs, then maintained, nearest, newest.
    let short = |v: PythonVersion| c.pins.map(|p| p.missing_wheels(v).len()).unwrap_or(0);
    let named = |v: PythonVersion| c.named.iter().find(|n| n.value == v);
    let key = |v: &PythonVersion| {
        let dist = c.hint.map(|h| -(i32::from(h.value.minor) - i32::from(v.minor)).abs()).unwrap_or(0);
        let runs_there = !installs(*v) && named(*v).is_some();
        (installs(*v), std::cmp::Reverse(short(*v)), runs_there, maintained(*v), dist, *v)
    };
    let Some(mut best) = allowed.iter().copied().max_by_key(key) else { return Choice { fact: None, warnings } };
    // Pins made before that Python was released: their unpinned dependencies resolve as of then
    // (plan's cutoff), so the newest maintained Python of their time fits them, else the oldest.
    let mut of_their_time = None;
    if c.hint.is_none()
        && let Some(d) = c.dated
        && installs(best)
        && maintained(best)
        && catalogue::python_released(best).is_some_and(|r| r > d.value.as_str())
    {
        let ok: Vec<PythonVersion> = allowed.iter().copied().filter(|v| installs(*v) && maintained(*v)).collect();
        let fit =
            ok.iter().copied().filter(|v| catalogue::python_released(*v).is_some_and(|r| r <= d.value.as_str())).max();
        if let Some(v) = fit.or_else(|| ok.first().copied())
            && v != best
        {
            of_their_time = Some(if fit.is_some() {
                "the newest maintained version when the pins were made"
            } else {
                "the oldest maintained version: the pins predate the newer ones"
            });
            best = v;
        }
    }
    let newest = allowed.last().copied().unwrap_or(best);
    // The pins that bound the choice are those without a wheel for the next version up.
    let next_up = allowed.iter().copied().find(|v| *v > best).unwrap_or(newest);
    let nearest = if maintained(best) { "nearest maintained version" } else { "nearest version" };
    let range_text = c.ranges.first().map(|r| r.shown.clone());

    let compiled = c.pins.map(|p| p.packages.iter().filter(|x| x.bounds_python()).count()).unwrap_or(0);
    let mut source = match (c.hint, &range_text) {
        // no version installs every pin from a wheel: the one that installs the most
        (h, _) if has_files && !installs(best) && compiled > 0 && h.is_none_or(|h| h.value == best) => {
            let on_wheels = compiled - short(best);
            let runs = named(best).map(|n| format!(", the version {} runs", n.source)).unwrap_or_default();
            format!(
                "no catalogue version has wheels for every pinned package; {best} has them for the most \
                 ({on_wheels} of {compiled} compiled pins){runs}"
            )
        }
        (Some(h), _) => {
            let v = h.value;
            if !offered.contains(&v) {
                let why = match (offered.first(), offered.last()) {
                    (Some(first), _) if v < *first => "no image is published for it any more (end of life)",
                    (_, Some(last)) if v > *last => "no image is published for it yet",
                    _ => "pyslim's catalogue has no image for it",
                };
                warnings.push(format!(
                    "{} asks for Python {v}, but {why}: pyslim uses Python {best}, the {nearest}{}; \
                     pass --python to choose another",
                    h.source,
                    if has_files && installs(best) { " that installs every pinned package" } else { "" }
                ));
                format!("{} asks for {v}; {nearest}", h.source)
            } else if !allowed.contains(&v) {
                let r = c
                    .ranges
                    .iter()
                    .find(|r| !r.allows(v))
                    .map(|r| format!("{} ({})", r.shown, r.spec))
                    .unwrap_or_default();
                warnings.push(format!(
                    "{} says Python {v}, which is outside {r}: pyslim uses Python {best}; pass --python {v} to keep it",
                    h.source
                ));
                format!("{r} (not {v} from {})", h.source)
            } else {
                let pins = c.pins.map(|p| why_not(p, v)).unwrap_or_default();
                warnings.push(format!(
                    "{} says Python {v}, but {pins}: pyslim uses Python {best}{}; pass --python {v} to keep it \
                     (those packages then compile from source)",
                    h.source,
                    if has_files && installs(best) { ", where every pinned package has a wheel" } else { "" }
                ));
                format!("{} says {v}, but {pins}", h.source)
            }
        }
        (None, _) if of_their_time.is_some() => format!(
            "no version named; {best}, {} (the newest pin was released {})",
            of_their_time.unwrap_or_default(),
            c.dated.map(|d| d.value.as_str()).unwrap_or_default()
        ),
        (None, Some(r)) if best == newest => format!("{r}: newest catalogue version it allows"),
        (None, Some(r)) => format!("{r}: newest catalogue version that installs"),
        (None, None) if Some(best) == every_variant => {
            format!("no version named; {best}, the newest with an image for every variant (distroless)")
        }
        (None, None) => "no version named; newest catalogue version that installs".to_string(),
    };
    if let Some(p) = c.pins {
        if best < newest && c.hint.is_none() && of_their_time.is_none() {
            // Say which pins keep it below the newest allowed version.
            source = format!("{source} ({})", why_not(p, next_up));
        }
        if installs(best) {
            source = with_files(source, best);
        } else {
            let list: Vec<String> =
                p.missing_wheels(best).iter().map(|x| format!("{} ({})", x.label(), x.wheel_span())).collect();
            warnings.push(format!(
                "no Python in pyslim's catalogue has wheels for every pinned package: on Python {best}, {} \
                 compile from source (the builder gets a compiler and headers)",
                list.join(", ")
            ));
        }
    }
    if installs(best) && !maintained(best) && has_files && allowed.iter().any(|v| maintained(*v)) {
        let blockers = c.pins.map(|p| why_not(p, next_up)).unwrap_or_default();
        warnings.push(format!(
            "Python {best} is end of life{}, but the pinned packages install from wheels on no newer one ({blockers}); \
             upgrade them to move to a maintained Python",
            catalogue::for_family(Family::PythonSlim, best, false)
                .and_then(|i| i.eol.clone())
                .map(|e| format!(" since {e}"))
                .unwrap_or_default()
        ));
    } else {
        warnings.extend(eol_warning(best));
    }
    Choice { fact: Some(Fact::new(best, source)), warnings }
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

/// Poetry's python constraint and `requires-python`, parsed.
fn range_sources(ctx: &mut Ctx, project: &Project) -> Vec<Range> {
    let py = project.pyproject.as_ref();
    let poetry = py.and_then(|t| get_str(t, &["tool", "poetry", "dependencies", "python"]));
    let mut ranges: Vec<(String, String)> = Vec::new();
    if let Some(c) = poetry {
        ranges.push((poetry_to_pep440(c), format!("pyproject.toml [tool.poetry.dependencies] python = \"{c}\"")));
    }
    if let Some((spec, shown)) = requires_python(project) {
        ranges.push((spec, shown));
    }
    let mut out = Vec::new();
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
        if !alternatives.is_empty() {
            out.push(Range { alternatives, spec, shown });
        }
    }
    out
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

    fn pin(name: &str, version: &str, wheels: &[&str]) -> crate::scan::LockedPackage {
        crate::scan::LockedPackage {
            name: name.into(),
            version: version.into(),
            wheels: wheels.iter().map(|w| w.to_string()).collect(),
            sdist: true,
            files_from: Some("https://pypi.org/simple/".into()),
            runtime: true,
            released: None,
            range: None,
        }
    }

    /// greenlet 3.0.1's file list as recorded from PyPI (tests/index-recorded).
    fn greenlet_301() -> LockInfo {
        let files = crate::scan::index::parse_page(
            include_str!("../../tests/index-recorded/greenlet.json"),
            "application/vnd.pypi.simple.v1+json",
        )
        .unwrap();
        let files = crate::scan::index::for_version(&files.files, "3.0.1");
        let wheels: Vec<&str> = files.iter().filter(|f| f.ends_with(".whl")).map(String::as_str).collect();
        LockInfo {
            file: "requirements.txt:3".into(),
            packages: vec![pin("greenlet", "3.0.1", &wheels), pin("flask", "3.0.0", &["flask-3.0.0-py3-none-any.whl"])],
        }
    }

    fn v(s: &str) -> PythonVersion {
        s.parse().unwrap()
    }

    #[test]
    fn dated_pins_choose_a_python_of_their_time() {
        let pins = LockInfo {
            file: "requirements.txt".into(),
            packages: vec![pin("flask", "2.2.2", &["flask-2.2.2-py3-none-any.whl"])],
        };
        let choose_at = |date: &str| {
            let d = Fact::new(date.to_string(), "requirements.txt");
            choose(&Constraints { hint: None, ranges: &[], pins: Some(&pins), dated: Some(&d), named: &[] })
                .fact
                .unwrap()
        };
        // 3.12 came out on 2023-10-02: pins of 2024-01 get it, not the newest distroless one
        let f = choose_at("2024-01-16");
        assert_eq!(f.value, v("3.12"), "{}", f.source);
        assert!(f.source.contains("the newest maintained version when the pins were made"), "{}", f.source);
        // pins made after 3.13 came out keep it
        assert_eq!(choose_at("2024-10-10").value, v("3.13"));
        // older than every maintained Python: the oldest maintained one
        let f = choose_at("2022-08-08");
        assert_eq!(f.value, v("3.11"), "{}", f.source);
        assert!(f.source.contains("the pins predate the newer ones"), "{}", f.source);
        // recent pins: the usual choice
        let undated =
            choose(&Constraints { hint: None, ranges: &[], pins: Some(&pins), dated: None, named: &[] }).fact.unwrap();
        assert_eq!(choose_at("2026-11-01").value, undated.value);
        // a version the project names wins over the date
        let hint = Fact::new(v("3.13"), ".python-version");
        let d = Fact::new("2022-08-08".to_string(), "requirements.txt");
        let c = choose(&Constraints { hint: Some(&hint), ranges: &[], pins: Some(&pins), dated: Some(&d), named: &[] });
        assert_eq!(c.fact.unwrap().value, v("3.13"));
    }

    #[test]
    fn pins_bound_the_choice_and_the_source_names_them() {
        let pins = greenlet_301();
        // nothing named: the pin lowers the default
        let c = choose(&Constraints { hint: None, ranges: &[], pins: Some(&pins), dated: None, named: &[] });
        let f = c.fact.unwrap();
        assert_eq!(f.value, v("3.12"));
        assert!(f.source.contains("greenlet 3.0.1 has wheels up to cp312"), "{}", f.source);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // .python-version 3.13 conflicts with the pin: the version that installs, said plainly
        let hint = Fact::new(v("3.13"), ".python-version");
        let c = choose(&Constraints { hint: Some(&hint), ranges: &[], pins: Some(&pins), dated: None, named: &[] });
        assert_eq!(c.fact.as_ref().unwrap().value, v("3.12"));
        assert!(
            c.warnings[0].starts_with(".python-version says Python 3.13, but greenlet 3.0.1 has wheels up to cp312")
        );
        assert!(c.warnings[0].contains("--python 3.13"), "{:?}", c.warnings);
        // a named version that installs wins
        let hint = Fact::new(v("3.11"), ".python-version");
        let c = choose(&Constraints { hint: Some(&hint), ranges: &[], pins: Some(&pins), dated: None, named: &[] });
        assert_eq!(c.fact.unwrap().source, ".python-version");
        assert!(c.warnings.is_empty());
        // no index data at all: nothing said, the plan's default decides
        assert!(choose(&Constraints { hint: None, ranges: &[], pins: None, dated: None, named: &[] }).fact.is_none());
    }

    /// Linux wheels for CPython 3.`from` to 3.`to`.
    fn wheels(name: &str, from: u8, to: u8) -> Vec<String> {
        (from..=to).map(|m| format!("{name}-1.0-cp3{m}-cp3{m}-manylinux_2_17_x86_64.whl")).collect()
    }

    #[test]
    fn without_a_version_for_every_pin_the_most_pins_on_wheels_win() {
        let mk = |name: &str, from: u8, to: u8| {
            let w = wheels(name, from, to);
            pin(name, "1.0", &w.iter().map(String::as_str).collect::<Vec<_>>())
        };
        // up to 3.10, up to 3.11, from 3.11: 3.9, 3.10 and 3.11 each compile one; 3.12 and 3.13 two
        let pins = LockInfo {
            file: "requirements.txt".into(),
            packages: vec![mk("oldbin", 6, 10), mk("pandas", 8, 11), mk("contourpy", 11, 14)],
        };
        let c = choose(&Constraints { hint: None, ranges: &[], pins: Some(&pins), dated: None, named: &[] });
        let f = c.fact.unwrap();
        assert_eq!(f.value, v("3.11"), "the maintained one of the three: {}", f.source);
        assert!(
            f.source.starts_with(
                "no catalogue version has wheels for every pinned package; 3.11 has them for the most (2 of 3 compiled pins)"
            ),
            "{}",
            f.source
        );
        assert!(c.warnings.iter().any(|w| w.contains("on Python 3.11, oldbin 1.0")), "{:?}", c.warnings);
        // the version the project's own Dockerfile runs wins the tie
        let from = Fact::new(v("3.10"), "Dockerfile:1 (FROM python:3.10-slim)");
        let c = choose(&Constraints {
            hint: Some(&from),
            ranges: &[],
            pins: Some(&pins),
            dated: None,
            named: std::slice::from_ref(&from),
        });
        let f = c.fact.unwrap();
        assert_eq!(f.value, v("3.10"), "{}", f.source);
        assert!(f.source.ends_with("the version Dockerfile:1 (FROM python:3.10-slim) runs"), "{}", f.source);
        // ... also beside a range, where it is no hint
        let range = Range {
            alternatives: vec![VersionSpecifiers::from_str(">=3.9").unwrap()],
            spec: ">=3.9".into(),
            shown: "pyproject.toml requires-python \">=3.9\"".into(),
        };
        let ci = Fact::new(v("3.9"), ".github/workflows/ci.yml:12 (python-version)");
        let c = choose(&Constraints {
            hint: None,
            ranges: std::slice::from_ref(&range),
            pins: Some(&pins),
            dated: None,
            named: std::slice::from_ref(&ci),
        });
        assert_eq!(c.fact.unwrap().value, v("3.9"));
        // but never over a version with more pins on wheels
        let c = choose(&Constraints {
            hint: None,
            ranges: std::slice::from_ref(&range),
            pins: Some(&pins),
            dated: None,
            named: &[Fact::new(v("3.13"), "Dockerfile:1 (FROM python:3.13)")],
        });
        assert_eq!(c.fact.unwrap().value, v("3.11"));
        // a version with wheels for every pin still wins outright, named or not
        let fits = LockInfo { file: "r".into(), packages: vec![mk("pandas", 8, 11), mk("contourpy", 11, 14)] };
        let c = choose(&Constraints {
            hint: None,
            ranges: &[],
            pins: Some(&fits),
            dated: None,
            named: &[Fact::new(v("3.10"), "Dockerfile:1")],
        });
        assert_eq!(c.fact.unwrap().value, v("3.11"));
    }

    #[test]
    fn versions_without_images_eol_and_ranges() {
        let hint = Fact::new(v("3.6"), "runtime.txt (python-3.6)");
        let c = choose(&Constraints { hint: Some(&hint), ranges: &[], pins: None, dated: None, named: &[] });
        assert_eq!(c.fact.unwrap().value, v("3.11"), "the nearest maintained version");
        assert!(c.warnings[0].contains("no image is published for it any more"), "{:?}", c.warnings);
        assert!(!c.warnings[0].contains("PythonSlim"), "plain words: {:?}", c.warnings);
        // an end-of-life version the project names is kept, with a warning
        let hint = Fact::new(v("3.9"), ".python-version");
        let c = choose(&Constraints { hint: Some(&hint), ranges: &[], pins: None, dated: None, named: &[] });
        assert_eq!(c.fact.unwrap().value, v("3.9"));
        assert!(c.warnings[0].starts_with("Python 3.9 is end of life since 2025-10"), "{:?}", c.warnings);
        // a named version outside requires-python: the range wins, said plainly
        let range = Range {
            alternatives: vec![VersionSpecifiers::from_str(">=3.12").unwrap()],
            spec: ">=3.12".into(),
            shown: "pyproject.toml requires-python \">=3.12\"".into(),
        };
        let hint = Fact::new(v("3.11"), ".python-version");
        let c = choose(&Constraints {
            hint: Some(&hint),
            ranges: std::slice::from_ref(&range),
            pins: None,
            dated: None,
            named: &[],
        });
        assert_eq!(c.fact.unwrap().value, v("3.12"), "nearest allowed");
        assert!(c.warnings[0].contains("outside pyproject.toml requires-python"), "{:?}", c.warnings);
        // a range alone: its newest version
        let c = choose(&Constraints {
            hint: None,
            ranges: std::slice::from_ref(&range),
            pins: None,
            dated: None,
            named: &[],
        });
        assert_eq!(c.fact.unwrap().value, *catalogue::versions(Family::PythonSlim).last().unwrap());
    }

    #[test]
    fn image_versions() {
        assert_eq!(python_image_version("python:3.10-slim"), Some(PythonVersion::new(3, 10)));
        assert_eq!(python_image_version("docker.io/library/python:3.12.1-bookworm"), Some(PythonVersion::new(3, 12)));
        assert_eq!(python_image_version("node:20"), None);
        assert_eq!(python_image_version("python:latest"), None);
    }
}
