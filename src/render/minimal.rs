//! The `minimal` variant's builder step: the assembly script (`assets/minimal/assemble.py`)
//! written into the Dockerfile and run with the venv's python, so that a plain `docker build`
//! assembles the `FROM scratch` root from `.pyslim/trace.txt` without pyslim.
//!
//! Owns the always-kept knowledge (`assets/minimal.toml`), the staging paths and the trace hook
//! that the engine mounts for a tracing run (`assets/minimal/sitecustomize.py`). The stage
//! layout around this step is `stages`'; the tracing run itself is the engine's.

use std::sync::OnceLock;

use serde::Deserialize;

use super::Ctx;
use super::text::{Run, printf_script, sh_quote};
use crate::layout::{TRACE_FILE, VENV};

/// The assembled root filesystem (without the venv) in the builder stage.
pub const ROOT_OUT: &str = "/pyslim/root";
/// The kept part of the venv in the builder stage (copied to the venv path).
pub const VENV_OUT: &str = "/pyslim/venv";
/// Where the final image holds the manifest of what was kept and dropped (JSON).
pub const MANIFEST: &str = "/etc/pyslim/minimal.json";
/// Where the builder stage reads the trace.
const TRACE_IN: &str = "/tmp/pyslim-trace.txt";
const SCRIPT_IN: &str = "/tmp/pyslim-assemble.py";

/// The assembly script, run in the builder.
const ASSEMBLE: &str = include_str!("../../assets/minimal/assemble.py");
/// The audit hook of a tracing run (put on PYTHONPATH as `sitecustomize`).
pub const TRACE_HOOK: &str = include_str!("../../assets/minimal/sitecustomize.py");
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

/// `RUN printf … > script && venv/bin/python script --trace … && rm script`: writes the
/// assembly script line by line (no heredoc, so the classic builder runs it too) and runs it.
pub(crate) fn assemble_run(ctx: &Ctx, traced: bool) -> Run {
    let k = knowledge();
    let printf = printf_script(ASSEMBLE, SCRIPT_IN);
    let mut args = vec![
        format!("{VENV}/bin/python {SCRIPT_IN}"),
        format!("--venv {VENV} --out {ROOT_OUT} --venv-out {VENV_OUT} --manifest {MANIFEST}"),
        format!("--user {}", sh_quote(&ctx.plan.user)),
    ];
    if traced {
        args.push(format!("--trace {TRACE_IN}"));
    }
    if !ctx.plan.minimal.keep.is_empty() {
        args.push(format!("--keep {}", ctx.plan.minimal.keep.join(",")));
    }
    args.push(format!("--always {}", k.stdlib.join(",")));
    args.push(format!("--libs {} --files {}", k.libs.join(","), k.files.join(",")));
    if ctx.plan.trim.strip {
        args.push("--strip".into());
    }
    Run::new().cmd(printf).cmd(args.join(" \\\n        ")).cmd(format!("rm -f {SCRIPT_IN}"))
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
        for m in k.stdlib.iter().chain(&k.libs).chain(&k.files) {
            assert!(!m.contains(',') && !m.contains(' '), "{m} would break the builder's command line");
        }
    }

    #[test]
    fn the_script_survives_single_quotes_and_dockerfile_continuations() {
        // Each line becomes one single-quoted shell word on a continued Dockerfile line.
        for (i, line) in ASSEMBLE.lines().enumerate() {
            assert!(!line.contains('\''), "assemble.py:{}: a single quote ends the shell word", i + 1);
            assert!(!line.contains('\\'), "assemble.py:{}: a backslash is a Dockerfile escape", i + 1);
            assert!(!line.contains('$'), "assemble.py:{}: `$` in single quotes trips ShellCheck (SC2016)", i + 1);
        }
    }
}
