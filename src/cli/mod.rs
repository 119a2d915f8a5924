//! Command-line front end: argument definitions (clap) and the thin commands that chain the
//! library stages. Owns output formats (text, JSON, Markdown) and exit codes, not logic.

mod build;
mod scan_text;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::demo::DemoProject;
use crate::fsutil::{self, WriteOutcome};
use crate::plan::{BuildPlan, Config, Flavour, Severity, Variant};
use crate::render;
use crate::scan::{self, ScanReport};

/// Turn a Python web service into a small container image that really runs, and prove the saving.
#[derive(Debug, Parser)]
#[command(
    name = "pyslim",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Examples:\n  \
      pyslim scan --demo                      what pyslim detects in the embedded demo\n  \
      pyslim dockerfile --write               write Dockerfile and .dockerignore (--force to replace)\n  \
      pyslim compare --markdown               build every variant, check each starts, print a size table\n  \
      pyslim tui                              the wizard, from scan to size chart\n  \
      pyslim build --push --tag registry.example/team/app:1   build, verify, then push\n\n\
      Missing base images are pulled (--pull missing|always|never); point every base image at a\n\
      mirror with PYSLIM_IMAGE_MIRROR=registry.example/mirror\n\n\
      Environment:\n  \
      DOCKER_HOST          unix://, tcp://, https:// or ssh://[user@]host[:port]\n  \
      DOCKER_CONTEXT       a Docker context to use instead of the current one\n  \
      DOCKER_CONFIG        folder of config.json: registry credentials (auths, credsStore, credHelpers)\n  \
      PYSLIM_IMAGE_MIRROR  prefix for every catalogue image (same as --mirror)\n  \
      PYSLIM_BUILDER       classic or buildkit, instead of what the daemon supports\n  \
      PYSLIM_SSH_COMMAND   the ssh command for ssh:// daemons (default: ssh)\n  \
      PYSLIM_VERIFY_FROM   host or daemon: where the verify request is made from\n  \
      PYSLIM_OFFLINE       1: scan without asking the package index for wheels (cache only)\n  \
      PIP_INDEX_URL        the package index scan asks (else the project's, pip.conf, PyPI)\n  \
      XDG_CACHE_HOME       where index answers are cached (pyslim/index; default ~/.cache)\n  \
      NO_COLOR             plain output and a colourless wizard"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what pyslim detects in a project, each fact with the file it came from.
    Scan {
        #[command(flatten)]
        project: ProjectArgs,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Print (or write) the Dockerfile of a variant.
    Dockerfile {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        plan: PlanArgs,
        /// Write Dockerfile and .dockerignore into the project instead of printing, with the helper
        /// files the Dockerfile copies (.pyslim/pyslim_helpers/; pyslim's unedited copies are refreshed).
        #[arg(long)]
        write: bool,
        /// With --write: replace existing files, edited helper files too (the old ones are kept as
        /// *.pyslim-backup).
        #[arg(long, requires = "write")]
        force: bool,
        /// Also write the resolved choices to pyslim.toml (with --write).
        #[arg(long, requires = "write")]
        save_config: bool,
    },
    /// Build one variant through the Docker Engine API.
    Build(build::BuildArgs),
    /// Build several variants, check that each starts, and compare their sizes.
    Compare(build::CompareArgs),
    /// Interactive wizard: scan, choose images, preview, build and compare.
    Tui {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        plan: PlanArgs,
        #[command(flatten)]
        pull: PullArgs,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print pyslim's man page (roff) to stdout: `pyslim man > ~/.local/share/man/man1/pyslim.1`.
    Man,
}

/// Which project to work on.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// Project folder (default: the current folder).
    #[arg(value_name = "PATH", conflicts_with = "demo")]
    pub path: Option<PathBuf>,
    /// Work on a copy of the embedded demo project (FastAPI + Poetry) in a temporary folder.
    #[arg(long)]
    pub demo: bool,
}

/// Choices that override pyslim.toml for this run.
#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    /// Builder image of the multi-stage variants (e.g. python:3.13-slim).
    #[arg(long, value_name = "IMAGE")]
    pub builder: Option<String>,
    /// Runtime image (e.g. gcr.io/distroless/python3-debian13:nonroot, python:3.13-slim).
    #[arg(long, value_name = "IMAGE")]
    pub runtime: Option<String>,
    /// Python version (major.minor): overrides the one the scan picks from the project and its pins.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<crate::python::PythonVersion>,
    /// Command that starts the service, e.g. 'uvicorn app:app --host 0.0.0.0'.
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// Port the service listens on.
    #[arg(long)]
    pub port: Option<u16>,
    /// User the runtime image runs as (default 65532:65532; `root` is allowed with a warning).
    #[arg(long)]
    pub user: Option<String>,
    /// Variant: naive, slim, multistage-slim, distroless or minimal (default: the recommended one).
    #[arg(long)]
    pub variant: Option<Variant>,
    /// Dockerfile for the classic builder (no RUN --mount cache mounts).
    #[arg(long)]
    pub classic: bool,
    /// Registry or local namespace that mirrors every catalogue image.
    #[arg(long, env = "PYSLIM_IMAGE_MIRROR", value_name = "PREFIX")]
    pub mirror: Option<String>,
    /// Build-only file for the install steps, never in the final image (repeatable):
    /// id=ca,src=~/corp-ca.pem,target=/run/pyslim-secrets/ca.pem,env=PIP_CERT
    #[arg(long = "build-secret", value_name = "id=ID,src=PATH,target=PATH[,env=VAR]")]
    pub build_secrets: Vec<crate::plan::BuildSecret>,
    /// Command run before the server, in order, without a shell (repeatable; replaces
    /// pre_start of pyslim.toml and the scan's; '' for none), e.g. --pre-start 'flask db upgrade'.
    #[arg(long = "pre-start", value_name = "CMD")]
    pub pre_start: Vec<String>,
    /// Directory the runtime user must be able to write (repeatable; replaces writable of
    /// pyslim.toml and the scan's; '' for none), e.g. --writable /app/data: created in the
    /// builder and owned by the runtime user in every variant (a SQLite file needs its folder).
    #[arg(long = "writable", value_name = "PATH")]
    pub writable: Vec<String>,
    /// Shell command run at build time after the source is copied (repeatable; replaces
    /// build_steps; '' for none), e.g. --build-step 'python manage.py collectstatic --noinput'.
    #[arg(long = "build-step", value_name = "CMD")]
    pub build_steps: Vec<String>,
    /// KEY=VALUE for the build steps only, never an ENV of the image (repeatable).
    #[arg(long = "build-env", value_name = "KEY=VALUE")]
    pub build_env: Vec<String>,
    /// Requirement to install into the image beyond the project's own (repeatable; replaces
    /// install of pyslim.toml), e.g. --install gunicorn.
    #[arg(long = "install", value_name = "REQ")]
    pub install: Vec<String>,
    /// Debian package the install step needs for what compiles from source (repeatable;
    /// replaces build_packages of pyslim.toml), e.g. --build-package unixodbc-dev when a build
    /// stops at a missing sql.h: installed in the builder stage (a single-stage slim image
    /// removes it again and keeps its run-time library).
    #[arg(long = "build-package", value_name = "DEBIAN-PACKAGE")]
    pub build_packages: Vec<String>,
    /// Resolve the dependencies the project does not pin as of DATE (YYYY-MM-DD: releases
    /// uploaded before that day) or `latest`. By default, when every direct dependency is an
    /// exact pin and no lock pins the rest, the day after the newest pin's release.
    #[arg(long = "deps-as-of", value_name = "DATE|latest")]
    pub deps_as_of: Option<String>,
    /// Serve the detected app with this server instead of a development server (Django's
    /// runserver, flask run), installing it when the project does not depend on it.
    #[arg(long = "add-server", value_name = "SERVER", value_parser = ["gunicorn", "uvicorn"])]
    pub add_server: Option<String>,
    /// KEY=VALUE (or KEY, taken from this environment) for the verify container only, never
    /// baked into the image (repeatable), e.g. --env DATABASE_URL=sqlite:////tmp/db.sqlite3.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Docker network of the verify container only: `host` (reach a database on this machine's
    /// loopback, e.g. a service whose default address is 127.0.0.1) or a network name (a compose
    /// project's, where its database runs).
    #[arg(long = "network", value_name = "NAME")]
    pub network: Option<String>,
    /// A service to start beside the app while it is verified and traced (repeatable):
    /// IMAGE or NAME=IMAGE, e.g. --service postgres:16, --service db=postgres:16, --service redis.
    /// The app reaches it by NAME (default: the image's name) on a private network; a known
    /// database gets a user, password and database, and the app a DATABASE_URL / REDIS_URL
    /// when it sets none (docs/services.md).
    #[arg(long = "service", value_name = "[NAME=]IMAGE")]
    pub services: Vec<String>,
    /// Ignore the project's compose file: without this, verify starts the services the app's
    /// compose service depends on and gives the app its compose environment, unless --service,
    /// --env or pyslim.toml set them (docs/services.md).
    #[arg(long = "no-compose")]
    pub no_compose: bool,
    /// Set from `--pull` by the commands that build (`dockerfile` has no such flag).
    #[arg(skip)]
    pub pull: Option<crate::plan::PullPolicy>,
}

/// `KEY=VALUE`, or `KEY` alone with the value taken from pyslim's own environment (like
/// `docker run -e KEY`).
fn env_pairs(flag: &str, items: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for item in items {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.to_string()),
            None => {
                let k = item.trim().to_string();
                let v = std::env::var(&k).with_context(|| {
                    format!("{flag} {k}: no `=VALUE` and no {k} in this environment to take it from")
                })?;
                (k, v)
            }
        };
        if !crate::plan::is_env_name(&k) {
            bail!("{flag} {item:?}: `{k}` is not an environment variable name (expected KEY=VALUE)");
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// A repeatable list flag: `None` when not given, `Some([])` for a lone `''` (none at all).
fn list_flag(items: &[String]) -> Option<Vec<String>> {
    if items.is_empty() {
        return None;
    }
    Some(items.iter().filter(|s| !s.trim().is_empty()).cloned().collect())
}

/// When base images are pulled; shared by `build`, `compare` and `tui`.
#[derive(Debug, Clone, Default, Args)]
pub struct PullArgs {
    /// Pull base images before building: missing (default: only those the daemon lacks, like
    /// `docker build`), always (refresh each), never (offline; a missing image is an error).
    /// Uses the image mirror and the docker CLI's credentials ($DOCKER_CONFIG/config.json).
    #[arg(long, value_name = "WHEN", value_parser = pull_policy())]
    pub pull: Option<crate::plan::PullPolicy>,
}

/// The `--pull` values as a closed list, so `--help` and the completion scripts name them.
fn pull_policy() -> impl clap::builder::TypedValueParser<Value = crate::plan::PullPolicy> {
    use crate::plan::PullPolicy;
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(PullPolicy::ALL.map(PullPolicy::as_str))
        .map(|s| s.parse::<PullPolicy>().expect("only the listed values get here"))
}

impl PlanArgs {
    /// The flags as a `Config` overlay (flags win over pyslim.toml).
    pub fn overrides(&self) -> Result<Config> {
        let entrypoint = match &self.entrypoint {
            None => None,
            Some(s) => {
                Some(shlex::split(s).with_context(|| format!("cannot split --entrypoint {s:?}: unbalanced quotes"))?)
            }
        };
        Ok(Config {
            python: self.python,
            builder: self.builder.clone(),
            runtime: self.runtime.clone(),
            entrypoint,
            port: self.port,
            user: self.user.clone(),
            variant: self.variant,
            flavour: self.classic.then_some(Flavour::Classic),
            image_mirror: self.mirror.clone(),
            build_secrets: self.build_secrets.clone(),
            pull: self.pull,
            pre_start: list_flag(&self.pre_start),
            build_steps: list_flag(&self.build_steps),
            writable: list_flag(&self.writable),
            install: list_flag(&self.install),
            build_packages: list_flag(&self.build_packages),
            deps_as_of: self.deps_as_of.clone(),
            build_env: env_pairs("--build-env", &self.build_env)?,
            verify: crate::plan::VerifyConfig {
                env: env_pairs("--env", &self.env)?,
                network: self.network.clone(),
                services: self
                    .services
                    .iter()
                    .map(|f| crate::plan::ServiceSpec::from_flag(f).map_err(|e| anyhow::anyhow!("--service: {e}")))
                    .collect::<Result<_>>()?,
                compose: self.no_compose.then_some(false),
            },
            add_server: match self.add_server.as_deref() {
                Some("gunicorn") => Some(crate::scan::AppServer::Gunicorn),
                Some("uvicorn") => Some(crate::scan::AppServer::Uvicorn),
                Some(other) => bail!("--add-server {other}: pyslim can add gunicorn or uvicorn"),
                None => None,
            },
            ..Default::default()
        })
    }
}

/// A project folder to work on; keeps the demo copy alive while it is used.
pub struct Project {
    pub path: PathBuf,
    _demo: Option<DemoProject>,
}

impl ProjectArgs {
    pub fn open(&self) -> Result<Project> {
        if self.demo {
            let demo = DemoProject::extract().context("cannot write the demo project to a temporary folder")?;
            return Ok(Project { path: demo.path(), _demo: Some(demo) });
        }
        Ok(Project { path: self.path.clone().unwrap_or_else(|| PathBuf::from(".")), _demo: None })
    }
}

/// Scans, loads pyslim.toml and resolves the plan.
pub fn load_plan(project: &Project, args: &PlanArgs) -> Result<(ScanReport, BuildPlan)> {
    let report = scan::scan(&project.path)?;
    let config = Config::load(&report.root)?;
    let plan = BuildPlan::resolve(&report, config.as_ref(), &args.overrides()?)?;
    Ok((report, plan))
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan { project, json } => {
            let project = project.open()?;
            let report = scan::scan(&project.path)?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report.to_json())?;
                writeln!(out)?;
            } else {
                write!(out, "{}", scan_text::summary(&report))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dockerfile { project, plan, write, force, save_config } => {
            let project = project.open()?;
            let (report, build_plan) = load_plan(&project, &plan)?;
            let variant = build_plan.variant;
            let checks = build_plan.checks(variant, &report);
            for c in &checks {
                let tag = match c.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                eprintln!("{tag}: {}", c.message);
            }
            if checks.iter().any(|c| c.severity == Severity::Error) {
                bail!("the {variant} variant cannot work with these images (see above)");
            }
            let rendered = render::render(&build_plan, &report, variant, build_plan.flavour)?;
            if !write {
                print!("{}", rendered.dockerfile);
                return Ok(ExitCode::SUCCESS);
            }
            let mut files =
                vec![("Dockerfile", rendered.dockerfile.clone()), (".dockerignore", rendered.dockerignore.clone())];
            if save_config {
                files.push((crate::plan::CONFIG_FILE, build_plan.to_config().to_toml()));
            }
            // Refuse before writing anything, so a refusal leaves every file as it was.
            if !force {
                for (name, content) in &files {
                    let p = report.root.join(name);
                    if p.exists() && std::fs::read_to_string(&p).ok().as_deref() != Some(content.as_str()) {
                        bail!("{} already exists; pass --force to replace it (a backup is kept)", p.display());
                    }
                }
            }
            // Helper files: pyslim's own unedited copies are refreshed; an edited one is the user's.
            let mut helpers = Vec::new();
            for h in &rendered.helpers {
                let p = report.root.join(&h.path);
                let edited = match std::fs::read_to_string(&p) {
                    Ok(old) => old != h.content && !render::helpers::is_pristine(&old),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                    Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {}", p.display()))),
                };
                if edited && !force {
                    bail!(
                        "{} was edited since pyslim wrote it (its sha256 header no longer matches); \
                         pass --force to replace it with pyslim {}'s version (a backup is kept), or keep \
                         your edit and leave --write out",
                        p.display(),
                        env!("CARGO_PKG_VERSION")
                    );
                }
                helpers.push((p, h.content.as_str(), edited));
            }
            let mut outcomes = Vec::new();
            for (name, content) in &files {
                outcomes.push(fsutil::write_file(&report.root.join(name), content, force)?);
            }
            for (path, content, edited) in helpers {
                outcomes.push(if edited {
                    fsutil::write_file(&path, content, true)?
                } else {
                    fsutil::refresh_file(&path, content)?
                });
            }
            for outcome in outcomes {
                match outcome {
                    WriteOutcome::Created(p) => eprintln!("wrote {}", p.display()),
                    WriteOutcome::Unchanged(p) => eprintln!("unchanged {}", p.display()),
                    WriteOutcome::Refreshed(p) => eprintln!("refreshed {} (pyslim's own, unedited)", p.display()),
                    WriteOutcome::Replaced { path, backup } => {
                        eprintln!("replaced {} (previous kept as {})", path.display(), backup.display());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Build(args) => build::build(args),
        Command::Compare(args) => build::compare(args),
        Command::Tui { project, mut plan, pull } => {
            let project = project.open()?;
            plan.pull = pull.pull;
            crate::tui::run(&project.path, plan.overrides()?)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "pyslim", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
            // Each subcommand's synopsis and options follow, so `man pyslim` documents every flag.
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("pyslim {}", sub.get_name());
                writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
                let man = clap_mangen::Man::new(sub.clone().bin_name(name));
                man.render_synopsis_section(&mut out)?;
                man.render_description_section(&mut out)?;
                man.render_options_section(&mut out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
