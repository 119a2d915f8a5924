//! The interactive wizard (`pyslim tui`): scan, choose images, entrypoint and options, preview
//! and write the Dockerfile, build and verify every variant, and chart the sizes.
//!
//! The Elm Architecture: one state ([`App`], `app.rs`), one message type ([`Msg`], with the
//! side effects it asks for as [`Command`]s, `message.rs`), a pure [`update`] (`update.rs`), a
//! pure view per screen (`view/`), and a runtime (`runtime.rs`) that owns the terminal, feeds
//! messages from the keyboard and from background work through one channel, and executes
//! commands. The wizard calls the same library as the CLI (`scan`, `plan`, `render`, `engine`):
//! no decision about images or Dockerfiles lives only here.

pub mod app;
pub mod highlight;
pub mod input;
pub mod message;
pub mod runtime;
pub mod theme;
pub mod update;
pub mod view;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::plan::Overrides;

pub use app::{App, Step};
pub use message::{Command, Msg};
pub use theme::Theme;
pub use update::update;

/// Runs the wizard on `project` with the front end's choices (flags already turned into
/// [`Overrides`], so the wizard never sees the command line's types).
pub fn run(project: &Path, overrides: Overrides) -> Result<ExitCode> {
    let app = App::new(project.to_path_buf(), overrides, Theme::from_env());
    runtime::run(app)
}
