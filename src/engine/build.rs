//! One image build: makes the base images available (pulls what is missing unless the policy is
//! `never`, see [`super::registry`]), streams the
//! context, drives BuildKit (fresh session per build) or the classic builder, turns progress into
//! events, and on failure or cancel leaves no intermediate containers or images it created.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion, RemoveImageOptionsBuilder};
use futures_util::StreamExt;

use super::context::{self, ContextError, ContextSummary};
use super::events::BuildEvent;
use super::progress::{BuildkitProgress, ClassicProgress, count_buildkit_steps, count_steps};
use super::{Builder, CancellationToken, Engine, EngineError, EventSender, LABEL_PROJECT, LABEL_VARIANT};
use crate::plan::{PullPolicy, Variant};
use crate::report::Layer;

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub variant: Variant,
    /// Build context root (the project folder, or a uv workspace root).
    pub context: PathBuf,
    pub dockerfile: String,
    pub dockerignore: String,
    /// The helper files the Dockerfile copies (`Rendered::helpers`), added to the context.
    pub helpers: Vec<crate::render::helpers::HelperFile>,
    pub tag: String,
    /// Project name, for the `org.pyslim.project` label.
    pub project: String,
    /// Extra labels (tests add `org.pyslim.test=1`).
    pub labels: HashMap<String, String>,
    /// Ignore the build cache (a cold build).
    pub no_cache: bool,
    /// Build-only files added to the context as `.pyslim-secrets/<id>` (read before the build).
    pub secrets: Vec<context::SecretSource>,
    /// When the base images are pulled.
    pub pull: PullPolicy,
}

/// A built image.
#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub variant: Variant,
    pub tag: String,
    pub image_id: String,
    pub size_bytes: u64,
    pub layers: Vec<Layer>,
    pub seconds: f64,
    /// Instructions served from the build cache (`RUN pip install ...`).
    pub cached_steps: Vec<String>,
    pub builder: Builder,
    pub context: ContextSummary,
}

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

fn session_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("pyslim-{}-{nanos}-{}", std::process::id(), SESSION_COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Each `FROM` line as (image, stage name given with `AS`), flags like `--platform` dropped.
fn from_lines(dockerfile: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    dockerfile.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        if !words.next()?.eq_ignore_ascii_case("FROM") {
            return None;
        }
        let args: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
        let image = *args.first()?;
        let stage = match (args.get(1), args.get(2)) {
            (Some(as_kw), Some(name)) if as_kw.eq_ignore_ascii_case("AS") => Some(*name),
            _ => None,
        };
        Some((image, stage))
    })
}

/// Image references of the `FROM` lines that are not earlier stages (nor `scratch`).
pub fn base_images(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (image, stage) in from_lines(dockerfile) {
        let lower = image.to_lowercase();
        if lower != "scratch" && !image.contains('$') && !stages.contains(&lower) && !out.iter().any(|o| o == image) {
            out.push(image.to_string());
        }
        if let Some(name) = stage {
            stages.push(name.to_lowercase());
        }
    }
    out
}

/// The image the final stage starts from (following `FROM <stage>` back to an image).
pub fn final_base(dockerfile: &str) -> Option<String> {
    let mut stages: HashMap<String, String> = HashMap::new();
    let mut last = None;
    for (image, stage) in from_lines(dockerfile) {
        let resolved = stages.get(&image.to_lowercase()).cloned().unwrap_or_else(|| image.to_string());
        if let Some(name) = stage {
            stages.insert(name.to_lowercase(), resolved.clone());
        }
        last = Some(resolved);
    }
    last
}

impl Engine {
    /// Removes an image that a rebuild replaced under its tag, when pyslim built it (it carries
    /// the variant label) and nothing else uses it; the daemon refuses (and we leave it) when a
    /// container or another tag still refers to it.
    async fn remove_replaced(&self, old: bollard::models::ImageInspect, new_id: &str) {
        let Some(old_id) = old.id.filter(|id| id != new_id) else { return };
        let ours = old.config.and_then(|c| c.labels).is_some_and(|l| l.contains_key(super::LABEL_VARIANT));
        let other_tags = old.repo_tags.map(|t| t.len()).unwrap_or(0) > 1;
        if ours && !other_tags {
            let _ =
                self.docker.remove_image(&old_id, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
        }
    }

    /// Builds `req`, sending progress on `events`; pulls base images as `req.pull` says. On failure the error names the
    /// failing step and carries the last log lines; on cancel it returns [`EngineError::Cancelled`].
    pub async fn build(
        &self,
        req: &BuildRequest,
        events: &EventSender,
        cancel: &CancellationToken,
    ) -> Result<BuiltImage, EngineError> {
        let variant = req.variant;
        let send = |e: BuildEvent| {
            let _ = events.send(e);
        };
        let fail = |step: Option<String>, message: String, mut log_tail: Vec<String>, log: Vec<String>| {
            // The wizard shows the log tail, so the remedy goes there too.
            if let Some(h) = super::hint_for(&message) {
                log_tail.push(format!("hint: {h}"));
            }
            send(BuildEvent::Failed {
                variant,
                step: step.clone(),
                message: message.clone(),
                log_tail: log_tail.clone(),
            });
            EngineError::BuildFailed { variant, step, message, log_tail, log, diagnosis: None }
        };
        // The image this tag names now; if the build moves the tag, that image is left dangling.
        let previous = self.docker.inspect_image(&req.tag).await.ok();
        let secrets = match context::read_secrets(&req.secrets) {
            Ok(s) => s,
            Err(e) => {
                send(BuildEvent::Failed { variant, step: None, message: e.to_string(), log_tail: Vec::new() });
                return Err(e.into());
            }
        };
        match self.ensure_images(&base_images(&req.dockerfile), req.pull, variant, events, cancel).await {
            Ok(()) => {}
            Err(EngineError::Cancelled) => {
                send(BuildEvent::Failed { variant, step: None, message: "cancelled".into(), log_tail: Vec::new() });
                return Err(EngineError::Cancelled);
            }
            Err(e) => {
                send(BuildEvent::Failed { variant, step: None, message: e.to_string(), log_tail: Vec::new() });
                return Err(e);
            }
        }

        let started = Instant::now();
        // The classic builder appends one `LABEL` step per build label.
        let steps = match self.builder {
            Builder::Classic => count_steps(&req.dockerfile) + req.labels.len() + 2,
            Builder::Buildkit => count_buildkit_steps(&req.dockerfile),
        };
        send(BuildEvent::Started { variant, tag: req.tag.clone(), steps });

        let (body, context_done) = context::stream(
            &req.context,
            context::Generated {
                dockerfile: req.dockerfile.clone(),
                dockerignore: req.dockerignore.clone(),
                helpers: req.helpers.clone(),
                secrets,
            },
        )?
        .into_parts();
        let mut labels = req.labels.clone();
        labels.insert(LABEL_VARIANT.into(), variant.as_str().into());
        labels.insert(LABEL_PROJECT.into(), req.project.clone());
        let mut opts = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(&req.tag)
            .rm(true)
            .forcerm(true)
            .nocache(req.no_cache)
            .labels(&labels);
        opts = match self.builder {
            Builder::Buildkit => opts.version(BuilderVersion::BuilderBuildKit).session(&session_id()),
            Builder::Classic => opts.version(BuilderVersion::BuilderV1),
        };
        let mut stream = self.docker.build_image(opts.build(), None, Some(bollard::body_try_stream(body)));

        let mut classic = ClassicProgress::new(variant);
        let mut buildkit = BuildkitProgress::new(variant, steps);
        let mut failure: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let item = tokio::select! {
                () = cancel.cancelled() => {
                    drop(stream);
                    self.remove_created(&classic.created_images).await;
                    send(BuildEvent::Failed { variant, step: classic.current_step().or_else(|| buildkit.failed_step()), message: "cancelled".into(), log_tail: Vec::new() });
                    return Err(EngineError::Cancelled);
                }
                item = stream.next() => item,
            };
            let Some(item) = item else { break };
            match item {
                Ok(BuildInfo { stream: Some(s), .. }) => classic.feed(&s, &mut out),
                Ok(BuildInfo { aux: Some(BuildInfoAux::BuildKit(status)), .. }) => buildkit.apply(&status, &mut out),
                Ok(BuildInfo { error_detail: Some(d), .. }) => {
                    failure = Some(d.message.unwrap_or_else(|| "unknown build error".into()));
                }
                Ok(_) => {}
                Err(bollard::errors::Error::DockerStreamError { error }) => failure = Some(error),
                // Anything else is the transport: the daemon stopped or the connection dropped.
                Err(e) => failure = Some(format!("lost the connection to the Docker daemon during the build ({e})")),
            }
            for e in out.drain(..) {
                send(e);
            }
            if failure.is_some() {
                break;
            }
        }
        drop(stream);
        let context_result = context_done.await.unwrap_or_else(|_| Ok(ContextSummary::default()));

        if let Some(message) = failure.or_else(|| buildkit.failed.as_ref().map(|(_, m)| m.clone())) {
            // A context error (unreadable file) explains a broken stream better than the daemon,
            // unless the daemon itself stopped reading (disk full, for one): then its words do.
            if let Err(e) = context_result
                && !matches!(e, ContextError::DaemonStoppedReading)
            {
                self.remove_created(&classic.created_images).await;
                send(BuildEvent::Failed { variant, step: None, message: e.to_string(), log_tail: Vec::new() });
                return Err(e.into());
            }
            let (step, tail, log) = match self.builder {
                Builder::Classic => {
                    let step = classic.fail(&message, &mut out);
                    (step, classic.tail.to_vec(), classic.tail.all())
                }
                Builder::Buildkit => (buildkit.failed_step(), buildkit.failure_tail(), buildkit.failure_log()),
            };
            for e in out.drain(..) {
                send(e);
            }
            self.remove_created(&classic.created_images).await;
            return Err(fail(step, message.trim().to_string(), tail, log));
        }
        classic.finish(&mut out);
        for e in out.drain(..) {
            send(e);
        }
        let summary = context_result?;

        let inspect = self
            .docker
            .inspect_image(&req.tag)
            .await
            .map_err(EngineError::api(format!("inspecting the built image {}", req.tag)))?;
        let image_id = inspect.id.clone().unwrap_or_default();
        let size_bytes = inspect.size.unwrap_or(0).max(0) as u64;
        let layers = self.layers(&req.tag, final_base(&req.dockerfile).as_deref()).await?;
        let seconds = started.elapsed().as_secs_f64();
        if let Some(old) = previous {
            self.remove_replaced(old, &image_id).await;
        }
        send(BuildEvent::Built { variant, tag: req.tag.clone(), image_id: image_id.clone(), size_bytes, seconds });
        let cached_steps = match self.builder {
            Builder::Classic => classic.cached.clone(),
            Builder::Buildkit => buildkit.cached.clone(),
        };
        Ok(BuiltImage {
            variant,
            tag: req.tag.clone(),
            image_id,
            size_bytes,
            layers,
            seconds,
            cached_steps,
            builder: self.builder,
            context: summary,
        })
    }

    /// Removes intermediate images a failed classic build created, newest first, when nothing
    /// tags them (cache hits from earlier builds are left alone: they are not in the list).
    async fn remove_created(&self, ids: &[String]) {
        for id in ids.iter().rev() {
            let Ok(img) = self.docker.inspect_image(id).await else { continue };
            if img.repo_tags.as_ref().is_some_and(|t| !t.is_empty()) {
                continue;
            }
            let opts = RemoveImageOptionsBuilder::default().force(false).noprune(true).build();
            let _ = self.docker.remove_image(id, Some(opts), None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &str = "FROM pyslim-mirror/python:3.13-slim AS builder\nRUN x\nFROM builder AS test\nFROM --platform=linux/amd64 pyslim-mirror/distroless/python3-debian13:nonroot\nCOPY --from=builder /opt/venv /opt/venv\n";

    #[test]
    fn finds_base_images_not_stages() {
        assert_eq!(
            base_images(MULTI),
            ["pyslim-mirror/python:3.13-slim", "pyslim-mirror/distroless/python3-debian13:nonroot"]
        );
        assert_eq!(base_images("FROM scratch\n"), Vec::<String>::new());
        assert_eq!(final_base(MULTI).as_deref(), Some("pyslim-mirror/distroless/python3-debian13:nonroot"));
        assert_eq!(final_base("FROM a:1 AS b\nFROM b\n").as_deref(), Some("a:1"));
    }
}
