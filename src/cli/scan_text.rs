//! The readable summary that `pyslim scan` prints without `--json`: one line per fact with its
//! source, then the layout (dependency files, source folder, build context), the dependencies,
//! secrets that would enter the build context, and the warnings.

use std::fmt::Write;

use crate::scan::{self, Fact, ScanReport};

/// Values longer than this push the source onto its own line.
const VALUE_WIDTH: usize = 36;

fn line<T>(out: &mut String, label: &str, fact: &Option<Fact<T>>, show: impl Fn(&T) -> String) {
    match fact {
        Some(f) => {
            let v = show(&f.value);
            if v.chars().count() > VALUE_WIDTH {
                let _ = writeln!(out, "  {label:<16}{v}");
                let _ = writeln!(out, "  {:<16}({})", "", f.source);
            } else {
                let _ = writeln!(out, "  {label:<16}{v:<VALUE_WIDTH$} ({})", f.source);
            }
        }
        None => {
            let _ = writeln!(out, "  {label:<16}-");
        }
    }
}

fn plain(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "  {label:<16}{value}");
}

/// Multi-line summary of a scan.
pub fn summary(r: &ScanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Project {}", r.root.display());
    line(&mut out, "package manager", &r.package_manager, |v| v.as_str().to_string());
    line(&mut out, "lockfile", &r.lockfile, |v| v.clone());
    line(&mut out, "python", &r.python, |v| v.to_string());
    line(&mut out, "framework", &r.framework, |v| v.as_str().to_string());
    line(&mut out, "app server", &r.app_server, |v| v.as_str().to_string());
    line(&mut out, "app", &r.app, |v| v.clone());
    line(&mut out, "entrypoint", &r.entrypoint, |v| scan::command_line(v));
    for alt in &r.entrypoint_alternatives {
        plain(&mut out, "  or", &scan::command_line(&alt.value));
    }
    line(&mut out, "port", &r.port, |v| v.to_string());
    // start-command facts: one line each, only when there are some
    let lists: [(&str, &Vec<Fact<String>>); 8] = [
        ("pre-start", &r.pre_start),
        ("writable", &r.writable),
        ("build step", &r.build_steps),
        ("build offer", &r.build_step_candidates),
        ("build env", &r.build_env),
        ("extra require", &r.extra_requirements),
        ("required env", &r.required_env),
        ("runtime env", &r.runtime_env),
    ];
    for (label, facts) in lists {
        for f in facts {
            line(&mut out, label, &Some(f.clone()), |v| v.clone());
        }
    }
    line(&mut out, "system libs", &r.system_libs, |v| {
        if v.is_empty() {
            "none".into()
        } else {
            v.iter().map(|l| format!("{} ({})", l.name, l.needed_by)).collect::<Vec<_>>().join(", ")
        }
    });
    if r.build_deps.as_ref().is_some_and(|f| !f.value.is_empty()) {
        line(&mut out, "build deps", &r.build_deps, |v| {
            v.iter().map(|d| format!("{} ({})", d.package, d.debian.join(" "))).collect::<Vec<_>>().join(", ")
        });
    }
    for f in &r.vcs_dependencies {
        let v = &f.value;
        let editable = if v.editable { ", editable" } else { "" };
        line(&mut out, "from git", &Some(f.clone()), |v| format!("{} ({}{editable})", v.name, v.url));
    }
    if r.pins_as_of.is_some() {
        line(&mut out, "pins as of", &r.pins_as_of, |v| v.clone());
    }
    line(&mut out, "Dockerfile", &r.existing_dockerfile, |v| v.clone());
    line(&mut out, ".dockerignore", &r.existing_dockerignore, |v| v.clone());

    let files = if r.dependency_files.is_empty() { "-".to_string() } else { r.dependency_files.join(", ") };
    plain(&mut out, "install files", &files);
    plain(&mut out, "source folder", r.source_dir.as_deref().unwrap_or("(project root)"));
    plain(&mut out, "installable", if r.installable { "yes (the project is a package)" } else { "no" });
    if let Some(c) = &r.context_root {
        plain(&mut out, "build context", &format!("{c} (workspace root)"));
    }
    let deps = if r.dependencies.is_empty() {
        if r.package_manager.is_some() { "none declared".to_string() } else { "unknown".to_string() }
    } else {
        let names: Vec<&str> = r.dependencies.iter().map(|d| d.name.as_str()).take(12).collect();
        let more = r.dependencies.len().saturating_sub(names.len());
        let tail = if more > 0 { format!(", +{more} more") } else { String::new() };
        format!("{} runtime: {}{tail}", r.dependencies.len(), names.join(", "))
    };
    plain(&mut out, "dependencies", &deps);
    if !r.secrets_in_context.is_empty() {
        plain(&mut out, "secrets", &r.secrets_in_context.join(", "));
    }
    let mut warnings: Vec<&String> = r.warnings.iter().collect();
    if let Some(c) = &r.compose {
        compose(&mut out, c);
        warnings.extend(&c.warnings);
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "Warnings:");
        for w in warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

/// The compose file's facts: the file, the app's service, the services beside it and the names
/// of the app's variables (values may be secrets), each with its source.
fn compose(out: &mut String, c: &scan::compose::ComposeFacts) {
    let mut file = c.file.clone();
    if !c.overrides.is_empty() {
        file = format!("{file} (+ {})", c.overrides.join(", "));
    }
    plain(out, "compose", &file);
    plain(out, "  app service", &c.app_service);
    for s in &c.services {
        let built = if s.build_context.is_some() { ", built here" } else { "" };
        let f = Fact::new(format!("{} ({}{built})", s.name, s.image), s.source.clone());
        line(out, "  service", &Some(f), |v| v.clone());
    }
    for e in &c.env {
        line(out, "  env", &Some(Fact::new(e.value.0.clone(), e.source.clone())), |v| v.clone());
    }
    line(out, "  port", &c.port, |v| v.to_string());
    for s in &c.secrets {
        line(out, "  secret", &Some(s.clone()), |v| v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Dependency, PackageManager};

    #[test]
    fn summary_shows_layout_dependencies_and_secrets() {
        let r = ScanReport {
            package_manager: Some(Fact::new(PackageManager::Pip, "requirements.txt")),
            entrypoint: Some(Fact::new(
                ["gunicorn", "-b", "0.0.0.0:8000", "shop:create_app()"].map(String::from).to_vec(),
                "gunicorn serving shop:create_app() from shop/__init__.py:6",
            )),
            dependencies: vec![Dependency {
                name: "flask".into(),
                requirement: "Flask==3.1".into(),
                source: "base.txt:1".into(),
            }],
            dependency_files: vec!["requirements.txt".into(), "base.txt".into()],
            secrets_in_context: vec![".env".into()],
            warnings: vec![".env would enter the build context: add it to .dockerignore".into()],
            ..Default::default()
        };
        let s = summary(&r);
        assert!(s.contains("  package manager pip "), "{s}");
        assert!(s.contains("  entrypoint      gunicorn -b 0.0.0.0:8000 'shop:create_app()'\n"), "{s}");
        assert!(s.contains("(gunicorn serving shop:create_app() from shop/__init__.py:6)"), "{s}");
        assert!(s.contains("install files   requirements.txt, base.txt"), "{s}");
        assert!(s.contains("dependencies    1 runtime: flask"), "{s}");
        assert!(s.contains("secrets         .env"), "{s}");
        assert!(s.contains("  - .env would enter"), "{s}");
    }
}
