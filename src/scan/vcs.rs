//! Dependencies installed from version control (git, and pip's other VCS schemes): the entries
//! of the lock (`poetry.lock` `[package.source] type = "git"`, `uv.lock` `source = { git = ... }`,
//! `pdm.lock` `git = ...`, `Pipfile.lock` `"git": ...`) and the `git+https://...` lines of
//! requirement files and other declarations. Owns the repository URL as shown (credentials never
//! kept), its host, whether the entry is editable, and the warning for a requirements file that
//! mixes `--hash` options with a repository (pip refuses it). It does not decide how the
//! Dockerfile installs them (`render`) nor explain a failed clone (`engine::diagnose`).

use serde::Serialize;

use super::files::Ctx;
use super::lock::normalize;
use super::{Fact, ScanReport};

/// One dependency installed from a version-control repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VcsDependency {
    /// PEP 503 name (`greeting`).
    pub name: String,
    /// The repository as pip names it (`git+https://host/acme/greeting.git@9c98bd2`), without
    /// credentials.
    pub url: String,
    /// The host the build has to reach (`host`, `github.com`), empty for `file://`.
    pub host: String,
    /// Whether it is installed editable (`-e git+...`, Pipfile.lock `"editable": true`).
    pub editable: bool,
}

/// `git+https://user:token@host/x.git` -> `git+https://host/x.git`, and its host.
fn shown_url(url: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), String::new()) };
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = host_port.rsplit_once(':').map(|(h, _)| h).unwrap_or(host_port).to_string();
    (format!("{scheme}://{host_port}{path}"), host)
}

/// The VCS URL of a requirement (`name @ git+https://...`, `-e git+https://...#egg=name`,
/// `git+https://...#egg=name`), when it names one.
pub fn requirement_url(requirement: &str) -> Option<&str> {
    let t = requirement.trim();
    let t = t.strip_prefix("--editable").or_else(|| t.strip_prefix("-e")).unwrap_or(t).trim_start_matches(['=', ' ']);
    // a scheme at the start or after `@`, a space or `=` (not inside a name: `digit+x`)
    let start = ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .flat_map(|s| t.match_indices(s).map(|(i, _)| i))
        .filter(|&i| i == 0 || t[..i].ends_with([' ', '@', '=']))
        .min()?;
    let url = &t[start..];
    Some(url.split([' ', ';']).next().unwrap_or(url))
}

fn entry(name: &str, url: &str, editable: bool) -> VcsDependency {
    let (url, host) = shown_url(url);
    VcsDependency { name: normalize(name), url, host, editable }
}

/// The VCS entries of a lock's text.
fn from_lock(ctx: &mut Ctx, file: &str, shown: &str) -> Vec<Fact<VcsDependency>> {
    let Some(text) = ctx.read(file) else { return Vec::new() };
    let base = file.rsplit('/').next().unwrap_or(file);
    let mut out = Vec::new();
    if base == "Pipfile.lock" {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return out };
        // Only the default packages reach the image.
        for (name, spec) in v.get("default").and_then(|d| d.as_object()).into_iter().flatten() {
            let Some(repo) = spec.get("git").and_then(|g| g.as_str()) else { continue };
            let rev = spec.get("ref").and_then(|r| r.as_str()).map(|r| format!("@{r}")).unwrap_or_default();
            let editable = spec.get("editable").and_then(|e| e.as_bool()).unwrap_or(false);
            let url = format!("git+{repo}{rev}");
            out.push(Fact::new(entry(name, &url, editable), format!("{shown} [default] {name}")));
        }
        return out;
    }
    let Ok(table) = toml::from_str::<toml::Table>(&text) else { return out };
    for p in table.get("package").and_then(|p| p.as_array()).into_iter().flatten() {
        let Some(name) = p.get("name").and_then(|n| n.as_str()) else { continue };
        let url = match base {
            "poetry.lock" => {
                let Some(src) = p.get("source").filter(|s| s.get("type").and_then(|t| t.as_str()) == Some("git"))
                else {
                    continue;
                };
                // Only the main group reaches the image (Poetry 1: category = "main").
                let groups = p.get("groups").and_then(|g| g.as_array());
                let main = match groups {
                    Some(g) => g.iter().any(|g| g.as_str() == Some("main")),
                    None => p.get("category").and_then(|c| c.as_str()).is_none_or(|c| c == "main"),
                };
                if !main {
                    continue;
                }
                let repo = src.get("url").and_then(|u| u.as_str()).unwrap_or_default();
                let rev = src
                    .get("resolved_reference")
                    .or_else(|| src.get("reference"))
                    .and_then(|r| r.as_str())
                    .map(|r| format!("@{r}"))
                    .unwrap_or_default();
                format!("git+{repo}{rev}")
            }
            "uv.lock" => {
                let Some(git) = p.get("source").and_then(|s| s.get("git")).and_then(|g| g.as_str()) else { continue };
                // `https://host/x.git?rev=main#<sha>`: the commit after `#`.
                let (repo, sha) = git.split_once('#').unwrap_or((git, ""));
                let repo = repo.split('?').next().unwrap_or(repo);
                if sha.is_empty() { format!("git+{repo}") } else { format!("git+{repo}@{sha}") }
            }
            "pdm.lock" => {
                let Some(repo) = p.get("git").and_then(|g| g.as_str()) else { continue };
                let rev = p.get("revision").and_then(|r| r.as_str()).map(|r| format!("@{r}")).unwrap_or_default();
                format!("git+{repo}{rev}")
            }
            _ => continue,
        };
        out.push(Fact::new(entry(name, &url, false), format!("{shown} [[package]] {name}")));
    }
    out
}

/// Whether `file` (a requirements file) carries `--hash` options, which put pip in its
/// hash-checking mode for every line.
fn has_hashes(ctx: &mut Ctx, file: &str) -> bool {
    ctx.read(file).is_some_and(|t| t.lines().any(|l| l.contains("--hash")))
}

/// Fills `report.vcs_dependencies` and warns about a requirements file pip will refuse.
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport) {
    let mut found: Vec<Fact<VcsDependency>> = Vec::new();
    if let Some(lock) = report.lockfile.as_ref().filter(|l| !l.value.ends_with(".txt")) {
        found = from_lock(ctx, &lock.value.clone(), &lock.value.clone());
    }
    for d in &report.dependencies {
        let Some(url) = requirement_url(&d.requirement) else { continue };
        let name = normalize(&d.name);
        if found.iter().any(|f| f.value.name == name) {
            continue;
        }
        let editable = d.requirement.trim_start().starts_with("-e") || d.requirement.contains("--editable");
        found.push(Fact::new(entry(&name, url, editable), d.source.clone()));
    }
    for f in &found {
        let file = f.source.split(':').next().unwrap_or_default();
        let line_is_file = f.source.contains(':') && file.ends_with(".txt");
        if line_is_file && has_hashes(ctx, file) {
            ctx.warn(format!(
                "{}: {} comes from a git repository and {file} has --hash options: pip refuses the whole file \
                 (it cannot hash a repository); drop the hashes, or install {} in a step of its own",
                f.source, f.value.name, f.value.name
            ));
        }
    }
    report.vcs_dependencies = found;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_and_name_their_host() {
        let (url, host) = shown_url("git+https://deploy:s3cret@git.example.com:8443/acme/x.git@v1");
        assert_eq!(url, "git+https://git.example.com:8443/acme/x.git@v1");
        assert_eq!(host, "git.example.com");
        assert_eq!(shown_url("git+ssh://git@github.com/acme/x.git").1, "github.com");
        assert_eq!(shown_url("git+file:///srv/x.git").1, "");
    }

    #[test]
    fn requirement_forms() {
        assert_eq!(
            requirement_url("greeting @ git+https://h/x.git@abc ; python_version >= \"3.8\""),
            Some("git+https://h/x.git@abc")
        );
        assert_eq!(requirement_url("-e git+https://h/x.git#egg=x"), Some("git+https://h/x.git#egg=x"));
        assert_eq!(requirement_url("--editable=git+https://h/x.git#egg=x"), Some("git+https://h/x.git#egg=x"));
        assert_eq!(requirement_url("hg+https://h/x#egg=x"), Some("hg+https://h/x#egg=x"));
        assert_eq!(requirement_url("flask==3.0.0"), None);
        assert_eq!(requirement_url("digit+thing==1"), None);
    }
}
