//! Bounded file reading for the detectors. Owns the rule that reading a project never blocks,
//! panics or aborts: FIFOs and devices are not opened, files over [`MAX_READ`] are skipped,
//! broken links, loops and permission errors become warnings naming the file, and bytes that are
//! not UTF-8 are replaced (with a warning that names the first bad line).

use std::path::{Path, PathBuf};

/// Largest file a detector reads (a requirements file or settings module is never this big).
pub const MAX_READ: u64 = 4 * 1024 * 1024;

/// Scan context: the project root and the warnings collected while reading.
pub struct Ctx {
    pub root: PathBuf,
    warnings: Vec<String>,
}

impl Ctx {
    pub fn new(root: PathBuf) -> Self {
        Self { root, warnings: Vec::new() }
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        let m = message.into();
        if !self.warnings.contains(&m) {
            self.warnings.push(m);
        }
    }

    pub fn into_warnings(self) -> Vec<String> {
        self.warnings
    }

    /// Whether `rel` (relative to the root) names something that exists (even a broken link).
    pub fn exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    /// Whether `rel` is a regular file (following links).
    pub fn is_file(&self, rel: &str) -> bool {
        std::fs::metadata(self.root.join(rel)).is_ok_and(|m| m.is_file())
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        std::fs::metadata(self.root.join(rel)).is_ok_and(|m| m.is_dir())
    }

    /// Reads `rel` (relative to the root) as text. `None` when it does not exist (silently) or
    /// cannot be read (with a warning).
    pub fn read(&mut self, rel: &str) -> Option<String> {
        let path = self.root.join(rel);
        self.read_path(&path, rel)
    }

    /// Reads any path as text; `shown` is how warnings name it.
    pub fn read_path(&mut self, path: &Path, shown: &str) -> Option<String> {
        let link = std::fs::symlink_metadata(path).ok()?;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                let why = if link.file_type().is_symlink() {
                    if is_loop(&e) { "a symlink loop".to_string() } else { format!("a broken symlink ({e})") }
                } else {
                    e.to_string()
                };
                self.warn(format!("{shown}: cannot read it: {why}"));
                return None;
            }
        };
        if meta.is_dir() {
            self.warn(format!("{shown}: expected a file, found a folder; ignored"));
            return None;
        }
        if !meta.is_file() {
            // A FIFO would block the scan forever; a device is never project data.
            self.warn(format!("{shown}: not a regular file (FIFO, socket or device); ignored"));
            return None;
        }
        if meta.len() > MAX_READ {
            self.warn(format!(
                "{shown}: {} MB is larger than the {} MB pyslim reads for detection; ignored",
                meta.len() / (1024 * 1024),
                MAX_READ / (1024 * 1024)
            ));
            return None;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.warn(format!("{shown}: cannot read it: {e}"));
                return None;
            }
        };
        Some(self.decode(bytes, shown))
    }

    /// UTF-8 text of `bytes`; junk is replaced and reported once with its line.
    pub fn decode(&mut self, bytes: Vec<u8>, shown: &str) -> String {
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                let bytes = e.into_bytes();
                let bad = std::str::from_utf8(&bytes).map_err(|u| u.valid_up_to()).err().unwrap_or(0);
                let line = bytes[..bad].iter().filter(|b| **b == b'\n').count() + 1;
                self.warn(format!("{shown}:{line}: bytes that are not UTF-8 text (binary junk?); they were skipped"));
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    }

    /// Parses TOML, turning a syntax error into a warning with the file and line.
    pub fn toml(&mut self, text: &str, shown: &str) -> Option<toml::Table> {
        match text.parse::<toml::Table>() {
            Ok(t) => Some(t),
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start));
                let msg = e.message().to_string();
                match line {
                    Some(l) => self.warn(format!("{shown}:{l}: not valid TOML ({msg}); ignored")),
                    None => self.warn(format!("{shown}: not valid TOML ({msg}); ignored")),
                }
                None
            }
        }
    }

    /// Reads and parses a TOML file relative to the root.
    pub fn read_toml(&mut self, rel: &str) -> Option<toml::Table> {
        let text = self.read(rel)?;
        self.toml(&text, rel)
    }
}

fn is_loop(e: &std::io::Error) -> bool {
    // ELOOP is 40 on Linux, 62 on macOS/BSD.
    matches!(e.raw_os_error(), Some(40) | Some(62)) || e.to_string().contains("symbolic links")
}

/// Line number (1-based) of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    // Bytes, not chars: an offset inside a multi-byte character must not panic.
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Walks `toml` tables by a dotted path (`["tool", "poetry", "dependencies"]`).
pub fn get<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let mut v = table.get(*first)?;
    for key in rest {
        v = v.as_table()?.get(*key)?;
    }
    Some(v)
}

/// A table at a dotted path.
pub fn get_table<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Table> {
    get(table, path)?.as_table()
}

/// A string at a dotted path.
pub fn get_str<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a str> {
    get(table, path)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_and_bad_toml_are_warnings() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("r.txt"), b"flask\n\xff\xfe\x00junk\n").unwrap();
        std::fs::write(d.path().join("p.toml"), "[project\nname = 1\n").unwrap();
        let mut ctx = Ctx::new(d.path().to_path_buf());
        let t = ctx.read("r.txt").unwrap();
        assert!(t.starts_with("flask\n"));
        assert!(ctx.read_toml("p.toml").is_none());
        let w = ctx.into_warnings();
        assert!(w[0].starts_with("r.txt:2:"), "{w:?}");
        assert!(w[1].starts_with("p.toml:1:"), "{w:?}");
    }

    #[cfg(unix)]
    #[test]
    fn fifo_loop_and_folder_do_not_block() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("requirements.txt");
        let ok = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
        std::os::unix::fs::symlink("loop", d.path().join("loop")).unwrap();
        std::fs::create_dir(d.path().join("dir")).unwrap();
        let mut ctx = Ctx::new(d.path().to_path_buf());
        if ok {
            assert!(ctx.read("requirements.txt").is_none());
        }
        assert!(ctx.read("loop").is_none());
        assert!(ctx.read("dir").is_none());
        assert!(ctx.read("missing").is_none());
        let w = ctx.into_warnings();
        assert!(w.iter().any(|w| w.contains("loop: cannot read it: a symlink loop")), "{w:?}");
    }
}
