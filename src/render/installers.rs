//! Package-manager steps: one recipe per [`PackageManager`], for each way a stage installs
//! ([`Mode`]): the typical naive single stage, a slim single stage, and the builder stage of the
//! multi-stage variants, which installs into the venv at [`VENV`].
//!
//! Owns which tool runs (and where it lives: a throwaway venv, never the runtime venv), which
//! files must be copied before the dependency step, the dependency step itself, and the project
//! install after the source is copied, and the extra requirements (a server the entrypoint
//! needs) installed into the same environment. It does not own stage layout, users or
//! entrypoints (`stages`).
//!
//! Environment facts behind the recipes: the PyPI JSON API is unreachable here, so `poetry
//! install` cannot work; Poetry, PDM and Pipenv only *export* their lockfile to a requirements
//! file, and pip installs it. uv installs from PyPI with pip (no uv image registry).

use crate::plan::{APP_DIR, AsOf, ExtraRequirement, Flavour, Trim, VENV};
use crate::scan::{PackageManager, ScanReport};

use super::RenderError;
use super::text::{Run, sh_quote};

/// Pins of the tools installed in throwaway venvs (major version, as production Dockerfiles do).
const POETRY: &[&str] = &["poetry>=2,<3", "poetry-plugin-export>=1.9,<2"];
const UV: &[&str] = &["uv>=0.13,<1"];
const PDM: &[&str] = &["pdm>=2,<3"];
/// A lock written by Poetry 1.x: Poetry 1.8 reads every 1.x lock as the Poetry that wrote it did.
/// Poetry 2 refuses a stale one, and its export plugin (1.10) drops from a 1.x lock (no
/// per-package markers) a package whose marker joins an extra with other conditions
/// (uvicorn[standard]'s `uvloop ; sys_platform != "win32" and ... and extra == "standard"`),
/// which pip's hash mode then refuses as unpinned. Its own dependency brings the matching export
/// plugin (1.x), so `poetry export` works.
const POETRY1: &[&str] = &["poetry>=1.8,<2"];

const PIPENV: &[&str] = &["pipenv>=2024.1"];
/// The first pip with `--uploaded-prior-to` (a resolution cutoff by the index's upload times).
const PIP_AS_OF: &str = "pip>=26";

pub(crate) const PIP_CACHE: &str = "--mount=type=cache,target=/root/.cache/pip";
pub(crate) const UV_CACHE: &str = "--mount=type=cache,target=/root/.cache/uv";

/// pip's flag for the releases uploaded before `date` (`YYYY-MM-DD`, 00:00 UTC).
fn cutoff(date: &str) -> String {
    format!("--uploaded-prior-to={date}T00:00:00Z")
}

/// How a stage installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The usual hand-written single stage: the project's tool, dev dependencies included.
    Naive,
    /// A careful single stage: runtime dependencies only, no tool or cache left behind.
    Slim,
    /// Builder stage of the multi-stage variants: everything goes into the venv at [`VENV`].
    Builder,
}

/// Inputs of a recipe.
pub(crate) struct Recipe<'a> {
    pub mode: Mode,
    pub flavour: Flavour,
    pub trim: Trim,
    pub scan: &'a ScanReport,
    pub pm: PackageManager,
    /// Interpreter that runs pip and creates tool venvs in this stage.
    pub python: String,
    /// uv workspace member folder, relative to the build context (`packages/api`).
    pub member: Option<String>,
    /// Requirements to install beyond the project's own (a server the entrypoint needs).
    pub extras: &'a [ExtraRequirement],
    /// The plan's cutoff for dependencies the project does not pin.
    pub as_of: Option<&'a AsOf>,
}

/// The steps of one recipe, in order.
#[derive(Debug, Default)]
pub(crate) struct Install {
    /// `ENV` of the installing stage.
    pub env: Vec<(String, String)>,
    /// Tool installation (its own layer, before any project file is copied).
    pub setup: Run,
    /// Files to copy before the dependency step (paths relative to the build context).
    pub dep_files: Vec<String>,
    /// Dependency step (runs before the source is copied).
    pub deps: Run,
    /// Project step (runs after the source is copied); empty when the project is not installed.
    pub project: Run,
    /// Whether the project itself ends up installed (then no `PYTHONPATH` is needed).
    pub installs_project: bool,
    /// Whether a single-stage install targets the venv at [`VENV`] (uv) instead of the system.
    pub uses_venv: bool,
    /// One-line reasons for the header comment.
    pub why: Vec<String>,
    /// The `pip install` command of this stage (its environment, cache and cutoff flags), for
    /// later installs into the same environment.
    pub pip: String,
}

impl Recipe<'_> {
    fn buildkit(&self) -> bool {
        self.flavour == Flavour::Buildkit
    }

    /// The cutoff this recipe applies: pip resolves the project's own ranges (no lock; uv and the
    /// lock exports install exact pins), and the naive image stays what a hand-written one is.
    fn as_of(&self) -> Option<&AsOf> {
        let pip_resolves = matches!(
            self.pm,
            PackageManager::Pip | PackageManager::Pyproject | PackageManager::SetupPy | PackageManager::Poetry
        ) && self.scan.lockfile.as_ref().is_none_or(|l| l.value.ends_with(".txt"));
        self.as_of.filter(|_| self.mode != Mode::Naive && pip_resolves)
    }

    /// `pip install` with the flags this stage needs, targeting the right environment.
    fn pip(&self) -> String {
        let mut s = match self.mode {
            // Distro-packaged modules in a Debian-based image have no RECORD file, so pip cannot
            // upgrade them: install beside them instead of over them.
            Mode::Naive | Mode::Slim => "pip install --ignore-installed".to_string(),
            Mode::Builder if self.trim.keep_installers && self.as_of().is_none() => format!("{VENV}/bin/pip install"),
            // The runtime venv has no pip: the builder's pip installs into it.
            Mode::Builder => self.pip_into(VENV),
        };
        if !self.buildkit() {
            s.push_str(" --no-cache-dir");
        }
        if self.mode != Mode::Naive && !self.trim.bytecode {
            s.push_str(" --no-compile");
        }
        if let Some(a) = self.as_of() {
            s.push_str(&format!(" {}", cutoff(&a.date)));
        }
        s
    }

    /// `pip install` run by this stage's interpreter into the environment at `venv`.
    fn pip_into(&self, venv: &str) -> String {
        format!("{} -m pip --python {venv}/bin/python install", self.python)
    }

    /// The step that gives this stage a pip that knows `--uploaded-prior-to`, in its own layer,
    /// beside the image's (Debian's own pip has no RECORD to upgrade over).
    fn pip_as_of_setup(&self) -> Run {
        let no_cache = if self.buildkit() { "" } else { " --no-cache-dir" };
        let python = if self.python.is_empty() { "python3" } else { &self.python };
        self.pip_run()
            .cmd(format!(
                "{python} -m pip install{no_cache} --ignore-installed --root-user-action=ignore --disable-pip-version-check {}",
                sh_quote(PIP_AS_OF)
            ))
            .ignore("DL3013", "any pip from 26 on has --uploaded-prior-to; the cutoff applies to what it installs")
    }

    fn pip_run(&self) -> Run {
        let r = Run::new();
        if self.buildkit() { r.mount(PIP_CACHE) } else { r }
    }

    /// Installs a tool; returns the setup step (its own layer), the commands that prefix the
    /// step using it, the tool's executable, and the commands that remove it afterwards.
    fn tool(&self, name: &str, reqs: &[&str]) -> Tool {
        let pkgs = reqs.iter().map(|r| sh_quote(r)).collect::<Vec<_>>().join(" ");
        let no_cache = if self.buildkit() { "" } else { " --no-cache-dir" };
        match self.mode {
            // The tool's own venv (its recommended install), kept in the image as usual.
            Mode::Naive => Tool {
                setup: Run::new(),
                prefix: vec![
                    format!("{} -m venv /opt/{name}", self.python),
                    format!("/opt/{name}/bin/pip install{no_cache} {pkgs}"),
                ],
                bin: format!("/opt/{name}/bin/{name}"),
                cleanup: vec![],
            },
            Mode::Slim => {
                let dir = format!("/tmp/{name}");
                Tool {
                    setup: Run::new(),
                    prefix: vec![
                        format!("{} -m venv {dir}", self.python),
                        format!("{dir}/bin/pip install{no_cache} {pkgs}"),
                    ],
                    bin: format!("{dir}/bin/{name}"),
                    cleanup: vec![format!("rm -rf {dir}")],
                }
            }
            Mode::Builder => {
                let dir = format!("/opt/{name}");
                Tool {
                    setup: self
                        .pip_run()
                        .cmd(format!("{} -m venv {dir}", self.python))
                        .cmd(format!("{dir}/bin/pip install{no_cache} {pkgs}")),
                    prefix: vec![],
                    bin: format!("{dir}/bin/{name}"),
                    cleanup: vec![],
                }
            }
        }
    }

    fn dep_files(&self, defaults: &[&str]) -> Vec<String> {
        if self.scan.dependency_files.is_empty() {
            defaults.iter().map(|s| s.to_string()).collect()
        } else {
            self.scan.dependency_files.clone()
        }
    }

    fn has_file(&self, name: &str) -> bool {
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
        self.scan.dependency_files.iter().any(|f| base(f) == name)
            || self.scan.lockfile.as_ref().is_some_and(|l| base(&l.value) == name)
    }

    /// The requirements file that pip reads (`-r` includes are followed by pip itself).
    fn requirements(&self) -> String {
        if let Some(l) = &self.scan.lockfile
            && l.value.ends_with(".txt")
        {
            return l.value.clone();
        }
        let txt: Vec<&String> = self.scan.dependency_files.iter().filter(|f| f.ends_with(".txt")).collect();
        txt.iter()
            .find(|f| f.as_str() == "requirements.txt")
            .or_else(|| txt.first())
            .copied()
            .cloned()
            .unwrap_or_else(|| "requirements.txt".into())
    }

    /// A poetry.lock written by Poetry 1.x, stale or not (see [`POETRY1`]).
    fn poetry1_lock(&self) -> bool {
        self.scan.lock_state.as_ref().is_some_and(|s| s.value.poetry1())
    }

    /// Whether the lock no longer matches pyproject.toml.
    fn stale_lock(&self) -> bool {
        self.scan.lock_state.as_ref().is_some_and(|s| s.value.stale)
    }

    /// A pdm.lock without environment markers whose pins the scan read (see [`Self::pins_recipe`]).
    fn old_pdm_lock(&self) -> bool {
        self.scan.lock_state.as_ref().is_some_and(|s| s.value.without_markers && !s.value.pins.is_empty())
    }

    /// A lock no tool here can export (a pdm.lock without `inherit_metadata`: PDM 2.17 and newer
    /// refuse it, older PDM fails on current Pythons): the pins the scan read from it, with their
    /// markers, are written in the Dockerfile and pip installs them.
    fn pins_recipe(&self) -> Install {
        let pins = self.scan.lock_state.as_ref().map(|s| s.value.pins.clone()).unwrap_or_default();
        let lines: Vec<String> = pins.iter().map(|p| sh_quote(p)).collect();
        let pip = self.pip();
        let deps = self
            .pip_run()
            .cmd(format!("printf '%s\\n' {} > /tmp/requirements.txt", lines.join(" ")))
            .cmd(format!("{pip} -r /tmp/requirements.txt"))
            .cmd("rm /tmp/requirements.txt");
        let mut out = Install {
            dep_files: self.dep_files(&["pyproject.toml", "pdm.lock"]),
            deps,
            why: vec![
                "pdm.lock has no environment markers (written before PDM 2.11's inherit_metadata), which no current \
                 PDM exports: its runtime pins, read by pyslim with the markers of the paths that reach them, are \
                 installed by pip"
                    .into(),
            ],
            ..Default::default()
        };
        if self.scan.installable {
            out.project = self.pip_run().cmd(format!("{pip} --no-deps ."));
            out.installs_project = true;
        }
        out
    }

    /// A stale uv.lock: `--locked` refuses it, `--frozen` installs it as locked.
    fn stale_uv_lock(&self) -> bool {
        self.scan.lock_state.as_ref().is_some_and(|s| s.value.stale)
    }

    /// Recipe for the package manager.
    pub fn install(&self) -> Result<Install, RenderError> {
        let mut out = match self.pm {
            PackageManager::Pip => self.pip_recipe(),
            // No poetry.lock to export: an installable project builds with its own backend
            // (poetry-core) under pip, from pyproject.toml's ranges (scan warns it is unpinned).
            PackageManager::Poetry if !self.has_file("poetry.lock") && self.scan.installable => {
                self.pyproject_recipe()
            }
            PackageManager::Poetry if self.poetry1_lock() => self.export_recipe(
                "poetry",
                POETRY1,
                &["pyproject.toml", "poetry.lock"],
                match self.mode {
                    // Poetry 1.x has no --all-groups; by default it exports the non-optional groups.
                    Mode::Naive => "export -f requirements.txt -o /tmp/requirements.txt",
                    _ => "export --only main -f requirements.txt -o /tmp/requirements.txt",
                },
                if self.stale_lock() {
                    "poetry.lock is stale and was written by Poetry 1.x: Poetry 1.8 exports it (with a warning, as the Poetry that wrote it would) where Poetry 2 refuses; pip installs the export"
                } else {
                    "poetry.lock was written by Poetry 1.x: Poetry 1.8 exports it as its writer would (Poetry 2's export drops packages whose markers join an extra with other conditions); pip installs the export"
                },
            ),
            PackageManager::Poetry => self.export_recipe(
                "poetry",
                POETRY,
                &["pyproject.toml", "poetry.lock"],
                match self.mode {
                    Mode::Naive => "export --all-groups -f requirements.txt -o /tmp/requirements.txt",
                    _ => "export --only main -f requirements.txt -o /tmp/requirements.txt",
                },
                "Poetry exports its lockfile and pip installs it: `poetry install` needs the PyPI JSON API, and Poetry stays out of the image",
            ),
            PackageManager::Pdm if self.old_pdm_lock() => self.pins_recipe(),
            PackageManager::Pdm => self.export_recipe(
                "pdm",
                PDM,
                &["pyproject.toml", "pdm.lock"],
                match self.mode {
                    Mode::Naive => "export -f requirements -o /tmp/requirements.txt",
                    _ => "export --prod -f requirements -o /tmp/requirements.txt",
                },
                "PDM exports its lockfile (production groups) and pip installs it: no PDM in the image",
            ),
            PackageManager::Pipenv => {
                if !self.has_file("Pipfile.lock") {
                    return Err(RenderError::Unsupported(
                        "this Pipenv project has no Pipfile.lock: run `pipenv lock` and commit Pipfile.lock \
                         (locking inside the build needs the network and is not reproducible)"
                            .into(),
                    ));
                }
                self.export_recipe(
                    "pipenv",
                    PIPENV,
                    &["Pipfile", "Pipfile.lock"],
                    // Pipfiles written before 2018 name PyPI by its retired host; pip is pointed at
                    // pypi.org, which that host only redirects to (and which is all a locked-down
                    // network may let through).
                    match self.mode {
                        Mode::Naive => {
                            "requirements --dev > /tmp/requirements.txt \
                             && sed -i 's#://pypi.python.org/#://pypi.org/#' /tmp/requirements.txt"
                        }
                        _ => {
                            "requirements > /tmp/requirements.txt \
                             && sed -i 's#://pypi.python.org/#://pypi.org/#' /tmp/requirements.txt"
                        }
                    },
                    "Pipenv turns Pipfile.lock (default packages only) into requirements (PyPI's retired host pypi.python.org \
                     named as pypi.org) and pip installs them",
                )
            }
            PackageManager::Uv => self.uv_recipe(),
            PackageManager::Pyproject | PackageManager::SetupPy => self.pyproject_recipe(),
        };
        if self.mode == Mode::Builder || out.uses_venv {
            out.env.insert(0, ("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()));
        }
        self.add_extras(&mut out);
        out.pip = match (self.mode, self.pm) {
            // the builder's pip, into the venv (uv's recipes have no pip of their own)
            (Mode::Builder, _) => {
                let mut p = self.pip_into(VENV);
                if !self.buildkit() {
                    p.push_str(" --no-cache-dir");
                }
                if let Some(a) = self.as_of() {
                    p.push_str(&format!(" {}", cutoff(a.fallback.as_ref().unwrap_or(&a.date))));
                }
                p
            }
            _ => self.pip(),
        };
        if let Some(a) = self.as_of() {
            out.setup = self.pip_as_of_setup().merge(std::mem::take(&mut out.setup));
            out.why.push(format!(
                "the dependencies the project does not pin resolve as of {} (pip's --uploaded-prior-to): {}",
                a.date, a.reason
            ));
            if let Some(later) = &a.fallback {
                let (dated, again) = (cutoff(&a.date), cutoff(later));
                for c in out.deps.commands.iter_mut().chain(out.project.commands.iter_mut()) {
                    if c.contains(&dated) {
                        *c = format!(
                            "{{ {c} || {{ echo {} >&2 && {}; }}; }}",
                            sh_quote(&format!(
                                "pyslim: the set as of {} does not install on this Python: trying as of {later}",
                                a.date
                            )),
                            c.replace(&dated, &again)
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// Installs the extra requirements into the same environment as the dependencies, in the
    /// dependency layer (before the source, so a source edit reuses it) unless the project is
    /// installed in one step after the source; a comment names each one and why. uv's later
    /// exact sync of the project would remove them, so it becomes `--inexact`.
    fn add_extras(&self, out: &mut Install) {
        if self.extras.is_empty() {
            return;
        }
        let reqs: Vec<String> = self.extras.iter().map(|e| sh_quote(&e.requirement)).collect();
        let venv = match (self.mode, self.pm) {
            (Mode::Builder, _) => None, // self.pip() targets the venv
            (Mode::Naive, PackageManager::Uv) => Some(format!("{APP_DIR}/.venv")),
            (Mode::Slim, _) if out.uses_venv => Some(VENV.to_string()),
            _ => None,
        };
        let pip = match venv {
            Some(v) => {
                let mut p = self.pip_into(&v);
                if !self.buildkit() {
                    p.push_str(" --no-cache-dir");
                }
                if self.mode != Mode::Naive && !self.trim.bytecode {
                    p.push_str(" --no-compile");
                }
                p
            }
            None => self.pip(),
        };
        let mut run = self.pip_run().cmd(format!("{pip} {}", reqs.join(" "))).ignore(
            "DL3013",
            "extra requirements are not in the project's lockfile; pin them in `install` to fix versions",
        );
        for e in self.extras {
            run = run.note(format!("{}: {}", e.requirement, e.reason));
        }
        let naive = self.mode == Mode::Naive;
        if !naive && !out.deps.is_empty() {
            out.deps = std::mem::take(&mut out.deps).merge(run);
            if self.pm == PackageManager::Uv && !out.project.is_empty() {
                for c in &mut out.project.commands {
                    if c.contains(" sync --locked") && !c.contains("--inexact") {
                        c.push_str(" --inexact");
                    }
                }
            }
        } else if !out.project.is_empty() {
            out.project = std::mem::take(&mut out.project).merge(run);
        } else {
            out.deps = std::mem::take(&mut out.deps).merge(run);
        }
    }

    fn pip_recipe(&self) -> Install {
        let pip = self.pip();
        let deps = self.pip_run().cmd(format!("{pip} -r {}", sh_quote(&self.requirements())));
        let mut out = Install {
            dep_files: self.dep_files(&["requirements.txt"]),
            deps,
            why: vec!["pip installs the requirements file(s) before the source is copied".into()],
            ..Default::default()
        };
        if self.scan.installable {
            out.project = self.pip_run().cmd(format!("{pip} ."));
            out.installs_project = true;
        }
        out
    }

    /// The names of the lock's dependencies from a git repository (empty: none).
    fn vcs_names(&self) -> Vec<String> {
        self.scan.vcs_dependencies.iter().map(|f| f.value.name.clone()).collect()
    }

    /// The export command adjusted for dependencies from a git repository, and why: Poetry and
    /// PDM export hashes, and pip refuses a file that mixes hashed lines with a repository (it
    /// cannot hash one), so the export leaves the hashes out; Pipenv writes an editable
    /// repository as `-e git+...`, which would stay a checkout in the builder, so the `-e` goes.
    fn vcs_export(&self, name: &str, export: &str) -> (String, Option<String>) {
        let names = self.vcs_names();
        if names.is_empty() {
            return (export.to_string(), None);
        }
        let list = match names.as_slice() {
            [one] => format!("{one} comes"),
            more => format!("{} come", more.join(", ")),
        };
        match name {
            "poetry" | "pdm" => {
                let flag = if name == "poetry" { "--without-hashes" } else { "--no-hashes" };
                (
                    export.replacen("export ", &format!("export {flag} "), 1),
                    Some(format!(
                        "{list} from a git repository: the lock is exported {flag}, since pip cannot hash a \
                         repository and refuses a requirements file that mixes one with hashed lines"
                    )),
                )
            }
            "pipenv" if self.scan.vcs_dependencies.iter().any(|f| f.value.editable) => (
                format!("{export} && sed -i 's#^-e \\(git+\\|hg+\\|svn+\\|bzr+\\)#\\1#' /tmp/requirements.txt"),
                Some(format!(
                    "{list} from a git repository, locked editable: installed as a regular package (an \
                     editable checkout would stay behind in the builder)"
                )),
            ),
            _ => (export.to_string(), None),
        }
    }

    /// Poetry, PDM, Pipenv: the tool exports the lock to a requirements file, pip installs it.
    fn export_recipe(&self, name: &str, reqs: &[&str], defaults: &[&str], export: &str, why: &str) -> Install {
        let pip = self.pip();
        let tool = self.tool(name, reqs);
        let (export, vcs_why) = self.vcs_export(name, export);
        let mut deps = self
            .pip_run()
            .cmds(tool.prefix)
            .cmd(format!("{} {export}", tool.bin))
            .cmd(format!("{pip} -r /tmp/requirements.txt"));
        deps.commands.extend(tool.cleanup);
        deps = deps.cmd("rm /tmp/requirements.txt");
        let mut env = vec![];
        match name {
            "pdm" => env.push(("PDM_CHECK_UPDATE".into(), "false".into())),
            "pipenv" => env.push(("PIPENV_VERBOSITY".into(), "-1".into())),
            _ => {}
        }
        let mut out = Install {
            env,
            setup: tool.setup,
            dep_files: self.dep_files(defaults),
            deps,
            why: std::iter::once(why.to_string()).chain(vcs_why).collect(),
            ..Default::default()
        };
        if self.scan.installable {
            // The export holds the whole locked closure: install the project alone.
            out.project = self.pip_run().cmd(format!("{pip} --no-deps ."));
            out.installs_project = true;
        }
        out
    }

    fn uv_recipe(&self) -> Install {
        let tool = self.tool("uv", UV);
        let uv = tool.bin.clone();
        let naive = self.mode == Mode::Naive;
        let mut env: Vec<(String, String)> = vec![];
        if !naive {
            env.push(("UV_PROJECT_ENVIRONMENT".into(), VENV.into()));
        }
        env.push(("UV_PYTHON_DOWNLOADS".into(), "0".into()));
        if !naive {
            env.push(("UV_PYTHON".into(), self.python.clone()));
        }
        if self.buildkit() {
            env.push(("UV_LINK_MODE".into(), "copy".into()));
        } else {
            env.push(("UV_NO_CACHE".into(), "1".into()));
        }
        if self.trim.bytecode && !naive {
            env.push(("UV_COMPILE_BYTECODE".into(), "1".into()));
        }
        let mut sync = if self.stale_uv_lock() { format!("{uv} sync --frozen") } else { format!("{uv} sync --locked") };
        if !naive {
            sync.push_str(" --no-dev");
        }
        if self.trim.keep_installers && self.mode == Mode::Builder {
            // exact sync would remove the venv's pip, which the user asked to keep
            sync.push_str(" --inexact");
        }
        let workspace = self.member.is_some();
        let uv_run = || {
            let r = self.pip_run();
            if self.buildkit() { r.mount(UV_CACHE) } else { r }
        };
        let mut why = vec![
            "uv syncs the locked runtime dependencies into the venv (no dev group), the project after the source"
                .into(),
        ];
        if self.stale_uv_lock() {
            why.push("uv.lock is stale: `--frozen` installs it as locked, where `--locked` would refuse it".into());
        }
        let mut out = Install {
            env,
            setup: tool.setup.clone(),
            dep_files: self.dep_files(&["pyproject.toml", "uv.lock"]),
            uses_venv: !naive,
            why,
            ..Default::default()
        };
        if naive {
            out.deps = uv_run().cmds(tool.prefix).cmd(sync);
            out.installs_project = self.scan.installable || workspace;
            return out;
        }
        let skip = if workspace { "--no-install-workspace" } else { "--no-install-project" };
        let mut deps = uv_run().cmds(tool.prefix.clone()).cmd(format!("{sync} {skip}"));
        let installs = self.scan.installable || workspace;
        if self.mode == Mode::Slim && !installs {
            deps.commands.extend(tool.cleanup.clone());
        }
        out.deps = deps;
        if installs {
            let mut project = uv_run();
            if self.mode == Mode::Slim {
                project = project.cmds(tool.prefix);
            }
            project = project.cmd(format!("{sync} --no-editable"));
            project.commands.extend(tool.cleanup);
            out.project = project;
            out.installs_project = true;
        }
        out
    }

    /// PEP 621 / setuptools / hatch without a lockfile, and `setup.py`.
    fn pyproject_recipe(&self) -> Install {
        let pip = self.pip();
        let installable = self.scan.installable || self.pm == PackageManager::SetupPy;
        if installable {
            return Install {
                project: self.pip_run().cmd(format!("{pip} .")),
                installs_project: true,
                why: vec![
                    "no lockfile: pip installs the project and its dependencies in one step after the source is copied"
                        .into(),
                ],
                ..Default::default()
            };
        }
        // An application without a build backend: install its declared dependencies.
        let reqs: Vec<String> = self.scan.dependencies.iter().map(|d| sh_quote(&d.requirement)).collect();
        let mut out = Install {
            why: vec![
                "no lockfile and no build backend: pip installs the dependencies declared in pyproject.toml".into(),
            ],
            ..Default::default()
        };
        if !reqs.is_empty() {
            out.deps = self
                .pip_run()
                .cmd(format!("{pip} {}", reqs.join(" ")))
                .ignore("DL3013", "versions come from pyproject.toml, which has no lockfile");
        }
        out
    }
}

struct Tool {
    setup: Run,
    prefix: Vec<String>,
    bin: String,
    cleanup: Vec<String>,
}
