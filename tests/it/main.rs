//! The integration tests, one test binary with a module per area (the way uv's `tests/it/` and
//! ripgrep's `tests/tests.rs` do it): the dependency graph links once, not once per file.
//!
//! Tests that need the Docker daemon and the `pyslim-mirror/` stand-in images are marked
//! `#[cfg_attr(not(feature = "docker"), ignore = ...)]`: they compile in every build (so clippy
//! sees them) and run with `cargo test --test it --features docker` (what `scripts/test.sh` does).
//! With the feature on, a missing daemon or stand-in is a skip with a printed reason, and a
//! failure when `CI` is set (`common::missing`). Run one area with its module path, e.g.
//! `cargo test --test it render::` or `cargo test --test it --features docker start::`.
//!
//! Snapshots stay in `tests/snapshots/` under the names they had when each area was a binary of
//! its own (`render__NAME.snap`, `tui__NAME.snap`); fixtures stay in `tests/fixtures/`.

#[path = "../common/mod.rs"]
mod common;

mod cleanup;
mod compose;
mod daemons;
mod deps;
mod diagnose;
mod docs;
mod elf;
mod engine;
mod faults;
mod fuzz;
mod hardening;
mod helpers;
mod install;
mod layering;
mod minimal;
mod python_choice;
mod pyver;
mod registry;
mod remote;
mod render;
mod scan;
mod secrets;
mod sidecars;
mod source_builds;
mod standins;
mod start;
mod start_commands;
mod tui;
mod tui_e2e;
mod vcs;
mod writable;

/// Under `CI` the Docker tests run: without the feature they would pass as ignored.
#[test]
fn ci_runs_the_docker_tests() {
    let docker_tests_compiled_in = cfg!(feature = "docker");
    if std::env::var_os("CI").is_some() && !docker_tests_compiled_in {
        panic!(
            "CI is set but the Docker tests are ignored: run `cargo test --test it --features docker` \
             (scripts/test.sh does)"
        );
    }
}
