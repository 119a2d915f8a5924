//! Fixed places shared by every stage: where the venv and the source live in an image, and the
//! build-context folder that carries build secrets.
//!
//! Owns constants only. `scan` (which warns about the secrets folder), `plan`, `render` and
//! `engine` (which adds the secrets to the context) all look down at it.

/// Where the virtualenv lives, in the builder and at run time alike.
pub const VENV: &str = "/opt/venv";
/// Where the application source lives in the image.
pub const APP_DIR: &str = "/app";
/// Folder of the build context where pyslim adds the build secrets (never the project's own).
pub const SECRETS_DIR: &str = ".pyslim-secrets";
/// The `minimal` variant's trace in the project: what a traced run of the service loaded.
/// Written by pyslim, committed by the user, read by the minimal Dockerfile's builder stage.
pub const TRACE_FILE: &str = ".pyslim/trace.txt";
/// Stands for the site-packages folder of the image's environment in a writable path
/// (`{site-packages}/blog`): an installed package's folder, resolved in the builder stage.
pub const SITE_PACKAGES: &str = "{site-packages}";
