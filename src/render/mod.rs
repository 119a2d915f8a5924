//! Render: turns a [`BuildPlan`] and a [`ScanReport`] into Dockerfile and `.dockerignore` text
//! for one [`Variant`] and [`Flavour`]. Pure text generation: no I/O, no Docker.
//!
//! Submodules, one concern each:
//! - `stages`: the stage layout of each variant (builder/runtime, venv path, user, entrypoint);
//! - `installers`: the package-manager steps (pip, Poetry, uv, PDM, Pipenv, pyproject, setup.py);
//! - `entrypoint`: the argv rewritten to start from the venv, and the start through the
//!   shell-less launcher that runs the pre-start steps before it;
//! - `elf`: the multi-stage builder's step that stages the shared libraries the runtime lacks;
//! - `minimal`: the `minimal` variant's assembly step (trace in, `FROM scratch` root out);
//! - `helpers`: the helper files those steps and the launcher run (`.pyslim/pyslim_helpers/`),
//!   copied into the image by the Dockerfile;
//! - `dockerignore`: the `.dockerignore` patterns;
//! - `text`: Dockerfile formatting and shell quoting.
//!
//! Invariants every rendered Dockerfile keeps (checked by `tests/it/render.rs`): no `# syntax=`
//! line (it makes BuildKit pull a frontend image, which fails offline), exec-form
//! `CMD`/`ENTRYPOINT`, no `RUN` in a shell-less stage, no `--mount` in the classic flavour and
//! never a cache mount together with `--no-cache-dir`.

mod dockerignore;
mod elf;
mod entrypoint;
pub mod helpers;
mod installers;
pub mod minimal;
mod stages;
mod text;

use std::cell::Cell;
use std::path::{Component, Path, PathBuf};

use crate::catalogue::{Family, Libc};
use crate::plan::{BuildPlan, Flavour, PlanError, SECRETS_DIR, VENV, Variant};
use crate::scan::{PackageManager, ScanReport};

/// The files for one variant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub variant: Variant,
    pub flavour: Flavour,
    pub dockerfile: String,
    pub dockerignore: String,
    /// The helper files the Dockerfile copies (`.pyslim/pyslim_helpers/`), empty when it needs none.
    pub helpers: Vec<helpers::HelperFile>,
}

/// Why a Dockerfile cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Unsupported(String),
}

/// What the stage writers share.
pub(crate) struct Ctx<'a> {
    pub plan: &'a BuildPlan,
    pub scan: &'a ScanReport,
    pub variant: Variant,
    pub flavour: Flavour,
    pub pm: PackageManager,
    /// The project folder inside the build context (uv workspace member), e.g. `packages/api`.
    pub member: Option<String>,
    /// Set by a step that copies the helper files: the files go with the Dockerfile.
    pub uses_helpers: Cell<bool>,
}

/// Renders the Dockerfile and `.dockerignore` of `variant`.
pub fn render(
    plan: &BuildPlan,
    scan: &ScanReport,
    variant: Variant,
    flavour: Flavour,
) -> Result<Rendered, RenderError> {
    let images = plan.images(variant)?;
    let member = workspace_member(scan)?;
    let pm = scan.package_manager.as_ref().map(|f| f.value).unwrap_or(plan.package_manager);
    let ctx = Ctx { plan, scan, variant, flavour, pm, member, uses_helpers: Cell::new(false) };
    let libs = crate::scan::system_libs::at(scan, plan.python);

    if variant.is_multistage() {
        let (b, r) = (&images.builder, &images.runtime);
        if b.python != r.python {
            return Err(RenderError::Unsupported(format!(
                "the builder {} has Python {} but the runtime {} has Python {}: a venv only works with the \
                 Python minor version that made it",
                b.reference, b.python, r.reference, r.python
            )));
        }
        if b.libc != r.libc {
            return Err(RenderError::Unsupported(format!(
                "the builder {} uses {} but the runtime {} uses {}: compiled wheels from one do not load in the other{}",
                b.reference,
                libc_name(b.libc),
                r.reference,
                libc_name(r.libc),
                if r.family == Family::Distroless { " (alpine cannot build for distroless)" } else { "" }
            )));
        }
        if !libs.is_empty() && variant == Variant::Minimal {
            let names: Vec<String> = libs.iter().map(|l| format!("{} (for {})", l.name, l.needed_by)).collect();
            return Err(RenderError::Unsupported(format!(
                "the minimal variant keeps only the libraries the builder has; {} must be built from source \
                 in a builder with compilers: depend on the binary wheel or use the multistage-slim variant",
                names.join(", ")
            )));
        }
        if !libs.is_empty() {
            let names: Vec<String> = libs.iter().map(|l| format!("{} (for {})", l.name, l.needed_by)).collect();
            // A shell-less runtime (distroless) gets the libraries copied from the builder.
            if r.shell && r.family == Family::Distroless {
                let alts: Vec<String> = libs.iter().filter_map(|l| l.alternative.clone()).collect();
                return Err(RenderError::Unsupported(format!(
                    "{} has no package manager to add {}; depend on the binary wheel{} or use the multistage-slim variant",
                    r.reference,
                    names.join(", "),
                    if alts.is_empty() { String::new() } else { format!(" ({})", alts.join(", ")) }
                )));
            }
            if r.libc == Libc::Musl || b.libc == Libc::Musl {
                return Err(RenderError::Unsupported(format!(
                    "pyslim installs {} with Debian's apt-get; {} is not Debian-based",
                    names.join(", "),
                    if r.libc == Libc::Musl { &r.reference } else { &b.reference }
                )));
            }
        }
    }

    if !plan.build_secrets.is_empty() && !variant.is_multistage() && flavour == Flavour::Classic {
        return Err(RenderError::Unsupported(format!(
            "build secrets ({}) with the classic builder need a multi-stage variant: a classic single-stage \
             build would copy the secret into a layer of the final image; build with BuildKit (bind mounts \
             leave no trace in any layer) or use the multistage-slim or distroless variant",
            secret_ids(plan)
        )));
    }

    let header = header(&ctx, &images.builder.reference, &images.runtime.reference);
    let dockerfile = if variant.is_multistage() {
        stages::multi_stage(&ctx, &images.builder, &images.runtime, header)?
    } else {
        stages::single_stage(&ctx, &images.runtime, header)?
    };
    let helpers = if ctx.uses_helpers.get() { helpers::files(ctx.member.as_deref()) } else { Vec::new() };
    let needed: Vec<String> =
        if helpers.is_empty() { Vec::new() } else { vec![helpers::in_context(ctx.member.as_deref(), helpers::DIR)] };
    let mut dockerignore = dockerignore::render(scan, ctx.member.as_deref(), &needed);
    if !plan.build_secrets.is_empty() {
        // pyslim adds these files itself; a user building by hand puts them there
        dockerignore.push_str(&format!(
            "\n# Build secrets: builder-only files (bind-mounted or copied into the builder stage only)\n!{SECRETS_DIR}\n"
        ));
    }
    Ok(Rendered { variant, flavour, dockerfile, dockerignore, helpers })
}

/// The `minimal` header lines: where the file list comes from.
fn minimal_why(ctx: &Ctx) -> Vec<String> {
    let mut out = vec![
        "- the final stage is FROM scratch: the interpreter, its shared libraries (ELF closure), CA bundle, \
         /etc/passwd, /etc/group and /tmp, assembled in the builder."
            .to_string(),
    ];
    match &ctx.scan.minimal_trace {
        Some(t) => out.push(format!(
            "- only the stdlib packages and venv distributions in {} ({}) are kept, each whole (encodings \
             codec by codec); re-trace with `pyslim build --variant minimal --trace` after adding imports.",
            t.value, t.source
        )),
        None => out.push(format!(
            "- no {} yet: the whole stdlib and venv are kept; `pyslim build --variant minimal` traces the \
             service and writes it.",
            crate::layout::TRACE_FILE
        )),
    }
    if !ctx.plan.minimal.keep.is_empty() {
        out.push(format!("- kept whatever the trace says ([minimal] keep): {}.", ctx.plan.minimal.keep.join(", ")));
    }
    out.push(if ctx.plan.minimal.sources {
        "- every module stays a plain file, the stdlib with its .py sources and __pycache__ ([minimal] sources = true)."
            .to_string()
    } else {
        "- the stdlib ships as sourceless .pyc files compiled in the builder, deflated in the interpreter's \
         python3X.zip: tracebacks through the stdlib show no source lines. With a trace, pure-Python venv \
         distributions (code and docs only) are deflated with their sources in pyslim-venv.zip. \
         [minimal] sources = true keeps plain files."
            .to_string()
    });
    out
}

fn secret_ids(plan: &BuildPlan) -> String {
    plan.build_secrets.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
}

fn libc_name(l: Libc) -> &'static str {
    match l {
        Libc::Glibc => "glibc",
        Libc::Musl => "musl (alpine)",
    }
}

/// The project folder relative to the build context root when they differ (uv workspace).
fn workspace_member(scan: &ScanReport) -> Result<Option<String>, RenderError> {
    let Some(ctx_root) = scan.context_root.as_deref().filter(|c| !c.is_empty() && *c != ".") else {
        return Ok(None);
    };
    let root = lexical(&scan.root);
    let context = lexical(&scan.root.join(ctx_root));
    let rel = root.strip_prefix(&context).map_err(|_| {
        RenderError::Unsupported(format!(
            "the build context {ctx_root} does not contain the project {}",
            scan.root.display()
        ))
    })?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    Ok(if parts.is_empty() { None } else { Some(parts.join("/")) })
}

/// Resolves `.` and `..` without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn header(ctx: &Ctx, builder: &str, runtime: &str) -> text::Dockerfile {
    let mut df = text::Dockerfile::new();
    let v = ctx.variant;
    let flavour = match ctx.flavour {
        Flavour::Buildkit => "buildkit (cache mounts: build with BuildKit)",
        Flavour::Classic => "classic (no cache mounts: any builder)",
    };
    let mut lines = vec![
        format!("Generated by pyslim. Variant {v}: {}.", v.describe()),
        format!("Flavour: {flavour}."),
        format!(
            "Project: {} dependencies, Python {}; {}.",
            ctx.pm.as_str(),
            ctx.plan.python,
            if v.is_multistage() { format!("builder {builder}, runtime {runtime}") } else { format!("base {runtime}") }
        ),
    ];
    if let Some(m) = &ctx.member {
        let ctx_root = ctx.scan.context_root.as_deref().unwrap_or("..");
        lines.push(format!(
            "uv workspace member {m}: build from the workspace root, e.g. `docker build -f {m}/Dockerfile {ctx_root}`."
        ));
    }
    if !ctx.plan.build_secrets.is_empty() {
        let how = match ctx.flavour {
            Flavour::Buildkit => "bind-mounted into the install steps only (a bind mount is in no layer)",
            Flavour::Classic => "copied into the builder stage only (the builder stage is not in the final image)",
        };
        lines.push(format!(
            "Build secrets ({}): {SECRETS_DIR}/<id> in the build context, {how}; the image's source comes \
             from the `source` stage, which deletes {SECRETS_DIR}/.",
            secret_ids(ctx.plan)
        ));
    }
    lines.push("Why:".into());
    match v {
        Variant::Naive => {
            lines.push("- the usual single-stage Dockerfile (dev dependencies, tools and caches included): the baseline to compare.".into());
        }
        Variant::Slim => lines.push(
            "- one stage on slim: runtime dependencies only, tools and caches removed in the layer that used them."
                .into(),
        ),
        Variant::MultistageSlim | Variant::Distroless | Variant::Minimal => {
            lines.push(format!(
                "- the venv sits at {VENV} in both stages and is made with the runtime's interpreter path: its bin/python and script shebangs are absolute."
            ));
            if !ctx.plan.trim.keep_installers {
                lines.push(
                    "- the venv has no pip/setuptools/wheel (not needed to run): the builder's pip installs into it."
                        .into(),
                );
            }
            if v == Variant::Distroless {
                lines.push("- the runtime has no shell: no RUN there, exec-form ENTRYPOINT only.".into());
            }
            if v == Variant::Minimal {
                lines.extend(minimal_why(ctx));
            }
        }
    }
    if v != Variant::Naive {
        lines.push(
            "- dependency files are copied and installed before the source, so a source edit reuses that layer.".into(),
        );
    }
    let recipe = installers::Recipe {
        mode: installers::Mode::Builder,
        flavour: ctx.flavour,
        trim: ctx.plan.trim,
        scan: ctx.scan,
        pm: ctx.pm,
        python: String::new(),
        member: None,
        extras: &[],
        as_of: ctx.plan.deps_as_of.as_ref(),
    };
    if let (false, Ok(i)) = (v == Variant::Naive, recipe.install()) {
        lines.extend(i.why.into_iter().map(|w| format!("- {w}.")));
    }
    df.comment(&lines.join("\n"));
    df.blank();
    df
}
