//! pyslim: turn a Python web service into a small multi-stage container image that really runs,
//! and prove the saving.
//!
//! The pipeline is a chain of stages with plain data between them:
//!
//! ```text
//! scan (ScanReport: project facts, each with its source)
//!   -> plan (BuildPlan: the user's choices = pyslim.toml, resolved against the catalogue)
//!   -> render (Dockerfile + .dockerignore text for one Variant)
//!   -> engine (bollard: context, build, inspect, run/verify)
//!   -> report (Comparison of the variants)
//! ```
//!
//! The CLI (`src/main.rs`, `cli`) and the TUI (`tui`) are thin front ends over these modules.

pub mod catalogue;
pub mod cli;
pub mod demo;
pub mod engine;
pub mod fsutil;
pub mod ignorefile;
pub mod layout;
pub mod plan;
pub mod python;
pub mod render;
pub mod report;
pub mod scan;
pub mod servers;
pub mod sidecars;
pub mod tui;
