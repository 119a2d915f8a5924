//! Render: turns a [`BuildPlan`] and a [`ScanReport`] into Dockerfile and `.dockerignore` text
//! for one [`Variant`] and [`Flavour`]. Pure text generation: no I/O, no Docker.

use crate::plan::{BuildPlan, Flavour, PlanError, Variant};
use crate::scan::ScanReport;

/// The files for one variant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub variant: Variant,
    pub flavour: Flavour,
    pub dockerfile: String,
    pub dockerignore: String,
}

/// Why a Dockerfile cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Unsupported(String),
}

/// Renders the Dockerfile and `.dockerignore` of `variant`.
pub fn render(
    plan: &BuildPlan,
    scan: &ScanReport,
    variant: Variant,
    _flavour: Flavour,
) -> Result<Rendered, RenderError> {
    let _images = plan.images(variant)?;
    let _ = scan;
    Err(RenderError::Unsupported("rendering is being written".into()))
}
