//! Build dependencies: the Debian packages (compiler, headers, tools) the builder stage needs
//! for the distributions that compile from source on a given Python: source-only ones
//! (psycopg2, mysqlclient, uWSGI) and compiled ones whose pin has no Linux wheel for that Python
//! (psycopg2-binary 2.9.3 on 3.11, greenlet 3.0.1 on 3.13). Owns the table in
//! `assets/build_deps.toml` (embedded, parsed once) and [`at`], which plan and render ask again
//! for the plan's Python (`--python` may differ from the scan's choice). It does not decide how
//! a Dockerfile installs them (`render`), nor the run-time libraries (`system_libs`).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::python::PythonVersion;

use super::{BuildDep, Fact, ScanReport};

const TABLE: &str = include_str!("../../assets/build_deps.toml");

/// One `[[package]]` row of `assets/build_deps.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub debian: Vec<String>,
    #[serde(default)]
    pub source_only: bool,
    pub why: String,
}

/// One `[[header]]` row: a file a source build looks for, and the Debian package with it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub file: String,
    pub debian: String,
    #[serde(default)]
    pub runtime: Option<String>,
}

/// The whole table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// What every source build gets.
    pub compiler: Vec<String>,
    /// What the official full `python:3.X` image already ships.
    pub full_image_has: Vec<String>,
    /// What a dependency from a git repository needs (the `git` command).
    pub vcs: Vec<String>,
    pub package: Vec<Entry>,
    /// Files (headers, `pg_config`) and the packages that have them.
    pub header: Vec<Header>,
}

/// The Debian package that has `file` (`sql.h`, `src/include/libxml/xmlversion.h`,
/// `pg_config`), with `{python}` filled with `python` (`3.13`), and its run-time library
/// package; `None` when the table does not know the file.
pub fn package_for_file(file: &str, python: &str) -> Option<(String, Option<String>)> {
    let file = file.trim().trim_matches(|c| c == '\'' || c == '"' || c == '`');
    table()
        .header
        .iter()
        .find(|h| file == h.file || file.ends_with(&format!("/{}", h.file)))
        .map(|h| (h.debian.replace("{python}", python), h.runtime.clone()))
}

/// The run-time library package that goes with a build package the user named (`unixodbc-dev`
/// -> `libodbc2`), from the `[[header]]` rows.
pub fn runtime_for(debian: &str) -> Option<String> {
    table().header.iter().find(|h| h.debian == debian).and_then(|h| h.runtime.clone())
}

/// Whether the table knows `name` (PEP 503) as a distribution that publishes no Linux wheel
/// at all (uWSGI, psycopg2): it compiles on every Python alike.
pub fn source_only(name: &str) -> bool {
    table().package.iter().any(|e| e.source_only && e.name == name)
}

/// The embedded table, parsed once.
pub fn table() -> &'static Table {
    static CELL: OnceLock<Table> = OnceLock::new();
    CELL.get_or_init(|| toml::from_str(TABLE).expect("assets/build_deps.toml is checked by a unit test"))
}

/// The distributions that compile from source on Python `v`, each with the Debian packages
/// its build needs, compiler first.
pub fn at(report: &ScanReport, v: PythonVersion) -> Vec<BuildDep> {
    let t = table();
    let mut out: Vec<BuildDep> = Vec::new();
    let entry = |name: &str| t.package.iter().find(|e| e.name == name);
    let debian = |e: Option<&Entry>| {
        let mut d = t.compiler.clone();
        d.extend(e.map(|e| e.debian.clone()).unwrap_or_default());
        d
    };
    for p in report.pins.iter().filter(|p| p.runtime) {
        let e = entry(&p.name);
        // A source-only distribution that is not a known C extension is most likely pure Python.
        if !p.compiles_on(v) || !(p.bounds_python() || e.is_some()) {
            continue;
        }
        let reason = if p.bounds_python() {
            format!("{} {} has {}, none for Python {v}", p.name, p.version, p.wheel_span())
        } else {
            format!("{} {} ships source only", p.name, p.version)
        };
        let from = p.files_from.as_deref().unwrap_or("");
        out.push(BuildDep {
            package: p.name.clone(),
            version: p.version.clone(),
            reason: format!("{reason} ({from})"),
            debian: debian(e),
        });
    }
    for d in &report.dependencies {
        let Some(e) = entry(&d.name).filter(|e| e.source_only) else { continue };
        if out.iter().any(|b| b.package == e.name)
            || report.pins.iter().any(|p| p.name == e.name && p.files_from.is_some())
        {
            continue;
        }
        out.push(BuildDep {
            package: e.name.clone(),
            version: String::new(),
            reason: format!("{} ({}) has no Linux wheel: it always compiles", d.requirement, d.source),
            debian: debian(Some(e)),
        });
    }
    out
}

/// The scan's fact for its own Python choice.
pub fn detect(report: &mut ScanReport) {
    if report.package_manager.is_none() {
        return;
    }
    // No version chosen: source-only distributions compile on any; the newest Python with an
    // image for every variant stands in for the plan's default.
    let Some(v) = report.python.as_ref().map(|f| f.value).or_else(super::python_version::distroless_newest) else {
        return;
    };
    let deps = at(report, v);
    let source = if deps.is_empty() {
        format!("every pinned package installs from a wheel or is pure Python on {v}")
    } else {
        deps.iter().map(|d| d.reason.clone()).collect::<Vec<_>>().join("; ")
    };
    report.build_deps = Some(Fact::new(deps, source));
}

/// The Debian packages a stage needs to install the project's dependencies from a git
/// repository, less what the official full image ships when `full_image`.
pub fn vcs_packages(report: &ScanReport, full_image: bool) -> Vec<String> {
    let t = table();
    if report.vcs_dependencies.is_empty() {
        return Vec::new();
    }
    t.vcs.iter().filter(|p| !(full_image && t.full_image_has.contains(p))).cloned().collect()
}

/// The Debian packages a builder needs for `deps`, leaving out what the image ships (the
/// official full image's list when `full_image`), in order, each once.
pub fn packages(deps: &[BuildDep], full_image: bool) -> Vec<String> {
    let t = table();
    let mut out: Vec<String> = Vec::new();
    for p in deps.iter().flat_map(|d| d.debian.iter()) {
        let shipped = full_image && t.full_image_has.contains(p);
        if !shipped && !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Dependency, LockedPackage};

    fn pin(name: &str, version: &str, files: &[&str]) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: version.into(),
            wheels: files.iter().filter(|f| f.ends_with(".whl")).map(|f| f.to_string()).collect(),
            sdist: files.iter().any(|f| f.ends_with(".tar.gz")),
            files_from: Some("poetry.lock".into()),
            runtime: true,
            released: None,
            range: None,
        }
    }

    #[test]
    fn table_parses_and_every_entry_is_used() {
        let t = table();
        assert!(t.compiler.contains(&"build-essential".to_string()));
        for e in &t.package {
            assert!(!e.why.is_empty(), "{}", e.name);
            // Each row is found: a source-only pin of it compiles and gets its packages.
            let report = ScanReport {
                pins: vec![pin(&e.name, "1.0", &[&format!("{}-1.0.tar.gz", e.name)])],
                ..Default::default()
            };
            let deps = at(&report, PythonVersion::new(3, 13));
            assert_eq!(deps.len(), 1, "{}", e.name);
            for d in &e.debian {
                assert!(deps[0].debian.contains(d), "{}: {d}", e.name);
            }
            if e.source_only {
                // declared, not pinned: still compiles
                let report = ScanReport {
                    dependencies: vec![Dependency {
                        name: e.name.clone(),
                        requirement: e.name.clone(),
                        source: "r:1".into(),
                    }],
                    ..Default::default()
                };
                assert_eq!(at(&report, PythonVersion::new(3, 13)).len(), 1, "{}", e.name);
            }
        }
    }

    #[test]
    fn headers_and_tools_name_their_package() {
        assert_eq!(package_for_file("sql.h", "3.13"), Some(("unixodbc-dev".into(), Some("libodbc2".into()))));
        assert_eq!(package_for_file("/usr/include/libxml/xmlversion.h", "3.13").unwrap().0, "libxml2-dev");
        assert_eq!(package_for_file("xmlversion.h", "3.13"), None, "only a whole path part matches");
        assert_eq!(package_for_file("Python.h", "3.11"), Some(("python3.11-dev".into(), None)));
        assert_eq!(package_for_file("'pg_config'", "3.13").unwrap().0, "libpq-dev");
        assert_eq!(runtime_for("libcrypt-dev").as_deref(), Some("libcrypt1"));
        assert!(source_only("uwsgi") && !source_only("lxml"));
        for h in &table().header {
            assert!(!h.file.is_empty() && h.debian.ends_with("-dev"), "{h:?}");
        }
    }

    #[test]
    fn compiled_pin_without_wheel_for_the_python() {
        let p = pin(
            "psycopg2-binary",
            "2.9.3",
            &[
                "psycopg2_binary-2.9.3-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "psycopg2_binary-2.9.3-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "psycopg2-binary-2.9.3.tar.gz",
            ],
        );
        let pure = pin("flask", "3.0.0", &["flask-3.0.0-py3-none-any.whl", "flask-3.0.0.tar.gz"]);
        let unknown_sdist = pin("feedfinder2", "0.0.4", &["feedfinder2-0.0.4.tar.gz"]);
        let report = ScanReport { pins: vec![p, pure, unknown_sdist], ..Default::default() };
        assert!(at(&report, PythonVersion::new(3, 10)).is_empty());
        let d = at(&report, PythonVersion::new(3, 11));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].package, "psycopg2-binary");
        assert_eq!(d[0].reason, "psycopg2-binary 2.9.3 has wheels up to cp310, none for Python 3.11 (poetry.lock)");
        assert_eq!(d[0].debian, vec!["build-essential", "libpq-dev"]);
        assert_eq!(packages(&d, true), Vec::<String>::new());
        assert_eq!(packages(&d, false), vec!["build-essential", "libpq-dev"]);
    }
}
