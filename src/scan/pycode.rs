//! Facts read from Python sources with tree-sitter-python: imports, app objects
//! (`app = FastAPI()`, `Flask(__name__)`, `with gr.Blocks() as demo`), app factories
//! (`def create_app(): ... Flask(...)`), server start calls (`uvicorn.run(..., port=)`,
//! `app.run(port=)`, `demo.launch(server_port=)`) and `os.environ.setdefault(...)` defaults.
//! Owns parsing only; deciding which app is *the* app is `app`'s job.

use tree_sitter::{Node, Parser};

use super::files::Ctx;

/// Constructor of an app object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ctor {
    FastApi,
    Starlette,
    Litestar,
    Flask,
    /// `gr.Blocks`, `gr.Interface`, `gr.ChatInterface`, `gr.TabbedInterface`.
    Gradio,
    Quart,
    Sanic,
    /// `falcon.App()` / `falcon.API()` (WSGI) or `falcon.asgi.App()`.
    Falcon,
    Bottle,
    Dash,
    /// aiohttp `web.Application()`.
    Aiohttp,
    /// tornado `web.Application()` (or a subclass named `Application`).
    Tornado,
}

impl Ctor {
    pub fn label(self) -> &'static str {
        match self {
            Self::FastApi => "FastAPI()",
            Self::Starlette => "Starlette()",
            Self::Litestar => "Litestar()",
            Self::Flask => "Flask()",
            Self::Gradio => "gradio Blocks/Interface",
            Self::Quart => "Quart()",
            Self::Sanic => "Sanic()",
            Self::Falcon => "falcon.App()",
            Self::Bottle => "Bottle()",
            Self::Dash => "Dash()",
            Self::Aiohttp => "web.Application()",
            Self::Tornado => "tornado Application()",
        }
    }

    /// Whether the app is started by its own script (`web.run_app`, `app.listen`), not by a
    /// server given `module:attr`.
    pub fn serves_itself(self) -> bool {
        matches!(self, Self::Gradio | Self::Aiohttp | Self::Tornado | Self::Dash)
    }
}

/// `var = Ctor(...)` (or `var = factory()`).
#[derive(Clone, Debug)]
pub struct AppObject {
    pub file: String,
    pub var: String,
    pub ctor: Ctor,
    pub line: usize,
    /// Assigned at module level (importable as `module:var`).
    pub module_level: bool,
    /// Set when the object comes from calling a factory (`app = create_app()`).
    pub via: Option<String>,
}

/// A module-level function that builds an app: `def create_app(): app = Flask(...)`.
#[derive(Clone, Debug)]
pub struct Factory {
    pub file: String,
    pub name: String,
    pub ctor: Ctor,
    pub line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// `uvicorn.run(app_or_"mod:app", port=...)`
    Uvicorn,
    /// `<app>.run(port=...)` (Flask's development server)
    AppRun,
    /// `<gradio>.launch(server_port=...)`
    Launch,
    /// A call that starts a server in the script itself: aiohttp `web.run_app(app, port=)`,
    /// tornado `app.listen(8888)`, NiceGUI `ui.run(port=)`, `bottle.run(port=)`, waitress
    /// `serve(app, port=)`, `make_server(host, port, app)`, `pn.serve(port=)`.
    Own,
}

/// A call that starts a server.
#[derive(Clone, Debug)]
pub struct RunCall {
    pub file: String,
    pub line: usize,
    pub kind: RunKind,
    /// The receiver (`app` in `app.run()`) or the first argument of `uvicorn.run`.
    pub target: Option<String>,
    /// Whether the first argument was a string (`"main:app"`) rather than a name.
    pub target_is_string: bool,
    pub port: Option<u16>,
    pub host: Option<String>,
    /// What the call is (`web.run_app`, `ui.run`), for the fact's source.
    pub callee: String,
}

/// How a module reads an environment variable with no default when it is imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvRead {
    pub name: String,
    pub line: usize,
    /// The expression as written (`os.environ['SERVER_NAME']`).
    pub how: String,
}

/// One parsed file.
#[derive(Clone, Debug, Default)]
pub struct PyFile {
    pub path: String,
    /// Imported modules (full dotted names), with the line of the first import.
    pub imports: Vec<(String, usize)>,
    /// `os.environ.setdefault("KEY", "value")` pairs with their line.
    pub env_defaults: Vec<(String, String, usize)>,
    pub main_guard: bool,
    /// Variables read at import time with no default (module or class level, not guarded by an
    /// `if ... in os.environ` or a `try`): `os.environ["X"]`, or `os.getenv("X")` handed to a
    /// call that cannot take None (`Redis.from_url(os.getenv("REDIS_URL"))`).
    pub env_required: Vec<EnvRead>,
    /// `from . import x` / `from .config import y`: relative imports as written (`.config`).
    pub relative_imports: Vec<String>,
    /// `define("port", default=8888)` (tornado.options): the default port.
    pub port_option: Option<(u16, usize)>,
    /// Every variable the file reads by name (`os.environ.get("HTD_HOST", ...)`), with its line.
    pub env_reads: Vec<(String, usize)>,
}

impl PyFile {
    /// Line of the first import of a top-level package (`fastapi`, `flask`).
    pub fn imports_top(&self, top: &str) -> Option<usize> {
        self.imports
            .iter()
            .find(|(m, _)| m == top || m.strip_prefix(top).is_some_and(|r| r.starts_with('.')))
            .map(|(_, l)| *l)
    }
}

/// Everything read from the project's Python files.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub files: Vec<PyFile>,
    pub apps: Vec<AppObject>,
    pub factories: Vec<Factory>,
    pub runs: Vec<RunCall>,
    /// Module-level raw ASGI callables: `async def app(scope, receive, send)` (file, name, line).
    pub asgi_callables: Vec<(String, String, usize)>,
}

impl Code {
    pub fn file(&self, path: &str) -> Option<&PyFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// First `(file, line)` importing a top-level package, preferring non-test files.
    pub fn first_import(&self, top: &str) -> Option<(&str, usize)> {
        let mut hits: Vec<(&str, usize)> =
            self.files.iter().filter_map(|f| f.imports_top(top).map(|l| (f.path.as_str(), l))).collect();
        hits.sort_by_key(|(p, _)| is_test_path(p));
        hits.into_iter().next()
    }
}

/// Whether a path is test code (never the service's app).
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|c| c == "tests" || c == "test" || c == "testing")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
}

/// Whether a path is a vendored copy of someone else's code (`vendor/`, `third_party/`, or a
/// single-file framework such as `bottle.py` kept in the tree): never the service's framework.
pub fn is_vendored(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|c| {
        matches!(
            c,
            "vendor"
                | "vendored"
                | "_vendor"
                | "third_party"
                | "thirdparty"
                | "external"
                | "externals"
                | "site-packages"
        )
    }) || matches!(name, "bottle.py" | "six.py" | "cherrypy.py")
}

/// Parses the given files (relative paths). Unreadable files become warnings.
pub fn analyze(ctx: &mut Ctx, paths: &[String]) -> Code {
    let mut code = Code::default();
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_python::LANGUAGE.into()).is_err() {
        ctx.warn("the Python parser could not be loaded; app detection skipped");
        return code;
    }
    // Module-level calls of the form `var = name()`, resolved against factories afterwards.
    let mut calls: Vec<(String, String, String, usize)> = Vec::new();
    for path in paths {
        let Some(src) = ctx.read(path) else { continue };
        let Some(tree) = parser.parse(&src, None) else {
            ctx.warn(format!("{path}: the Python parser gave up on it; ignored"));
            continue;
        };
        let mut file = PyFile { path: path.clone(), ..Default::default() };
        let mut v = Visitor {
            src: &src,
            file: &mut file,
            code: &mut code,
            calls: &mut calls,
            gradio: false,
            imports: Vec::new(),
        };
        v.gradio = src.contains("gradio");
        v.imports =
            ["aiohttp", "tornado", "bottle", "falcon", "dash", "quart", "sanic", "nicegui", "waitress", "panel"]
                .into_iter()
                .filter(|m| src.contains(&format!("import {m}")) || src.contains(&format!("from {m}")))
                .collect();
        v.visit(tree.root_node());
        code.files.push(file);
    }
    // `app = create_app()` at module level: an app of the factory's kind.
    for (file, var, callee, line) in calls {
        if let Some(f) = code.factories.iter().find(|f| f.name == callee) {
            let ctor = f.ctor;
            code.apps.push(AppObject { file, var, ctor, line, module_level: true, via: Some(callee) });
        }
    }
    code
}

#[derive(Clone, Default)]
struct Scope {
    /// Name of the enclosing module-level function.
    top_fn: Option<(String, usize)>,
    nested: bool,
    /// Inside a function body (not run at import).
    in_function: bool,
    /// Inside an `if` that tests the environment, or a `try`.
    guarded: bool,
}

struct Visitor<'a> {
    src: &'a str,
    file: &'a mut PyFile,
    code: &'a mut Code,
    calls: &'a mut Vec<(String, String, String, usize)>,
    gradio: bool,
    /// Framework packages the file imports (gates `Application()`, `App()`, `run()`).
    imports: Vec<&'static str>,
}

impl Visitor<'_> {
    fn imports(&self, m: &str) -> bool {
        self.imports.contains(&m)
    }

    fn text(&self, n: Node) -> &str {
        n.utf8_text(self.src.as_bytes()).unwrap_or("")
    }

    fn visit(&mut self, root: Node) {
        let mut stack: Vec<(Node, Scope)> = vec![(root, Scope::default())];
        while let Some((node, scope)) = stack.pop() {
            let mut child_scope = scope.clone();
            match node.kind() {
                "import_statement" => {
                    let mut c = node.walk();
                    for ch in node.named_children(&mut c) {
                        let name = match ch.kind() {
                            "dotted_name" => Some(ch),
                            "aliased_import" => ch.child_by_field_name("name"),
                            _ => None,
                        };
                        if let Some(n) = name {
                            self.import(self.text(n).to_string(), line(node));
                        }
                    }
                }
                "import_from_statement" => {
                    if let Some(m) = node.child_by_field_name("module_name") {
                        if m.kind() == "dotted_name" {
                            self.import(self.text(m).to_string(), line(node));
                        } else if m.kind() == "relative_import" {
                            let base = self.text(m).to_string();
                            let mut c = node.walk();
                            let names: Vec<String> = node
                                .children_by_field_name("name", &mut c)
                                .map(|n| self.text(n).split_whitespace().next().unwrap_or("").to_string())
                                .collect();
                            self.file.relative_imports.push(base.clone());
                            for n in names {
                                let sep = if base.ends_with('.') { "" } else { "." };
                                self.file.relative_imports.push(format!("{base}{sep}{n}"));
                            }
                        }
                    }
                }
                "function_definition" | "class_definition" => {
                    if scope.top_fn.is_none() && !scope.nested && node.kind() == "function_definition" {
                        let name = node.child_by_field_name("name").map(|n| self.text(n).to_string());
                        let params = node.child_by_field_name("parameters").map(|p| self.text(p).replace(' ', ""));
                        if let (Some(n), Some(p)) = (&name, params)
                            && p.starts_with("(scope,receive,send")
                            && self.text(node).starts_with("async")
                        {
                            self.code.asgi_callables.push((self.file.path.clone(), n.clone(), line(node)));
                        }
                        child_scope.top_fn = name.map(|n| (n, line(node)));
                    }
                    child_scope.nested = true;
                    if node.kind() == "function_definition" {
                        child_scope.in_function = true;
                    }
                }
                "if_statement" | "conditional_expression" | "boolean_operator" => {
                    if let Some(cond) = node.child_by_field_name("condition") {
                        let t = self.text(cond);
                        if t.contains("__name__") && t.contains("__main__") {
                            self.file.main_guard = true;
                        }
                    }
                    // `if "X" in os.environ:` and `os.environ["X"] if ... else ...` guard their reads
                    let tested = node.child_by_field_name("condition").map(|c| self.text(c)).unwrap_or(self.text(node));
                    if node.kind() != "if_statement" || tested.contains("environ") || tested.contains("getenv") {
                        child_scope.guarded = true;
                    }
                }
                "try_statement" => child_scope.guarded = true,
                "subscript" => self.subscript(node, &scope),
                "assignment" => self.assignment(node, &scope),
                "with_item" => self.with_item(node, &scope),
                "call" => self.call(node, &scope),
                _ => {}
            }
            let mut c = node.walk();
            let children: Vec<Node> = node.named_children(&mut c).collect();
            for ch in children.into_iter().rev() {
                stack.push((ch, child_scope.clone()));
            }
        }
    }

    fn import(&mut self, module: String, line: usize) {
        if !self.file.imports.iter().any(|(m, _)| *m == module) {
            self.file.imports.push((module, line));
        }
    }

    /// The constructor a call builds, if it is an app constructor.
    fn ctor_of(&self, call: Node) -> Option<Ctor> {
        if call.kind() != "call" {
            return None;
        }
        let f = call.child_by_field_name("function")?;
        let full = self.text(f);
        let last = full.rsplit('.').next().unwrap_or(full);
        match last {
            "FastAPI" => Some(Ctor::FastApi),
            "Starlette" => Some(Ctor::Starlette),
            "Litestar" => Some(Ctor::Litestar),
            "Flask" | "APIFlask" => Some(Ctor::Flask),
            "Blocks" | "Interface" | "ChatInterface" | "TabbedInterface" if self.gradio => Some(Ctor::Gradio),
            "Quart" if self.imports("quart") => Some(Ctor::Quart),
            "Sanic" if self.imports("sanic") => Some(Ctor::Sanic),
            "App" | "API" if full.starts_with("falcon.") => Some(Ctor::Falcon),
            "Bottle" if self.imports("bottle") => Some(Ctor::Bottle),
            "Dash" if self.imports("dash") => Some(Ctor::Dash),
            "Application" if self.imports("aiohttp") && !self.imports("tornado") => Some(Ctor::Aiohttp),
            "Application" if self.imports("tornado") => Some(Ctor::Tornado),
            _ => None,
        }
    }

    fn assignment(&mut self, node: Node, scope: &Scope) {
        let (Some(left), Some(right)) = (node.child_by_field_name("left"), node.child_by_field_name("right")) else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        let var = self.text(left).to_string();
        let module_level = scope.top_fn.is_none() && !scope.nested;
        if let Some(ctor) = self.ctor_of(right) {
            self.code.apps.push(AppObject {
                file: self.file.path.clone(),
                var,
                ctor,
                line: line(node),
                module_level,
                via: None,
            });
        } else if module_level
            && right.kind() == "call"
            && let Some(f) = right.child_by_field_name("function")
        {
            let callee = self.text(f);
            let callee = callee.rsplit('.').next().unwrap_or(callee).to_string();
            self.calls.push((self.file.path.clone(), var, callee, line(node)));
        }
    }

    fn with_item(&mut self, node: Node, scope: &Scope) {
        // `with gr.Blocks() as demo:` parses as with_item(value: as_pattern(call, alias)).
        let Some(value) = node.child_by_field_name("value") else { return };
        if value.kind() != "as_pattern" {
            return;
        }
        let Some(call) = value.named_child(0) else { return };
        let Some(ctor) = self.ctor_of(call) else { return };
        let Some(alias) = value.child_by_field_name("alias") else { return };
        let var = self.text(alias).trim().to_string();
        self.code.apps.push(AppObject {
            file: self.file.path.clone(),
            var,
            ctor,
            line: line(node),
            module_level: scope.top_fn.is_none() && !scope.nested,
            via: None,
        });
    }

    fn call(&mut self, node: Node, scope: &Scope) {
        if let Some(ctor) = self.ctor_of(node)
            && let Some((name, fline)) = &scope.top_fn
            && !self.code.factories.iter().any(|f| f.file == self.file.path && &f.name == name)
        {
            self.code.factories.push(Factory { file: self.file.path.clone(), name: name.clone(), ctor, line: *fline });
        }
        let Some(f) = node.child_by_field_name("function") else { return };
        let Some(args) = node.child_by_field_name("arguments") else { return };
        let callee = self.text(f).to_string();
        if callee == "os.environ.setdefault" || callee == "environ.setdefault" {
            let mut c = args.walk();
            let vals: Vec<Option<String>> = args.named_children(&mut c).map(|a| self.string(a)).collect();
            if let [Some(k), Some(v)] = vals.as_slice() {
                self.file.env_defaults.push((k.clone(), v.clone(), line(node)));
            }
            return;
        }
        self.env_call(node, &callee, args, scope);
        if matches!(callee.as_str(), "define" | "options.define" | "tornado.options.define") {
            let mut c = args.walk();
            let vals: Vec<Node> = args.named_children(&mut c).collect();
            if vals.first().and_then(|a| self.string(*a)).as_deref() == Some("port") {
                for a in &vals[1..] {
                    if a.kind() == "keyword_argument"
                        && a.child_by_field_name("name").map(|n| self.text(n)) == Some("default")
                        && let Some(p) = a.child_by_field_name("value").and_then(|v| self.port(v))
                    {
                        self.file.port_option = Some((p, line(node)));
                    }
                }
            }
            return;
        }
        let last = callee.rsplit('.').next().unwrap_or(&callee);
        let (kind, receiver) = if callee == "uvicorn.run" {
            (RunKind::Uvicorn, None)
        } else if matches!(callee.as_str(), "web.run_app" | "aiohttp.web.run_app" | "run_app")
            && self.imports("aiohttp")
            || callee == "ui.run" && self.imports("nicegui")
            || matches!(callee.as_str(), "bottle.run" | "run") && self.imports("bottle")
            || matches!(callee.as_str(), "serve" | "waitress.serve") && self.imports("waitress")
            || matches!(callee.as_str(), "pn.serve" | "panel.serve") && self.imports("panel")
            || matches!(last, "make_server" | "serve_forever" | "run_simple")
        {
            (RunKind::Own, None)
        } else if f.kind() == "attribute" {
            let attr = f.child_by_field_name("attribute").map(|a| self.text(a)).unwrap_or("");
            let obj = f.child_by_field_name("object").map(|o| self.text(o).to_string());
            match attr {
                "listen" if self.imports("tornado") => (RunKind::Own, obj),
                // `asyncio.run(main())` runs a coroutine, not a server
                "run" | "run_server"
                    if !matches!(
                        obj.as_deref(),
                        Some("asyncio" | "anyio" | "trio" | "loop" | "subprocess" | "cli")
                    ) =>
                {
                    (RunKind::AppRun, obj)
                }
                "launch" => (RunKind::Launch, obj),
                _ => return,
            }
        } else {
            return;
        };
        let mut call = RunCall {
            file: self.file.path.clone(),
            line: line(node),
            kind,
            target: receiver,
            target_is_string: false,
            port: None,
            host: None,
            callee: callee.clone(),
        };
        // `HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()`: the address tuple of the
        // server it is called on
        if last == "serve_forever"
            && let Some(ctor) = f.child_by_field_name("object").filter(|o| o.kind() == "call")
            && let Some(ctor_args) = ctor.child_by_field_name("arguments")
            && let Some(addr) = ctor_args.named_child(0).filter(|a| a.kind() == "tuple")
            && let Some(port) = addr.named_child(1)
        {
            call.port = self.port(port);
            call.host = addr.named_child(0).and_then(|h| self.string(h));
        }
        let mut c = args.walk();
        let mut first_positional = true;
        for a in args.named_children(&mut c) {
            if a.kind() == "keyword_argument" {
                let name = a.child_by_field_name("name").map(|n| self.text(n)).unwrap_or("");
                let Some(value) = a.child_by_field_name("value") else { continue };
                match name {
                    "port" | "server_port" => call.port = self.port(value),
                    "app" if kind == RunKind::Own => call.target = Some(self.text(value).to_string()),
                    "host" | "server_name" => call.host = self.string(value),
                    _ => {}
                }
            } else if first_positional {
                first_positional = false;
                if kind == RunKind::Uvicorn {
                    if let Some(s) = self.string(a) {
                        call.target = Some(s);
                        call.target_is_string = true;
                    } else if a.kind() == "identifier" {
                        call.target = Some(self.text(a).to_string());
                    }
                } else if kind == RunKind::AppRun {
                    // Flask: app.run(host, port)
                    call.host = self.string(a);
                }
            } else if kind == RunKind::AppRun && call.port.is_none() {
                call.port = self.port(a);
            }
            if kind == RunKind::Own && a.kind() == "integer" && call.port.is_none() {
                call.port = self.port(a);
            }
        }
        self.code.runs.push(call);
    }

    /// `os.environ["X"]` read at import time.
    fn subscript(&mut self, node: Node, scope: &Scope) {
        let Some(value) = node.child_by_field_name("value") else { return };
        if !matches!(self.text(value), "os.environ" | "environ") {
            return;
        }
        if let Some(key) = node.child_by_field_name("subscript").and_then(|k| self.string(k)) {
            self.file.env_reads.push((key, line(node)));
        }
        if scope.in_function || scope.guarded {
            return;
        }
        // an assignment target (`os.environ["X"] = ...`) sets it
        if let Some(parent) = node.parent()
            && parent.kind() == "assignment"
            && parent.child_by_field_name("left").is_some_and(|l| l.id() == node.id())
        {
            return;
        }
        let Some(key) = node.child_by_field_name("subscript").and_then(|k| self.string(k)) else { return };
        self.file.env_required.push(EnvRead { name: key, line: line(node), how: self.text(node).to_string() });
    }

    /// `os.getenv("X")` / `os.environ.get("X")` with no default handed straight to a call that
    /// needs a value (`Redis.from_url`, `create_engine`, `int`, `MongoClient`), at import time.
    fn env_call(&mut self, node: Node, callee: &str, args: Node, scope: &Scope) {
        if matches!(callee, "os.getenv" | "os.environ.get" | "getenv" | "environ.get") {
            let mut c = args.walk();
            if let Some(first) = args.named_children(&mut c).next() {
                if let Some(key) = self.string(first) {
                    self.file.env_reads.push((key, line(node)));
                } else if first.kind() == "binary_operator"
                    && let Some(prefix) = first.child_by_field_name("left").and_then(|l| self.string(l))
                    && !prefix.is_empty()
                {
                    // `os.getenv("HTD_" + name.upper())`: every variable with that prefix
                    self.file.env_reads.push((format!("{prefix}*"), line(node)));
                }
            }
        }
        if scope.in_function || scope.guarded {
            return;
        }
        let last = callee.rsplit('.').next().unwrap_or(callee);
        let needs_value = matches!(
            last,
            "from_url"
                | "create_engine"
                | "create_async_engine"
                | "int"
                | "MongoClient"
                | "AsyncIOMotorClient"
                | "connect"
                | "parse"
                | "urlparse"
                | "urlsplit"
                | "Path"
        );
        if !needs_value {
            return;
        }
        let mut c = args.walk();
        for a in args.named_children(&mut c) {
            if a.kind() != "call" {
                continue;
            }
            let Some(f) = a.child_by_field_name("function") else { continue };
            if !matches!(self.text(f), "os.getenv" | "os.environ.get" | "getenv" | "environ.get") {
                continue;
            }
            let Some(inner) = a.child_by_field_name("arguments") else { continue };
            let mut c2 = inner.walk();
            let vals: Vec<Node> = inner.named_children(&mut c2).collect();
            if vals.len() == 1
                && let Some(key) = self.string(vals[0])
            {
                self.file.env_required.push(EnvRead {
                    name: key,
                    line: line(node),
                    how: format!("{}({})", callee, self.text(a)),
                });
            }
        }
    }

    /// A plain string literal's content (no f-string interpolation).
    fn string(&self, n: Node) -> Option<String> {
        if n.kind() != "string" {
            return None;
        }
        let mut c = n.walk();
        let mut out = String::new();
        for ch in n.named_children(&mut c) {
            match ch.kind() {
                "string_content" => out.push_str(self.text(ch)),
                "interpolation" => return None,
                _ => {}
            }
        }
        Some(out)
    }

    /// A port from an expression: `8000`, `"8000"`, or the default in
    /// `int(os.environ.get("PORT", 8000))`.
    fn port(&self, n: Node) -> Option<u16> {
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            let lit = match x.kind() {
                "integer" => Some(self.text(x).replace('_', "")),
                "string" => self.string(x),
                _ => None,
            };
            if let Some(p) = lit.and_then(|t| t.trim().parse::<u16>().ok()).filter(|p| *p > 0) {
                return Some(p);
            }
            let mut c = x.walk();
            let children: Vec<Node> = x.named_children(&mut c).collect();
            stack.extend(children.into_iter().rev());
        }
        None
    }
}

fn line(n: Node) -> usize {
    n.start_position().row + 1
}

/// Parses one Python source for tests and for callers with text in hand (`setup.py`).
pub fn string_list_kwarg(src: &str, kwarg: &str) -> Option<Vec<(String, usize)>> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    let tree = parser.parse(src, None)?;
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == "keyword_argument"
            && n.child_by_field_name("name").and_then(|x| x.utf8_text(src.as_bytes()).ok()) == Some(kwarg)
        {
            let value = n.child_by_field_name("value")?;
            let mut out = Vec::new();
            let mut c = value.walk();
            for item in value.named_children(&mut c) {
                if item.kind() == "string" {
                    let mut c2 = item.walk();
                    let s: String = item
                        .named_children(&mut c2)
                        .filter(|ch| ch.kind() == "string_content")
                        .filter_map(|ch| ch.utf8_text(src.as_bytes()).ok())
                        .collect();
                    out.push((s, line(item)));
                }
            }
            return Some(out);
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(files: &[(&str, &str)]) -> Code {
        let d = tempfile::tempdir().unwrap();
        for (p, s) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, s).unwrap();
        }
        let mut ctx = Ctx::new(d.path().to_path_buf());
        analyze(&mut ctx, &files.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn finds_apps_factories_and_runs() {
        let c = code_of(&[
            (
                "main.py",
                "import os\nfrom fastapi import FastAPI\nimport uvicorn as u\n\napp = FastAPI(title='x')\n\nif __name__ == '__main__':\n    uvicorn.run('main:app', host='0.0.0.0', port=int(os.environ.get('PORT', 8080)))\n",
            ),
            (
                "pkg/__init__.py",
                "from flask import Flask\n\ndef create_app(config=None):\n    app = Flask(__name__)\n    return app\n",
            ),
            ("wsgi.py", "from pkg import create_app\napplication = create_app()\napplication.run('0.0.0.0', 5001)\n"),
            ("ui.py", "import gradio as gr\nwith gr.Blocks() as demo:\n    pass\ndemo.launch(server_port=7861)\n"),
        ]);
        let main = c.file("main.py").unwrap();
        assert!(main.main_guard);
        assert_eq!(main.imports_top("fastapi"), Some(2));
        assert_eq!(main.imports_top("uvicorn"), Some(3));
        let a = c.apps.iter().find(|a| a.file == "main.py").unwrap();
        assert_eq!((a.var.as_str(), a.ctor, a.line, a.module_level), ("app", Ctor::FastApi, 5, true));
        let f = &c.factories[0];
        assert_eq!((f.file.as_str(), f.name.as_str(), f.ctor), ("pkg/__init__.py", "create_app", Ctor::Flask));
        // the Flask() inside the factory is not a module-level app
        assert!(c.apps.iter().any(|a| a.file == "pkg/__init__.py" && !a.module_level));
        let w = c.apps.iter().find(|a| a.file == "wsgi.py").unwrap();
        assert_eq!(w.via.as_deref(), Some("create_app"));
        let u = c.runs.iter().find(|r| r.kind == RunKind::Uvicorn).unwrap();
        assert_eq!((u.target.as_deref(), u.target_is_string, u.port), (Some("main:app"), true, Some(8080)));
        let r = c.runs.iter().find(|r| r.kind == RunKind::AppRun).unwrap();
        assert_eq!((r.host.as_deref(), r.port), (Some("0.0.0.0"), Some(5001)));
        let g = c.apps.iter().find(|a| a.ctor == Ctor::Gradio).unwrap();
        assert_eq!(g.var, "demo");
        let l = c.runs.iter().find(|r| r.kind == RunKind::Launch).unwrap();
        assert!(c.asgi_callables.is_empty());
        let raw = code_of(&[("app.py", "async def app(scope, receive, send):\n    pass\n")]);
        assert_eq!(raw.asgi_callables, vec![("app.py".to_string(), "app".to_string(), 1)]);
        assert_eq!((l.target.as_deref(), l.port), (Some("demo"), Some(7861)));
    }

    #[test]
    fn setup_py_install_requires() {
        let deps = string_list_kwarg(
            "from setuptools import setup\nsetup(name='x', install_requires=[\n 'flask>=3',\n \"gunicorn\",\n])\n",
            "install_requires",
        )
        .unwrap();
        assert_eq!(deps, vec![("flask>=3".to_string(), 3), ("gunicorn".to_string(), 4)]);
    }
}
