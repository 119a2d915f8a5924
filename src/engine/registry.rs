//! Registries: pulling base images before a build and pushing a verified image, through the
//! Engine API (`/images/create`, `/images/{name}/push`), with per-layer progress events and the
//! credentials the `docker` CLI would use.
//!
//! Owns: image-reference parsing down to the registry host, credential lookup (the
//! `docker_credential` crate reads `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`:
//! `auths`, `credsStore`, `credHelpers`), turning the daemon's pull/push stream into
//! [`BuildEvent::Pull`]/[`BuildEvent::Push`] events, and naming a registry's answer (unknown
//! manifest, denied, refused, DNS) with a remedy. It does not decide *whether* to pull: the build
//! asks [`Engine::ensure_images`] with the plan's [`PullPolicy`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::auth::DockerCredentials;
use bollard::models::ProgressDetail;
use bollard::query_parameters::{CreateImageOptionsBuilder, PushImageOptionsBuilder};
use futures_util::StreamExt;

use super::events::{BuildEvent, Transfer};
use super::{CancellationToken, Engine, EngineError, EventSender};
use crate::plan::{PullPolicy, Variant};

/// Docker Hub's key in `config.json` (what `docker login` writes for the default registry).
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// How often progress events are sent while bytes move (layer state changes are sent at once).
const PROGRESS_EVERY: Duration = Duration::from_millis(150);

/// The registry host of a reference, when it names one (`127.0.0.1:5000/app:1` ->
/// `127.0.0.1:5000`, `ghcr.io/o/app` -> `ghcr.io`); `None` for Docker Hub short names
/// (`python:3.13`, `user/app`).
pub fn registry_host(reference: &str) -> Option<&str> {
    let (first, _) = reference.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

/// The registry a reference is pulled from or pushed to, for messages (`docker.io` for short names).
pub fn registry_name(reference: &str) -> &str {
    registry_host(reference).unwrap_or("docker.io")
}

/// Splits `repo[:tag][@digest]` into the repository and tag (default `latest`); a port in the
/// registry host is not a tag.
pub fn split_tag(reference: &str) -> (&str, &str) {
    let no_digest = reference.split_once('@').map(|(r, _)| r).unwrap_or(reference);
    let last_slash = no_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => (&no_digest[..last_slash + i], &no_digest[last_slash + i + 1..]),
        None => (no_digest, "latest"),
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the credentials for {registry}: {reason}")]
pub struct CredentialError {
    pub registry: String,
    pub reason: String,
}

/// The credentials the `docker` CLI would send to the registry of `reference`, or `None` when
/// none are configured (anonymous access). A helper that answers "credentials not found" counts
/// as none, like the docker CLI; a helper that cannot run or a malformed config is an error.
pub fn credentials_for(reference: &str) -> Result<Option<DockerCredentials>, CredentialError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let host = registry_host(reference);
    let server = match host {
        None | Some("docker.io" | "index.docker.io" | "registry-1.docker.io") => DOCKER_HUB_SERVER,
        Some(h) => h,
    };
    let err = |reason: String| CredentialError { registry: registry_name(reference).to_string(), reason };
    let config = config_path();
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Ok(Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(server.to_string()),
            ..Default::default()
        })),
        Ok(DockerCredential::IdentityToken(token)) => Ok(Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(server.to_string()),
            ..Default::default()
        })),
        Err(E::NoCredentialConfigured | E::ConfigNotFound) => Ok(None),
        // The crate reports a missing file and an unreadable one alike; only the second matters.
        Err(E::ConfigReadError) if !config.as_ref().is_some_and(|p| p.exists()) => Ok(None),
        Err(E::ConfigReadError) => Err(err(format!(
            "{} is not a readable docker config",
            config.map(|p| p.display().to_string()).unwrap_or_default()
        ))),
        Err(E::HelperFailure { helper, stdout, stderr }) => {
            let said = format!("{} {}", stdout.trim(), stderr.trim());
            if said.to_ascii_lowercase().contains("credentials not found") {
                Ok(None)
            } else {
                Err(err(format!("`{helper} get` failed: {}", said.trim())))
            }
        }
        Err(E::HelperCommunicationError) => {
            Err(err("the credential helper named in the docker config (credsStore/credHelpers) could not be run; \
             is docker-credential-NAME on PATH?"
                .into()))
        }
        Err(e) => Err(err(e.to_string())),
    }
}

fn config_path() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    Some(dir.join("config.json"))
}

/// What a registry answered, in categories a remedy can be given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// The repository or tag does not exist there.
    UnknownManifest,
    /// No or wrong credentials.
    Denied,
    /// Nothing listens at the registry's address.
    Refused,
    /// The registry's host name does not resolve.
    Dns,
    /// The registry speaks HTTPS only to hosts the daemon trusts, or plain HTTP to none.
    Tls,
    Other,
}

/// Sorts a daemon message about a pull or push into a [`RegistryAnswer`].
pub fn classify(message: &str) -> RegistryAnswer {
    let m = message.to_ascii_lowercase();
    if m.contains("manifest unknown") || m.contains("not found") || m.contains("name unknown") {
        RegistryAnswer::UnknownManifest
    } else if m.contains("unauthorized")
        || m.contains("authentication required")
        || m.contains("no basic auth credentials")
        || m.contains("denied")
        || m.contains("incorrect username or password")
    {
        RegistryAnswer::Denied
    } else if m.contains("connection refused") {
        RegistryAnswer::Refused
    } else if m.contains("no such host")
        || m.contains("server misbehaving")
        || m.contains("temporary failure in name resolution")
    {
        RegistryAnswer::Dns
    } else if m.contains("http response to https client") || m.contains("x509") || m.contains("tls") {
        RegistryAnswer::Tls
    } else {
        RegistryAnswer::Other
    }
}

/// What to do about a registry's answer when pulling `image`.
pub fn pull_hint(image: &str, answer: RegistryAnswer) -> String {
    let registry = registry_name(image);
    match answer {
        RegistryAnswer::UnknownManifest => format!(
            "{registry} has no such image; check the name and tag (with an image mirror, the mirror must hold \
             every base image under the same path: PYSLIM_IMAGE_MIRROR / --mirror), or use --builder/--runtime"
        ),
        RegistryAnswer::Denied => format!(
            "log in to {registry} (`docker login {registry}`) or fix its entry in $DOCKER_CONFIG/config.json \
             (~/.docker/config.json): auths, credsStore or credHelpers"
        ),
        RegistryAnswer::Refused => format!(
            "nothing answers at {registry}: start the registry or fix the mirror (--mirror / PYSLIM_IMAGE_MIRROR); \
             with local images, --pull never builds offline"
        ),
        RegistryAnswer::Dns => format!(
            "the daemon cannot resolve {registry}: check the name and the daemon's network, or point --mirror / \
             PYSLIM_IMAGE_MIRROR at a registry it reaches (offline: scripts/fixture-images.sh and \
             PYSLIM_IMAGE_MIRROR=pyslim-mirror)"
        ),
        RegistryAnswer::Tls => format!(
            "the daemon and {registry} disagree on HTTPS: add it to the daemon's insecure-registries for plain \
             HTTP, or give the daemon its CA certificate"
        ),
        RegistryAnswer::Other => format!("run `docker pull {image}` to see the daemon's full answer"),
    }
}

/// What to do about a registry's answer when pushing `tag`.
pub fn push_hint(tag: &str, answer: RegistryAnswer) -> String {
    let registry = registry_name(tag);
    match answer {
        RegistryAnswer::Denied => format!(
            "log in to {registry} (`docker login {registry}`) with a user that may push to this repository, or fix \
             its entry in $DOCKER_CONFIG/config.json (~/.docker/config.json)"
        ),
        RegistryAnswer::UnknownManifest => {
            format!("{registry} refused the repository name; check --tag (registry/name:tag)")
        }
        other => pull_hint(tag, other).replace("docker pull", "docker push"),
    }
}

/// Per-layer totals of a pull or push stream.
#[derive(Default)]
struct Layers {
    /// (current, total) bytes by layer id.
    bytes: HashMap<String, (u64, u64)>,
    done: std::collections::HashSet<String>,
    seen: Vec<String>,
}

impl Layers {
    fn see(&mut self, id: &str) {
        if !self.seen.iter().any(|s| s == id) {
            self.seen.push(id.to_string());
        }
    }

    fn progress(&mut self, id: &str, detail: Option<&ProgressDetail>) {
        self.see(id);
        if let Some(d) = detail {
            let total = d.total.unwrap_or(0).max(0) as u64;
            let current = d.current.unwrap_or(0).max(0) as u64;
            if total > 0 {
                let entry = self.bytes.entry(id.to_string()).or_default();
                entry.1 = total;
                entry.0 = current.min(total).max(entry.0);
            }
        }
    }

    fn finish(&mut self, id: &str) {
        self.see(id);
        if let Some(e) = self.bytes.get_mut(id) {
            e.0 = e.1;
        }
        self.done.insert(id.to_string());
    }

    fn transfer(&self, total_layers: Option<usize>) -> Transfer {
        Transfer {
            layers_done: self.done.len(),
            layers_total: total_layers.unwrap_or(self.seen.len()).max(self.seen.len()),
            bytes_done: self.bytes.values().map(|b| b.0).sum(),
            bytes_total: self.bytes.values().map(|b| b.1).sum(),
        }
    }
}

/// A pull status line names a layer when its id is a short hex digest (other lines name the tag).
fn is_layer_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// A pull or push stream item: both carry the daemon's error the same way.
trait StreamInfo {
    /// The daemon's error message, when this item reports one.
    fn error_message(&mut self) -> Option<String>;
}

impl StreamInfo for bollard::models::CreateImageInfo {
    fn error_message(&mut self) -> Option<String> {
        self.error_detail.take().map(|d| d.message.unwrap_or_else(|| "unknown error".into()))
    }
}

impl StreamInfo for bollard::models::PushImageInfo {
    fn error_message(&mut self) -> Option<String> {
        self.error_detail.take().map(|d| d.message.unwrap_or_else(|| "unknown error".into()))
    }
}

/// The next item of a pull or push stream: `None` when it ended, [`EngineError::Cancelled`] on
/// cancel (dropping the request makes the daemon abort), the registry's answer through `fail`
/// when the daemon reports one, and an API error (`doing` says what was going on) otherwise.
async fn next_info<S, T>(
    stream: &mut S,
    cancel: &CancellationToken,
    fail: &impl Fn(String) -> EngineError,
    doing: &str,
) -> Result<Option<T>, EngineError>
where
    S: futures_util::Stream<Item = Result<T, bollard::errors::Error>> + Unpin,
    T: StreamInfo,
{
    let item = tokio::select! {
        () = cancel.cancelled() => return Err(EngineError::Cancelled),
        item = stream.next() => item,
    };
    match item {
        None => Ok(None),
        Some(Ok(mut info)) => match info.error_message() {
            Some(message) => Err(fail(message)),
            None => Ok(Some(info)),
        },
        Some(Err(bollard::errors::Error::DockerResponseServerError { message, .. })) => Err(fail(message)),
        Some(Err(bollard::errors::Error::DockerStreamError { error })) => Err(fail(error)),
        Some(Err(e)) => Err(EngineError::api(doing.to_string())(e)),
    }
}

impl Engine {
    /// Makes every image in `images` available to the build according to `policy`: `never`
    /// only checks (a missing image is [`EngineError::MissingBaseImage`]), `missing` pulls what
    /// the daemon does not have, `always` pulls each one. Images present locally with `missing`
    /// cost one inspect each and no registry traffic.
    pub async fn ensure_images(
        &self,
        images: &[String],
        policy: PullPolicy,
        variant: Variant,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        for image in images {
            let present = self.image_exists(image).await?;
            match policy {
                PullPolicy::Never if !present => return Err(EngineError::MissingBaseImage { image: image.clone() }),
                PullPolicy::Never | PullPolicy::Missing if present => {}
                _ => self.pull(image, variant, events, cancel).await?,
            }
        }
        Ok(())
    }

    /// Pulls `image` with the credentials the docker CLI would use, sending [`BuildEvent::Pull`]
    /// progress and a final [`BuildEvent::Pulled`]. On cancel the request is dropped, which makes
    /// the daemon abort the pull; a failed or cancelled pull tags nothing.
    pub async fn pull(
        &self,
        image: &str,
        variant: Variant,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let send = |e: BuildEvent| {
            let _ = events.send(e);
        };
        let fail = |answer: String| {
            let kind = classify(&answer);
            EngineError::PullFailed {
                image: image.to_string(),
                registry: registry_name(image).to_string(),
                answer: answer.trim().to_string(),
                hint: pull_hint(image, kind),
            }
        };
        let credentials = credentials_for(image).map_err(EngineError::Credentials)?;
        // A digest reference is pulled as it is; otherwise repository and tag go separately (an
        // empty tag would make the daemon pull every tag of the repository).
        let opts = if image.contains('@') {
            CreateImageOptionsBuilder::default().from_image(image).build()
        } else {
            let (repo, tag) = split_tag(image);
            CreateImageOptionsBuilder::default().from_image(repo).tag(tag).build()
        };
        let started = Instant::now();
        let mut layers = Layers::default();
        send(BuildEvent::Pull { variant, image: image.to_string(), transfer: layers.transfer(None) });
        let mut stream = self.docker.create_image(Some(opts), None, credentials);
        let mut last_sent = Instant::now();
        let doing = format!("pulling {image}");
        while let Some(info) = next_info(&mut stream, cancel, &fail, &doing).await? {
            let (Some(id), Some(status)) = (info.id.as_deref(), info.status.as_deref()) else { continue };
            if !is_layer_id(id) {
                continue;
            }
            let changed = match status {
                "Pull complete" | "Already exists" => {
                    layers.finish(id);
                    true
                }
                "Downloading" | "Extracting" => {
                    // Extracting counts the same bytes again: only downloads move the byte total.
                    if status == "Downloading" {
                        layers.progress(id, info.progress_detail.as_ref());
                    }
                    false
                }
                _ => {
                    layers.see(id);
                    true
                }
            };
            if changed || last_sent.elapsed() >= PROGRESS_EVERY {
                last_sent = Instant::now();
                send(BuildEvent::Pull { variant, image: image.to_string(), transfer: layers.transfer(None) });
            }
        }
        // A stream that ended without the image is a failure the daemon did not explain.
        if !self.image_exists(image).await? {
            return Err(fail("the daemon ended the pull without the image".into()));
        }
        let transfer = layers.transfer(None);
        send(BuildEvent::Pulled {
            variant,
            image: image.to_string(),
            transfer,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    /// Pushes `tag` (which must name a registry) with the credentials the docker CLI would use,
    /// sending [`BuildEvent::Push`] progress and [`BuildEvent::Pushed`]; returns the manifest
    /// digest the registry stored.
    pub async fn push(
        &self,
        tag: &str,
        variant: Variant,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<String, EngineError> {
        let send = |e: BuildEvent| {
            let _ = events.send(e);
        };
        push_target(tag)?;
        let fail = |answer: String| {
            let kind = classify(&answer);
            EngineError::PushFailed {
                tag: tag.to_string(),
                registry: registry_name(tag).to_string(),
                answer: answer.trim().to_string(),
                hint: push_hint(tag, kind),
            }
        };
        let inspect = self
            .docker
            .inspect_image(tag)
            .await
            .map_err(EngineError::api(format!("inspecting {tag} before the push")))?;
        let layer_count = inspect.root_fs.and_then(|r| r.layers).map(|l| l.len());
        let credentials = credentials_for(tag).map_err(EngineError::Credentials)?;
        let (repo, tag_part) = split_tag(tag);
        let opts = PushImageOptionsBuilder::default().tag(tag_part).build();
        let started = Instant::now();
        let mut layers = Layers::default();
        let mut digest = None;
        let mut last_sent = Instant::now();
        send(BuildEvent::Push { variant, tag: tag.to_string(), transfer: layers.transfer(layer_count) });
        let mut stream = self.docker.push_image(repo, Some(opts), credentials);
        // bollard's push status has no layer id; a layer's size (its progress total) stands in for it.
        let mut layer_no = 0usize;
        let doing = format!("pushing {tag}");
        while let Some(info) = next_info(&mut stream, cancel, &fail, &doing).await? {
            let Some(status) = info.status.as_deref() else { continue };
            let mut changed = false;
            if status == "Pushing" {
                if let Some(total) = info.progress_detail.as_ref().and_then(|d| d.total).filter(|t| *t > 0) {
                    layers.progress(&format!("size-{total}"), info.progress_detail.as_ref());
                }
            } else if status == "Pushed" || status == "Layer already exists" || status.starts_with("Mounted from") {
                layer_no += 1;
                layers.done.insert(format!("layer-{layer_no}"));
                changed = true;
            } else if let Some(d) = status.split("digest: ").nth(1) {
                digest = d.split_whitespace().next().map(str::to_string);
            }
            if changed || last_sent.elapsed() >= PROGRESS_EVERY {
                last_sent = Instant::now();
                send(BuildEvent::Push { variant, tag: tag.to_string(), transfer: layers.transfer(layer_count) });
            }
        }
        let Some(digest) = digest else {
            return Err(fail("the daemon ended the push without a digest".into()));
        };
        let mut transfer = layers.transfer(layer_count);
        transfer.layers_done = transfer.layers_total;
        send(BuildEvent::Pushed {
            variant,
            tag: tag.to_string(),
            digest: digest.clone(),
            transfer,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(digest)
    }
}

impl Engine {
    /// Tags `source` (an image id or reference) as `target` (`registry/name:tag`), for a push
    /// under a name the build did not use (the wizard's push action).
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError> {
        let (repo, tag) = split_tag(target);
        let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
        self.docker
            .tag_image(source, Some(opts))
            .await
            .map_err(EngineError::api(format!("tagging {source} as {target}")))
    }
}

/// Checks that `tag` can be pushed: it must name a registry host (`registry.example/team/app:1`,
/// `127.0.0.1:5000/app:1`), so an image is never sent to Docker Hub by accident.
pub fn push_target(tag: &str) -> Result<&str, EngineError> {
    registry_host(tag).ok_or_else(|| EngineError::PushRefused {
        tag: tag.to_string(),
        reason: "the tag names no registry; pass --tag REGISTRY/NAME:TAG (e.g. registry.example/team/app:1, \
                 127.0.0.1:5000/app:1; docker.io/USER/NAME:TAG for Docker Hub)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_registry_repo_and_tag() {
        assert_eq!(registry_host("python:3.13-slim"), None);
        assert_eq!(registry_host("pyslim-mirror/python:3.13"), None);
        assert_eq!(registry_host("127.0.0.1:5000/m/python:3.13"), Some("127.0.0.1:5000"));
        assert_eq!(registry_host("gcr.io/distroless/python3-debian13:nonroot"), Some("gcr.io"));
        assert_eq!(registry_host("localhost/app"), Some("localhost"));
        assert_eq!(split_tag("127.0.0.1:5000/m/python:3.13"), ("127.0.0.1:5000/m/python", "3.13"));
        assert_eq!(split_tag("127.0.0.1:5000/m/python"), ("127.0.0.1:5000/m/python", "latest"));
        assert_eq!(split_tag("python@sha256:abc"), ("python", "latest"));
        assert_eq!(registry_name("python:3.13"), "docker.io");
    }

    #[test]
    fn registry_answers_are_named() {
        let cases = [
            (
                "manifest for 127.0.0.1:5901/x:1 not found: manifest unknown: manifest unknown",
                RegistryAnswer::UnknownManifest,
            ),
            ("Head \"http://127.0.0.1:5901/v2/x/manifests/1\": no basic auth credentials", RegistryAnswer::Denied),
            ("unauthorized: authentication required", RegistryAnswer::Denied),
            (
                "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused",
                RegistryAnswer::Refused,
            ),
            ("dial tcp: lookup nonexistent.invalid on 10.0.0.53:53: no such host", RegistryAnswer::Dns),
            ("http: server gave HTTP response to HTTPS client", RegistryAnswer::Tls),
            ("something else", RegistryAnswer::Other),
        ];
        for (m, want) in cases {
            assert_eq!(classify(m), want, "{m}");
        }
        assert!(pull_hint("127.0.0.1:5901/x:1", RegistryAnswer::Denied).contains("docker login 127.0.0.1:5901"));
    }

    #[test]
    fn push_needs_a_registry_in_the_tag() {
        assert!(push_target("pyslim/demo:distroless").is_err());
        assert_eq!(push_target("127.0.0.1:5000/demo:1").ok(), Some("127.0.0.1:5000"));
    }

    #[test]
    fn layer_totals_add_up() {
        let mut l = Layers::default();
        l.progress("aaaaaaaaaaaa", Some(&ProgressDetail { current: Some(5), total: Some(10) }));
        l.progress("bbbbbbbbbbbb", Some(&ProgressDetail { current: Some(1), total: Some(30) }));
        l.finish("aaaaaaaaaaaa");
        let t = l.transfer(None);
        assert_eq!((t.layers_done, t.layers_total, t.bytes_done, t.bytes_total), (1, 2, 11, 40));
        assert!(is_layer_id("96a805a25592") && !is_layer_id("3.13-slim"));
    }
}
