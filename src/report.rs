//! Report: the comparison of built variants (sizes, layers by role, ratios, verify results) and
//! its text, Markdown and JSON forms. Pure data and formatting; the engine fills it.

use serde::Serialize;

use crate::plan::Variant;

/// What a layer holds, so the report can say where the bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerRole {
    /// Layers of the base image.
    Base,
    /// The installed dependencies (the venv, or site-packages of a single-stage image).
    Dependencies,
    /// The application source.
    App,
    /// Anything else (users, metadata, system packages).
    Other,
}

/// One image layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layer {
    pub size_bytes: u64,
    pub role: LayerRole,
    /// The instruction that created it (`COPY --from=builder /opt/venv /opt/venv`).
    pub created_by: String,
}

/// The result of building (and verifying) one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantResult {
    pub name: Variant,
    pub image: String,
    pub size_bytes: u64,
    pub layers: Vec<Layer>,
    pub build_seconds: f64,
    /// `None` when verify was not run.
    pub verified: Option<bool>,
    pub verify_detail: Option<String>,
    pub dockerfile: String,
}

/// A side-by-side comparison of variants.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Comparison {
    pub project: String,
    pub variants: Vec<VariantResult>,
}
