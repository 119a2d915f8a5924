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
    #[serde(default)]
    python: Vec<PythonRelease>,
}

/// A CPython minor and the date of its X.Y.0 release (`[[python]]` in `assets/images.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonRelease {
    pub version: PythonVersion,
    /// `YYYY-MM-DD`.
    pub released: String,
}

fn file() -> &'static CatalogueFile {
    static CELL: OnceLock<CatalogueFile> = OnceLock::new();
    CELL.get_or_init(|| toml::from_str(IMAGES_TOML).expect("assets/images.toml is checked by a unit test"))
}

/// All catalogue images, parsed once from the embedded asset.
pub fn all() -> &'static [BaseImage] {
    &file().image
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub fn days(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if s.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `YYYY-MM-DD` of a day count from [`days`].
pub fn date(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// How long after a CPython minor's release compiled packages commonly have wheels for it.
pub const WHEELS_AFTER_PYTHON_DAYS: i64 = 90;

/// The date from which releases commonly have wheels for CPython `v` (its release plus
/// [`WHEELS_AFTER_PYTHON_DAYS`]), `YYYY-MM-DD`.
pub fn python_wheels_from(v: PythonVersion) -> Option<String> {
    python_released(v).and_then(days).map(|d| date(d + WHEELS_AFTER_PYTHON_DAYS))
}

/// The date CPython `v`.0 was released, when the catalogue knows it.
pub fn python_released(v: PythonVersion) -> Option<&'static str> {
    file().python.iter().find(|p| p.version == v).map(|p| p.released.as_str())
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
    fn python_release_dates_and_date_arithmetic() {
        for v in versions(Family::PythonSlim) {
            let r = python_released(v).unwrap_or_else(|| panic!("no [[python]] release date for {v}"));
            assert!(days(r).is_some(), "{v}: {r}");
        }
        assert_eq!(python_wheels_from("3.13".parse().unwrap()).as_deref(), Some("2025-01-05"));
        assert_eq!(days("1970-01-01"), Some(0));
        for d in ["2024-02-29", "2023-12-31", "2000-03-01", "1999-12-31"] {
            assert_eq!(date(days(d).unwrap()), d);
        }
        assert_eq!(date(days("2024-02-28").unwrap() + 2), "2024-03-01");
        assert_eq!(days("2024-13-01"), None);
        assert_eq!(days("yesterday"), None);
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
