//! The base-image catalogue (`assets/images.toml`, embedded) and the image-mirror mapping.
//!
//! Owns: what pyslim knows about public base images (Python version, interpreter path, shell,
//! libc, default user, end of life), lookups by reference or by (family, Python version), and the
//! rewriting of a public reference to a mirror (`PYSLIM_IMAGE_MIRROR`). It does not decide which
//! image a project should use: that is `plan`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::python::PythonVersion;

const IMAGES_TOML: &str = include_str!("../assets/images.toml");

/// Family of a base image, which decides how a Dockerfile may use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Official `python:3.X`: Debian, compilers, ~1 GB.
    Python,
    /// Official `python:3.X-slim`: Debian, no compilers.
    PythonSlim,
    /// Official `python:3.X-alpine`: musl libc.
    PythonAlpine,
    /// `gcr.io/distroless/python3-*`: no shell, no package manager.
    Distroless,
    /// An image the user named that the catalogue does not know.
    Custom,
}

/// C library of an image: manylinux wheels need glibc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    Glibc,
    Musl,
}

/// One base image: what a Dockerfile author must know about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseImage {
    /// Reference as published, e.g. `python:3.13-slim`, `gcr.io/distroless/python3-debian13:nonroot`.
    #[serde(rename = "ref")]
    pub reference: String,
    pub family: Family,
    pub python: PythonVersion,
    /// Absolute path of the `python3.X` interpreter in the image.
    pub interpreter: String,
    /// Whether `/bin/sh` exists (RUN and shell-form CMD need it).
    pub shell: bool,
    pub libc: Libc,
    /// Default user of the image (`root` or a uid).
    pub user: String,
    /// Whether the image can compile C extensions (gcc, headers).
    #[serde(default)]
    pub compilers: bool,
    /// Approximate uncompressed size on amd64, in MB (a hint for the wizard; builds measure).
    #[serde(default)]
    pub approx_mb: u32,
    /// End of life (year-month) when the tag is no longer rebuilt.
    #[serde(default)]
    pub eol: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl BaseImage {
    /// A user-supplied image the catalogue does not know; the user states its Python version and
    /// interpreter path (and whether it has a shell).
    pub fn custom(reference: &str, python: PythonVersion, interpreter: &str, shell: bool) -> Self {
        Self {
            reference: reference.to_string(),
            family: Family::Custom,
            python,
            interpreter: interpreter.to_string(),
            shell,
            libc: Libc::Glibc,
            user: "root".into(),
            compilers: shell,
            approx_mb: 0,
            eol: None,
            note: None,
        }
    }

    pub fn is_eol(&self) -> bool {
        self.eol.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    image: Vec<BaseImage>,
}

/// All catalogue images, parsed once from the embedded asset.
pub fn all() -> &'static [BaseImage] {
    static CELL: OnceLock<Vec<BaseImage>> = OnceLock::new();
    CELL.get_or_init(|| {
        let file: CatalogueFile = toml::from_str(IMAGES_TOML).expect("assets/images.toml is checked by a unit test");
        file.image
    })
}

/// Looks an image up by reference. `docker.io/library/python:3.13` and `python:3.13` are the same.
pub fn find(reference: &str) -> Option<&'static BaseImage> {
    let wanted = normalize(reference);
    all().iter().find(|i| normalize(&i.reference) == wanted)
}

/// The catalogue image of a family for a Python version (for distroless the `nonroot` tag when
/// `nonroot` is true, else `latest`; debug tags are never chosen automatically).
pub fn for_family(family: Family, python: PythonVersion, nonroot: bool) -> Option<&'static BaseImage> {
    all().iter().find(|i| {
        i.family == family
            && i.python == python
            && match family {
                Family::Distroless => {
                    let tag = tag_of(&i.reference);
                    tag == if nonroot { "nonroot" } else { "latest" }
                }
                _ => true,
            }
    })
}

/// Python versions the catalogue offers for a family, oldest first.
pub fn versions(family: Family) -> Vec<PythonVersion> {
    let mut v: Vec<_> = all().iter().filter(|i| i.family == family).map(|i| i.python).collect();
    v.sort();
    v.dedup();
    v
}

fn tag_of(reference: &str) -> &str {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.split_once(':').map(|(_, t)| t).unwrap_or("latest")
}

/// `docker.io/library/python:3.13` -> `python:3.13`; a missing tag becomes `:latest`.
pub fn normalize(reference: &str) -> String {
    let r = reference.trim();
    let r = r.strip_prefix("docker.io/").unwrap_or(r);
    let r = r.strip_prefix("index.docker.io/").unwrap_or(r);
    let r = r.strip_prefix("library/").unwrap_or(r);
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') || last.contains('@') { r.to_string() } else { format!("{r}:latest") }
}

/// Rewrites a public image reference to a mirror: the registry host and Docker Hub's `library/`
/// are dropped and the mirror prefix added. `python:3.13-slim` with mirror
/// `registry.example/mirror` -> `registry.example/mirror/python:3.13-slim`;
/// `gcr.io/distroless/python3-debian13:nonroot` -> `registry.example/mirror/distroless/python3-debian13:nonroot`.
/// An empty mirror leaves the reference as it is.
pub fn mirror(reference: &str, mirror: Option<&str>) -> String {
    let Some(prefix) = mirror.map(|m| m.trim().trim_end_matches('/')).filter(|m| !m.is_empty()) else {
        return reference.to_string();
    };
    let mut path = reference.trim();
    if let Some((first, rest)) = path.split_once('/') {
        // A first component with a dot or port, or `localhost`, is a registry host.
        if first.contains('.') || first.contains(':') || first == "localhost" {
            path = rest;
        }
    }
    let path = path.strip_prefix("library/").unwrap_or(path);
    if reference.starts_with(&format!("{prefix}/")) {
        return reference.to_string();
    }
    format!("{prefix}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses_and_every_entry_is_consistent() {
        let all = all();
        assert!(all.len() >= 20);
        for i in all {
            assert!(i.interpreter.ends_with(&format!("python{}", i.python)), "{}", i.reference);
            assert!(i.interpreter.starts_with('/'), "{}", i.reference);
            if i.family == Family::Distroless && !i.reference.contains(":debug") {
                assert!(!i.shell, "{} has no shell", i.reference);
            }
            // every entry is reachable through a lookup that pyslim uses
            assert_eq!(find(&i.reference), Some(i));
        }
    }

    #[test]
    fn distroless_versions_and_eol() {
        let d13 = for_family(Family::Distroless, PythonVersion::new(3, 13), true).unwrap();
        assert_eq!(d13.reference, "gcr.io/distroless/python3-debian13:nonroot");
        assert_eq!(d13.interpreter, "/usr/bin/python3.13");
        assert_eq!(d13.user, "65532");
        assert!(!d13.is_eol());
        let d12 = for_family(Family::Distroless, PythonVersion::new(3, 11), false).unwrap();
        assert!(d12.is_eol());
        assert!(for_family(Family::Distroless, PythonVersion::new(3, 12), false).is_none());
    }

    #[test]
    fn mirror_rewrites() {
        let m = Some("registry.example/mirror");
        assert_eq!(mirror("python:3.13-slim", m), "registry.example/mirror/python:3.13-slim");
        assert_eq!(
            mirror("gcr.io/distroless/python3-debian13:nonroot", m),
            "registry.example/mirror/distroless/python3-debian13:nonroot"
        );
        assert_eq!(mirror("docker.io/library/python:3.11", Some("pyslim-mirror")), "pyslim-mirror/python:3.11");
        assert_eq!(mirror("python:3.11", None), "python:3.11");
        assert_eq!(mirror("python:3.11", Some("")), "python:3.11");
        assert_eq!(mirror("pyslim-mirror/python:3.11", Some("pyslim-mirror/")), "pyslim-mirror/python:3.11");
    }

    #[test]
    fn normalize_refs() {
        assert_eq!(normalize("docker.io/library/python:3.13"), "python:3.13");
        assert_eq!(normalize("gcr.io/distroless/python3-debian13"), "gcr.io/distroless/python3-debian13:latest");
        assert_eq!(normalize("localhost:5000/x"), "localhost:5000/x:latest");
    }
}
