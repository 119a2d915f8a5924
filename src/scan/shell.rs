//! Shell command lines as start commands: Procfile lines, shell-form Dockerfile CMD/ENTRYPOINT
//! and start scripts (`boot.sh`, `docker-entrypoint.sh`). Owns splitting them into the simple
//! commands they run, in order, with `;`, `&&`, `||`, pipes, `exec`, `VAR=x` prefixes, `$VAR` /
//! `${VAR:-default}` expansions, `"$@"` (the Dockerfile CMD), `if` blocks whose test it can
//! decide, and loops: a wait-for-service loop (`while ! nc -z db 5432`, `until psql ...`) is
//! dropped, a retry loop around a real command (`while true; do flask deploy && break; done`)
//! keeps the command. It never runs anything; which command is the server is `app`'s call.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::dockerfile::substitute;

/// One simple command a start line runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub argv: Vec<String>,
    /// 1-based line in the script (1 for a one-line command).
    pub line: usize,
    /// Ran through `exec` (the process the container keeps).
    pub exec: bool,
    /// Why it is special, for the fact's source (`retry loop`, `if [ ... ]`).
    pub note: Option<String>,
}

/// What a start line or script runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub steps: Vec<Step>,
    /// Things left out, each a sentence with its line (`boot.sh:4: a wait loop (nc -z db 5432) was left out`).
    pub notes: Vec<String>,
}

/// Commands that only prepare the shell or talk to the terminal: never a pre-start step.
const NOISE: &[&str] = &[
    "echo", "printf", "set", "shopt", "source", ".", "sleep", ":", "true", "false", "cd", "mkdir", "chown", "chmod",
    "test", "[", "[[", "ls", "cat", "break", "continue", "exit", "return", "wait", "trap", "umask", "ulimit", "export",
    "unset", "local", "declare", "readonly", "shift", "id", "whoami", "env", "printenv", "touch", "rm", "cp", "mv",
    "ln", "date", "sync", "clear", "logger", "tee", "yes",
];

/// Programs whose loop means "wait until a service answers".
const PROBES: &[&str] = &[
    "nc",
    "netcat",
    "pg_isready",
    "psql",
    "mysqladmin",
    "mysql",
    "redis-cli",
    "curl",
    "wget",
    "wait-for-it",
    "wait-for-it.sh",
    "dockerize",
    "timeout",
    "python",
    "python3",
    "[",
    "[[",
    "test",
];

/// Prefix words that run the real command (`exec gunicorn`, `gosu app gunicorn`).
fn strip_runners(argv: &mut Vec<String>, exec: &mut bool) {
    loop {
        let first = argv.first().map(String::as_str).unwrap_or("");
        let skip = match first {
            "exec" => {
                *exec = true;
                1
            }
            "nohup"
            | "time"
            | "command"
            | "builtin"
            | "ddtrace-run"
            | "opentelemetry-instrument"
            | "dumb-init"
            | "tini"
            | "--" => 1,
            "gosu" | "su-exec" | "chpst" => 2,
            "env" if argv.get(1).is_some_and(|a| a.contains('=')) => 1,
            "newrelic-admin" if argv.get(1).is_some_and(|a| a == "run-program") => 2,
            "poetry" | "uv" | "pdm" | "pipenv" | "hatch" | "rye" if argv.get(1).is_some_and(|a| a == "run") => {
                // `uv run --no-sync cmd`: the wrapper's own options go too
                let mut n = 2;
                while argv.get(n).is_some_and(|a| a.starts_with('-')) {
                    n += 1;
                }
                n
            }
            _ if first.contains('=') && !first.starts_with('-') && !first.starts_with('=') => 1,
            _ => 0,
        };
        if skip == 0 || argv.len() <= skip {
            break;
        }
        argv.drain(..skip);
    }
}

/// Splits one line into (operator-separated) statements, outside quotes: `;`, `&&`, `||`, `|`,
/// `&`. Returns each statement with the operator that ends it.
fn statements(line: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                cur.push(c);
                if c == '\\' && q == '"' && i + 1 < chars.len() {
                    cur.push(chars[i + 1]);
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                let next = chars.get(i + 1).copied();
                let prev = if i > 0 { Some(chars[i - 1]) } else { None };
                // `[[ a && b ]]` and `$(a; b)` keep their operators
                if (c == '[' && next == Some('[')) || (c == '$' && next == Some('(')) {
                    depth += 1;
                    cur.push(c);
                    cur.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                if depth > 0 && ((c == ']' && next == Some(']')) || c == ')') {
                    depth -= 1;
                    cur.push(c);
                    if c == ']' {
                        cur.push(']');
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                if depth > 0 {
                    cur.push(c);
                    if c == '\'' || c == '"' {
                        quote = Some(c);
                    }
                    i += 1;
                    continue;
                }
                let op: Option<(&'static str, usize)> = match (c, next) {
                    ('&', Some('&')) => Some(("&&", 2)),
                    ('|', Some('|')) => Some(("||", 2)),
                    (';', Some(';')) => Some((";;", 2)),
                    (';', _) => Some((";", 1)),
                    ('|', _) => Some(("|", 1)),
                    // `2>&1`, `>&2` are redirections, not background jobs
                    ('&', _) if prev != Some('>') && next != Some('>') => Some(("&", 1)),
                    _ => None,
                };
                if let Some((op, n)) = op {
                    out.push((std::mem::take(&mut cur), op));
                    i += n;
                    continue;
                }
                if c == '#' && (cur.is_empty() || cur.ends_with(char::is_whitespace)) {
                    break;
                }
                if c == '\\' && i + 1 < chars.len() {
                    cur.push(c);
                    cur.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
        i += 1;
    }
    out.push((cur, ""));
    out.into_iter().map(|(s, op)| (s.trim().to_string(), op)).filter(|(s, _)| !s.is_empty()).collect()
}

/// Drops redirections (`>&2`, `2>&1`, `> /dev/null`, `< file`) from shell words.
fn without_redirections(words: Vec<String>) -> Vec<String> {
    static REDIRECT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d*|&)(>>?|<)(&\d+|&-)?(.*)$").expect("static regex"));
    let mut out = Vec::with_capacity(words.len());
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        if let Some(c) = REDIRECT.captures(&w) {
            // `>` alone takes the next word as its target; `>file`, `2>&1` carry it
            if c.get(3).is_none() && c[4].is_empty() {
                skip_next = true;
            }
            continue;
        }
        out.push(w);
    }
    out
}

/// A block the parser is inside.
#[derive(Clone, Debug)]
enum Block {
    /// `while`/`until` loop: its probe (a wait loop) or `None` for a retry loop (`while true`).
    Loop { wait: Option<String>, line: usize },
    /// `if` with the decided value of its test (`None`: cannot tell).
    If { taken: Option<bool>, any_taken: bool, text: String },
    /// A function body or `case`: not run in order, skipped.
    Skip,
}

/// Parses a script or a one-line command. `env` holds known variables (the Dockerfile's ENV);
/// `args` is what `"$@"` expands to (the Dockerfile CMD for an ENTRYPOINT script).
pub fn parse(text: &str, env: &BTreeMap<String, String>, args: &[String]) -> Script {
    let mut env = env.clone();
    let mut script = Script::default();
    let mut blocks: Vec<Block> = Vec::new();
    let mut functions: Vec<String> = Vec::new();
    let mut arrays: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // logical lines: continuations joined
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if buf.is_empty() {
            start = i + 1;
        }
        if let Some(body) = raw.strip_suffix('\\') {
            buf.push_str(body);
            buf.push(' ');
            continue;
        }
        // an array literal spread over lines: `WARN=(` ... `)`
        let open = format!("{buf}{raw}");
        if open.contains("=(") && open.matches('(').count() > open.matches(')').count() {
            buf.push_str(raw);
            buf.push(' ');
            continue;
        }
        buf.push_str(raw);
        lines.push((start, std::mem::take(&mut buf)));
    }
    if !buf.is_empty() {
        lines.push((start, buf));
    }

    for (line, text) in lines {
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        for (stmt, _op) in statements(t) {
            let mut stmt = stmt.as_str();
            // block keywords may lead a statement (`do flask deploy`, `then exec x`)
            loop {
                let first = stmt.split_whitespace().next().unwrap_or("");
                match first {
                    "do" | "then" | "{" => {
                        stmt = stmt[first.len()..].trim_start();
                    }
                    "else" => {
                        if let Some(Block::If { taken, any_taken, .. }) = blocks.last_mut() {
                            *taken = if *any_taken || *taken == Some(true) {
                                Some(false)
                            } else if *taken == Some(false) {
                                Some(true)
                            } else {
                                None
                            };
                        }
                        stmt = stmt[first.len()..].trim_start();
                    }
                    _ => break,
                }
            }
            if stmt.is_empty() {
                continue;
            }
            let first = stmt.split_whitespace().next().unwrap_or("");
            match first {
                "done" | "fi" | "}" | "esac" => {
                    blocks.pop();
                    continue;
                }
                "while" | "until" => {
                    let cond = stmt[first.len()..].trim();
                    let words = shlex::split(cond).unwrap_or_default();
                    let probe = words.iter().find(|w| *w != "!").cloned().unwrap_or_default();
                    let probe_base = probe.rsplit('/').next().unwrap_or(&probe).to_string();
                    let wait = match probe_base.as_str() {
                        "true" | ":" | "" => None,
                        p if PROBES.contains(&p) => Some(cond.to_string()),
                        _ => Some(cond.to_string()),
                    };
                    if let Some(w) = &wait {
                        script.notes.push(format!("line {line}: a wait loop (`{first} {w}`) was left out"));
                    }
                    blocks.push(Block::Loop { wait, line });
                    continue;
                }
                "for" | "select" => {
                    blocks.push(Block::Skip);
                    continue;
                }
                "case" => {
                    blocks.push(Block::Skip);
                    continue;
                }
                "if" | "elif" => {
                    let test = stmt[first.len()..].trim().to_string();
                    let decided = decide(&test, &env, args);
                    if first == "elif" {
                        if let Some(Block::If { taken, any_taken, text }) = blocks.last_mut() {
                            *any_taken |= *taken == Some(true);
                            *taken = if *any_taken { Some(false) } else { decided };
                            *text = test;
                        }
                    } else {
                        blocks.push(Block::If { taken: decided, any_taken: false, text: test });
                    }
                    continue;
                }
                _ => {}
            }
            static FUNCTION: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^(function\s+)?[A-Za-z_][\w-]*\s*(\(\))?\s*\{?$").expect("static regex"));
            if (first == "function" || stmt.contains("()")) && FUNCTION.is_match(stmt) {
                let name = stmt.trim_start_matches("function").trim();
                let name = name.split(['(', ' ', '{']).next().unwrap_or("").to_string();
                functions.push(name);
                blocks.push(Block::Skip);
                continue;
            }
            // Inside a skipped block, a wait loop or an `if` decided false: nothing runs.
            let mut note: Option<String> = None;
            let mut skipped = false;
            for b in &blocks {
                match b {
                    Block::Skip => skipped = true,
                    Block::Loop { wait: Some(_), .. } => skipped = true,
                    Block::Loop { wait: None, line: l } => note = Some(format!("retry loop at line {l}, kept once")),
                    Block::If { taken: Some(false), .. } => skipped = true,
                    Block::If { taken: None, text, .. } => {
                        note = Some(format!("only when `{text}`"));
                    }
                    Block::If { taken: Some(true), .. } => {}
                }
            }
            if skipped {
                continue;
            }
            // `VAR=$(command)`: a value only the running shell knows
            static COMMAND_OUTPUT: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=[\$`]\(?").expect("static regex"));
            if COMMAND_OUTPUT.is_match(stmt) && (stmt.contains("$(") || stmt.contains('`')) {
                continue;
            }
            // `VAR=value` alone (or `export VAR=value`) sets a variable for later lines.
            let Some(words) = shlex::split(stmt) else {
                script.notes.push(format!("line {line}: `{stmt}` cannot be split into words (quotes?); ignored"));
                continue;
            };
            let words = without_redirections(words);
            let assigns = |w: &str| {
                w.split_once('=')
                    .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            };
            // bash arrays: `CMD=("run" "-p" "$PORT")`, expanded later by `"${CMD[@]}"`
            if let Some(first) = words.first()
                && let Some((name, head)) = first.split_once("=(")
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                let mut items: Vec<String> =
                    std::iter::once(head.to_string()).chain(words[1..].iter().cloned()).collect();
                if let Some(last) = items.last_mut() {
                    *last = last.trim_end_matches(')').to_string();
                }
                let items: Vec<String> =
                    items.into_iter().filter(|w| !w.is_empty()).map(|w| substitute(&w, &env)).collect();
                arrays.insert(name.to_string(), items);
                continue;
            }
            let is_export = words.first().is_some_and(|w| w == "export");
            if (is_export && words.len() > 1) || (!words.is_empty() && words.iter().all(|w| assigns(w))) {
                for w in words.iter().skip(usize::from(is_export)) {
                    if let Some((k, v)) = w.split_once('=') {
                        let v = substitute(v, &env);
                        env.insert(k.to_string(), v);
                    }
                }
                continue;
            }
            let mut argv: Vec<String> = Vec::new();
            for w in &words {
                if w == "$@" || w == "${@}" || w == "$*" {
                    argv.extend(args.iter().cloned());
                } else if let Some(name) =
                    w.strip_prefix("${").and_then(|r| r.strip_suffix("[@]}").or_else(|| r.strip_suffix("[*]}")))
                    && let Some(items) = arrays.get(name)
                {
                    argv.extend(items.iter().cloned());
                } else {
                    argv.push(substitute(w, &env));
                }
            }
            let mut exec = false;
            strip_runners(&mut argv, &mut exec);
            let Some(prog) = argv.first() else { continue };
            let base = prog.rsplit('/').next().unwrap_or(prog);
            if NOISE.contains(&base) || base.starts_with("$(") || functions.iter().any(|f| f == base) {
                continue;
            }
            script.steps.push(Step { argv, line, exec, note: note.clone() });
        }
    }
    script
}

/// Decides a simple `if` test: `[ "$1" = 'x' ]`, `[ "x$VAR" = 'xon' ]`, `[[ "$*" == "" ]]`,
/// `[ -z "$VAR" ]`, `[ -n "$VAR" ]`; `None` for anything else.
fn decide(test: &str, env: &BTreeMap<String, String>, args: &[String]) -> Option<bool> {
    let words = shlex::split(test.trim_end_matches(';').trim())?;
    let words: Vec<&str> =
        words.iter().map(String::as_str).filter(|w| !matches!(*w, "[" | "]" | "[[" | "]]")).collect();
    let expand = |w: &str| -> Option<String> {
        let w = w.replace("$*", &args.join(" ")).replace("$@", &args.join(" "));
        let w = w.replace("$1", args.first().map(String::as_str).unwrap_or(""));
        let s = substitute(&w, env);
        // a variable nobody sets is empty in the container (when written as $NAME)
        static LEFT: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?").expect("static regex"));
        if LEFT.is_match(&s) {
            if s.contains("EUID") || s.contains("UID") {
                return None;
            }
            return Some(LEFT.replace_all(&s, "").into_owned());
        }
        Some(s)
    };
    match words.as_slice() {
        [a, op, b] if matches!(*op, "=" | "==" | "!=") => {
            let eq = expand(a)? == expand(b)?;
            Some(if *op == "!=" { !eq } else { eq })
        }
        ["-z", a] => Some(expand(a)?.is_empty()),
        ["-n", a] => Some(!expand(a)?.is_empty()),
        _ => None,
    }
}

/// Whether a script's argv is the `sh -c '...'` form, returning the command text.
pub fn sh_c(argv: &[String]) -> Option<&str> {
    let base = argv.first()?.rsplit('/').next()?;
    if matches!(base, "sh" | "bash" | "ash" | "dash") && argv.get(1).is_some_and(|a| a == "-c" || a == "-ec") {
        return argv.get(2).map(String::as_str);
    }
    None
}

/// The script file an argv runs (`./boot.sh`, `sh scripts/start.sh`, `/code/entrypoint.sh`).
pub fn script_of(argv: &[String]) -> Option<&str> {
    let first = argv.first()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    if matches!(base, "sh" | "bash" | "ash" | "dash") {
        return argv.get(1).filter(|a| !a.starts_with('-')).map(String::as_str);
    }
    (first.ends_with(".sh") || first.contains("entrypoint") || first.contains("start") || first.contains("boot"))
        .then_some(first.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(s: &Script) -> Vec<String> {
        s.steps.iter().map(|s| s.argv.join(" ")).collect()
    }

    #[test]
    fn one_line_chains() {
        let s = parse("flask db upgrade; flask translate compile; gunicorn app:app", &BTreeMap::new(), &[]);
        assert_eq!(argvs(&s), vec!["flask db upgrade", "flask translate compile", "gunicorn app:app"]);
        let env = BTreeMap::from([("PORT".to_string(), "8000".to_string())]);
        let s =
            parse("cd src && PYTHONPATH=. exec poetry run gunicorn -b 0.0.0.0:${PORT:-5000} app:app 2>&1", &env, &[]);
        assert_eq!(argvs(&s), vec!["gunicorn -b 0.0.0.0:8000 app:app"]);
        assert!(s.steps[0].exec);
        let s = parse("yes \"yes\" | python manage.py migrate", &BTreeMap::new(), &[]);
        assert_eq!(argvs(&s), vec!["python manage.py migrate"]);
    }

    #[test]
    fn scripts_with_loops_and_ifs() {
        let boot = "#!/bin/sh\nsource venv/bin/activate\n\nwhile true; do\n    flask deploy\n    if [[ \"$?\" == \"0\" ]]; then\n        break\n    fi\n    echo Deploy command failed, retrying in 5 secs...\n    sleep 5\ndone\n\nexec gunicorn -b :5000 --access-logfile - --error-logfile - flasky:app\n";
        let s = parse(boot, &BTreeMap::new(), &[]);
        assert_eq!(
            argvs(&s),
            vec!["flask deploy", "gunicorn -b :5000 --access-logfile - --error-logfile - flasky:app"]
        );
        assert!(s.steps[0].note.as_deref().unwrap().contains("retry loop"));

        let entry = "#!/bin/sh\nset -e\n\nuntil psql $DATABASE_URL -c '\\q'; do\n  >&2 echo \"Postgres is unavailable - sleeping\"\n  sleep 1\ndone\n\nif [ \"$1\" = '/venv/bin/uwsgi' ]; then\n    /venv/bin/python manage.py migrate --noinput\nfi\n\nif [ \"x$DJANGO_LOAD_INITIAL_DATA\" = 'xon' ]; then\n\t/venv/bin/python manage.py load_initial_data\nfi\n\nexec \"$@\"\n";
        let cmd: Vec<String> = ["/venv/bin/uwsgi", "/code/etc/uwsgi.ini"].map(String::from).to_vec();
        let s = parse(entry, &BTreeMap::new(), &cmd);
        assert_eq!(
            argvs(&s),
            vec!["/venv/bin/python manage.py migrate --noinput", "/venv/bin/uwsgi /code/etc/uwsgi.ini"]
        );
        assert!(s.notes[0].contains("wait loop"), "{:?}", s.notes);

        let wait = "echo Waiting\nwhile ! nc -z web-db 5432; do\n  sleep 0.1\ndone\nexec \"$@\"\n";
        let s = parse(wait, &BTreeMap::new(), &["uvicorn".into(), "a:b".into()]);
        assert_eq!(argvs(&s), vec!["uvicorn a:b"]);
        assert_eq!(s.notes.len(), 1);

        let funcs = "run() {\n  gosu app \"$@\"\n}\nif [ -z \"$X\" ]; then\n  A=1\nelse\n  skipped now\nfi\nexec gunicorn x:y\n";
        let s = parse(funcs, &BTreeMap::new(), &[]);
        assert_eq!(argvs(&s), vec!["gunicorn x:y"]);
    }

    #[test]
    fn scripts_named_by_commands() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(script_of(&v("./boot.sh")), Some("./boot.sh"));
        assert_eq!(script_of(&v("sh scripts/start.sh")), Some("scripts/start.sh"));
        assert_eq!(script_of(&v("gunicorn a:b")), None);
        assert_eq!(sh_c(&v("sh -c x")), Some("x"));
    }

    #[test]
    fn bash_arrays_and_decided_tests() {
        let text = "if [[ \"$*\" == \"\" ]]; then\n    CMD=(\"run\" \"-p\" \"${APP_PORT:-$PORT}\" \"--server\" \"gunicorn\")\nelse\n    CMD=( \"${@}\" )\nfi\nexec app-server \"${CMD[@]}\"\n";
        let env = BTreeMap::from([("APP_PORT".to_string(), "8080".to_string())]);
        let s = parse(text, &env, &[]);
        assert_eq!(argvs(&s), vec!["app-server run -p 8080 --server gunicorn"]);
    }

    #[test]
    fn junk_never_panics() {
        let junk = [
            "",
            "fi",
            "done\ndone\nfi",
            "'unbalanced",
            "if [",
            "while",
            "exec",
            "exec \"$@\"",
            "a=(",
            "é; ü && ß",
            "function",
            "f() {",
            "}",
            "case $x in a) b;; esac",
            ">",
            "2>&1",
            "&& ; || |",
            "$(",
            "`x`",
            "else",
            "elif",
            "do do do",
            "then",
            "\\",
            "x\\\ny",
            "if [ \"$1\" = ]; then x; fi",
            "[ -z ]",
            "until",
            "for x in 1 2; do y; done",
        ];
        for j in junk {
            let _ = parse(j, &BTreeMap::new(), &["a".to_string()]);
            let _ = statements(j);
            let _ = decide(j, &BTreeMap::new(), &[]);
        }
    }
}
