//! The layering the README promises, checked on the source: imports point down the pipeline
//! (no stage imports a later one), the wizard never imports the command line, and no two
//! sibling modules import each other (the circles issue 11 removed stay removed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up. A module may import only modules of a lower rank;
/// modules of equal rank may not import each other.
const LAYERS: &[(&str, u8)] = &[
    ("python", 0),
    ("layout", 0),
    ("ignorefile", 0),
    ("fsutil", 0),
    ("demo", 0),
    ("catalogue", 1),
    ("servers", 1),
    ("sidecars", 1),
    ("scan", 2),
    ("plan", 3),
    ("render", 4),
    ("report", 5),
    ("engine", 6),
    // The wizard is a front end over the library; the command line is the outermost shell and
    // starts it (`pyslim tui`), converting its flags to `plan::Overrides` first.
    ("tui", 7),
    ("cli", 8),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and string literals' contents are irrelevant here:
/// comments and doc comments are dropped so that prose naming a module is not an import.
fn code_lines(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::X` references in `code` (X = the top-level module).
fn crate_refs(code: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\bcrate::([a-z_]+)").unwrap();
    re.captures_iter(code).map(|c| c[1].to_string()).collect()
}

/// The top-level module a file under src/ belongs to (`src/scan/app.rs` -> `scan`).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

#[test]
fn imports_point_down_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for f in &files {
        let Some(module) = top_module(&src, f) else { continue };
        let Some(&mine) = rank.get(module.as_str()) else {
            wrong.push(format!("{}: module `{module}` has no place in tests/layering.rs LAYERS", f.display()));
            continue;
        };
        let code = code_lines(&std::fs::read_to_string(f).unwrap());
        for target in crate_refs(&code) {
            if target == module {
                continue;
            }
            match rank.get(target.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) => wrong.push(format!("{}: `{module}` imports `crate::{target}`", f.display())),
                None => wrong.push(format!("{}: imports unknown module `crate::{target}`", f.display())),
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up or sideways:\n{}", wrong.join("\n"));
}

#[test]
fn no_two_sibling_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let sibling = regex::Regex::new(r"\bsuper::(?:\{[^}]*\}|[a-z_]+)").unwrap();
    let word = regex::Regex::new(r"[a-z_]+").unwrap();
    // folder -> (file stem -> sibling stems it names through `super::`)
    let mut graph: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_str().unwrap().to_string();
        if stem == "mod" || f.parent() == Some(src.as_path()) {
            continue;
        }
        let folder = f.parent().unwrap().to_path_buf();
        let siblings: BTreeSet<String> = std::fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
            .filter(|s| s != "mod" && *s != stem)
            .collect();
        // `mod tests` blocks may `use super::*` (their own parent); strip test modules first.
        let text = std::fs::read_to_string(f).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code = code_lines(text);
        let mut uses = BTreeSet::new();
        for m in sibling.find_iter(&code) {
            for w in word.find_iter(m.as_str()) {
                if siblings.contains(w.as_str()) {
                    uses.insert(w.as_str().to_string());
                }
            }
        }
        graph.entry(folder).or_default().insert(stem, uses);
    }
    let mut circles = Vec::new();
    for (folder, g) in &graph {
        for (a, uses) in g {
            for b in uses {
                if a < b && g.get(b).is_some_and(|u| u.contains(a)) {
                    circles.push(format!("{}: {a} <-> {b}", folder.display()));
                }
            }
        }
    }
    assert!(circles.is_empty(), "sibling modules that import each other:\n{}", circles.join("\n"));
}
