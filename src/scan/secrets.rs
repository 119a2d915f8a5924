//! Secrets in the build context: files that `docker build` would send to the daemon (given the
//! project's `.dockerignore`, matched with Docker's own rules: last match wins, `!` re-includes,
//! `**`, parent folders) and that should never be in an image layer: `.env*` (not the
//! `.example`/`.sample`/`.template` ones), private keys and certificates, cloud credentials,
//! `.npmrc`/`.pypirc` with tokens, service-account JSON, and `.git`. The walk here ignores
//! `.gitignore` on purpose: git-ignored files still enter a Docker build context.
//!
//! It also watches the other way a build-only file leaks, into git: a `.pyslim-secrets/`
//! folder in the project (pyslim never sends it, but a user may keep token files there) that
//! the `.gitignore` does not cover.

use std::path::Path;

use ignore::WalkBuilder;
use ignore::gitignore::GitignoreBuilder;

use crate::ignorefile::DockerIgnore;
use crate::layout::SECRETS_DIR;

use super::ScanReport;
use super::files::Ctx;
use super::walk::skipped_dir;

/// Entries looked at, at most.
const MAX_ENTRIES: usize = 200_000;
/// Largest JSON/rc file opened to look inside.
const MAX_PEEK: u64 = 256 * 1024;

/// The project's `.dockerignore`, compiled (an empty matcher when there is none or it is invalid).
pub fn load_ignore(ctx: &mut Ctx) -> DockerIgnore {
    match ctx.exists(".dockerignore").then(|| ctx.read(".dockerignore")).flatten() {
        Some(text) => match DockerIgnore::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                ctx.warn(format!("{e}; the .dockerignore was not applied when looking for secrets"));
                DockerIgnore::default()
            }
        },
        None => DockerIgnore::default(),
    }
}

/// Files that would enter the build context (relative paths). Runs on its own thread while the
/// other detectors work, so it takes no `Ctx`.
pub fn context_files(root: &Path, ignore: &DockerIgnore) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    if std::fs::symlink_metadata(root.join(".git")).is_ok() && !ignore.is_excluded(".git") {
        found.push(".git".into());
    }
    let mut b = WalkBuilder::new(root);
    // filter_entry wants 'static data.
    let (prune_root, prune_ignore) = (root.to_path_buf(), ignore.clone());
    b.standard_filters(false).follow_links(false).max_depth(Some(8)).filter_entry(move |e| {
        if e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) {
            return true;
        }
        let name = e.file_name().to_string_lossy();
        // The project's own .pyslim-secrets/ is never sent (engine::context), so not looked at.
        if e.depth() == 1 && name == SECRETS_DIR {
            return false;
        }
        // A folder the .dockerignore leaves out entirely never reaches the daemon: not walked.
        if let Some(rel) = e.path().strip_prefix(&prune_root).ok().and_then(|r| r.to_str())
            && prune_ignore.prunes_dir(&rel.replace('\\', "/"))
        {
            return false;
        }
        // .aws is a folder of interest; other skipped folders are venvs, caches and VCS data.
        name == ".aws" || (!skipped_dir(&name) || name == ".env") && !e.path().join("pyvenv.cfg").exists()
    });
    for (n, entry) in b.build().enumerate() {
        if n > MAX_ENTRIES {
            break;
        }
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) {
            continue;
        }
        let Some(rel) = entry.path().strip_prefix(root).ok().and_then(|r| r.to_str()) else { continue };
        let rel = rel.replace('\\', "/");
        if may_be_secret(&rel) && !ignore.is_excluded(&rel) {
            found.push(rel);
        }
    }
    found
}

/// Keeps the secrets among the context files and warns about each.
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, candidates: Vec<String>) {
    let mut found: Vec<String> = candidates.into_iter().filter(|rel| rel == ".git" || is_secret(ctx, rel)).collect();
    found.sort();
    found.dedup();
    let has_ignore = report.existing_dockerignore.is_some();
    for f in &found {
        let hint =
            if has_ignore { "add it to .dockerignore (yours does not exclude it)" } else { "add it to .dockerignore" };
        report.warnings.push(format!("{f} would enter the build context: {hint}"));
    }
    report.secrets_in_context = found;
    if ctx.root.join(SECRETS_DIR).is_dir() && !is_gitignored(&report.git_ignore, &ctx.root, SECRETS_DIR, true) {
        report.warnings.push(format!(
            "{SECRETS_DIR}/ is in the project and not in .gitignore: files kept there could be committed; \
             add `/{SECRETS_DIR}/` to .gitignore (pyslim never sends this folder to the daemon)"
        ));
    }
}

/// The lines of the root `.gitignore` and `.git/info/exclude`, for [`is_gitignored`].
pub fn load_git_ignore(ctx: &mut Ctx) -> Vec<String> {
    let mut lines = Vec::new();
    for f in [".gitignore", ".git/info/exclude"] {
        if ctx.is_file(f)
            && let Some(text) = ctx.read(f)
        {
            lines.extend(text.lines().map(str::to_string));
        }
    }
    lines
}

/// Whether git would ignore `rel` (a path relative to `root`) under the rules of
/// [`load_git_ignore`], checked for the path and each of its parent folders. Nested
/// `.gitignore` files and a repository above `root` are not consulted, so this can only
/// under-report ignores (the warnings that use it err on the side of speaking up).
pub fn is_gitignored(git_ignore: &[String], root: &Path, rel: &str, is_dir: bool) -> bool {
    let mut b = GitignoreBuilder::new(root);
    for line in git_ignore {
        // A broken line only drops that line; the rest still counts.
        let _ = b.add_line(None, line);
    }
    let Ok(gi) = b.build() else { return false };
    gi.matched_path_or_any_parents(root.join(rel), is_dir).is_ignore()
}

/// Cheap name test before the `.dockerignore` and content checks.
fn may_be_secret(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    name.contains(".env")
        || name.starts_with("id_")
        || name.ends_with(".json")
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.ends_with(".p12")
        || name.ends_with(".pfx")
        || name.ends_with(".jks")
        || name.ends_with(".keystore")
        || rel.ends_with(".aws/credentials")
        || matches!(name.as_str(), ".netrc" | ".git-credentials" | ".npmrc" | ".pypirc" | "pip.conf")
}

fn is_secret(ctx: &mut Ctx, rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    if lower == ".env" || lower.ends_with(".env") && !lower.contains("example") {
        return true;
    }
    if let Some(suffix) = lower.strip_prefix(".env.") {
        return !["example", "sample", "template", "dist", "defaults", "test.example"].contains(&suffix);
    }
    if ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"].iter().any(|k| lower.starts_with(k)) {
        return !lower.ends_with(".pub");
    }
    if [".pem", ".key", ".p12", ".pfx", ".jks", ".keystore"].iter().any(|x| lower.ends_with(x)) {
        return true;
    }
    if rel.ends_with(".aws/credentials") || lower == ".netrc" || lower == ".git-credentials" {
        return true;
    }
    if lower == ".npmrc" || lower == ".pypirc" || lower == "pip.conf" {
        return peek(ctx, rel).is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.contains("_authtoken")
                || t.contains("password")
                || t.contains("token")
                || t.contains("://") && t.contains('@')
        });
    }
    if lower.ends_with(".json") {
        return peek(ctx, rel).is_some_and(|t| {
            t.contains("\"service_account\"") && t.contains("\"private_key\"")
                || t.replace(' ', "").contains("\"type\":\"service_account\"")
        });
    }
    false
}

/// Reads a small file to look inside; large or unreadable files are skipped silently.
fn peek(ctx: &mut Ctx, rel: &str) -> Option<String> {
    let meta = std::fs::metadata(ctx.root.join(rel)).ok()?;
    if !meta.is_file() || meta.len() > MAX_PEEK {
        return None;
    }
    let bytes = std::fs::read(ctx.root.join(rel)).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_secrets_the_dockerignore_misses() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        for (f, body) in [
            (".env", "SECRET=1"),
            (".env.example", "SECRET="),
            (".env.production", "SECRET=2"),
            ("id_rsa", "-----BEGIN"),
            ("id_rsa.pub", "ssh-rsa"),
            ("certs/server.key", "k"),
            ("keys/tls.pem", "k"),
            ("sa.json", "{\"type\": \"service_account\", \"private_key\": \"x\"}"),
            ("data.json", "{\"type\": \"other\"}"),
            (".npmrc", "//registry.npmjs.org/:_authToken=abc"),
            (".pypirc", "[distutils]\nindex-servers = pypi\n"),
            (".aws/credentials", "[default]"),
            (".venv/lib/x.pem", "k"),
            (".pyslim-secrets/token.pem", "never sent, so not reported as in the context"),
            (".gitignore", ".env\n"),
            (".dockerignore", "keys/\n**/*.key\n!certs/server.key\n.venv\n"),
        ] {
            std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
            std::fs::write(p.join(f), body).unwrap();
        }
        let mut ctx = Ctx::new(p.to_path_buf());
        let mut r = ScanReport::default();
        let ignore = load_ignore(&mut ctx);
        let files = context_files(p, &ignore);
        detect(&mut ctx, &mut r, files);
        assert_eq!(
            r.secrets_in_context,
            vec![".aws/credentials", ".env", ".env.production", ".npmrc", "certs/server.key", "id_rsa", "sa.json"]
        );
        assert!(r.warnings.contains(&".env would enter the build context: add it to .dockerignore".to_string()));
        assert!(
            r.warnings.iter().any(|w| w.starts_with(".pyslim-secrets/ is in the project and not in .gitignore")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_git_ignored_secrets_folder_is_not_reported() {
        for ignore in ["/.pyslim-secrets/\n", ".pyslim-secrets\n", "*secrets*\n", "# none\n.pyslim-*/\n"] {
            let d = tempfile::tempdir().unwrap();
            let p = d.path();
            std::fs::create_dir_all(p.join(".pyslim-secrets")).unwrap();
            std::fs::write(p.join(".pyslim-secrets/pip.conf"), "[global]\nindex-url = https://u:t@x/simple\n").unwrap();
            std::fs::write(p.join(".gitignore"), ignore).unwrap();
            let mut ctx = Ctx::new(p.to_path_buf());
            let mut r = ScanReport { git_ignore: load_git_ignore(&mut ctx), ..Default::default() };
            let files = context_files(p, &DockerIgnore::default());
            detect(&mut ctx, &mut r, files);
            assert!(r.warnings.is_empty(), "{ignore:?}: {:?}", r.warnings);
            assert!(r.secrets_in_context.is_empty());
        }
    }

    #[test]
    fn gitignore_matching_covers_parents_and_info_exclude() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join(".git/info")).unwrap();
        std::fs::write(p.join(".gitignore"), "certs/\n!certs/public.pem\n").unwrap();
        std::fs::write(p.join(".git/info/exclude"), "local.pem\n").unwrap();
        let rules = load_git_ignore(&mut Ctx::new(p.to_path_buf()));
        assert!(is_gitignored(&rules, p, "certs/ca.pem", false));
        assert!(is_gitignored(&rules, p, "local.pem", false));
        assert!(!is_gitignored(&rules, p, "conf/ca.pem", false));
        assert!(!is_gitignored(&rules, p, "ca.pem", false));
    }
}
