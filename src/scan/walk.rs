//! The project walk: finds the Python sources worth parsing. Owns which folders are never
//! entered (virtualenvs, `node_modules`, VCS data, caches, build output), the .gitignore rules
//! (through the `ignore` crate, with or without a `.git` folder), and the caps on how much is
//! walked and parsed. It does not read file contents (that is `pycode`).

use ignore::WalkBuilder;

use super::files::{Ctx, MAX_READ};

/// Python files parsed at most; shallow files first, so the app module is always among them.
pub const MAX_PYTHON_FILES: usize = 2000;
/// Entries visited at most (a checkout with a committed dataset must not stall the scan).
const MAX_ENTRIES: usize = 300_000;
/// Deepest folder level looked at.
const MAX_DEPTH: usize = 12;

/// Folders that never hold the service's own code.
const SKIP_DIRS: &[&str] = &[
    ".venv",
    "venv",
    ".env",
    "env",
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".tox",
    ".nox",
    "site-packages",
    "dist-packages",
    "build",
    "dist",
    ".eggs",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "htmlcov",
    ".idea",
    ".vscode",
];

/// Whether a folder name is one the scan never enters.
pub fn skipped_dir(name: &str) -> bool {
    SKIP_DIRS.contains(&name) || name.ends_with(".egg-info")
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Tree {
    /// Python sources (relative, slash-separated), shallowest first, at most [`MAX_PYTHON_FILES`].
    pub python_files: Vec<String>,
}

pub fn walk(ctx: &mut Ctx) -> Tree {
    let root = ctx.root.clone();
    let mut b = WalkBuilder::new(&root);
    b.hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .ignore(true)
        .parents(false)
        .follow_links(false)
        .max_depth(Some(MAX_DEPTH))
        .max_filesize(Some(MAX_READ))
        .filter_entry(|e| {
            if !e.file_type().is_some_and(|t| t.is_dir()) || e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            // Any folder holding pyvenv.cfg is a virtualenv, whatever its name.
            !skipped_dir(&name) && !e.path().join("pyvenv.cfg").exists()
        });

    let mut found: Vec<String> = Vec::new();
    let mut seen = 0usize;
    let mut bad_names = 0usize;
    for entry in b.build() {
        seen += 1;
        if seen > MAX_ENTRIES {
            ctx.warn(format!("stopped walking after {MAX_ENTRIES} entries; add large data folders to .gitignore"));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let text = e.to_string();
                let text = text.replace(&format!("{}/", root.display()), "");
                ctx.warn(format!("skipped while walking the project: {text}"));
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(&root) else { continue };
        let Some(rel) = rel.to_str() else {
            bad_names += 1;
            if bad_names == 1 {
                ctx.warn(format!("skipped {}: the file name is not valid UTF-8", rel.to_string_lossy()));
            }
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        let rel = rel.replace('\\', "/");
        let Some(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            match std::fs::metadata(entry.path()) {
                Err(e) => {
                    let why = if e.raw_os_error() == Some(40) || e.raw_os_error() == Some(62) {
                        "a symlink loop".to_string()
                    } else {
                        format!("a broken symlink ({e})")
                    };
                    ctx.warn(format!("{rel}: {why}; ignored"));
                    continue;
                }
                Ok(m) if m.is_file() => {}
                Ok(_) => continue, // linked folders are not followed (no loops, no escapes)
            }
        } else if !ft.is_file() {
            continue;
        }
        if rel.ends_with(".py") {
            found.push(rel);
        }
    }
    if bad_names > 1 {
        ctx.warn(format!("{bad_names} files with names that are not valid UTF-8 were skipped"));
    }
    found.sort_by(|a, b| depth(a).cmp(&depth(b)).then_with(|| a.cmp(b)));
    if found.len() > MAX_PYTHON_FILES {
        ctx.warn(format!("found {} Python files; parsed only the {MAX_PYTHON_FILES} shallowest (cap)", found.len()));
        found.truncate(MAX_PYTHON_FILES);
    }
    Tree { python_files: found }
}

fn depth(rel: &str) -> usize {
    rel.matches('/').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_venvs_and_gitignored() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        for f in ["app.py", ".venv/lib/x.py", "node_modules/a.py", "gen/out.py", "myenv/lib/y.py", "pkg/mod.py"] {
            std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
            std::fs::write(p.join(f), "x = 1\n").unwrap();
        }
        std::fs::write(p.join("myenv/pyvenv.cfg"), "home = /usr\n").unwrap();
        std::fs::write(p.join(".gitignore"), "gen/\n").unwrap();
        let mut ctx = Ctx::new(p.to_path_buf());
        let t = walk(&mut ctx);
        assert_eq!(t.python_files, vec!["app.py", "pkg/mod.py"]);
    }

    #[test]
    fn caps_python_files_shallowest_first() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("app.py"), "x = 1\n").unwrap();
        let deep = d.path().join("gen/a/b");
        std::fs::create_dir_all(&deep).unwrap();
        for i in 0..MAX_PYTHON_FILES {
            std::fs::write(deep.join(format!("m{i}.py")), "").unwrap();
        }
        let mut ctx = Ctx::new(d.path().to_path_buf());
        let t = walk(&mut ctx);
        assert_eq!(t.python_files.len(), MAX_PYTHON_FILES);
        assert_eq!(t.python_files[0], "app.py");
        let w = ctx.into_warnings();
        assert!(w.iter().any(|w| w.contains("parsed only the 2000 shallowest (cap)")), "{w:?}");
    }
}
