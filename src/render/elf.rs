//! The multi-stage builder's shared-library step: after the venv is installed, the builder
//! resolves the DT_NEEDED closure of the venv's ELF files (`pyslim_helpers.libs`, a helper file
//! copied into the builder and run with the venv's python) and stages, at their own paths,
//! exactly the libraries the runtime image lacks; the runtime stage copies them to `/`.
//!
//! Owns that step and what "the runtime has" means per flavour: with BuildKit the runtime image
//! is bind-mounted into the step and looked at; the classic builder (no `RUN --mount`) uses the
//! list of libraries every supported runtime ships (`assets/runtime_libs.toml`). Where the step
//! sits in the stage layout is `stages`'.

use std::sync::OnceLock;

use serde::Deserialize;

use super::text::Run;
use super::{Ctx, helpers};
use crate::catalogue::{BaseImage, Family};
use crate::plan::{Flavour, VENV};

/// Where the builder stages the libraries, as a root (`OUT/usr/lib/x86_64-linux-gnu/...`).
pub const OUT: &str = "/pyslim/libs";
/// The list of what was added and for which venv file, in the final image.
pub const MANIFEST: &str = "/etc/pyslim/runtime-libs.txt";
/// Where BuildKit mounts the runtime image in the builder step.
const RUNTIME_ROOT: &str = "/pyslim-runtime";
const KNOWLEDGE: &str = include_str!("../../assets/runtime_libs.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Knowledge {
    every_runtime_has: Vec<String>,
}

/// The library stems every runtime image ships (`assets/runtime_libs.toml`).
pub fn every_runtime_has() -> &'static [String] {
    static K: OnceLock<Vec<String>> = OnceLock::new();
    K.get_or_init(|| {
        let k: Knowledge = toml::from_str(KNOWLEDGE).expect("assets/runtime_libs.toml is checked by a unit test");
        k.every_runtime_has
    })
}

/// Lock files that list the whole resolved dependency set with each pin's files.
const FULL_LOCKS: &[&str] = &["poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock"];

/// Why the shared-library step can be left out: every runtime dependency is pinned in a full
/// lock and installs from a wheel on the plan's Python (a manylinux wheel bundles the libraries
/// it links, auditwheel's rule), nothing compiles, nothing is loaded by name and pyslim installs
/// nothing unpinned. `None` when the step is needed or might be (unknown is needed).
pub(crate) fn not_needed(ctx: &Ctx, libs_loaded_by_name: bool, compiles: bool) -> Option<String> {
    let scan = ctx.scan;
    let lock = scan.lockfile.as_ref()?;
    let lock_name = lock.value.rsplit('/').next().unwrap_or(&lock.value);
    if !FULL_LOCKS.contains(&lock_name) || libs_loaded_by_name || compiles {
        return None;
    }
    if !ctx.plan.extra_requirements.is_empty() || scan.pins.is_empty() {
        return None;
    }
    // a project installed with setuptools may build its own extension modules
    if scan.installable && scan.root.join(ctx.member.as_deref().unwrap_or("")).join("setup.py").is_file() {
        return None;
    }
    let runtime: Vec<_> = scan.pins.iter().filter(|p| p.runtime).collect();
    if runtime.iter().all(|p| p.has_wheel_for(ctx.plan.python) == Some(true)) {
        Some(format!(
            "every runtime pin in {} ({}) installs from a wheel for Python {},\nand wheels bundle the libraries they link",
            lock.value,
            runtime.len(),
            ctx.plan.python
        ))
    } else {
        None
    }
}

/// The builder step (after [`helpers::copy_package`]). `also`: sonames loaded with dlopen/ctypes
/// (no DT_NEEDED names them); `provided`: sonames the runtime stage installs with its own package
/// manager.
pub(crate) fn collect_run(
    ctx: &Ctx,
    builder: &BaseImage,
    runtime: &BaseImage,
    also: &[String],
    provided: &[String],
) -> Run {
    let mut args = vec![
        helpers::run_module("", "libs"),
        format!("--venv {VENV} --out {OUT} --manifest {MANIFEST}"),
        format!("--runtime {} --runtime-python {}", runtime.reference, runtime.interpreter),
    ];
    let mut run = Run::new();
    match ctx.flavour {
        Flavour::Buildkit => {
            run = run.mount(format!("--mount=type=bind,from={},target={RUNTIME_ROOT}", ctx.plan.image_ref(runtime)));
            args.push(format!("--runtime-root {RUNTIME_ROOT}"));
        }
        Flavour::Classic => {
            args.push(format!("--runtime-has {}", every_runtime_has().join(",")));
            // an embedded libpython finds its stdlib where the builder's Python keeps it: true
            // of a runtime from the builder's own family (python:3.X and -slim), else only when
            // the runtime's interpreter sits under the same prefix (the script checks)
            let official = |f: Family| matches!(f, Family::Python | Family::PythonSlim);
            if official(builder.family) && official(runtime.family) {
                args.push("--same-python-layout".into());
            }
        }
    }
    if !also.is_empty() {
        args.push(format!("--also {}", also.join(",")));
    }
    if !provided.is_empty() {
        args.push(format!("--provided {}", provided.join(",")));
    }
    ctx.uses_helpers.set(true);
    run.cmd(args.join(" \\\n        "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knowledge_parses_and_holds_glibc() {
        let k = every_runtime_has();
        for stem in ["libc", "libm", "libssl", "libstdc++"] {
            assert!(k.iter().any(|s| s == stem), "{stem}");
        }
        for s in k {
            assert!(!s.contains(',') && !s.contains(' ') && !s.contains(".so"), "{s}: a stem, one word");
        }
    }
}
