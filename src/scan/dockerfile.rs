//! An existing `Dockerfile` and `.dockerignore`. Owns reading the Dockerfile's instructions
//! that carry facts (every `FROM`, and the final stage's `CMD`, `ENTRYPOINT`, `EXPOSE`, `ENV`),
//! with line continuations, comments, exec (JSON) and shell forms. The argv it reports is
//! taken as strong evidence by `app`; it never rewrites the user's files.

use std::collections::BTreeMap;

use super::files::Ctx;
use super::{Fact, ScanReport};

/// A command from CMD or ENTRYPOINT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    pub line: usize,
    /// Written in shell form (`CMD uvicorn app:app`), not JSON.
    pub shell_form: bool,
    /// The instruction's text after the keyword, as written (continuations joined).
    pub raw: String,
}

/// What an existing Dockerfile says.
#[derive(Clone, Debug, Default)]
pub struct Dockerfile {
    /// File name relative to the root (`Dockerfile`).
    pub path: String,
    /// Every `FROM` image with its line.
    pub froms: Vec<(String, usize)>,
    /// The stage names `FROM ... AS NAME` gives, in order.
    pub stages: Vec<String>,
    pub cmd: Option<Command>,
    pub entrypoint: Option<Command>,
    /// Ports of the final stage's `EXPOSE` with their line.
    pub expose: Vec<(u16, usize)>,
    /// `ENV`/`ARG` defaults of the final stage.
    pub env: BTreeMap<String, String>,
    /// `COPY`/`ADD` sources and destinations of every stage (for finding a script the
    /// ENTRYPOINT names by its path in the image).
    pub copies: Vec<(Vec<String>, String)>,
    /// `WORKDIR` of the final stage.
    pub workdir: Option<String>,
    /// Every `RUN` command (shell text) with its line, all stages.
    pub runs: Vec<(String, usize)>,
}

impl Dockerfile {
    /// ENTRYPOINT + CMD as the container would run them, and where they come from.
    pub fn argv(&self) -> Option<(Vec<String>, String)> {
        match (&self.entrypoint, &self.cmd) {
            (Some(e), Some(c)) if !e.shell_form => {
                let mut v = e.argv.clone();
                v.extend(c.argv.iter().cloned());
                Some((v, format!("{}:{} (ENTRYPOINT + CMD)", self.path, e.line)))
            }
            (Some(e), _) => Some((e.argv.clone(), format!("{}:{} (ENTRYPOINT)", self.path, e.line))),
            (None, Some(c)) => Some((c.argv.clone(), format!("{}:{} (CMD)", self.path, c.line))),
            (None, None) => None,
        }
    }
}

pub fn detect(ctx: &mut Ctx, report: &mut ScanReport) -> Option<Dockerfile> {
    if ctx.exists(".dockerignore")
        && let Some(text) = ctx.read(".dockerignore")
    {
        let n = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).count();
        report.existing_dockerignore =
            Some(Fact::new(".dockerignore".to_string(), format!(".dockerignore ({n} patterns)")));
    }
    let name = ["Dockerfile", "dockerfile", "Containerfile"].into_iter().find(|n| ctx.is_file(n))?;
    let text = ctx.read(name)?;
    let df = parse(&text, name);
    let mut parts = Vec::new();
    if let Some((img, _)) = df.froms.last() {
        parts.push(format!("FROM {img}"));
    }
    if df.froms.len() > 1 {
        parts.push(format!("{} stages", df.froms.len()));
    }
    if let Some((argv, _)) = df.argv() {
        parts.push(format!("runs `{}`", argv.join(" ")));
    }
    let source = if parts.is_empty() { name.to_string() } else { format!("{name} ({})", parts.join(", ")) };
    report.existing_dockerfile = Some(Fact::new(name.to_string(), source));
    if df.froms.is_empty() {
        ctx.warn(format!("{name}: no FROM instruction; is it a Dockerfile?"));
    }
    Some(df)
}

/// Parses Dockerfile text (only the instructions pyslim uses).
pub fn parse(text: &str, path: &str) -> Dockerfile {
    let mut df = Dockerfile { path: path.to_string(), ..Default::default() };
    for (line, instr) in instructions(text) {
        let (kw, rest) = match instr.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_ascii_uppercase(), r.trim().to_string()),
            None => (instr.to_ascii_uppercase(), String::new()),
        };
        match kw.as_str() {
            "FROM" => {
                let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
                let image = substitute(words.first().copied().unwrap_or(""), &df.env);
                df.froms.push((image, line));
                if let (Some(kw), Some(name)) = (words.get(1), words.get(2))
                    && kw.eq_ignore_ascii_case("AS")
                {
                    df.stages.push((*name).to_string());
                }
                // A new stage: the final stage's facts start over.
                df.cmd = None;
                df.entrypoint = None;
                df.expose.clear();
                df.workdir = None;
            }
            "CMD" => df.cmd = Some(command(&rest, line)),
            "ENTRYPOINT" => {
                df.entrypoint = Some(command(&rest, line));
                df.cmd = None; // ENTRYPOINT resets an inherited CMD
            }
            "COPY" | "ADD" => {
                let words: Vec<String> = if rest.starts_with('[') {
                    serde_json::from_str(&rest).unwrap_or_default()
                } else {
                    rest.split_whitespace().filter(|w| !w.starts_with("--")).map(String::from).collect()
                };
                if let Some((dest, srcs)) = words.split_last() {
                    df.copies.push((srcs.to_vec(), substitute(dest, &df.env)));
                }
            }
            "WORKDIR" => df.workdir = Some(substitute(&rest, &df.env)),
            "RUN" => {
                let body = rest.split_whitespace().skip_while(|w| w.starts_with("--")).collect::<Vec<_>>().join(" ");
                let body = if body.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(&body).map(|v| v.join(" ")).unwrap_or(body)
                } else {
                    body
                };
                df.runs.push((body, line));
            }
            "EXPOSE" => {
                for p in rest.split_whitespace() {
                    let p = substitute(p, &df.env);
                    let num = p.split('/').next().unwrap_or("");
                    let num = num.split('-').next().unwrap_or(num);
                    if let Ok(port) = num.parse::<u16>() {
                        df.expose.push((port, line));
                    }
                }
            }
            "ENV" | "ARG" => {
                for (k, v) in env_pairs(&rest) {
                    df.env.insert(k, v);
                }
            }
            _ => {}
        }
    }
    df
}

/// Logical instructions (continuations joined, comments and parser directives dropped).
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('#') || (t.is_empty() && !buf.is_empty()) {
            continue;
        }
        if buf.is_empty() {
            start = i + 1;
        }
        if let Some(body) = t.strip_suffix('\\') {
            buf.push_str(body);
            buf.push(' ');
            continue;
        }
        buf.push_str(t);
        if !buf.trim().is_empty() {
            out.push((start, buf.trim().to_string()));
        }
        buf.clear();
    }
    if !buf.trim().is_empty() {
        out.push((start, buf.trim().to_string()));
    }
    out
}

fn command(rest: &str, line: usize) -> Command {
    if rest.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Vec<String>>(rest)
    {
        return Command { argv: v, line, shell_form: false, raw: rest.to_string() };
    }
    let argv = shlex::split(rest).unwrap_or_else(|| rest.split_whitespace().map(String::from).collect());
    // `exec uvicorn ...` in shell form is the same program.
    let argv = if argv.first().is_some_and(|a| a == "exec") { argv[1..].to_vec() } else { argv };
    Command { argv, line, shell_form: true, raw: rest.to_string() }
}

/// `ENV A=1 B="x y"` or legacy `ENV A 1`.
fn env_pairs(rest: &str) -> Vec<(String, String)> {
    let words = shlex::split(rest).unwrap_or_default();
    if words.first().is_some_and(|w| !w.contains('=')) {
        if words.len() >= 2 {
            return vec![(words[0].clone(), words[1..].join(" "))];
        }
        return vec![];
    }
    words.iter().filter_map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

/// Replaces `$VAR`, `${VAR}` and `${VAR:-default}` from known values.
pub fn substitute(s: &str, env: &BTreeMap<String, String>) -> String {
    static VARIABLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
            .expect("static regex")
    });
    VARIABLE
        .replace_all(s, |c: &regex::Captures| {
            let name = c.get(1).or_else(|| c.get(3)).map(|m| m.as_str()).unwrap_or("");
            env.get(name)
                .cloned()
                .or_else(|| c.get(2).map(|d| d.as_str().to_string()))
                .unwrap_or_else(|| c[0].to_string())
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stage_facts() {
        let df = parse(
            "# syntax=docker/dockerfile:1\nARG PY=3.10\nFROM --platform=$BUILDPLATFORM python:${PY}-slim AS build\nCMD [\"x\"]\nEXPOSE 1\n\nFROM python:3.10-slim\nENV PORT=8080\nEXPOSE $PORT/tcp\nENTRYPOINT [\"uvicorn\", \"app:app\"]\nCMD [\"--host\", \\\n  \"0.0.0.0\"]\n",
            "Dockerfile",
        );
        assert_eq!(df.froms, vec![("python:3.10-slim".to_string(), 3), ("python:3.10-slim".to_string(), 7)]);
        assert_eq!(df.expose, vec![(8080, 9)]);
        let (argv, src) = df.argv().unwrap();
        assert_eq!(argv, vec!["uvicorn", "app:app", "--host", "0.0.0.0"]);
        assert_eq!(src, "Dockerfile:10 (ENTRYPOINT + CMD)");
        let df = parse("FROM python:3.12\nCMD exec gunicorn -b :$PORT app:app\n", "Dockerfile");
        assert_eq!(df.cmd.unwrap().argv, vec!["gunicorn", "-b", ":$PORT", "app:app"]);
    }
}
