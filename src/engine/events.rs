//! Typed progress events of builds and verify runs: one type, used by the CLI and the TUI.

use serde::Serialize;

use crate::plan::Variant;

/// State of one build step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Running,
    Cached,
    Done,
    Failed,
}

/// Bytes and layers moved so far by a pull or a push (totals grow as the daemon learns them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub layers_done: usize,
    pub layers_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Something that happened while building or verifying one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BuildEvent {
    /// A base image is being pulled (sent when a layer changes state and every ~150 ms of download).
    Pull { variant: Variant, image: String, transfer: Transfer },
    /// A base image was pulled.
    Pulled { variant: Variant, image: String, transfer: Transfer, seconds: f64 },
    /// A build began; `steps` is the number of Dockerfile instructions that run.
    Started { variant: Variant, tag: String, steps: usize },
    /// A step changed state. `index` is 1-based; `name` is the instruction (`RUN pip install ...`).
    Step { variant: Variant, index: usize, total: usize, name: String, state: StepState },
    /// A line of build output.
    Log { variant: Variant, line: String },
    /// The build produced an image.
    Built { variant: Variant, tag: String, image_id: String, size_bytes: u64, seconds: f64 },
    /// The build failed at `step` (when known) with the last log lines.
    Failed { variant: Variant, step: Option<String>, message: String, log_tail: Vec<String> },
    /// Verify started a container and waits for the port.
    VerifyStarted { variant: Variant, container: String },
    /// Verify ended: `ok` when the service answered HTTP below 500 in time.
    Verified { variant: Variant, ok: bool, detail: String, log_tail: Vec<String> },
    /// A service the app needs beside it (a database, a cache) was started for verify or trace.
    ServiceStarting { variant: Variant, service: String, image: String },
    /// That service answered: `by` says how readiness was proven (`its healthcheck`, `a
    /// Postgres startup answered`), `seconds` since it started.
    ServiceReady { variant: Variant, service: String, seconds: f64, by: String },
    /// A service whose image cannot be had was left out (the others still start).
    ServiceLeftOut { variant: Variant, service: String, image: String, reason: String },
    /// The verified image is being pushed under `tag`.
    Push { variant: Variant, tag: String, transfer: Transfer },
    /// The registry stored the image; `digest` is its manifest digest.
    Pushed { variant: Variant, tag: String, digest: String, transfer: Transfer, seconds: f64 },
}

impl BuildEvent {
    pub fn variant(&self) -> Variant {
        match self {
            Self::Pull { variant, .. }
            | Self::Pulled { variant, .. }
            | Self::Push { variant, .. }
            | Self::Pushed { variant, .. }
            | Self::Started { variant, .. }
            | Self::Step { variant, .. }
            | Self::Log { variant, .. }
            | Self::Built { variant, .. }
            | Self::Failed { variant, .. }
            | Self::VerifyStarted { variant, .. }
            | Self::ServiceStarting { variant, .. }
            | Self::ServiceReady { variant, .. }
            | Self::ServiceLeftOut { variant, .. }
            | Self::Verified { variant, .. } => *variant,
        }
    }
}

impl BuildEvent {
    /// The line the front ends show for a service event (`service db (postgres:16): ready in
    /// 2.1s (a Postgres startup answered)`); `None` for other events.
    pub fn service_text(&self) -> Option<String> {
        match self {
            Self::ServiceStarting { service, image, .. } => Some(format!("service {service} ({image}): starting")),
            Self::ServiceReady { service, seconds, by, .. } => {
                Some(format!("service {service}: ready in {seconds:.1}s ({by})"))
            }
            Self::ServiceLeftOut { service, image, reason, .. } => {
                Some(format!("service {service} ({image}) left out: {reason}"))
            }
            _ => None,
        }
    }
}

/// `s` cut to at most `max` characters, the last one `…` when anything was cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A build step as shown in messages: a long instruction (an inlined script of thousands of
/// characters) is cut after [`STEP_LABEL_CHARS`] characters; the Dockerfile has it whole.
pub fn step_label(step: &str) -> String {
    shorten(step, STEP_LABEL_CHARS)
}

/// How much of a step [`step_label`] shows.
pub const STEP_LABEL_CHARS: usize = 160;
