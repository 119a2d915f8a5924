//! The user documentation agrees with the binary: every flag each `--help` prints (every
//! subcommand) is in the flag tables of `docs/cli.md` under a heading that names that subcommand,
//! and every flag there is one the subcommand accepts; the same for the environment variables
//! and the commands. Also the README's shape (a short front door) and no working notes in the
//! user docs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use regex::Regex;

const SUBCOMMANDS: [&str; 7] = ["scan", "dockerfile", "build", "compare", "tui", "completions", "man"];

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn help(args: &[&str]) -> String {
    let out = Command::cargo_bin("pyslim").unwrap().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The flags in the `Options:` block of one `--help` text (`-h`, `--help`, `--mirror`, ...).
fn help_flags(text: &str) -> BTreeSet<String> {
    let option = Regex::new(r"^ {2,6}(?:(-[A-Za-z]), )?(--[a-z0-9-]+)").unwrap();
    let mut flags = BTreeSet::new();
    let mut in_options = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_options = line.starts_with("Options:");
            continue;
        }
        if !in_options {
            continue;
        }
        if let Some(c) = option.captures(line) {
            if let Some(short) = c.get(1) {
                flags.insert(short.as_str().to_string());
            }
            flags.insert(c[2].to_string());
        }
    }
    flags
}

/// docs/cli.md's flag tables: for each subcommand, the flags of every table under a `###` heading
/// of the `## Flags` section that names the subcommand in backticks.
fn doc_flags(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let flag = Regex::new(r"(?:^|[`\s,])(--?[A-Za-z][a-z0-9-]*)").unwrap();
    let named = Regex::new(r"`([a-z]+)`").unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut in_flags = false;
    let mut current: Vec<String> = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            in_flags = h.trim() == "Flags";
            current.clear();
            continue;
        }
        if !in_flags {
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            current = named
                .captures_iter(h)
                .map(|c| c[1].to_string())
                .filter(|n| SUBCOMMANDS.contains(&n.as_str()))
                .collect();
            assert!(!current.is_empty(), "docs/cli.md: the heading `{line}` names no subcommand in backticks");
            continue;
        }
        let Some(row) = line.strip_prefix('|') else { continue };
        let first = row.split('|').next().unwrap_or_default();
        if first.trim() == "flag" || first.trim_start().starts_with("---") {
            continue;
        }
        for c in flag.captures_iter(first) {
            for sub in &current {
                out.entry(sub.clone()).or_default().insert(c[1].to_string());
            }
        }
    }
    out
}

#[test]
fn every_flag_of_every_help_is_in_the_docs_tables_and_back() {
    let doc = repo_file("docs/cli.md");
    let documented = doc_flags(&doc);
    let mut problems = Vec::new();
    for sub in SUBCOMMANDS {
        let printed = help_flags(&help(&[sub]));
        assert!(printed.contains("--help"), "{sub} --help lists no options? {printed:?}");
        let in_doc = documented.get(sub).cloned().unwrap_or_default();
        for f in printed.difference(&in_doc) {
            problems.push(format!("`pyslim {sub} --help` prints {f}, which docs/cli.md does not list for {sub}"));
        }
        for f in in_doc.difference(&printed) {
            problems.push(format!("docs/cli.md lists {f} for {sub}, which `pyslim {sub} --help` does not print"));
        }
    }
    let top = help_flags(&help(&[]));
    let every = documented.get("man").cloned().unwrap_or_default();
    assert!(top.is_subset(&every), "pyslim --help options {top:?} not all in the docs' table for every command");
    assert!(problems.is_empty(), "help and docs disagree:\n{}", problems.join("\n"));
}

#[test]
fn every_environment_variable_of_the_help_is_documented_and_back() {
    let text = help(&[]);
    let var = Regex::new(r"^  ([A-Z][A-Z0-9_]+) {2,}\S").unwrap();
    let printed: BTreeSet<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Environment:"))
        .filter_map(|l| var.captures(l).map(|c| c[1].to_string()))
        .collect();
    assert!(printed.len() >= 5, "pyslim --help lists too few environment variables: {printed:?}");
    let doc = repo_file("docs/cli.md");
    let section: String = doc
        .lines()
        .skip_while(|l| *l != "## Environment")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>()
        .join("\n");
    let row = Regex::new(r"(?m)^\| `([A-Z][A-Z0-9_]+)` \|").unwrap();
    let in_doc: BTreeSet<String> = row.captures_iter(&section).map(|c| c[1].to_string()).collect();
    assert_eq!(printed, in_doc, "pyslim --help's Environment list against docs/cli.md's Environment table");
}

#[test]
fn the_commands_tables_name_every_subcommand() {
    let text = help(&[]);
    let cmd = Regex::new(r"^  ([a-z]+) {2,}\S").unwrap();
    let printed: BTreeSet<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .take_while(|l| !l.starts_with("Options:"))
        .filter_map(|l| cmd.captures(l).map(|c| c[1].to_string()))
        .filter(|c| c != "help")
        .collect();
    let expected: BTreeSet<String> = SUBCOMMANDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(printed, expected, "pyslim --help's commands changed: update SUBCOMMANDS and the docs");
    let row = Regex::new(r"(?m)^\| `pyslim ([a-z]+)").unwrap();
    for file in ["README.md", "docs/cli.md"] {
        let in_doc: BTreeSet<String> = row.captures_iter(&repo_file(file)).map(|c| c[1].to_string()).collect();
        assert_eq!(printed, in_doc, "{file}'s commands table against pyslim --help");
    }
}

#[test]
fn the_readme_is_a_short_front_door() {
    let readme = repo_file("README.md");
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines; move detail to docs/");
    let pos = |needle: &str| readme.find(needle).unwrap_or_else(|| panic!("README.md lacks {needle:?}"));
    // What a newcomer looks for first, in this order: results, install, their own project.
    assert!(pos("## Results") < pos("## Install") && pos("## Install") < pos("## On your project"));
    for needle in ["cargo install --locked --path .", "Rust 1.89", "scripts/demo.sh", "scripts/test.sh", "pipx install"]
    {
        pos(needle);
    }
    // The Rust version stated is the one Cargo.toml requires.
    let cargo = repo_file("Cargo.toml");
    assert!(cargo.contains("rust-version = \"1.89\""), "Cargo.toml's rust-version changed: update the README");
}

#[test]
fn the_user_docs_hold_no_working_notes() {
    let words = Regex::new(
        r"(?i)\b(this round|previous round|last round|as submitted|goal|goals|target: at most|this machine)\b",
    )
    .unwrap();
    let mut files = vec!["README.md".to_string(), "CHANGELOG.md".to_string()];
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    for entry in std::fs::read_dir(&docs).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    let mut found = Vec::new();
    for file in &files {
        for (n, line) in repo_file(file).lines().enumerate() {
            if let Some(m) = words.find(line) {
                found.push(format!("{file}:{}: {:?} in {line:?}", n + 1, m.as_str()));
            }
        }
    }
    assert!(found.is_empty(), "working notes in user docs:\n{}", found.join("\n"));
}

#[test]
fn the_working_agreement_is_out_of_the_user_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(!root.join("docs/TEAM.md").exists(), "docs/ is for users; the working agreement lives in dev/");
    assert!(root.join("dev/TEAM.md").exists());
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(root.join(licence).exists(), "{licence} missing (Cargo.toml says MIT OR Apache-2.0)");
    }
}
