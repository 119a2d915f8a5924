//! `.dockerignore` matching with Docker's own semantics (moby/patternmatcher), not gitignore's.
//!
//! Owns the pattern language only. It sits below both `scan` (which asks what would enter the
//! build context) and `engine` (which streams the context), so neither imports the other.

use regex::Regex;

/// One `.dockerignore` line, compiled.
#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    exclusion: bool,
    regex: Regex,
}

/// A compiled `.dockerignore`: the last matching pattern decides, `!` re-includes, and a pattern
/// that matches a parent folder matches everything below it (moby/patternmatcher semantics).
#[derive(Clone, Debug, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// A `.dockerignore` line that is not a valid pattern.
#[derive(Debug, thiserror::Error)]
#[error(".dockerignore line {line}: invalid pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

impl DockerIgnore {
    /// Parses `.dockerignore` text.
    pub fn parse(text: &str) -> Result<DockerIgnore, PatternError> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclusion, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let mut p = clean(body);
            if p.len() > 1 && p.starts_with('/') {
                p = p[1..].to_string();
            }
            if p.is_empty() || p == "." {
                continue;
            }
            let regex = Regex::new(&to_regex(&p)).map_err(|e| PatternError {
                line: i + 1,
                pattern: line.to_string(),
                reason: e.to_string(),
            })?;
            patterns.push(Pattern { text: p, exclusion, regex });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether `rel` (slash-separated, relative to the context root) is left out of the context.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let parents: Vec<&str> = rel.split('/').collect();
        let mut excluded = false;
        for p in &self.patterns {
            let mut matched = p.regex.is_match(rel);
            if !matched && parents.len() > 1 {
                for i in 1..parents.len() {
                    if p.regex.is_match(&parents[..i].join("/")) {
                        matched = true;
                        break;
                    }
                }
            }
            if matched {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// Whether nothing below the folder `dir_rel` can enter the context (it is excluded and no
    /// `!` pattern may re-include anything inside), so a walk need not enter it.
    pub fn prunes_dir(&self, dir_rel: &str) -> bool {
        self.is_excluded(dir_rel) && !self.must_descend(dir_rel)
    }

    /// Whether an excluded folder must still be walked because a `!` pattern may re-include
    /// something below it (Docker's own test: the exception's text starts with the folder).
    pub fn must_descend(&self, dir_rel: &str) -> bool {
        let dir_slash = format!("{dir_rel}/");
        self.patterns.iter().any(|p| p.exclusion && format!("{}/", p.text).starts_with(&dir_slash))
    }
}

/// Go's `filepath.Clean` for slash paths.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn to_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                }
                if i + 1 >= chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => {
                if let Some(n) = chars.get(i + 1) {
                    re.push_str(&regex::escape(&n.to_string()));
                    i += 1;
                } else {
                    re.push_str("\\\\");
                }
            }
            '[' | ']' | '^' | '-' => re.push(c),
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn docker_pattern_semantics() {
        let i = ig("# comment\n.git\n*.pyc\n**/__pycache__\n/data\n!data/keep.csv\n.venv/\ntests/**/*.snap\n");
        assert!(i.is_excluded(".git"));
        assert!(i.is_excluded(".git/config"), "a matched parent excludes its contents");
        assert!(i.is_excluded("a.pyc"));
        assert!(!i.is_excluded("src/a.pyc"), "`*.pyc` is anchored at the root, unlike gitignore");
        assert!(i.is_excluded("src/pkg/__pycache__/x.pyc"));
        assert!(i.is_excluded("__pycache__"));
        assert!(i.is_excluded("data/big.bin"));
        assert!(!i.is_excluded("data/keep.csv"), "`!` re-includes");
        assert!(i.is_excluded(".venv/bin/python"), "trailing slash is cleaned");
        assert!(i.is_excluded("tests/a/b/c.snap"));
        assert!(i.is_excluded("tests/c.snap"), "`**/` matches zero folders");
        assert!(!i.is_excluded("src/app.py"));
        assert!(i.must_descend("data"));
        assert!(!i.must_descend(".git"));
    }

    #[test]
    fn last_match_wins_and_wildcards() {
        let i = ig("*\n!src\n!pyproject.toml\nsrc/secret?.txt\n");
        assert!(i.is_excluded("README.md"));
        assert!(!i.is_excluded("src/app.py"));
        assert!(!i.is_excluded("pyproject.toml"));
        assert!(i.is_excluded("src/secret1.txt"));
        assert!(!i.is_excluded("src/secret12.txt"));
        let i = ig("**\n!*.py\n");
        assert!(!i.is_excluded("app.py"));
        assert!(i.is_excluded("x/app.py"));
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/x/"), "/x");
        assert_eq!(clean("."), ".");
    }
}
