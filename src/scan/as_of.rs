//! The date a project's dependency set was frozen: when every direct dependency is an exact `==`
//! pin but nothing locks the rest of the tree (a `requirements.txt` of direct pins), the unpinned
//! dependencies of those pins would resolve to today's releases, which the pinned versions often
//! predate (`fastapi==0.109.0` with today's pydantic, `newspaper3k==0.2.8` with an lxml that moved
//! `lxml.html.clean` out). The newest pin's release date, from the index's upload times (PEP 700),
//! is when the author last resolved the set; plan turns it into the install's cutoff.
//!
//! A compiled lock (`pip-compile`'s header, `--hash=` lines) pins the whole tree and gets no
//! date. Owns only the fact; it never asks the network itself ([`super::index`] did).

use super::deps::Project;
use super::files::Ctx;
use super::{Fact, ScanReport};

/// Sets [`ScanReport::pins_as_of`] when the project's runtime dependencies are all exact pins
/// without a lock, and the index gave every pin's release date.
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, project: &Project) {
    if project.lock.is_some() || report.dependencies.is_empty() {
        return;
    }
    let Some(pins) = project.pins.as_ref() else { return };
    if !report.dependencies.iter().all(|d| is_exact(&d.requirement)) {
        return;
    }
    // A compiled lock (pip-compile, `uv pip compile`, hashes) pins the whole tree: nothing to date.
    let compiled = |text: &str| {
        text.contains("--hash=")
            || text.lines().take(10).any(|l| {
                let l = l.to_ascii_lowercase();
                l.starts_with('#') && (l.contains("pip-compile") || l.contains("uv pip compile"))
            })
    };
    if report.dependency_files.iter().filter_map(|f| ctx.read(f)).any(|t| compiled(&t)) {
        return;
    }
    let runtime: Vec<_> = pins.packages.iter().filter(|p| p.runtime).collect();
    if runtime.is_empty() || runtime.iter().any(|p| p.released.is_none()) {
        return;
    }
    let Some(newest) = runtime.iter().max_by(|a, b| a.released.cmp(&b.released)) else { return };
    let Some(date) = newest.released.clone() else { return };
    // `requirements.txt:3` names the first requirement's line; the fact is about the file
    let file = match pins.file.rsplit_once(':') {
        Some((f, line)) if line.chars().all(|c| c.is_ascii_digit()) => f,
        _ => pins.file.as_str(),
    };
    report.pins_as_of = Some(Fact::new(
        date.clone(),
        format!(
            "{file}: every dependency is an exact pin; the newest, {}=={}, was released {date} (the package index's upload times)",
            newest.name, newest.version,
        ),
    ));
}

/// `name==1.2.3` (with extras or a marker), not a range, a URL or a wildcard.
fn is_exact(requirement: &str) -> bool {
    super::lock::exact_pin(requirement).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::lock::{LockInfo, LockedPackage};
    use crate::scan::{Dependency, Fact as F, PackageManager};

    fn dep(req: &str) -> Dependency {
        let name = req.split(['=', '<', '>', '[', ';', '~', '!']).next().unwrap_or(req).to_string();
        Dependency { name, requirement: req.into(), source: "requirements.txt".into() }
    }

    fn pin(name: &str, version: &str, released: Option<&str>) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: version.into(),
            runtime: true,
            released: released.map(String::from),
            files_from: Some("https://pypi.org/simple/".into()),
            ..Default::default()
        }
    }

    fn run(deps: &[&str], pins: Vec<LockedPackage>) -> Option<F<String>> {
        let mut report = ScanReport {
            package_manager: Some(F::new(PackageManager::Pip, "requirements.txt")),
            dependencies: deps.iter().map(|d| dep(d)).collect(),
            ..Default::default()
        };
        let project =
            Project { pins: Some(LockInfo { file: "requirements.txt".into(), packages: pins }), ..Default::default() };
        let dir = tempfile::tempdir().unwrap();
        detect(&mut Ctx::new(dir.path().to_path_buf()), &mut report, &project);
        report.pins_as_of
    }

    #[test]
    fn newest_pin_dates_a_set_of_direct_pins() {
        let f = run(
            &["fastapi==0.109.0", "uvicorn==0.26.0", "newspaper3k==0.2.8"],
            vec![
                pin("fastapi", "0.109.0", Some("2024-01-11")),
                pin("uvicorn", "0.26.0", Some("2024-01-16")),
                pin("newspaper3k", "0.2.8", Some("2018-09-28")),
            ],
        )
        .expect("a date");
        assert_eq!(f.value, "2024-01-16");
        assert!(f.source.contains("uvicorn==0.26.0"), "{}", f.source);
    }

    #[test]
    fn no_date_when_a_dependency_floats_or_a_date_is_unknown() {
        let pins = || vec![pin("flask", "2.0.1", Some("2021-05-21")), pin("requests", "2.25.1", Some("2020-12-16"))];
        assert!(run(&["flask==2.0.1", "requests>=2"], pins()).is_none(), "a range floats on purpose");
        assert!(run(&["flask==2.0.1", "requests"], pins()).is_none());
        let unknown = vec![pin("flask", "2.0.1", Some("2021-05-21")), pin("requests", "2.25.1", None)];
        assert!(run(&["flask==2.0.1", "requests==2.25.1"], unknown).is_none());
        assert!(run(&["flask==2.0.1", "requests==2.25.1"], pins()).is_some());
        assert!(is_exact("uvicorn[standard]==0.26.0; python_version >= '3.8'"));
        assert!(!is_exact("django==4.2.*"), "a wildcard is a range");
    }

    #[test]
    fn a_compiled_lock_is_not_dated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("requirements.txt"),
            "#\n# This file is autogenerated by pip-compile with Python 3.12\n#\nflask==2.0.1\n",
        )
        .unwrap();
        let mut report = ScanReport {
            root: dir.path().to_path_buf(),
            dependency_files: vec!["requirements.txt".into()],
            dependencies: vec![dep("flask==2.0.1")],
            ..Default::default()
        };
        let pins = vec![pin("flask", "2.0.1", Some("2021-05-21"))];
        let project =
            Project { pins: Some(LockInfo { file: "requirements.txt".into(), packages: pins }), ..Default::default() };
        detect(&mut Ctx::new(dir.path().to_path_buf()), &mut report, &project);
        assert!(report.pins_as_of.is_none());
        std::fs::write(dir.path().join("requirements.txt"), "flask==2.0.1\n").unwrap();
        detect(&mut Ctx::new(dir.path().to_path_buf()), &mut report, &project);
        assert!(report.pins_as_of.is_some());
    }
}
