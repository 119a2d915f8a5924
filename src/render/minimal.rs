//! The `minimal` variant's builder step: the assembly (`pyslim_helpers.assemble`, a helper file
//! copied into the builder) run with the venv's python, so that a plain `docker build`
//! assembles the `FROM scratch` root from `.pyslim/trace.txt` without pyslim.
//!
//! Owns the always-kept knowledge (`assets/minimal.toml`) and the staging paths. The trace hook
//! that the engine mounts for a tracing run is a helper file too (`helpers::TRACE_HOOK`). The
//! stage layout around this step is `stages`'; the tracing run itself is the engine's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text::{Run, sh_quote};
use super::{Ctx, helpers};
use crate::layout::{TRACE_FILE, VENV};

pub use super::helpers::TRACE_HOOK;

/// The assembled root filesystem (without the venv) in the builder stage.
pub const ROOT_OUT: &str = "/pyslim/root";
/// The kept part of the venv in the builder stage (copied to the venv path).
pub const VENV_OUT: &str = "/pyslim/venv";
/// Where the final image holds the manifest of what was kept and dropped (JSON).
pub const MANIFEST: &str = "/etc/pyslim/minimal.json";
/// Where the builder stage reads the trace.
const TRACE_IN: &str = "/tmp/pyslim-trace.txt";
const KNOWLEDGE: &str = include_str!("../../assets/minimal.toml");

/// What `minimal` keeps whatever the trace says (`assets/minimal.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    /// Stdlib modules needed before a site hook runs, and by tracebacks.
    pub stdlib: Vec<String>,
    /// Shared libraries glibc loads with dlopen.
    pub libs: Vec<String>,
    /// Files outside Python that TLS clients read.
    pub files: Vec<String>,
    /// Trace `file` entries never kept (prefixes).
    pub ignore: Vec<String>,
    /// Stdlib packages kept module by module (not whole), each with the submodules always kept.
    pub split: BTreeMap<String, Vec<String>>,
}

impl Knowledge {
    /// The module name a trace line keeps: the top-level name, or `package.submodule` for a
    /// package in `split`.
    pub fn kept_name<'a>(&self, module: &'a str) -> &'a str {
        let mut parts = module.splitn(3, '.');
        let top = parts.next().unwrap_or(module);
        match parts.next() {
            Some(sub) if self.split.contains_key(top) => &module[..top.len() + 1 + sub.len()],
            _ => top,
        }
    }
}

/// The parsed `assets/minimal.toml` (a test checks that it parses).
pub fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| toml::from_str(KNOWLEDGE).expect("assets/minimal.toml is checked by a unit test"))
}

/// The trace file's place in the build context (inside a workspace member's folder).
pub(crate) fn trace_in_context(ctx: &Ctx) -> String {
    match &ctx.member {
        Some(m) => format!("{m}/{TRACE_FILE}"),
        None => TRACE_FILE.to_string(),
    }
}

/// `RUN … python -m pyslim_helpers.assemble --trace …` (after [`helpers::copy_package`]).
pub(crate) fn assemble_run(ctx: &Ctx, traced: bool) -> Run {
    let k = knowledge();
    ctx.uses_helpers.set(true);
    let mut args = vec![
        // no_debug_ranges: the compiled stdlib carries no column tables (tracebacks have no
        // source lines to point into anyway), about 5 % smaller.
        helpers::run_module("-X no_debug_ranges", "assemble"),
        format!("--venv {VENV} --out {ROOT_OUT} --venv-out {VENV_OUT} --manifest {MANIFEST}"),
        format!("--user {}", sh_quote(&ctx.plan.user)),
    ];
    if traced {
        args.push(format!("--trace {TRACE_IN}"));
    }
    args.extend(repeated("--keep", &ctx.plan.minimal.keep));
    let mut always = k.stdlib.clone();
    for (package, subs) in &k.split {
        always.extend(subs.iter().map(|s| format!("{package}.{s}")));
    }
    args.extend(repeated("--always", &always));
    if !k.split.is_empty() {
        args.push(format!("--split {}", k.split.keys().cloned().collect::<Vec<_>>().join(",")));
    }
    args.extend(repeated("--libs", &k.libs));
    args.extend(repeated("--files", &k.files));
    if ctx.plan.trim.strip {
        args.push("--strip".into());
    }
    if ctx.plan.minimal.sources {
        args.push("--sources".into());
    }
    Run::new().cmd(args.join(" \\\n        "))
}

/// `FLAG a,b,c` lines of at most about 100 characters each (the helper joins repeated flags), so
/// a long list stays readable in the Dockerfile.
fn repeated(flag: &str, items: &[String]) -> Vec<String> {
    let mut lines: Vec<Vec<&str>> = Vec::new();
    let mut width = 0;
    for item in items {
        match lines.last_mut() {
            Some(line) if width + 1 + item.len() <= 90 => {
                line.push(item);
                width += 1 + item.len();
            }
            _ => {
                lines.push(vec![item]);
                width = item.len();
            }
        }
    }
    lines.into_iter().map(|l| format!("{flag} {}", l.join(","))).collect()
}

/// The `COPY` of the trace into the builder.
pub(crate) fn copy_trace(ctx: &Ctx) -> String {
    format!("COPY {} {TRACE_IN}", trace_in_context(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knowledge_parses_and_every_list_is_used() {
        let k = knowledge();
        assert!(k.stdlib.iter().any(|m| m == "encodings"));
        assert!(k.libs.iter().any(|l| l == "libgcc_s.so.1"));
        assert!(k.files.iter().any(|f| f.contains("ca-certificates")));
        assert!(k.ignore.iter().any(|f| f == "/etc/resolv.conf"));
        assert!(k.split.get("encodings").is_some_and(|s| s.iter().any(|m| m == "utf_8")));
        let subs = k.split.iter().flat_map(|(p, s)| s.iter().map(move |m| format!("{p}.{m}")));
        for m in k.stdlib.iter().chain(&k.libs).chain(&k.files).cloned().chain(subs) {
            assert!(!m.contains(',') && !m.contains(' '), "{m} would break the builder's command line");
        }
    }

    #[test]
    fn long_lists_become_repeated_flags() {
        let items: Vec<String> = (0..40).map(|i| format!("module_{i}")).collect();
        let lines = repeated("--always", &items);
        assert!(lines.len() > 3 && lines.iter().all(|l| l.len() <= 100 && l.starts_with("--always ")), "{lines:?}");
        let joined: Vec<&str> = lines.iter().flat_map(|l| l["--always ".len()..].split(',')).collect();
        assert_eq!(joined, items);
        assert!(repeated("--keep", &[]).is_empty());
    }

    #[test]
    fn split_packages_keep_their_submodule_names() {
        let k = knowledge();
        assert_eq!(k.kept_name("encodings.cp1252"), "encodings.cp1252");
        assert_eq!(k.kept_name("encodings"), "encodings");
        assert_eq!(k.kept_name("email.mime.text"), "email");
        assert_eq!(k.kept_name("fastapi"), "fastapi");
    }
}
