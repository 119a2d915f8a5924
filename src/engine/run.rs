//! One variant from plan to proof, shared by `pyslim build`, `pyslim compare` and the TUI:
//! check and render (with the flavour the daemon's builder accepts), build, verify, and turn the
//! outcome into a [`VariantResult`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::services::{SidecarRequest, Sidecars};
use super::trace::{PathRun, trace_text};
use super::{BuildRequest, Builder, BuiltImage, CancellationToken, Engine, EngineError, EventSender};
use super::{ProbeImage, VerifyOutcome, VerifyRequest};
use crate::engine::events::BuildEvent;
use crate::layout::TRACE_FILE;
use crate::plan::{BuildPlan, Flavour, PullPolicy, Severity, Variant};
use crate::render::{self, Rendered};
use crate::report::{MinimalReport, PathCheck, PushedImage, ServiceResult, SkippedVariant, VariantResult};
use crate::scan::{Fact, ScanReport};

/// Why a variant is not built; shown as "skipped: <reason>".
pub type SkipReason = String;

/// The Dockerfile flavour to render for a builder: the classic builder rejects `RUN --mount`.
pub fn flavour_for(plan: &BuildPlan, builder: Builder) -> Flavour {
    match builder {
        Builder::Classic => Flavour::Classic,
        Builder::Buildkit => plan.flavour,
    }
}

/// Checks and renders `variant`; `Err` carries the plain-language reason it cannot be built.
pub fn prepare(
    plan: &BuildPlan,
    scan: &ScanReport,
    variant: Variant,
    builder: Builder,
) -> Result<Rendered, SkipReason> {
    let errors: Vec<String> =
        plan.checks(variant, scan).into_iter().filter(|c| c.severity == Severity::Error).map(|c| c.message).collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    render::render(plan, scan, variant, flavour_for(plan, builder)).map_err(|e| e.to_string())
}

/// The project's name for tags and labels: the folder name.
pub fn project_name(scan: &ScanReport) -> String {
    scan.root.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "app".into())
}

/// The build context folder (the uv workspace root for a workspace member).
pub fn context_root(scan: &ScanReport) -> PathBuf {
    match &scan.context_root {
        Some(rel) => scan.root.join(rel),
        None => scan.root.clone(),
    }
}

/// Everything needed to build and check one rendered variant.
#[derive(Clone, Debug)]
pub struct VariantJob {
    pub rendered: Rendered,
    pub context: PathBuf,
    pub tag: String,
    pub project: String,
    /// Port the service listens on in the container.
    pub port: u16,
    /// `Some(timeout)` to verify after building.
    pub verify: Option<Duration>,
    /// Extra labels on the image and the verify container.
    pub labels: HashMap<String, String>,
    /// Ignore the build cache.
    pub no_cache: bool,
    /// The plan's build secrets, with their host paths resolved.
    pub secrets: Vec<super::context::SecretSource>,
    /// The builder image, to probe from when the daemon is remote.
    pub probe: Option<ProbeImage>,
    /// The plan's Python (`3.13`), named in failure diagnoses.
    pub python: String,
    /// Compiled pins (lock or index) and the Pythons they have wheels for (diagnoses name them).
    pub wheel_pythons: std::collections::BTreeMap<String, crate::scan::WheelPythons>,
    /// The project's exact pins, name -> version (diagnoses say when an error comes from an
    /// unpinned distribution).
    pub pins: std::collections::BTreeMap<String, String>,
    /// The variable that selects the service's database, with where it is read (diagnoses name it).
    pub database_env: Option<String>,
    /// Variables read at start without a default that the verify run does not set, with the
    /// file and line reading each (the scan's `required_env` less the plan's verify env).
    pub unset_env: Vec<(String, String, usize)>,
    /// When the base images are pulled (the plan's `pull`).
    pub pull: PullPolicy,
    /// Push `tag` to its registry once verify passed (needs `verify`).
    pub push: bool,
    /// `KEY=VALUE` settings for the verify container only (the plan's verify env).
    pub verify_env: Vec<String>,
    /// The Docker network of the verify (and tracing) container (the plan's verify network).
    pub verify_network: Option<String>,
    /// The `minimal` variant's tracing run and trace file.
    pub minimal: Option<MinimalJob>,
    /// Services started beside the app for verify and trace (the plan's services).
    pub services: Vec<crate::plan::ServiceSpec>,
    /// The image mirror, applied to service images.
    pub mirror: Option<String>,
    /// The project root (compose build contexts of services are relative to it).
    pub root: PathBuf,
}

/// How a `minimal` build gets its trace.
#[derive(Clone, Debug)]
pub struct MinimalJob {
    /// Trace the service and write the trace file before building: asked for (`--trace`), or
    /// there is no trace file yet.
    pub trace: bool,
    /// The same variant without a trace (whole stdlib and venv): the image the trace runs.
    pub full: Rendered,
    /// The same variant assembled from the trace file (after it is written).
    pub from_trace: Rendered,
    /// The trace file in the project.
    pub trace_file: PathBuf,
    /// `/` and the `trace_paths`.
    pub paths: Vec<String>,
    /// The service's command, for the trace file's header.
    pub entrypoint: Vec<String>,
}

impl MinimalJob {
    /// Renders both forms; `None` when the variant is not `minimal` or does not render.
    pub fn new(plan: &BuildPlan, scan: &ScanReport, rendered: &Rendered) -> Option<MinimalJob> {
        if rendered.variant != Variant::Minimal {
            return None;
        }
        let with = |trace: Option<Fact<String>>| {
            let s = ScanReport { minimal_trace: trace, ..scan.clone() };
            render::render(plan, &s, Variant::Minimal, rendered.flavour).ok()
        };
        let written = Fact::new(TRACE_FILE.to_string(), "written by this run");
        Some(MinimalJob {
            trace: scan.minimal_trace.is_none(),
            full: with(None)?,
            from_trace: with(Some(scan.minimal_trace.clone().unwrap_or(written)))?,
            trace_file: scan.root.join(TRACE_FILE),
            paths: plan.minimal.paths(),
            entrypoint: plan.entrypoint.clone(),
        })
    }
}

impl VariantJob {
    pub fn new(plan: &BuildPlan, scan: &ScanReport, rendered: Rendered, tag: Option<String>) -> VariantJob {
        let project = project_name(scan);
        let rendered_variant = rendered.variant;
        let minimal = MinimalJob::new(plan, scan, &rendered);
        VariantJob {
            minimal,
            tag: tag.unwrap_or_else(|| super::default_tag(&project, rendered.variant)),
            python: plan.python.to_string(),
            wheel_pythons: crate::scan::wheel_pythons(&scan.pins),
            pins: scan
                .pins
                .iter()
                .filter(|p| !p.version.is_empty())
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
            database_env: scan.database_env.as_ref().map(|f| format!("{} ({})", f.value, f.source)),
            unset_env: scan
                .required_env
                .iter()
                .filter(|f| {
                    let k = f.value.trim();
                    !plan.verify_env.contains_key(k) && !plan.service_app_env().contains_key(k)
                })
                .filter_map(|f| {
                    // `backend/constants.py:16 (...)`
                    let at = f.source.split_whitespace().next()?;
                    let (file, line) = at.rsplit_once(':')?;
                    Some((f.value.clone(), file.to_string(), line.parse().ok()?))
                })
                .collect(),
            rendered,
            context: context_root(scan),
            project,
            port: plan.port,
            verify: None,
            labels: HashMap::new(),
            no_cache: false,
            secrets: plan
                .build_secrets
                .iter()
                .map(|s| super::context::SecretSource { id: s.id.clone(), path: s.source_path(&plan.project) })
                .collect(),
            probe: plan
                .images(rendered_variant)
                .ok()
                .map(|i| ProbeImage { image: plan.image_ref(&i.builder), python: i.builder.interpreter.clone() }),
            pull: plan.pull,
            push: false,
            // The services' addresses the app does not set itself come after its own settings.
            verify_env: plan
                .verify_env
                .iter()
                .chain(plan.service_app_env().iter())
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            verify_network: plan.verify_network.clone(),
            services: plan.services.clone(),
            mirror: plan.image_mirror.clone(),
            root: scan.root.clone(),
        }
    }
}

/// A built (and maybe verified) variant.
#[derive(Clone, Debug)]
pub struct VariantOutcome {
    pub built: BuiltImage,
    pub verify: Option<VerifyOutcome>,
    pub dockerfile: String,
    /// What a `minimal` build kept and dropped.
    pub minimal: Option<MinimalReport>,
    /// Where the image was pushed, when it was.
    pub pushed: Option<PushedImage>,
    /// The services started beside the app while it was verified, and those left out.
    pub services: Vec<ServiceResult>,
    /// Seconds the services added to verify (start, readiness, removal).
    pub services_seconds: Option<f64>,
}

impl VariantOutcome {
    pub fn to_result(&self) -> VariantResult {
        let diagnosis = self.verify.as_ref().and_then(|v| v.diagnosis.clone());
        VariantResult {
            http_status: self.verify.as_ref().and_then(|v| v.http_status),
            log_tail: self.verify.as_ref().filter(|v| !v.ok).map(|v| v.log_tail.clone()).unwrap_or_default(),
            error_kind: diagnosis.as_ref().map(|d| d.kind.clone()),
            error: diagnosis.as_ref().map(|d| d.cause.clone()),
            hint: diagnosis.map(|d| d.hint),
            name: self.built.variant,
            image: self.built.tag.clone(),
            size_bytes: self.built.size_bytes,
            layers: self.built.layers.clone(),
            build_seconds: self.built.seconds,
            verified: self.verify.as_ref().map(|v| v.ok),
            verify_detail: self.verify.as_ref().map(|v| v.detail.clone()),
            dockerfile: self.dockerfile.clone(),
            minimal: self.minimal.clone(),
            pushed: self.pushed.clone(),
            services: self.services.clone(),
            services_seconds: self.services_seconds,
        }
    }
}

/// A variant that failed to build (or whose build could not run), with its one-line cause and
/// remedy, for the comparison's `skipped` list.
pub fn skipped(variant: Variant, error: &EngineError) -> SkippedVariant {
    let d = error.explain();
    let log_tail = match error {
        EngineError::BuildFailed { log_tail, .. } => log_tail.clone(),
        _ => Vec::new(),
    };
    SkippedVariant {
        name: variant,
        reason: error.to_string(),
        error_kind: Some(d.kind),
        error: Some(d.cause),
        hint: Some(d.hint),
        log_tail,
    }
}

/// The Debian package to build again with, and the file it has, when `error` is a build that
/// stopped at a missing header or tool pyslim knows the package of (`sql.h` -> `unixodbc-dev`,
/// `assets/build_deps.toml`) and `plan` does not install it yet.
pub fn package_to_add(error: &EngineError, plan: &BuildPlan) -> Option<(String, String)> {
    let EngineError::BuildFailed { log, log_tail, message, .. } = error else { return None };
    let mut lines = if log.is_empty() { log_tail.clone() } else { log.clone() };
    lines.push(message.clone());
    let facts = super::diagnose::Facts { python: Some(plan.python.to_string()), ..Default::default() };
    let (debian, file) = super::diagnose::missing_package(&lines, &facts)?;
    (!plan.build_packages.contains(&debian)).then_some((debian, file))
}

/// How many times a variant is built again for a missing header (each time with one more package).
const HEADER_RETRIES: usize = 3;

impl Engine {
    /// [`Engine::run_variant`], and when the build stops at a missing header or tool whose Debian
    /// package pyslim knows ([`package_to_add`]), the package joins `plan.build_packages` (later
    /// variants get it too, as `--build-package` would give it), the variant is rendered again,
    /// `make_job` makes its job and it is built once more. A log line says so; the result's
    /// Dockerfile has the package.
    pub async fn run_variant_adding_packages(
        &self,
        plan: &mut BuildPlan,
        scan: &ScanReport,
        first: VariantJob,
        make_job: impl Fn(&BuildPlan, Rendered) -> VariantJob,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<VariantOutcome, EngineError> {
        let variant = first.rendered.variant;
        let mut job = first;
        let mut added = 0;
        loop {
            let error = match self.run_variant(&job, events, cancel).await {
                Ok(o) => return Ok(o),
                Err(e) => e,
            };
            let Some((debian, file)) = package_to_add(&error, plan).filter(|_| added < HEADER_RETRIES) else {
                return Err(error);
            };
            let mut next = plan.clone();
            next.build_packages.push(debian.clone());
            let Ok(rendered) = prepare(&next, scan, variant, self.builder) else { return Err(error) };
            let _ = events.send(BuildEvent::Log {
                variant,
                line: format!(
                    "pyslim: the build stopped at a missing {file}, which Debian's {debian} has: building again with \
                     --build-package {debian} (pass it, or build_packages in pyslim.toml, to have it in the Dockerfile \
                     `pyslim dockerfile` prints)"
                ),
            });
            *plan = next;
            job = make_job(plan, rendered);
            added += 1;
        }
    }

    /// Builds `job` and, when asked, verifies it and pushes it (only when verify passed: an image
    /// that did not start is never pushed).
    pub async fn run_variant(
        &self,
        job: &VariantJob,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<VariantOutcome, EngineError> {
        let variant = job.rendered.variant;
        // Base images first, outside the tag lock: a pull does not touch the tag, so a registry
        // failure is reported at once instead of after another run's build. (A minimal build's
        // tracing image has the same bases as the minimal Dockerfile.)
        let mut images = super::build::base_images(&job.rendered.dockerfile);
        // A daemon-side verify runs a probe container of the builder image, which a single-stage
        // Dockerfile does not name: it has to be there too.
        if let Some(p) = job.probe.as_ref().filter(|_| job.verify.is_some())
            && self.probe_from_daemon() == super::verify::ProbeFrom::Daemon
            && !images.contains(&p.image)
        {
            images.push(p.image.clone());
        }
        if let Err(e) = self.ensure_images(&images, job.pull, variant, events, cancel).await {
            let message = if matches!(e, EngineError::Cancelled) { "cancelled".to_string() } else { e.to_string() };
            let _ = events.send(BuildEvent::Failed { variant, step: None, message, log_tail: Vec::new() });
            return Err(e);
        }
        // `always` has just pulled; the builds only check what is there now.
        let pull = if job.pull == PullPolicy::Always { PullPolicy::Missing } else { job.pull };
        // Two pyslim runs on the same tag take turns: otherwise one run's rebuild could move the
        // tag (and remove the image it replaced) while the other is still verifying it.
        let _turn = TagLock::acquire(&job.tag, variant, events, cancel).await?;
        let mut rendered = &job.rendered;
        let mut traced = Vec::new();
        let mut trace_written = false;
        if let Some(m) = job.minimal.as_ref().filter(|m| m.trace) {
            traced = self.trace_minimal(job, m, pull, events, cancel).await?;
            rendered = &m.from_trace;
            trace_written = true;
        }
        let req = BuildRequest {
            variant,
            context: job.context.clone(),
            dockerfile: rendered.dockerfile.clone(),
            dockerignore: rendered.dockerignore.clone(),
            helpers: rendered.helpers.clone(),
            tag: job.tag.clone(),
            project: job.project.clone(),
            labels: job.labels.clone(),
            no_cache: job.no_cache,
            secrets: job.secrets.clone(),
            pull,
        };
        let facts = super::diagnose::Facts {
            python: Some(job.python.clone()),
            port: job.port,
            wheel_pythons: job.wheel_pythons.clone(),
            pins: job.pins.clone(),
            database_env: job.database_env.clone(),
            unset_env: job.unset_env.clone(),
        };
        let built = self.build(&req, events, cancel).await.map_err(|e| e.diagnosed(&facts))?;
        // The services live through verify and the minimal image's path checks, and are removed
        // whatever happens in between.
        let clock = std::time::Instant::now();
        let sidecars = match job.verify {
            Some(_) => self.start_sidecars(&job.sidecar_request(), events, cancel).await?,
            None => None,
        };
        let mut services_seconds = sidecars.as_ref().map(|_| clock.elapsed().as_secs_f64());
        let checked = self.verify_built(job, &built, sidecars.as_ref(), &traced, trace_written, events, cancel).await;
        let services = sidecars.as_ref().map(|s| s.services.clone()).unwrap_or_default();
        if let Some(s) = sidecars {
            let clock = std::time::Instant::now();
            s.teardown().await;
            let removed = clock.elapsed().as_secs_f64();
            if let Some(started) = services_seconds.as_mut() {
                *started += removed;
                let line = format!("services: {:.1}s in all (removing them {removed:.1}s)", *started);
                let _ = events.send(BuildEvent::Log { variant, line });
            }
        }
        let (verify, minimal) = checked?;
        let pushed = match &verify {
            Some(v) if job.push && v.ok => {
                let digest = self.push(&built.tag, variant, events, cancel).await?;
                Some(PushedImage { reference: built.tag.clone(), digest })
            }
            _ => None,
        };
        Ok(VariantOutcome {
            built,
            verify,
            dockerfile: rendered.dockerfile.clone(),
            minimal,
            pushed,
            services,
            services_seconds,
        })
    }

    /// Verifies the built image (on the sidecars' network when there are services) and, for
    /// `minimal`, reads its manifest and requests the trace paths again.
    #[allow(clippy::too_many_arguments)]
    async fn verify_built(
        &self,
        job: &VariantJob,
        built: &BuiltImage,
        sidecars: Option<&Sidecars>,
        traced: &[(String, Option<u16>)],
        trace_written: bool,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<(Option<VerifyOutcome>, Option<MinimalReport>), EngineError> {
        let variant = job.rendered.variant;
        let network = sidecars.map(|s| s.network.clone()).or_else(|| job.verify_network.clone());
        let mut verify = match job.verify {
            None => None,
            Some(_) if sidecars.is_some_and(|s| s.failure.is_some()) => {
                let outcome = sidecar_failed(sidecars);
                let _ = events.send(BuildEvent::Verified {
                    variant,
                    ok: false,
                    detail: outcome.detail.clone(),
                    log_tail: outcome.log_tail.clone(),
                });
                Some(outcome)
            }
            Some(timeout) => {
                let mut v = VerifyRequest::new(variant, built.tag.clone(), job.port);
                v.timeout = timeout;
                v.labels = job.labels.clone();
                v.probe = job.probe.clone();
                v.python = Some(job.python.clone());
                v.env = job.verify_env.clone();
                v.pins = job.pins.clone();
                v.database_env = job.database_env.clone();
                v.unset_env = job.unset_env.clone();
                v.network = network.clone();
                let mut outcome = self.verify(&v, events, cancel).await?;
                if let Some(d) = outcome.diagnosis.as_mut()
                    && let Some(s) = sidecars
                    && !s.left_out().is_empty()
                {
                    d.hint = format!("{}; started without {}", d.hint, s.left_out().join(", "));
                }
                Some(outcome)
            }
        };
        let mut minimal = None;
        if let Some(m) = &job.minimal {
            let mut report = self.minimal_report(&built.tag).await?;
            report.trace_file = report.traced.then(|| TRACE_FILE.to_string());
            report.trace_written = trace_written;
            let check = verify.as_ref().is_some_and(|v| v.ok) && m.paths.len() > 1;
            if let (true, Some(v)) = (check, verify.as_mut()) {
                let mut run = path_run(job, m, &built.tag);
                run.network = network.clone();
                let seen = self.request_paths(&run, events, cancel).await?;
                report.paths = seen
                    .answers
                    .iter()
                    .map(|(path, code)| PathCheck {
                        path: path.clone(),
                        traced: traced.iter().find(|(p, _)| p == path).and_then(|(_, c)| *c),
                        minimal: *code,
                    })
                    .collect();
                if let Some(bad) = report.paths.iter().find(|p| regressed(p, trace_written)) {
                    v.ok = false;
                    v.detail = format!(
                        "GET {} answered {} on minimal{}",
                        bad.path,
                        bad.minimal.map(|c| format!("HTTP {c}")).unwrap_or_else(|| "nothing".into()),
                        bad.traced.map(|c| format!(" (HTTP {c} on the full image while tracing)")).unwrap_or_default()
                    );
                }
            }
            minimal = Some(report);
        }
        Ok((verify, minimal))
    }

    /// Builds the full image (whole stdlib and venv), runs it under the trace hook on `/` and the
    /// trace paths, writes the project's trace file and removes the full image. Returns the
    /// status of each path while tracing.
    async fn trace_minimal(
        &self,
        job: &VariantJob,
        m: &MinimalJob,
        pull: PullPolicy,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<Vec<(String, Option<u16>)>, EngineError> {
        let variant = Variant::Minimal;
        let tag = format!("{}-trace", job.tag);
        let req = BuildRequest {
            variant,
            context: job.context.clone(),
            dockerfile: m.full.dockerfile.clone(),
            dockerignore: m.full.dockerignore.clone(),
            helpers: m.full.helpers.clone(),
            tag: tag.clone(),
            project: job.project.clone(),
            labels: job.labels.clone(),
            no_cache: job.no_cache,
            secrets: job.secrets.clone(),
            pull,
        };
        let _ = events.send(BuildEvent::Log {
            variant,
            line: format!("tracing: building the full image {tag} (whole stdlib and venv) to run under the trace hook"),
        });
        let built = self.build(&req, events, cancel).await?;
        let mut run = path_run(job, m, &built.tag);
        let outcome = match self.start_sidecars(&job.sidecar_request(), events, cancel).await {
            Err(e) => Err(e),
            Ok(sidecars) => {
                let outcome = match sidecars.as_ref().and_then(|s| s.failure.as_ref()) {
                    Some(f) => Err(EngineError::Trace(format!(
                        "service {} ({}) {}, so the service cannot be traced; its last lines:\n{}",
                        f.service,
                        f.image,
                        f.detail,
                        f.log_tail.join("\n")
                    ))),
                    None => {
                        if let Some(s) = &sidecars {
                            run.network = Some(s.network.clone());
                        }
                        self.trace(&run, events, cancel).await
                    }
                };
                if let Some(s) = sidecars {
                    s.teardown().await;
                }
                outcome
            }
        };
        let _ = self.remove_image(&tag).await;
        let outcome = outcome?;
        if !outcome.started {
            return Err(EngineError::Trace(format!(
                "the full image did not answer GET {} within {}s, so there is nothing to trace{}",
                m.paths[0],
                run.timeout.as_secs(),
                if outcome.log_tail.is_empty() {
                    String::new()
                } else {
                    format!("; its last lines:\n{}", outcome.log_tail.join("\n"))
                }
            )));
        }
        let text = trace_text(&outcome.raw, &m.entrypoint, &m.paths);
        let write = |p: &std::path::Path| -> std::io::Result<()> {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = p.with_extension("txt.tmp");
            std::fs::write(&tmp, &text)?;
            std::fs::rename(&tmp, p)
        };
        write(&m.trace_file)
            .map_err(|e| EngineError::Trace(format!("cannot write {}: {e}", m.trace_file.display())))?;
        let count = |k: &str| text.lines().filter(|l| l.starts_with(k)).count();
        let _ = events.send(BuildEvent::Log {
            variant,
            line: format!(
                "wrote {} ({} modules, {} files, {} libraries): commit it, the minimal Dockerfile builds from it",
                m.trace_file.display(),
                count("module "),
                count("file "),
                count("lib ")
            ),
        });
        Ok(outcome.answers)
    }

    /// The manifest the minimal builder wrote into the image.
    async fn minimal_report(&self, image: &str) -> Result<MinimalReport, EngineError> {
        let text = self.read_image_file(image, render::minimal::MANIFEST).await?.ok_or_else(|| {
            EngineError::Trace(format!(
                "{image} has no {}: was it built from a minimal Dockerfile?",
                render::minimal::MANIFEST
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            EngineError::Trace(format!("{image}: {} is not a pyslim manifest: {e}", render::minimal::MANIFEST))
        })
    }
}

/// The verify outcome of a run whose service exited or never became ready: the app was not
/// started, and the cause names the service with its last log lines.
fn sidecar_failed(sidecars: Option<&Sidecars>) -> VerifyOutcome {
    let f = sidecars.and_then(|s| s.failure.clone()).unwrap_or_else(|| super::services::SidecarFailure {
        service: String::new(),
        image: String::new(),
        detail: "failed".into(),
        log_tail: Vec::new(),
    });
    // the line that says what went wrong (servers write `FATAL:`, `[ERROR]`), else the last one
    let last = super::diagnose::error_line(&f.log_tail)
        .or_else(|| f.log_tail.iter().rev().find(|l| l.contains("FATAL") || l.contains("[ERROR]")).cloned())
        .or_else(|| f.log_tail.last().cloned())
        .unwrap_or_default();
    let cause = format!(
        "the service {} ({}) {}{}",
        f.service,
        f.image,
        f.detail,
        if last.is_empty() { String::new() } else { format!(": {}", super::events::shorten(last.trim(), 160)) }
    );
    VerifyOutcome {
        ok: false,
        detail: format!("the app was not started: {cause}"),
        log_tail: f.log_tail.iter().map(|l| format!("{}: {l}", f.service)).collect(),
        seconds: 0.0,
        http_status: None,
        failure: Some(super::diagnose::StartFailure::Other),
        diagnosis: Some(super::diagnose::Diagnosis {
            kind: "service-failed".into(),
            cause,
            hint: format!(
                "its log above says why; check the environment it gets (compose `environment`, \
                 [[verify.services]] env in pyslim.toml) or replace it: --service {}=IMAGE",
                f.service
            ),
        }),
    }
}

impl VariantJob {
    /// The sidecars of this job's verify and trace runs.
    pub fn sidecar_request(&self) -> SidecarRequest {
        SidecarRequest {
            variant: self.rendered.variant,
            services: self.services.clone(),
            mirror: self.mirror.clone(),
            // like base images: `always` refreshes a service image before each run that starts it
            pull: self.pull,
            labels: self.labels.clone(),
            root: self.root.clone(),
            project: self.project.clone(),
            timeout: self.verify.unwrap_or(super::verify::DEFAULT_TIMEOUT),
        }
    }
}

/// The requests a `minimal` job makes of `image` (tracing it, or checking the minimal image):
/// `/` and the trace paths, with the verify run's port, timeout, labels and environment.
fn path_run(job: &VariantJob, m: &MinimalJob, image: &str) -> PathRun {
    PathRun {
        image: image.to_string(),
        port: job.port,
        paths: m.paths.clone(),
        timeout: job.verify.unwrap_or(super::verify::DEFAULT_TIMEOUT),
        labels: job.labels.clone(),
        env: job.verify_env.clone(),
        network: job.verify_network.clone(),
    }
}

/// A path that answered below 500 while tracing in this run (without a trace run: any path) and
/// does not on minimal.
fn regressed(p: &PathCheck, traced_now: bool) -> bool {
    let expected = if traced_now { p.traced.is_some_and(|c| c < 500) } else { true };
    expected && p.minimal.is_none_or(|c| c >= 500)
}

/// An advisory lock (an OS file lock, released when the process ends however it ends) held while
/// one run builds and verifies a tag.
struct TagLock {
    _file: std::fs::File,
}

impl TagLock {
    async fn acquire(
        tag: &str,
        variant: Variant,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<TagLock, EngineError> {
        use sha2::Digest;
        let dir = std::env::temp_dir().join("pyslim-locks");
        let name = format!("{:x}.lock", sha2::Sha256::digest(tag.as_bytes()));
        let io = |e: std::io::Error| EngineError::Lock { tag: tag.to_string(), source: e };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(name)).map_err(io)?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(TagLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !told {
                        told = true;
                        let line = format!("another pyslim run is building {tag}; waiting for it to finish");
                        let _ = events.send(BuildEvent::Log { variant, line });
                    }
                    tokio::select! {
                        () = cancel.cancelled() => return Err(EngineError::Cancelled),
                        () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                    }
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}
