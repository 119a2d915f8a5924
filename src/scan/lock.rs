//! Lockfiles as data: which packages a lock pins (and whether each is a runtime package), and
//! which wheels it lists, so the scan can tell for which CPython versions every compiled
//! dependency has a Linux wheel. Reads `poetry.lock`, `uv.lock`, `pdm.lock` (TOML) and
//! `Pipfile.lock` (JSON, no wheel names). It does not decide the package manager (`deps`).

use std::collections::{BTreeMap, BTreeSet};

use crate::python::PythonVersion;

use super::files::{Ctx, get_str};

/// One locked package.
#[derive(Clone, Debug, Default)]
pub struct LockedPackage {
    /// PEP 503 normalized name.
    pub name: String,
    pub version: String,
    /// Wheel file names the lock lists (empty: unknown or sdist only).
    pub wheels: Vec<String>,
    /// Whether the package is needed at run time (not only by a dev group), as far as the lock says.
    pub runtime: bool,
}

impl LockedPackage {
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

    /// Compiled runtime packages without a wheel for `v`.
    pub fn missing_wheels(&self, v: PythonVersion) -> Vec<&LockedPackage> {
        self.packages.iter().filter(|p| p.runtime && p.is_compiled() && p.has_wheel_for(v) == Some(false)).collect()
    }
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

fn wheel_fits(wheel: &str, v: PythonVersion) -> bool {
    let Some((py, abi, plat)) = tags(wheel) else { return false };
    let linux = plat == "any" || plat.split('.').any(|p| p.contains("linux") && !p.contains("musllinux"));
    if !linux {
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
            wheels: Vec::new(),
            runtime: true,
        };
        match name {
            "poetry.lock" => {
                // Poetry 2: groups = ["main", "dev"]; Poetry 1: category = "main" | "dev".
                if let Some(groups) = p.get("groups").and_then(|g| g.as_array()) {
                    lp.runtime = groups.iter().any(|g| g.as_str() == Some("main"));
                } else if let Some(cat) = get_str(p, &["category"]) {
                    lp.runtime = cat == "main";
                }
                lp.wheels = file_names(p.get("files"), "file");
            }
            "pdm.lock" => {
                if let Some(groups) = p.get("groups").and_then(|g| g.as_array()) {
                    lp.runtime = groups.iter().any(|g| g.as_str() == Some("default"));
                }
                lp.wheels = file_names(p.get("files"), "file");
            }
            _ => {
                lp.wheels = p
                    .get("wheels")
                    .and_then(|w| w.as_array())
                    .map(|ws| {
                        ws.iter()
                            .filter_map(|w| w.get("url").or_else(|| w.get("path")).or_else(|| w.get("filename")))
                            .filter_map(|u| u.as_str())
                            .map(|u| u.rsplit('/').next().unwrap_or(u).split('#').next().unwrap_or(u).to_string())
                            .collect()
                    })
                    .unwrap_or_default();
            }
        }
        info.packages.push(lp);
    }
    if name == "uv.lock" {
        mark_uv_runtime(&table, &mut info);
    }
    Some(info)
}

fn file_names(files: Option<&toml::Value>, key: &str) -> Vec<String> {
    files
        .and_then(|f| f.as_array())
        .map(|fs| {
            fs.iter().filter_map(|f| f.get(key)?.as_str()).filter(|f| f.ends_with(".whl")).map(String::from).collect()
        })
        .unwrap_or_default()
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
                    wheels: Vec::new(),
                    runtime,
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
