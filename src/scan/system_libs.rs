//! Runtime system libraries: which shared libraries the project's dependencies need at run time
//! that slim and distroless images lack (psycopg2 from source -> libpq, mysqlclient ->
//! libmariadb, ...). Owns the table in `assets/system_libs.toml` (embedded, parsed once) and the
//! matching rules (extras, bundling alternatives, "only without a wheel"). It does not decide
//! how a Dockerfile installs them (`render`).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::python::PythonVersion;

use super::deps::Project;
use super::{Fact, ScanReport, SystemLib};

const TABLE: &str = include_str!("../../assets/system_libs.toml");

/// One row of `assets/system_libs.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub package: String,
    #[serde(default)]
    pub extra: Option<String>,
    #[serde(default)]
    pub unless_extra: Option<String>,
    #[serde(default)]
    pub unless_package: Option<String>,
    #[serde(default)]
    pub only_without_wheel: bool,
    pub name: String,
    pub debian_runtime: String,
    pub debian_build: String,
    pub sonames: Vec<String>,
    #[serde(default)]
    pub alternative: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    lib: Vec<Entry>,
}

/// The embedded table, parsed once.
pub fn table() -> &'static [Entry] {
    static CELL: OnceLock<Vec<Entry>> = OnceLock::new();
    CELL.get_or_init(|| {
        let t: Table = toml::from_str(TABLE).expect("assets/system_libs.toml is checked by a unit test");
        t.lib
    })
}

pub fn detect(report: &mut ScanReport, project: &Project) {
    if project.manager.is_none() {
        return; // dependencies unknown: say nothing rather than "none"
    }
    let mut libs: Vec<SystemLib> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    for e in table() {
        if !applies(e, project) {
            continue;
        }
        let lib = SystemLib {
            name: e.name.clone(),
            needed_by: e.package.clone(),
            debian_runtime: e.debian_runtime.clone(),
            debian_build: e.debian_build.clone(),
            sonames: e.sonames.clone(),
            alternative: e.alternative.clone(),
        };
        if e.only_without_wheel {
            if !report.libs_if_compiled.contains(&lib) {
                report.libs_if_compiled.push(lib.clone());
            }
            let py = report.python.as_ref().map(|f| f.value);
            if !py.is_some_and(|v| compiles(report, &e.package, v)) {
                continue;
            }
        }
        let declared = report.dependencies.iter().find(|d| d.name == e.package);
        let source = match declared {
            Some(d) => format!("{} ({})", d.source, d.requirement),
            None => {
                format!("{} in {}", e.package, project.lock.as_ref().map(|l| l.file.as_str()).unwrap_or("the lock"))
            }
        };
        if libs.iter().any(|l| l.name == e.name && l.needed_by == e.package) {
            continue;
        }
        sources.push(source);
        libs.push(lib);
    }
    let source = if sources.is_empty() {
        match &project.lock {
            Some(l) => format!("no dependency in {} needs a system library", l.file),
            None => "no declared dependency needs a system library".to_string(),
        }
    } else {
        sources.join("; ")
    };
    for l in &libs {
        let alt = l.alternative.as_deref().map(|a| format!(", or use {a}")).unwrap_or_default();
        report.warnings.push(format!(
            "{} needs {} ({}) at run time: the runtime image must have it{alt}",
            l.needed_by,
            l.name,
            l.sonames.join(", ")
        ));
    }
    report.system_libs = Some(Fact::new(libs, source));
}

fn applies(e: &Entry, project: &Project) -> bool {
    if !project.has(&e.package) {
        return false;
    }
    if let Some(x) = &e.extra
        && !project.has_extra(&e.package, x)
    {
        return false;
    }
    if let Some(x) = &e.unless_extra
        && (project.has_extra(&e.package, x) || e.extra.is_none() && project.has_extra(&e.package, "c"))
    {
        // [binary] bundles the library; [c] is the `extra = "c"` row's business.
        return false;
    }
    if let Some(p) = &e.unless_package
        && project.has(p)
    {
        return false;
    }
    if e.only_without_wheel {
        // Needed only when the file lists (lock or index) prove it compiles; [`at`] decides per Python.
        return project.wheel_info().and_then(|l| l.get(&e.package)).is_some_and(|p| p.files_from.is_some());
    }
    true
}

/// Whether the pin of `package` compiles from source on `v`.
fn compiles(report: &ScanReport, package: &str, v: PythonVersion) -> bool {
    report.pins.iter().any(|p| p.name == package && p.compiles_on(v))
}

/// The run-time libraries for Python `v`: the scan's, with the `only_without_wheel` ones
/// decided again for `v` (a `--python` other than the scan's choice).
pub fn at(report: &ScanReport, v: PythonVersion) -> Vec<SystemLib> {
    let mut out: Vec<SystemLib> = report
        .system_libs
        .as_ref()
        .map(|f| f.value.iter().filter(|l| !report.libs_if_compiled.contains(l)).cloned().collect())
        .unwrap_or_default();
    for l in &report.libs_if_compiled {
        if compiles(report, &l.needed_by, v) && !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::lock::{LockInfo, LockedPackage};
    use crate::scan::{Dependency, PackageManager};

    fn project(deps: &[(&str, &[&str])]) -> Project {
        let mut p = Project { manager: Some(PackageManager::Pip), ..Default::default() };
        for (n, extras) in deps {
            p.runtime_names.insert(n.to_string());
            p.extras.insert(n.to_string(), extras.iter().map(|e| e.to_string()).collect());
        }
        p
    }

    fn libs(p: &Project, report: &mut ScanReport) -> Vec<(String, String)> {
        detect(report, p);
        report.system_libs.as_ref().unwrap().value.iter().map(|l| (l.needed_by.clone(), l.name.clone())).collect()
    }

    #[test]
    fn table_parses_and_every_entry_is_used() {
        let t = table();
        assert!(t.len() >= 10);
        for (i, e) in t.iter().enumerate() {
            assert!(
                !e.sonames.is_empty() && !e.debian_runtime.is_empty() && !e.debian_build.is_empty(),
                "{}",
                e.package
            );
            // Build a project that should trigger exactly this row.
            let extras: Vec<&str> = e.extra.iter().map(String::as_str).collect();
            let mut p = project(&[(e.package.as_str(), extras.as_slice())]);
            let mut report = ScanReport {
                python: Some(Fact::new(crate::python::PythonVersion::new(3, 13), "t")),
                ..Default::default()
            };
            if e.only_without_wheel {
                let pin = LockedPackage {
                    name: e.package.clone(),
                    version: "1".into(),
                    wheels: vec![format!("{}-1-cp312-cp312-manylinux_2_17_x86_64.whl", e.package)],
                    files_from: Some("poetry.lock".into()),
                    runtime: true,
                    ..Default::default()
                };
                report.pins = vec![pin.clone()];
                p.lock = Some(LockInfo { file: "poetry.lock".into(), packages: vec![pin] });
            }
            let found = libs(&p, &mut report);
            assert!(
                found.contains(&(e.package.clone(), e.name.clone())),
                "row {i} ({}) never matches: {found:?}",
                e.package
            );
            if let Some(u) = &e.unless_package {
                let mut p2 = project(&[(e.package.as_str(), extras.as_slice()), (u.as_str(), &[])]);
                p2.lock = p.lock.clone();
                let found = libs(&p2, &mut ScanReport::default());
                assert!(!found.iter().any(|(pk, _)| pk == &e.package), "{} with {u}: {found:?}", e.package);
            }
        }
    }

    #[test]
    fn psycopg_variants_and_none() {
        let mut r = ScanReport::default();
        assert_eq!(libs(&project(&[("psycopg", &["binary"])]), &mut r), vec![]);
        assert_eq!(r.system_libs.as_ref().unwrap().source, "no declared dependency needs a system library");
        let mut r = ScanReport::default();
        assert_eq!(libs(&project(&[("psycopg", &["c"])]), &mut r), vec![("psycopg".into(), "libpq".into())]);
        let mut r = ScanReport::default();
        assert_eq!(libs(&project(&[("psycopg2-binary", &[])]), &mut r), vec![]);
        let mut r = ScanReport {
            dependencies: vec![Dependency {
                name: "psycopg2".into(),
                requirement: "psycopg2>=2.9".into(),
                source: "requirements.txt:2".into(),
            }],
            ..Default::default()
        };
        assert_eq!(libs(&project(&[("psycopg2", &[])]), &mut r), vec![("psycopg2".into(), "libpq".into())]);
        assert_eq!(r.system_libs.as_ref().unwrap().source, "requirements.txt:2 (psycopg2>=2.9)");
        // lxml with a wheel for the chosen Python needs nothing
        let mut p = project(&[("lxml", &[])]);
        p.lock = Some(LockInfo {
            file: "uv.lock".into(),
            packages: vec![LockedPackage {
                name: "lxml".into(),
                version: "5".into(),
                wheels: vec!["lxml-5-cp313-cp313-manylinux_2_28_x86_64.whl".into()],
                files_from: Some("uv.lock".into()),
                runtime: true,
                ..Default::default()
            }],
        });
        let mut r = ScanReport {
            python: Some(Fact::new(crate::python::PythonVersion::new(3, 13), "t")),
            pins: p.lock.as_ref().unwrap().packages.clone(),
            ..Default::default()
        };
        assert_eq!(libs(&p, &mut r), vec![]);
        // ... and on a Python it has no wheel for, libxml2 (asked again for that Python)
        assert_eq!(at(&r, crate::python::PythonVersion::new(3, 12)).len(), 1);
        assert!(at(&r, crate::python::PythonVersion::new(3, 13)).is_empty());
        // unknown dependencies: no fact at all
        let mut r = ScanReport::default();
        detect(&mut r, &Project::default());
        assert!(r.system_libs.is_none());
    }
}
