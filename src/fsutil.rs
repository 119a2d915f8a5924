//! Safe file writing: atomic replace (temporary file + rename in the same folder), refusal to
//! replace a user's file without consent, and a backup when consent is given.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Created(PathBuf),
    /// Replaced, with the previous content kept at the backup path.
    Replaced {
        path: PathBuf,
        backup: PathBuf,
    },
    /// Existing content was identical; nothing written.
    Unchanged(PathBuf),
    /// Replaced without a backup: the previous content was pyslim's own, unedited (a helper file).
    Refreshed(PathBuf),
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} already exists; pass --force to replace it (a backup is kept)")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Writes `content` to `path` atomically. An existing, different file is only replaced when
/// `force` is true, and then its old content is kept as `<name>.pyslim-backup` (or
/// `.pyslim-backup.N` when that exists already).
pub fn write_file(path: &Path, content: &str, force: bool) -> Result<WriteOutcome, WriteError> {
    let io = |source| WriteError::Io { path: path.to_path_buf(), source };
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if existing.as_deref() == Some(content.as_bytes()) {
        return Ok(WriteOutcome::Unchanged(path.to_path_buf()));
    }
    if existing.is_some() && !force {
        return Err(WriteError::Exists(path.to_path_buf()));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".pyslim-tmp-").tempfile_in(dir).map_err(io)?;
    tmp.write_all(content.as_bytes()).map_err(io)?;
    readable_like(tmp.as_file(), path).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let outcome = match existing {
        None => WriteOutcome::Created(path.to_path_buf()),
        Some(old) => {
            let backup = write_backup(path, &old)?;
            WriteOutcome::Replaced { path: path.to_path_buf(), backup }
        }
    };
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(outcome)
}

/// Writes `content` to `path` atomically, replacing what is there without a backup: for a file
/// the caller knows to be its own unedited output (a helper file whose header hash matches).
/// Creates the parent folders.
pub fn refresh_file(path: &Path, content: &str) -> Result<WriteOutcome, WriteError> {
    let io = |source| WriteError::Io { path: path.to_path_buf(), source };
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if existing.as_deref() == Some(content.as_bytes()) {
        return Ok(WriteOutcome::Unchanged(path.to_path_buf()));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new().prefix(".pyslim-tmp-").tempfile_in(dir).map_err(io)?;
    tmp.write_all(content.as_bytes()).map_err(io)?;
    readable_like(tmp.as_file(), path).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(match existing {
        None => WriteOutcome::Created(path.to_path_buf()),
        Some(_) => WriteOutcome::Refreshed(path.to_path_buf()),
    })
}

/// Gives the temporary file (created 0600) the mode of the file it replaces, or 0644 for a new
/// one: a `COPY` into an image keeps the mode, and a service running as non-root must read what
/// the Dockerfile copies (the pre-start launcher).
fn readable_like(tmp: &std::fs::File, path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        tmp.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (tmp, path);
    Ok(())
}

/// Keeps `old` as `<name>.pyslim-backup` (or `.pyslim-backup.N`). Each name is claimed with
/// `create_new`, so two pyslim runs at once never write the same backup file.
fn write_backup(path: &Path, old: &[u8]) -> Result<PathBuf, WriteError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for n in 0..10_000u32 {
        let candidate = if n == 0 {
            path.with_file_name(format!("{name}.pyslim-backup"))
        } else {
            path.with_file_name(format!("{name}.pyslim-backup.{n}"))
        };
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(mut f) => {
                f.write_all(old)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| WriteError::Io { path: candidate.clone(), source: e })?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(WriteError::Io { path: candidate, source: e }),
        }
    }
    Err(WriteError::Io { path: path.to_path_buf(), source: std::io::Error::other("no free backup name") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_then_backs_up() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Dockerfile");
        assert!(matches!(write_file(&p, "a", false).unwrap(), WriteOutcome::Created(_)));
        assert!(matches!(write_file(&p, "a", false).unwrap(), WriteOutcome::Unchanged(_)));
        assert!(matches!(write_file(&p, "b", false), Err(WriteError::Exists(_))));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a");
        let WriteOutcome::Replaced { backup, .. } = write_file(&p, "b", true).unwrap() else { panic!() };
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "a");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b");
        let WriteOutcome::Replaced { backup: b2, .. } = write_file(&p, "c", true).unwrap() else { panic!() };
        assert_ne!(backup, b2);
        assert_eq!(std::fs::read_to_string(&b2).unwrap(), "b");
    }

    #[test]
    fn refresh_replaces_without_a_backup_and_makes_folders() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".pyslim/pyslim_helpers/elf.py");
        assert!(matches!(refresh_file(&p, "a").unwrap(), WriteOutcome::Created(_)));
        assert!(matches!(refresh_file(&p, "a").unwrap(), WriteOutcome::Unchanged(_)));
        assert!(matches!(refresh_file(&p, "b").unwrap(), WriteOutcome::Refreshed(_)));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1, "no backup, no temporary file");
        // readable by all: the image copies it with its mode and runs as non-root
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
        let d2 = d.path().join("Dockerfile");
        write_file(&d2, "FROM x\n", false).unwrap();
        assert_eq!(std::fs::metadata(&d2).unwrap().permissions().mode() & 0o777, 0o644);
        std::fs::set_permissions(&d2, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&d2, "FROM y\n", true).unwrap();
        assert_eq!(std::fs::metadata(&d2).unwrap().permissions().mode() & 0o777, 0o640, "an existing mode is kept");
    }

    #[test]
    fn concurrent_writers_keep_every_previous_version() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Dockerfile");
        std::fs::write(&p, "original").unwrap();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let p = p.clone();
                std::thread::spawn(move || write_file(&p, &format!("writer {i}"), true).unwrap())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // The final file is one complete version; every writer left its own backup file (no backup
        // overwrote another), each a complete earlier version, the original among them.
        let last = std::fs::read_to_string(&p).unwrap();
        assert!(last.starts_with("writer "), "{last}");
        let mut backups: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("pyslim-backup"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        backups.sort();
        assert_eq!(backups.len(), 8, "{backups:?}");
        assert!(backups.contains(&"original".to_string()));
        assert!(backups.iter().all(|b| b == "original" || b.starts_with("writer ")), "{backups:?}");
        assert!(
            !std::fs::read_dir(d.path()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".pyslim-tmp"))
        );
    }
}
