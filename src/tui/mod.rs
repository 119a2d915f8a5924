//! The interactive wizard (`pyslim tui`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::PlanArgs;

pub fn run(_project: &Path, _plan: &PlanArgs) -> Result<ExitCode> {
    bail!("pyslim tui is not available yet")
}
