//! Verify: the slim image must still start. Runs the image with its own entrypoint, publishes the
//! port on 127.0.0.1 (a free host port), waits until it accepts TCP and answers HTTP below 500,
//! and always removes the container: on success, failure, timeout, error and cancel.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::events::BuildEvent;
use super::progress::LOG_TAIL;
use super::{CancellationToken, Engine, EngineError, EventSender, LABEL_CONTAINER};
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
}

impl VerifyRequest {
    pub fn new(variant: Variant, image: impl Into<String>, port: u16) -> Self {
        Self { variant, image: image.into(), port, timeout: DEFAULT_TIMEOUT, path: "/".into(), labels: HashMap::new() }
    }
}

/// The result of a verify run.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyOutcome {
    pub ok: bool,
    /// `HTTP 200 after 1.4 s`, or why it failed.
    pub detail: String,
    /// The container's last log lines (always collected on failure).
    pub log_tail: Vec<String>,
    pub seconds: f64,
}

/// A free TCP port on loopback (the OS picks; there is a small race until Docker binds it).
fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// One HTTP/1.0 GET; `Ok(Some(status))` when the server answered with a status line.
async fn http_status(port: u16, path: &str) -> std::io::Result<Option<u16>> {
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
        let host_port = free_port().map_err(|e| EngineError::Api {
            action: "finding a free port".into(),
            source: bollard::errors::Error::IOError { err: e },
        })?;
        let container_port = format!("{}/tcp", req.port);
        let mut labels = req.labels.clone();
        labels.insert(LABEL_CONTAINER.into(), "1".into());
        let mut bindings = HashMap::new();
        bindings.insert(
            container_port.clone(),
            Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host_port.to_string()) }]),
        );
        let body = ContainerCreateBody {
            image: Some(req.image.clone()),
            exposed_ports: Some(vec![container_port]),
            labels: Some(labels),
            host_config: Some(HostConfig { port_bindings: Some(bindings), ..Default::default() }),
            ..Default::default()
        };
        let name = format!("pyslim-verify-{}-{}", req.variant, &host_port);
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(EngineError::api(format!("creating a container from {}", req.image)))?;
        let id = created.id;
        let _ = events.send(BuildEvent::VerifyStarted { variant: req.variant, container: name.clone() });
        let result = self.probe(&id, req, host_port, cancel).await;
        let log_tail = match &result {
            Ok(o) if o.ok => Vec::new(),
            _ => self.log_tail(&id).await,
        };
        self.remove_container(&id).await;
        let mut outcome = result?;
        outcome.log_tail = log_tail;
        let _ = events.send(BuildEvent::Verified {
            variant: req.variant,
            ok: outcome.ok,
            detail: outcome.detail.clone(),
            log_tail: outcome.log_tail.clone(),
        });
        Ok(outcome)
    }

    async fn probe(
        &self,
        id: &str,
        req: &VerifyRequest,
        host_port: u16,
        cancel: &CancellationToken,
    ) -> Result<VerifyOutcome, EngineError> {
        let started = Instant::now();
        let outcome = |ok: bool, detail: String| VerifyOutcome {
            ok,
            detail,
            log_tail: Vec::new(),
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Err(e) = self.docker.start_container(id, None).await {
            return Ok(outcome(false, format!("the container did not start: {e}")));
        }
        let mut last_http = String::new();
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            if started.elapsed() > req.timeout {
                let why = if last_http.is_empty() {
                    format!("nothing answered on port {} within {}s", req.port, req.timeout.as_secs())
                } else {
                    format!("no healthy answer within {}s (last: {last_http})", req.timeout.as_secs())
                };
                return Ok(outcome(false, why));
            }
            match tokio::time::timeout(Duration::from_secs(3), http_status(host_port, &req.path)).await {
                Ok(Ok(Some(code))) if code < 500 => {
                    let secs = started.elapsed().as_secs_f64();
                    return Ok(outcome(true, format!("HTTP {code} on GET {} after {secs:.1}s", req.path)));
                }
                Ok(Ok(Some(code))) => last_http = format!("HTTP {code}"),
                _ => {}
            }
            let state = self.docker.inspect_container(id, None).await.ok().and_then(|c| c.state);
            if let Some(s) = state
                && s.running == Some(false)
            {
                let code = s.exit_code.unwrap_or(-1);
                let err = s.error.filter(|e| !e.is_empty()).map(|e| format!(": {e}")).unwrap_or_default();
                return Ok(outcome(false, format!("the container exited with code {code}{err}")));
            }
            tokio::select! {
                _ = cancel.cancelled() => return Err(EngineError::Cancelled),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
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
