//! Render tests: snapshots of every variant × flavour for hand-built projects (one per package
//! manager, plus a uv workspace member, a src layout and a C-extension dependency), structural
//! checks that a snapshot cannot fake, and hadolint over every rendered Dockerfile.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

use pyslim::plan::{BuildPlan, Config, Flavour, Trim, Variant};
use pyslim::render::{self, Rendered};
use pyslim::scan::{AppServer, Dependency, Fact, Framework, PackageManager, ScanReport, SystemLib};

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn fact<T>(v: T) -> Option<Fact<T>> {
    Some(Fact::new(v, "test"))
}

fn files(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn dep(name: &str, req: &str) -> Dependency {
    Dependency { name: name.into(), requirement: req.into(), source: "pyproject.toml".into() }
}

fn base(root: &str, pm: PackageManager, python: &str, entry: &str) -> ScanReport {
    ScanReport {
        root: PathBuf::from(root),
        package_manager: fact(pm),
        python: fact(python.parse().unwrap()),
        entrypoint: fact(argv(entry)),
        port: fact(8000),
        ..Default::default()
    }
}

/// The embedded demo as the scan should see it (Poetry, package-mode = false, src/app.py).
fn demo() -> ScanReport {
    ScanReport {
        lockfile: fact("poetry.lock".into()),
        framework: fact(Framework::Fastapi),
        app_server: fact(AppServer::Uvicorn),
        app: fact("app:app".into()),
        dependency_files: files(&["pyproject.toml", "poetry.lock"]),
        source_dir: Some("src".into()),
        dependencies: vec![dep("fastapi", "fastapi>=0.115,<1"), dep("uvicorn", "uvicorn>=0.30,<1")],
        ..base("/work/demo-service", PackageManager::Poetry, "3.13", "uvicorn app:app --host 0.0.0.0 --port 8000")
    }
}

fn pip_project() -> ScanReport {
    ScanReport {
        lockfile: fact("requirements.txt".into()),
        framework: fact(Framework::Flask),
        dependency_files: files(&["requirements.txt", "requirements/base.txt"]),
        secrets_in_context: files(&[".env", "deploy/server.pem"]),
        ..base("/work/flask-pip", PackageManager::Pip, "3.12", "gunicorn -b 0.0.0.0:8000 app:create_app()")
    }
}

fn uv_project() -> ScanReport {
    ScanReport {
        lockfile: fact("uv.lock".into()),
        dependency_files: files(&["pyproject.toml", "uv.lock"]),
        source_dir: Some("src".into()),
        installable: true,
        ..base("/work/uv-api", PackageManager::Uv, "3.13", "uvicorn uv_api.main:app --host 0.0.0.0 --port 8000")
    }
}

fn uv_workspace_member() -> ScanReport {
    ScanReport {
        lockfile: fact("../../uv.lock".into()),
        dependency_files: files(&[
            "pyproject.toml",
            "uv.lock",
            "packages/api/pyproject.toml",
            "packages/shared/pyproject.toml",
        ]),
        installable: true,
        context_root: Some("../..".into()),
        secrets_in_context: files(&[".env"]),
        ..base(
            "/work/monorepo/packages/api",
            PackageManager::Uv,
            "3.13",
            "uvicorn api.main:app --host 0.0.0.0 --port 8000",
        )
    }
}

fn pdm_project() -> ScanReport {
    ScanReport {
        lockfile: fact("pdm.lock".into()),
        framework: fact(Framework::Streamlit),
        dependency_files: files(&["pyproject.toml", "pdm.lock"]),
        port: fact(8501),
        ..base(
            "/work/pdm-dash",
            PackageManager::Pdm,
            "3.13",
            "streamlit run dashboard.py --server.port 8501 --server.address 0.0.0.0",
        )
    }
}

fn pipenv_project(with_lock: bool) -> ScanReport {
    ScanReport {
        lockfile: if with_lock { fact("Pipfile.lock".into()) } else { None },
        framework: fact(Framework::Django),
        dependency_files: if with_lock { files(&["Pipfile", "Pipfile.lock"]) } else { files(&["Pipfile"]) },
        ..base(
            "/work/django-pipenv",
            PackageManager::Pipenv,
            "3.11",
            "gunicorn mysite.wsgi:application --bind 0.0.0.0:8000",
        )
    }
}

fn pyproject_src_layout() -> ScanReport {
    ScanReport {
        dependency_files: files(&["pyproject.toml"]),
        source_dir: Some("src".into()),
        installable: true,
        ..base(
            "/work/hatch-svc",
            PackageManager::Pyproject,
            "3.13",
            "granian --interface asgi --host 0.0.0.0 --port 8000 svc.app:app",
        )
    }
}

fn pyproject_app() -> ScanReport {
    ScanReport {
        dependency_files: files(&["pyproject.toml"]),
        dependencies: vec![
            dep("fastapi", "fastapi>=0.115"),
            dep("uvicorn", "uvicorn[standard]; python_version >= '3.9'"),
        ],
        ..base("/work/plain-app", PackageManager::Pyproject, "3.13", "python main.py")
    }
}

fn setup_py() -> ScanReport {
    ScanReport {
        dependency_files: files(&["setup.py"]),
        installable: true,
        ..base("/work/legacy", PackageManager::SetupPy, "3.13", "gunicorn legacy.wsgi:app -b 0.0.0.0:8000")
    }
}

fn psycopg2_project() -> ScanReport {
    ScanReport {
        lockfile: fact("requirements.txt".into()),
        dependency_files: files(&["requirements.txt"]),
        system_libs: fact(vec![SystemLib {
            name: "libpq".into(),
            needed_by: "psycopg2".into(),
            debian_runtime: "libpq5".into(),
            debian_build: "libpq-dev".into(),
            sonames: vec!["libpq.so.5".into()],
            alternative: Some("psycopg2-binary".into()),
        }]),
        ..base("/work/pg-api", PackageManager::Pip, "3.13", "uvicorn main:app --host 0.0.0.0 --port 8000")
    }
}

/// All hand-built projects with their snapshot names.
fn projects() -> Vec<(&'static str, ScanReport)> {
    vec![
        ("demo_poetry", demo()),
        ("pip", pip_project()),
        ("uv", uv_project()),
        ("uv_workspace_member", uv_workspace_member()),
        ("pdm", pdm_project()),
        ("pipenv", pipenv_project(true)),
        ("pyproject_src_layout", pyproject_src_layout()),
        ("pyproject_app", pyproject_app()),
        ("setup_py", setup_py()),
        ("psycopg2", psycopg2_project()),
    ]
}

fn plan(scan: &ScanReport, overrides: Config) -> BuildPlan {
    BuildPlan::resolve(scan, None, &overrides).expect("plan resolves")
}

fn render_all(scan: &ScanReport, p: &BuildPlan) -> Vec<(Variant, Flavour, Result<Rendered, String>)> {
    let mut out = vec![];
    for flavour in [Flavour::Buildkit, Flavour::Classic] {
        for v in Variant::ALL {
            out.push((v, flavour, render::render(p, scan, v, flavour).map_err(|e| e.to_string())));
        }
    }
    out
}

fn snapshot_text(renders: &[(Variant, Flavour, Result<Rendered, String>)], flavour: Flavour) -> String {
    let mut s = String::new();
    for (v, f, r) in renders.iter().filter(|(_, f, _)| *f == flavour) {
        s.push_str(&format!("======== {v} ({}) ========\n", f.as_str()));
        match r {
            Ok(r) => s.push_str(&r.dockerfile),
            Err(e) => s.push_str(&format!("ERROR: {e}\n")),
        }
        s.push('\n');
    }
    s
}

/// Snapshots live in `tests/snapshots/` as `render__NAME.snap` (named by [`snap`]; the module
/// path of this area in the one test binary, `it::render`, is not part of the name).
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"/tmp/[^\s/]*pyslim-demo-[^\s/]+", "[TMP]");
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// The snapshot file name of `name` in `tests/snapshots/`.
fn snap(name: impl std::fmt::Display) -> String {
    format!("render__{name}")
}

#[test]
fn snapshots_every_variant_and_flavour() {
    let settings = settings();
    for (name, scan) in projects() {
        let p = plan(&scan, Config::default());
        let renders = render_all(&scan, &p);
        settings.bind(|| {
            insta::assert_snapshot!(snap(format!("{name}__buildkit")), snapshot_text(&renders, Flavour::Buildkit));
            insta::assert_snapshot!(snap(format!("{name}__classic")), snapshot_text(&renders, Flavour::Classic));
        });
        let ignore = render::render(&p, &scan, Variant::MultistageSlim, Flavour::Classic).unwrap().dockerignore;
        settings.bind(|| insta::assert_snapshot!(snap(format!("{name}__dockerignore")), ignore));
    }
}

fn trimmed() -> Config {
    Config { trim: Some(Trim { keep_installers: false, bytecode: true, strip: true }), ..Default::default() }
}

fn kept_installers_root() -> Config {
    Config {
        trim: Some(Trim { keep_installers: true, bytecode: false, strip: false }),
        user: Some("root".into()),
        ..Default::default()
    }
}

/// A CA bundle that pip uses through `PIP_CERT` and a `pip.conf` read from its default place.
fn with_secrets() -> Config {
    Config {
        build_secrets: vec![
            "id=ca,src=~/corp-ca.pem,target=/run/pyslim-secrets/ca.pem,env=PIP_CERT".parse().unwrap(),
            "id=pipconf,src=pip.conf,target=/etc/pip.conf".parse().unwrap(),
        ],
        ..Default::default()
    }
}

#[test]
fn snapshots_with_build_secrets() {
    let settings = settings();
    for (name, scan) in [("demo_secrets", demo()), ("uv_secrets", uv_project())] {
        let p = plan(&scan, with_secrets());
        let renders = render_all(&scan, &p);
        settings.bind(|| {
            insta::assert_snapshot!(snap(format!("{name}__buildkit")), snapshot_text(&renders, Flavour::Buildkit));
            insta::assert_snapshot!(snap(format!("{name}__classic")), snapshot_text(&renders, Flavour::Classic));
        });
    }
    let ignore = render::render(&plan(&demo(), with_secrets()), &demo(), Variant::Distroless, Flavour::Buildkit)
        .unwrap()
        .dockerignore;
    assert!(ignore.trim_end().ends_with("!.pyslim-secrets"), "{ignore}");
}

/// The secrets reach the install steps of the builder (or the single BuildKit stage) only: the
/// final stage never copies `.` from the context nor names a secret, classic copies them in the
/// builder stage only, and a classic single stage is refused.
#[test]
fn build_secrets_reach_the_builder_only() {
    for (name, scan) in [("demo", demo()), ("pip", pip_project()), ("uv", uv_project()), ("pdm", pdm_project())] {
        let p = plan(&scan, with_secrets());
        for (v, f, r) in render_all(&scan, &p) {
            let what = format!("{name} {v} {}", f.as_str());
            if !v.is_multistage() && f == Flavour::Classic {
                let e = r.expect_err(&what);
                assert!(e.contains("BuildKit") && e.contains("layer") && e.contains("ca, pipconf"), "{what}: {e}");
                continue;
            }
            let df = match r {
                Ok(r) => r.dockerfile,
                Err(e) if e.contains("no distroless image ships") => continue,
                Err(e) => panic!("{what}: {e}"),
            };
            let stages: Vec<&str> = df.split("\nFROM ").skip(1).collect();
            let last = stages.last().unwrap();
            if v.is_multistage() {
                let clean =
                    !last.contains(".pyslim-secrets") && !last.contains("/etc/pip.conf") && !last.contains("PIP_CERT");
                assert!(clean, "{what}: the runtime stage names a secret\n{df}");
            } else {
                assert!(!last.contains("COPY .pyslim-secrets"), "{what}: a single stage copies a secret\n{df}");
            }
            assert!(
                !last.lines().any(|l| l.starts_with("COPY . ")),
                "{what}: final stage copies from the context\n{df}"
            );
            assert!(last.contains("COPY --from=source /app/ "), "{what}\n{df}");
            let source = stages.iter().find(|s| s.contains(" AS source")).unwrap();
            assert!(source.contains("RUN rm -rf /app/.pyslim-secrets"), "{what}\n{df}");
            let installs: Vec<&str> = df
                .split("\nRUN ")
                .skip(1)
                .filter(|r| (r.contains("pip") && r.contains(" install ")) || r.contains(" sync "))
                .collect();
            assert!(!installs.is_empty(), "{what}\n{df}");
            for run in installs {
                assert!(run.contains("export PIP_CERT=/run/pyslim-secrets/ca.pem"), "{what}: {run}");
                let mounted = run
                    .contains("--mount=type=bind,source=.pyslim-secrets/ca,target=/run/pyslim-secrets/ca.pem")
                    && run.contains("--mount=type=bind,source=.pyslim-secrets/pipconf,target=/etc/pip.conf");
                assert_eq!(mounted, f == Flavour::Buildkit, "{what}: {run}");
            }
            let copies: Vec<usize> = stages
                .iter()
                .enumerate()
                .filter(|(_, s)| s.contains("COPY .pyslim-secrets/"))
                .map(|(i, _)| i)
                .collect();
            if f == Flavour::Classic {
                let builder = stages.iter().position(|s| s.contains(" AS builder")).unwrap();
                assert_eq!(copies, [builder], "{what}: the secret files are copied in the builder only\n{df}");
                assert!(stages[builder].contains("COPY .pyslim-secrets/ca /run/pyslim-secrets/ca.pem"), "{what}");
            } else {
                assert!(copies.is_empty(), "{what}\n{df}");
            }
        }
    }
}

/// Pre-start steps, build steps with a placeholder setting, and a server the project lacks.
fn with_start_steps() -> Config {
    Config {
        pre_start: Some(vec!["flask db upgrade".into(), "poetry run python manage.py migrate --noinput".into()]),
        build_steps: Some(vec!["python manage.py collectstatic --noinput".into()]),
        build_env: [("SECRET_KEY".to_string(), "build-only placeholder".to_string())].into(),
        install: Some(vec!["gunicorn>=22".into()]),
        ..Default::default()
    }
}

#[test]
fn snapshots_with_pre_start_build_steps_and_extras() {
    let settings = settings();
    for (name, scan) in [("demo_start", demo()), ("uv_start", uv_project()), ("pip_start", pip_project())] {
        let p = plan(&scan, with_start_steps());
        let renders = render_all(&scan, &p);
        settings.bind(|| {
            insta::assert_snapshot!(snap(format!("{name}__buildkit")), snapshot_text(&renders, Flavour::Buildkit));
            insta::assert_snapshot!(snap(format!("{name}__classic")), snapshot_text(&renders, Flavour::Classic));
        });
    }
}

/// The same start in every variant: the launcher with the steps, then the server; build steps
/// after the source in the builder (or the single stage) with their settings exported for that
/// RUN only; the multi-stage runtime takes /app from the builder; extras in the dependency step.
#[test]
fn pre_start_build_steps_and_extras_in_every_variant() {
    for (name, scan, cfg) in [
        ("demo", demo(), with_start_steps()),
        ("uv", uv_project(), with_start_steps()),
        ("pdm", pdm_project(), with_start_steps()),
        ("pyproject_app", pyproject_app(), with_start_steps()),
        ("setup_py", setup_py(), with_start_steps()),
        ("ws", uv_workspace_member(), with_start_steps()),
        ("demo_secrets", demo(), Config { build_secrets: with_secrets().build_secrets, ..with_start_steps() }),
    ] {
        let p = plan(&scan, cfg);
        for (v, f, r) in render_all(&scan, &p) {
            let what = format!("{name} {v} {}", f.as_str());
            let (df, helpers) = match r {
                Ok(r) => (r.dockerfile, r.helpers),
                Err(e) if e.contains("no distroless image ships") || e.contains("classic single-stage") => continue,
                Err(e) => panic!("{what}: {e}"),
            };
            assert!(helpers.iter().any(|h| h.path == ".pyslim/pyslim_helpers/launch.py"), "{what}: {helpers:?}");
            let ins = without_source_stage(instructions(&df));
            let start = ins.iter().find(|i| matches!(keyword(i), "CMD" | "ENTRYPOINT")).unwrap();
            let argv: Vec<String> = serde_json::from_str(start.split_once(' ').unwrap().1).unwrap();
            assert!(argv[0].ends_with("/python") || argv[0].contains("/python3."), "{what}: {argv:?}");
            assert_eq!(&argv[1..3], ["-I", "/pyslim/launch.py"], "{what}");
            let sep = argv.iter().position(|a| a == "--").unwrap();
            assert_eq!(argv[3..sep], ["flask db upgrade", "python manage.py migrate --noinput"], "{what}");
            // the launcher is a helper file, copied into the final stage from the context
            let last_from = ins.iter().rposition(|i| keyword(i) == "FROM").unwrap();
            let launcher = ins.iter().position(|i| i.ends_with(".pyslim/pyslim_helpers/launch.py /pyslim/launch.py"));
            assert!(launcher.is_some_and(|l| l > last_from), "{what}: launcher not copied into the final stage\n{df}");
            assert!(argv.len() > sep + 1, "{what}: no server after the steps: {argv:?}");
            // the build steps: after the source, settings exported in the same RUN, never ENV
            let steps = ins.iter().position(|i| i.contains("collectstatic")).expect("build step");
            let src = ins.iter().position(|i| i.starts_with("COPY . ") || i.starts_with("COPY --from=source "));
            assert!(src.is_some_and(|c| c < steps), "{what}: build step before the source\n{df}");
            assert!(ins[steps].contains("SECRET_KEY='build-only placeholder'"), "{what}: {}", ins[steps]);
            assert!(!ins.iter().any(|i| keyword(i) == "ENV" && i.contains("SECRET_KEY")), "{what}");
            assert!(!ins[steps].contains("--mount=type=bind"), "{what}: secrets mounted for a build step");
            // extras: installed with a comment that says why, before the source when there is a lock
            let extra = ins.iter().position(|i| i.contains("'gunicorn>=22'")).expect("extra installed");
            assert!(df.contains("# gunicorn>=22: install in pyslim.toml"), "{what}\n{df}");
            if v != Variant::Naive && !matches!(name, "pyproject_app" | "setup_py") {
                assert!(src.is_some_and(|c| extra < c), "{what}: extras after the source\n{df}");
            }
            if v.is_multistage() {
                let froms: Vec<usize> =
                    ins.iter().enumerate().filter(|(_, i)| keyword(i) == "FROM").map(|(n, _)| n).collect();
                assert_eq!(froms.len(), 2, "{what}: no source stage when the builder holds /app\n{df}");
                assert!(steps < froms[1], "{what}: build steps in the builder");
                assert!(ins[steps].contains("PATH=\"/opt/venv/bin:$PATH\""), "{what}: {}", ins[steps]);
                let runtime = &ins[froms[1]..];
                let copy = if name == "ws" {
                    "COPY --from=builder /app/packages/api/ /app/"
                } else {
                    "COPY --from=builder /app/ /app/"
                };
                assert!(runtime.iter().any(|i| i == copy), "{what}\n{df}");
                assert!(!runtime.iter().any(|i| i.starts_with("COPY . ")), "{what}");
                if name == "demo_secrets" {
                    assert!(ins[steps].contains("rm -rf /app/.pyslim-secrets"), "{what}: {}", ins[steps]);
                }
            }
            if name == "uv" && v != Variant::Naive {
                assert!(df.contains("--no-editable --inexact"), "{what}: uv's exact sync removes extras\n{df}");
            }
        }
    }
}

/// Writable directories: one beside the source (a SQLite file's folder) and one in an installed
/// package's folder (`{site-packages}`), as the scan reports them.
fn with_writable(mut scan: ScanReport) -> ScanReport {
    scan.writable = vec![
        Fact::new("/app/data".to_string(), "src/app.py:9: SQLite database app.db (its folder)"),
        Fact::new("{site-packages}/svc".to_string(), "src/svc/__init__.py:12: SQLite database svc.db (its folder)"),
    ];
    scan
}

#[test]
fn snapshots_with_writable_directories() {
    let settings = settings();
    for (name, scan) in
        [("demo_writable", with_writable(demo())), ("src_writable", with_writable(pyproject_src_layout()))]
    {
        let p = plan(&scan, Config::default());
        let renders = render_all(&scan, &p);
        settings.bind(|| {
            insta::assert_snapshot!(snap(format!("{name}__buildkit")), snapshot_text(&renders, Flavour::Buildkit));
            insta::assert_snapshot!(snap(format!("{name}__classic")), snapshot_text(&renders, Flavour::Classic));
        });
    }
}

/// Every variant that runs as the non-root user makes exactly the plan's directories its own:
/// a multi-stage builder assembles them (mkdir + chown) and the runtime copies them to `/` as its
/// first instruction, before any WORKDIR or COPY could create them root-owned; the single-stage
/// slim image chowns them in place before USER. `naive` and `--user root` need nothing.
#[test]
fn writable_directories_in_every_variant() {
    for (name, scan) in [("demo", with_writable(demo())), ("src", with_writable(pyproject_src_layout()))] {
        for user in ["65532:65532", "root"] {
            let p = plan(&scan, Config { user: Some(user.into()), ..Default::default() });
            for (v, f, r) in render_all(&scan, &p) {
                let what = format!("{name} {user} {v} {}", f.as_str());
                let df = match r {
                    Ok(r) => r.dockerfile,
                    Err(e) => panic!("{what}: {e}"),
                };
                let ins = instructions(&df);
                let chown = ins.iter().position(|i| i.starts_with("RUN ") && i.contains("chown "));
                if v == Variant::Naive || user == "root" {
                    assert!(chown.is_none() && !df.contains("pyslim-writable"), "{what}\n{df}");
                    continue;
                }
                let run = &ins[chown.expect("a chown step")];
                assert!(run.contains(&format!("chown {user} ")), "{what}: {run}");
                assert!(run.contains("SP=\"$(") && run.contains("sysconfig.get_path"), "{what}: {run}");
                assert!(!run.contains("chown -R"), "{what}: the directory itself, not the tree: {run}");
                let froms: Vec<usize> =
                    ins.iter().enumerate().filter(|(_, i)| keyword(i) == "FROM").map(|(n, _)| n).collect();
                if v.is_multistage() {
                    assert!(
                        run.contains("mkdir -p /pyslim-writable/app/data \"/pyslim-writable$SP/svc\""),
                        "{what}: {run}"
                    );
                    let last = *froms.last().unwrap();
                    assert!(chown.unwrap() < last, "{what}: chown in the builder");
                    // classic: first in the runtime (after the assembled root on minimal), since a
                    // later merge keeps the owner; BuildKit: last before USER, since a merge resets it
                    let copies: Vec<usize> = ins
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| *i == "COPY --from=builder /pyslim-writable/ /")
                        .map(|(n, _)| n)
                        .collect();
                    assert_eq!(copies.len(), 1, "{what}\n{df}");
                    let at = if f == Flavour::Classic {
                        if v == Variant::Minimal { last + 2 } else { last + 1 }
                    } else {
                        ins.iter().position(|i| keyword(i) == "USER").unwrap() - 1
                    };
                    assert_eq!(copies[0], at, "{what}\n{df}");
                } else {
                    assert!(run.contains("mkdir -p /app/data \"$SP/svc\""), "{what}: {run}");
                    let user_at = ins.iter().position(|i| keyword(i) == "USER").unwrap();
                    assert!(chown.unwrap() < user_at, "{what}");
                }
                assert!(df.contains("/app/data: src/app.py:9: SQLite database app.db"), "{what}: the reason\n{df}");
            }
        }
    }
}

/// With nothing to run before the server the entrypoint is the server alone (no launcher).
#[test]
fn no_pre_start_means_no_launcher() {
    let scan = demo();
    let p = plan(&scan, Config { build_steps: Some(vec!["python -V".into()]), ..Default::default() });
    let r = render::render(&p, &scan, Variant::Distroless, Flavour::Buildkit).unwrap();
    let df = &r.dockerfile;
    assert!(df.contains("ENTRYPOINT [\"/opt/venv/bin/python\", \"-m\", \"uvicorn\""), "{df}");
    assert!(!df.contains("-I") && !df.contains("launch.py"), "{df}");
    // the shared-library step still uses the helper package
    assert!(r.helpers.iter().any(|h| h.path.ends_with("/libs.py")), "{:?}", r.helpers);
    let slim = render::render(&p, &scan, Variant::Slim, Flavour::Buildkit).unwrap();
    assert!(slim.helpers.is_empty() && !slim.dockerfile.contains("pyslim_helpers"), "{}", slim.dockerfile);
}

/// No program is written into a Dockerfile: every helper step runs a module of the helper
/// package, which the Dockerfile copies from the files beside it (`Rendered::helpers`), and the
/// Dockerfile names the package and its version; the `.dockerignore` never excludes them.
#[test]
fn helpers_are_files_the_dockerfile_copies_never_inlined() {
    let version = render::helpers::version();
    let corpus = corpus();
    let mut using = 0;
    for (what, _, _, r) in &corpus {
        {
            let df = &r.dockerfile;
            for line in df.lines() {
                assert!(!(line.starts_with("        '") && line.ends_with("' \\")), "{what}: a program line: {line}");
                // a start command never carries a program (the launcher was one, `-c` in JSON)
                let start = line.starts_with("ENTRYPOINT ") || line.starts_with("CMD ");
                assert!(!(start && (line.contains("\"-c\"") || line.contains("\\n"))), "{what}: {line}");
            }
            let runs_helper = df.contains("-m pyslim_helpers.");
            let copies = df.lines().any(|l| l.starts_with("COPY ") && l.contains(".pyslim/pyslim_helpers/"));
            assert_eq!(runs_helper || df.contains("/pyslim/launch.py"), copies, "{what}\n{df}");
            assert_eq!(copies, !r.helpers.is_empty(), "{what}: {:?}", r.helpers);
            if copies {
                using += 1;
                assert!(df.contains(&format!("pyslim_helpers {version} (.pyslim/pyslim_helpers/")), "{what}\n{df}");
                for h in &r.helpers {
                    assert!(h.in_context.ends_with(&h.path), "{what}: {h:?}");
                    assert!(render::helpers::is_pristine(&h.content), "{what}: {}", h.path);
                }
                let ignore = pyslim::ignorefile::DockerIgnore::parse(&r.dockerignore).unwrap();
                for h in &r.helpers {
                    assert!(!ignore.is_excluded(&h.in_context), "{what}: .dockerignore excludes {}", h.in_context);
                }
            }
        }
    }
    assert!(using >= 40, "only {using} of {} renders use the helpers", corpus.len());
}

#[test]
fn snapshots_of_trim_options_and_mirror() {
    let settings = settings();
    let mut mirrored = trimmed();
    mirrored.image_mirror = Some("registry.example/mirror".into());
    for (name, scan, cfg) in [
        ("demo_trimmed_mirror", demo(), mirrored),
        ("uv_trimmed", uv_project(), trimmed()),
        ("demo_keep_installers_root", demo(), kept_installers_root()),
    ] {
        let p = plan(&scan, cfg);
        let renders = render_all(&scan, &p);
        settings.bind(|| insta::assert_snapshot!(snap(name), snapshot_text(&renders, Flavour::Buildkit)));
    }
}

#[test]
fn clear_errors_for_unsupported_combinations() {
    let scan = pipenv_project(false);
    let p = plan(&scan, Config::default());
    let e = render::render(&p, &scan, Variant::Distroless, Flavour::Classic).unwrap_err().to_string();
    assert!(e.contains("Pipfile.lock") && e.contains("pipenv lock"), "{e}");

    // alpine builder, distroless runtime
    let scan = demo();
    let cfg = Config { builder: Some("python:3.13-alpine".into()), ..Default::default() };
    let p = plan(&scan, cfg);
    let e = render::render(&p, &scan, Variant::Distroless, Flavour::Classic).unwrap_err().to_string();
    assert!(e.contains("musl") && e.contains("alpine"), "{e}");

    // distroless has no package manager for libpq: the builder's shared-library step copies it
    // (named as a root: psycopg loads it by name) to its own path; a slim runtime installs it
    let scan = psycopg2_project();
    let p = plan(&scan, Config::default());
    let df = render::render(&p, &scan, Variant::Distroless, Flavour::Classic).unwrap().dockerfile;
    let (builder, runtime) = df.split_at(df.find("AS runtime").unwrap());
    assert!(builder.contains("--also libpq.so.5") && !builder.contains("--provided libpq"), "{df}");
    assert!(runtime.contains("COPY --from=builder /pyslim/libs/ /") && !runtime.contains("RUN"), "{df}");
    assert!(!runtime.contains("LD_LIBRARY_PATH"), "{df}");
    let df = render::render(&p, &scan, Variant::MultistageSlim, Flavour::Classic).unwrap().dockerfile;
    let (builder, runtime) = df.split_at(df.find("AS runtime").unwrap());
    assert!(builder.contains("--provided libpq.so.5") && !builder.contains("--also libpq"), "{df}");
    assert!(runtime.contains("libpq5"), "{df}");
    // ... but a distroless debug image (a busybox shell, still no apt) is refused, with the way out
    let cfg = Config { runtime: Some("gcr.io/distroless/python3-debian13:debug".into()), ..Default::default() };
    let p = plan(&scan, cfg);
    let e = render::render(&p, &scan, Variant::Distroless, Flavour::Classic).unwrap_err().to_string();
    assert!(e.contains("libpq") && e.contains("psycopg2-binary"), "{e}");

    // no distroless for 3.12: the plan's error, not a panic
    let scan = pip_project();
    let p = plan(&scan, Config::default());
    let e = render::render(&p, &scan, Variant::Distroless, Flavour::Buildkit).unwrap_err().to_string();
    assert!(e.contains("3.12"), "{e}");

    // builder and runtime with different Python versions
    let scan = demo();
    let cfg = Config {
        builder: Some("python:3.11-slim".into()),
        runtime: Some("gcr.io/distroless/python3-debian13:nonroot".into()),
        ..Default::default()
    };
    let p = plan(&scan, cfg);
    let e = render::render(&p, &scan, Variant::Distroless, Flavour::Classic).unwrap_err().to_string();
    assert!(e.contains("3.11") && e.contains("3.13"), "{e}");
}

// ---------------------------------------------------------------- structure

/// Instructions with continuation lines joined; comments kept apart.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
        } else {
            cur.push_str(t);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

fn keyword(i: &str) -> &str {
    i.split_whitespace().next().unwrap_or("")
}

/// The instructions without the `source` stage that build secrets add (it only copies the
/// context and deletes `.pyslim-secrets/`).
fn without_source_stage(ins: Vec<String>) -> Vec<String> {
    let mut out = vec![];
    let mut in_source = false;
    for i in ins {
        if keyword(&i) == "FROM" {
            in_source = i.ends_with(" AS source");
        }
        if !in_source {
            out.push(i);
        }
    }
    out
}

/// Every rendered Dockerfile of every project and option set, with what produced it.
fn corpus() -> Vec<(String, ScanReport, BuildPlan, Rendered)> {
    let mut out = vec![];
    let mut sets: Vec<(String, ScanReport, Config)> =
        projects().into_iter().map(|(n, s)| (n.to_string(), s, Config::default())).collect();
    sets.push(("demo_trimmed".into(), demo(), trimmed()));
    sets.push(("uv_trimmed".into(), uv_project(), trimmed()));
    sets.push(("demo_keep_installers_root".into(), demo(), kept_installers_root()));
    sets.push(("pip_keep_installers".into(), pip_project(), kept_installers_root()));
    sets.push(("demo_secrets".into(), demo(), with_secrets()));
    sets.push(("pip_secrets".into(), pip_project(), with_secrets()));
    sets.push(("uv_secrets".into(), uv_project(), with_secrets()));
    sets.push(("demo_start".into(), demo(), with_start_steps()));
    sets.push(("uv_start".into(), uv_project(), with_start_steps()));
    sets.push(("pip_start".into(), pip_project(), with_start_steps()));
    sets.push(("pdm_start".into(), pdm_project(), with_start_steps()));
    sets.push(("setup_py_start".into(), setup_py(), with_start_steps()));
    sets.push((
        "demo_start_secrets".into(),
        demo(),
        Config { build_secrets: with_secrets().build_secrets, ..with_start_steps() },
    ));
    for (name, scan, cfg) in sets {
        let p = plan(&scan, cfg);
        for (v, f, r) in render_all(&scan, &p) {
            if let Ok(r) = r {
                out.push((format!("{name}-{v}-{}", f.as_str()), scan.clone(), p.clone(), r));
            }
        }
    }
    out.extend(fixture_corpus());
    out
}

/// Renders of the scan engineer's fixture projects, when they exist.
fn fixture_corpus() -> Vec<(String, ScanReport, BuildPlan, Rendered)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(&dir) else { return out };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    paths.sort();
    for path in paths {
        let Ok(scan) = common::scan(&path) else { continue };
        let Ok(p) = BuildPlan::resolve(&scan, None, &Config::default()) else { continue };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (v, f, r) in render_all(&scan, &p) {
            if let Ok(r) = r {
                out.push((format!("fixture-{name}-{v}-{}", f.as_str()), scan.clone(), p.clone(), r));
            }
        }
    }
    out
}

#[test]
fn structural_invariants() {
    let corpus = corpus();
    assert!(corpus.len() >= 60, "only {} renders", corpus.len());
    for (name, scan, plan, r) in &corpus {
        let df = &r.dockerfile;
        let ins = without_source_stage(instructions(df));
        assert!(!df.to_lowercase().contains("# syntax="), "{name}: syntax line\n{df}");
        assert!(!df.contains(":latest"), "{name}: latest tag\n{df}");
        for i in &ins {
            if matches!(keyword(i), "CMD" | "ENTRYPOINT") {
                let rest = i.split_once(' ').map(|x| x.1).unwrap_or("");
                let parsed: Vec<String> = serde_json::from_str(rest).unwrap_or_else(|e| panic!("{name}: {i}: {e}"));
                assert!(!parsed.is_empty(), "{name}: empty {i}");
            }
            if keyword(i) == "RUN" {
                assert!(
                    !(i.contains("--mount=type=cache") && i.contains("--no-cache")),
                    "{name}: cache mount and no-cache together: {i}"
                );
                if r.flavour == Flavour::Buildkit && i.contains("pip install") {
                    assert!(
                        i.contains("--mount=type=cache,target=/root/.cache/pip"),
                        "{name}: pip without cache mount: {i}"
                    );
                }
                if r.flavour == Flavour::Classic && i.contains("pip install") {
                    assert!(i.contains("--no-cache-dir"), "{name}: classic pip keeps its cache: {i}");
                }
            }
        }
        if r.flavour == Flavour::Classic {
            assert!(!df.contains("--mount"), "{name}: classic with --mount\n{df}");
        }

        // last USER is not root; non-naive variants run as the plan's user
        let users: Vec<&String> = ins.iter().filter(|i| keyword(i) == "USER").collect();
        if let Some(u) = users.last() {
            let who = u.split_whitespace().nth(1).unwrap();
            assert!(!matches!(who.split(':').next(), Some("root" | "0")), "{name}: runs as root");
        }
        let root_user = plan.user == "root";
        if r.variant == Variant::Naive {
            assert!(users.is_empty(), "{name}: the naive baseline runs as the image's user");
        } else if !root_user {
            assert_eq!(users.last().map(|u| u.as_str()), Some(format!("USER {}", plan.user).as_str()), "{name}");
        }
        assert!(ins.iter().any(|i| i == &format!("EXPOSE {}", plan.port)), "{name}: EXPOSE");

        // dependency files are copied before the source (not for naive: it copies everything first)
        if r.variant != Variant::Naive && !scan.dependency_files.is_empty() {
            // The source is `.`, or a folder of the `source` stage (index credentials stripped);
            // single files from that stage are dependency files.
            let is_source = |i: &str| {
                i.starts_with("COPY . ")
                    || i.starts_with("COPY --from=source ")
                        && i.split_whitespace().nth(2).is_some_and(|p| p.ends_with('/'))
            };
            let first_source = ins.iter().position(|i| is_source(i)).expect("source copied");
            for f in &scan.dependency_files {
                let pm = scan.package_manager.as_ref().map(|p| p.value);
                let poetry_without_lock = pm == Some(PackageManager::Poetry) && scan.lockfile.is_none();
                if matches!(pm, Some(PackageManager::Pyproject | PackageManager::SetupPy)) || poetry_without_lock {
                    continue; // no lockfile: one install step after the source (documented)
                }
                let at = ins
                    .iter()
                    .position(|i| {
                        let from_source = i.contains("--from=source ") && !is_source(i);
                        keyword(i) == "COPY"
                            && (!i.contains("--from") || from_source)
                            && i.split_whitespace().any(|w| w == f || w == format!("/app/{f}"))
                    })
                    .unwrap_or_else(|| panic!("{name}: {f} not copied\n{df}"));
                assert!(at < first_source, "{name}: {f} copied after the source\n{df}");
            }
        }

        if r.variant.is_multistage() {
            let images = plan.images(r.variant).unwrap();
            // The `source` stage (index credentials stripped) only copies and cleans the context.
            let froms: Vec<usize> = ins
                .iter()
                .enumerate()
                .filter(|(_, i)| keyword(i) == "FROM" && !i.ends_with(" AS source"))
                .map(|(n, _)| n)
                .collect();
            assert_eq!(froms.len(), 2, "{name}: two stages");
            let (builder, runtime) = (&ins[froms[0]..froms[1]], &ins[froms[1]..]);
            // the venv interpreter is the runtime image's interpreter, at the same venv path
            let venv_line = builder.iter().find(|i| i.contains(" -m venv")).expect("venv made in the builder");
            let body: Vec<&str> =
                venv_line.split_whitespace().skip(1).skip_while(|w| w.starts_with("--mount=")).collect();
            let body = body.join(" ");
            let made = body.split(" && ").find(|c| c.contains(" -m venv")).unwrap().trim();
            assert!(made.starts_with(&format!("{} -m venv", images.runtime.interpreter)), "{name}: {made}");
            assert!(made.ends_with(" /opt/venv"), "{name}: {made}");
            let venv_copy = if r.variant == Variant::Minimal {
                "COPY --from=builder /pyslim/venv/ /opt/venv/"
            } else {
                "COPY --from=builder /opt/venv /opt/venv"
            };
            assert!(runtime.iter().any(|i| i == venv_copy), "{name}: venv path differs");
            if images.builder.interpreter != images.runtime.interpreter {
                let link = format!(
                    "[ -e {r} ] || ln -s {b} {r}",
                    r = images.runtime.interpreter,
                    b = images.builder.interpreter
                );
                assert!(venv_line.contains(&link), "{name}: no guarded link: {venv_line}");
            }
            if !plan.trim.keep_installers {
                assert!(made.contains("--without-pip"), "{name}: pip in the runtime venv");
            }
            if r.variant == Variant::Minimal {
                assert_eq!(runtime[0], "FROM scratch AS runtime", "{name}");
            }
            if matches!(r.variant, Variant::Distroless | Variant::Minimal) || !images.runtime.shell {
                assert!(runtime.iter().all(|i| keyword(i) != "RUN"), "{name}: RUN in a shell-less stage\n{df}");
            }
            let ep = runtime.iter().find(|i| keyword(i) == "ENTRYPOINT").expect("ENTRYPOINT");
            assert!(ep.starts_with("ENTRYPOINT [\"/opt/venv/bin/"), "{name}: {ep}");
            let env = runtime.iter().filter(|i| keyword(i) == "ENV").cloned().collect::<Vec<_>>().join(" ");
            assert!(env.contains("PYTHONUNBUFFERED=1"), "{name}");
            if r.variant == Variant::Minimal {
                // scratch has no PATH to extend
                assert!(env.contains("PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"), "{name}");
            } else {
                assert!(env.contains("PATH=\"/opt/venv/bin:$PATH\""), "{name}");
            }
            assert_eq!(env.contains("PYTHONDONTWRITEBYTECODE=1"), !plan.trim.bytecode, "{name}");
        }
    }
}

#[test]
fn dockerignore_keeps_secrets_out_and_dependency_files_in() {
    let scan = pip_project();
    let p = plan(&scan, Config::default());
    let ig = render::render(&p, &scan, Variant::MultistageSlim, Flavour::Classic).unwrap().dockerignore;
    for want in [
        ".git",
        "**/.venv",
        "**/__pycache__",
        "**/.env",
        "!**/.env.example",
        "**/*.pem",
        ".env",
        "deploy/server.pem",
        "**/Dockerfile*",
    ] {
        assert!(ig.lines().any(|l| l == want), "missing {want}\n{ig}");
    }
    let ws = uv_workspace_member();
    let p = plan(&ws, Config::default());
    let ig = render::render(&p, &ws, Variant::Distroless, Flavour::Classic).unwrap().dockerignore;
    assert!(ig.lines().any(|l| l == "packages/api/.env"), "{ig}");
    assert!(ig.lines().any(|l| l == "packages/api/tests"), "{ig}");
}

/// The embedded demo through the real scan: every variant renders (or fails with a reason).
#[test]
fn demo_through_the_real_scan() {
    let demo = pyslim::demo::DemoProject::extract().unwrap();
    let scan = common::scan(&demo.path()).unwrap();
    if scan.package_manager.is_none() {
        // the scan's detectors are not in yet; the hand-built demo() covers rendering
        eprintln!("scan found no package manager in the demo yet");
        return;
    }
    let p = BuildPlan::resolve(&scan, None, &Config::default()).unwrap();
    for v in Variant::ALL {
        for f in [Flavour::Buildkit, Flavour::Classic] {
            let r = render::render(&p, &scan, v, f).unwrap_or_else(|e| panic!("{v} {f:?}: {e}"));
            assert!(r.dockerfile.contains("poetry"), "{}", r.dockerfile);
        }
    }
}

// ---------------------------------------------------------------- hadolint

/// Path of hadolint: `$HADOLINT`, else what `scripts/hadolint.sh` installs. `None` (skip) only
/// outside CI; in CI a missing hadolint fails the test.
fn hadolint() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HADOLINT") {
        return Some(PathBuf::from(p));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/hadolint.sh");
    let out = Command::new("bash").arg(&script).output();
    match out {
        Ok(o) if o.status.success() => {
            let path = String::from_utf8_lossy(&o.stdout).trim().lines().last().unwrap_or("").to_string();
            Some(PathBuf::from(path))
        }
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(std::env::var_os("CI").is_none(), "hadolint is required in CI: {why}");
            eprintln!("skipping hadolint: {why}");
            None
        }
    }
}

#[test]
fn every_dockerfile_passes_hadolint() {
    let Some(hadolint) = hadolint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = vec![];
    for (name, _, _, r) in corpus() {
        let path = dir.path().join(format!("{name}.Dockerfile"));
        std::fs::write(&path, &r.dockerfile).unwrap();
        paths.push(path);
    }
    // strict: every finding counts, info and style included
    let out = Command::new(&hadolint)
        .args(["--no-color", "--failure-threshold", "style"])
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", hadolint.display()));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.trim().is_empty(), "hadolint findings:\n{text}");
}

/// Snapshots over the scan fixtures (`tests/fixtures/*`), through the real scan: what a user of
/// `pyslim dockerfile` gets for each kind of project.
#[test]
fn snapshots_of_fixture_projects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    paths.sort();
    // a uv workspace member, scanned from its own folder (build context: the workspace root)
    let member = dir.join("uv-workspace/packages/api");
    if member.is_dir() {
        paths.push(member);
    }
    let mut settings = settings();
    settings.add_filter(&regex_escape(&dir.display().to_string()), "[FIXTURES]");
    for path in paths {
        let rel = path.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        let name = rel.replace(['-', '/'], "_");
        let scan = common::scan(&path).unwrap();
        let text = match BuildPlan::resolve(&scan, None, &Config::default()) {
            Err(e) => format!("PLAN ERROR: {e}\n"),
            Ok(p) => {
                let renders = render_all(&scan, &p);
                let ignore = render::render(&p, &scan, Variant::MultistageSlim, Flavour::Classic)
                    .map(|r| r.dockerignore)
                    .unwrap_or_else(|e| format!("ERROR: {e}\n"));
                format!(
                    "{}{}======== .dockerignore ========\n{ignore}",
                    snapshot_text(&renders, Flavour::Buildkit),
                    snapshot_text(&renders, Flavour::Classic)
                )
            }
        };
        settings.bind(|| insta::assert_snapshot!(snap(format!("fixture__{name}")), text));
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '/' || c == '_' { c.to_string() } else { format!("\\{c}") })
        .collect()
}
