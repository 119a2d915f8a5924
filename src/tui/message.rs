//! What flows through the wizard: [`Msg`] (everything that happens: keys, ticks, results of
//! background work) into `update`, and [`Command`] (side effects `update` asks for) out to the
//! runtime. Both are plain data, so the flow can be driven in tests without a terminal.

use std::path::PathBuf;
use std::time::Duration;

use ratatui::crossterm::event::KeyEvent;

use crate::engine::events::BuildEvent;
use crate::plan::{BuildPlan, Config, Flavour, Variant};
use crate::report::{Comparison, PushedImage, SkippedVariant};
use crate::scan::ScanReport;

/// Everything the wizard learns about the project folder in the background.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub scan: ScanReport,
    /// `pyslim.toml`, when the project has one.
    pub config: Option<Config>,
    /// Text of the project's existing `Dockerfile`, for the diff in the preview.
    pub existing_dockerfile: Option<String>,
}

/// One message into `update`.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal was resized (the next draw uses the new size).
    Resize(u16, u16),
    /// Time since the wizard started; drives spinners and elapsed times.
    Tick(Duration),
    /// The scan (and `pyslim.toml`) finished, or the reason it could not run.
    Loaded(Result<Box<Loaded>, String>),
    /// Whether a Docker daemon answers: its description, or the engine's reason why not.
    Docker(Result<String, String>),
    /// Progress of a running build, exactly as the engine reports it.
    Build(BuildEvent),
    /// All builds (and verify runs) ended: the comparison, or why the run failed as a whole.
    BuildFinished(Result<Comparison, String>),
    /// A cancelled build has stopped and its containers are gone.
    BuildCancelled,
    /// What writing `files` would do to each (new, unchanged or replacing).
    WriteChecked {
        purpose: WritePurpose,
        files: Vec<FileToWrite>,
    },
    /// Files were written: one human line per file, or the error.
    Written(Result<Vec<String>, String>),
    /// A push from the results screen ended: where it went and its digest, or why it failed.
    Pushed(Variant, Result<PushedImage, String>),
    /// SIGTERM or SIGHUP: leave like Ctrl-C (a running build is stopped and cleaned up first).
    Terminate,
}

/// Why files are being written (decides the wording of the dialogs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePurpose {
    /// Dockerfile, .dockerignore and pyslim.toml from the preview.
    ProjectFiles,
    /// The comparison, from the results screen.
    Export,
}

/// What writing a file would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Not checked yet.
    Unknown,
    New,
    /// Same content already there: nothing to write.
    Unchanged,
    /// A different file is there: replacing it needs the user's yes (a backup is kept).
    Differs,
}

/// A file the wizard offers to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileToWrite {
    pub path: PathBuf,
    pub content: String,
    pub state: FileState,
    /// The user agreed to replace the existing file.
    pub replace: bool,
}

/// Everything a build run needs; the runtime hands it to the engine.
#[derive(Clone, Debug)]
pub struct BuildJob {
    pub plan: BuildPlan,
    pub scan: ScanReport,
    pub variants: Vec<Variant>,
    pub flavour: Flavour,
    /// Variants not built because their images cannot work, with the reason.
    pub skipped: Vec<SkippedVariant>,
}

/// A side effect that `update` asks the runtime to perform.
#[derive(Clone, Debug)]
pub enum Command {
    /// Scan the project and read `pyslim.toml` and the existing Dockerfile; answers `Msg::Loaded`.
    Load(PathBuf),
    /// Ask the engine whether a daemon answers; answers `Msg::Docker`.
    CheckDocker,
    /// Find out what writing the files would do; answers `Msg::WriteChecked`.
    CheckWrite { purpose: WritePurpose, files: Vec<FileToWrite> },
    /// Write the files (`fsutil::write_file`, replacing only those with `replace`); answers `Msg::Written`.
    Write(Vec<FileToWrite>),
    /// Build, verify and compare; answers with `Msg::Build` events, then `Msg::BuildFinished`.
    StartBuild(Box<BuildJob>),
    /// Stop the running build and remove its containers; answers `Msg::BuildCancelled`.
    CancelBuild,
    /// Tag the verified image `source` as `target` and push it; answers with `Msg::Build` push
    /// events, then `Msg::Pushed`.
    Push { variant: Variant, source: String, target: String },
    /// Leave the wizard (after stopping any build).
    Quit,
}
