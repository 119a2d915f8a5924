//! The readable summary that `pyslim scan` prints without `--json`.

use std::fmt::Write;

use crate::scan::{Fact, ScanReport};

fn line<T>(out: &mut String, label: &str, fact: &Option<Fact<T>>, show: impl Fn(&T) -> String) {
    match fact {
        Some(f) => {
            let _ = writeln!(out, "  {label:<16}{:<36} ({})", show(&f.value), f.source);
        }
        None => {
            let _ = writeln!(out, "  {label:<16}-");
        }
    }
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
    line(&mut out, "entrypoint", &r.entrypoint, |v| {
        shlex::try_join(v.iter().map(String::as_str)).unwrap_or_else(|_| v.join(" "))
    });
    line(&mut out, "port", &r.port, |v| v.to_string());
    line(&mut out, "system libs", &r.system_libs, |v| {
        if v.is_empty() {
            "none".into()
        } else {
            v.iter().map(|l| format!("{} ({})", l.name, l.needed_by)).collect::<Vec<_>>().join(", ")
        }
    });
    line(&mut out, "Dockerfile", &r.existing_dockerfile, |v| v.clone());
    line(&mut out, ".dockerignore", &r.existing_dockerignore, |v| v.clone());
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "Warnings:");
        for w in &r.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}
