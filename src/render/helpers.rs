//! The helper files a generated Dockerfile runs: the `pyslim_helpers` package
//! (`assets/helpers/pyslim_helpers/`, linted and tested there), written beside the Dockerfile in
//! `.pyslim/pyslim_helpers/` and copied into the image by the Dockerfile, never inlined in it.
//!
//! Owns which files those are, their places (in the project, the build context, the builder and
//! the final image), the one-line header each written copy starts with (the package version and
//! the sha256 of the rest, so that pyslim refreshes its own copy but never silently replaces one
//! the user edited) and the trace hook the engine uploads for a tracing run. Where the steps
//! that run them sit is `stages`', `elf`'s and `minimal`'s.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::layout::VENV;

/// The package's import name.
pub const PACKAGE: &str = "pyslim_helpers";
/// The package's folder in the project, beside the trace (`.pyslim/trace.txt`).
pub const DIR: &str = ".pyslim/pyslim_helpers";
/// The folder on the builder's `PYTHONPATH` that holds the package.
pub const BUILDER_ROOT: &str = "/pyslim/helpers";
/// The launcher's place in the final image (copied alone: it imports nothing of the package).
pub const LAUNCHER_IN_IMAGE: &str = "/pyslim/launch.py";
/// The launcher module's file name.
pub const LAUNCHER: &str = "launch.py";

/// The modules written beside a Dockerfile (the trace hook is the engine's, never written).
const MODULES: &[(&str, &str)] = &[
    ("__init__.py", include_str!("../../assets/helpers/pyslim_helpers/__init__.py")),
    ("elf.py", include_str!("../../assets/helpers/pyslim_helpers/elf.py")),
    ("loader.py", include_str!("../../assets/helpers/pyslim_helpers/loader.py")),
    ("libs.py", include_str!("../../assets/helpers/pyslim_helpers/libs.py")),
    ("assemble.py", include_str!("../../assets/helpers/pyslim_helpers/assemble.py")),
    (LAUNCHER, include_str!("../../assets/helpers/pyslim_helpers/launch.py")),
];

/// The audit hook of a tracing run, uploaded by the engine as `sitecustomize.py`.
pub const TRACE_HOOK: &str = include_str!("../../assets/helpers/pyslim_helpers/trace_hook.py");

/// One helper file as pyslim writes it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HelperFile {
    /// Relative to the project folder (`.pyslim/pyslim_helpers/libs.py`): where `--write` puts it.
    pub path: String,
    /// Relative to the build context root (the same, under a workspace member's folder).
    pub in_context: String,
    /// The module's text after the header line.
    pub content: String,
}

/// The package version (`__version__` in `__init__.py`), named by every Dockerfile that uses it.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        MODULES[0]
            .1
            .lines()
            .find_map(|l| l.strip_prefix("__version__ = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("__init__.py holds __version__ (a unit test checks)")
            .to_string()
    })
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

const HEADER_START: &str = "# pyslim_helpers ";

/// `# pyslim_helpers 1.0, written by `pyslim dockerfile --write` (sha256 …)`: the line above
/// each written module.
fn header(body: &str) -> String {
    format!(
        "{HEADER_START}{}, written by `pyslim dockerfile --write`; edits are kept (sha256 {})\n",
        version(),
        sha256_hex(body)
    )
}

/// The files a Dockerfile that uses the helpers needs, for a project at `member` inside the
/// build context (`None`: the project is the context).
pub fn files(member: Option<&str>) -> Vec<HelperFile> {
    MODULES
        .iter()
        .map(|(name, body)| {
            let path = format!("{DIR}/{name}");
            HelperFile { in_context: in_context(member, &path), path, content: format!("{}{body}", header(body)) }
        })
        .collect()
}

/// `path` (relative to the project) in the build context.
pub(crate) fn in_context(member: Option<&str>, path: &str) -> String {
    match member {
        Some(m) => format!("{m}/{path}"),
        None => path.to_string(),
    }
}

/// Whether an existing helper file is one pyslim wrote and nobody changed since: its header's
/// hash matches the rest. Such a file is refreshed without asking; any other is the user's.
pub fn is_pristine(existing: &str) -> bool {
    let Some((first, body)) = existing.split_once('\n') else { return false };
    if !first.starts_with(HEADER_START) {
        return false;
    }
    let Some(hash) = first.rsplit_once("(sha256 ").and_then(|(_, h)| h.strip_suffix(')')) else {
        return false;
    };
    hash == sha256_hex(body)
}

/// `COPY` of the package into the builder (its folder goes on `PYTHONPATH` for one command).
pub(crate) fn copy_package(member: Option<&str>) -> String {
    format!("COPY {}/ {BUILDER_ROOT}/{PACKAGE}/", in_context(member, DIR))
}

/// `PYTHONPATH=… /opt/venv/bin/python [flags] -m pyslim_helpers.MODULE`: a helper run with the
/// venv's interpreter (the one the image runs).
pub(crate) fn run_module(flags: &str, module: &str) -> String {
    let flags = if flags.is_empty() { String::new() } else { format!("{flags} ") };
    format!("PYTHONPATH={BUILDER_ROOT} {VENV}/bin/python {flags}-m {PACKAGE}.{module}")
}

/// `COPY` of the launcher alone into the final stage.
pub(crate) fn copy_launcher(member: Option<&str>) -> String {
    format!("COPY {} {LAUNCHER_IN_IMAGE}", in_context(member, &format!("{DIR}/{LAUNCHER}")))
}

/// The Dockerfile comment that names the helpers.
pub(crate) fn named(module: &str) -> String {
    format!("{PACKAGE} {} ({DIR}/{module}, written beside this Dockerfile)", version())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_the_package() {
        assert!(!version().is_empty() && version().chars().all(|c| c.is_ascii_digit() || c == '.'), "{}", version());
    }

    #[test]
    fn written_files_are_pristine_until_edited() {
        let written = files(None);
        assert_eq!(written.len(), MODULES.len());
        for f in &written {
            assert!(f.path.starts_with(".pyslim/pyslim_helpers/") && f.path == f.in_context, "{f:?}");
            assert!(f.content.starts_with("# pyslim_helpers "), "{}", f.content);
            assert!(is_pristine(&f.content), "{}", f.path);
            let edited = f.content.replacen('\n', "\n# my change\n", 2);
            assert!(!is_pristine(&edited), "{}", f.path);
        }
        assert!(!is_pristine("print('mine')\n"));
        assert!(!is_pristine(""));
        let member = files(Some("packages/api"));
        assert_eq!(member[0].in_context, "packages/api/.pyslim/pyslim_helpers/__init__.py");
        assert_eq!(member[0].path, ".pyslim/pyslim_helpers/__init__.py");
    }

    #[test]
    fn every_module_of_the_package_is_written_or_the_engines() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helpers/pyslim_helpers");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        on_disk.sort();
        let mut known: Vec<String> = MODULES.iter().map(|(n, _)| n.to_string()).collect();
        known.push("trace_hook.py".into());
        known.sort();
        assert_eq!(on_disk, known);
    }

    #[test]
    fn the_launcher_stays_small() {
        let launcher = MODULES.iter().find(|(n, _)| *n == LAUNCHER).unwrap().1;
        assert!(launcher.len() < 4096, "{} bytes", launcher.len());
    }
}
