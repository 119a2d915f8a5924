//! What a Django project needs around its server: `collectstatic` as a build step when the
//! settings define STATIC_ROOT (mandatory with a manifest storage, whose missing entries answer
//! 500), the placeholder environment the settings need to import during the build, and
//! `migrate` before serving when the project's own start commands do not run it. Owns reading
//! the settings package for these; finding Django and its WSGI/ASGI target is `app`'s job.

use std::sync::LazyLock;

use regex::Regex;

use super::files::Ctx;
use super::pycode::Code;
use super::{Fact, ScanReport};

static STATIC_ROOT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*STATIC_ROOT\s*=").expect("static regex"));
static MANIFEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ManifestStaticFilesStorage|CompressedManifestStaticFilesStorage").expect("static regex")
});
/// `env("SECRET_KEY")`, `config("SECRET_KEY")`, `env.str("X")` with no default (django-environ,
/// python-decouple): required at import.
static ENV_HELPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^\s*[A-Z_]+\s*=\s*(?:env|config|env\.str|env\.db|env\.db_url)\(\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\)"#,
    )
    .expect("static regex")
});

/// A placeholder for a variable the build needs (never a real secret).
fn placeholder(name: &str) -> String {
    if name.contains("DATABASE") || name.ends_with("DB_URL") {
        "sqlite:////tmp/pyslim-build.sqlite3".into()
    } else if name.contains("REDIS") {
        "redis://localhost:6379/0".into()
    } else {
        "pyslim-build-placeholder".into()
    }
}

/// Adds the collectstatic build step with its environment, and `migrate` as a pre-start step.
/// `manage` is the manage.py path, `settings` the settings module (`mysite.settings`), `prefix`
/// the folder of manage.py (`""` or `"src/"`).
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, code: &Code, manage: &str, settings: &str, prefix: &str) {
    if !report.build_env.is_empty() || report.build_steps.iter().any(|s| s.value.contains("collectstatic")) {
        return; // already read (the framework search can run twice)
    }
    let path = format!("{prefix}{}", settings.replace('.', "/"));
    // the settings module and what it imports from the project (`from .base import *`)
    let start: Vec<String> =
        [format!("{path}.py"), format!("{path}/__init__.py")].into_iter().filter(|f| code.file(f).is_some()).collect();
    let sd = prefix.trim_end_matches('/');
    let files = super::env::closure(code, (!sd.is_empty()).then_some(sd), &start);
    let mut static_root: Option<String> = None;
    let mut manifest: Option<String> = None;
    let mut needs: Vec<(String, String)> = Vec::new();
    for f in &files {
        let Some(text) = ctx.read(f) else { continue };
        if let Some(m) = STATIC_ROOT.find(&text) {
            static_root.get_or_insert(format!("{f}:{}", super::files::line_of(&text, m.start())));
        }
        if let Some(m) = MANIFEST.find(&text) {
            manifest.get_or_insert(format!("{f}:{} ({})", super::files::line_of(&text, m.start()), m.as_str()));
        }
        for c in ENV_HELPER.captures_iter(&text) {
            let line = super::files::line_of(&text, c.get(0).map(|m| m.start()).unwrap_or(0));
            needs.push((c[1].to_string(), format!("{f}:{line}")));
        }
        if let Some(pf) = code.file(f) {
            for r in &pf.env_required {
                needs.push((r.name.clone(), format!("{f}:{} ({})", r.line, r.how)));
            }
        }
    }

    let has_migrate = report.pre_start.iter().any(|s| s.value.contains("migrate"));
    let has_migrations = code.files.iter().any(|f| f.path.contains("/migrations/0001_"));
    // A Procfile `release:` line that migrates (Heroku runs it before the new release serves)
    // is the project's own word for it; else pyslim adds the step.
    let release = report.build_step_candidates.iter().filter(|c| c.source.contains("release:")).find_map(|c| {
        c.value
            .split(['|', ';', '&'])
            .map(str::trim)
            .find(|part| part.contains("manage.py") && part.split_whitespace().any(|w| w == "migrate"))
            .map(|part| (part.to_string(), c.source.clone()))
    });
    if !has_migrate && (has_migrations || release.is_some()) {
        let (step, source) = match release {
            Some((cmd, at)) => {
                let cmd = if cmd.contains("--noinput") || cmd.contains("--no-input") {
                    cmd
                } else {
                    format!("{cmd} --noinput")
                };
                (cmd, format!("{at} (Heroku runs it before the release serves; here before the server starts)"))
            }
            None => (
                format!("python {manage} migrate --noinput"),
                format!("{manage} (Django: the database needs its tables before the server answers)"),
            ),
        };
        report.pre_start.push(Fact::new(step, source));
    }

    let Some(root_at) = static_root else { return };
    let why = match &manifest {
        Some(m) => format!("{root_at} (STATIC_ROOT) with {m}: without it every page answers 500"),
        None => format!("{root_at} (STATIC_ROOT)"),
    };
    report.build_steps.push(Fact::new(format!("python {manage} collectstatic --noinput"), why));
    let mut env: Vec<Fact<String>> = vec![Fact::new(
        format!("DJANGO_SETTINGS_MODULE={settings}"),
        format!("{manage} (the settings the server uses)"),
    )];
    for (name, source) in needs {
        if env.iter().any(|e| e.value.starts_with(&format!("{name}="))) {
            continue;
        }
        env.push(Fact::new(
            format!("{name}={}", placeholder(&name)),
            format!("{source}: read when the settings import"),
        ));
    }
    for e in &env[1..] {
        ctx.warn(format!(
            "collectstatic runs at build time with the placeholder {} ({}); the real value is only needed at run time",
            e.value, e.source
        ));
    }
    report.build_env.extend(env);
}
