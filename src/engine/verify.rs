//! Verify: the slim image must still start. Runs the image with its own entrypoint, waits until
//! its port answers HTTP below 500, and always removes every container it started: on success,
//! failure, timeout, error and cancel.
//!
//! Where the request is made from depends on where the daemon is. A local daemon publishes the
//! port on 127.0.0.1 (a free host port) and pyslim connects to it. A remote one (`tcp://` to
//! another host, `ssh://`) publishes nothing: a probe container from a Python image the build
//! already used (the builder) joins the service's network namespace and makes the request from
//! inside, so the answer does not depend on the remote host's firewall or port map.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::diagnose::{self, Diagnosis, Facts, StartFailure};
use super::events::BuildEvent;
use super::progress::LOG_TAIL;
use super::{CancellationToken, Engine, EngineError, EventSender};
use crate::plan::Variant;

/// Default time a service gets to answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Clone, Debug)]
pub struct VerifyRequest {
    pub variant: Variant,
    pub image: String,
    /// Port the service listens on inside the container.
    pub port: u16,
    pub timeout: Duration,
    /// HTTP path to request.
    pub path: String,
    /// Extra container labels (tests add `org.pyslim.test=1`).
    pub labels: HashMap<String, String>,
    /// The image and interpreter that probe from the daemon's side (see [`Engine::probe_from_daemon`]).
    pub probe: Option<ProbeImage>,
    /// The image's Python (`3.13`), named by diagnoses.
    pub python: Option<String>,
    /// `KEY=VALUE` settings of the service's container (`--env`, `[verify] env`): given to this
    /// run only, never part of the image.
    pub env: Vec<String>,
    /// The project's exact pins, name -> version, named by diagnoses.
    pub pins: std::collections::BTreeMap<String, String>,
    /// The variable that selects the service's database and where it is read, named by the
    /// diagnosis when the service cannot reach its database.
    pub database_env: Option<String>,
    /// Variables read at start without a default that this run does not set, with the line
    /// that reads each (see [`Facts::unset_env`]).
    pub unset_env: Vec<(String, String, usize)>,
    /// The Docker network of the service's container (`--network`, `[verify] network`): `host`
    /// (a database on this machine's loopback) or a named network (a compose project's).
    pub network: Option<String>,
}

/// A Python image present on the daemon, used to make the HTTP request from inside the
/// service's network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeImage {
    pub image: String,
    /// Absolute path of its `python3` (`/usr/local/bin/python3.13`).
    pub python: String,
}

impl VerifyRequest {
    pub fn new(variant: Variant, image: impl Into<String>, port: u16) -> Self {
        Self {
            variant,
            image: image.into(),
            port,
            timeout: DEFAULT_TIMEOUT,
            path: "/".into(),
            labels: HashMap::new(),
            probe: None,
            python: None,
            env: Vec::new(),
            pins: std::collections::BTreeMap::new(),
            database_env: None,
            unset_env: Vec::new(),
            network: None,
        }
    }
}

/// How the service's container is wired: its network and port map, and the port on
/// 127.0.0.1 the host-side probe connects to. On the host's network nothing is published: the
/// service listens on the host's own `port`.
pub(super) fn service_wiring(network: Option<&str>, port: u16, host_port: u16, publish: bool) -> (HostConfig, u16) {
    let network = network.map(str::trim).filter(|n| !n.is_empty());
    if network == Some("host") {
        return (HostConfig { network_mode: Some("host".into()), ..Default::default() }, port);
    }
    let mut bindings = HashMap::new();
    if publish {
        bindings.insert(
            format!("{port}/tcp"),
            Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host_port.to_string()) }]),
        );
    }
    let config =
        HostConfig { port_bindings: Some(bindings), network_mode: network.map(String::from), ..Default::default() };
    (config, host_port)
}

/// Where the verify request is made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeFrom {
    /// pyslim connects to a port published on 127.0.0.1.
    Host,
    /// A probe container in the service's network namespace.
    Daemon,
}

/// `PYSLIM_VERIFY_FROM=host|daemon` overrides; otherwise the daemon's own side for any endpoint
/// that is not this machine (`ssh://`, `tcp://` to a non-loopback address).
pub fn probe_from(host: &str, overridden: Option<&str>) -> ProbeFrom {
    match overridden.map(str::trim) {
        Some("host") => return ProbeFrom::Host,
        Some("daemon") => return ProbeFrom::Daemon,
        _ => {}
    }
    let Some((scheme, rest)) = host.split_once("://") else { return ProbeFrom::Host };
    if !matches!(scheme, "tcp" | "http" | "https" | "ssh") {
        return ProbeFrom::Host;
    }
    // An address that cannot be split names no local host: probe on the daemon's side.
    let name = super::address::split_authority(rest).map_or("", |(_, host, _)| host);
    let local =
        name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    if local { ProbeFrom::Host } else { ProbeFrom::Daemon }
}

/// Time since the service's container was started; every outcome carries it.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn secs(self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
    fn outcome(self, ok: bool, detail: String) -> VerifyOutcome {
        VerifyOutcome {
            ok,
            detail,
            log_tail: Vec::new(),
            seconds: self.secs(),
            http_status: None,
            failure: (!ok).then_some(StartFailure::Other),
            diagnosis: None,
        }
    }
    /// A service that answered `code` (below 500 is a success).
    fn answered(self, code: u16, detail: String) -> VerifyOutcome {
        VerifyOutcome { http_status: Some(code), ..self.outcome(code < 500, detail) }
    }
    /// A service that failed to answer well: `failure` says how.
    fn failed(self, failure: StartFailure, detail: String) -> VerifyOutcome {
        let http_status = match failure {
            StartFailure::Http(code) => Some(code),
            _ => None,
        };
        VerifyOutcome { http_status, failure: Some(failure), ..self.outcome(false, detail) }
    }
}

/// Why a service that never answered well failed, whichever side asked; `last_http` is the
/// last status line seen (`HTTP 500`), empty when nothing answered.
fn no_answer(req: &VerifyRequest, last_http: &str) -> (StartFailure, String) {
    let code = last_http.strip_prefix("HTTP ").and_then(|c| c.trim().parse::<u16>().ok());
    match code {
        None => {
            (StartFailure::NoAnswer, format!("nothing answered on port {} within {}s", req.port, req.timeout.as_secs()))
        }
        Some(code) => (
            StartFailure::Http(code),
            format!("no healthy answer within {}s (last: HTTP {code} on GET {})", req.timeout.as_secs(), req.path),
        ),
    }
}

/// Runs in the probe container: polls `127.0.0.1:PORT` (the service's own loopback) until an HTTP
/// status below 500 or the deadline, and prints one line: `HTTP <code>` or `TIMEOUT <last>`.
const PROBE_SCRIPT: &str = r#"import http.client, sys, time
port, path, deadline = int(sys.argv[1]), sys.argv[2], time.time() + float(sys.argv[3])
last = ""
while time.time() < deadline:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        c.request("GET", path, headers={"User-Agent": "pyslim-verify"})
        code = c.getresponse().status
        if code < 500:
            print("HTTP", code, flush=True)
            sys.exit(0)
        last = "HTTP %d" % code
    except Exception:
        pass
    time.sleep(0.25)
print("TIMEOUT", last, flush=True)
sys.exit(1)
"#;

/// The result of a verify run.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyOutcome {
    pub ok: bool,
    /// `HTTP 200 after 1.4 s`, or why it failed.
    pub detail: String,
    /// The container's last log lines (always collected on failure).
    pub log_tail: Vec<String>,
    pub seconds: f64,
    /// The last HTTP status the service answered with, if it answered at all.
    pub http_status: Option<u16>,
    /// How it failed (exit, no answer, HTTP 5xx), `None` on success.
    pub failure: Option<StartFailure>,
    /// Cause and remedy of a failure, from the logs and the way it failed.
    pub diagnosis: Option<Diagnosis>,
}

/// A free TCP port on loopback (the OS picks; there is a small race until Docker binds it).
pub(super) fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// One HTTP/1.0 GET; `Ok(Some(status))` when the server answered with a status line.
pub(super) async fn http_status(port: u16, path: &str) -> std::io::Result<Option<u16>> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: pyslim-verify\r\n\r\n").as_bytes())
        .await?;
    let mut buf = vec![0u8; 256];
    let mut got = 0;
    while got < 16 {
        let n = s.read(&mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = String::from_utf8_lossy(&buf[..got]);
    Ok(head.strip_prefix("HTTP/").and_then(|r| r.split_whitespace().nth(1)).and_then(|c| c.parse().ok()))
}

impl Engine {
    /// Runs `req.image` and checks that it answers HTTP. The container is always removed.
    pub async fn verify(
        &self,
        req: &VerifyRequest,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<VerifyOutcome, EngineError> {
        let from = self.probe_from_daemon();
        let host_port = free_port().map_err(|e| EngineError::Api {
            action: "finding a free port".into(),
            source: bollard::errors::Error::IOError { err: e },
        })?;
        let container_port = format!("{}/tcp", req.port);
        let labels = super::own_labels(&req.labels);
        let (host_config, probe_port) =
            service_wiring(req.network.as_deref(), req.port, host_port, from == ProbeFrom::Host);
        let body = ContainerCreateBody {
            image: Some(req.image.clone()),
            env: (!req.env.is_empty()).then(|| req.env.clone()),
            exposed_ports: Some(vec![container_port]),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        // Unique per run on this machine (the free port), whichever side probes.
        let name = format!("pyslim-verify-{}-{}", req.variant, &host_port);
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(EngineError::api(format!("creating a container from {}", req.image)))?;
        let id = created.id;
        let _ = events.send(BuildEvent::VerifyStarted { variant: req.variant, container: name.clone() });
        let clock = Clock(Instant::now());
        let result = match self.docker.start_container(&id, None).await {
            Err(e) => Ok(clock.outcome(false, format!("the container did not start: {e}"))),
            Ok(()) => match from {
                ProbeFrom::Host => self.probe(&id, req, probe_port, clock, cancel).await,
                ProbeFrom::Daemon => self.probe_inside(&id, &name, req, clock, cancel).await,
            },
        };
        let log_tail = match &result {
            Ok(o) if o.ok => Vec::new(),
            // The service's logs, not the probe's.
            _ => self.log_tail(&id).await,
        };
        self.remove_container(&id).await;
        let mut outcome = result?;
        outcome.log_tail = log_tail;
        if let Some(failure) = outcome.failure {
            let facts = Facts {
                python: req.python.clone(),
                port: req.port,
                pins: req.pins.clone(),
                database_env: req.database_env.clone(),
                unset_env: req.unset_env.clone(),
                ..Default::default()
            };
            outcome.diagnosis = Some(diagnose::start_failure(failure, &outcome.log_tail, &facts));
        }
        let _ = events.send(BuildEvent::Verified {
            variant: req.variant,
            ok: outcome.ok,
            detail: outcome.detail.clone(),
            log_tail: outcome.log_tail.clone(),
        });
        Ok(outcome)
    }

    /// The host-side probe: HTTP to the port published on 127.0.0.1.
    async fn probe(
        &self,
        id: &str,
        req: &VerifyRequest,
        host_port: u16,
        clock: Clock,
        cancel: &CancellationToken,
    ) -> Result<VerifyOutcome, EngineError> {
        let mut last_http = String::new();
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if clock.secs() > req.timeout.as_secs_f64() {
                let (failure, detail) = no_answer(req, &last_http);
                return Ok(clock.failed(failure, detail));
            }
            match tokio::time::timeout(Duration::from_secs(3), http_status(host_port, &req.path)).await {
                Ok(Ok(Some(code))) if code < 500 => {
                    let detail = format!("HTTP {code} on GET {} after {:.1}s", req.path, clock.secs());
                    return Ok(clock.answered(code, detail));
                }
                Ok(Ok(Some(code))) => last_http = format!("HTTP {code}"),
                _ => {}
            }
            if let Some((code, why)) = self.exited(id).await {
                return Ok(clock.failed(StartFailure::Exited(code), why));
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(EngineError::Cancelled),
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// `Some((exit code, why))` once the service's container has stopped.
    async fn exited(&self, id: &str) -> Option<(i64, String)> {
        let s = self.docker.inspect_container(id, None).await.ok()?.state?;
        if s.running != Some(false) {
            return None;
        }
        let code = s.exit_code.unwrap_or(-1);
        let err = s.error.filter(|e| !e.is_empty()).map(|e| format!(": {e}")).unwrap_or_default();
        Some((code, format!("the container exited with code {code}{err}")))
    }

    /// Where this engine's verify requests come from (see [`probe_from`]).
    pub fn probe_from_daemon(&self) -> ProbeFrom {
        probe_from(&self.endpoint.host, std::env::var("PYSLIM_VERIFY_FROM").ok().as_deref())
    }

    /// The daemon-side probe: a container of `req.probe` in the service's network namespace.
    async fn probe_inside(
        &self,
        id: &str,
        name: &str,
        req: &VerifyRequest,
        clock: Clock,
        cancel: &CancellationToken,
    ) -> Result<VerifyOutcome, EngineError> {
        let Some(probe) = &req.probe else {
            return Ok(clock.outcome(false, "the daemon is remote and no Python image was given to probe from".into()));
        };
        let labels = super::own_labels(&req.labels);
        let body = ContainerCreateBody {
            image: Some(probe.image.clone()),
            entrypoint: Some(vec![probe.python.clone(), "-c".into(), PROBE_SCRIPT.into()]),
            cmd: Some(vec![req.port.to_string(), req.path.clone(), req.timeout.as_secs().to_string()]),
            labels: Some(labels),
            host_config: Some(HostConfig { network_mode: Some(format!("container:{id}")), ..Default::default() }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&format!("{name}-probe")).build();
        let probe_id = match self.docker.create_container(Some(opts), body).await {
            Ok(c) => c.id,
            Err(e) => return Ok(clock.outcome(false, format!("cannot create the probe from {}: {e}", probe.image))),
        };
        let result = self.watch_probe(id, &probe_id, req, clock, cancel).await;
        self.remove_container(&probe_id).await;
        result
    }

    async fn watch_probe(
        &self,
        id: &str,
        probe_id: &str,
        req: &VerifyRequest,
        clock: Clock,
        cancel: &CancellationToken,
    ) -> Result<VerifyOutcome, EngineError> {
        if let Err(e) = self.docker.start_container(probe_id, None).await {
            return Ok(clock.outcome(false, format!("the probe container did not start: {e}")));
        }
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            // The probe gives up at the deadline by itself; this is the backstop.
            if clock.secs() > (req.timeout + Duration::from_secs(15)).as_secs_f64() {
                return Ok(clock.outcome(false, format!("the probe did not finish within {}s", req.timeout.as_secs())));
            }
            if let Some((code, why)) = self.exited(id).await {
                return Ok(clock.failed(StartFailure::Exited(code), why));
            }
            let probe = self.docker.inspect_container(probe_id, None).await.ok().and_then(|c| c.state);
            if probe
                .as_ref()
                .is_some_and(|s| s.running == Some(false) && s.status.is_some_and(|st| st.to_string() == "exited"))
            {
                let said = self.log_tail(probe_id).await.join(" ");
                let detail = match said.strip_prefix("HTTP ").and_then(|c| c.trim().parse::<u16>().ok()) {
                    Some(code) => {
                        let what = format!("HTTP {code} on GET {} after {:.1}s", req.path, clock.secs());
                        return Ok(clock.answered(code, format!("{what}, from the daemon's side")));
                    }
                    None => match said.strip_prefix("TIMEOUT") {
                        Some(last) => no_answer(req, last.trim()),
                        None => (StartFailure::Other, format!("the probe failed: {said}")),
                    },
                };
                return Ok(clock.failed(detail.0, detail.1));
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(EngineError::Cancelled),
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    async fn log_tail(&self, id: &str) -> Vec<String> {
        let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&LOG_TAIL.to_string()).build();
        let mut logs = self.docker.logs(id, Some(opts));
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&chunk.to_string());
        }
        text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }

    /// Force-removes a container; errors are ignored (it may already be gone).
    pub async fn remove_container(&self, id: &str) {
        let opts = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        let _ = self.docker.remove_container(id, Some(opts)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_probe_runs() {
        use ProbeFrom::*;
        for (host, want) in [
            ("unix:///var/run/docker.sock", Host),
            ("tcp://127.0.0.1:2375", Host),
            ("tcp://localhost:2375", Host),
            ("tcp://[::1]:2375", Host),
            ("tcp://0.0.0.0:2375", Host),
            ("tcp://10.0.0.5:2376", Daemon),
            ("https://build.example.com:2376", Daemon),
            ("tcp://[2001:db8::1]:2375", Daemon),
            ("ssh://deploy@build-box", Daemon),
            ("ssh://deploy@build-box:2222", Daemon),
            ("ssh://localhost", Host),
            ("npipe:////./pipe/docker_engine", Host),
        ] {
            assert_eq!(probe_from(host, None), want, "{host}");
        }
        assert_eq!(probe_from("unix:///tmp/forwarded.sock", Some("daemon")), Daemon);
        assert_eq!(probe_from("ssh://far", Some("host")), Host);
        assert_eq!(probe_from("ssh://far", Some("nonsense")), Daemon);
    }
}
