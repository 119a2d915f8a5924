//! The build context: a tar archive of the project that is streamed to the daemon in small chunks, so memory stays
//! flat however large the project is. The Dockerfile, `.dockerignore` and the helper files the
//! Dockerfile copies (`.pyslim/pyslim_helpers/`) are added from memory: a build never writes into
//! the user's project, and builds whatever the user ran `dockerfile --write` or not.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::ignorefile::DockerIgnore;
pub use crate::ignorefile::PatternError;
use crate::layout::SECRETS_DIR;
use crate::render::helpers::HelperFile;

/// Size of one chunk sent to the daemon.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the tar writer thread and the HTTP body (memory ≈ CHUNK × this).
const IN_FLIGHT: usize = 4;

/// What was put in the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextSummary {
    pub files: u64,
    pub bytes: u64,
}

/// Why the context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error("cannot read {path} for the build context: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the build context stream stopped: {0}")]
    Aborted(String),
    /// The daemon closed the request body: the cause is on its side (its message says which).
    #[error("the Docker daemon stopped reading the build context")]
    DaemonStoppedReading,
    #[error("build secret `{id}`: cannot read {path}: {source}")]
    Secret { id: String, path: PathBuf, source: io::Error },
}

/// A build secret's host file, read when the build starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSource {
    pub id: String,
    pub path: PathBuf,
}

/// A build secret's content, added to the context as `.pyslim-secrets/<id>` (mode 0400).
#[derive(Clone)]
pub struct SecretFile {
    pub id: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretFile({}, {} bytes)", self.id, self.content.len())
    }
}

/// Reads every secret's file; the first missing or unreadable one is an error naming its id
/// and path (before anything is sent to the daemon).
pub fn read_secrets(sources: &[SecretSource]) -> Result<Vec<SecretFile>, ContextError> {
    sources
        .iter()
        .map(|s| {
            let err = |source| ContextError::Secret { id: s.id.clone(), path: s.path.clone(), source };
            if std::fs::metadata(&s.path).map_err(err)?.is_dir() {
                return Err(err(io::Error::other("it is a folder, not a file")));
            }
            Ok(SecretFile { id: s.id.clone(), content: std::fs::read(&s.path).map_err(err)? })
        })
        .collect()
}

/// A build context being written by a background thread.
pub struct ContextStream {
    /// The tar bytes, chunk by chunk: the HTTP request body.
    pub body: mpsc::Receiver<io::Result<Bytes>>,
    /// Resolves when the archive is complete (or failed).
    pub done: oneshot::Receiver<Result<ContextSummary, ContextError>>,
}

impl ContextStream {
    /// The body as a `Stream`, for `bollard::body_try_stream`.
    pub fn into_parts(
        self,
    ) -> (impl Stream<Item = io::Result<Bytes>> + Send + 'static, oneshot::Receiver<Result<ContextSummary, ContextError>>)
    {
        let stream = futures_util::stream::unfold(self.body, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        (stream, self.done)
    }
}

/// What pyslim adds to the project's files: the rendered Dockerfile, `.dockerignore` and helper
/// files, and the build secrets.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    pub dockerfile: String,
    pub dockerignore: String,
    pub helpers: Vec<HelperFile>,
    pub secrets: Vec<SecretFile>,
}

/// Starts streaming the context of `root`, filtered by `dockerignore`, with the generated files
/// added from memory: `Dockerfile` and `.dockerignore` at the root, the helper files at their
/// place (the project's own copies of them are not sent), `secrets` as `.pyslim-secrets/<id>`
/// whatever the `.dockerignore` says (the project's own `.pyslim-secrets/` folder is never sent).
pub fn stream(root: &Path, generated: Generated) -> Result<ContextStream, ContextError> {
    let ignore = DockerIgnore::parse(&generated.dockerignore)?;
    let dockerignore = with_generated_included(&generated.dockerignore, &generated);
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let (done_tx, done_rx) = oneshot::channel();
    let root = root.to_path_buf();
    let generated = Generated { dockerignore, ..generated };
    std::thread::Builder::new()
        .name("pyslim-context".into())
        .spawn(move || {
            let mut sink = ChunkSink { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
            let result = write_archive(&root, &ignore, &generated, &mut sink)
                .and_then(|summary| sink.flush().map(|()| summary).map_err(|e| ContextError::Aborted(e.to_string())));
            let result = match result {
                Ok(summary) => Ok(summary),
                // A write that failed because the receiver is gone is not a file's fault, whatever
                // path the archive was at.
                Err(_) if sink.tx.is_closed() => Err(ContextError::DaemonStoppedReading),
                Err(e) => {
                    // Make the request body fail, so the daemon does not build a truncated context.
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                    Err(e)
                }
            };
            let _ = done_tx.send(result);
        })
        .map_err(|e| ContextError::Aborted(format!("cannot start the context writer: {e}")))?;
    Ok(ContextStream { body: rx, done: done_rx })
}

/// Writes the whole archive into `out` synchronously (tests, `--dry-run`-style inspection).
pub fn write_to(
    root: &Path,
    dockerfile: &str,
    dockerignore: &str,
    out: &mut impl Write,
) -> Result<ContextSummary, ContextError> {
    let generated =
        Generated { dockerfile: dockerfile.into(), dockerignore: dockerignore.into(), ..Default::default() };
    write_generated_to(root, &generated, out)
}

/// [`write_to`] with every generated file (helpers, build secrets).
pub fn write_generated_to(
    root: &Path,
    generated: &Generated,
    out: &mut impl Write,
) -> Result<ContextSummary, ContextError> {
    let ignore = DockerIgnore::parse(&generated.dockerignore)?;
    let dockerignore = with_generated_included(&generated.dockerignore, generated);
    write_archive(root, &ignore, &Generated { dockerignore, ..generated.clone() }, out)
}

/// The folders of the helper files in the context (`.pyslim/pyslim_helpers`).
fn helper_dirs(helpers: &[HelperFile]) -> Vec<String> {
    let mut dirs: Vec<String> =
        helpers.iter().filter_map(|h| h.in_context.rsplit_once('/').map(|(d, _)| d.to_string())).collect();
    dirs.dedup();
    dirs
}

/// The `.dockerignore` the daemon sees: BuildKit filters the context with it, so with secrets
/// or helpers it must end by re-including their folders (the last matching pattern wins).
fn with_generated_included(dockerignore: &str, generated: &Generated) -> String {
    let mut wanted: Vec<String> = Vec::new();
    if !generated.secrets.is_empty() {
        wanted.push(SECRETS_DIR.to_string());
    }
    wanted.extend(helper_dirs(&generated.helpers));
    let mut out = dockerignore.to_string();
    for dir in wanted {
        let reinclude = format!("!{dir}");
        if out.lines().last().is_some_and(|l| l.trim() == reinclude) {
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&reinclude);
        out.push('\n');
    }
    out
}

struct ChunkSink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading the build context"))
    }
}

fn write_archive(
    root: &Path,
    ignore: &DockerIgnore,
    generated: &Generated,
    out: &mut impl Write,
) -> Result<ContextSummary, ContextError> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut summary = ContextSummary::default();
    let aborted = |e: io::Error| ContextError::Aborted(e.to_string());
    let secrets = &generated.secrets;
    for (name, body) in [("Dockerfile", &generated.dockerfile), (".dockerignore", &generated.dockerignore)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, body.as_bytes()).map_err(aborted)?;
    }
    let ours = helper_dirs(&generated.helpers);
    walk(root, root, ignore, &ours, &mut tar, &mut summary)?;
    for dir in &ours {
        // each folder on the way, so that the files have parents whatever the project holds
        let parts: Vec<&str> = dir.split('/').collect();
        for i in 1..=parts.len() {
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o755);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Directory);
            tar.append_data(&mut h, format!("{}/", parts[..i].join("/")), io::empty()).map_err(aborted)?;
        }
    }
    for f in &generated.helpers {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, &f.in_context, f.content.as_bytes()).map_err(aborted)?;
    }
    if !secrets.is_empty() {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Directory);
        tar.append_data(&mut h, format!("{SECRETS_DIR}/"), io::empty()).map_err(aborted)?;
    }
    for s in secrets {
        let mut h = tar::Header::new_gnu();
        h.set_size(s.content.len() as u64);
        h.set_mode(0o400);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, format!("{SECRETS_DIR}/{}", s.id), s.content.as_slice()).map_err(aborted)?;
    }
    tar.finish().map_err(aborted)?;
    Ok(summary)
}

fn walk<W: Write>(
    root: &Path,
    dir: &Path,
    ignore: &DockerIgnore,
    ours: &[String],
    tar: &mut tar::Builder<W>,
    summary: &mut ContextSummary,
) -> Result<(), ContextError> {
    let read_err = |path: &Path, source| ContextError::Read { path: path.to_path_buf(), source };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        // Ours replace the project's own files at the root.
        if rel == "Dockerfile" || rel == ".dockerignore" || rel == SECRETS_DIR || ours.contains(&rel) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|e| read_err(&path, e))?;
        let excluded = ignore.is_excluded(&rel);
        if meta.is_dir() {
            if excluded && !ignore.must_descend(&rel) {
                continue;
            }
            if !excluded {
                append(tar, &path, &rel, &meta).map_err(|e| read_err(&path, e))?;
            }
            walk(root, &path, ignore, ours, tar, summary)?;
            continue;
        }
        if excluded {
            continue;
        }
        if meta.is_file() || meta.file_type().is_symlink() {
            append(tar, &path, &rel, &meta).map_err(|e| read_err(&path, e))?;
            summary.files += 1;
            summary.bytes += meta.len();
        }
    }
    Ok(())
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &Path, rel: &str, meta: &std::fs::Metadata) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(meta, tar::HeaderMode::Deterministic);
    // Keep permission bits (executables stay executable); owner is root as with `docker build`.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        h.set_mode(meta.permissions().mode() & 0o7777);
    }
    h.set_uid(0);
    h.set_gid(0);
    if meta.is_dir() {
        tar.append_data(&mut h, format!("{rel}/"), io::empty())
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)?;
        h.set_size(0);
        tar.append_link(&mut h, rel, target)
    } else {
        let f = std::fs::File::open(path)?;
        h.set_size(meta.len());
        tar.append_data(&mut h, rel, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_filters_and_adds_files_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join(".venv/lib")).unwrap();
        std::fs::write(root.join("src/app.py"), "print(1)\n").unwrap();
        std::fs::write(root.join(".venv/lib/x.py"), "x").unwrap();
        std::fs::write(root.join("Dockerfile"), "FROM user-owned\n").unwrap();
        let mut buf = Vec::new();
        let s = write_to(root, "FROM ours\n", ".venv\n", &mut buf).unwrap();
        assert_eq!(s.files, 1);
        let mut ar = tar::Archive::new(buf.as_slice());
        let mut names = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().to_string();
            if name == "Dockerfile" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut e, &mut s).unwrap();
                assert_eq!(s, "FROM ours\n");
            }
            names.push(name);
        }
        assert_eq!(names, ["Dockerfile", ".dockerignore", "src/", "src/app.py"]);
        assert_eq!(std::fs::read_to_string(root.join("Dockerfile")).unwrap(), "FROM user-owned\n");
    }

    #[test]
    fn secrets_are_added_read_only_and_the_projects_own_folder_is_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".pyslim-secrets")).unwrap();
        std::fs::write(root.join(".pyslim-secrets/stale"), "old").unwrap();
        std::fs::write(root.join("app.py"), "x").unwrap();
        std::fs::write(root.join("ca.pem"), "PEM").unwrap();
        let srcs = [SecretSource { id: "ca".into(), path: root.join("ca.pem") }];
        let secrets = read_secrets(&srcs).unwrap();
        let mut buf = Vec::new();
        let generated = Generated {
            dockerfile: "FROM x\n".into(),
            dockerignore: "*.pem\n.pyslim-secrets\n".into(),
            secrets,
            ..Default::default()
        };
        let s = write_generated_to(root, &generated, &mut buf).unwrap();
        assert_eq!(s.files, 1, "secrets are not counted as project files");
        let mut ar = tar::Archive::new(buf.as_slice());
        let mut found = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().to_string();
            let mode = e.header().mode().unwrap();
            let mut body = String::new();
            std::io::Read::read_to_string(&mut e, &mut body).unwrap();
            found.push((name, mode, body));
        }
        let names: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["Dockerfile", ".dockerignore", "app.py", ".pyslim-secrets/", ".pyslim-secrets/ca"]);
        assert_eq!(found[1].2, "*.pem\n.pyslim-secrets\n!.pyslim-secrets\n");
        assert_eq!((found[4].1, found[4].2.as_str()), (0o400, "PEM"));

        let missing = [SecretSource { id: "tok".into(), path: root.join("nope.txt") }];
        let e = read_secrets(&missing).unwrap_err().to_string();
        assert!(e.contains("build secret `tok`") && e.contains("nope.txt"), "{e}");
        let folder = [SecretSource { id: "d".into(), path: root.to_path_buf() }];
        assert!(read_secrets(&folder).unwrap_err().to_string().contains("folder"));
    }

    #[test]
    fn helpers_come_from_memory_and_are_reincluded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".pyslim/pyslim_helpers")).unwrap();
        std::fs::write(root.join(".pyslim/pyslim_helpers/libs.py"), "# the user's edited copy\n").unwrap();
        std::fs::write(root.join(".pyslim/trace.txt"), "module json\n").unwrap();
        std::fs::write(root.join("app.py"), "x").unwrap();
        let helpers = crate::render::helpers::files(None);
        let generated = Generated {
            dockerfile: "FROM x\n".into(),
            dockerignore: ".pyslim\n".into(),
            helpers: helpers.clone(),
            ..Default::default()
        };
        let mut buf = Vec::new();
        write_generated_to(root, &generated, &mut buf).unwrap();
        let mut ar = tar::Archive::new(buf.as_slice());
        let mut found = std::collections::BTreeMap::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().to_string();
            let mut body = String::new();
            std::io::Read::read_to_string(&mut e, &mut body).unwrap();
            assert!(found.insert(name.clone(), body).is_none() || name.ends_with('/'), "{name} twice");
        }
        // BuildKit filters with the .dockerignore it is sent: the helpers are re-included last
        assert_eq!(found[".dockerignore"], ".pyslim\n!.pyslim/pyslim_helpers\n");
        for h in &helpers {
            assert_eq!(found[&h.in_context], h.content, "{}: pyslim's version, not the project's", h.in_context);
        }
        assert!(found.contains_key(".pyslim/pyslim_helpers/") && found.contains_key("app.py"), "{found:?}");
        assert!(!found.contains_key(".pyslim/trace.txt"), "the project's .dockerignore still applies to its files");
    }
}
