//! Scan: reads a Python project and reports facts about it, each with the file and reason it came
//! from (`Fact`). Owns detection only; it never writes and never talks to Docker.
//!
//! Entry point: [`scan`]. The detectors live in submodules, one per kind of fact:
//! - [`files`]: bounded, never-panicking file reads (size cap, FIFOs, broken links, bad UTF-8);
//! - [`walk`]: the project walk (honours .gitignore, skips venvs and build trees, caps files);
//! - [`pycode`]: tree-sitter facts from Python sources (app objects, factories, run calls, imports);
//! - [`deps`]: package manager, lockfile, dependency files and runtime dependencies;
//! - [`lock`]: what the lockfile pins, and which CPython versions its compiled wheels cover;
//! - [`python_version`]: the Python major.minor, from the first source that names one;
//! - [`dockerfile`]: an existing Dockerfile (FROM, CMD/ENTRYPOINT, EXPOSE) and `.dockerignore`;
//! - [`app`]: framework, app target, app server, entrypoint argv and port;
//! - [`index`]: the package index (PEP 691) for pins without file lists, cached;
//! - [`as_of`]: the date a set of direct `==` pins was frozen (its newest pin's release);
//! - [`system_libs`]: shared libraries that dependencies need at run time (`assets/system_libs.toml`);
//! - [`build_deps`]: compilers and headers for what compiles from source (`assets/build_deps.toml`);
//! - [`vcs`]: dependencies installed from a git repository (locks and requirement lines);
//! - [`secrets`]: files that would enter the build context and should not;
//! - [`writable`]: where the service writes at run time (SQLite files, upload folders);
//! - [`compose`]: the compose file's app service, its settings and the services beside it.

mod app;
mod as_of;
pub mod build_deps;
pub mod compose;
mod deps;
mod django;
mod dockerfile;
mod env;
mod files;
pub(crate) mod index;
mod index_auth;
mod lock;
mod lock_state;
pub use index::{OFFLINE_ENV, stay_offline, use_cache_dir};
pub use lock::{ExactPin, LockedPackage, WheelPythons, exact_pin, normalize, wheel_pythons};
mod pycode;
mod python_version;
mod secrets;
mod shell;
mod start;
pub use secrets::is_gitignored;
pub mod system_libs;
pub mod vcs;
mod walk;
mod writable;

pub use index_auth::{credential_files, is_pip_config};
pub use lock_state::LockState;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::python::PythonVersion;

/// A detected value and where it came from (`"poetry.lock"`, `"src/app.py:12 (FastAPI())"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fact<T> {
    pub value: T,
    pub source: String,
}

impl<T> Fact<T> {
    pub fn new(value: T, source: impl Into<String>) -> Self {
        Self { value, source: source.into() }
    }
}

/// How dependencies are declared and installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageManager {
    /// `requirements*.txt`
    Pip,
    Poetry,
    Uv,
    Pdm,
    Pipenv,
    /// PEP 621 / setuptools / hatch `pyproject.toml` without a lockfile (installed with pip).
    Pyproject,
    /// Legacy `setup.py` (installed with pip).
    SetupPy,
}

impl PackageManager {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Poetry => "poetry",
            Self::Uv => "uv",
            Self::Pdm => "pdm",
            Self::Pipenv => "pipenv",
            Self::Pyproject => "pyproject",
            Self::SetupPy => "setup-py",
        }
    }
}

/// Web framework of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Fastapi,
    Starlette,
    Litestar,
    Flask,
    Django,
    Streamlit,
    Gradio,
    Aiohttp,
    Quart,
    Tornado,
    Sanic,
    Falcon,
    Bottle,
    Nicegui,
    Dash,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fastapi => "fastapi",
            Self::Starlette => "starlette",
            Self::Litestar => "litestar",
            Self::Flask => "flask",
            Self::Django => "django",
            Self::Streamlit => "streamlit",
            Self::Gradio => "gradio",
            Self::Aiohttp => "aiohttp",
            Self::Quart => "quart",
            Self::Tornado => "tornado",
            Self::Sanic => "sanic",
            Self::Falcon => "falcon",
            Self::Bottle => "bottle",
            Self::Nicegui => "nicegui",
            Self::Dash => "dash",
        }
    }

    /// The PyPI distribution (and top-level import) that makes a project this framework.
    pub fn package(self) -> &'static str {
        self.as_str()
    }

    /// Whether the app object is an ASGI application (served by uvicorn, hypercorn, ...).
    pub fn is_asgi(self) -> bool {
        matches!(self, Self::Fastapi | Self::Starlette | Self::Litestar | Self::Quart)
    }
}

/// Program that serves the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppServer {
    Uvicorn,
    Gunicorn,
    Uwsgi,
    Hypercorn,
    Granian,
    Daphne,
    Streamlit,
    Waitress,
    Sanic,
    /// `python app.py` (the script starts its own server, e.g. Gradio `launch()`), or a
    /// framework's own command (`flask run`, `fastapi run`, `manage.py runserver`).
    Python,
}

impl AppServer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uvicorn => "uvicorn",
            Self::Gunicorn => "gunicorn",
            Self::Uwsgi => "uwsgi",
            Self::Hypercorn => "hypercorn",
            Self::Granian => "granian",
            Self::Daphne => "daphne",
            Self::Streamlit => "streamlit",
            Self::Waitress => "waitress",
            Self::Sanic => "sanic",
            Self::Python => "python",
        }
    }

    /// The AppServer a server-table row counts as (`app_server = "gunicorn"`); `fastapi run`
    /// and other framework commands count as `python`.
    pub fn from_table(name: &str) -> Self {
        match name {
            "uvicorn" => Self::Uvicorn,
            "gunicorn" => Self::Gunicorn,
            "uwsgi" => Self::Uwsgi,
            "hypercorn" => Self::Hypercorn,
            "granian" => Self::Granian,
            "daphne" => Self::Daphne,
            "streamlit" => Self::Streamlit,
            "waitress" => Self::Waitress,
            "sanic" => Self::Sanic,
            _ => Self::Python,
        }
    }
}

/// A shared library that a dependency needs at run time and that slim/distroless images lack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemLib {
    /// Library name, e.g. `libpq`.
    pub name: String,
    /// The Python distribution that needs it, e.g. `psycopg2`.
    pub needed_by: String,
    /// Debian package with the runtime files, e.g. `libpq5`.
    pub debian_runtime: String,
    /// Debian package needed to build from source, e.g. `libpq-dev`.
    pub debian_build: String,
    /// Shared objects (file names) that must exist in the runtime image, e.g. `libpq.so.5`.
    pub sonames: Vec<String>,
    /// A binary-wheel alternative that bundles the library, e.g. `psycopg2-binary`.
    pub alternative: Option<String>,
}

/// A distribution that compiles from source on the chosen Python, and what its build needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildDep {
    /// Distribution, e.g. `psycopg2-binary`.
    pub package: String,
    /// The pinned version (empty when unpinned).
    pub version: String,
    /// Why it compiles, naming the pin and where its file list came from.
    pub reason: String,
    /// Debian packages its build needs in the builder stage, compiler first.
    pub debian: Vec<String>,
}

/// One declared dependency (normalized PEP 503 name, as written in the project).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub name: String,
    /// The requirement as written (`psycopg2>=2.9`), for messages.
    pub requirement: String,
    pub source: String,
}

/// Everything the scan learned about a project. Every fact is `None` when not found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanReport {
    /// Absolute project root that was scanned.
    pub root: PathBuf,
    pub package_manager: Option<Fact<PackageManager>>,
    /// Path of the lockfile relative to the root (may be `../uv.lock` in a uv workspace).
    pub lockfile: Option<Fact<String>>,
    pub python: Option<Fact<PythonVersion>>,
    /// What bounds the Python choice (the ranges and the pins' wheels, as catalogue versions);
    /// in the JSON as `python.bound` (see [`ScanReport::to_json`]).
    #[serde(skip)]
    pub python_bound: Option<PythonBound>,
    pub framework: Option<Fact<Framework>>,
    pub app_server: Option<Fact<AppServer>>,
    /// `pkg.module:attr` (`pkg:create_app()` for a factory), or the script path for Streamlit
    /// and Gradio. Importable from the root with `source_dir` on `sys.path`.
    pub app: Option<Fact<String>>,
    /// Full argv that starts the service, e.g. `["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]`.
    pub entrypoint: Option<Fact<Vec<String>>>,
    /// Other ways to serve the same app on the same port, with servers the project depends on
    /// (uvicorn, gunicorn with uvicorn workers, hypercorn, granian; gunicorn for WSGI), the
    /// entrypoint's own command excluded. The wizard offers them beside the entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint_alternatives: Vec<Fact<Vec<String>>>,
    pub port: Option<Fact<u16>>,
    /// Commands that run before the server, in order (`flask db upgrade`, `python manage.py
    /// migrate`), as command lines without shell operators; from Procfile `web:` lines, start
    /// scripts and Dockerfile entrypoints. The image runs them through a shell-less launcher.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_start: Vec<Fact<String>>,
    /// Directories the service writes into at run time, as image paths (`/app` for a SQLite
    /// file beside the source, `/app/media`, `{site-packages}/blog` for an installed package's
    /// folder), each with the file and line that names it. The runtime user must own them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable: Vec<Fact<String>>,
    /// The environment variable that points the service at its database (`DATABASE_URL`, read
    /// by `dj_database_url.config()` or the settings), for failure causes: a migrate or a start
    /// that cannot reach the database names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_env: Option<Fact<String>>,
    /// Shell commands the builder stage runs after the source is copied, in order (Django
    /// `python manage.py collectstatic --noinput` when settings define STATIC_ROOT).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_steps: Vec<Fact<String>>,
    /// Build steps offered but not applied by default (a Procfile `release:` line, the
    /// project's own Dockerfile `RUN` lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_step_candidates: Vec<Fact<String>>,
    /// `KEY=VALUE` settings the build steps need to import the app (a dummy `SECRET_KEY`);
    /// each is also a warning, since it is a placeholder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_env: Vec<Fact<String>>,
    /// Requirements the entrypoint needs that the project does not declare (a server such as
    /// `uvicorn` for a FastAPI app without one); the Dockerfile installs them into the venv.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_requirements: Vec<Fact<String>>,
    /// Environment variables the service reads at start and has no default for
    /// (`os.environ["SERVER_NAME"]` at import), so verify needs them (`--env KEY=VALUE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_env: Vec<Fact<String>>,
    /// `KEY=VALUE` settings the project's own Dockerfile gives the container (`ENV`) that its
    /// code reads (`ENV HTD_HOST=0.0.0.0` for `os.environ.get("HTD_HOST", "127.0.0.1")`): the
    /// image needs them too, or the service behaves differently (listens on localhost); and
    /// `PORT=N` when the server's config file binds `:$(PORT)` (uWSGI reads it when it parses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_env: Vec<Fact<String>>,
    pub system_libs: Option<Fact<Vec<SystemLib>>>,
    /// The `minimal` variant's trace (`.pyslim/trace.txt`): the value is its path relative to
    /// the root, the source counts its entries. `None` until a tracing run wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimal_trace: Option<Fact<String>>,
    /// Distributions that compile from source on the chosen Python (a source-only pin, or no
    /// wheel for it), with the compiler and headers the builder stage needs.
    pub build_deps: Option<Fact<Vec<BuildDep>>>,
    /// The release date (`2024-01-16`) of the newest pin, when every direct dependency is an
    /// exact pin and no lock pins the rest: plan resolves the unpinned rest as of then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pins_as_of: Option<Fact<String>>,
    /// The runtime pins with their file lists (lock or index), so plan and render can ask
    /// again for another Python ([`build_deps::at`], [`system_libs::at`]); not in the JSON.
    #[serde(skip)]
    pub pins: Vec<LockedPackage>,
    /// Libraries needed only when their distribution compiles (`only_without_wheel` rows);
    /// [`system_libs::at`] decides per Python. Not in the JSON.
    #[serde(skip)]
    pub libs_if_compiled: Vec<SystemLib>,
    /// Runtime dependencies (not dev), as declared.
    pub dependencies: Vec<Dependency>,
    /// Files the dependency install step needs, relative to the build context root, in the
    /// order to copy them (`requirements.txt` and its `-r` includes, `pyproject.toml`,
    /// `poetry.lock`, `uv.lock`, `Pipfile`, `Pipfile.lock`, `pdm.lock`, `setup.py`, ...).
    pub dependency_files: Vec<String>,
    /// Folder holding the importable code when the project uses a `src/` layout (`"src"`).
    pub source_dir: Option<String>,
    /// Whether the project itself is an installable package (has a build backend / packages).
    pub installable: bool,
    /// The build context root when it differs from `root` (uv workspace member: the workspace
    /// root that holds `uv.lock`), relative path from root, e.g. `".."`.
    pub context_root: Option<String>,
    /// File name of an existing Dockerfile (`Dockerfile`); the source summarises it
    /// (`Dockerfile (FROM python:3.10-slim, runs `uvicorn app:app`)`).
    pub existing_dockerfile: Option<Fact<String>>,
    /// `.dockerignore` when the project has one; the source counts its patterns.
    pub existing_dockerignore: Option<Fact<String>>,
    /// Files that would enter the build context and should not (`.env`, keys, credentials),
    /// relative to the root.
    pub secrets_in_context: Vec<String>,
    /// The lines of the root `.gitignore` and `.git/info/exclude`, for checks that ask what git
    /// ignores ([`is_gitignored`]); not part of the JSON report.
    #[serde(skip)]
    pub git_ignore: Vec<String>,
    /// Whether the lockfile is stale or old (and which tool version wrote it); the render side
    /// picks a tool that can still read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_state: Option<Fact<LockState>>,
    /// Runtime dependencies installed from a version-control repository (a lock's git entries,
    /// `git+https://...` requirement lines), each with where it was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vcs_dependencies: Vec<Fact<vcs::VcsDependency>>,
    /// Package-index URLs with literal credentials, as `file:line` (`requirements.txt:1`); the
    /// final images get those files without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index_credentials: Vec<String>,
    /// What the project's compose file says about the app's service: its environment, port and
    /// the services it depends on (verify starts them beside the app unless told otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<compose::ComposeFacts>,
    pub warnings: Vec<String>,
}

/// The Pythons a project allows, as catalogue versions (`python:3.X-slim`), oldest first: what
/// its ranges admit and what its pins install on from wheels. The `python` fact is one of them;
/// a script that has no image for that one picks the nearest it has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PythonBound {
    /// The ranges (`requires-python`, Poetry's `python`) as PEP 440, joined with ` and `.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Catalogue versions the ranges admit (absent without a range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by_range: Option<Vec<PythonVersion>>,
    /// Catalogue versions on which every runtime pin installs from a wheel (or is pure Python),
    /// ranges not applied (absent when no pin has a file list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wheels_for: Option<Vec<PythonVersion>>,
    /// The oldest and newest of `wheels_for` when the pins rule some catalogue version out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_by_pins: Option<PythonVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_by_pins: Option<PythonVersion>,
    /// Which pins stop it there (`uvloop 0.19.0 has wheels up to cp312`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_reason: Option<String>,
}

impl ScanReport {
    /// The report as JSON: the derived form, with `python.bound` beside the python fact's value
    /// and source.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let (Some(b), Some(py)) = (&self.python_bound, v.get_mut("python").and_then(|p| p.as_object_mut())) {
            py.insert("bound".into(), serde_json::to_value(b).unwrap_or(serde_json::Value::Null));
        }
        v
    }
}

/// An argv as one shell-quoted command line (`gunicorn -b 0.0.0.0:8000 'shop:create_app()'`),
/// for showing and editing; plain space-joined if it cannot be quoted (a NUL byte).
pub fn command_line(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

/// Why a scan could not run at all. Problems inside single files become warnings instead.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("project folder {path} does not exist")]
    NotFound { path: PathBuf },
    #[error("{path} is not a folder")]
    NotADirectory { path: PathBuf },
    #[error("cannot read project folder {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
}

/// The trace file of the `minimal` variant, with its entries counted (`module`, `file`, `lib` lines).
fn minimal_trace(root: &Path) -> Option<Fact<String>> {
    let path = root.join(crate::layout::TRACE_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let count = |kind: &str| text.lines().filter(|l| l.split_whitespace().next() == Some(kind)).count();
    Some(Fact::new(
        crate::layout::TRACE_FILE.to_string(),
        format!("{} modules, {} files, {} libraries traced", count("module"), count("file"), count("lib")),
    ))
}

/// Files whose presence makes a folder a Python project with declared dependencies.
const DECLARATIONS: &[&str] = &["pyproject.toml", "requirements.txt", "Pipfile", "setup.py", "setup.cfg"];
/// Folders never taken for the service when looking below a repository root.
const NOT_A_SERVICE: &[&str] = &["docs", "doc", "tests", "test", "examples", "scripts", "node_modules", "venv"];

/// Whether `dir` declares dependencies itself (a requirements file, pyproject.toml, ...).
fn declares_dependencies(dir: &Path) -> bool {
    DECLARATIONS.iter().any(|f| dir.join(f).is_file())
        || std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("requirements") && name.ends_with(".txt")
        })
}

/// The one direct subfolder that holds the service, when the repository root declares no
/// dependencies (a service kept in `project/` or `app/` beside docs and compose files).
/// `Err` lists the candidates when there are several.
fn service_subfolder(root: &Path) -> Result<Option<PathBuf>, Vec<String>> {
    if declares_dependencies(root) {
        return Ok(None);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            !name.starts_with('.') && !NOT_A_SERVICE.contains(&name.as_str())
        })
        .filter(|p| declares_dependencies(p))
        .collect();
    found.sort();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(found.iter().filter_map(|p| p.file_name()).map(|n| format!("{}/", n.to_string_lossy())).collect()),
    }
}

/// Scans the project at `root`.
///
/// When `root` declares no dependencies but exactly one of its subfolders does (a repository
/// whose service lives in `project/`), that subfolder is scanned instead and a warning says
/// so; the report's `root` is then the subfolder, which becomes the build context.
///
/// Fails only when `root` cannot be scanned at all (missing, not a folder, unreadable); every
/// problem inside the project (broken TOML, junk bytes, loops, unreadable files) is a warning.
pub fn scan(root: &Path) -> Result<ScanReport, ScanError> {
    let mut report = scan_folder(root)?;
    match service_subfolder(&report.root) {
        Ok(Some(sub)) => {
            let name = sub.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let mut inner = scan_folder(&sub)?;
            inner.warnings.insert(
                0,
                format!(
                    "{} declares no dependencies; scanned {name}/, the only subfolder that does \
                     (point pyslim at {name}/ to make this explicit)",
                    report.root.display()
                ),
            );
            report = inner;
        }
        Ok(None) => {}
        Err(candidates) => report.warnings.push(format!(
            "no dependency declaration at the root, but in several subfolders ({}): point pyslim at the \
             service's folder",
            candidates.join(", ")
        )),
    }
    Ok(report)
}

/// Scans exactly the folder `root`.
fn scan_folder(root: &Path) -> Result<ScanReport, ScanError> {
    let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ScanError::NotFound { path: root.to_path_buf() },
        _ => ScanError::Unreadable { path: root.to_path_buf(), source: e },
    })?;
    if !meta.is_dir() {
        return Err(ScanError::NotADirectory { path: root.to_path_buf() });
    }
    let root = root.canonicalize().map_err(|e| ScanError::Unreadable { path: root.to_path_buf(), source: e })?;
    std::fs::read_dir(&root).map_err(|e| ScanError::Unreadable { path: root.clone(), source: e })?;

    let mut ctx = files::Ctx::new(root.clone());
    let mut report = ScanReport { root, ..Default::default() };

    let ignore = secrets::load_ignore(&mut ctx);
    let context_root = report.root.clone();
    std::thread::scope(|s| {
        // The build-context walk (no .gitignore) runs beside the detectors.
        let context = s.spawn(|| secrets::context_files(&context_root, &ignore));
        let tree = walk::walk(&mut ctx);
        let code = pycode::analyze(&mut ctx, &tree.python_files);
        let mut project = deps::detect(&mut ctx, &mut report, &code);
        // File lists the lock lacks (or `==` pins without a lock), from the package index.
        index::attach(&mut ctx, &report, &mut project);
        as_of::detect(&mut ctx, &mut report, &project);
        let docker = dockerfile::detect(&mut ctx, &mut report);
        python_version::detect(&mut ctx, &mut report, &project, docker.as_ref());
        app::detect(&mut ctx, &mut report, &code, &project, docker.as_ref());
        writable::detect(&mut ctx, &mut report, &code);
        writable::note_sqlite_migrate(&mut report);
        writable::database_env(&mut ctx, &mut report, &code);
        report.pins = project
            .wheel_info()
            .map(|l| l.packages.iter().filter(|p| p.runtime).cloned().collect())
            .unwrap_or_default();
        system_libs::detect(&mut report, &project);
        report.minimal_trace = minimal_trace(&report.root);
        build_deps::detect(&mut report);
        lock_state::detect(&mut ctx, &mut report);
        index_auth::detect(&mut ctx, &mut report);
        vcs::detect(&mut ctx, &mut report);
        let files = context.join().unwrap_or_else(|_| {
            ctx.warn("the build-context walk failed; secrets were not checked");
            Vec::new()
        });
        report.git_ignore = secrets::load_git_ignore(&mut ctx);
        secrets::detect(&mut ctx, &mut report, files);
    });
    match compose::detect(&report.root) {
        Ok(facts) => report.compose = facts,
        Err(why) => report.warnings.push(why),
    }

    report.warnings.extend(ctx.into_warnings());
    Ok(report)
}
