//! `pyslim scan` on the fixture projects under tests/fixtures (through the library and through
//! the real binary), on the embedded demo, and on malformed input.

use crate::common;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use pyslim::scan::{AppServer, Framework, PackageManager, ScanReport};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn scan_fixture(name: &str) -> ScanReport {
    common::scan(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// The values every fixture is checked on, in one line each.
#[allow(clippy::too_many_arguments)] // one argument per checked fact keeps each call a readable table row
#[track_caller]
fn expect(
    r: &ScanReport,
    pm: PackageManager,
    lock: Option<&str>,
    python: Option<&str>,
    fw: Framework,
    server: AppServer,
    app: &str,
    entry: &str,
    port: u16,
) {
    assert_eq!(r.package_manager.as_ref().map(|f| f.value), Some(pm), "package manager: {r:#?}");
    assert_eq!(r.lockfile.as_ref().map(|f| f.value.as_str()), lock, "lockfile");
    assert_eq!(r.python.as_ref().map(|f| f.value.to_string()).as_deref(), python, "python: {:?}", r.python);
    assert_eq!(r.framework.as_ref().map(|f| f.value), Some(fw), "framework: {:?}", r.framework);
    assert_eq!(r.app_server.as_ref().map(|f| f.value), Some(server), "server: {:?}", r.app_server);
    assert_eq!(r.app.as_ref().map(|f| f.value.as_str()), Some(app), "app: {:?}", r.app);
    assert_eq!(r.entrypoint.as_ref().map(|f| f.value.clone()), Some(argv(entry)), "entrypoint: {:?}", r.entrypoint);
    assert_eq!(r.port.as_ref().map(|f| f.value), Some(port), "port: {:?}", r.port);
    // every fact says where it came from
    for s in [
        r.package_manager.as_ref().map(|f| &f.source),
        r.python.as_ref().map(|f| &f.source),
        r.framework.as_ref().map(|f| &f.source),
        r.app.as_ref().map(|f| &f.source),
        r.entrypoint.as_ref().map(|f| &f.source),
        r.port.as_ref().map(|f| &f.source),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!s.is_empty());
    }
}

/// A throwaway project with the given files.
fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, body) in files {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    d
}

fn dep_names(r: &ScanReport) -> Vec<&str> {
    r.dependencies.iter().map(|d| d.name.as_str()).collect()
}

fn no_libs(r: &ScanReport) {
    assert_eq!(r.system_libs.as_ref().map(|f| f.value.len()), Some(0), "{:?}", r.system_libs);
}

#[test]
fn pip_flask_factory_with_includes() {
    let r = scan_fixture("pip-flask");
    expect(
        &r,
        PackageManager::Pip,
        None,
        Some("3.11"),
        Framework::Flask,
        AppServer::Gunicorn,
        "shop:create_app()",
        "gunicorn -b 0.0.0.0:8000 shop:create_app()",
        8000,
    );
    assert_eq!(r.python.as_ref().unwrap().source, "runtime.txt (python-3.11.9)");
    assert_eq!(r.dependency_files, vec!["requirements.txt", "base.txt"]);
    assert_eq!(dep_names(&r), vec!["flask", "gunicorn"]);
    assert_eq!(r.dependencies[0].source, "base.txt:1");
    assert!(r.framework.as_ref().unwrap().source.starts_with("shop/__init__.py:6 (def create_app()"));
    assert!(!r.installable);
    assert_eq!(r.source_dir, None);
    no_libs(&r);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn poetry1_fastapi_picks_newest_python_with_wheels() {
    let r = scan_fixture("poetry1-fastapi");
    expect(
        &r,
        PackageManager::Poetry,
        Some("poetry.lock"),
        Some("3.13"),
        Framework::Fastapi,
        AppServer::Uvicorn,
        "api.main:app",
        "uvicorn api.main:app --host 0.0.0.0 --port 8000",
        8000,
    );
    let py = &r.python.as_ref().unwrap().source;
    assert!(py.contains("python = \"^3.10\""), "{py}");
    // the source names the pin that bounds the choice
    assert!(py.contains("pydantic-core 2.27.2 has wheels up to cp313"), "{py}");
    assert!(r.package_manager.as_ref().unwrap().source.contains("Poetry 1.x"));
    assert_eq!(dep_names(&r), vec!["fastapi", "uvicorn"], "pytest is a dev dependency");
    assert_eq!(r.dependency_files, vec!["pyproject.toml", "poetry.lock"]);
    assert!(r.installable);
    no_libs(&r);
}

#[test]
fn poetry2_fastapi_src_layout() {
    let r = scan_fixture("poetry2-fastapi");
    expect(
        &r,
        PackageManager::Poetry,
        Some("poetry.lock"),
        Some("3.13"),
        Framework::Fastapi,
        AppServer::Uvicorn,
        "hello.app:app",
        "uvicorn hello.app:app --host 0.0.0.0 --port 8000",
        8000,
    );
    assert!(r.python.as_ref().unwrap().source.contains("requires-python \">=3.11,<3.14\""));
    assert!(r.package_manager.as_ref().unwrap().source.contains("Poetry 2.x"));
    assert_eq!(r.source_dir.as_deref(), Some("src"));
    assert!(r.installable);
    assert_eq!(dep_names(&r), vec!["fastapi", "uvicorn"]);
    no_libs(&r);
}

#[test]
fn uv_fastapi_port_from_code() {
    let r = scan_fixture("uv-fastapi");
    expect(
        &r,
        PackageManager::Uv,
        Some("uv.lock"),
        Some("3.12"),
        Framework::Fastapi,
        AppServer::Uvicorn,
        "main:app",
        "uvicorn main:app --host 0.0.0.0 --port 8080",
        8080,
    );
    assert_eq!(r.python.as_ref().unwrap().source, ".python-version:2");
    assert_eq!(r.port.as_ref().unwrap().source, "main.py:15 (uvicorn.run(port=8080))");
    assert_eq!(r.dependency_files, vec!["pyproject.toml", "uv.lock"]);
    assert_eq!(dep_names(&r), vec!["fastapi", "uvicorn"]);
    assert!(!r.installable);
    assert_eq!(r.context_root, None);
    no_libs(&r);
}

#[test]
fn uv_workspace_member_finds_the_parent_lock() {
    let r = scan_fixture("uv-workspace/packages/api");
    expect(
        &r,
        PackageManager::Uv,
        Some("../../uv.lock"),
        Some("3.13"),
        Framework::Fastapi,
        AppServer::Uvicorn,
        "api.main:app",
        "uvicorn api.main:app --host 0.0.0.0 --port 8000",
        8000,
    );
    assert_eq!(r.context_root.as_deref(), Some("../.."));
    assert_eq!(r.python.as_ref().unwrap().source, "../../.python-version");
    assert_eq!(
        r.dependency_files,
        vec!["pyproject.toml", "uv.lock", "packages/api/pyproject.toml", "packages/common/pyproject.toml"]
    );
    assert_eq!(r.source_dir.as_deref(), Some("src"));
    assert!(r.installable);
    assert_eq!(dep_names(&r), vec!["common", "fastapi", "uvicorn"]);
}

#[test]
fn pdm_litestar() {
    let r = scan_fixture("pdm-litestar");
    expect(
        &r,
        PackageManager::Pdm,
        Some("pdm.lock"),
        Some("3.12"),
        Framework::Litestar,
        AppServer::Uvicorn,
        "app:app",
        "uvicorn app:app --host 0.0.0.0 --port 8000",
        8000,
    );
    assert_eq!(r.python.as_ref().unwrap().source, ".tool-versions:1");
    assert_eq!(r.app_server.as_ref().unwrap().source, "pyproject.toml:5 (uvicorn>=0.32)");
    assert_eq!(r.dependency_files, vec!["pyproject.toml", "pdm.lock"]);
    assert_eq!(dep_names(&r), vec!["litestar", "uvicorn"], "the test group is not a runtime dependency");
    assert!(!r.installable, "distribution = false");
}

#[test]
fn a_poetry_project_without_a_lock_is_built_by_its_backend_under_pip() {
    let out = Command::cargo_bin("pyslim")
        .unwrap()
        .env("PYSLIM_OFFLINE", "1")
        .args(["dockerfile", "--variant", "multistage-slim"])
        .arg(fixture("poetry-nolock"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let df = String::from_utf8_lossy(&out.stdout);
    assert!(!df.contains("poetry export"), "no lock to export: {df}");
    assert!(df.contains("-m pip --python /opt/venv/bin/python install --no-compile ."), "{df}");
    let r = scan_fixture("poetry-nolock");
    assert!(r.warnings.iter().any(|w| w.contains("without poetry.lock")), "{:?}", r.warnings);
}

#[test]
fn a_hatchling_project_with_nothing_named_like_it_is_not_installed() {
    let pyproject = b"[project]\nname = \"hello-world\"\nversion = \"0.1\"\ndependencies = [\"fastapi\", \"uvicorn\"]\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n";
    let app = b"from fastapi import FastAPI\napp = FastAPI()\n";
    let d = project(&[("pyproject.toml", pyproject), ("app.py", app)]);
    let out = Command::cargo_bin("pyslim").unwrap().args(["scan", "--json"]).arg(d.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["installable"], false, "hatchling would not find hello_world: {v}");
    assert!(v["warnings"].to_string().contains("hatchling would find no package"), "{}", v["warnings"]);

    // a module named like the project is what hatchling ships: installable
    let ok = project(&[("pyproject.toml", pyproject), ("hello_world.py", app)]);
    assert!(common::scan(ok.path()).unwrap().installable);
}

#[test]
fn a_service_in_the_only_subfolder_with_dependencies_is_scanned_there() {
    let d = project(&[
        ("README.md", b"# repo\n"),
        ("docker-compose.yml", b"services: {}\n"),
        ("docs/requirements.txt", b"sphinx\n"),
        ("project/requirements.txt", b"fastapi==0.115.0\nuvicorn==0.30.0\n"),
        ("project/app/__init__.py", b""),
        ("project/app/main.py", b"from fastapi import FastAPI\napp = FastAPI()\n"),
    ]);
    let out = Command::cargo_bin("pyslim").unwrap().args(["scan", "--json"]).arg(d.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["root"].as_str().unwrap().ends_with("/project"), "{}", v["root"]);
    assert_eq!(v["entrypoint"]["value"][1], "app.main:app");
    assert_eq!(v["dependency_files"][0], "requirements.txt");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("scanned project/, the only subfolder that does"), "{warnings}");

    // two candidates: nothing is guessed, the warning names both
    let two = project(&[("a/requirements.txt", b"flask\n"), ("b/pyproject.toml", b"[project]\nname='b'\n")]);
    let r = common::scan(two.path()).unwrap();
    assert_eq!(r.root, two.path().canonicalize().unwrap());
    assert!(r.warnings.iter().any(|w| w.contains("several subfolders (a/, b/)")), "{:?}", r.warnings);
}

#[test]
fn pipenv_django() {
    let r = scan_fixture("pipenv-django");
    expect(
        &r,
        PackageManager::Pipenv,
        Some("Pipfile.lock"),
        Some("3.11"),
        Framework::Django,
        AppServer::Gunicorn,
        "mysite.wsgi:application",
        "gunicorn -b 0.0.0.0:8000 mysite.wsgi:application",
        8000,
    );
    assert_eq!(r.framework.as_ref().unwrap().source, "manage.py (Django)");
    assert!(r.app.as_ref().unwrap().source.starts_with("mysite/settings.py:15 (WSGI_APPLICATION"));
    assert!(r.python.as_ref().unwrap().source.starts_with("Pipfile [requires] python_version"));
    assert_eq!(r.dependency_files, vec!["Pipfile", "Pipfile.lock"]);
    assert_eq!(dep_names(&r), vec!["django", "gunicorn", "psycopg"]);
    no_libs(&r); // psycopg[binary] bundles libpq
}

#[test]
fn pyproject_starlette_src_layout_without_lock() {
    let r = scan_fixture("pyproject-starlette");
    expect(
        &r,
        PackageManager::Pyproject,
        None,
        Some("3.15"),
        Framework::Starlette,
        AppServer::Uvicorn,
        "svc.app:app",
        "uvicorn svc.app:app --host 0.0.0.0 --port 8000",
        8000,
    );
    assert_eq!(r.source_dir.as_deref(), Some("src"));
    assert!(r.installable);
    assert_eq!(dep_names(&r), vec!["starlette", "uvicorn"]);
    assert_eq!(r.framework.as_ref().unwrap().source, "src/svc/app.py:10 (Starlette())", "tests/ never wins");
}

#[test]
fn setuppy_flask_gunicorn_conf_and_ci_python() {
    let r = scan_fixture("setuppy-flask");
    expect(
        &r,
        PackageManager::SetupPy,
        None,
        Some("3.12"),
        Framework::Flask,
        AppServer::Gunicorn,
        "hello:app",
        "gunicorn -b 0.0.0.0:8080 hello:app",
        8080,
    );
    assert_eq!(r.port.as_ref().unwrap().source, "gunicorn.conf.py:1 (bind)");
    assert_eq!(r.python.as_ref().unwrap().source, ".github/workflows/ci.yml:8 (python-version)");
    assert_eq!(dep_names(&r), vec!["flask", "gunicorn"]);
    assert_eq!(r.dependencies[0].source, "setup.py:8");
    assert!(r.installable);
}

#[test]
fn streamlit_app() {
    let r = scan_fixture("streamlit-app");
    expect(
        &r,
        PackageManager::Pip,
        None,
        // pandas 2.2.3 (pinned) has wheels up to cp313: the index says so
        Some("3.13"),
        Framework::Streamlit,
        AppServer::Streamlit,
        "streamlit_app.py",
        "streamlit run streamlit_app.py --server.port 8501 --server.address 0.0.0.0",
        8501,
    );
}

#[test]
fn gradio_app_warns_about_localhost() {
    let r = scan_fixture("gradio-app");
    // no version named and only pure pins: the newest Python with an image for every variant
    expect(
        &r,
        PackageManager::Pip,
        None,
        Some("3.13"),
        Framework::Gradio,
        AppServer::Python,
        "app.py",
        "python app.py",
        7861,
    );
    assert!(r.warnings.iter().any(|w| w.contains("app.py:14") && w.contains("server_name")), "{:?}", r.warnings);
}

#[test]
fn procfile_is_strong_evidence() {
    let r = scan_fixture("procfile-app");
    expect(
        &r,
        PackageManager::Pip,
        None,
        Some("3.13"), // pure pins only: the newest Python with an image for every variant
        Framework::Flask,
        AppServer::Gunicorn,
        "wsgi:app",
        "gunicorn --workers 2 -b 0.0.0.0:8000 wsgi:app",
        8000,
    );
    assert_eq!(r.entrypoint.as_ref().unwrap().source, "Procfile:2 web:");
    assert_eq!(r.framework.as_ref().unwrap().source, "wsgi.py:3 (create_app())");
}

#[test]
fn psycopg2_from_source_needs_libpq() {
    let r = scan_fixture("psycopg2-source");
    let libs = &r.system_libs.as_ref().expect("dependencies are known").value;
    assert_eq!(libs.len(), 1, "{libs:?}");
    let l = &libs[0];
    assert_eq!((l.name.as_str(), l.needed_by.as_str()), ("libpq", "psycopg2"));
    assert_eq!(l.debian_runtime, "libpq5");
    assert_eq!(l.debian_build, "libpq-dev");
    assert_eq!(l.sonames, vec!["libpq.so.5"]);
    assert_eq!(l.alternative.as_deref(), Some("psycopg2-binary"));
    assert_eq!(r.system_libs.as_ref().unwrap().source, "requirements.txt:3 (psycopg2==2.9.10)");
    assert!(r.warnings.iter().any(|w| w.starts_with("psycopg2 needs libpq")), "{:?}", r.warnings);
    assert_eq!(r.app.as_ref().unwrap().value, "main:app");
}

#[test]
fn existing_dockerfile_cmd_expose_and_from() {
    let r = scan_fixture("dockerfile-existing");
    expect(
        &r,
        PackageManager::Pip,
        None,
        Some("3.10"),
        Framework::Fastapi,
        AppServer::Uvicorn,
        "service:app",
        "uvicorn service:app --host 0.0.0.0 --port 8080",
        8080,
    );
    assert_eq!(r.python.as_ref().unwrap().source, "Dockerfile:1 (FROM python:3.10-slim)");
    assert_eq!(r.entrypoint.as_ref().unwrap().source, "Dockerfile:7 (CMD)");
    assert_eq!(r.existing_dockerfile.as_ref().unwrap().value, "Dockerfile");
    assert_eq!(r.existing_dockerignore.as_ref().unwrap().value, ".dockerignore");
    assert!(r.warnings.iter().any(|w| w.contains("localhost only")), "{:?}", r.warnings);
}

#[test]
fn secrets_missed_by_the_dockerignore() {
    let r = scan_fixture("secrets");
    assert_eq!(r.secrets_in_context, vec![".env", "config/gcp.json", "id_rsa"]);
    assert!(
        r.warnings.contains(
            &".env would enter the build context: add it to .dockerignore (yours does not exclude it)".to_string()
        ),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.app.as_ref().unwrap().value, "app:app");
}

#[test]
fn requires_python_range_skips_versions_without_wheels() {
    let r = scan_fixture("requires-python");
    assert_eq!(r.package_manager.as_ref().unwrap().value, PackageManager::Uv);
    let py = r.python.as_ref().unwrap();
    assert_eq!(py.value.to_string(), "3.12", "{}", py.source);
    assert!(py.source.contains("requires-python \">=3.10\""), "{}", py.source);
    assert!(py.source.contains("(pydantic-core 2.14.6 has wheels up to cp312)"), "{}", py.source);
    assert!(r.warnings.is_empty(), "the workspace's own virtual package is not asked of the index: {:?}", r.warnings);
}

#[test]
fn standard_extra_brings_uvicorn_and_weak_evidence_is_said() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("requirements.txt"), "fastapi[standard]==0.115.6\n").unwrap();
    std::fs::write(d.path().join("main.py"), "from fastapi import FastAPI\n\napp = FastAPI()\n").unwrap();
    let r = common::scan(d.path()).unwrap();
    assert_eq!(r.app_server.as_ref().unwrap().value, AppServer::Uvicorn);
    assert_eq!(r.app_server.as_ref().unwrap().source, "requirements.txt:1 (fastapi[standard]==0.115.6) brings uvicorn");

    // listed but never imported: weak evidence, and no entrypoint to guess
    std::fs::write(d.path().join("main.py"), "print('hello')\n").unwrap();
    let r = common::scan(d.path()).unwrap();
    let fw = r.framework.as_ref().unwrap();
    assert_eq!(fw.value, Framework::Fastapi);
    assert!(fw.source.contains("never imported: weak evidence"), "{}", fw.source);
    assert!(r.entrypoint.is_none());
    assert!(r.warnings.iter().any(|w| w.contains("pass --entrypoint")), "{:?}", r.warnings);
}

// ------------------------------------------------------------------ through the binary

fn scan_json(args: &[&str]) -> Value {
    let out = Command::cargo_bin("pyslim").unwrap().arg("scan").arg("--json").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn value<'a>(j: &'a Value, key: &str) -> &'a Value {
    let fact = j.get(key).unwrap_or_else(|| panic!("no key {key}"));
    assert!(fact.is_null() || fact["source"].is_string(), "{key}: {fact}");
    &fact["value"]
}

#[test]
fn binary_json_on_the_demo() {
    let j = scan_json(&["--demo"]);
    assert_eq!(value(&j, "package_manager"), "poetry");
    assert_eq!(value(&j, "lockfile"), "poetry.lock");
    assert_eq!(value(&j, "python"), "3.13");
    assert_eq!(j["python"]["source"], ".python-version");
    assert_eq!(value(&j, "framework"), "fastapi");
    assert_eq!(value(&j, "app_server"), "uvicorn");
    assert_eq!(value(&j, "app"), "app:app");
    assert_eq!(j["source_dir"], "src");
    assert_eq!(value(&j, "port"), 8000);
    assert_eq!(
        value(&j, "entrypoint"),
        &serde_json::json!(["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"])
    );
    assert_eq!(value(&j, "system_libs"), &serde_json::json!([]));
    assert_eq!(j["warnings"], serde_json::json!([]));
}

#[test]
fn binary_json_keys_on_fixtures() {
    let j = scan_json(&[fixture("psycopg2-source").to_str().unwrap()]);
    for key in
        ["package_manager", "lockfile", "python", "framework", "app_server", "app", "entrypoint", "port", "system_libs"]
    {
        value(&j, key);
    }
    assert!(j["lockfile"].is_null());
    // no version named, pure pins besides psycopg2 (no Linux wheel for any Python): the newest
    // Python with an image for every variant
    assert_eq!(value(&j, "python"), "3.13");
    assert_eq!(value(&j, "port"), 8000);
    assert!(value(&j, "entrypoint").is_array());
    assert_eq!(value(&j, "system_libs")[0]["name"], "libpq");
    assert!(j["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("libpq")));

    let j = scan_json(&[fixture("uv-workspace/packages/api").to_str().unwrap()]);
    assert_eq!(value(&j, "lockfile"), "../../uv.lock");
    assert_eq!(j["context_root"], "../..");
    assert_eq!(value(&j, "python"), "3.13");

    let j = scan_json(&[fixture("pipenv-django").to_str().unwrap()]);
    assert_eq!(
        value(&j, "entrypoint"),
        &serde_json::json!(["gunicorn", "-b", "0.0.0.0:8000", "mysite.wsgi:application"])
    );
}

#[test]
fn binary_text_summary() {
    Command::cargo_bin("pyslim")
        .unwrap()
        .args(["scan", fixture("secrets").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("framework       flask"))
        .stdout(predicate::str::contains(".env would enter the build context"));
}

// ------------------------------------------------------------------ malformed input

mod malformed {
    use super::*;

    fn warned(r: &ScanReport, needle: &str) -> bool {
        r.warnings.iter().any(|w| w.contains(needle))
    }

    #[test]
    fn broken_toml_is_a_warning_with_file_and_line() {
        let d = project(&[
            ("pyproject.toml", b"[project]\nname = \"x\"\ndependencies = [\"fastapi\"\n[tool.poetry\n"),
            ("poetry.lock", b"[[package]]\nname = \n"),
            ("app.py", b"from fastapi import FastAPI\napp = FastAPI()\n"),
        ]);
        let r = common::scan(d.path()).unwrap();
        assert!(warned(&r, "pyproject.toml:4: not valid TOML"), "{:?}", r.warnings);
        assert!(warned(&r, "poetry.lock:2: not valid TOML"), "{:?}", r.warnings);
        assert_eq!(r.package_manager.as_ref().unwrap().value, PackageManager::Poetry);
        assert_eq!(r.app.as_ref().unwrap().value, "app:app");
    }

    #[test]
    fn binary_junk_in_requirements() {
        let d = project(&[(
            "requirements.txt",
            b"flask==3.1.0\n\x00\x01\x02\xff\xfe binary\n\x7fELF\x02\x01\x01\nnot a requirement !!\ngunicorn\n",
        )]);
        let r = common::scan(d.path()).unwrap();
        assert_eq!(dep_names(&r), vec!["flask", "gunicorn"]);
        assert!(warned(&r, "requirements.txt:2: bytes that are not UTF-8"), "{:?}", r.warnings);
        assert!(warned(&r, "requirements.txt:4: not a requirement"), "{:?}", r.warnings);
    }

    #[test]
    fn include_cycle() {
        let d = project(&[
            ("requirements.txt", b"-r a.txt\nflask\n"),
            ("a.txt", b"-r b.txt\n"),
            ("b.txt", b"-r a.txt\ngunicorn\n"),
        ]);
        let r = common::scan(d.path()).unwrap();
        assert!(
            warned(&r, "requirements include cycle: requirements.txt -> a.txt -> b.txt -> a.txt"),
            "{:?}",
            r.warnings
        );
        assert_eq!(r.dependency_files, vec!["requirements.txt", "a.txt", "b.txt"]);
        assert_eq!(dep_names(&r), vec!["gunicorn", "flask"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_dangling_links() {
        let d = project(&[
            ("requirements.txt", b"flask\n"),
            ("app.py", b"from flask import Flask\napp = Flask(__name__)\n"),
        ]);
        std::os::unix::fs::symlink("loop.py", d.path().join("loop.py")).unwrap();
        std::os::unix::fs::symlink(".", d.path().join("again")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/pyproject.toml", d.path().join("pyproject.toml")).unwrap();
        let r = common::scan(d.path()).unwrap();
        assert!(warned(&r, "loop.py: a symlink loop"), "{:?}", r.warnings);
        assert!(warned(&r, "pyproject.toml: cannot read it: a broken symlink"), "{:?}", r.warnings);
        assert_eq!(r.app.as_ref().unwrap().value, "app:app");
    }

    #[cfg(unix)]
    #[test]
    fn fifo_instead_of_a_file_does_not_block() {
        let d = project(&[("app.py", b"import streamlit as st\n")]);
        let fifo = d.path().join("requirements.txt");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
        if !made {
            eprintln!("mkfifo unavailable: skipped");
            return;
        }
        let r = common::scan(d.path()).unwrap();
        assert!(warned(&r, "requirements.txt: not a regular file"), "{:?}", r.warnings);
        assert_eq!(r.framework.as_ref().unwrap().value, Framework::Streamlit);
    }

    #[cfg(unix)]
    #[test]
    fn permission_denied() {
        use std::os::unix::fs::PermissionsExt;
        let d = project(&[("requirements.txt", b"flask\n"), ("pkg/app.py", b"x = 1\n")]);
        let req = d.path().join("requirements.txt");
        std::fs::set_permissions(&req, std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::set_permissions(d.path().join("pkg"), std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&req).is_ok() {
            // root reads anything; the FIFO and dangling-link tests cover unreadable files there.
            eprintln!("running as root: permission test skipped");
            std::fs::set_permissions(d.path().join("pkg"), std::fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let r = common::scan(d.path()).unwrap();
        std::fs::set_permissions(d.path().join("pkg"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(warned(&r, "requirements.txt: cannot read it"), "{:?}", r.warnings);
        assert!(warned(&r, "pkg"), "{:?}", r.warnings);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn non_utf8_file_name() {
        use std::os::unix::ffi::OsStrExt;
        let d = project(&[
            ("requirements.txt", b"fastapi\nuvicorn\n"),
            ("main.py", b"from fastapi import FastAPI\napp = FastAPI()\n"),
        ]);
        let name = std::ffi::OsStr::from_bytes(b"bad-\xff-name.py");
        std::fs::write(d.path().join(name), "x = 1\n").unwrap();
        let r = common::scan(d.path()).unwrap();
        assert!(warned(&r, "not valid UTF-8"), "{:?}", r.warnings);
        assert_eq!(r.app.as_ref().unwrap().value, "main:app");
    }

    #[test]
    fn garbage_in_every_file_never_panics() {
        let names = [
            "pyproject.toml",
            "poetry.lock",
            "uv.lock",
            "pdm.lock",
            "Pipfile",
            "Pipfile.lock",
            "requirements.txt",
            "setup.py",
            "setup.cfg",
            "Procfile",
            "Dockerfile",
            ".dockerignore",
            ".python-version",
            "runtime.txt",
            ".tool-versions",
            "manage.py",
            "app.py",
            "gunicorn.conf.py",
            "uwsgi.ini",
            "src/pkg/__init__.py",
        ];
        let mut seed: u64 = 0x5eed;
        for round in 0..6 {
            let d = tempfile::tempdir().unwrap();
            for n in names {
                let mut bytes = Vec::new();
                for _ in 0..(200 + round * 300) {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let b = (seed >> 33) as u8;
                    // mix raw bytes with the characters these formats care about, and multi-byte text
                    match b % 7 {
                        0 => bytes.extend_from_slice(b"\n"),
                        1 => bytes.extend_from_slice("é€\u{1F600}".as_bytes()),
                        2 => bytes.extend_from_slice(b"[\"=:-r ${PORT:-}#!*"),
                        _ => bytes.push(b),
                    }
                }
                let path = d.path().join(n);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            let r = common::scan(d.path()).expect("garbage is warnings, not errors");
            assert!(!r.warnings.is_empty());
        }
    }

    #[test]
    fn empty_folder() {
        let d = tempfile::tempdir().unwrap();
        let r = common::scan(d.path()).unwrap();
        assert!(r.package_manager.is_none() && r.framework.is_none() && r.entrypoint.is_none());
        assert!(r.system_libs.is_none(), "dependencies unknown");
        assert!(warned(&r, "no dependency declaration found"), "{:?}", r.warnings);
    }

    #[test]
    fn huge_files_are_not_read() {
        let d = project(&[("requirements.txt", b"flask\n")]);
        let big = vec![b'#'; 5 * 1024 * 1024];
        std::fs::write(d.path().join("Pipfile"), &big).unwrap();
        let r = common::scan(d.path()).unwrap();
        assert!(warned(&r, "Pipfile: 5 MB is larger than"), "{:?}", r.warnings);
    }

    #[test]
    fn missing_path_and_file_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        assert!(matches!(common::scan(&missing), Err(pyslim::scan::ScanError::NotFound { .. })));
        let file = d.path().join("file.txt");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(common::scan(&file), Err(pyslim::scan::ScanError::NotADirectory { .. })));
        Command::cargo_bin("pyslim")
            .unwrap()
            .args(["scan", missing.to_str().unwrap()])
            .assert()
            .failure()
            .stderr(predicate::str::contains("does not exist"));
        Command::cargo_bin("pyslim")
            .unwrap()
            .args(["scan", "--json", file.to_str().unwrap()])
            .assert()
            .failure()
            .stderr(predicate::str::contains("is not a folder"));
    }
}

#[test]
fn other_installed_servers_are_offered_beside_the_entrypoint() {
    let d = project(&[
        ("requirements.txt", b"fastapi\nuvicorn[standard]\ngunicorn\nhypercorn\n"),
        ("main.py", b"from fastapi import FastAPI\n\napi = FastAPI()\n"),
    ]);
    let r = common::scan(d.path()).unwrap();
    let entry = r.entrypoint.as_ref().unwrap();
    assert_eq!(entry.value, argv("uvicorn main:api --host 0.0.0.0 --port 8000"));
    let alts: Vec<String> = r.entrypoint_alternatives.iter().map(|f| f.value.join(" ")).collect();
    // uvicorn is the entrypoint itself, so it is not repeated; granian is not a dependency.
    assert_eq!(
        alts,
        ["gunicorn -k uvicorn.workers.UvicornWorker -b 0.0.0.0:8000 main:api", "hypercorn -b 0.0.0.0:8000 main:api"]
    );
    assert!(r.entrypoint_alternatives[0].source.ends_with("+ gunicorn dependency"), "{:?}", r.entrypoint_alternatives);
    // The summary lists them under the entrypoint; JSON carries them as facts.
    let out = Command::cargo_bin("pyslim").unwrap().arg("scan").arg(d.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\n    or            hypercorn -b 0.0.0.0:8000 main:api\n"), "{text}");
    let out = Command::cargo_bin("pyslim").unwrap().args(["scan", "--json"]).arg(d.path()).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entrypoint_alternatives"][1]["value"][0], "hypercorn");

    // Without other servers there is nothing to offer, and the JSON has no such key.
    let d =
        project(&[("requirements.txt", b"flask\n"), ("app.py", b"from flask import Flask\napp = Flask(__name__)\n")]);
    let r = common::scan(d.path()).unwrap();
    assert!(r.entrypoint_alternatives.is_empty(), "{:?}", r.entrypoint_alternatives);
}
