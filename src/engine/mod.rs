//! Engine: talks to the Docker Engine API (bollard): connect, build context, build, inspect,
//! run and verify, clean up. Reports progress as [`events::BuildEvent`]s through a channel so
//! the CLI and the TUI show the same thing.
//!
//! Layout: [`connect`] finds the daemon, [`context`] streams the filtered project as a tar,
//! [`progress`] turns both builders' output into events, [`build`] drives a build and cleans up
//! after failures, [`layers`] classifies the built image's history, [`verify`] runs the image
//! and checks that it answers HTTP; [`registry`] pulls missing base images and pushes verified
//! ones with the docker CLI's credentials; [`run`] chains check, render, build and verify for one
//! variant (the CLI and the TUI both call it); [`trace`] runs the full image under an audit hook
//! for the `minimal` variant; [`ssh`] fronts `ssh://` daemons with a local socket.
//! Nothing here prints; front ends render the events.
//!
//! Every operation takes a [`CancellationToken`]: cancelling stops the stream, and the engine
//! removes the containers it started before returning [`EngineError::Cancelled`].

mod address;
pub mod build;
pub mod connect;
pub mod context;
pub mod diagnose;
pub mod events;
pub mod layers;
pub mod progress;
pub mod registry;
pub mod run;
pub mod services;
pub mod ssh;
pub mod trace;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use bollard::Docker;
pub use tokio_util::sync::CancellationToken;

pub use build::{BuildRequest, BuiltImage};
pub use connect::{Endpoint, EndpointSource};
pub use run::{VariantJob, VariantOutcome};
pub use verify::{ProbeFrom, ProbeImage, VerifyOutcome, VerifyRequest};

use crate::plan::{Flavour, Variant};

/// Sender half of the progress channel.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<events::BuildEvent>;

/// Label on every image pyslim builds: the variant name.
pub const LABEL_VARIANT: &str = "org.pyslim.variant";
/// Label on every image pyslim builds: the project name.
pub const LABEL_PROJECT: &str = "org.pyslim.project";
/// Label on every container pyslim starts.
pub const LABEL_CONTAINER: &str = "org.pyslim";
/// Label on every container pyslim starts and every network of a sidecar set: the id
/// of the pyslim process that started it (what a test counts after killing or cancelling that
/// process, whatever other pyslim runs do meanwhile).
pub const LABEL_PID: &str = "org.pyslim.pid";

/// The labels of a container (or network) pyslim creates: `extra` (a test's own), with
/// [`LABEL_CONTAINER`] and this process's [`LABEL_PID`].
pub(crate) fn own_labels(extra: &HashMap<String, String>) -> HashMap<String, String> {
    let mut labels = extra.clone();
    labels.insert(LABEL_CONTAINER.into(), "1".into());
    labels.insert(LABEL_PID.into(), std::process::id().to_string());
    labels
}

/// Why an engine operation failed. Each message names the endpoint, image or step.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker daemon at {endpoint}: {reason}\nhint: {}", unavailable_hint(endpoint))]
    Unavailable { endpoint: String, reason: String },
    #[error(
        "base image {image} is not present locally and the pull policy is `never`; pass --pull missing \
         (or `pull = \"missing\"` in pyslim.toml) to pull it, or run `docker pull {image}` \
         (or scripts/fixture-images.sh for the offline stand-ins, with PYSLIM_IMAGE_MIRROR=pyslim-mirror)"
    )]
    MissingBaseImage { image: String },
    #[error("cannot pull {image} from {registry}: {answer}\nhint: {hint}")]
    PullFailed { image: String, registry: String, answer: String, hint: String },
    #[error("cannot push {tag} to {registry}: {answer}\nhint: {hint}")]
    PushFailed { tag: String, registry: String, answer: String, hint: String },
    #[error("will not push {tag}: {reason}")]
    PushRefused { tag: String, reason: String },
    #[error(transparent)]
    Credentials(#[from] registry::CredentialError),
    /// `log_tail` ends with a `hint:` line when [`hint_for`] knows a remedy; `diagnosis` is the
    /// cause and remedy read from the log ([`diagnose`]), when one is known.
    #[error(
        "{variant} build failed{}: {message}{}",
        step.as_ref().map(|s| format!(" at {}", events::step_label(s))).unwrap_or_default(),
        diagnosis.as_ref().map(|d| format!("\ncause: {}\nhint: {}", d.cause, d.hint)).unwrap_or_default()
    )]
    BuildFailed {
        variant: Variant,
        step: Option<String>,
        message: String,
        log_tail: Vec<String>,
        /// The failed step's longer tail ([`progress::DIAGNOSIS_TAIL`] lines), read by the diagnosis.
        log: Vec<String>,
        diagnosis: Option<Box<diagnose::Diagnosis>>,
    },
    #[error(transparent)]
    Context(#[from] context::ContextError),
    #[error("cancelled")]
    Cancelled,
    /// The `minimal` variant's tracing run could not be made (remote daemon, unreadable trace).
    #[error("tracing the service for the minimal variant: {0}")]
    Trace(String),
    #[error("cannot take the build lock for {tag}: {source}")]
    Lock { tag: String, source: std::io::Error },
    #[error(
        "Docker API error while {action}: {source}{}",
        hint_for(&source.to_string()).map(|h| format!("\nhint: {h}")).unwrap_or_default()
    )]
    Api { action: String, source: bollard::errors::Error },
}

fn unavailable_hint(endpoint: &str) -> &'static str {
    if endpoint.starts_with("ssh://") {
        "check that `ssh HOST docker version` works without a prompt (pyslim runs ssh with \
         BatchMode=yes, so it needs a key or an agent; PYSLIM_SSH_COMMAND sets the ssh command, e.g. \
         `ssh -F ~/.ssh/build-config`) and that the remote user may use its Docker socket"
    } else {
        "start Docker (or Podman's socket: systemctl --user start podman.socket), or point \
         DOCKER_HOST at a running daemon (e.g. DOCKER_HOST=unix:///var/run/docker.sock); \
         `pyslim scan` and `pyslim dockerfile` work without a daemon"
    }
}

/// What to do about a daemon-side failure whose cause the message names, when there is a
/// known remedy: today, the daemon's disk (its data-root) being full.
pub fn hint_for(message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    (m.contains("no space left on device") || m.contains("disk quota exceeded")).then_some(
        "the Docker daemon's disk is full; see `docker system df`, free space with `docker builder prune` \
         and `docker image prune` (a failed upload may only be freed after the daemon restarts), or give \
         its data-root more room, then build again",
    )
}

impl EngineError {
    /// The one-line cause and remedy of this error: the diagnosis of a failed build (a pattern's,
    /// else its log's last error line), else the error's own words (its first line) and its `hint:` line when it has one.
    pub fn explain(&self) -> diagnose::Diagnosis {
        match self {
            EngineError::BuildFailed { diagnosis: Some(d), .. } => return (**d).clone(),
            // Not diagnosed (a failure outside `run_variant`): the step and its log's error line.
            EngineError::BuildFailed { step, log_tail, message, .. } => {
                return diagnose::build_failure(step.as_deref(), log_tail, message);
            }
            _ => {}
        }
        let text = self.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let hint = text.lines().find_map(|l| l.strip_prefix("hint: ")).map(str::to_string);
        let kind = match self {
            EngineError::BuildFailed { .. } => "build-failed",
            EngineError::MissingBaseImage { .. } => "missing-base-image",
            EngineError::Unavailable { .. } => "no-daemon",
            EngineError::Context(_) => "context-error",
            EngineError::Cancelled => "cancelled",
            EngineError::Lock { .. } => "lock-error",
            EngineError::Api { .. } => "api-error",
            EngineError::PullFailed { .. } => "pull-failed",
            EngineError::PushFailed { .. } => "push-failed",
            EngineError::PushRefused { .. } => "push-refused",
            EngineError::Credentials(_) => "credentials",
            EngineError::Trace(_) => "trace-failed",
        };
        let hint = hint.unwrap_or_else(|| match self {
            EngineError::PullFailed { hint, .. } | EngineError::PushFailed { hint, .. } => hint.clone(),
            EngineError::MissingBaseImage { image } => format!("run `docker pull {image}`"),
            _ => "see the message".into(),
        });
        let cause = match self {
            EngineError::MissingBaseImage { image } => format!("base image {image} is not present locally"),
            _ => first,
        };
        diagnose::Diagnosis { kind: kind.into(), cause, hint }
    }

    /// Fills the diagnosis of a failed build from its log tail and message.
    pub fn diagnosed(self, facts: &diagnose::Facts) -> EngineError {
        match self {
            EngineError::BuildFailed { variant, step, message, log_tail, log, diagnosis: None } => {
                let lines = if log.is_empty() { &log_tail } else { &log };
                let mut text = lines.clone();
                text.push(message.clone());
                // Known words give their cause; any other failure is quoted from its log.
                let diagnosis = diagnose::diagnose(diagnose::Phase::Build, &text, facts)
                    .unwrap_or_else(|| diagnose::build_failure(step.as_deref(), lines, &message));
                EngineError::BuildFailed { variant, step, message, log_tail, log, diagnosis: Some(Box::new(diagnosis)) }
            }
            other => other,
        }
    }
    pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
        let action = action.into();
        move |source| EngineError::Api { action, source }
    }
}

/// Which builder the daemon offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// BuildKit through a session (RUN --mount cache mounts work).
    Buildkit,
    /// The classic builder (legacy API builds; Podman's compat API).
    Classic,
}

impl Builder {
    /// The Dockerfile flavour this builder accepts.
    pub fn flavour(self) -> Flavour {
        match self {
            Self::Buildkit => Flavour::Buildkit,
            Self::Classic => Flavour::Classic,
        }
    }
}

/// A connected daemon.
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    pub endpoint: Endpoint,
    /// Server version as reported (`20.10.24+dfsg1`, `Podman Engine 5.0`).
    pub server: String,
    /// Negotiated API version.
    pub api_version: String,
    pub builder: Builder,
    /// The local socket in front of `ssh` for `ssh://` endpoints (kept alive with the client).
    _ssh: Option<Arc<ssh::Bridge>>,
}

impl Engine {
    /// Connects to the daemon the way the `docker` CLI would (see [`connect`]).
    pub async fn connect() -> Result<Engine, EngineError> {
        Self::connect_to(Endpoint::from_env()).await
    }

    /// Connects to a given endpoint, negotiates the API version and picks the builder:
    /// BuildKit when the daemon has it (Docker ≥ 18.09, API ≥ 1.39), else classic.
    /// `PYSLIM_BUILDER=classic|buildkit` forces one.
    pub async fn connect_to(endpoint: Endpoint) -> Result<Engine, EngineError> {
        let (docker, _ssh) = connect::connect(&endpoint).await?;
        let version = docker.version().await.map_err(EngineError::api("reading the daemon version"))?;
        let api_version = version.api_version.clone().unwrap_or_default();
        let podman = version.components.as_ref().is_some_and(|c| c.iter().any(|c| c.name.contains("Podman")));
        let server = if podman {
            format!("Podman {}", version.version.clone().unwrap_or_default())
        } else {
            version.version.clone().unwrap_or_default()
        };
        let api_ok = api_at_least(&api_version, 1, 39);
        let builder = match std::env::var("PYSLIM_BUILDER").ok().as_deref() {
            Some("classic") => Builder::Classic,
            Some("buildkit") => Builder::Buildkit,
            _ if podman || !api_ok => Builder::Classic,
            _ if version.os.as_deref().is_some_and(|os| os != "linux") => Builder::Classic,
            _ => Builder::Buildkit,
        };
        Ok(Engine { docker, endpoint, server, api_version, builder, _ssh })
    }

    /// The bollard client, for callers that need an API this module does not wrap.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Returns a copy that builds with `builder` (e.g. classic after a BuildKit failure).
    pub fn with_builder(&self, builder: Builder) -> Engine {
        Engine { builder, ..self.clone() }
    }

    /// Whether an image (by reference or id) exists locally.
    pub async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(e) => Err(EngineError::Api { action: format!("inspecting image {reference}"), source: e }),
        }
    }

    /// Removes an image tag (not its layers' cache); a missing image is not an error.
    pub async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).noprune(false).build();
        match self.docker.remove_image(reference, Some(opts), None).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(EngineError::Api { action: format!("removing image {reference}"), source: e }),
        }
    }

    /// Ids of containers (running or not) with all of the given labels (`key=value` or `key`).
    pub async fn containers_with_labels(&self, labels: &[&str]) -> Result<Vec<String>, EngineError> {
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), labels.iter().map(|s| s.to_string()).collect());
        let opts =
            bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let list =
            self.docker.list_containers(Some(opts)).await.map_err(EngineError::api("listing pyslim containers"))?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }
}

fn api_at_least(v: &str, major: u32, minor: u32) -> bool {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// The default tag: `pyslim/<project>:<variant>`, lowercase and limited to the characters a
/// repository name allows.
pub fn default_tag(project: &str, variant: Variant) -> String {
    format!("pyslim/{}:{}", sanitize_name(project), variant.as_str())
}

/// Lowercases and replaces anything outside `[a-z0-9._-]` with `-`, so a folder name
/// (`My Service!`) becomes a valid repository component (`my-service`).
pub fn sanitize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let ok = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let c = if ok { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c| matches!(c, '.' | '_' | '-'));
    if trimmed.is_empty() { "app".into() } else { trimmed.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failed_build_prints_a_cause_line() {
        let failed = |log: &[&str]| EngineError::BuildFailed {
            variant: Variant::Distroless,
            step: Some("RUN /opt/poetry/bin/poetry export --only main -f requirements.txt".into()),
            message: "process \"/bin/sh -c ...\" did not complete successfully: exit code: 1".into(),
            log_tail: log.iter().map(|l| l.to_string()).collect(),
            log: Vec::new(),
            diagnosis: None,
        };
        let facts = diagnose::Facts { python: Some("3.13".into()), port: 8000, ..Default::default() };
        // a known class, the two real failures that once ended without one, an unknown error,
        // and a step that printed nothing
        for (log, kind) in [
            (&["ERROR: ResolutionImpossible: for help visit https://pip.pypa.io"][..], "resolver-conflict"),
            (
                &[
                    "ERROR: Can't verify hashes for these requirements because we don't have a way to hash version control repositories:",
                ][..],
                "vcs-hashes",
            ),
            (&["Traceback (most recent call last):", "KeyError: 'version'"][..], "build-failed"),
            (&["something went wrong in an unexpected way"][..], "build-failed"),
            (&[][..], "build-failed"),
        ] {
            let e = failed(log).diagnosed(&facts);
            let text = e.to_string();
            assert!(text.contains("\ncause: ") && text.contains("\nhint: "), "{log:?}: {text}");
            assert_eq!(e.explain().kind, kind, "{log:?}");
            // the same cause before `diagnosed` (a front end that explains an undiagnosed failure)
            if kind == "build-failed" {
                assert_eq!(failed(log).explain().cause, e.explain().cause);
            }
        }
    }

    #[test]
    fn tags_are_sanitized() {
        assert_eq!(default_tag("Demo Service!", Variant::MultistageSlim), "pyslim/demo-service:multistage-slim");
        assert_eq!(sanitize_name("__Weird__Name.."), "weird__name");
        assert_eq!(sanitize_name("ÜÜ"), "app");
    }

    #[test]
    fn api_versions_compare() {
        assert!(api_at_least("1.41", 1, 39));
        assert!(!api_at_least("1.38", 1, 39));
        assert!(api_at_least("2.0", 1, 39));
    }
}
