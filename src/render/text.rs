//! Dockerfile text: a tiny writer for instructions (`FROM`, `RUN` with continuation lines and
//! cache mounts, `ENV`, exec-form `CMD`/`ENTRYPOINT`) and shell quoting.
//!
//! Owns formatting only; what goes into a Dockerfile is decided by `stages` and `installers`.

use std::fmt::Write as _;

/// One `RUN` instruction: its cache mounts, its commands (joined with `&&`) and the hadolint
/// rules it ignores, each with the reason written on the line before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// `--mount=...` options (BuildKit flavour only).
    pub mounts: Vec<String>,
    pub commands: Vec<String>,
    /// `(rule, reason)` pairs, rendered as `# hadolint ignore=...` with the reasons.
    pub ignores: Vec<(&'static str, &'static str)>,
    /// Comment lines written above the `RUN` (why a step is there).
    pub notes: Vec<String>,
}

impl Run {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cmd(mut self, c: impl Into<String>) -> Self {
        self.commands.push(c.into());
        self
    }

    pub fn cmds<I: IntoIterator<Item = String>>(mut self, cs: I) -> Self {
        self.commands.extend(cs);
        self
    }

    pub fn mount(mut self, m: impl Into<String>) -> Self {
        let m = m.into();
        if !self.mounts.contains(&m) {
            self.mounts.push(m);
        }
        self
    }

    pub fn ignore(mut self, rule: &'static str, reason: &'static str) -> Self {
        if !self.ignores.iter().any(|(r, _)| *r == rule) {
            self.ignores.push((rule, reason));
        }
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    /// Appends another step's commands, mounts and ignores to this one (one layer).
    pub fn merge(mut self, other: Run) -> Self {
        self.notes.extend(other.notes);
        for m in other.mounts {
            self = self.mount(m);
        }
        for (r, why) in other.ignores {
            self = self.ignore(r, why);
        }
        self.commands.extend(other.commands);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// Accumulates Dockerfile text.
#[derive(Default)]
pub(crate) struct Dockerfile {
    out: String,
}

impl Dockerfile {
    pub fn new() -> Self {
        Self::default()
    }

    /// `# text` for every line of `text`.
    pub fn comment(&mut self, text: &str) {
        for line in text.lines() {
            if line.is_empty() {
                self.out.push_str("#\n");
            } else {
                let _ = writeln!(self.out, "# {line}");
            }
        }
    }

    pub fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    pub fn line(&mut self, instruction: impl AsRef<str>) {
        self.out.push_str(instruction.as_ref());
        self.out.push('\n');
    }

    pub fn from(&mut self, image: &str, alias: Option<&str>) {
        match alias {
            Some(a) => self.line(format!("FROM {image} AS {a}")),
            None => self.line(format!("FROM {image}")),
        }
    }

    /// `ENV` with one `KEY=value` per line; values are quoted when they need it.
    pub fn env(&mut self, vars: &[(String, String)]) {
        if vars.is_empty() {
            return;
        }
        let parts: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={}", env_value(v))).collect();
        self.line(format!("ENV {}", parts.join(" \\\n    ")));
    }

    /// `COPY` of context paths, one `COPY` per destination folder so that relative paths
    /// (`requirements/base.txt`, read by `-r base.txt`) keep their place.
    pub fn copy_files(&mut self, files: &[String], dest_root: &str) {
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for f in files {
            let parent = match f.rsplit_once('/') {
                Some((p, _)) => format!("{p}/"),
                None => String::new(),
            };
            match groups.iter_mut().find(|(p, _)| *p == parent) {
                Some((_, v)) => v.push(f),
                None => groups.push((parent, vec![f])),
            }
        }
        for (parent, srcs) in groups {
            let dest = if parent.is_empty() { format!("{dest_root}/") } else { format!("{dest_root}/{parent}") };
            let dest = dest.replace("//", "/");
            let dest = if dest == "./" { "./".to_string() } else { dest };
            self.line(format!("COPY {} {dest}", srcs.join(" ")));
        }
    }

    pub fn run(&mut self, run: &Run) {
        if run.is_empty() {
            return;
        }
        for n in &run.notes {
            self.comment(n);
        }
        if !run.ignores.is_empty() {
            for (rule, why) in &run.ignores {
                let _ = writeln!(self.out, "# {rule}: {why}");
            }
            let rules: Vec<&str> = run.ignores.iter().map(|(r, _)| *r).collect();
            let _ = writeln!(self.out, "# hadolint ignore={}", rules.join(","));
        }
        let mut s = String::from("RUN ");
        for m in &run.mounts {
            let _ = write!(s, "{m} \\\n    ");
        }
        s.push_str(&run.commands.join(" \\\n    && "));
        self.line(s);
    }

    /// Exec-form (JSON) `CMD`/`ENTRYPOINT`.
    pub fn exec(&mut self, keyword: &str, argv: &[String]) {
        self.line(format!("{keyword} {}", json_array(argv)));
    }

    pub fn finish(self) -> String {
        let mut s = self.out;
        while s.ends_with("\n\n") {
            s.pop();
        }
        s
    }
}

/// `["a", "b"]` with JSON string escaping.
pub(crate) fn json_array(argv: &[String]) -> String {
    let items: Vec<String> =
        argv.iter().map(|a| serde_json::to_string(a).expect("a string always serializes to JSON")).collect();
    format!("[{}]", items.join(", "))
}

fn env_value(v: &str) -> String {
    let plain = v.chars().all(|c| c.is_ascii_alphanumeric() || "_./:-,=+@".contains(c));
    if plain && !v.is_empty() { v.to_string() } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// Quotes one shell word: unchanged when it is plain, else in single quotes.
pub(crate) fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_./:-=+@,%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("fastapi"), "fastapi");
        assert_eq!(sh_quote("uv>=0.13,<1"), "'uv>=0.13,<1'");
        assert_eq!(sh_quote("a; python_version < '3.12'"), "'a; python_version < '\\''3.12'\\'''");
        assert_eq!(env_value("/opt/venv/bin:$PATH"), "\"/opt/venv/bin:$PATH\"");
        assert_eq!(json_array(&["a".into(), "b \"c\"".into()]), r#"["a", "b \"c\""]"#);
    }

    #[test]
    fn copy_groups_by_folder() {
        let mut d = Dockerfile::new();
        d.copy_files(&["requirements.txt".into(), "req/base.txt".into(), "req/prod.txt".into()], ".");
        assert_eq!(d.finish(), "COPY requirements.txt ./\nCOPY req/base.txt req/prod.txt ./req/\n");
    }
}
