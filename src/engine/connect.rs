//! Finding and connecting to the Docker (or Podman) daemon the way the `docker` CLI does:
//! `DOCKER_HOST`, else the current context of `~/.docker/config.json`, else the default socket.
//! Owns endpoint resolution and the "no daemon" error; it does not build anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use sha2::{Digest, Sha256};

use super::{EngineError, ssh};

/// Default Unix socket of the Docker daemon.
pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Seconds bollard waits for a response to start; builds can take long before the first byte.
const REQUEST_TIMEOUT_SECS: u64 = 3600;
/// How long `ping` may take before the daemon counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the daemon endpoint came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointSource {
    /// The `DOCKER_HOST` environment variable.
    Env,
    /// A Docker context (`docker context use NAME`).
    Context(String),
    /// Podman's rootless socket under `$XDG_RUNTIME_DIR`, found because Docker's is absent.
    Podman,
    /// The default socket.
    Default,
}

/// The daemon address pyslim talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub source: EndpointSource,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            EndpointSource::Env => write!(f, "{} (from DOCKER_HOST)", self.host),
            EndpointSource::Context(name) => write!(f, "{} (from Docker context `{name}`)", self.host),
            EndpointSource::Podman => write!(f, "{} (Podman socket)", self.host),
            EndpointSource::Default => write!(f, "{} (default socket)", self.host),
        }
    }
}

impl Endpoint {
    /// Resolves the endpoint from the process environment and `~/.docker`.
    pub fn from_env() -> Endpoint {
        let docker_host = std::env::var("DOCKER_HOST").ok();
        let config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        let docker_context = std::env::var("DOCKER_CONTEXT").ok();
        let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        Self::resolve(docker_host.as_deref(), docker_context.as_deref(), config_dir.as_deref(), runtime_dir.as_deref())
    }

    /// The resolution order, with every input explicit (testable without touching the process).
    pub fn resolve(
        docker_host: Option<&str>,
        docker_context: Option<&str>,
        config_dir: Option<&Path>,
        runtime_dir: Option<&Path>,
    ) -> Endpoint {
        if let Some(h) = docker_host.map(str::trim).filter(|h| !h.is_empty()) {
            return Endpoint { host: h.to_string(), source: EndpointSource::Env };
        }
        if let Some(dir) = config_dir {
            let name = docker_context.map(str::to_string).or_else(|| current_context(dir));
            if let Some(name) = name.filter(|n| n != "default")
                && let Some(host) = context_host(dir, &name)
            {
                return Endpoint { host, source: EndpointSource::Context(name) };
            }
        }
        let default_path = DEFAULT_SOCKET.trim_start_matches("unix://");
        if !Path::new(default_path).exists()
            && let Some(run) = runtime_dir
        {
            let podman = run.join("podman/podman.sock");
            if podman.exists() {
                return Endpoint { host: format!("unix://{}", podman.display()), source: EndpointSource::Podman };
            }
        }
        Endpoint { host: DEFAULT_SOCKET.to_string(), source: EndpointSource::Default }
    }
}

fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("currentContext")?.as_str().map(str::to_string).filter(|s| !s.is_empty())
}

/// `~/.docker/contexts/meta/<sha256(name)>/meta.json` → `Endpoints.docker.Host`.
fn context_host(config_dir: &Path, name: &str) -> Option<String> {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta = config_dir.join("contexts/meta").join(hex).join("meta.json");
    let text = std::fs::read_to_string(meta).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.pointer("/Endpoints/docker/Host")?.as_str().map(str::to_string)
}

/// Opens a client for `endpoint` (no I/O yet).
fn client(endpoint: &Endpoint) -> Result<Docker, EngineError> {
    let host = endpoint.host.as_str();
    let unavailable = |reason: String| EngineError::Unavailable { endpoint: endpoint.to_string(), reason };
    let version = bollard::API_DEFAULT_VERSION;
    if let Some(path) = host.strip_prefix("unix://") {
        return Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version).map_err(|e| unavailable(e.to_string()));
    }
    if host.starts_with("tcp://") || host.starts_with("http://") {
        if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty()) {
            return Docker::connect_with_ssl_defaults().map_err(|e| unavailable(e.to_string()));
        }
        return Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version).map_err(|e| unavailable(e.to_string()));
    }
    if host.starts_with("https://") {
        return Docker::connect_with_ssl_defaults().map_err(|e| unavailable(e.to_string()));
    }
    Err(unavailable(format!("unsupported address scheme in `{host}` (use unix://, tcp://, https:// or ssh://)")))
}

/// Connects, pings and negotiates the API version. Fails with [`EngineError::Unavailable`]
/// naming the endpoint and a fix when nothing answers.
/// For `ssh://` the returned bridge must live as long as the client.
pub async fn connect(endpoint: &Endpoint) -> Result<(Docker, Option<Arc<ssh::Bridge>>), EngineError> {
    let unavailable = |reason: String| EngineError::Unavailable { endpoint: endpoint.to_string(), reason };
    let (docker, bridge) = if endpoint.host.starts_with("ssh://") {
        let target = ssh::SshTarget::parse(&endpoint.host).map_err(unavailable)?;
        let bridge =
            ssh::Bridge::start(&target).map_err(|e| unavailable(format!("cannot open a local socket: {e}")))?;
        let path = bridge.socket();
        let docker =
            Docker::connect_with_unix(&path.to_string_lossy(), REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
                .map_err(|e| unavailable(e.to_string()))?;
        (docker, Some(Arc::new(bridge)))
    } else {
        (client(endpoint)?, None)
    };
    // ssh's own words ("Connection refused", "Permission denied (publickey)") say more than the
    // client's "connection closed"; they arrive a moment after the connection drops.
    let reason = async |fallback: String| match &bridge {
        Some(b) => match b.ssh_said(Duration::from_secs(2)).await {
            said if said.is_empty() => fallback,
            said => format!("ssh failed: {said}"),
        },
        None => fallback,
    };
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Err(_) => return Err(unavailable(reason(format!("no answer within {}s", PING_TIMEOUT.as_secs())).await)),
        Ok(Err(e)) => return Err(unavailable(reason(e.to_string()).await)),
        Ok(Ok(_)) => {}
    }
    let docker =
        docker.negotiate_version().await.map_err(|e| unavailable(format!("cannot negotiate the API version: {e}")))?;
    Ok((docker, bridge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_wins() {
        let e = Endpoint::resolve(Some("tcp://1.2.3.4:2375"), None, None, None);
        assert_eq!(e.host, "tcp://1.2.3.4:2375");
        assert_eq!(e.source, EndpointSource::Env);
    }

    #[test]
    fn current_context_is_read_from_meta() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        // sha256("remote")
        let hex: String = Sha256::digest(b"remote").iter().map(|b| format!("{b:02x}")).collect();
        let meta = dir.path().join("contexts/meta").join(&hex);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"unix:///run/remote.sock"}}}"#,
        )
        .unwrap();
        let e = Endpoint::resolve(None, None, Some(dir.path()), None);
        assert_eq!(e.host, "unix:///run/remote.sock");
        assert_eq!(e.source, EndpointSource::Context("remote".into()));
        assert!(e.to_string().contains("Docker context `remote`"));
        // DOCKER_CONTEXT=default means the default socket.
        let e = Endpoint::resolve(None, Some("default"), Some(dir.path()), None);
        assert_eq!(e.host, DEFAULT_SOCKET);
    }

    #[test]
    fn missing_config_falls_back_to_default() {
        let dir = tempfile::tempdir().unwrap();
        let e = Endpoint::resolve(None, None, Some(dir.path()), None);
        assert_eq!(e.host, DEFAULT_SOCKET);
    }
}
