//! Stage layout of each variant: the single-stage `naive` and `slim` images, and the builder +
//! runtime stages of `multistage-slim` and `distroless`.
//!
//! Owns the order of instructions (dependency files before the source, venv before the app),
//! the venv's interpreter path (the runtime's, linked in the builder when missing), system
//! libraries (apt on a runtime with a shell; the builder's shared-library step, `elf`, in every
//! `multistage-slim` and `distroless` builder), trimming (installers, bytecode, strip), the build steps (after the source, with
//! their settings for that `RUN` only; the multi-stage runtime then takes `/app` from the
//! builder), `ENV`, `USER`, `EXPOSE` and the exec-form entrypoint (with the pre-start launcher
//! when there are steps). The package-manager commands come from `installers`.

use crate::catalogue::BaseImage;
use crate::plan::{APP_DIR, Flavour, SECRETS_DIR, VENV, Variant};
use crate::scan::{BuildDep, SystemLib};

use super::entrypoint;
use super::installers::{Install, Mode, Recipe};
use super::text::{Dockerfile, Run, sh_quote};
use super::{Ctx, RenderError};

const APT_IGNORE: (&str, &str) =
    ("DL3008", "Debian packages follow the base image's release; pinning exact versions breaks on its next update");

/// A Dockerfile under construction that merges consecutive `RUN`s into one layer (hadolint
/// DL3059) and flushes a pending `RUN` before any other instruction.
struct Stage {
    df: Dockerfile,
    pending: Option<Run>,
}

impl Stage {
    fn new(df: Dockerfile) -> Self {
        Self { df, pending: None }
    }
    fn flush(&mut self) {
        if let Some(r) = self.pending.take() {
            self.df.run(&r);
        }
    }
    fn run(&mut self, r: Run) {
        if r.is_empty() {
            return;
        }
        self.pending = Some(match self.pending.take() {
            Some(p) => p.merge(r),
            None => r,
        });
    }
    /// A `RUN` of its own, unless the pending one has the same mounts: hadolint (DL3059) asks
    /// to merge consecutive `RUN`s with equal flags.
    fn run_apart(&mut self, r: Run) {
        if r.is_empty() {
            return;
        }
        if self.pending.as_ref().is_some_and(|p| p.mounts != r.mounts) {
            self.flush();
        }
        self.run(r);
    }
    fn df(&mut self) -> &mut Dockerfile {
        self.flush();
        &mut self.df
    }
    fn finish(mut self) -> String {
        self.flush();
        self.df.finish()
    }
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

fn apt_install(packages: &[String]) -> Run {
    Run::new()
        .cmd("apt-get update")
        .cmd(format!("apt-get install -y --no-install-recommends {}", packages.join(" ")))
        // apt's package caches too: an image without docker-clean's apt hook keeps them (80 MB)
        .cmd("apt-get clean")
        .cmd("rm -rf /var/lib/apt/lists/*")
        .ignore(APT_IGNORE.0, APT_IGNORE.1)
}

fn uniq(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Where the builder assembles the writable directories, owned by the runtime user, that a
/// multi-stage runtime copies to `/` (see [`copy_writable`] for where in the stage).
const WRITABLE_OUT: &str = "/pyslim-writable";

/// Whether the image needs directories made writable: a plan with `writable` paths whose image
/// runs as a non-root user (`naive` and `user = "root"` run as root, which writes anywhere).
fn writable_active(ctx: &Ctx) -> bool {
    !ctx.plan.writable.is_empty() && ctx.variant != Variant::Naive && !is_root(&ctx.plan.user)
}

/// The comment above the step that makes the writable directories: which, and why each.
fn writable_comment(ctx: &Ctx) -> String {
    let mut out = format!(
        "Writable at run time by {} (the image runs as non-root; /app and the venv stay root-owned):\n\
         only these directories, each itself, not the files the source ships in them.",
        ctx.plan.user
    );
    for w in &ctx.plan.writable {
        out.push_str(&format!("\n  {}: {}", w.path, w.reason));
    }
    out
}

/// `mkdir -p` + `chown` of the writable directories under `prefix` (`""` in place), with
/// `{site-packages}` resolved by `python` (the environment's purelib folder).
fn writable_run(ctx: &Ctx, python: &str, prefix: &str) -> Run {
    let sp = crate::layout::SITE_PACKAGES;
    let targets: Vec<String> = ctx
        .plan
        .writable
        .iter()
        .map(|w| match w.path.strip_prefix(sp) {
            Some(rest) => format!("\"{prefix}$SP{}\"", rest.replace(['"', '\\', '$', '`'], "")),
            None => sh_quote(&format!("{prefix}{}", w.path)),
        })
        .collect();
    let mut run = Run::new();
    if ctx.plan.writable.iter().any(|w| w.path.starts_with(sp)) {
        run = run.cmd(format!("SP=\"$({python} -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')\""));
    }
    run.cmd(format!("mkdir -p {}", targets.join(" "))).cmd(format!("chown {} {}", ctx.plan.user, targets.join(" ")))
}

/// `[[implicit]]` of `assets/implicit_requirements.toml`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Implicit {
    module: String,
    requirement: String,
    why: String,
}

fn implicit_requirements() -> &'static [Implicit] {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        implicit: Vec<Implicit>,
    }
    static CELL: std::sync::OnceLock<Vec<Implicit>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        toml::from_str::<File>(include_str!("../../assets/implicit_requirements.toml"))
            .expect("assets/implicit_requirements.toml is checked by a unit test")
            .implicit
    })
}

/// For each module a dependency imports unconditionally without declaring its provider: install
/// the provider into the venv with `pip` when the venv lacks the module.
fn implicit_steps(pip: &str) -> Vec<String> {
    implicit_requirements()
        .iter()
        .map(|i| {
            let m = &i.module;
            format!(
                "if ! {VENV}/bin/python -c {} 2>/dev/null && grep -rqE --include='*.py' {} {VENV}/lib/; then echo {} >&2 && {pip} {}; fi",
                sh_quote(&format!("import {m}")),
                sh_quote(&format!("^(import|from) {m}([ .,]|$)")),
                sh_quote(&format!("pyslim: a dependency imports {m} at module level and the venv has none: installing {} ({})", i.requirement, i.why)),
                sh_quote(&i.requirement)
            )
        })
        .collect()
}

/// Bytecode and strip steps that finish the venv in the builder.
fn finish_venv(ctx: &Ctx) -> Vec<String> {
    let mut out = vec![];
    if ctx.plan.trim.bytecode {
        out.push(format!("{VENV}/bin/python -m compileall -q --invalidation-mode unchecked-hash {VENV}"));
    }
    if ctx.plan.trim.strip {
        out.push(format!(
            // a .so that is not ELF (rare) makes strip complain; the others are still stripped
            "if command -v strip >/dev/null 2>&1; then find {VENV} -name '*.so' -type f -exec strip --strip-unneeded {{}} + || true; fi"
        ));
    }
    out
}

/// `ENV` of a runtime (or single) stage.
fn runtime_env(ctx: &Ctx, install: &Install, venv_on_path: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![("PYTHONUNBUFFERED".to_string(), "1".to_string())];
    if !ctx.plan.trim.bytecode || ctx.variant == Variant::Naive {
        env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    }
    if let Some(src) = &ctx.scan.source_dir
        && !install.installs_project
    {
        env.push(("PYTHONPATH".into(), format!("{APP_DIR}/{}", src.trim_matches('/'))));
    }
    if let Some(v) = venv_on_path {
        env.push(("VIRTUAL_ENV".into(), v.to_string()));
        env.push(("PATH".into(), format!("{v}/bin:$PATH")));
    }
    // The project's own container settings its code reads (HTD_HOST=0.0.0.0, FLASK_APP, the
    // PORT a uWSGI ini binds); PORT follows the plan's port. What pyslim sets itself wins.
    for fact in &ctx.scan.runtime_env {
        let Some((key, value)) = fact.value.split_once('=') else { continue };
        if env.iter().any(|(k, _)| k == key) {
            continue;
        }
        let value = if key == "PORT" { ctx.plan.port.to_string() } else { value.to_string() };
        env.push((key.to_string(), value));
    }
    env
}

fn user_and_port(s: &mut Stage, ctx: &Ctx) {
    let df = s.df();
    if ctx.variant == Variant::Naive {
        // the usual hand-written Dockerfile runs as root
    } else if is_root(&ctx.plan.user) {
        df.comment("Runs as root, as configured (user = \"root\"); 65532:65532 is the least-privilege default.");
    } else {
        df.line(format!("USER {}", ctx.plan.user));
    }
    df.line(format!("EXPOSE {}", ctx.plan.port));
}

/// On a runtime with a shell (the `python:3.X-slim` images), a numeric runtime user gets an
/// `/etc/passwd` and `/etc/group` entry when the image has none, in a `RUN` of its own near the
/// top of the runtime stage (so source edits do not redo it): distroless has `nonroot` (65532)
/// and `minimal` writes its own, but on slim `getpass.getuser()` (PyMySQL calls it on connect)
/// and `pwd.getpwuid()` fail for a uid the image does not know.
fn name_the_user(s: &mut Stage, ctx: &Ctx, runtime_shell: bool) {
    if ctx.variant == Variant::Naive || !runtime_shell || is_root(&ctx.plan.user) {
        return;
    }
    let Some(run) = user_entries(&ctx.plan.user) else { return };
    s.flush();
    s.df().comment(&format!(
        "User {} gets a name: getpass.getuser() and pwd lookups (PyMySQL) fail for an unknown uid.",
        ctx.plan.user
    ));
    s.run(run);
    s.flush();
}

/// The `RUN` that adds `nonroot` entries for a numeric `UID[:GID]` the image may not know
/// (each only when no entry has that id); `None` for a user given by name.
fn user_entries(user: &str) -> Option<Run> {
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    let numeric = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if !numeric(uid) || !numeric(gid) {
        return None;
    }
    Some(
        Run::new()
            .cmd(format!(
                "{{ grep -q '^[^:]*:[^:]*:{uid}:' /etc/passwd || echo 'nonroot:x:{uid}:{gid}:nonroot:/nonexistent:/usr/sbin/nologin' >> /etc/passwd; }}"
            ))
            .cmd(format!("{{ grep -q '^[^:]*:[^:]*:{gid}:' /etc/group || echo 'nonroot:x:{gid}:' >> /etc/group; }}")),
    )
}

/// Run-time libraries for the plan's Python (which may differ from the scan's choice).
fn system_libs(ctx: &Ctx) -> Vec<SystemLib> {
    crate::scan::system_libs::at(ctx.scan, ctx.plan.python)
}

/// What compiles from source on the plan's Python, with its build packages.
fn build_deps(ctx: &Ctx) -> Vec<BuildDep> {
    crate::scan::build_deps::at(ctx.scan, ctx.plan.python)
}

/// Each Debian package once, space-separated lists split.
fn debian_list<'a>(lists: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    uniq(lists.into_iter().flat_map(|l| l.split_whitespace().map(String::from)))
}

/// Where the project lives inside `/app` while installing: the member folder of a workspace.
fn work_dir(ctx: &Ctx) -> String {
    match &ctx.member {
        Some(m) => format!("{APP_DIR}/{m}"),
        None => APP_DIR.to_string(),
    }
}

/// An install step with the build secrets: BuildKit bind-mounts each file at its target (no
/// layer keeps it); both flavours export each secret's env var for this step's commands only.
fn with_secrets(ctx: &Ctx, run: Run) -> Run {
    let secrets = &ctx.plan.build_secrets;
    if secrets.is_empty() || run.is_empty() {
        return run;
    }
    let mut run = run;
    if ctx.flavour == Flavour::Buildkit {
        for s in secrets {
            run = run.mount(format!("--mount=type=bind,source={},target={}", s.context_path(), s.target));
        }
    }
    let exports: Vec<String> =
        secrets.iter().filter_map(|s| s.env.as_ref().map(|e| format!("export {e}={}", s.target))).collect();
    let mut commands: Vec<String> = exports.into_iter().filter(|e| !run.commands.contains(e)).collect();
    commands.append(&mut run.commands);
    run.commands = commands;
    run
}

/// With build secrets the context holds `.pyslim-secrets/`, so the image must not `COPY .`
/// straight from it: a `source` stage copies the context and deletes that folder, and the
/// final stage copies the source from there. Returns the `COPY` source prefix to use.
///
/// Files with package-index credentials (`--index-url https://user:token@host`) take the same
/// path: the `source` stage removes pip configuration files and strips the user-info from every
/// URL in the others, so no final image holds the token (the builder stage, which is never
/// shipped, installs with the files as they are).
fn source_stage(s: &mut Stage, ctx: &Ctx, image: &BaseImage) -> bool {
    let creds = crate::scan::credential_files(&ctx.scan.index_credentials);
    if ctx.plan.build_secrets.is_empty() && creds.is_empty() {
        return false;
    }
    let df = s.df();
    if creds.is_empty() {
        df.comment(&format!(
            "The source without the build secrets: the final stage copies {APP_DIR} from here, never `.` from the context."
        ));
    } else {
        df.comment(&format!(
            "The source without index credentials{}: the final stage copies {APP_DIR} from here, never `.` from the\n\
             context ({} named a package index with a user and token).",
            if ctx.plan.build_secrets.is_empty() { "" } else { " and build secrets" },
            creds.join(", ")
        ));
    }
    df.from(&ctx.plan.image_ref(image), Some("source"));
    df.line(format!("COPY . {APP_DIR}/"));
    let mut cleanup: Vec<String> = Vec::new();
    if !ctx.plan.build_secrets.is_empty() {
        cleanup.push(format!("rm -rf {APP_DIR}/{SECRETS_DIR}"));
    }
    for f in &creds {
        let path = sh_quote(&format!("{APP_DIR}/{f}"));
        if crate::scan::is_pip_config(f) {
            cleanup.push(format!("rm -f {path}"));
        } else {
            cleanup.push(format!("sed -i -E 's#://[^/@[:space:]]+@#://#g' {path}"));
        }
    }
    df.line(format!("RUN {}", cleanup.join(" \\\n    && ")));
    df.blank();
    true
}

/// The dependency files before the install step: from the `source` stage when they carry
/// index credentials (a single-stage image keeps every layer), else from the context.
fn copy_dep_files(s: &mut Stage, ctx: &Ctx, from_source: bool, files: &[String]) {
    if !from_source || ctx.scan.index_credentials.is_empty() {
        s.df().copy_files(files, ".");
        return;
    }
    for f in files {
        let parent = f.rsplit_once('/').map(|(p, _)| format!("{p}/")).unwrap_or_default();
        s.df().line(format!("COPY --from=source {APP_DIR}/{f} ./{parent}"));
    }
}

/// `COPY <context path> <dest>`, from the `source` stage when there are build secrets.
fn copy_source(s: &mut Stage, from_source: bool, rel: Option<&str>, dest: &str) {
    let line = match (from_source, rel) {
        (true, Some(m)) => format!("COPY --from=source {APP_DIR}/{m}/ {dest}"),
        (true, None) => format!("COPY --from=source {APP_DIR}/ {dest}"),
        (false, Some(m)) => format!("COPY {m}/ {dest}"),
        (false, None) => format!("COPY . {dest}"),
    };
    s.df().line(line);
}

/// `export` words: plain values as they are, `$PATH` expansions in double quotes, anything else
/// single-quoted (no expansion of a user's value).
fn export(vars: &[(String, String)]) -> Option<String> {
    if vars.is_empty() {
        return None;
    }
    let words: Vec<String> = vars
        .iter()
        .map(|(k, v)| {
            if v.ends_with(":$PATH") && !v.contains(['"', '\\', '`']) {
                format!("{k}=\"{v}\"")
            } else {
                format!("{k}={}", sh_quote(v))
            }
        })
        .collect();
    Some(format!("export {}", words.join(" ")))
}

/// The build steps as one `RUN` after the source is copied: `build_env` (and, in a builder
/// stage, the runtime's venv and `PYTHONPATH`) exported for this `RUN` only, so no `ENV` keeps
/// them; in a builder whose `/app` reaches the image, the build secrets' folder is deleted
/// first. The steps get no secret mounts.
fn build_steps(ctx: &Ctx, stage_env: &[(String, String)], drop_secrets: bool) -> Run {
    let plan = ctx.plan;
    if plan.build_steps.is_empty() {
        return Run::new();
    }
    let mut vars = stage_env.to_vec();
    vars.extend(plan.build_env.iter().cloned());
    let mut note = String::from("Build steps: run on the source after it is copied");
    if !plan.build_env.is_empty() {
        let keys: Vec<&str> = plan.build_env.iter().map(|(k, _)| k.as_str()).collect();
        note.push_str(&format!(
            ";\n{} exported for this RUN only (placeholders, never an ENV of the image)",
            keys.join(", ")
        ));
    }
    if ctx.variant.is_multistage() {
        note.push_str(";\nthe runtime stage copies /app from here, with what they wrote");
    }
    note.push('.');
    let mut run = Run::new().note(note);
    if let Some(e) = export(&vars) {
        run = run.cmd(e);
    }
    if drop_secrets && !plan.build_secrets.is_empty() {
        run = run.cmd(format!("rm -rf {APP_DIR}/{SECRETS_DIR}"));
    }
    run.cmds(plan.build_steps.iter().cloned())
}

/// The exec-form argv: the server alone, or the pre-start launcher (run by `python`) then the
/// server; the comment above it says how it behaves.
fn start(s: &mut Stage, ctx: &Ctx, keyword: &str, python: &str, server: entrypoint::VenvStart) {
    if let Some(note) = &server.note {
        s.df().comment(note);
    }
    if !ctx.plan.pre_start.is_empty() {
        s.df().comment(&format!(
            "Pre-start steps ({}), then the server: Python runs each step in order without a shell; a\n\
             failing step stops the container with its exit code; the server then replaces the launcher\n\
             (exec), so it is PID 1 and gets the signals. Launcher:\n{}.",
            ctx.plan.pre_start.len(),
            super::helpers::named(super::helpers::LAUNCHER)
        ));
        s.df().line(super::helpers::copy_launcher(ctx.member.as_deref()));
        ctx.uses_helpers.set(true);
    }
    let argv = entrypoint::with_pre_start(python, &ctx.plan.pre_start, server.argv);
    s.df().exec(keyword, &argv);
}

/// The releases the venv gets (the scan's pins and the `==` extra requirements): they decide
/// whether a server starts as `python -m` or through its console script.
fn pinned_versions(ctx: &Ctx) -> std::collections::BTreeMap<String, String> {
    entrypoint::pinned_versions(ctx.scan, &ctx.plan.extra_requirements)
}

/// `naive` and `slim`: one stage that installs and runs.
pub(crate) fn single_stage(ctx: &Ctx, image: &BaseImage, header: Dockerfile) -> Result<String, RenderError> {
    let naive = ctx.variant == Variant::Naive;
    let recipe = Recipe {
        mode: if naive { Mode::Naive } else { Mode::Slim },
        flavour: ctx.flavour,
        trim: ctx.plan.trim,
        scan: ctx.scan,
        pm: ctx.pm,
        python: image.interpreter.clone(),
        member: ctx.member.clone(),
        extras: &ctx.plan.extra_requirements,
        as_of: ctx.plan.deps_as_of.as_ref(),
    };
    let install = recipe.install()?;
    let mut s = Stage::new(header);
    let from_source = source_stage(&mut s, ctx, image);
    s.df().from(&ctx.plan.image_ref(image), None);

    let venv = if install.uses_venv {
        Some(VENV.to_string())
    } else if naive && ctx.pm == crate::scan::PackageManager::Uv {
        Some(format!("{APP_DIR}/.venv"))
    } else {
        None
    };
    let mut env = install.env.clone();
    env.extend(runtime_env(ctx, &install, venv.as_deref()));
    s.df().env(&env);
    s.df().line(format!("WORKDIR {APP_DIR}"));
    name_the_user(&mut s, ctx, image.shell);

    // Build packages for C extensions on slim: installed, used and purged in the same layer.
    let libs = system_libs(ctx);
    let compile = build_deps(ctx);
    // git for a dependency from a repository, unless the image ships it
    let vcs = crate::scan::build_deps::vcs_packages(ctx.scan, image.family == crate::catalogue::Family::Python);
    // what the user named (--build-package): installed while installing, its library kept
    let named = &ctx.plan.build_packages;
    let (apt_pre, apt_post) = if naive && !named.is_empty() {
        // the hand-written way: installed, and left in
        (
            Run::new()
                .cmd("apt-get update")
                .cmd(format!("apt-get install -y --no-install-recommends {}", named.join(" ")))
                .ignore(APT_IGNORE.0, APT_IGNORE.1),
            Run::new().cmd("apt-get clean").cmd("rm -rf /var/lib/apt/lists/*"),
        )
    } else if !naive && (!libs.is_empty() || !compile.is_empty() || !vcs.is_empty() || !named.is_empty()) {
        // build-essential (for what compiles) includes gcc and libc6-dev
        let gcc = if compile.is_empty() && !libs.is_empty() {
            vec!["gcc".to_string(), "libc6-dev".to_string()]
        } else {
            vec![]
        };
        let build = uniq(
            gcc.into_iter()
                .chain(vcs)
                .chain(crate::scan::build_deps::packages(&compile, false))
                .chain(debian_list(libs.iter().map(|l| &l.debian_build)))
                .chain(named.iter().cloned()),
        );
        let runtime = uniq(
            libs.iter()
                .map(|l| l.debian_runtime.clone())
                .chain(named.iter().filter_map(|p| crate::scan::build_deps::runtime_for(p))),
        );
        let all = uniq(build.iter().cloned().chain(runtime));
        (
            Run::new()
                .cmd("apt-get update")
                .cmd(format!("apt-get install -y --no-install-recommends {}", all.join(" ")))
                .ignore(APT_IGNORE.0, APT_IGNORE.1),
            Run::new()
                .cmd(format!("apt-get purge -y --auto-remove {}", build.join(" ")))
                .cmd("apt-get clean")
                .cmd("rm -rf /var/lib/apt/lists/*"),
        )
    } else {
        (Run::new(), Run::new())
    };

    let mut steps = vec![install.setup.clone(), install.deps.clone(), install.project.clone()];
    if !apt_pre.is_empty() {
        // wrap the first step that builds anything (deps, else the project)
        let i = if steps[1].is_empty() { 2 } else { 1 };
        steps[i] = apt_pre.merge(steps[i].clone()).merge(apt_post);
    }
    let [setup, deps, project]: [Run; 3] = steps.try_into().expect("three steps");
    let (setup, deps, project) = (with_secrets(ctx, setup), with_secrets(ctx, deps), with_secrets(ctx, project));

    if naive {
        // The usual hand-written Dockerfile: everything in, then one install.
        copy_source(&mut s, from_source, None, if from_source { "./" } else { "." });
        if ctx.member.is_some() {
            s.df().line(format!("WORKDIR {}", work_dir(ctx)));
        }
        s.run(setup);
        s.run(deps);
        s.run(project);
    } else {
        s.run(setup);
        if !install.dep_files.is_empty() {
            copy_dep_files(&mut s, ctx, from_source, &install.dep_files);
        }
        if ctx.member.is_some() {
            s.df().line(format!("WORKDIR {}", work_dir(ctx)));
        }
        s.run(deps);
        copy_source(&mut s, from_source, None, &format!("{APP_DIR}/"));
        s.run(project);
    }
    s.run_apart(build_steps(ctx, &[], false));
    let python = match &venv {
        Some(v) => format!("{v}/bin/python"),
        None => image.interpreter.clone(),
    };
    if writable_active(ctx) {
        s.flush();
        s.df().comment(&writable_comment(ctx));
        s.run(writable_run(ctx, &python, ""));
    }
    user_and_port(&mut s, ctx);
    let argv = match &venv {
        Some(v) if !naive => entrypoint::from_venv(&ctx.plan.entrypoint, v, &pinned_versions(ctx)),
        _ => entrypoint::VenvStart { argv: entrypoint::without_tool_wrapper(&ctx.plan.entrypoint), note: None },
    };
    start(&mut s, ctx, "CMD", &python, argv);
    Ok(s.finish())
}

/// `multistage-slim` and `distroless`: a builder stage makes the venv, the runtime stage gets
/// the venv and the source.
pub(crate) fn multi_stage(
    ctx: &Ctx,
    builder: &BaseImage,
    runtime: &BaseImage,
    header: Dockerfile,
) -> Result<String, RenderError> {
    let recipe = Recipe {
        mode: Mode::Builder,
        flavour: ctx.flavour,
        trim: ctx.plan.trim,
        scan: ctx.scan,
        pm: ctx.pm,
        python: builder.interpreter.clone(),
        member: ctx.member.clone(),
        extras: &ctx.plan.extra_requirements,
        as_of: ctx.plan.deps_as_of.as_ref(),
    };
    let mut install = recipe.install()?;
    if ctx.pm == crate::scan::PackageManager::Uv {
        // uv must use the interpreter path that exists at run time
        for (k, v) in &mut install.env {
            if k == "UV_PYTHON" {
                *v = runtime.interpreter.clone();
            }
        }
    }
    let mut s = Stage::new(header);

    // ---- builder
    s.df().from(&ctx.plan.image_ref(builder), Some("builder"));
    s.df().env(&install.env);
    s.df().line(format!("WORKDIR {APP_DIR}"));
    if ctx.flavour == Flavour::Classic {
        for secret in &ctx.plan.build_secrets {
            s.df().line(format!("COPY {} {}", secret.context_path(), secret.target));
        }
    }
    // Compiler and headers for what compiles from source, less what the builder image ships.
    let libs = system_libs(ctx);
    let compile = build_deps(ctx);
    let full = builder.family == crate::catalogue::Family::Python;
    let mut build_pkgs: Vec<String> = Vec::new();
    if !libs.is_empty() && !full {
        if !builder.compilers {
            build_pkgs.extend(crate::scan::build_deps::table().compiler.iter().cloned());
        }
        build_pkgs.extend(debian_list(libs.iter().map(|l| &l.debian_build)));
    }
    build_pkgs.extend(crate::scan::build_deps::packages(&compile, full));
    build_pkgs.extend(crate::scan::build_deps::vcs_packages(ctx.scan, full));
    build_pkgs.extend(ctx.plan.build_packages.iter().cloned());
    let build_pkgs = uniq(build_pkgs);
    if !build_pkgs.is_empty() {
        s.run(apt_install(&build_pkgs));
    }
    let compiler_brings_strip = build_pkgs.iter().any(|p| p == "build-essential" || p == "binutils");
    if ctx.plan.trim.strip && builder.family == crate::catalogue::Family::PythonSlim && !compiler_brings_strip {
        // slim images have no binutils; the builder stage never reaches the final image. Stripping
        // is an optimisation: without the Debian mirror (an offline build) the modules stay as
        // they are and the build goes on, as it did before stripping was the default.
        s.run(
            Run::new()
                .cmd(
                    "{ apt-get update && apt-get install -y --no-install-recommends binutils; } \
                     || echo 'pyslim: binutils could not be installed (no Debian mirror?): extension modules stay unstripped' >&2",
                )
                .cmd("rm -rf /var/lib/apt/lists/*")
                .ignore(APT_IGNORE.0, APT_IGNORE.1),
        );
        // its own layer, the same for every project on this builder
        s.flush();
    }
    let venv_python = &runtime.interpreter;
    let mut make_venv = Run::new();
    if builder.interpreter != *venv_python {
        s.df().comment(&format!(
            "The venv's bin/python is an absolute link: create it with {venv_python}, the runtime's\n\
             interpreter path, linked to this image's {} unless that path exists already.",
            builder.interpreter
        ));
        make_venv = make_venv.cmd(format!("[ -e {venv_python} ] || ln -s {} {venv_python}", builder.interpreter));
    }
    let without_pip = if ctx.plan.trim.keep_installers { "" } else { " --without-pip" };
    make_venv = make_venv.cmd(format!("{venv_python} -m venv{without_pip} {VENV}"));
    s.run(make_venv);
    s.run(with_secrets(ctx, install.setup.clone()));

    let mut finish = implicit_steps(&install.pip);
    finish.extend(finish_venv(ctx));
    let mut deps = install.deps.clone();
    let mut project = install.project.clone();
    if !finish.is_empty() {
        if !project.is_empty() {
            project = project.cmds(finish);
        } else if !deps.is_empty() {
            deps = deps.cmds(finish);
        } else {
            s.run(Run::new().cmds(finish));
        }
    }
    if !install.dep_files.is_empty() {
        s.df().comment("Dependencies before the source: a source edit reuses the dependency layer.");
        s.df().copy_files(&install.dep_files, ".");
    }
    if ctx.member.is_some() {
        s.df().line(format!("WORKDIR {}", work_dir(ctx)));
    }
    s.run(with_secrets(ctx, deps));
    // Build steps run on the source in the builder; the runtime then takes the source from here.
    let steps = build_steps(ctx, &runtime_env(ctx, &install, Some(VENV)), true);
    if !project.is_empty() || !steps.is_empty() {
        s.df().line(format!("COPY . {APP_DIR}/"));
        s.run(with_secrets(ctx, project));
    }
    // The shared libraries the venv's ELF files need (compiled from source here, or loaded by
    // name) that the runtime lacks, staged at their paths; a runtime with apt installs the known
    // ones instead (their packages bring data files and dependencies too).
    // (`minimal` assembles its own closure.)
    let apt_libs = !libs.is_empty() && runtime.shell;
    let sonames = uniq(libs.iter().flat_map(|l| l.sonames.iter().cloned()));
    let (also, provided) = if apt_libs { (vec![], sonames) } else { (sonames, vec![]) };
    let compiles = !compile.is_empty();
    let skip_libs = super::elf::not_needed(ctx, !libs.is_empty(), compiles);
    let stage_libs = ctx.variant != Variant::Minimal && skip_libs.is_none();
    if let (Some(why), true) = (&skip_libs, ctx.variant != Variant::Minimal) {
        s.df().comment(&format!("No shared-library step: {why}."));
    }
    if stage_libs {
        s.df().comment(&format!(
            "Shared libraries: the venv's executables and extension modules (built here from source,\n\
             or loaded by name) may link libraries the runtime lacks. Their DT_NEEDED closure is\n\
             resolved with this image's loader paths; {}.\n\
             The libraries it lacks are staged in {} at their own paths, listed in\n\
             {}, for the runtime stage to copy to /.",
            match ctx.flavour {
                Flavour::Buildkit => "the runtime image is bind-mounted to see which it has",
                Flavour::Classic =>
                    "the runtime is taken to have glibc and what its\nPython links (the classic builder cannot mount the runtime image)",
            },
            super::elf::OUT,
            super::elf::MANIFEST
        ));
        s.df().comment(&format!("Helper: {}.", super::helpers::named("libs.py")));
        s.df().line(super::helpers::copy_package(ctx.member.as_deref()));
        s.run_apart(super::elf::collect_run(ctx, builder, runtime, &also, &provided));
    }
    s.run_apart(steps);
    let source_from_builder = !ctx.plan.build_steps.is_empty();
    if writable_active(ctx) {
        s.flush();
        s.df().comment(&format!(
            "The directories the runtime user writes, owned by {}, assembled in {WRITABLE_OUT} for the\n\
             runtime to copy to / (where no other COPY or WORKDIR makes them root's again).",
            ctx.plan.user
        ));
        s.run(writable_run(ctx, &format!("{VENV}/bin/python"), WRITABLE_OUT));
    }

    if ctx.variant == Variant::Minimal {
        return Ok(minimal_runtime(s, ctx, builder, &install, source_from_builder));
    }

    // ---- runtime
    s.df().blank();
    let from_source = !source_from_builder && source_stage(&mut s, ctx, builder);
    s.df().from(&ctx.plan.image_ref(runtime), Some("runtime"));
    copy_writable(&mut s, ctx, true);
    if apt_libs {
        // checked by the caller: this runtime has a shell and apt
        s.run(apt_install(&uniq(libs.iter().map(|l| l.debian_runtime.clone()))));
    }
    name_the_user(&mut s, ctx, runtime.shell);
    s.df().env(&runtime_env(ctx, &install, Some(VENV)));
    if stage_libs {
        s.df().line(format!("COPY --from=builder {}/ /", super::elf::OUT));
    }
    s.df().line(format!("WORKDIR {APP_DIR}"));
    s.df().line(format!("COPY --from=builder {VENV} {VENV}"));
    app_and_start(&mut s, ctx, from_source, source_from_builder);
    Ok(s.finish())
}

/// The writable directories from the builder, with their owner. Where depends on the builder:
/// the classic builder keeps an existing directory's owner when a later `COPY` merges into it, so
/// they come first (before `WORKDIR` and the venv create those directories root-owned); BuildKit
/// gives a merged directory the owner of the copy's source, so they come last, after the venv
/// and the source (`at_start` says which place is asked for).
fn copy_writable(s: &mut Stage, ctx: &Ctx, at_start: bool) {
    if writable_active(ctx) && (ctx.flavour == Flavour::Classic) == at_start {
        s.df().comment(&writable_comment(ctx));
        s.df().line(format!("COPY --from=builder {WRITABLE_OUT}/ /"));
    }
}

/// The end of every multi-stage runtime: the source (from the builder when build steps wrote
/// into it, else from the context or the secrets-free `source` stage), the user and port, and
/// the venv's server as the exec-form ENTRYPOINT.
fn app_and_start(s: &mut Stage, ctx: &Ctx, from_source: bool, source_from_builder: bool) {
    if source_from_builder {
        s.df().line(format!("COPY --from=builder {}/ {APP_DIR}/", work_dir(ctx)));
    } else {
        copy_source(s, from_source, ctx.member.as_deref(), &format!("{APP_DIR}/"));
    }
    copy_writable(s, ctx, false);
    user_and_port(s, ctx);
    let server = entrypoint::from_venv(&ctx.plan.entrypoint, VENV, &pinned_versions(ctx));
    start(s, ctx, "ENTRYPOINT", &format!("{VENV}/bin/python"), server);
}

/// `minimal`: the builder assembles a root from the trace (`super::minimal`); the final stage is
/// `FROM scratch` with that root, the kept part of the venv and the source.
fn minimal_runtime(
    mut s: Stage,
    ctx: &Ctx,
    builder: &BaseImage,
    install: &Install,
    source_from_builder: bool,
) -> String {
    use super::minimal::{ROOT_OUT, VENV_OUT, assemble_run, copy_trace};
    let traced = ctx.scan.minimal_trace.is_some();
    s.df().comment(&if traced {
        format!(
            "Keep only what the traced service loaded ({}), whole packages, plus the interpreter's\n\
             shared-library closure: the root is assembled in {ROOT_OUT}, the venv in {VENV_OUT}.",
            crate::layout::TRACE_FILE
        )
    } else {
        format!(
            "No {} yet: keep the whole stdlib and venv, plus the interpreter's shared-library\n\
             closure: the root is assembled in {ROOT_OUT}, the venv in {VENV_OUT}.",
            crate::layout::TRACE_FILE
        )
    });
    s.df().comment(&format!("Helper: {}.", super::helpers::named("assemble.py")));
    if traced {
        s.df().line(copy_trace(ctx));
    }
    s.df().line(super::helpers::copy_package(ctx.member.as_deref()));
    s.run(assemble_run(ctx, traced));

    s.df().blank();
    let from_source = !source_from_builder && source_stage(&mut s, ctx, builder);
    s.df().from("scratch", Some("runtime"));
    s.df().line(format!("COPY --from=builder {ROOT_OUT}/ /"));
    copy_writable(&mut s, ctx, true);
    s.df().line(format!("COPY --from=builder {VENV_OUT}/ {VENV}/"));
    // scratch has no PATH to extend
    let env: Vec<(String, String)> = runtime_env(ctx, install, Some(VENV))
        .into_iter()
        .map(|(k, v)| if k == "PATH" { (k, format!("{VENV}/bin:/usr/local/bin:/usr/bin:/bin")) } else { (k, v) })
        .collect();
    s.df().env(&env);
    s.df().line(format!("WORKDIR {APP_DIR}"));
    app_and_start(&mut s, ctx, from_source, source_from_builder);
    s.finish()
}
