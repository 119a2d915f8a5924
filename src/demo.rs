//! The embedded demo project (`assets/demo/`: a FastAPI service packaged with Poetry), copied
//! into a temporary folder so that `--demo` works with no Python project at hand.

use std::path::Path;

use include_dir::{Dir, include_dir};

static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/demo");

/// A copy of the demo project that lives as long as this value.
pub struct DemoProject {
    dir: tempfile::TempDir,
}

impl DemoProject {
    /// Writes the demo project into a fresh temporary folder.
    pub fn extract() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("pyslim-demo-").tempdir()?;
        let root = dir.path().join("demo-service");
        std::fs::create_dir_all(&root)?;
        write_dir(&DEMO, &root)?;
        Ok(Self { dir })
    }

    /// Root of the demo project.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("demo-service")
    }
}

fn write_dir(dir: &Dir<'_>, dest: &Path) -> std::io::Result<()> {
    for file in dir.files() {
        let path = dest.join(file.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, file.contents())?;
    }
    for sub in dir.dirs() {
        write_dir(sub, dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_extracts_with_lockfile_and_source() {
        let demo = super::DemoProject::extract().unwrap();
        let root = demo.path();
        for f in ["pyproject.toml", "poetry.lock", "src/app.py", ".python-version"] {
            assert!(root.join(f).is_file(), "{f} missing");
        }
    }
}
