//! Where the service writes at run time: SQLite database files (Django `DATABASES` NAME,
//! `sqlite:///` URLs built from `basedir` or `BASE_DIR`, `app.root_path` / `app.instance_path`
//! joins, `sqlite3.connect(...)`) and folders a framework writes into (Django `MEDIA_ROOT`), each
//! as the directory the runtime user must be able to write, with the file and line it came from.
//! Also the variable that selects the database (`DATABASE_URL`). Owns reading these from the Python sources; the patterns are data in
//! `assets/writable.toml`. Paths are image paths: `/app/...` for the source, or
//! `{site-packages}/pkg` for a package pip installs into the environment.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;
use serde::Deserialize;

use super::files::Ctx;
use super::pycode::{Code, is_test_path, is_vendored};
use super::{Fact, ScanReport};
use crate::layout::{APP_DIR, SITE_PACKAGES, VENV};

const TABLE: &str = include_str!("../../assets/writable.toml");

/// `assets/writable.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub sqlite_suffixes: Vec<String>,
    pub sqlite_markers: Vec<String>,
    pub sqlite_calls: Vec<String>,
    pub folder: Vec<Folder>,
}

/// A setting that names a folder the framework writes into.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Folder {
    pub setting: String,
    pub why: String,
}

/// The embedded table, parsed once.
pub fn table() -> &'static Table {
    static CELL: OnceLock<Table> = OnceLock::new();
    CELL.get_or_init(|| toml::from_str(TABLE).expect("assets/writable.toml is checked by a unit test"))
}

static ASSIGN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$").expect("static regex"));
static KEYED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:["']([A-Za-z_][A-Za-z0-9_]*)["']\s*:|\b([A-Za-z_][A-Za-z0-9_]*)\s*=)\s*"#).expect("static regex")
});

/// A path while it is evaluated: relative to the project root (components), or absolute.
#[derive(Clone, Debug, PartialEq)]
enum Loc {
    Project(Vec<String>),
    Absolute(String),
}

impl Loc {
    fn parent(self) -> Option<Loc> {
        match self {
            Loc::Project(mut c) => c.pop().map(|_| Loc::Project(c)),
            Loc::Absolute(p) => {
                let t = p.trim_end_matches('/');
                t.rfind('/').map(|i| Loc::Absolute(if i == 0 { "/".into() } else { t[..i].to_string() }))
            }
        }
    }
    fn join(self, part: &str) -> Option<Loc> {
        if part.starts_with('/') {
            return Some(Loc::Absolute(part.to_string()));
        }
        match self {
            Loc::Project(mut c) => {
                for p in part.split('/').filter(|p| !p.is_empty() && *p != ".") {
                    if p == ".." {
                        c.pop()?;
                    } else {
                        c.push(p.to_string());
                    }
                }
                Some(Loc::Project(c))
            }
            Loc::Absolute(p) => Some(Loc::Absolute(format!("{}/{part}", p.trim_end_matches('/')))),
        }
    }
    fn file_name(&self) -> String {
        match self {
            Loc::Project(c) => c.last().cloned().unwrap_or_default(),
            Loc::Absolute(p) => p.rsplit('/').next().unwrap_or_default().to_string(),
        }
    }
}

/// What one file's expressions can refer to.
struct Scope {
    file: Vec<String>,
    vars: BTreeMap<String, Loc>,
    /// `app.root_path` / `app.instance_path` of the app objects this file can see.
    root_path: Option<Loc>,
    instance_path: Option<Loc>,
}

/// The text of one call's arguments `(...)` starting at `open` (an index of `(`), and the index
/// after the closing parenthesis.
fn call_args(s: &str, open: usize) -> Option<(&str, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, ch) in s[open..].char_indices() {
        let i = open + i;
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '"' | '\'' => quote = Some(ch),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some((&s[open + 1..i], i + 1));
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// Splits on a separator at the top level (outside brackets and strings).
fn split_top<'s>(s: &'s str, sep: &str) -> Vec<&'s str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0usize);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let ch = bytes[i] as char;
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '"' | '\'' => quote = Some(ch),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ if depth == 0 && bytes[i..].starts_with(sep.as_bytes()) => {
                    out.push(&s[start..i]);
                    i += sep.len();
                    start = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

/// A plain string literal (`"a/b"`, `'x.db'`, `r"..."`), without f-strings.
fn literal(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix('r').or_else(|| s.strip_prefix('R')).unwrap_or(s);
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    (!inner.contains(q)).then(|| inner.to_string())
}

/// A path component: a literal, or the default of `os.environ.get("X", "lit")` / `os.getenv`.
fn component(s: &str) -> Option<String> {
    if let Some(l) = literal(s) {
        return Some(l);
    }
    let s = s.trim();
    for call in ["os.environ.get(", "os.getenv(", "environ.get(", "getenv("] {
        if s.starts_with(call) {
            let (args, end) = call_args(s, call.len() - 1)?;
            if !s[end..].trim().is_empty() {
                return None;
            }
            let parts = split_top(args, ",");
            return parts.get(1).and_then(|d| literal(d));
        }
    }
    None
}

impl Scope {
    /// Evaluates a path expression (`os.path.join(BASE_DIR, "db.sqlite3")`, `BASE_DIR / "media"`,
    /// `Path(__file__).resolve().parent.parent`, `app.root_path`).
    fn eval(&self, expr: &str, depth: usize) -> Option<Loc> {
        if depth > 12 {
            return None;
        }
        let e = expr.trim().trim_end_matches(',').trim();
        if e.is_empty() {
            return None;
        }
        // `A / "b" / "c"` at the top level
        let parts = split_top(e, " / ");
        if parts.len() > 1 {
            let mut loc = self.eval(parts[0], depth + 1)?;
            for p in &parts[1..] {
                loc = loc.join(&component(p)?)?;
            }
            return Some(loc);
        }
        // a primary, then `.parent`, `.resolve()`, `.parents[N]`
        let (mut loc, mut rest) = self.primary(e, depth)?;
        loop {
            let r = rest.trim_start();
            if r.is_empty() {
                return Some(loc);
            }
            if let Some(t) = r.strip_prefix(".parent").filter(|t| !t.starts_with('s')) {
                loc = loc.parent()?;
                rest = t;
            } else if let Some(t) = r.strip_prefix(".parents[") {
                let (n, after) = t.split_once(']')?;
                for _ in 0..=n.trim().parse::<usize>().ok()? {
                    loc = loc.parent()?;
                }
                rest = after;
            } else if let Some(t) = r.strip_prefix(".resolve()").or_else(|| r.strip_prefix(".absolute()")) {
                rest = t;
            } else {
                return None;
            }
        }
    }

    fn primary<'e>(&self, e: &'e str, depth: usize) -> Option<(Loc, &'e str)> {
        const SAME: &[&str] = &[
            "os.path.abspath(",
            "os.path.realpath(",
            "os.path.normpath(",
            "path.abspath(",
            "Path(",
            "pathlib.Path(",
            "PurePath(",
            "str(",
            "(",
        ];
        const PARENT: &[&str] = &["os.path.dirname(", "path.dirname(", "dirname("];
        const JOIN: &[&str] = &["os.path.join(", "path.join(", "join("];
        for (list, kind) in [(SAME, 0), (PARENT, 1), (JOIN, 2)] {
            for p in list {
                if e.starts_with(p) {
                    let (args, end) = call_args(e, p.len() - 1)?;
                    let parts = split_top(args, ",");
                    let first = self.eval(parts.first()?, depth + 1)?;
                    let loc = match kind {
                        0 if parts.len() == 1 => first,
                        1 if parts.len() == 1 => first.parent()?,
                        2 => {
                            let mut l = first;
                            for part in &parts[1..] {
                                l = l.join(&component(part)?)?;
                            }
                            l
                        }
                        _ => return None,
                    };
                    return Some((loc, &e[end..]));
                }
            }
        }
        if let Some(rest) = e.strip_prefix("__file__") {
            return Some((Loc::Project(self.file.clone()), rest));
        }
        if let Some(l) = literal(e) {
            return Some((if l.starts_with('/') { Loc::Absolute(l) } else { Loc::Project(Vec::new()).join(&l)? }, ""));
        }
        // `app.root_path`, `current_app.instance_path`, `self.app.root_path`
        let ident_end = e.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(e.len());
        let (name, rest) = e.split_at(ident_end);
        if let Some(attr) = name.rsplit('.').next()
            && name.contains('.')
        {
            return match attr {
                "root_path" => self.root_path.clone().map(|l| (l, rest)),
                "instance_path" => self.instance_path.clone().map(|l| (l, rest)),
                _ => None,
            };
        }
        self.vars.get(name).cloned().map(|l| (l, rest))
    }
}

/// Logical lines: a line ending in `\` or with open brackets continues on the next one. Each
/// with its first line number.
fn statements(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let mut depth = 0i32;
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        if cur.is_empty() {
            start = i + 1;
        }
        let code = code.trim_end();
        let (code, cont) = match code.strip_suffix('\\') {
            Some(c) => (c.trim_end(), true),
            None => (code, false),
        };
        for ch in code.chars() {
            match ch {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        if cur.is_empty() {
            cur.push_str(code);
        } else {
            cur.push(' ');
            cur.push_str(code.trim_start());
        }
        if !cont && depth <= 0 {
            out.push((start, std::mem::take(&mut cur)));
            depth = 0;
        }
        if out.len() > 5000 {
            break;
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// The line without a trailing `# comment` (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, ch) in line.char_indices() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None if ch == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

/// Where the project's packages go in the image: an installable project's `src/` packages are
/// installed into the environment (`{site-packages}/pkg`); everything else sits under `/app`.
fn image_path(report: &ScanReport, loc: &Loc) -> Option<String> {
    match loc {
        Loc::Absolute(p) => Some(p.trim_end_matches('/').to_string()).filter(|p| !p.is_empty()),
        Loc::Project(c) => {
            if report.installable
                && let Some(sd) = report.source_dir.as_deref()
                && c.first().map(String::as_str) == Some(sd.trim_matches('/'))
                && c.len() >= 2
            {
                return Some(format!("{SITE_PACKAGES}/{}", c[1..].join("/")));
            }
            Some(if c.is_empty() { APP_DIR.to_string() } else { format!("{APP_DIR}/{}", c.join("/")) })
        }
    }
}

/// The folder of a file (project components).
fn dir_of(path: &str) -> Vec<String> {
    let mut c: Vec<String> = path.split('/').map(String::from).collect();
    c.pop();
    c
}

/// `app.root_path` and `app.instance_path` of an app object defined in `file` with `__name__`:
/// the module's folder (a package's own folder), and `instance/` beside the package; for a
/// package installed from `src/`, Flask's `{prefix}/var/PKG-instance`.
fn app_paths(report: &ScanReport, file: &str) -> (Loc, Loc) {
    let root = dir_of(file);
    let is_package = file.ends_with("/__init__.py");
    let mut beside = root.clone();
    if is_package {
        beside.pop();
    }
    let installed = report.installable
        && report
            .source_dir
            .as_deref()
            .is_some_and(|sd| root.first().map(String::as_str) == Some(sd.trim_matches('/')));
    let instance = if installed {
        let pkg = root.get(1).cloned().unwrap_or_default();
        Loc::Absolute(format!("{VENV}/var/{pkg}-instance"))
    } else {
        beside.push("instance".into());
        Loc::Project(beside)
    };
    (Loc::Project(root), instance)
}

/// A place found, before it becomes a fact.
struct Found {
    dir: String,
    what: String,
    at: String,
}

/// Reads every non-test project file for SQLite databases and write folders; fills
/// `report.writable` (one fact per directory) and `report.pre_start_candidates`.
pub fn detect(ctx: &mut Ctx, report: &mut ScanReport, code: &Code) {
    let t = table();
    let app_file = code.apps.iter().find(|a| a.module_level).map(|a| a.file.clone());
    let flask_sqlalchemy = report.dependencies.iter().any(|d| d.name == "flask-sqlalchemy");
    let mut found: Vec<Found> = Vec::new();
    for f in &code.files {
        if is_test_path(&f.path) || is_vendored(&f.path) {
            continue;
        }
        let Some(text) = ctx.read(&f.path) else { continue };
        let own_app = code.apps.iter().find(|a| a.file == f.path).map(|a| a.file.clone());
        let app = own_app.or_else(|| app_file.clone());
        let (root_path, instance_path) = match &app {
            Some(a) => {
                let (r, i) = app_paths(report, a);
                (Some(r), Some(i))
            }
            None => (None, None),
        };
        let mut scope = Scope {
            file: f.path.split('/').map(String::from).collect(),
            vars: BTreeMap::new(),
            root_path,
            instance_path: instance_path.clone(),
        };
        let stmts = statements(&text);
        for (line, stmt) in &stmts {
            let at = format!("{}:{line}", f.path);
            if let Some(c) = ASSIGN.captures(stmt)
                && !stmt.contains("==")
            {
                let (name, rhs) = (c[1].to_string(), c[2].to_string());
                if let Some(loc) = scope.eval(&rhs, 0) {
                    scope.vars.insert(name.clone(), loc);
                }
                if let Some(folder) = t.folder.iter().find(|fo| fo.setting == name)
                    && let Some(loc) = scope.eval(&rhs, 0)
                    && let Some(dir) = image_path(report, &loc)
                {
                    found.push(Found { dir, what: format!("{name}: {}", folder.why), at: at.clone() });
                }
            }
            // a statement that names SQLite (a whole `DATABASES = {...}` is one statement)
            let marked = t.sqlite_markers.iter().any(|m| stmt.to_ascii_lowercase().contains(m));
            for cand in candidates(stmt) {
                for alt in split_top(&cand, " or ") {
                    let alt = alt.trim();
                    if let Some(url) = sqlite_url(alt) {
                        let loc = match url {
                            Url::Expr(e) => scope.eval(&e, 0),
                            Url::Literal(p) if p.starts_with('/') => Some(Loc::Absolute(p)),
                            Url::Literal(p) if p.is_empty() || p == ":memory:" => None,
                            // Flask-SQLAlchemy 3 puts a relative file in the instance folder
                            Url::Literal(p) if flask_sqlalchemy => instance_path.clone().and_then(|i| i.join(&p)),
                            Url::Literal(p) => Loc::Project(Vec::new()).join(&p),
                        };
                        if let Some(loc) = loc {
                            push_db(report, &mut found, loc, &at);
                        }
                        continue;
                    }
                    let Some(loc) = scope.eval(alt, 0) else { continue };
                    let name = loc.file_name();
                    // `db.sqlite3`, not a dotted module path such as `django.db.backends.sqlite3`
                    let by_suffix = t.sqlite_suffixes.iter().any(|s| {
                        name.strip_suffix(s.as_str()).is_some_and(|stem| !stem.is_empty() && !stem.contains('.'))
                    });
                    // a bare string on a SQLite statement is its ENGINE or a URL, not a path
                    if by_suffix || (marked && literal(alt).is_none()) {
                        push_db(report, &mut found, loc, &at);
                    }
                }
            }
            for call in &t.sqlite_calls {
                let needle = format!("{call}(");
                if let Some(i) = stmt.find(&needle)
                    && let Some((args, _)) = call_args(stmt, i + needle.len() - 1)
                    && let Some(first) = split_top(args, ",").first()
                    && let Some(loc) = scope.eval(first, 0)
                {
                    push_db(report, &mut found, loc, &at);
                }
            }
        }
    }
    for f in found {
        if f.dir == "/tmp" || f.dir.starts_with("/tmp/") {
            continue; // writable by everyone already
        }
        if let Some(existing) = report.writable.iter_mut().find(|w| w.value == f.dir) {
            if !existing.source.contains(&f.at) {
                existing.source.push_str(&format!("; {}: {}", f.at, f.what));
            }
            continue;
        }
        report.writable.push(Fact::new(f.dir, format!("{}: {}", f.at, f.what)));
    }
}

/// The variable that selects the database: an env read whose name holds `DATABASE_URL` (or ends in
/// `DB_URL`), `DATABASE_URL` itself first; `dj_database_url.config()` reads `DATABASE_URL`.
pub fn database_env(ctx: &mut Ctx, report: &mut ScanReport, code: &Code) {
    let mut best: Option<(u8, String, String)> = None;
    for f in code.files.iter().filter(|f| !is_test_path(&f.path) && !is_vendored(&f.path)) {
        let mut reads: Vec<(String, usize)> = f.env_reads.clone();
        if let Some(text) = ctx.read(&f.path)
            && let Some(i) = text.find("dj_database_url.config(")
        {
            reads.push(("DATABASE_URL".into(), super::files::line_of(&text, i)));
        }
        for (name, line) in reads {
            let rank = match name.as_str() {
                "DATABASE_URL" => 0,
                n if n.contains("DATABASE_URL") => 1,
                n if n.ends_with("DB_URL") => 2,
                _ => continue,
            };
            if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                best = Some((rank, name, format!("{}:{line}", f.path)));
            }
        }
    }
    report.database_env = best.map(|(_, name, at)| Fact::new(name, at));
}

/// Says on Django's `migrate` pre-start step that the settings use SQLite inside the image (the
/// step then needs no outside database, only the writable folder).
pub fn note_sqlite_migrate(report: &mut ScanReport) {
    let Some(db) = report.writable.iter().find(|w| w.source.contains("SQLite database")) else { return };
    let note = format!("; the settings use SQLite in {} (writable), so it needs no outside database", db.value);
    for s in report.pre_start.iter_mut().filter(|s| s.value.contains("manage.py") && s.value.contains("migrate")) {
        if !s.source.contains(&note) {
            s.source.push_str(&note);
        }
    }
}

/// A SQLite database file at `loc`: its directory must be writable (SQLite writes a journal
/// beside the file).
fn push_db(report: &ScanReport, found: &mut Vec<Found>, loc: Loc, at: &str) {
    let name = loc.file_name();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return; // an in-memory database (or a URI pyslim does not read) writes no file
    }
    let Some(dir) = loc.parent().and_then(|d| image_path(report, &d)) else { return };
    if found.iter().any(|f| f.dir == dir && f.at == at) {
        return;
    }
    found.push(Found {
        dir,
        what: format!("SQLite database {name} (its folder: the journal is written beside it)"),
        at: at.to_string(),
    });
}

enum Url {
    /// `"sqlite:///" + EXPR` or `f"sqlite:///{EXPR}"`
    Expr(String),
    /// `"sqlite:///path"`
    Literal(String),
}

/// A `sqlite:///` URL: the path literal, or the expression appended to it.
fn sqlite_url(alt: &str) -> Option<Url> {
    let a = alt.trim();
    for q in ['"', '\''] {
        for prefix in [format!("{q}sqlite:///{q}"), format!("{q}sqlite:////{q}")] {
            if let Some(rest) = a.strip_prefix(&prefix) {
                let rest = rest.trim_start().strip_prefix('+')?;
                let abs = prefix.contains("////");
                let e = rest.trim().to_string();
                return Some(if abs { Url::Expr(format!("'/' / {e}")) } else { Url::Expr(e) });
            }
        }
        if let Some(body) = a.strip_prefix(&format!("f{q}sqlite:///")).and_then(|r| r.strip_suffix(q)) {
            let inner = body.strip_prefix('{')?.strip_suffix('}')?;
            return Some(Url::Expr(inner.to_string()));
        }
        if let Some(body) = a.strip_prefix(&format!("{q}sqlite:///")).and_then(|r| r.strip_suffix(q)) {
            return (!body.contains(q)).then(|| Url::Literal(body.to_string()));
        }
    }
    // `default="sqlite:///..."` inside a call (dj_database_url.config, env.db)
    let i = a.find("sqlite:///")?;
    let q = a[..i].chars().last().filter(|c| *c == '"' || *c == '\'')?;
    let start = i - 1;
    let before = &a[..start];
    let is_f = before.ends_with('f');
    let open = if is_f { start - 1 } else { start };
    let rest = &a[open..];
    let end = rest[if is_f { 2 } else { 1 }..].find(q).map(|e| e + if is_f { 3 } else { 2 })?;
    let lit = &rest[..end];
    let after = rest[end..].trim_start();
    if let Some(plus) = after.strip_prefix('+') {
        // the argument ends at a top-level comma or at the call's own closing parenthesis
        let mut expr = split_top(plus, ",").first().map(|s| s.trim().to_string())?;
        while expr.ends_with(')') && unbalanced(&expr) {
            expr.pop();
        }
        return sqlite_url(&format!("{lit} + {expr}"));
    }
    sqlite_url(lit)
}

/// The expressions of a statement that may be a path: the right side of an assignment, each
/// dict value or keyword argument (`"NAME": ...`, `default=...`), cut at the next top-level comma.
fn candidates(stmt: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = ASSIGN.captures(stmt) {
        out.push(c[2].to_string());
    } else if let [_, rest @ ..] = split_top(stmt, " = ").as_slice()
        && !rest.is_empty()
    {
        // `app.config["DATABASE"] = ...`
        out.push(rest.join(" = "));
    }
    for m in KEYED.find_iter(stmt) {
        let rest = &stmt[m.end()..];
        if let Some(first) = split_top(rest, ",").first() {
            // a value that closes its dict/call: drop the unmatched closing brackets
            let mut v = first.trim().to_string();
            while (v.ends_with(')') || v.ends_with('}')) && unbalanced(&v) {
                v.pop();
                v = v.trim_end().to_string();
            }
            out.push(v);
        }
    }
    out
}

fn unbalanced(s: &str) -> bool {
    let open = s.matches(['(', '{', '[']).count();
    let close = s.matches([')', '}', ']']).count();
    close > open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_every_entry_is_used() {
        let t = table();
        assert!(t.sqlite_suffixes.iter().all(|s| s.starts_with('.')));
        assert!(!t.folder.is_empty() && !t.sqlite_calls.is_empty() && !t.sqlite_markers.is_empty());
    }

    fn scope(file: &str) -> Scope {
        Scope {
            file: file.split('/').map(String::from).collect(),
            vars: BTreeMap::new(),
            root_path: Some(Loc::Project(vec!["blog".into()])),
            instance_path: Some(Loc::Project(vec!["instance".into()])),
        }
    }

    #[test]
    fn path_expressions() {
        let mut s = scope("mysite/settings/base.py");
        let p = |v: &[&str]| Some(Loc::Project(v.iter().map(|x| x.to_string()).collect()));
        assert_eq!(s.eval("os.path.dirname(os.path.dirname(os.path.abspath(__file__)))", 0), p(&["mysite"]));
        assert_eq!(s.eval("Path(__file__).resolve().parent.parent", 0), p(&["mysite"]));
        assert_eq!(s.eval("Path(__file__).resolve().parents[2]", 0), p(&[]));
        s.vars.insert("PROJECT_DIR".into(), Loc::Project(vec!["mysite".into()]));
        assert_eq!(s.eval("os.path.dirname(PROJECT_DIR)", 0), p(&[]));
        assert_eq!(s.eval("os.path.join(PROJECT_DIR, \"media\")", 0), p(&["mysite", "media"]));
        assert_eq!(
            s.eval("os.path.join( PROJECT_DIR, os.environ.get(\"DATABASE_NAME\", \"bakerydemodb\") )", 0),
            p(&["mysite", "bakerydemodb"])
        );
        assert_eq!(s.eval("PROJECT_DIR / 'data' / 'db.sqlite3'", 0), p(&["mysite", "data", "db.sqlite3"]));
        assert_eq!(s.eval("Path(app.root_path) / \"blog.db\"", 0), p(&["blog", "blog.db"]));
        assert_eq!(s.eval("os.path.join(app.instance_path, 'app.db')", 0), p(&["instance", "app.db"]));
        assert_eq!(s.eval("os.environ['X']", 0), None);
        assert_eq!(s.eval("Path(__file__).parent.parent.parent.parent", 0), None);
    }

    #[test]
    fn sqlite_urls() {
        let e = |s: &str| match sqlite_url(s) {
            Some(Url::Expr(e)) => format!("expr {e}"),
            Some(Url::Literal(l)) => format!("lit {l}"),
            None => "none".into(),
        };
        assert_eq!(
            e("'sqlite:///' + os.path.join(basedir, 'data-dev.sqlite')"),
            "expr os.path.join(basedir, 'data-dev.sqlite')"
        );
        assert_eq!(e("f\"sqlite:///{BASE_DIR / 'db.sqlite3'}\""), "expr BASE_DIR / 'db.sqlite3'");
        assert_eq!(e("\"sqlite:///app.db\""), "lit app.db");
        assert_eq!(e("\"sqlite:////data/app.db\""), "lit /data/app.db");
        assert_eq!(
            e("dj_database_url.config(default=\"sqlite:///\" + os.path.join(BASE_DIR, \"db.sqlite3\"))"),
            "expr os.path.join(BASE_DIR, \"db.sqlite3\")"
        );
        assert_eq!(e("os.environ.get('DATABASE_URL')"), "none");
    }

    #[test]
    fn statements_join_continuations() {
        let s = statements("A = os.environ.get('X') or \\\n    'sqlite:///' + x\nB = dict(\n  a=1,\n)\n# c\n");
        assert_eq!(s[0], (1, "A = os.environ.get('X') or 'sqlite:///' + x".to_string()));
        assert_eq!(s[1].0, 3);
    }
}
