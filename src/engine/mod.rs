//! Engine: talks to the Docker Engine API (bollard): connect, build context, build, inspect,
//! run and verify, clean up. Reports progress as [`events::BuildEvent`]s through a channel so
//! the CLI and the TUI show the same thing.

pub mod events;
