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

/// Something that happened while building or verifying one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BuildEvent {
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
}

impl BuildEvent {
    pub fn variant(&self) -> Variant {
        match self {
            Self::Started { variant, .. }
            | Self::Step { variant, .. }
            | Self::Log { variant, .. }
            | Self::Built { variant, .. }
            | Self::Failed { variant, .. }
            | Self::VerifyStarted { variant, .. }
            | Self::Verified { variant, .. } => *variant,
        }
    }
}
