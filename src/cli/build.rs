//! `pyslim build` and `pyslim compare`: progress display and result formats over `engine`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use super::{PlanArgs, ProjectArgs};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Tag for the image (default pyslim/<project>:<variant>).
    #[arg(long)]
    pub tag: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Variants to build, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub variants: Option<Vec<crate::plan::Variant>>,
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    #[arg(long)]
    pub markdown: bool,
}

pub fn build(_args: BuildArgs) -> Result<ExitCode> {
    bail!("pyslim build is not available yet")
}

pub fn compare(_args: CompareArgs) -> Result<ExitCode> {
    bail!("pyslim compare is not available yet")
}
