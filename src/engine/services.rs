//! Sidecars: the services an app needs beside it (a database, a cache) while it is verified and
//! traced. For one run they get a private network (unique name, pyslim's labels); each service
//! image is made available through the image mirror and the pull policy like a base image (or
//! built from its compose `build:` context, the mirror applied to its `FROM`), started with its
//! environment, command and network aliases, and waited for: its healthcheck when it has one
//! (run by Docker), and its protocol's own answer (`assets/sidecars.toml`: a Postgres startup
//! message answered, a MySQL handshake, Redis `PING`, a TCP connect for unknown images), never a
//! sleep. The app then joins the network.
//!
//! Owns: starting and tearing down the sidecars of one run (containers, the network, images
//! built for it; the images' volumes are in-memory mounts, so none is created), and the
//! readiness probes. A service whose image cannot be had is left out and reported (the others still
//! start); one that exits or never becomes ready is a failure with its last log lines.
//! [`Sidecars::teardown`] runs on every path: the caller calls it after the run, and a set
//! dropped without it is removed in the background.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, Mount, MountTmpfsOptions,
    MountType, NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::events::BuildEvent;
use super::verify::{ProbeFrom, free_port};
use super::{CancellationToken, Engine, EngineError, EventSender, LABEL_PID};
use crate::plan::{PullPolicy, ServiceSpec, Variant};
use crate::report::ServiceResult;
use crate::sidecars::{self, Probe};

/// Label on every container and network of a sidecar set: the service's name (the
/// network carries the run's id).
pub const LABEL_SIDECAR: &str = "org.pyslim.sidecar";

/// How many of a failed service's log lines are kept.
const LOG_LINES: usize = 25;

/// What to start for one run.
#[derive(Clone, Debug)]
pub struct SidecarRequest {
    pub variant: Variant,
    pub services: Vec<ServiceSpec>,
    /// The image mirror (`PYSLIM_IMAGE_MIRROR`, `--mirror`), applied to service images and to
    /// the `FROM` of built ones.
    pub mirror: Option<String>,
    pub pull: PullPolicy,
    /// Extra labels (tests add `org.pyslim.test=...`).
    pub labels: HashMap<String, String>,
    /// The project root: compose build contexts are relative to it.
    pub root: PathBuf,
    /// The project's name, for the tags of built service images.
    pub project: String,
    /// Time each service gets to become ready (the verify timeout).
    pub timeout: Duration,
}

/// A service that exited or never became ready.
#[derive(Clone, Debug, PartialEq)]
pub struct SidecarFailure {
    pub service: String,
    pub image: String,
    /// `exited with code 1 before it was ready`, `not ready within 120s`.
    pub detail: String,
    pub log_tail: Vec<String>,
}

/// Services running on a private network for one run.
#[derive(Debug)]
pub struct Sidecars {
    docker: bollard::Docker,
    /// The network's name: the app's container joins it.
    pub network: String,
    network_id: Option<String>,
    containers: Vec<String>,
    /// Images built for this run (compose `build:`), removed afterwards.
    images: Vec<String>,
    /// What became of each service.
    pub services: Vec<ServiceResult>,
    /// The first service that exited or never became ready.
    pub failure: Option<SidecarFailure>,
    torn_down: bool,
}

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and run (`pyslim-svc-1234-0`).
fn run_id() -> String {
    format!("pyslim-svc-{}-{}", std::process::id(), RUN_COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl Sidecars {
    /// Removes every container, the network and the built images of the set; errors are ignored
    /// (a thing may already be gone). Never cancelled: it is what cancelling leads to.
    pub async fn teardown(mut self) {
        self.torn_down = true;
        remove_all(
            &self.docker,
            std::mem::take(&mut self.containers),
            self.network_id.take(),
            std::mem::take(&mut self.images),
        )
        .await;
    }

    /// The services that were left out, as one clause (`mongo (mongo:latest): no local copy`).
    pub fn left_out(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|s| s.left_out.as_ref().map(|why| format!("{} ({}): {why}", s.name, s.image)))
            .collect()
    }
}

impl Drop for Sidecars {
    /// A set dropped without [`Sidecars::teardown`] (a panic, a future dropped mid-run) is removed
    /// in the background while the runtime lives.
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        let (docker, containers, network, images) = (
            self.docker.clone(),
            std::mem::take(&mut self.containers),
            self.network_id.take(),
            std::mem::take(&mut self.images),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { remove_all(&docker, containers, network, images).await });
        }
    }
}

async fn remove_all(docker: &bollard::Docker, containers: Vec<String>, network: Option<String>, images: Vec<String>) {
    let opts = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
    for id in containers.iter().rev() {
        let _ = docker.remove_container(id, Some(opts.clone())).await;
    }
    if let Some(n) = network {
        let _ = docker.remove_network(&n).await;
    }
    let img_opts = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
    for i in &images {
        let _ = docker.remove_image(i, Some(img_opts.clone()), None).await;
    }
}

/// A compose healthcheck test in the form Docker takes: `["CMD", ...]`, `["CMD-SHELL", "..."]`
/// or `["NONE"]` as written; a lone string is a shell command (compose's string form), other
/// lists an exec form.
pub fn health_test(test: &[String]) -> Option<Vec<String>> {
    match test.first().map(String::as_str) {
        None => None,
        Some("NONE") => None,
        Some("CMD" | "CMD-SHELL") => Some(test.to_vec()),
        Some(_) if test.len() == 1 => Some(vec!["CMD-SHELL".into(), test[0].clone()]),
        Some(_) => Some(std::iter::once("CMD".to_string()).chain(test.iter().cloned()).collect()),
    }
}

/// One service being started: its container and how it is watched.
struct Started {
    index: usize,
    id: String,
    /// The port on 127.0.0.1 its probe connects to (host-side probes).
    host_port: Option<u16>,
    /// Readiness by Docker's healthcheck (else `probe`).
    health: bool,
    probe: Probe,
    at: Instant,
}

impl Engine {
    /// Starts the services of `req` on a new private network and waits until each is ready.
    /// `Ok(None)` when there are none. A service that cannot be had is left out; one that exits
    /// or never becomes ready stops the waiting and is [`Sidecars::failure`]. On cancel (or an
    /// API error) everything started is removed before returning the error.
    pub async fn start_sidecars(
        &self,
        req: &SidecarRequest,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<Option<Sidecars>, EngineError> {
        if req.services.is_empty() {
            return Ok(None);
        }
        let id = run_id();
        let mut set = Sidecars {
            docker: self.docker.clone(),
            network: id.clone(),
            network_id: None,
            containers: Vec::new(),
            images: Vec::new(),
            services: Vec::new(),
            failure: None,
            torn_down: false,
        };
        match self.fill_sidecars(&mut set, req, &id, events, cancel).await {
            Ok(()) => Ok(Some(set)),
            Err(e) => {
                set.teardown().await;
                Err(e)
            }
        }
    }

    async fn fill_sidecars(
        &self,
        set: &mut Sidecars,
        req: &SidecarRequest,
        id: &str,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let variant = req.variant;
        let log = |line: String| {
            let _ = events.send(BuildEvent::Log { variant, line });
        };
        let mut labels = super::own_labels(&req.labels);
        labels.insert(LABEL_SIDECAR.into(), id.to_string());
        let net = NetworkCreateRequest {
            name: id.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        let created =
            self.docker.create_network(net).await.map_err(EngineError::api(format!("creating network {id}")))?;
        set.network_id = Some(created.id);
        let from_host = self.probe_from_daemon() == ProbeFrom::Host;
        let mut started = Vec::new();
        for (index, spec) in req.services.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            let image = match self.sidecar_image(set, req, spec, events, cancel).await? {
                Ok(image) => image,
                Err(why) => {
                    let _ = events.send(BuildEvent::ServiceLeftOut {
                        variant,
                        service: spec.name.clone(),
                        image: spec.image.clone(),
                        reason: why.clone(),
                    });
                    set.services.push(ServiceResult {
                        name: spec.name.clone(),
                        image: spec.image.clone(),
                        ready_seconds: None,
                        ready_by: None,
                        left_out: Some(why),
                    });
                    continue;
                }
            };
            set.services.push(ServiceResult {
                name: spec.name.clone(),
                image: spec.image.clone(),
                ready_seconds: None,
                ready_by: None,
                left_out: None,
            });
            let s = self.start_one(set, req, spec, &image, id, &labels, from_host, index).await?;
            let _ = events.send(BuildEvent::ServiceStarting {
                variant,
                service: spec.name.clone(),
                image: spec.image.clone(),
            });
            started.push(s);
        }
        for s in started {
            let spec = &req.services[s.index];
            match self.wait_ready(&s, spec, req.timeout, cancel).await? {
                Ok(by) => {
                    let seconds = s.at.elapsed().as_secs_f64();
                    let _ = events.send(BuildEvent::ServiceReady {
                        variant,
                        service: spec.name.clone(),
                        seconds,
                        by: by.clone(),
                    });
                    if let Some(r) = set.services.iter_mut().find(|r| r.name == spec.name) {
                        r.ready_seconds = Some(seconds);
                        r.ready_by = Some(by);
                    }
                }
                Err(detail) => {
                    let log_tail = self.last_lines(&s.id).await;
                    log(format!("service {} ({}) {detail}", spec.name, spec.image));
                    set.failure = Some(SidecarFailure {
                        service: spec.name.clone(),
                        image: spec.image.clone(),
                        detail,
                        log_tail,
                    });
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The local image to run for `spec`: built from its context, or the mirrored reference made
    /// present by the pull policy. `Ok(Err(why))` when it cannot be had (left out).
    async fn sidecar_image(
        &self,
        set: &mut Sidecars,
        req: &SidecarRequest,
        spec: &ServiceSpec,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<Result<String, String>, EngineError> {
        if let Some(b) = &spec.build {
            return self.build_sidecar(set, req, spec, b, events, cancel).await;
        }
        let image = crate::catalogue::mirror(&spec.image, req.mirror.as_deref());
        match self.ensure_images(std::slice::from_ref(&image), req.pull, req.variant, events, cancel).await {
            Ok(()) => Ok(Ok(image)),
            Err(EngineError::Cancelled) => Err(EngineError::Cancelled),
            Err(e @ (EngineError::MissingBaseImage { .. } | EngineError::PullFailed { .. })) => {
                let why = match e {
                    EngineError::PullFailed { registry, answer, .. } => {
                        format!("{image} has no local copy and {registry} answered: {answer}")
                    }
                    _ => format!("{image} has no local copy and the pull policy is `never`"),
                };
                Ok(Err(format!("{why}; {}", self.replacement_hint(spec, &image).await)))
            }
            Err(e) => Err(e),
        }
    }

    /// The flag that replaces a service whose image cannot be had, naming a local image of the
    /// same repository when there is one (`--service db=postgres:17`).
    async fn replacement_hint(&self, spec: &ServiceSpec, image: &str) -> String {
        let (repo, _) = super::registry::split_tag(image);
        let mut filters = HashMap::new();
        filters.insert("reference".to_string(), vec![format!("{repo}:*")]);
        let opts = bollard::query_parameters::ListImagesOptionsBuilder::default().filters(&filters).build();
        let (public_repo, _) = super::registry::split_tag(&spec.image);
        let mut tags: Vec<String> = match self.docker.list_images(Some(opts)).await {
            Ok(list) => list
                .into_iter()
                .flat_map(|i| i.repo_tags)
                .filter_map(|t| t.rsplit_once(':').map(|(_, tag)| tag.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        tags.sort_by_key(|t| std::cmp::Reverse(natural_key(t)));
        // the newest major tag (`17`), else the newest version tag (`17.2`)
        let version =
            |t: &&String, dots: bool| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || (dots && c == '.'));
        let pick = tags.iter().find(|t| version(t, false)).or_else(|| tags.iter().find(|t| version(t, true)));
        let example = match pick {
            Some(tag) => format!("--service {}={public_repo}:{tag} (a local copy)", spec.name),
            None => format!("--service {}=IMAGE", spec.name),
        };
        format!(
            "pull or load it (`docker pull {image}`), point --mirror at a registry that has it, or replace it: {example}"
        )
    }

    /// Builds a compose service's image from its context (the mirror applied to its `FROM`).
    async fn build_sidecar(
        &self,
        set: &mut Sidecars,
        req: &SidecarRequest,
        spec: &ServiceSpec,
        b: &crate::plan::ServiceBuild,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<Result<String, String>, EngineError> {
        let context = if b.context.is_absolute() { b.context.clone() } else { req.root.join(&b.context) };
        let file = context.join(b.dockerfile.as_deref().unwrap_or("Dockerfile"));
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("cannot read {}: {e}", file.display()))),
        };
        let dockerfile = mirror_froms(&text, req.mirror.as_deref());
        let dockerignore = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
        let tag = format!(
            "pyslim-sidecar/{}-{}:{}",
            super::sanitize_name(&req.project),
            super::sanitize_name(&spec.name),
            set.network.trim_start_matches("pyslim-svc-")
        );
        let build = super::BuildRequest {
            variant: req.variant,
            context,
            dockerfile,
            dockerignore,
            // the service's own Dockerfile copies no pyslim helper
            helpers: Vec::new(),
            tag: tag.clone(),
            project: req.project.clone(),
            // the run's pid, as on its containers: whose image this is, whatever other runs build
            labels: {
                let mut l = req.labels.clone();
                l.insert(LABEL_PID.into(), std::process::id().to_string());
                l
            },
            no_cache: false,
            secrets: Vec::new(),
            pull: req.pull,
        };
        let _ = events.send(BuildEvent::Log {
            variant: req.variant,
            line: format!("service {}: building its image from {}", spec.name, file.display()),
        });
        match self.build(&build, events, cancel).await {
            Ok(built) => {
                set.images.push(built.tag.clone());
                Ok(Ok(built.tag))
            }
            Err(EngineError::Cancelled) => Err(EngineError::Cancelled),
            Err(e) => Ok(Err(format!("its image did not build from {}: {}", file.display(), e.explain().cause))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_one(
        &self,
        set: &mut Sidecars,
        req: &SidecarRequest,
        spec: &ServiceSpec,
        image: &str,
        id: &str,
        labels: &HashMap<String, String>,
        from_host: bool,
        index: usize,
    ) -> Result<Started, EngineError> {
        let inspect =
            self.docker.inspect_image(image).await.map_err(EngineError::api(format!("inspecting {image}")))?;
        let config = inspect.config.unwrap_or_default();
        let kind = sidecars::kind_of(&spec.image, None).or_else(|| sidecars::kind_of(image, req.mirror.as_deref()));
        let name = format!("{id}-{}", super::sanitize_name(&spec.name));
        let mut labels = labels.clone();
        labels.insert(LABEL_SIDECAR.into(), spec.name.clone());
        // The image's volumes (a database's data directory) in memory: a throwaway database needs
        // no disk sync to initialize, and no volume is left to remove.
        let mounts: Vec<Mount> = config
            .volumes
            .iter()
            .flatten()
            .map(|path| Mount {
                target: Some(path.clone()),
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions { mode: Some(0o1777), ..Default::default() }),
                ..Default::default()
            })
            .collect();
        // The port a protocol probe connects to: the kind's, else the first exposed TCP port.
        let exposed: Vec<u16> = config
            .exposed_ports
            .iter()
            .flatten()
            .filter_map(|p| p.strip_suffix("/tcp").and_then(|n| n.parse().ok()))
            .collect();
        let port = kind.map(|k| k.port).or_else(|| exposed.iter().min().copied());
        let probe = kind.map_or(Probe::Tcp, |k| k.probe);
        // A compose healthcheck runs as Docker's own; without one, a daemon on another machine
        // runs the kind's (its port is not reachable from here).
        let health = spec
            .healthcheck
            .as_deref()
            .and_then(health_test)
            .or_else(|| (!from_host).then(|| kind.map(|k| k.health.clone())).flatten());
        // Both when both exist: a database's healthcheck can pass on its socket while its
        // first-start initialization still keeps the network port closed.
        let host_port = match (from_host, port) {
            (true, Some(_)) => Some(free_port().map_err(|e| EngineError::Api {
                action: "finding a free port".into(),
                source: bollard::errors::Error::IOError { err: e },
            })?),
            _ => None,
        };
        let mut bindings = HashMap::new();
        if let (Some(hp), Some(p)) = (host_port, port) {
            bindings.insert(
                format!("{p}/tcp"),
                Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(hp.to_string()) }]),
            );
        }
        let mut aliases = vec![spec.name.clone()];
        aliases.extend(spec.aliases.iter().cloned());
        let mut endpoints = HashMap::new();
        endpoints.insert(id.to_string(), EndpointSettings { aliases: Some(aliases), ..Default::default() });
        let ms = |d: Duration| d.as_nanos() as i64;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: spec.command.clone(),
            labels: Some(labels),
            exposed_ports: port.map(|p| vec![format!("{p}/tcp")]),
            healthcheck: health.clone().map(|test| HealthConfig {
                test: Some(test),
                interval: Some(ms(Duration::from_millis(500))),
                timeout: Some(ms(Duration::from_secs(5))),
                retries: Some(1000),
                start_period: Some(0),
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                network_mode: Some(id.to_string()),
                port_bindings: Some(bindings),
                mounts: Some(mounts),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(EngineError::api(format!("creating the {} service from {image}", spec.name)))?;
        set.containers.push(created.id.clone());
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(EngineError::api(format!("starting the {} service ({image})", spec.name)))?;
        Ok(Started { index, id: created.id, host_port, health: health.is_some(), probe, at: Instant::now() })
    }

    /// Waits until `s` is ready: `Ok(Ok(how))`, `Ok(Err(why not))` when it exited or the time
    /// ran out.
    async fn wait_ready(
        &self,
        s: &Started,
        spec: &ServiceSpec,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Result<String, String>, EngineError> {
        let user = spec.env.get("POSTGRES_USER").map_or("postgres", String::as_str);
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            let state = self
                .docker
                .inspect_container(&s.id, None)
                .await
                .map_err(EngineError::api(format!("inspecting the {} service", spec.name)))?
                .state
                .unwrap_or_default();
            if state.running == Some(false) {
                let code = state.exit_code.unwrap_or(-1);
                return Ok(Err(format!("exited with code {code} before it was ready")));
            }
            let healthy = !s.health || state.health.and_then(|h| h.status) == Some(HealthStatusEnum::HEALTHY);
            if healthy {
                let answered = match s.host_port {
                    None => true,
                    Some(port) => {
                        tokio::time::timeout(Duration::from_secs(3), probe(s.probe, port, user)).await.is_ok_and(|r| r)
                    }
                };
                if answered {
                    return Ok(Ok(match (s.health, s.host_port) {
                        (true, Some(_)) => format!("its healthcheck, then {}", s.probe.as_str()),
                        (true, None) => "its healthcheck".into(),
                        (false, Some(_)) => s.probe.as_str().into(),
                        (false, None) => "running (no port to probe)".into(),
                    }));
                }
            }
            if s.at.elapsed() > timeout {
                return Ok(Err(format!("was not ready within {}s", timeout.as_secs())));
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(EngineError::Cancelled),
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    async fn last_lines(&self, id: &str) -> Vec<String> {
        let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&LOG_LINES.to_string()).build();
        let mut logs = self.docker.logs(id, Some(opts));
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&chunk.to_string());
        }
        text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }
}

/// A version-aware sort key for tags (`17` after `9`).
fn natural_key(tag: &str) -> Vec<(u64, String)> {
    tag.split(['.', '-']).map(|p| (p.parse().unwrap_or(0), p.to_string())).collect()
}

/// The Dockerfile with every `FROM` image that is not an earlier stage mirrored.
pub fn mirror_froms(dockerfile: &str, mirror: Option<&str>) -> String {
    if mirror.is_none_or(|m| m.trim().is_empty()) {
        return dockerfile.to_string();
    }
    let mut stages: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let is_from = words.first().is_some_and(|w| w.eq_ignore_ascii_case("FROM"));
        if !is_from {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let args: Vec<&str> = words[1..].iter().copied().filter(|w| !w.starts_with("--")).collect();
        let mut new = line.to_string();
        if let Some(image) = args.first() {
            let lower = image.to_lowercase();
            if lower != "scratch" && !image.contains('$') && !stages.contains(&lower) {
                new = line.replacen(image, &crate::catalogue::mirror(image, mirror), 1);
            }
        }
        if let (Some(k), Some(name)) = (args.get(1), args.get(2))
            && k.eq_ignore_ascii_case("AS")
        {
            stages.push(name.to_lowercase());
        }
        out.push_str(&new);
        out.push('\n');
    }
    out
}

/// One readiness probe against 127.0.0.1:`port`: whether the server answered in its protocol.
pub async fn probe(kind: Probe, port: u16, user: &str) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    match kind {
        Probe::Tcp => true,
        Probe::Postgres => postgres_ready(&mut s, user).await.unwrap_or(false),
        Probe::Mysql => mysql_ready(&mut s).await.unwrap_or(false),
        Probe::Redis => redis_ready(&mut s).await.unwrap_or(false),
    }
}

/// A protocol 3.0 startup message; ready when the server asks for authentication (`R`) or
/// refuses for a reason other than starting up or shutting down (SQLSTATE 57P03), as
/// `pg_isready` judges.
async fn postgres_ready(s: &mut tokio::net::TcpStream, user: &str) -> std::io::Result<bool> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "postgres")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    s.write_all(&msg).await?;
    let mut head = [0u8; 5];
    s.read_exact(&mut head).await?;
    match head[0] {
        b'R' => Ok(true),
        b'E' => {
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut rest = vec![0u8; len.saturating_sub(4).min(4096)];
            s.read_exact(&mut rest).await?;
            Ok(!postgres_error_fields(&rest).iter().any(|(k, v)| *k == b'C' && v == "57P03"))
        }
        _ => Ok(false),
    }
}

/// The (code, value) fields of a Postgres ErrorResponse body.
fn postgres_error_fields(body: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() && body[i] != 0 {
        let code = body[i];
        let end = body[i + 1..].iter().position(|b| *b == 0).map_or(body.len(), |p| i + 1 + p);
        out.push((code, String::from_utf8_lossy(&body[i + 1..end]).into_owned()));
        i = end + 1;
    }
    out
}

/// The server speaks first: a handshake packet (protocol 10) means it accepts connections; an
/// error packet (`0xFF`) means it answered but refuses (too many connections, a blocked host),
/// which counts as not ready.
async fn mysql_ready(s: &mut tokio::net::TcpStream) -> std::io::Result<bool> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).await?;
    Ok(head[4] == 10)
}

/// `PING` answered `+PONG`, or `-NOAUTH` (up, with a password); `-LOADING` is not ready.
async fn redis_ready(s: &mut tokio::net::TcpStream) -> std::io::Result<bool> {
    s.write_all(b"PING\r\n").await?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await?;
    let said = String::from_utf8_lossy(&buf[..n]);
    Ok(said.starts_with("+PONG") || said.starts_with("-NOAUTH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthchecks_take_dockers_form() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(health_test(&v(&["CMD", "pg_isready"])), Some(v(&["CMD", "pg_isready"])));
        assert_eq!(health_test(&v(&["CMD-SHELL", "pg_isready -U x"])), Some(v(&["CMD-SHELL", "pg_isready -U x"])));
        assert_eq!(health_test(&v(&["redis-cli ping"])), Some(v(&["CMD-SHELL", "redis-cli ping"])));
        assert_eq!(health_test(&v(&["redis-cli", "ping"])), Some(v(&["CMD", "redis-cli", "ping"])));
        assert_eq!(health_test(&v(&["NONE"])), None);
        assert_eq!(health_test(&[]), None);
    }

    #[test]
    fn froms_are_mirrored_but_not_stages() {
        let df = "FROM postgres:16 AS base\nADD create.sql /docker-entrypoint-initdb.d\nFROM base\nFROM --platform=linux/amd64 redis:7\n";
        let out = mirror_froms(df, Some("pyslim-mirror"));
        assert_eq!(
            out,
            "FROM pyslim-mirror/postgres:16 AS base\nADD create.sql /docker-entrypoint-initdb.d\nFROM base\nFROM --platform=linux/amd64 pyslim-mirror/redis:7\n"
        );
        assert_eq!(mirror_froms(df, None), df);
    }

    #[test]
    fn postgres_errors_are_read_by_field() {
        let body = b"SFATAL\0C57P03\0Mthe database system is starting up\0\0";
        let f = postgres_error_fields(body);
        assert_eq!(f[1], (b'C', "57P03".to_string()));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn tags_sort_by_version() {
        let mut t = ["9".to_string(), "17".into(), "16".into(), "latest".into()];
        t.sort_by_key(|t| std::cmp::Reverse(natural_key(t)));
        assert_eq!(t[0], "17");
    }
}
