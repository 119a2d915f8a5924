//! Plan: the user's choices (`pyslim.toml`, CLI flags) resolved against the scan and the
//! catalogue into a [`BuildPlan`] that the renderer and engine consume.
//!
//! Owns: the `pyslim.toml` format ([`Config`]), precedence (flag > config > scan > default),
//! the variants and which images each uses, and compatibility checks with plain-language
//! reasons. It does not read project files (that is `scan`) or produce Dockerfile text (`render`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalogue::{self, BaseImage, Family, Libc, date, days};
use crate::python::PythonVersion;
use crate::scan::{AppServer, Framework, PackageManager, ScanReport};

/// File name of the stored choices in a project.
pub const CONFIG_FILE: &str = "pyslim.toml";
/// Python version used when neither flags, config nor the scan say one.
pub const DEFAULT_PYTHON: PythonVersion = PythonVersion::new(3, 13);
/// Default port when nothing else says one.
pub const DEFAULT_PORT: u16 = 8000;
/// Default non-root user: distroless's `nonroot` (uid/gid 65532), numeric so it needs no passwd entry.
pub const DEFAULT_USER: &str = "65532:65532";
pub use crate::layout::{APP_DIR, SECRETS_DIR, VENV};

/// An image variant that pyslim can render, build and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The typical single-stage image on `python:3.X` with everything in it.
    Naive,
    /// Single stage on `python:3.X-slim`.
    Slim,
    /// Venv built in a builder stage, copied onto a runtime that has a shell (`python:3.X-slim`).
    MultistageSlim,
    /// Venv built in a builder stage, copied onto a shell-less runtime (distroless).
    Distroless,
    /// `FROM scratch`: the interpreter, its libraries and only the stdlib modules and venv
    /// distributions a traced run of the service imported (`.pyslim/trace.txt`).
    Minimal,
}

impl Variant {
    pub const ALL: [Variant; 5] =
        [Variant::Naive, Variant::Slim, Variant::MultistageSlim, Variant::Distroless, Variant::Minimal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Naive => "naive",
            Self::Slim => "slim",
            Self::MultistageSlim => "multistage-slim",
            Self::Distroless => "distroless",
            Self::Minimal => "minimal",
        }
    }

    pub fn is_multistage(self) -> bool {
        matches!(self, Self::MultistageSlim | Self::Distroless | Self::Minimal)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Naive => "single stage on python:3.X, everything in it (the usual Dockerfile)",
            Self::Slim => "single stage on python:3.X-slim",
            Self::MultistageSlim => "venv built in a builder stage, shipped on python:3.X-slim",
            Self::Distroless => "venv built in a builder stage, shipped on distroless (no shell)",
            Self::Minimal => "FROM scratch: interpreter, libraries and only what a traced run imported",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Variant {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim()).ok_or_else(|| PlanError::UnknownVariant(s.to_string()))
    }
}

/// Dockerfile flavour: BuildKit (cache mounts) or the classic builder (no `RUN --mount`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    #[default]
    Buildkit,
    Classic,
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buildkit => "buildkit",
            Self::Classic => "classic",
        }
    }
}

/// When a build pulls its base images: `missing` (like `docker build`: only what is not in the
/// daemon), `always` (refresh every base image first) or `never` (offline: a missing image is an
/// error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    #[default]
    Missing,
    Always,
    Never,
}

impl PullPolicy {
    pub const ALL: [PullPolicy; 3] = [Self::Missing, Self::Always, Self::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Always => "always",
            Self::Never => "never",
        }
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PullPolicy {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| PlanError::UnknownPullPolicy(s.to_string()))
    }
}

/// Trimming options: each saves bytes at a stated cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Trim {
    /// Keep pip, setuptools and wheel in the runtime venv (not needed to run; off by default).
    pub keep_installers: bool,
    /// Precompile `.pyc` files (faster start, larger image; off by default).
    pub bytecode: bool,
    /// `strip --strip-unneeded` extension modules in the multi-stage variants (smaller, no debug
    /// symbols; on by default, `strip = false` opts out).
    pub strip: bool,
}

impl Default for Trim {
    fn default() -> Self {
        Self { keep_installers: false, bytecode: false, strip: true }
    }
}

/// The `minimal` variant's settings (`[minimal]` in pyslim.toml).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Minimal {
    /// Modules (import names: `yaml`, `email`, `myapp.plugins`) kept whole although the trace
    /// never saw them imported: what a request the trace did not make would import lazily.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
    /// HTTP paths the tracing run requests besides `/` (and verify checks on the image).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace_paths: Vec<String>,
    /// Keep every module a plain file: the stdlib's `.py` sources with their `__pycache__`
    /// instead of sourceless `.pyc` files in the interpreter's zip, and the venv's pure-Python
    /// distributions outside `pyslim-venv.zip`. Tracebacks show stdlib source lines; the image
    /// is larger.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sources: bool,
}

impl Minimal {
    /// `/` first, then the configured paths (each made absolute), without repeats.
    pub fn paths(&self) -> Vec<String> {
        let mut out = vec!["/".to_string()];
        for p in &self.trace_paths {
            let p = if p.starts_with('/') { p.clone() } else { format!("/{p}") };
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Checks the module names (they reach a builder command line).
    pub fn validate(&self) -> Result<(), PlanError> {
        for k in &self.keep {
            let ok = !k.is_empty()
                && k.split('.').all(|p| {
                    p.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !ok {
                return Err(PlanError::BadKeep(k.clone()));
            }
        }
        for p in &self.trace_paths {
            if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(PlanError::BadTracePath(p.clone()));
            }
        }
        Ok(())
    }
}

/// A user-declared image that the catalogue does not know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomImage {
    #[serde(rename = "ref")]
    pub reference: String,
    pub python: PythonVersion,
    pub interpreter: String,
    #[serde(default = "yes")]
    pub shell: bool,
}

fn yes() -> bool {
    true
}

/// The contents of `pyslim.toml`: every field optional; what is unset comes from the scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The variant `dockerfile` and `build` use by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    /// The variants `compare` builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<Variant>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavour: Option<Flavour>,
    /// Prefix that replaces the registry of every catalogue image (`PYSLIM_IMAGE_MIRROR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_mirror: Option<String>,
    /// When base images are pulled: missing (default), always or never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim: Option<Trim>,
    /// The `minimal` variant: modules to keep beyond the trace, paths the trace requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal: Option<Minimal>,
    #[serde(default, rename = "custom_image", skip_serializing_if = "Vec::is_empty")]
    pub custom_images: Vec<CustomImage>,
    /// Commands run in order before the server starts, each a command line without shell
    /// operators (`flask db upgrade`); a failure stops the container with the step's exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_start: Option<Vec<String>>,
    /// Shell commands run at build time after the source is copied (`python manage.py
    /// collectstatic --noinput`); what they write under the project reaches the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_steps: Option<Vec<String>>,
    /// Requirements installed into the image that the project does not declare (`gunicorn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<Vec<String>>,
    /// Debian packages the build installs for what compiles from source (`unixodbc-dev` for a
    /// missing `sql.h`): in the builder stage, and in a single-stage slim image only while it
    /// installs (its run-time library stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_packages: Option<Vec<String>>,
    /// Resolve the dependencies the project does not pin as of this date (`2024-01-17`: releases
    /// uploaded before that day, UTC), or `latest`. Unset: the scan's `pins_as_of` decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deps_as_of: Option<String>,
    /// Directories the runtime user must be able to write (`/app/data`; relative paths are under
    /// /app; `{site-packages}/pkg` for an installed package's folder): created in the builder and
    /// owned by the runtime user in every variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writable: Option<Vec<String>>,
    /// Environment of the build steps only (a dummy `SECRET_KEY`); never an `ENV` of the image.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_env: BTreeMap<String, String>,
    /// How `build --verify` and `compare` run the image (`[verify]`).
    #[serde(default, skip_serializing_if = "VerifyConfig::is_empty")]
    pub verify: VerifyConfig,
    /// Files the install steps need and the final image must not contain (`[[build_secret]]`).
    #[serde(default, rename = "build_secret", skip_serializing_if = "Vec::is_empty")]
    pub build_secrets: Vec<BuildSecret>,
    /// `--add-server gunicorn`: serve the scanned app with this server, installed when the
    /// project does not depend on it. A command-line choice only: its result (the entrypoint
    /// and `install`) is what `pyslim.toml` stores.
    #[serde(skip)]
    pub add_server: Option<AppServer>,
}

/// `[verify]` in `pyslim.toml`: what the verify container gets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Environment of the verify container only (`DATABASE_URL = "sqlite:////tmp/db.sqlite3"`);
    /// never baked into the image.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The Docker network of the verify container only: `host` (a database on this machine's
    /// loopback, where the service's own default address points) or a named network (the one a
    /// compose project's database is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Services started beside the app while it is verified and traced (`[[verify.services]]`),
    /// beyond those the compose file names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSpec>,
    /// `compose = false` (or `--no-compose`): the compose file's services and app environment
    /// are not used. By default they are, re-read at every run and never stored here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<bool>,
}

impl VerifyConfig {
    pub fn is_empty(&self) -> bool {
        self.env.is_empty() && self.network.is_none() && self.services.is_empty() && self.compose.is_none()
    }
}

/// A service the app needs beside it while it is verified and traced (a database, a cache):
/// started from `image` (through the image mirror and the pull policy) on a private network,
/// reachable from the app by `name` and every alias, ready when its healthcheck or its
/// protocol's probe answers, removed afterwards. Comes from the compose file (the services the
/// app's service depends on), `--service` or `[[verify.services]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The host name the app reaches it by (the compose service name: `db`, `redis`).
    pub name: String,
    /// Image reference as written (`postgres:16`).
    pub image: String,
    /// More host names for the same container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Its environment (`POSTGRES_PASSWORD`, ...). Values may come from `.env` files, so front
    /// ends print the names only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Its command, when the compose file overrides the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Its healthcheck test as compose writes it (`["CMD", "pg_isready"]`,
    /// `["CMD-SHELL", "..."]`); without one, readiness is the protocol's own probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Vec<String>>,
    /// The image is built first, from this context, when the compose file says `build:` (a
    /// `FROM postgres:16` with init scripts added); `image` is then the tag it gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<ServiceBuild>,
    /// Where it came from (`compose.yaml: services.db`, `--service`, `pyslim.toml`).
    #[serde(skip)]
    pub source: String,
}

/// A service image built from a folder of the project (compose `build:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceBuild {
    /// The build context, relative to the project root (or absolute).
    pub context: PathBuf,
    /// The Dockerfile, relative to the context (default `Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
}

impl ServiceSpec {
    /// A service as `--service` names it: `IMAGE` or `NAME=IMAGE` (`postgres:16`,
    /// `db=postgres:16`, `redis`). Without a name it is reachable by the image's last path
    /// component (`postgres`).
    pub fn from_flag(flag: &str) -> Result<ServiceSpec, PlanError> {
        let bad = |reason: &str| PlanError::BadService { service: flag.to_string(), reason: reason.to_string() };
        let (name, image) = match flag.split_once('=') {
            Some((n, i)) => (n.trim().to_string(), i.trim().to_string()),
            None => {
                let repo = crate::sidecars::repository(flag);
                (repo.rsplit('/').next().unwrap_or(repo).to_string(), flag.trim().to_string())
            }
        };
        if image.is_empty() {
            return Err(bad("no image (expected IMAGE or NAME=IMAGE, e.g. postgres:16 or db=postgres:16)"));
        }
        let spec = ServiceSpec {
            name,
            image,
            aliases: Vec::new(),
            env: BTreeMap::new(),
            command: None,
            healthcheck: None,
            build: None,
            source: "--service".into(),
        };
        spec.check()?;
        Ok(spec)
    }

    /// A service the compose file names (the app depends on it), with its compose environment,
    /// command, healthcheck and build.
    pub fn from_compose(c: &crate::scan::compose::ComposeService) -> ServiceSpec {
        ServiceSpec {
            name: c.name.clone(),
            image: c.image.clone(),
            aliases: c.aliases.clone(),
            env: c.env.clone(),
            command: c.command.clone(),
            healthcheck: c.healthcheck.clone(),
            build: c
                .build_context
                .as_ref()
                .map(|ctx| ServiceBuild { context: ctx.clone(), dockerfile: c.dockerfile.clone() }),
            source: c.source.clone(),
        }
    }

    /// Checks the names: each must be a host name on the private network.
    pub fn check(&self) -> Result<(), PlanError> {
        let bad = |reason: String| PlanError::BadService { service: self.name.clone(), reason };
        for n in std::iter::once(&self.name).chain(&self.aliases) {
            let ok = !n.is_empty()
                && n.len() <= 63
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                && !n.starts_with(['-', '.']);
            if !ok {
                return Err(bad(format!("`{n}` is not a host name (letters, digits, `-`, `_`, `.`)")));
            }
        }
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err(bad(format!("`{}` is not an image reference", self.image)));
        }
        for k in self.env.keys() {
            if !is_env_name(k) {
                return Err(PlanError::BadEnvName { what: "service environment", name: k.clone() });
            }
        }
        Ok(())
    }

    /// With the kind's environment (`assets/sidecars.toml`) when it has none of its own: a
    /// `--service postgres:16` gets a user, a password and a database.
    pub fn with_kind_defaults(mut self) -> ServiceSpec {
        if self.env.is_empty()
            && let Some(kind) = crate::sidecars::kind_of(&self.image, None)
        {
            self.env = kind.env.clone();
        }
        self
    }
}

/// Whether `name` can be an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_env_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A build-only file (a CA bundle, a `pip.conf` with an index token): the install steps see it
/// at `target`, the final image never contains it. `src` is read at build time (`~` expanded,
/// relative paths from the project folder) and added to the context under `.pyslim-secrets/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSecret {
    pub id: String,
    pub src: String,
    pub target: String,
    /// Environment variable set to `target` for the install commands (`PIP_CERT`, `PIP_CONFIG_FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl BuildSecret {
    /// Checks the id, target and env names.
    pub fn validate(&self) -> Result<(), PlanError> {
        let bad = |why: String| Err(PlanError::BadSecret { id: self.id.clone(), reason: why });
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return bad("the id must be 1-64 characters of a-z, 0-9, `_` and `-`".into());
        }
        if self.src.trim().is_empty() {
            return bad("`src` (the host file to read) is empty".into());
        }
        let t = &self.target;
        if !t.starts_with('/') || t.len() < 2 || t.ends_with('/') {
            return bad(format!("`target` must be an absolute file path, e.g. /run/pyslim-secrets/{}", self.id));
        }
        if t.split('/').any(|p| p == ".." || p == ".")
            || t.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'$`\\,=".contains(c))
        {
            return bad(format!(
                "`target` {t:?} must be a plain absolute path (no `..`, spaces, quotes, `$`, `,` or `=`)"
            ));
        }
        for shipped in [VENV, APP_DIR] {
            if t == shipped || t.starts_with(&format!("{shipped}/")) {
                return bad(format!("`target` {t} is under {shipped}, which is copied into the final image"));
            }
        }
        if let Some(e) = &self.env {
            let ok = e.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return bad(format!("`env` {e:?} is not an environment variable name"));
            }
        }
        Ok(())
    }

    /// Where the file is in the build context: `.pyslim-secrets/<id>`.
    pub fn context_path(&self) -> String {
        format!("{SECRETS_DIR}/{}", self.id)
    }

    /// The host file: `~` expanded, relative paths taken from `project`.
    pub fn source_path(&self, project: &Path) -> PathBuf {
        let src = self.src.trim();
        let home = || std::env::var_os("HOME").map(PathBuf::from);
        let p = match (src.strip_prefix("~/"), home()) {
            (Some(rest), Some(h)) => h.join(rest),
            _ if src == "~" => home().unwrap_or_else(|| PathBuf::from(src)),
            _ => PathBuf::from(src),
        };
        if p.is_absolute() { p } else { project.join(p) }
    }
}

impl FromStr for BuildSecret {
    type Err = PlanError;
    /// `id=ca,src=/path/ca.pem,target=/run/pyslim-secrets/ca.pem,env=PIP_CERT`
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (mut id, mut src, mut target, mut env) = (None, None, None, None);
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| PlanError::BadSecretFlag {
                flag: s.to_string(),
                reason: format!("`{part}` is not key=value"),
            })?;
            let slot = match k.trim() {
                "id" => &mut id,
                "src" | "source" => &mut src,
                "target" | "dst" => &mut target,
                "env" => &mut env,
                other => {
                    return Err(PlanError::BadSecretFlag {
                        flag: s.to_string(),
                        reason: format!("unknown key `{other}` (keys: id, src, target, env)"),
                    });
                }
            };
            *slot = Some(v.trim().to_string());
        }
        let need = |v: Option<String>, k: &str| {
            v.ok_or_else(|| PlanError::BadSecretFlag { flag: s.to_string(), reason: format!("`{k}=` is missing") })
        };
        let secret = BuildSecret { id: need(id, "id")?, src: need(src, "src")?, target: need(target, "target")?, env };
        secret.validate()?;
        Ok(secret)
    }
}

impl Config {
    /// Reads `pyslim.toml` from a project folder; `Ok(None)` when there is none.
    pub fn load(project: &Path) -> Result<Option<Config>, PlanError> {
        let path = project.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PlanError::ConfigRead { path, source: e }),
        };
        Self::parse(&text).map(Some).map_err(|e| match e {
            PlanError::ConfigSyntax { message, .. } => PlanError::ConfigSyntax { path, message },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Config, PlanError> {
        toml::from_str(text)
            .map_err(|e| PlanError::ConfigSyntax { path: PathBuf::from(CONFIG_FILE), message: e.to_string() })
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("Config has only TOML-representable fields");
        format!("# pyslim settings: flags override these, the scan fills what is unset.\n{body}")
    }

    /// `other`'s set fields win over `self`'s.
    pub fn overlay(mut self, other: &Config) -> Config {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f.clone(); } )* };
        }
        take!(
            python,
            builder,
            runtime,
            entrypoint,
            port,
            user,
            variant,
            variants,
            flavour,
            image_mirror,
            pull,
            trim,
            pre_start,
            build_steps,
            install,
            build_packages,
            deps_as_of,
            writable,
            add_server
        );
        // maps merge key by key, the overlay's values winning
        self.build_env.extend(other.build_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.verify.env.extend(other.verify.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        if other.verify.network.is_some() {
            self.verify.network = other.verify.network.clone();
        }
        if other.verify.compose.is_some() {
            self.verify.compose = other.verify.compose;
        }
        for svc in &other.verify.services {
            // a service with the same name replaces the configured one
            self.verify.services.retain(|s| s.name != svc.name);
            self.verify.services.push(svc.clone());
        }
        take!(minimal);
        self.custom_images.extend(other.custom_images.iter().cloned());
        for s in &other.build_secrets {
            // a flag with the same id replaces the configured secret
            self.build_secrets.retain(|b| b.id != s.id);
            self.build_secrets.push(s.clone());
        }
        self
    }
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read {path}: {source}")]
    ConfigRead { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid pyslim configuration: {message}")]
    ConfigSyntax { path: PathBuf, message: String },
    #[error("unknown variant `{0}` (known: naive, slim, multistage-slim, distroless, minimal)")]
    UnknownVariant(String),
    #[error("unknown pull policy `{0}` (known: missing, always, never)")]
    UnknownPullPolicy(String),
    #[error(
        "image `{0}` is not in pyslim's catalogue; declare it in pyslim.toml as \
         [[custom_image]] with ref, python and interpreter (and shell = false if it has no shell)"
    )]
    UnknownImage(String),
    #[error("no distroless image ships Python {python}: {hint}")]
    NoDistroless { python: PythonVersion, hint: String },
    #[error(
        "pyslim knows no {} image with Python {python} (its catalogue has {}); choose one with --python X.Y",
        family_image(*family),
        catalogue_pythons(*family)
    )]
    NoImage { family: Family, python: PythonVersion },
    #[error("the entrypoint is empty: pass --entrypoint, e.g. --entrypoint 'uvicorn app:app'")]
    EmptyEntrypoint,
    #[error("no entrypoint was detected: pass --entrypoint 'uvicorn app:app' (or set entrypoint in pyslim.toml)")]
    NoEntrypoint,
    #[error("the builder image {0} has no shell, so it cannot run the install steps")]
    BuilderWithoutShell(String),
    #[error("build secret `{id}`: {reason}")]
    BadSecret { id: String, reason: String },
    #[error(
        "--build-secret {flag:?}: {reason} (expected id=ca,src=PATH,target=/run/pyslim-secrets/ca.pem[,env=PIP_CERT])"
    )]
    BadSecretFlag { flag: String, reason: String },
    #[error("build secret id `{0}` is declared twice")]
    DuplicateSecret(String),
    #[error("build package `{0}` is not a Debian package name (e.g. `unixodbc-dev`)")]
    BadBuildPackage(String),
    #[error("[minimal] keep: `{0}` is not a module name (e.g. `yaml`, `email.mime`)")]
    BadKeep(String),
    #[error("[minimal] trace_paths: `{0}` is not an HTTP path (e.g. `/items/1`)")]
    BadTracePath(String),
    #[error(
        "{what}: `{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
    )]
    BadEnvName { what: &'static str, name: String },
    #[error("writable path `{path}`: {reason}")]
    BadWritable { path: String, reason: String },
    #[error("pre-start step `{step}`: {reason}")]
    BadPreStart { step: String, reason: String },
    #[error("cannot serve the app with {server}: {reason}")]
    AddServer { server: &'static str, reason: String },
    #[error("deps_as_of `{0}`: expected a date (YYYY-MM-DD) or `latest`")]
    BadAsOf(String),
    #[error("{what} {value:?} holds a line break or control character, which would end the Dockerfile instruction")]
    ControlCharacter { what: &'static str, value: String },
    #[error("service `{service}`: {reason}")]
    BadService { service: String, reason: String },
}

/// How serious a compatibility finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The image would not build or not start.
    Error,
    /// It works, with a risk the user should know.
    Warning,
}

/// One compatibility finding, with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub severity: Severity,
    pub message: String,
}

/// The images one variant uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariantImages {
    /// Builder stage (for single-stage variants, the same as `runtime`).
    pub builder: BaseImage,
    pub runtime: BaseImage,
}

/// Everything the renderer and the engine need, resolved.
#[derive(Clone, Debug, Serialize)]
pub struct BuildPlan {
    pub project: PathBuf,
    pub python: PythonVersion,
    pub package_manager: PackageManager,
    /// Builder image of the multi-stage variants.
    pub builder: BaseImage,
    /// Runtime image chosen for the recommended variant.
    pub runtime: BaseImage,
    /// Variant `dockerfile`/`build` use unless told otherwise.
    pub variant: Variant,
    /// Variants `compare` builds.
    pub variants: Vec<Variant>,
    pub entrypoint: Vec<String>,
    pub port: u16,
    pub user: String,
    pub trim: Trim,
    pub flavour: Flavour,
    pub image_mirror: Option<String>,
    /// When base images are pulled before a build.
    pub pull: PullPolicy,
    /// Build-only files for the install steps (never in the final image).
    pub build_secrets: Vec<BuildSecret>,
    /// The `minimal` variant's extra modules and trace paths.
    pub minimal: Minimal,
    /// Commands run before the server, in order, as written (each checked by [`split_pre_start`]).
    pub pre_start: Vec<String>,
    /// Shell commands run at build time after the source is copied.
    pub build_steps: Vec<String>,
    /// Directories the runtime user must be able to write, each with why (the scan's fact source,
    /// or the setting that asked for it).
    pub writable: Vec<Writable>,
    /// `KEY=VALUE` pairs set for the build steps only.
    pub build_env: Vec<(String, String)>,
    /// Requirements installed into the image beyond the project's own, each with why.
    pub extra_requirements: Vec<ExtraRequirement>,
    /// Debian packages the install step gets beyond what pyslim knows to add (`--build-package`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_packages: Vec<String>,
    /// The cutoff for the dependencies the project does not pin, when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deps_as_of: Option<AsOf>,
    /// Environment of the verify container only.
    pub verify_env: BTreeMap<String, String>,
    /// Docker network of the verify container only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_network: Option<String>,
    /// Services started beside the app for verify and trace (compose, `--service`, config).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSpec>,
    #[serde(skip)]
    custom_images: Vec<CustomImage>,
    /// What `to_config` stores beyond the resolved values: lists the user set explicitly (an
    /// empty list then overrides the scan's) and the `[verify]` table of `pyslim.toml` (values
    /// from `--env` are for one run and are not saved).
    #[serde(skip)]
    saved: Saved,
}

/// A directory the runtime user must be able to write, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Writable {
    /// An absolute image path, or `{site-packages}/...`.
    pub path: String,
    pub reason: String,
}

/// Checks and normalises a writable path: relative paths are under /app, `..` and control
/// characters are refused, a trailing `/` is dropped.
pub fn writable_path(raw: &str) -> Result<String, PlanError> {
    let bad = |reason: &str| PlanError::BadWritable { path: raw.to_string(), reason: reason.to_string() };
    let p = raw.trim();
    if p.chars().any(|c| c.is_control()) {
        return Err(bad("it holds a line break or control character"));
    }
    if p.split('/').any(|c| c == "..") {
        return Err(bad("`..` is not allowed: name the directory itself"));
    }
    let p = p.trim_end_matches('/');
    let full = if p.starts_with('/') || p.starts_with(crate::layout::SITE_PACKAGES) {
        p.to_string()
    } else if p.is_empty() || p == "." {
        APP_DIR.to_string()
    } else {
        format!("{APP_DIR}/{}", p.trim_start_matches("./"))
    };
    if full.is_empty() {
        return Err(bad("the root folder cannot be made writable"));
    }
    if full.contains('{') && !full.starts_with(crate::layout::SITE_PACKAGES) {
        return Err(bad("the only placeholder is {site-packages} at the start"));
    }
    Ok(full)
}

/// The install considers only releases uploaded before `date` (00:00 UTC), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AsOf {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub reason: String,
    /// A later cutoff the install falls back to when the dated set does not install on the
    /// plan's Python (released after `date`, so older compiled releases may have no wheel for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// The cutoff for a project whose direct dependencies are all pinned: the day after its newest
/// pin's release (`pins_as_of`), with a fallback when its Python is younger than that set; an
/// explicit date or `latest` (no cutoff) from pyslim.toml or `--deps-as-of` wins.
fn deps_as_of(scan: &ScanReport, setting: Option<&str>, python: PythonVersion) -> Result<Option<AsOf>, PlanError> {
    match setting.map(str::trim) {
        Some("latest") => return Ok(None),
        Some(d) if days(d).is_some() => {
            return Ok(Some(AsOf {
                date: d.to_string(),
                reason: "deps_as_of in pyslim.toml or --deps-as-of".into(),
                fallback: None,
            }));
        }
        Some(d) => return Err(PlanError::BadAsOf(d.to_string())),
        None => {}
    }
    let Some(fact) = &scan.pins_as_of else { return Ok(None) };
    let Some(day_after) = days(&fact.value).map(|d| d + 1) else { return Ok(None) };
    let floor = catalogue::python_wheels_from(python).as_deref().and_then(days);
    let fallback = floor.filter(|f| *f > day_after);
    let reason = match fallback {
        Some(f) => format!(
            "{}; Python {python} is younger than these pins, so if they do not install on it the cutoff moves to {} ({} days after its release)",
            fact.source,
            date(f),
            catalogue::WHEELS_AFTER_PYTHON_DAYS
        ),
        None => fact.source.clone(),
    };
    Ok(Some(AsOf { date: date(day_after), reason, fallback: fallback.map(date) }))
}

/// A requirement the image installs that the project does not declare, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtraRequirement {
    pub requirement: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
struct Saved {
    pre_start: bool,
    writable: bool,
    build_steps: bool,
    install: bool,
    /// `deps_as_of` as set (a date or `latest`); the scan's date is not stored, so a later scan
    /// (new pins) dates itself.
    deps_as_of: Option<String>,
    verify: VerifyConfig,
}

/// Flags from the command line (or the TUI) that override `pyslim.toml`.
pub type Overrides = Config;

impl BuildPlan {
    /// Resolves a plan: flags (`overrides`) > `pyslim.toml` (`config`) > scan > defaults.
    pub fn resolve(scan: &ScanReport, config: Option<&Config>, overrides: &Overrides) -> Result<BuildPlan, PlanError> {
        let base = config.cloned().unwrap_or_default();
        let c = base.overlay(overrides);
        let custom = c.custom_images.clone();
        let lookup = |r: &str| resolve_image(r, &custom);

        let user_builder = c.builder.as_deref().map(lookup).transpose()?;
        let user_runtime = c.runtime.as_deref().map(lookup).transpose()?;
        let python = c
            .python
            .or_else(|| user_runtime.as_ref().map(|i| i.python))
            .or_else(|| user_builder.as_ref().map(|i| i.python))
            .or_else(|| scan.python.as_ref().map(|f| f.value))
            .unwrap_or(DEFAULT_PYTHON);

        // Asked for the plan's Python: a --python other than the scan's may compile other pins.
        let runtime_libs = !crate::scan::system_libs::at(scan, python).is_empty();
        let needs_compilers = runtime_libs || !crate::scan::build_deps::at(scan, python).is_empty();
        let builder = match user_builder {
            Some(b) => b,
            // Builder size never reaches the final image; the full image has compilers and dev
            // headers, which source builds (psycopg2, mysqlclient) need. Otherwise slim is quicker.
            None => {
                let fam = if needs_compilers { Family::Python } else { Family::PythonSlim };
                catalogue::for_family(fam, python, false).cloned().ok_or(PlanError::NoImage { family: fam, python })?
            }
        };
        if !builder.shell {
            return Err(PlanError::BuilderWithoutShell(builder.reference.clone()));
        }

        let distroless_ok = catalogue::for_family(Family::Distroless, python, true).is_some_and(|i| !i.is_eol());
        let (runtime, default_variant) = match user_runtime {
            Some(r) => {
                let v = if r.shell && r.family != Family::Distroless {
                    Variant::MultistageSlim
                } else {
                    Variant::Distroless
                };
                (r, v)
            }
            // Build dependencies stay in the builder; only run-time libraries need a package manager.
            None if distroless_ok && !runtime_libs => (
                catalogue::for_family(Family::Distroless, python, true).cloned().expect("checked above"),
                Variant::Distroless,
            ),
            None => (
                catalogue::for_family(Family::PythonSlim, python, false)
                    .cloned()
                    .ok_or(PlanError::NoImage { family: Family::PythonSlim, python })?,
                Variant::MultistageSlim,
            ),
        };

        let port = c.port.or_else(|| scan.port.as_ref().map(|f| f.value)).unwrap_or(DEFAULT_PORT);
        let from_scan = c.entrypoint.is_none();
        let mut extra_requirements: Vec<ExtraRequirement> = match &c.install {
            Some(list) => list
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .map(|r| ExtraRequirement {
                    requirement: r.to_string(),
                    reason: "install in pyslim.toml or --install".into(),
                })
                .collect(),
            // the scan's extras belong to the scan's entrypoint
            None if from_scan => scan
                .extra_requirements
                .iter()
                .map(|f| ExtraRequirement { requirement: f.value.clone(), reason: f.source.clone() })
                .collect(),
            None => Vec::new(),
        };
        let entrypoint = match c.entrypoint.clone() {
            Some(e) if e.is_empty() => return Err(PlanError::EmptyEntrypoint),
            Some(e) => Some(e),
            None => scan.entrypoint.as_ref().map(|f| f.value.clone()),
        };
        let entrypoint = match c.add_server {
            Some(server) => {
                let (argv, extra) = add_server(server, entrypoint.as_deref(), scan, port)?;
                if let Some(e) = extra
                    && !extra_requirements
                        .iter()
                        .any(|r| requirement_name(&r.requirement) == requirement_name(&e.requirement))
                {
                    extra_requirements.push(e);
                }
                argv
            }
            None => entrypoint.ok_or(PlanError::NoEntrypoint)?,
        };
        let entrypoint = with_port(&entrypoint, port);
        let minimal = c.minimal.clone().unwrap_or_default();
        minimal.validate()?;
        let pre_start = match &c.pre_start {
            Some(list) => list.clone(),
            None => scan.pre_start.iter().map(|f| f.value.clone()).collect(),
        };
        let pre_start: Vec<String> = pre_start.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        for line in &pre_start {
            split_pre_start(line)?;
        }
        let build_steps: Vec<String> = match &c.build_steps {
            Some(list) => list.clone(),
            None => scan.build_steps.iter().map(|f| f.value.clone()).collect(),
        }
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
        // Debian package names only: they go into an `apt-get install` line.
        let build_packages: Vec<String> = c.build_packages.clone().unwrap_or_default();
        let debian_name = |p: &str| {
            p.len() >= 2
                && p.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && p.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "+-.".contains(ch))
        };
        if let Some(bad) = build_packages.iter().find(|p| !debian_name(p)) {
            return Err(PlanError::BadBuildPackage(bad.clone()));
        }
        let writable: Vec<Writable> = match &c.writable {
            Some(list) => list
                .iter()
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    Ok(Writable { path: writable_path(p)?, reason: "writable in pyslim.toml or --writable".into() })
                })
                .collect::<Result<_, PlanError>>()?,
            None => scan
                .writable
                .iter()
                .map(|f| Ok(Writable { path: writable_path(&f.value)?, reason: f.source.clone() }))
                .collect::<Result<_, PlanError>>()?,
        };
        let writable = writable.into_iter().fold(Vec::<Writable>::new(), |mut acc, w| {
            if !acc.iter().any(|a| a.path == w.path) {
                acc.push(w);
            }
            acc
        });
        // the scan's dummy settings first, pyslim.toml and flags over them
        let mut build_env: BTreeMap<String, String> = scan
            .build_env
            .iter()
            .filter_map(|f| f.value.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())))
            .collect();
        build_env.extend(c.build_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        for k in build_env.keys() {
            if !is_env_name(k) {
                return Err(PlanError::BadEnvName { what: "build_env", name: k.clone() });
            }
        }
        // These reach the Dockerfile as text: a line break would start another instruction.
        let texts = build_steps
            .iter()
            .map(|v| ("build step", v))
            .chain(build_env.values().map(|v| ("build_env value", v)))
            .chain(extra_requirements.iter().map(|r| ("install requirement", &r.requirement)));
        for (what, value) in texts {
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(PlanError::ControlCharacter { what, value: value.clone() });
            }
        }
        for k in c.verify.env.keys() {
            if !is_env_name(k) {
                return Err(PlanError::BadEnvName { what: "[verify] env", name: k.clone() });
            }
        }
        let as_of = deps_as_of(scan, c.deps_as_of.as_deref(), python)?;
        // The compose file fills what the user did not set: its app environment under the
        // user's, its services when the user named none. Re-read at every run, never saved.
        let compose = scan.compose.as_ref().filter(|_| c.verify.compose != Some(false));
        // Services the user names replace the compose file's, so the compose addresses of the
        // variables those services offer (`DATABASE_URL` for a `--service postgres`) would name
        // hosts that do not run: the services' own addresses win there.
        let offered: BTreeSet<String> = c
            .verify
            .services
            .iter()
            .filter_map(|s| crate::sidecars::kind_of(&s.image, c.image_mirror.as_deref()))
            .flat_map(|k| k.app_env.keys().cloned())
            .collect();
        let mut verify_env: BTreeMap<String, String> = compose
            .map(|f| {
                f.env.iter().map(|e| e.value.clone()).filter(|(k, _)| is_env_name(k) && !offered.contains(k)).collect()
            })
            .unwrap_or_default();
        verify_env.extend(c.verify.env.clone());
        let services: Vec<ServiceSpec> = if c.verify.services.is_empty() {
            compose
                .map(|f| f.services.iter().map(ServiceSpec::from_compose).filter(|s| s.check().is_ok()).collect())
                .unwrap_or_default()
        } else {
            c.verify.services.iter().map(|s| s.check().map(|()| s.clone())).collect::<Result<_, PlanError>>()?
        };
        let services = services.into_iter().map(ServiceSpec::with_kind_defaults).collect();
        for (i, s) in c.build_secrets.iter().enumerate() {
            s.validate()?;
            if c.build_secrets[..i].iter().any(|b| b.id == s.id) {
                return Err(PlanError::DuplicateSecret(s.id.clone()));
            }
        }

        Ok(BuildPlan {
            project: scan.root.clone(),
            python,
            package_manager: scan.package_manager.as_ref().map(|f| f.value).unwrap_or(PackageManager::Pip),
            builder,
            runtime,
            variant: c.variant.unwrap_or(default_variant),
            variants: c.variants.unwrap_or_else(|| Variant::ALL.to_vec()),
            entrypoint,
            port,
            user: c.user.unwrap_or_else(|| DEFAULT_USER.to_string()),
            trim: c.trim.unwrap_or_default(),
            flavour: c.flavour.unwrap_or_default(),
            image_mirror: c.image_mirror.filter(|m| !m.trim().is_empty()),
            pull: c.pull.unwrap_or_default(),
            build_secrets: c.build_secrets.clone(),
            minimal,
            pre_start,
            build_steps,
            writable,
            build_env: build_env.into_iter().collect(),
            extra_requirements,
            build_packages,
            deps_as_of: as_of,
            verify_env,
            verify_network: c.verify.network.clone().filter(|n| !n.trim().is_empty()),
            services,
            custom_images: custom,
            saved: Saved {
                pre_start: c.pre_start.is_some(),
                writable: c.writable.is_some(),
                build_steps: c.build_steps.is_some(),
                install: c.install.is_some() || c.add_server.is_some(),
                deps_as_of: c.deps_as_of.clone(),
                // The file's verify settings (flag values such as --env may be secrets), with the
                // services as chosen (`--service` and the wizard are stored like other choices).
                verify: VerifyConfig {
                    services: c.verify.services.clone(),
                    ..config.map(|f| f.verify.clone()).unwrap_or_default()
                },
            },
        })
    }

    /// The images a variant uses. Fails for `distroless` when no distroless image has the
    /// plan's Python version.
    pub fn images(&self, variant: Variant) -> Result<VariantImages, PlanError> {
        let family = |fam: Family| {
            catalogue::for_family(fam, self.python, false)
                .cloned()
                .ok_or(PlanError::NoImage { family: fam, python: self.python })
        };
        Ok(match variant {
            Variant::Naive => {
                let i = family(Family::Python)?;
                VariantImages { builder: i.clone(), runtime: i }
            }
            Variant::Slim => {
                let i = family(Family::PythonSlim)?;
                VariantImages { builder: i.clone(), runtime: i }
            }
            Variant::MultistageSlim => {
                let runtime = if self.runtime.shell && self.runtime.family != Family::Distroless {
                    self.runtime.clone()
                } else {
                    family(Family::PythonSlim)?
                };
                VariantImages { builder: self.builder.clone(), runtime }
            }
            Variant::Distroless => {
                let runtime = if !self.runtime.shell || self.runtime.family == Family::Distroless {
                    self.runtime.clone()
                } else {
                    let nonroot = self.user != "root" && self.user != "0";
                    catalogue::for_family(Family::Distroless, self.python, nonroot)
                        .cloned()
                        .ok_or_else(|| PlanError::NoDistroless { python: self.python, hint: distroless_hint() })?
                };
                VariantImages { builder: self.builder.clone(), runtime }
            }
            // The final stage is `FROM scratch`; its files come from the builder, so the
            // builder is also the runtime whose interpreter path the venv keeps.
            Variant::Minimal => VariantImages { builder: self.builder.clone(), runtime: self.builder.clone() },
        })
    }

    /// The addresses of the services offered to the app's verify and trace runs
    /// (`DATABASE_URL=postgresql://app:app@db:5432/app` for a `--service db=postgres:16`): for
    /// each service that runs with its kind's own environment, the kind's `app_env`, unless the
    /// app's environment (or an earlier service) already sets that variable.
    pub fn service_app_env(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for s in &self.services {
            let Some(kind) = crate::sidecars::kind_of(&s.image, self.image_mirror.as_deref()) else { continue };
            if s.env != kind.env {
                continue;
            }
            for (k, v) in kind.app_env_for(&s.name) {
                if !self.verify_env.contains_key(&k) {
                    out.entry(k).or_insert(v);
                }
            }
        }
        out
    }

    /// The reference to use in `FROM` for an image: mirrored when a mirror is set.
    pub fn image_ref(&self, image: &BaseImage) -> String {
        if image.family == Family::Custom {
            return image.reference.clone();
        }
        catalogue::mirror(&image.reference, self.image_mirror.as_deref())
    }

    /// Compatibility findings for a variant's images, each with its reason.
    pub fn checks(&self, variant: Variant, scan: &ScanReport) -> Vec<Check> {
        let mut out = Vec::new();
        let images = match self.images(variant) {
            Ok(i) => i,
            Err(e) => {
                out.push(Check { severity: Severity::Error, message: e.to_string() });
                return out;
            }
        };
        check_pair(&images.builder, &images.runtime, variant.is_multistage(), scan, &mut out);
        if self.user == "root" || self.user == "0" || self.user.starts_with("0:") {
            out.push(Check {
                severity: Severity::Warning,
                message: "the image runs as root; set user = \"65532:65532\" for least privilege".into(),
            });
        }
        out.extend(self.secret_checks(scan));
        out.extend(self.verify_env_checks(scan));
        out
    }

    /// A variable the service reads at start with no default (the scan's `required_env`) that
    /// the verify run does not set: the image would stop before answering; say how to supply it.
    pub fn verify_env_checks(&self, scan: &ScanReport) -> Vec<Check> {
        let from_services = self.service_app_env();
        scan.required_env
            .iter()
            .filter(|f| !self.verify_env.contains_key(f.value.trim()) && !from_services.contains_key(f.value.trim()))
            .map(|f| Check {
                severity: Severity::Warning,
                message: format!(
                    "the service needs {k} at start ({}): verify sets it with --env {k}=VALUE or [verify] env in pyslim.toml (never in the image)",
                    f.source,
                    k = f.value.trim()
                ),
            })
            .collect()
    }

    /// A build secret read from inside the project and not git-ignored is one `git add .` away
    /// from a repository: warn, naming the file and the fix.
    pub fn secret_checks(&self, scan: &ScanReport) -> Vec<Check> {
        let mut out = Vec::new();
        for s in &self.build_secrets {
            let src = s.source_path(&self.project);
            let Some(rel) = lexical_relative(&src, &self.project) else { continue };
            if !crate::scan::is_gitignored(&scan.git_ignore, &self.project, &rel, false) {
                out.push(Check {
                    severity: Severity::Warning,
                    message: format!(
                        "build secret `{}` reads {rel}, which is inside the project and not in .gitignore: \
                         it could be committed; keep it outside the project (e.g. ~/.config) or add `/{rel}` \
                         to .gitignore",
                        s.id
                    ),
                });
            }
        }
        out
    }

    /// Checks for an arbitrary builder/runtime pair (the wizard uses this before building).
    pub fn check_images(builder: &BaseImage, runtime: &BaseImage, scan: &ScanReport) -> Vec<Check> {
        let mut out = Vec::new();
        check_pair(builder, runtime, true, scan, &mut out);
        out
    }

    /// User-declared images, for front ends that list choices.
    pub fn custom_images(&self) -> &[CustomImage] {
        &self.custom_images
    }

    /// Stores the plan's choices as a `Config` (what `pyslim.toml` would hold).
    pub fn to_config(&self) -> Config {
        Config {
            python: Some(self.python),
            builder: Some(self.builder.reference.clone()),
            runtime: Some(self.runtime.reference.clone()),
            entrypoint: Some(self.entrypoint.clone()),
            port: Some(self.port),
            user: Some(self.user.clone()),
            variant: Some(self.variant),
            variants: Some(self.variants.clone()),
            flavour: Some(self.flavour),
            image_mirror: self.image_mirror.clone(),
            // The default is left out, so a saved pyslim.toml only says what was chosen.
            pull: (self.pull != PullPolicy::default()).then_some(self.pull),
            trim: Some(self.trim),
            custom_images: self.custom_images.clone(),
            build_secrets: self.build_secrets.clone(),
            minimal: (self.minimal != Minimal::default()).then(|| self.minimal.clone()),
            pre_start: (self.saved.pre_start || !self.pre_start.is_empty()).then(|| self.pre_start.clone()),
            build_steps: (self.saved.build_steps || !self.build_steps.is_empty()).then(|| self.build_steps.clone()),
            writable: (self.saved.writable || !self.writable.is_empty())
                .then(|| self.writable.iter().map(|w| w.path.clone()).collect()),
            install: (self.saved.install || !self.extra_requirements.is_empty())
                .then(|| self.extra_requirements.iter().map(|r| r.requirement.clone()).collect()),
            build_packages: (!self.build_packages.is_empty()).then(|| self.build_packages.clone()),
            build_env: self.build_env.iter().cloned().collect(),
            deps_as_of: self.saved.deps_as_of.clone(),
            verify: self.saved.verify.clone(),
            add_server: None,
        }
    }

    /// Whether the entrypoint runs a development server (`manage.py runserver`, `flask run`)
    /// that [`add_server`] can replace with gunicorn.
    pub fn runs_dev_server(&self) -> bool {
        runs_dev_server(&self.entrypoint)
    }
}

/// Whether `argv` runs a development server: Django's `manage.py runserver` or `flask run`.
pub fn runs_dev_server(argv: &[String]) -> bool {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    words.contains(&"runserver") && words.iter().any(|w| w.ends_with("manage.py"))
        || words.first().is_some_and(|w| w.rsplit('/').next() == Some("flask")) && words.contains(&"run")
        || words.windows(3).any(|w| w[0] == "-m" && w[1] == "flask") && words.contains(&"run")
}

/// Splits a pre-start command line into its argv; shell operators are refused with the reason
/// (the image has no shell to run them: one step per command).
pub fn split_pre_start(line: &str) -> Result<Vec<String>, PlanError> {
    let bad = |reason: String| PlanError::BadPreStart { step: line.to_string(), reason };
    let argv = shlex::split(line).ok_or_else(|| bad("unbalanced quotes".into()))?;
    if argv.is_empty() {
        return Err(bad("empty command".into()));
    }
    for w in &argv {
        if matches!(w.as_str(), ";" | "&&" | "||" | "|" | "&" | ">" | ">>" | "<") || (w.ends_with(';') && w.len() > 1) {
            return Err(bad(format!(
                "`{w}` is a shell operator, and the image runs steps without a shell: make each command a step of its own"
            )));
        }
    }
    Ok(argv)
}

/// The PEP 503 name of a requirement (`Gunicorn[gevent]>=22` -> `gunicorn`).
fn requirement_name(req: &str) -> String {
    let end = req.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')).unwrap_or(req.len());
    req[..end].to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The command that serves the scanned app with `server`, and the requirement to add when the
/// project does not depend on it. An entrypoint that already runs `server` is kept as it is.
/// The one place that builds a server's argv for `--add-server` (gunicorn and uvicorn today).
pub fn add_server(
    server: AppServer,
    current: Option<&[String]>,
    scan: &ScanReport,
    port: u16,
) -> Result<(Vec<String>, Option<ExtraRequirement>), PlanError> {
    let name = server.as_str();
    let fail = |reason: String| PlanError::AddServer { server: name, reason };
    let declared = scan.dependencies.iter().any(|d| requirement_name(&d.name) == name);
    let extra = (!declared).then(|| ExtraRequirement {
        requirement: name.to_string(),
        reason: format!("added by --add-server {name}: the entrypoint runs it and the project does not depend on it"),
    });
    if let Some(argv) = current
        && runs_program(argv, name)
    {
        return Ok((argv.to_vec(), extra));
    }
    let app = scan.app.as_ref().map(|f| f.value.clone()).ok_or_else(|| {
        fail(format!("the scan found no app to serve; pass --entrypoint '{name} module:app' instead"))
    })?;
    let asgi = scan
        .framework
        .as_ref()
        .is_some_and(|f| matches!(f.value, Framework::Fastapi | Framework::Starlette | Framework::Litestar))
        || app.contains(".asgi:");
    let bind = format!("0.0.0.0:{port}");
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let argv = match server {
        AppServer::Gunicorn if asgi => v(&["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-b", &bind, &app]),
        AppServer::Gunicorn => v(&["gunicorn", "-b", &bind, &app]),
        AppServer::Uvicorn if !asgi => {
            return Err(fail(format!("{app} is a WSGI app; uvicorn serves ASGI apps (use gunicorn)")));
        }
        AppServer::Uvicorn => v(&["uvicorn", &app, "--host", "0.0.0.0", "--port", &port.to_string()]),
        _ => return Err(fail("pyslim can add gunicorn or uvicorn; pass --entrypoint for other servers".into())),
    };
    Ok((argv, extra))
}

/// Whether `argv` runs `program` (`gunicorn …`, `python -m gunicorn …`, `poetry run gunicorn …`).
pub fn runs_program(argv: &[String], program: &str) -> bool {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let start = match words.as_slice() {
        [tool, "run", ..] if ["poetry", "uv", "pdm", "pipenv", "hatch", "rye"].contains(tool) => 2,
        _ => 0,
    };
    match &words[start.min(words.len())..] {
        [first, ..] if first.rsplit('/').next() == Some(program) => true,
        [first, "-m", m, ..] if first.rsplit('/').next().is_some_and(|p| p.starts_with("python")) => *m == program,
        _ => false,
    }
}

/// How an image family is called in messages.
fn family_image(f: Family) -> &'static str {
    match f {
        Family::Python => "python:3.X",
        Family::PythonSlim => "python:3.X-slim",
        Family::PythonAlpine => "python:3.X-alpine",
        Family::Distroless => "distroless",
        Family::Custom => "custom",
    }
}

fn catalogue_pythons(f: Family) -> String {
    let v = catalogue::versions(f);
    match (v.first(), v.last()) {
        (Some(a), Some(b)) => format!("Python {a} to {b}"),
        _ => "no versions".to_string(),
    }
}

fn distroless_hint() -> String {
    let live: Vec<String> = catalogue::all()
        .iter()
        .filter(|i| i.family == Family::Distroless && !i.is_eol())
        .map(|i| i.python.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    format!(
        "maintained distroless images ship Python {}; use that version or the multistage-slim variant",
        live.join(", ")
    )
}

fn check_pair(builder: &BaseImage, runtime: &BaseImage, multistage: bool, scan: &ScanReport, out: &mut Vec<Check>) {
    let err = |m: String| Check { severity: Severity::Error, message: m };
    let warn = |m: String| Check { severity: Severity::Warning, message: m };
    if multistage && builder.python != runtime.python {
        out.push(err(format!(
            "Python mismatch: builder {} has {} but runtime {} has {}; the venv and its compiled \
             extensions only work with the same minor version",
            builder.reference, builder.python, runtime.reference, runtime.python
        )));
    }
    if multistage && builder.libc != runtime.libc {
        out.push(err(format!(
            "libc mismatch: builder {} uses {:?} but runtime {} uses {:?}; compiled wheels will not load",
            builder.reference, builder.libc, runtime.reference, runtime.libc
        )));
    }
    for image in if multistage { vec![builder, runtime] } else { vec![runtime] } {
        if let Some(eol) = &image.eol {
            out.push(warn(format!(
                "{} is end-of-life since {eol}: {}",
                image.reference,
                image.note.as_deref().unwrap_or("no more security fixes")
            )));
        }
        if image.libc == Libc::Musl {
            out.push(warn(format!(
                "{} uses musl libc: manylinux wheels do not apply, so compiled dependencies build from source (slow, needs compilers)",
                image.reference
            )));
        }
    }
    let libs = crate::scan::system_libs::at(scan, runtime.python);
    if !libs.is_empty() {
        let names: Vec<String> = libs.iter().map(|l| format!("{} (for {})", l.name, l.needed_by)).collect();
        if !runtime.shell {
            out.push(warn(format!(
                "{} lacks {} and has no package manager: pyslim copies the libraries from the builder \
                 (multistage-slim installs them with apt{})",
                runtime.reference,
                names.join(", "),
                {
                    let alts: Vec<String> = libs.iter().filter_map(|l| l.alternative.clone()).collect();
                    if alts.is_empty() { String::new() } else { format!("; or use {}", alts.join(", ")) }
                }
            )));
        } else if runtime.family == Family::Distroless {
            out.push(err(format!(
                "{} lacks {} and pyslim does not install packages into a distroless image; use the multistage-slim variant",
                runtime.reference,
                names.join(", ")
            )));
        } else if runtime.family == Family::PythonSlim || runtime.family == Family::Custom {
            out.push(warn(format!(
                "{} lacks {}; pyslim installs the runtime package in the image",
                runtime.reference,
                names.join(", ")
            )));
        }
    }
}

/// Finds an image by reference in the custom images, then the catalogue.
pub fn resolve_image(reference: &str, custom: &[CustomImage]) -> Result<BaseImage, PlanError> {
    if let Some(c) = custom.iter().find(|c| catalogue::normalize(&c.reference) == catalogue::normalize(reference)) {
        return Ok(BaseImage::custom(&c.reference, c.python, &c.interpreter, c.shell));
    }
    catalogue::find(reference).cloned().ok_or_else(|| PlanError::UnknownImage(reference.to_string()))
}

/// Makes an entrypoint listen on `port`: rewrites the port its server names with that server's
/// own flags (`servers::with_port`); appends nothing when the argv names no port (the app is
/// then expected to read it itself).
pub fn with_port(argv: &[String], port: u16) -> Vec<String> {
    crate::servers::with_port(argv, port)
}

/// `path` relative to `base` when it lies inside it, judged on the path text (`.` and `..`
/// folded) so a file that does not exist yet is placed too; `None` outside `base`.
fn lexical_relative(path: &Path, base: &Path) -> Option<String> {
    use std::path::Component;
    let fold = |p: &Path| {
        let mut out: Vec<std::ffi::OsString> = Vec::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                Component::Normal(n) => out.push(n.to_os_string()),
                Component::RootDir | Component::Prefix(_) => out.clear(),
            }
        }
        out
    };
    let (p, b) = (fold(path), fold(base));
    if p.len() <= b.len() || p[..b.len()] != b[..] {
        return None;
    }
    let rel: Vec<String> = p[b.len()..].iter().map(|s| s.to_string_lossy().into_owned()).collect();
    Some(rel.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Fact;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn scan_with(python: Option<&str>) -> ScanReport {
        ScanReport {
            python: python.map(|p| Fact::new(p.parse().unwrap(), "test")),
            entrypoint: Some(Fact::new(argv("uvicorn app:app --host 0.0.0.0 --port 8000"), "test")),
            port: Some(Fact::new(8000, "test")),
            ..Default::default()
        }
    }

    #[test]
    fn unpinned_dependencies_resolve_as_of_the_pins() {
        let mut scan = scan_with(Some("3.12"));
        let none = Overrides::default();
        assert_eq!(BuildPlan::resolve(&scan, None, &none).unwrap().deps_as_of, None, "no dated pins, no cutoff");
        scan.pins_as_of = Some(Fact::new("2024-01-16".to_string(), "requirements.txt: uvicorn==0.26.0"));
        let a = BuildPlan::resolve(&scan, None, &none).unwrap().deps_as_of.unwrap();
        assert_eq!(a.date, "2024-01-17", "the day after the newest pin");
        assert_eq!(a.fallback, None, "3.12 had wheels by then");
        // a Python younger than the pins: a later cutoff to fall back to
        let a = BuildPlan::resolve(&scan, None, &Overrides { python: Some("3.13".parse().unwrap()), ..none.clone() })
            .unwrap()
            .deps_as_of
            .unwrap();
        assert_eq!((a.date.as_str(), a.fallback.as_deref()), ("2024-01-17", Some("2025-01-05")));
        assert!(a.reason.contains("Python 3.13 is younger than these pins"), "{}", a.reason);
        // the user's word: latest (none), a date, or an error
        let with = |v: &str| BuildPlan::resolve(&scan, None, &Overrides { deps_as_of: Some(v.into()), ..none.clone() });
        assert_eq!(with("latest").unwrap().deps_as_of, None);
        let p = with("2023-06-01").unwrap();
        assert_eq!(p.deps_as_of.as_ref().map(|a| a.date.as_str()), Some("2023-06-01"));
        assert_eq!(p.to_config().deps_as_of.as_deref(), Some("2023-06-01"), "what the user set is saved");
        assert!(matches!(with("last tuesday"), Err(PlanError::BadAsOf(_))));
        // the scan's date is not saved: a later scan dates the pins again
        assert_eq!(BuildPlan::resolve(&scan, None, &none).unwrap().to_config().deps_as_of, None);
    }

    #[test]
    fn port_rewrites() {
        assert_eq!(
            with_port(&argv("uvicorn a:b --host 0.0.0.0 --port 8000"), 80),
            argv("uvicorn a:b --host 0.0.0.0 --port 80")
        );
        assert_eq!(with_port(&argv("gunicorn -b 0.0.0.0:8000 a:b"), 9000), argv("gunicorn -b 0.0.0.0:9000 a:b"));
        assert_eq!(with_port(&argv("gunicorn --bind=0.0.0.0:8000 a:b"), 1), argv("gunicorn --bind=0.0.0.0:1 a:b"));
        assert_eq!(
            with_port(&argv("streamlit run a.py --server.port 8501"), 8000),
            argv("streamlit run a.py --server.port 8000")
        );
        assert_eq!(
            with_port(&argv("python manage.py runserver 0.0.0.0:8000"), 81),
            argv("python manage.py runserver 0.0.0.0:81")
        );
        assert_eq!(with_port(&argv("uwsgi --http :8000 --module a"), 5), argv("uwsgi --http :5 --module a"));
    }

    #[test]
    fn defaults_choose_distroless_for_313_and_slim_for_312() {
        let p = BuildPlan::resolve(&scan_with(Some("3.13")), None, &Config::default()).unwrap();
        assert_eq!(p.variant, Variant::Distroless);
        assert_eq!(p.runtime.reference, "gcr.io/distroless/python3-debian13:nonroot");
        assert_eq!(p.builder.reference, "python:3.13-slim");
        assert!(p.checks(Variant::Distroless, &scan_with(Some("3.13"))).is_empty());

        let p = BuildPlan::resolve(&scan_with(Some("3.12")), None, &Config::default()).unwrap();
        assert_eq!(p.variant, Variant::MultistageSlim);
        let e = p.images(Variant::Distroless).unwrap_err().to_string();
        assert!(e.contains("no distroless image ships Python 3.12"), "{e}");
        assert!(e.contains("3.13"), "{e}");
    }

    #[test]
    fn precedence_flag_over_config_over_scan() {
        let cfg = Config { port: Some(9000), python: Some("3.11".parse().unwrap()), ..Default::default() };
        let flags = Config { port: Some(7000), ..Default::default() };
        let p = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &flags).unwrap();
        assert_eq!(p.port, 7000);
        assert_eq!(p.python.to_string(), "3.11");
        assert_eq!(p.entrypoint.last().unwrap(), "7000");
    }

    #[test]
    fn mismatch_and_eol_are_flagged() {
        let flags = Config {
            builder: Some("python:3.12-slim".into()),
            runtime: Some("gcr.io/distroless/python3-debian12".into()),
            ..Default::default()
        };
        let scan = scan_with(None);
        let p = BuildPlan::resolve(&scan, None, &flags).unwrap();
        let checks = p.checks(Variant::Distroless, &scan);
        assert!(
            checks.iter().any(|c| c.severity == Severity::Error && c.message.contains("Python mismatch")),
            "{checks:?}"
        );
        assert!(
            checks.iter().any(|c| c.severity == Severity::Warning && c.message.contains("end-of-life")),
            "{checks:?}"
        );
    }

    #[test]
    fn unknown_and_custom_images() {
        let flags = Config { runtime: Some("corp/python:hardened".into()), ..Default::default() };
        let e = BuildPlan::resolve(&scan_with(None), None, &flags).unwrap_err();
        assert!(e.to_string().contains("custom_image"), "{e}");
        let cfg = Config::parse(
            "runtime = \"corp/python:hardened\"\n[[custom_image]]\nref = \"corp/python:hardened\"\npython = \"3.12\"\ninterpreter = \"/usr/bin/python3.12\"\nshell = false\n",
        )
        .unwrap();
        let p = BuildPlan::resolve(&scan_with(None), Some(&cfg), &Config::default()).unwrap();
        assert_eq!(p.variant, Variant::Distroless);
        assert_eq!(p.python.to_string(), "3.12");
        assert_eq!(p.image_ref(&p.runtime), "corp/python:hardened");
    }

    #[test]
    fn config_round_trip_and_unknown_fields() {
        let p = BuildPlan::resolve(
            &scan_with(Some("3.13")),
            None,
            &Config { image_mirror: Some("m".into()), ..Default::default() },
        )
        .unwrap();
        let text = p.to_config().to_toml();
        let back = Config::parse(&text).unwrap();
        assert_eq!(back, p.to_config());
        assert_eq!(p.image_ref(&p.runtime), "m/distroless/python3-debian13:nonroot");
        let e = Config::parse("prot = 80\n").unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn build_secrets_parse_validate_and_round_trip() {
        let text = "[[build_secret]]\nid = \"ca\"\nsrc = \"~/certs/ca.pem\"\ntarget = \"/run/pyslim-secrets/ca.pem\"\nenv = \"PIP_CERT\"\n\n[[build_secret]]\nid = \"pipconf\"\nsrc = \"conf/pip.conf\"\ntarget = \"/etc/pip.conf\"\n";
        let cfg = Config::parse(text).unwrap();
        assert_eq!(cfg.build_secrets.len(), 2);
        assert_eq!(cfg.build_secrets[0].env.as_deref(), Some("PIP_CERT"));
        assert_eq!(cfg.build_secrets[1].env, None);
        assert_eq!(Config::parse(&cfg.to_toml()).unwrap(), cfg);
        let e = Config::parse("[[build_secret]]\nid = \"a\"\nsrc = \"x\"\ntarget = \"/x\"\nmode = 1\n").unwrap_err();
        assert!(e.to_string().contains("mode"), "{e}");

        let p = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &Config::default()).unwrap();
        assert_eq!(p.build_secrets, cfg.build_secrets);
        assert_eq!(Config::parse(&p.to_config().to_toml()).unwrap().build_secrets, cfg.build_secrets);
        assert_eq!(p.build_secrets[0].context_path(), ".pyslim-secrets/ca");
        let proj = Path::new("/proj");
        assert_eq!(p.build_secrets[1].source_path(proj), PathBuf::from("/proj/conf/pip.conf"));
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(p.build_secrets[0].source_path(proj), PathBuf::from(home).join("certs/ca.pem"));
        }

        // a flag with the same id replaces the configured one; others are appended
        let flag: BuildSecret = "id=ca, src=/tmp/ca.pem, target=/etc/ssl/ca.pem, env=SSL_CERT_FILE".parse().unwrap();
        let extra: BuildSecret = "id=tok,src=/tmp/t,target=/run/t".parse().unwrap();
        let flags = Config { build_secrets: vec![flag.clone(), extra.clone()], ..Default::default() };
        let p = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &flags).unwrap();
        let ids: Vec<&str> = p.build_secrets.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["pipconf", "ca", "tok"]);
        assert_eq!(p.build_secrets[1], flag);
    }

    #[test]
    fn a_build_secret_inside_the_project_must_be_git_ignored() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let secret = |id: &str, src: &str| BuildSecret {
            id: id.into(),
            src: src.into(),
            target: format!("/run/s/{id}"),
            env: None,
        };
        let cfg = Config {
            build_secrets: vec![
                secret("inside", "conf/pip.conf"),
                secret("ignored", "private/ca.pem"),
                secret("dotted", "./conf/../private/../token"),
                secret("outside", "../elsewhere/ca.pem"),
                secret("absolute", "/etc/ssl/certs/ca-certificates.crt"),
            ],
            ..Default::default()
        };
        let scan = ScanReport { root: root.clone(), git_ignore: vec!["/private/".into()], ..scan_with(Some("3.13")) };
        let p = BuildPlan::resolve(&scan, Some(&cfg), &Config::default()).unwrap();
        let warned: Vec<String> = p.secret_checks(&scan).into_iter().map(|c| c.message).collect();
        assert_eq!(warned.len(), 2, "{warned:?}");
        assert!(warned[0].starts_with("build secret `inside` reads conf/pip.conf, which is inside the project"));
        assert!(warned[0].contains("add `/conf/pip.conf` to .gitignore"), "{}", warned[0]);
        assert!(warned[1].starts_with("build secret `dotted` reads token,"), "{}", warned[1]);
        assert!(p.checks(Variant::Distroless, &scan).iter().any(|c| c.message.contains("`inside`")));

        assert_eq!(lexical_relative(Path::new("/a/b/c"), Path::new("/a")), Some("b/c".into()));
        assert_eq!(lexical_relative(Path::new("/a"), Path::new("/a")), None);
        assert_eq!(lexical_relative(Path::new("/ab/c"), Path::new("/a")), None);
        assert_eq!(lexical_relative(Path::new("/a/../b"), Path::new("/a")), None);
    }

    #[test]
    fn bad_build_secrets_are_refused_with_the_reason() {
        for (flag, why) in [
            ("id=CA,src=/a,target=/run/a", "a-z"),
            ("id=a b,src=/a,target=/run/a", "a-z"),
            ("id=ca,src=/a,target=run/a", "absolute"),
            ("id=ca,src=/a,target=/run/../etc/a", "plain absolute"),
            ("id=ca,src=/a,target=/opt/venv/ca.pem", "final image"),
            ("id=ca,src=/a,target=/app/ca.pem", "final image"),
            ("id=ca,src=/a,target=/run/a,env=PIP-CERT", "environment variable"),
            ("id=ca,target=/run/a", "`src=` is missing"),
            ("id=ca,src=/a,target=/run/a,mode=0400", "unknown key"),
            ("ca", "not key=value"),
        ] {
            let e = flag.parse::<BuildSecret>().unwrap_err().to_string();
            assert!(e.contains(why), "{flag}: {e}");
        }
        let twice = "[[build_secret]]\nid = \"a\"\nsrc = \"x\"\ntarget = \"/x\"\n[[build_secret]]\nid = \"a\"\nsrc = \"y\"\ntarget = \"/y\"\n";
        let cfg = Config::parse(twice).unwrap();
        let e = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &Config::default()).unwrap_err();
        assert!(e.to_string().contains("declared twice"), "{e}");
        let bad = Config::parse("[[build_secret]]\nid = \"a\"\nsrc = \"x\"\ntarget = \"rel\"\n").unwrap();
        let e = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&bad), &Config::default()).unwrap_err();
        assert!(e.to_string().contains("build secret `a`"), "{e}");
    }

    #[test]
    fn start_keys_parse_overlay_and_round_trip() {
        let text = "pre_start = [\"flask db upgrade\"]\nbuild_steps = [\"python manage.py collectstatic --noinput\"]\ninstall = [\"gunicorn\"]\n[build_env]\nSECRET_KEY = \"dummy\"\n[verify]\nenv = { DATABASE_URL = \"sqlite:////tmp/db\" }\n";
        let cfg = Config::parse(text).unwrap();
        assert_eq!(cfg.pre_start.as_deref(), Some(&["flask db upgrade".to_string()][..]));
        assert_eq!(cfg.verify.env["DATABASE_URL"], "sqlite:////tmp/db");
        let e = Config::parse("[verify]\nenvs = {}\n").unwrap_err().to_string();
        assert!(e.contains("envs"), "{e}");

        // flags replace lists and win per key in maps
        let flags = Config {
            pre_start: Some(vec!["python manage.py migrate".into(), "  ".into()]),
            verify: VerifyConfig { env: [("DEBUG".to_string(), "1".to_string())].into(), ..Default::default() },
            build_env: [("SECRET_KEY".to_string(), "flag".to_string())].into(),
            ..Default::default()
        };
        let p = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &flags).unwrap();
        assert_eq!(p.pre_start, ["python manage.py migrate"]);
        assert_eq!(p.build_steps, ["python manage.py collectstatic --noinput"]);
        assert_eq!(p.build_env, [("SECRET_KEY".to_string(), "flag".to_string())]);
        assert_eq!(p.extra_requirements[0].requirement, "gunicorn");
        assert_eq!(p.verify_env.len(), 2);
        // --env values are for one run: only pyslim.toml's [verify] is saved
        let saved = p.to_config();
        assert_eq!(saved.verify, cfg.verify);
        assert_eq!(Config::parse(&saved.to_toml()).unwrap(), saved);

        // nothing set: the scan's facts; an explicit empty list removes them and is saved
        let scan = ScanReport {
            pre_start: vec![Fact::new("flask db upgrade".to_string(), "Procfile:1")],
            build_steps: vec![Fact::new("python manage.py collectstatic --noinput".to_string(), "settings.py")],
            build_env: vec![Fact::new("SECRET_KEY=build".to_string(), "settings.py:3")],
            extra_requirements: vec![Fact::new("uvicorn".to_string(), "no ASGI server")],
            ..scan_with(Some("3.13"))
        };
        let p = BuildPlan::resolve(&scan, None, &Config::default()).unwrap();
        assert_eq!(p.pre_start, ["flask db upgrade"]);
        assert_eq!(p.build_env, [("SECRET_KEY".to_string(), "build".to_string())]);
        assert_eq!(
            p.extra_requirements,
            [ExtraRequirement { requirement: "uvicorn".into(), reason: "no ASGI server".into() }]
        );
        let none = Config { pre_start: Some(vec![]), ..Default::default() };
        let p = BuildPlan::resolve(&scan, None, &none).unwrap();
        assert!(p.pre_start.is_empty());
        assert_eq!(p.to_config().pre_start, Some(vec![]));
        // the scan's extras belong to its entrypoint
        let own = Config { entrypoint: Some(argv("hypercorn app:app")), ..Default::default() };
        assert!(BuildPlan::resolve(&scan, None, &own).unwrap().extra_requirements.is_empty());
        // an empty plan saves none of the new keys
        let plain = BuildPlan::resolve(&scan_with(Some("3.13")), None, &Config::default()).unwrap().to_config();
        assert!(!plain.to_toml().contains("pre_start") && !plain.to_toml().contains("verify"), "{}", plain.to_toml());
    }

    #[test]
    fn pre_start_steps_have_no_shell_operators_and_env_names_are_checked() {
        for (line, why) in [
            ("flask db upgrade; gunicorn app:app", "shell operator"),
            ("a && b", "shell operator"),
            ("echo 'x", "unbalanced"),
        ] {
            let cfg = Config { pre_start: Some(vec![line.into()]), ..Default::default() };
            let e = BuildPlan::resolve(&scan_with(None), None, &cfg).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(line), "{line}: {e}");
        }
        assert_eq!(split_pre_start("python -c 'print(1); print(2)'").unwrap().len(), 3);
        let cfg = Config { build_steps: Some(vec!["true\nRUN curl evil".into()]), ..Default::default() };
        let e = BuildPlan::resolve(&scan_with(None), None, &cfg).unwrap_err().to_string();
        assert!(e.contains("line break"), "{e}");
        let cfg = Config {
            verify: VerifyConfig { env: [("1X".to_string(), String::new())].into(), ..Default::default() },
            ..Default::default()
        };
        let e = BuildPlan::resolve(&scan_with(None), None, &cfg).unwrap_err().to_string();
        assert!(e.contains("`1X` is not an environment variable name"), "{e}");
    }

    #[test]
    fn add_server_replaces_a_dev_server_and_installs_it() {
        let django = ScanReport {
            framework: Some(Fact::new(Framework::Django, "manage.py")),
            app: Some(Fact::new("mysite.wsgi:application".to_string(), "mysite/settings.py:9")),
            entrypoint: Some(Fact::new(argv("python manage.py runserver 0.0.0.0:8000"), "test")),
            ..scan_with(Some("3.13"))
        };
        let p = BuildPlan::resolve(&django, None, &Config::default()).unwrap();
        assert!(p.runs_dev_server());
        let flags = Config { add_server: Some(AppServer::Gunicorn), port: Some(8001), ..Default::default() };
        let p = BuildPlan::resolve(&django, None, &flags).unwrap();
        assert_eq!(p.entrypoint, argv("gunicorn -b 0.0.0.0:8001 mysite.wsgi:application"));
        assert!(!p.runs_dev_server());
        assert_eq!(p.extra_requirements[0].requirement, "gunicorn");
        assert!(p.extra_requirements[0].reason.contains("does not depend on it"));
        assert_eq!(p.to_config().install, Some(vec!["gunicorn".to_string()]));
        // an entrypoint that already runs it is kept; a declared server is not added again
        let own = Config { entrypoint: Some(argv("gunicorn -w 4 mysite.wsgi:application")), ..flags.clone() };
        assert_eq!(BuildPlan::resolve(&django, None, &own).unwrap().entrypoint[..3], argv("gunicorn -w 4")[..]);
        let declared = ScanReport {
            dependencies: vec![crate::scan::Dependency {
                name: "gunicorn".into(),
                requirement: "gunicorn>=22".into(),
                source: "requirements.txt".into(),
            }],
            ..django.clone()
        };
        assert!(BuildPlan::resolve(&declared, None, &flags).unwrap().extra_requirements.is_empty());
        // uvicorn for a WSGI app is refused with the reason
        let e =
            BuildPlan::resolve(&django, None, &Config { add_server: Some(AppServer::Uvicorn), ..Default::default() })
                .unwrap_err()
                .to_string();
        assert!(e.contains("WSGI"), "{e}");
        let needs = ScanReport {
            required_env: vec![Fact::new("DJANGO_SECRET_KEY".to_string(), "mysite/settings.py:8")],
            ..django.clone()
        };
        let p = BuildPlan::resolve(&needs, None, &Config::default()).unwrap();
        let warned = p.verify_env_checks(&needs);
        assert!(
            warned[0].message.contains("--env DJANGO_SECRET_KEY=VALUE") && warned[0].message.contains("settings.py:8")
        );
        let set = Config {
            verify: VerifyConfig {
                env: [("DJANGO_SECRET_KEY".to_string(), "x".to_string())].into(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(BuildPlan::resolve(&needs, None, &set).unwrap().checks(Variant::Distroless, &needs).is_empty());
        assert!(runs_dev_server(&argv("flask --app app run --port 5000")));
        assert!(!runs_dev_server(&argv("gunicorn app:app")));
    }

    #[test]
    fn services_from_flags_and_config_get_names_defaults_and_the_apps_address() {
        let flag = |f: &str| ServiceSpec::from_flag(f);
        let pg = flag("postgres:16").unwrap();
        assert_eq!((pg.name.as_str(), pg.image.as_str(), pg.source.as_str()), ("postgres", "postgres:16", "--service"));
        assert_eq!(flag("db=postgres:16").unwrap().name, "db");
        assert_eq!(flag("mysql/mysql-server:5.7").unwrap().name, "mysql-server");
        assert_eq!(flag("redis").unwrap().image, "redis");
        for bad in ["db=", "bad name=redis", "-x=redis", "db=two words"] {
            assert!(matches!(flag(bad), Err(PlanError::BadService { .. })), "{bad}");
        }
        let cfg = Config {
            verify: VerifyConfig {
                env: [("REDIS_URL".to_string(), "redis://elsewhere:6379/1".to_string())].into(),
                services: vec![flag("db=postgres:16").unwrap(), flag("redis:7").unwrap(), flag("mongo").unwrap()],
                ..Default::default()
            },
            ..Default::default()
        };
        let plan = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&cfg), &Overrides::default()).unwrap();
        // a known kind gets its defaults, an unknown one nothing
        assert_eq!(plan.services[0].env.get("POSTGRES_PASSWORD").map(String::as_str), Some("app"));
        assert!(plan.services[1].env.is_empty() && plan.services[2].env.is_empty());
        // the app is offered the database's address, never over its own setting
        let app = plan.service_app_env();
        assert_eq!(app.get("DATABASE_URL").map(String::as_str), Some("postgresql://app:app@db:5432/app"));
        assert!(!app.contains_key("REDIS_URL"), "{app:?}");
        // pyslim.toml keeps what the user wrote, not the defaults
        assert!(plan.to_config().verify.services[0].env.is_empty());
        // a service with an environment of its own offers no address (its credentials are its own)
        let mut own = cfg.clone();
        own.verify.services[0].env = [("POSTGRES_PASSWORD".to_string(), "x".to_string())].into();
        let plan = BuildPlan::resolve(&scan_with(Some("3.13")), Some(&own), &Overrides::default()).unwrap();
        assert!(plan.service_app_env().is_empty());
    }
}
