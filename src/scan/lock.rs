//! Lockfiles as data: which packages a lock pins (and whether each is a runtime package), and
//! which files it lists (Poetry 1.1 `[metadata.files]`, Poetry >=1.2 per-package `files`, uv.lock
//! `wheels`/`sdist`, pdm.lock `files`), so the scan can tell for which CPython versions every
//! compiled dependency has a Linux glibc wheel. Reads `poetry.lock`, `uv.lock`, `pdm.lock` (TOML)
//! and `Pipfile.lock` (JSON, no file names: the index fills them in, `index`). Owns the wheel-tag
//! rules (cpXY, abi3, py3-none-any, manylinux). It does not decide the package manager (`deps`).

use std::collections::{BTreeMap, BTreeSet};

use crate::python::PythonVersion;

use super::files::{Ctx, get_str};

/// One locked package.
#[derive(Clone, Debug, Default)]
pub struct LockedPackage {
    /// PEP 503 normalized name.
    pub name: String,
    pub version: String,
    /// Wheel file names the lock (or the index) lists (empty: unknown or source only).
    pub wheels: Vec<String>,
    /// Whether a source distribution is listed.
    pub sdist: bool,
    /// Where the file list came from (`poetry.lock`, `https://pypi.org/simple/`); `None` when
    /// no file list is known, so nothing can be said about wheels.
    pub files_from: Option<String>,
    /// Whether the package is needed at run time (not only by a dev group), as far as the lock says.
    pub runtime: bool,
    /// The release's date (`2024-01-16`: its first file's upload time on the index), where the
    /// index gives upload times.
    pub released: Option<String>,
    /// A compatible-release pin (`~=1.5.3`) this entry stands for: `version` is then the newest
    /// release the index has in it (what pip installs), empty until the index answered.
    pub range: Option<String>,
}

impl LockedPackage {
    /// `pandas 1.5.3`, or `pandas 1.5.3 (~=1.5.3)` for a compatible-release pin, for messages.
    pub fn label(&self) -> String {
        match &self.range {
            Some(r) => format!("{} {} ({r})", self.name, self.version),
            None => format!("{} {}", self.name, self.version),
        }
    }

    /// Whether the lock lists a Linux (or pure-Python) wheel usable on CPython `v`.
    /// `None` when the lock names no wheels at all (nothing known).
    pub fn has_wheel_for(&self, v: PythonVersion) -> Option<bool> {
        if self.wheels.is_empty() {
            return None;
        }
        Some(self.wheels.iter().any(|w| wheel_fits(w, v)))
    }

    /// Whether every wheel is version specific (a compiled extension).
    pub fn is_compiled(&self) -> bool {
        !self.wheels.is_empty() && !self.wheels.iter().any(|w| is_pure(w))
    }

    /// Whether the pin bounds the Python choice: a compiled package with Linux wheels for some
    /// Python. One with no Linux wheel at all (psycopg2, uwsgi) builds from source on every
    /// Python alike, so it says nothing about which one to choose.
    pub fn bounds_python(&self) -> bool {
        self.runtime && self.is_compiled() && self.wheels.iter().any(|w| is_linux(w))
    }

    /// Whether installing on CPython `v` builds this package from source: no Linux wheel fits
    /// and the file list is known (a compiled package without a wheel for `v`, or source only).
    pub fn compiles_on(&self, v: PythonVersion) -> bool {
        self.files_from.is_some()
            && !self.wheels.iter().any(|w| wheel_fits(w, v))
            && (self.sdist || !self.wheels.is_empty())
    }

    /// The CPython minors its Linux wheels cover, as a phrase: `wheels up to cp310`,
    /// `wheels for cp311 to cp313`, `abi3 wheels from cp39`, `no Linux wheel (source only)`.
    pub fn wheel_span(&self) -> String {
        let mut minors: Vec<u8> = Vec::new();
        let mut abi3_from: Option<u8> = None;
        for w in self.wheels.iter().filter(|w| is_linux(w)) {
            let Some((py, abi, _)) = tags(w) else { continue };
            for t in py.split('.') {
                let Some(m) = t.strip_prefix("cp3").and_then(|m| m.parse::<u8>().ok()) else { continue };
                if abi.split('.').any(|a| a == "abi3") {
                    abi3_from = Some(abi3_from.map_or(m, |x| x.min(m)));
                } else if abi.split('.').any(|a| a.trim_end_matches(['m', 'u']) == format!("cp3{m}")) {
                    // cp36m: the pymalloc ABI of Python <= 3.7
                    minors.push(m);
                }
            }
        }
        if let Some(m) = abi3_from {
            return format!("abi3 wheels from cp3{m}");
        }
        minors.sort_unstable();
        minors.dedup();
        match (minors.first(), minors.last()) {
            (Some(a), Some(b)) if a == b => format!("wheels for cp3{a} only"),
            (Some(_), Some(b)) => format!("wheels up to cp3{b}"),
            _ => "no Linux wheel (source only)".to_string(),
        }
    }
}

/// The Pythons a compiled pin has Linux wheels for, and where its file list came from, so a
/// failed source build can say which Pythons would have installed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WheelPythons {
    /// The pinned version (`0.29.0`).
    pub version: String,
    /// CPython minors (`3.8`) with a Linux wheel, oldest first (empty: source only).
    pub minors: Vec<String>,
    /// Where the file list came from (`poetry.lock`, `https://pypi.org/simple/`).
    pub from: String,
}

/// [`WheelPythons`] for every runtime pin with a file list that is compiled or source only,
/// by PEP 503 name.
pub fn wheel_pythons(pins: &[LockedPackage]) -> BTreeMap<String, WheelPythons> {
    pins.iter()
        .filter(|p| p.runtime && (p.is_compiled() || (p.wheels.is_empty() && p.sdist)))
        .filter_map(|p| {
            let from = p.files_from.clone()?;
            let minors = (6..=15)
                .map(|m| PythonVersion::new(3, m))
                .filter(|v| p.has_wheel_for(*v) == Some(true))
                .map(|v| v.to_string())
                .collect();
            Some((p.name.clone(), WheelPythons { version: p.version.clone(), minors, from }))
        })
        .collect()
}

/// What a lockfile pins.
#[derive(Clone, Debug, Default)]
pub struct LockInfo {
    /// The lock's path as shown in messages (`poetry.lock`, `../../uv.lock`).
    pub file: String,
    pub packages: Vec<LockedPackage>,
}

impl LockInfo {
    pub fn get(&self, name: &str) -> Option<&LockedPackage> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Runtime packages that bound the Python choice and have no wheel for `v`.
    pub fn missing_wheels(&self, v: PythonVersion) -> Vec<&LockedPackage> {
        self.packages.iter().filter(|p| p.bounds_python() && p.has_wheel_for(v) == Some(false)).collect()
    }

    /// Runtime packages whose file list is unknown (the index can tell), with a version or a
    /// compatible-release range to look for.
    pub fn without_files(&self) -> impl Iterator<Item = &LockedPackage> {
        self.packages
            .iter()
            .filter(|p| p.runtime && p.files_from.is_none() && (!p.version.is_empty() || p.range.is_some()))
    }
}

/// Whether a wheel is for Linux with glibc (or any platform); musllinux, macOS and Windows are not.
fn is_linux(wheel: &str) -> bool {
    tags(wheel).is_some_and(|(_, _, plat)| {
        plat == "any" || plat.split('.').any(|p| p.contains("linux") && !p.contains("musllinux"))
    })
}

/// `pkg-1.0-py3-none-any.whl`, `pkg-1.0-py2.py3-none-any.whl`.
fn is_pure(wheel: &str) -> bool {
    let tags = tags(wheel);
    tags.is_some_and(|(py, abi, plat)| abi == "none" && plat == "any" && py.split('.').all(|t| t.starts_with("py")))
}

/// (python tag, abi tag, platform tag) of a wheel file name.
fn tags(wheel: &str) -> Option<(&str, &str, &str)> {
    let stem = wheel.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.rsplitn(4, '-').collect();
    if parts.len() < 4 {
        return None;
    }
    Some((parts[2], parts[1], parts[0]))
}

pub fn wheel_fits(wheel: &str, v: PythonVersion) -> bool {
    let Some((py, abi, _)) = tags(wheel) else { return false };
    if !is_linux(wheel) {
        return false;
    }
    let want = format!("cp{}{}", v.major, v.minor);
    py.split('.').any(|t| {
        if t == want {
            // free-threaded builds (cp313t) are a different ABI
            return abi.split('.').any(|a| a == want || a == "abi3" || a == "none");
        }
        if abi.split('.').any(|a| a == "abi3")
            && let Some(n) = t.strip_prefix("cp").and_then(|n| n.strip_prefix('3')).and_then(|m| m.parse::<u8>().ok())
        {
            return n <= v.minor;
        }
        t == "py3" || t == "py2.py3" || t == format!("py{}{}", v.major, v.minor)
    })
}

/// One exact pin of a requirement line: `uvicorn[standard]==0.26.0; python_version >= "3.8"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactPin {
    /// PEP 503 normalized.
    pub name: String,
    pub version: String,
    /// The marker, as pep508_rs shows it (empty-ish when there is none).
    pub marker: String,
}

/// The requirement as an exact pin: a lone `==` on a version (extras and a marker allowed), not
/// a range, a URL or a wildcard (`==4.2.*`).
pub fn exact_pin(requirement: &str) -> Option<ExactPin> {
    use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
    use std::str::FromStr;
    let r = Requirement::<VerbatimUrl>::from_str(requirement).ok()?;
    let Some(VersionOrUrl::VersionSpecifier(specs)) = &r.version_or_url else { return None };
    let [spec] = specs.iter().collect::<Vec<_>>()[..] else { return None };
    (*spec.operator() == pep440_rs::Operator::Equal).then(|| ExactPin {
        name: normalize(r.name.as_ref()),
        version: spec.version().to_string(),
        marker: format!("{:?}", r.marker),
    })
}

/// The requirement as a compatible-release pin (`pandas~=1.5.3`): a lone `~=` (extras and a
/// marker allowed). pip installs the newest release inside it, so, like an `==` pin, it bounds the
/// Pythons its wheels cover. `version` holds the specifier (`~=1.5.3`).
pub fn compatible_pin(requirement: &str) -> Option<ExactPin> {
    use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
    use std::str::FromStr;
    let r = Requirement::<VerbatimUrl>::from_str(requirement).ok()?;
    let Some(VersionOrUrl::VersionSpecifier(specs)) = &r.version_or_url else { return None };
    let [spec] = specs.iter().collect::<Vec<_>>()[..] else { return None };
    (*spec.operator() == pep440_rs::Operator::TildeEqual).then(|| ExactPin {
        name: normalize(r.name.as_ref()),
        version: format!("~={}", spec.version()),
        marker: format!("{:?}", r.marker),
    })
}

/// Normalized PEP 503 name.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.trim().chars() {
        if c == '-' || c == '_' || c == '.' {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Reads a lockfile by its kind; `shown` is its path relative to the scanned root.
pub fn read(ctx: &mut Ctx, rel_to_root: &str, shown: &str) -> Option<LockInfo> {
    let text = ctx.read(rel_to_root)?;
    let name = rel_to_root.rsplit('/').next().unwrap_or(rel_to_root);
    if name == "Pipfile.lock" {
        return pipfile_lock(ctx, &text, shown);
    }
    let table = ctx.toml(&text, shown)?;
    let mut info = LockInfo { file: shown.to_string(), packages: Vec::new() };
    let Some(pkgs) = table.get("package").and_then(|p| p.as_array()) else {
        ctx.warn(format!("{shown}: no [[package]] entries; is it a real lockfile?"));
        return Some(info);
    };
    for p in pkgs.iter().filter_map(|p| p.as_table()) {
        let Some(n) = p.get("name").and_then(|n| n.as_str()) else { continue };
        let mut lp = LockedPackage {
            name: normalize(n),
            version: p.get("version").and_then(|v| v.as_str()).unwrap_or("").to_string(),
            runtime: true,
            ..Default::default()
        };
        match name {
            "poetry.lock" => {
                // Poetry 2: groups = ["main", "dev"]; Poetry 1: category = "main" | "dev".
                if let Some(groups) = p.get("groups").and_then(|g| g.as_array()) {
                    lp.runtime = groups.iter().any(|g| g.as_str() == Some("main"));
                } else if let Some(cat) = get_str(p, &["category"]) {
                    lp.runtime = cat == "main";
                }
                // Poetry >=1.2 lists files per package; Poetry 1.1 under [metadata.files].
                let files = p.get("files").or_else(|| {
                    let meta = table.get("metadata")?.get("files")?.as_table()?;
                    meta.get(n).or_else(|| meta.iter().find(|(k, _)| normalize(k) == lp.name).map(|(_, v)| v))
                });
                set_files(&mut lp, files, "file", shown);
                // A directory, git or URL package has no index files to list.
                let local = p.get("source").and_then(|s| s.get("type")).and_then(|t| t.as_str());
                if local.is_some_and(|t| !matches!(t, "legacy" | "pypi")) {
                    lp.files_from = Some(shown.to_string());
                }
            }
            "pdm.lock" => {
                if let Some(groups) = p.get("groups").and_then(|g| g.as_array()) {
                    lp.runtime = groups.iter().any(|g| g.as_str() == Some("default"));
                }
                set_files(&mut lp, p.get("files"), "file", shown);
                if ["path", "git", "url"].iter().any(|k| p.contains_key(*k)) {
                    lp.files_from = Some(shown.to_string());
                }
            }
            _ => {
                let name_of = |w: &toml::Value| {
                    let u = w.get("url").or_else(|| w.get("path")).or_else(|| w.get("filename"))?.as_str()?;
                    Some(u.rsplit('/').next().unwrap_or(u).split('#').next().unwrap_or(u).to_string())
                };
                let wheels: Option<Vec<String>> =
                    p.get("wheels").and_then(|w| w.as_array()).map(|ws| ws.iter().filter_map(name_of).collect());
                let sdist = p.get("sdist").is_some();
                // A registry package lists its files; a local or git one has none to list.
                if wheels.is_some() || sdist || p.get("source").is_some() {
                    lp.wheels = wheels.unwrap_or_default();
                    lp.sdist = sdist;
                    lp.files_from = Some(shown.to_string());
                }
            }
        }
        info.packages.push(lp);
    }
    if name == "uv.lock" {
        mark_uv_runtime(&table, &mut info);
    }
    let pdm_groups = pkgs.iter().any(|p| p.get("groups").is_some());
    if name == "pdm.lock" && !pdm_groups {
        mark_pdm_runtime(ctx, &table, &mut info);
    }
    Some(info)
}

/// A pdm.lock written without `inherit_metadata` (lock_version 4.4 and older) names no group
/// per package: runtime packages are those reachable from `[project] dependencies` (the default
/// group) through each package's `dependencies`, so test and lint tools stay out.
fn mark_pdm_runtime(ctx: &mut Ctx, table: &toml::Table, info: &mut LockInfo) {
    let Some(py) = ctx.exists("pyproject.toml").then(|| ctx.read_toml("pyproject.toml")).flatten() else { return };
    let Some(roots) = py.get("project").and_then(|p| p.get("dependencies")).and_then(|d| d.as_array()) else {
        return;
    };
    let req_name = |s: &str| {
        let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c))).unwrap_or(s.len());
        normalize(&s[..end])
    };
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in table.get("package").and_then(|p| p.as_array()).into_iter().flatten() {
        let Some(n) = p.get("name").and_then(|n| n.as_str()) else { continue };
        let deps = p.get("dependencies").and_then(|d| d.as_array()).into_iter().flatten();
        edges.entry(normalize(n)).or_default().extend(deps.filter_map(|d| d.as_str()).map(req_name));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().filter_map(|r| r.as_str()).map(req_name).collect();
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone())
            && let Some(ds) = edges.get(&n)
        {
            todo.extend(ds.iter().cloned());
        }
    }
    for p in &mut info.packages {
        p.runtime = seen.contains(&p.name);
    }
}

/// Fills the wheel names and the sdist flag from a `files = [{file = ...}]` list. An empty or
/// missing list leaves the files unknown (old locks written without hashes).
fn set_files(lp: &mut LockedPackage, files: Option<&toml::Value>, key: &str, shown: &str) {
    let names: Vec<&str> = files
        .and_then(|f| f.as_array())
        .map(|fs| fs.iter().filter_map(|f| f.get(key)?.as_str()).collect())
        .unwrap_or_default();
    if names.is_empty() {
        return;
    }
    lp.wheels = names.iter().filter(|f| f.ends_with(".whl")).map(|f| f.to_string()).collect();
    lp.sdist = names.iter().any(|f| is_sdist(f));
    lp.files_from = Some(shown.to_string());
}

/// `pkg-1.0.tar.gz`, `.zip`, `.tar.bz2`: a source distribution.
pub fn is_sdist(file: &str) -> bool {
    [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"].iter().any(|e| file.ends_with(e))
}

/// uv.lock marks no groups per package: runtime packages are those reachable from the
/// workspace's own packages through `dependencies` (not `dev-dependencies`).
fn mark_uv_runtime(table: &toml::Table, info: &mut LockInfo) {
    let Some(pkgs) = table.get("package").and_then(|p| p.as_array()) else { return };
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut roots = Vec::new();
    for p in pkgs.iter().filter_map(|p| p.as_table()) {
        let Some(n) = p.get("name").and_then(|n| n.as_str()) else { continue };
        let n = normalize(n);
        let local = p
            .get("source")
            .and_then(|s| s.as_table())
            .is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual") || s.contains_key("directory"));
        if local {
            roots.push(n.clone());
        }
        let mut deps: Vec<String> = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|ds| ds.iter().filter_map(|d| d.get("name")?.as_str()).map(normalize).collect())
            .unwrap_or_default();
        // Optional extras a runtime package asks for are runtime too.
        if let Some(opt) = p.get("optional-dependencies").and_then(|o| o.as_table()) {
            for list in opt.values().filter_map(|v| v.as_array()) {
                deps.extend(list.iter().filter_map(|d| d.get("name")?.as_str()).map(normalize));
            }
        }
        edges.insert(n, deps);
    }
    if roots.is_empty() {
        return;
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo = roots;
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(ds) = edges.get(&n) {
            todo.extend(ds.iter().cloned());
        }
    }
    for p in &mut info.packages {
        p.runtime = seen.contains(&p.name);
    }
}

fn pipfile_lock(ctx: &mut Ctx, text: &str, shown: &str) -> Option<LockInfo> {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            ctx.warn(format!("{shown}:{}: not valid JSON ({e}); ignored", e.line()));
            return None;
        }
    };
    let mut info = LockInfo { file: shown.to_string(), packages: Vec::new() };
    for (section, runtime) in [("default", true), ("develop", false)] {
        if let Some(map) = v.get(section).and_then(|s| s.as_object()) {
            for (name, spec) in map {
                let version = spec.get("version").and_then(|v| v.as_str()).unwrap_or("");
                info.packages.push(LockedPackage {
                    name: normalize(name),
                    version: version.trim_start_matches("==").to_string(),
                    runtime,
                    ..Default::default()
                });
            }
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PythonVersion {
        s.parse().unwrap()
    }

    #[test]
    fn wheel_tags() {
        let w = "pydantic_core-2.27.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        assert!(wheel_fits(w, v("3.13")));
        assert!(!wheel_fits(w, v("3.12")));
        assert!(!wheel_fits("x-1-cp313-cp313-win_amd64.whl", v("3.13")));
        assert!(!wheel_fits("x-1-cp313-cp313t-manylinux_2_17_x86_64.whl", v("3.13")));
        assert!(wheel_fits("cryptography-44-cp39-abi3-manylinux_2_28_x86_64.whl", v("3.13")));
        assert!(!wheel_fits("cryptography-44-cp39-abi3-manylinux_2_28_x86_64.whl", v("3.8")));
        assert!(wheel_fits("fastapi-0.1-py3-none-any.whl", v("3.14")));
        assert!(is_pure("six-1.0-py2.py3-none-any.whl"));
        assert!(!is_pure("x-1-cp313-cp313-manylinux_2_17_x86_64.whl"));
        assert_eq!(normalize("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalize("zope.interface"), "zope-interface");
    }
}
