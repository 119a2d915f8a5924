//! Start commands through the real binary (`pyslim scan --json`, `pyslim dockerfile`) on fixture
//! projects of each class seen in the wild: a Procfile chaining commands with `;`, a boot script
//! with a wait loop and a retry loop, `fastapi dev` in a Dockerfile, Django with gunicorn and
//! STATIC_ROOT, FastAPI with no server, frameworks that start themselves (aiohttp, Quart,
//! Tornado, NiceGUI, a bare script), a vendored framework, and environment read at import.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn scan_json(name: &str) -> Value {
    let out = Command::cargo_bin("pyslim").unwrap().arg("scan").arg("--json").arg(fixture(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dockerfile(name: &str) -> String {
    let out = Command::cargo_bin("pyslim").unwrap().arg("dockerfile").arg(fixture(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn value<'a>(j: &'a Value, key: &str) -> &'a Value {
    let fact = j.get(key).unwrap_or_else(|| panic!("no key {key} in {j}"));
    assert!(fact.is_null() || fact["source"].is_string(), "{key}: {fact}");
    &fact["value"]
}

/// The values of a list of facts (`pre_start`, `build_steps`, ...); an absent key is empty.
fn values(j: &Value, key: &str) -> Vec<String> {
    j.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|f| f["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn sources(j: &Value, key: &str) -> Vec<String> {
    j.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|f| f["source"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn warnings(j: &Value) -> Vec<String> {
    j["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

fn entrypoint(j: &Value) -> String {
    value(j, "entrypoint").as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect::<Vec<_>>().join(" ")
}

#[test]
fn procfile_chain_splits_into_pre_start_and_a_gunicorn_with_its_own_flags() {
    let j = scan_json("procfile-chain");
    assert_eq!(value(&j, "framework"), "flask");
    assert_eq!(value(&j, "app_server"), "gunicorn");
    // the issue: `flask db 'upgrade;' ... gunicorn app:app --host 0.0.0.0 --port 5000`
    assert_eq!(entrypoint(&j), "gunicorn -b 0.0.0.0:8000 app:app");
    assert_eq!(values(&j, "pre_start"), ["flask db upgrade", "flask translate compile"]);
    assert_eq!(sources(&j, "pre_start"), ["Procfile:2 web:", "Procfile:2 web:"]);
    assert_eq!(values(&j, "build_step_candidates"), ["flask db upgrade"]);
    assert_eq!(sources(&j, "build_step_candidates"), ["Procfile:1 release:"]);
    let df = dockerfile("procfile-chain");
    let entry = df.lines().find(|l| l.starts_with("ENTRYPOINT")).unwrap();
    // each pre-start step is one argument of the launcher, the server its own argv after `--`
    assert!(
        entry.ends_with(r#""flask db upgrade", "flask translate compile", "--", "/opt/venv/bin/python", "-m", "gunicorn", "-b", "0.0.0.0:8000", "app:app"]"#),
        "{entry}"
    );
    assert!(!entry.contains("--host") && !entry.contains("upgrade;"), "{entry}");
}

#[test]
fn boot_script_named_by_the_dockerfile_drops_the_wait_loop_and_keeps_the_retried_command() {
    let j = scan_json("boot-script");
    assert_eq!(value(&j, "framework"), "flask");
    assert_eq!(entrypoint(&j), "gunicorn -b 0.0.0.0:5000 --access-logfile - --error-logfile - svc:app");
    assert_eq!(j["entrypoint"]["source"], "boot.sh:18");
    assert_eq!(value(&j, "port"), 5000);
    assert_eq!(values(&j, "pre_start"), ["flask deploy"]);
    assert!(sources(&j, "pre_start")[0].contains("retry loop"), "{:?}", sources(&j, "pre_start"));
    assert!(warnings(&j).iter().any(|w| w.contains("boot.sh") && w.contains("nc -z db 5432")), "{:?}", warnings(&j));
    // the project's own RUN line that runs project code is offered; the pip install is not
    assert_eq!(values(&j, "build_step_candidates"), ["flask --app svc translate compile"]);
    assert_eq!(sources(&j, "build_step_candidates"), ["Dockerfile:7 (RUN)"]);
    // `flask deploy` finds the app through the Dockerfile's FLASK_APP: the image needs it too
    assert_eq!(values(&j, "runtime_env"), ["FLASK_APP=svc.py"]);
}

#[test]
fn fastapi_dev_becomes_fastapi_run_without_reload() {
    let j = scan_json("fastapi-dev");
    assert_eq!(value(&j, "framework"), "fastapi");
    assert_eq!(entrypoint(&j), "fastapi run main.py --port 8080 --host 0.0.0.0");
    assert_eq!(value(&j, "port"), 8080);
    assert!(
        warnings(&j).iter().any(|w| w.contains("`fastapi dev` -> `fastapi run`") && w.contains("`--reload` dropped")),
        "{:?}",
        warnings(&j)
    );
    // fastapi[standard] brings the CLI: nothing extra to install
    assert!(values(&j, "extra_requirements").is_empty());
    let df = dockerfile("fastapi-dev");
    assert!(df.contains(r#""-m", "fastapi", "run", "main.py""#), "{df}");
}

#[test]
fn django_uses_its_gunicorn_and_collects_static_files_at_build_time() {
    let j = scan_json("django-gunicorn");
    assert_eq!(value(&j, "framework"), "django");
    assert_eq!(value(&j, "app_server"), "gunicorn");
    // the Dockerfile's runserver loses to the gunicorn the project depends on
    assert_eq!(entrypoint(&j), "gunicorn -b 0.0.0.0:8000 mysite.wsgi:application");
    assert!(warnings(&j).iter().any(|w| w.contains("runserver") && w.contains("development server")));
    assert_eq!(values(&j, "build_steps"), ["python manage.py collectstatic --noinput"]);
    let why = &sources(&j, "build_steps")[0];
    assert!(why.contains("mysite/settings.py:12 (STATIC_ROOT)") && why.contains("Manifest"), "{why}");
    assert_eq!(
        values(&j, "build_env"),
        ["DJANGO_SETTINGS_MODULE=mysite.settings", "DJANGO_SECRET_KEY=pyslim-build-placeholder"]
    );
    assert!(warnings(&j).iter().any(|w| w.contains("placeholder DJANGO_SECRET_KEY")), "{:?}", warnings(&j));
    assert_eq!(values(&j, "pre_start"), ["python manage.py migrate --noinput"]);
    // read at import with no default; the one behind `if "SENTRY_DSN" in os.environ` is not
    assert_eq!(values(&j, "required_env"), ["DJANGO_SECRET_KEY"]);
}

#[test]
fn django_without_a_server_falls_back_to_runserver_and_says_gunicorn_can_be_added() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("django-gunicorn");
    for f in ["manage.py", "mysite/__init__.py", "mysite/settings.py", "mysite/urls.py", "mysite/wsgi.py"] {
        std::fs::create_dir_all(d.path().join(f).parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), d.path().join(f)).unwrap();
    }
    std::fs::write(d.path().join("requirements.txt"), "Django==5.1.2\n").unwrap();
    let out = Command::cargo_bin("pyslim").unwrap().args(["scan", "--json"]).arg(d.path()).output().unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entrypoint(&j), "python manage.py runserver 0.0.0.0:8000");
    assert!(
        warnings(&j).iter().any(|w| w.contains("runserver") && w.contains("gunicorn can be added")),
        "{:?}",
        warnings(&j)
    );
}

#[test]
fn fastapi_without_a_server_gets_uvicorn_as_an_extra_requirement() {
    let j = scan_json("fastapi-noserver");
    assert_eq!(entrypoint(&j), "uvicorn main:app --host 0.0.0.0 --port 8000");
    assert_eq!(values(&j, "extra_requirements"), ["uvicorn"]);
    assert!(
        sources(&j, "extra_requirements")[0].contains("does not depend on"),
        "{:?}",
        sources(&j, "extra_requirements")
    );
}

#[test]
fn frameworks_that_start_themselves() {
    let j = scan_json("aiohttp-app");
    assert_eq!(value(&j, "framework"), "aiohttp");
    // the script imports its own package: run as a module from the root
    assert_eq!(entrypoint(&j), "python -m chat.main");
    assert_eq!(value(&j, "port"), 8081);
    assert_eq!(j["port"]["source"], "chat/main.py:13 (web.run_app(port=8081))");

    let j = scan_json("quart-app");
    assert_eq!(value(&j, "framework"), "quart");
    assert_eq!(value(&j, "app_server"), "hypercorn");
    assert_eq!(entrypoint(&j), "hypercorn -b 0.0.0.0:8000 blog:app");
    // Quart depends on hypercorn: nothing extra
    assert!(values(&j, "extra_requirements").is_empty());

    let j = scan_json("tornado-app");
    assert_eq!(value(&j, "framework"), "tornado");
    assert_eq!(entrypoint(&j), "python server.py");
    assert_eq!(value(&j, "port"), 8888);
    assert!(warnings(&j).is_empty(), "{:?}", warnings(&j));

    let j = scan_json("nicegui-app");
    assert_eq!(value(&j, "framework"), "nicegui");
    assert_eq!(entrypoint(&j), "python main.py");
    assert_eq!(value(&j, "port"), 8090);

    let j = scan_json("script-server");
    assert!(j["framework"].is_null());
    assert_eq!(entrypoint(&j), "python serve.py");
    assert_eq!(value(&j, "port"), 8765);
    assert!(j["entrypoint"]["source"].as_str().unwrap().contains("a guess"), "{}", j["entrypoint"]);
}

#[test]
fn vendored_framework_never_decides() {
    let j = scan_json("vendored-framework");
    assert!(j["framework"].is_null(), "{}", j["framework"]);
    assert_ne!(j["app_server"]["value"], json!("python"), "{}", j["app_server"]);
    let s = j.to_string();
    assert!(!s.contains("runserver") && !s.contains("django"), "{s}");
}

#[test]
fn environment_read_at_import_is_required() {
    let j = scan_json("env-at-import");
    assert_eq!(values(&j, "required_env"), ["SERVER_NAME", "REDIS_URL"]);
    let src = sources(&j, "required_env");
    assert!(src[0].starts_with("config.py:12 (os.environ[\"SERVER_NAME\"]"), "{src:?}");
    assert!(src[1].contains("Redis.from_url"), "{src:?}");
}

/// A throwaway project with the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, body) in files {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    d
}

fn scan_dir(dir: &Path) -> Value {
    let out = Command::cargo_bin("pyslim").unwrap().args(["scan", "--json"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_database_setup_script_runs_before_the_server() {
    let j = scan_json("quart-app");
    assert_eq!(values(&j, "pre_start"), ["init-db"]);
    assert!(sources(&j, "pre_start")[0].contains("a guess"), "{:?}", sources(&j, "pre_start"));
}

#[test]
fn the_projects_own_command_in_an_entrypoint_script_with_arrays() {
    let d = project(&[
        (
            "pyproject.toml",
            "[project]\nname = \"pkgsrv\"\nversion = \"1\"\ndependencies = [\"packaging\"]\n\n[project.scripts]\npkg-server = \"pkgsrv.cli:main\"\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
        ),
        ("pkgsrv/__init__.py", ""),
        ("pkgsrv/cli.py", "def main():\n    pass\n"),
        (
            "Dockerfile",
            "FROM python:3.13-alpine\nCOPY docker/entrypoint.sh /entrypoint.sh\nENV APP_PORT=8080\nENTRYPOINT [\"/entrypoint.sh\"]\n",
        ),
        (
            "docker/entrypoint.sh",
            "#!/usr/bin/env bash\nset -euo pipefail\nUSER_ID=$(id -u app)\nif [[ \"$*\" == \"\" ]]; then\n    CMD=(\"run\" \"-p\" \"${APP_PORT:-$PORT}\" \"--server\" \"gunicorn\")\nelse\n    CMD=( \"${@}\" )\nfi\nif [[ \"$EUID\" -ne 0 ]]; then\n    exec pkg-server \"${CMD[@]}\"\nelse\n    exec gosu app pkg-server \"${CMD[@]}\"\nfi\n",
        ),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(entrypoint(&j), "pkg-server run -p 8080 --server gunicorn");
    assert_eq!(j["entrypoint"]["source"], "docker/entrypoint.sh:12");
    assert_eq!(value(&j, "port"), 8080);
    assert_eq!(values(&j, "extra_requirements"), ["gunicorn"]);
    assert!(warnings(&j).is_empty(), "{:?}", warnings(&j));
}

#[test]
fn dockerfile_env_the_code_reads_is_kept_for_the_image() {
    let d = project(&[
        ("requirements.txt", "flask==3.0.3\n"),
        (
            "app.py",
            "import os\n\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\ndef setting(name, default):\n    return os.getenv(\"DOCS_\" + name.upper()) or default\n\n\nif __name__ == \"__main__\":\n    app.run(host=setting(\"host\", \"127.0.0.1\"), port=int(setting(\"port\", 5000)))\n",
        ),
        (
            "Dockerfile",
            "FROM python:3.12-slim\nCOPY . .\nENV DOCS_HOST \"0.0.0.0\"\nENV UNUSED=1\nCMD [\"python\", \"app.py\"]\n",
        ),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(entrypoint(&j), "python app.py");
    assert_eq!(values(&j, "runtime_env"), ["DOCS_HOST=0.0.0.0"]);
    assert!(sources(&j, "runtime_env")[0].contains("app.py:9"), "{:?}", sources(&j, "runtime_env"));
}

#[test]
fn text_summary_lists_the_start_command_facts() {
    let out = Command::cargo_bin("pyslim").unwrap().arg("scan").arg(fixture("django-gunicorn")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  pre-start       python manage.py migrate --noinput"), "{text}");
    assert!(text.contains("  build step      python manage.py collectstatic --noinput"), "{text}");
    assert!(text.contains("  build env       DJANGO_SECRET_KEY=pyslim-build-placeholder"), "{text}");
    assert!(text.contains("  required env    DJANGO_SECRET_KEY"), "{text}");
}

#[test]
fn a_uwsgi_ini_that_binds_the_port_variable_keeps_it_and_the_image_sets_port() {
    let d = project(&[
        ("requirements.txt", "flask==3.0.3\nuwsgi==2.0.28\n"),
        ("app.py", "from flask import Flask\n\napp = Flask(__name__)\n"),
        ("etc/uwsgi.ini", "[uwsgi]\nhttp-socket=:$(PORT)\nmaster=true\nwsgi-file=app.py\ncallable=app\n"),
        ("Procfile", "web: uwsgi ./etc/uwsgi.ini\n"),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(value(&j, "app_server"), "uwsgi");
    // no second socket, no other server's flags
    assert_eq!(entrypoint(&j), "uwsgi ./etc/uwsgi.ini");
    assert_eq!(values(&j, "runtime_env"), ["PORT=8000"]);
    assert!(sources(&j, "runtime_env")[0].starts_with("etc/uwsgi.ini:2"), "{:?}", sources(&j, "runtime_env"));
}

#[test]
fn sanic_falcon_and_bottle_apps_get_their_servers() {
    let d = project(&[
        ("requirements.txt", "sanic==24.6.0\n"),
        (
            "server.py",
            "from sanic import Sanic\nfrom sanic.response import text\n\napp = Sanic(\"svc\")\n\n\n@app.get(\"/\")\nasync def index(request):\n    return text(\"ok\")\n",
        ),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(value(&j, "framework"), "sanic");
    assert_eq!(entrypoint(&j), "sanic server:app --host 0.0.0.0 --port 8000");

    let d = project(&[
        ("requirements.txt", "falcon==3.1.3\ngunicorn==22.0.0\n"),
        ("api.py", "import falcon\n\napp = falcon.App()\n"),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(value(&j, "framework"), "falcon");
    assert_eq!(entrypoint(&j), "gunicorn -b 0.0.0.0:8000 api:app");
    assert!(values(&j, "extra_requirements").is_empty());

    let d = project(&[
        ("requirements.txt", "bottle==0.13.2\n"),
        ("app.py", "import bottle\n\napp = bottle.Bottle()\n\n\n@app.get(\"/\")\ndef index():\n    return \"ok\"\n"),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(value(&j, "framework"), "bottle");
    assert_eq!(entrypoint(&j), "gunicorn -b 0.0.0.0:8000 app:app");
    assert_eq!(values(&j, "extra_requirements"), ["gunicorn"]);
}

#[test]
fn a_procfile_that_runs_a_start_script() {
    let d = project(&[
        ("requirements.txt", "flask==3.0.3\ngunicorn==22.0.0\n"),
        ("app.py", "from flask import Flask\n\napp = Flask(__name__)\n"),
        ("Procfile", "web: sh bin/start.sh\n"),
        (
            "bin/start.sh",
            "#!/bin/sh\nset -e\nexport APP_ENV=production\nflask db upgrade && flask seed --if-empty\nexec gunicorn --workers ${WEB_CONCURRENCY:-2} --bind 0.0.0.0:${PORT:-5000} app:app\n",
        ),
    ]);
    let j = scan_dir(d.path());
    assert_eq!(entrypoint(&j), "gunicorn --workers 2 --bind 0.0.0.0:5000 app:app");
    assert_eq!(j["entrypoint"]["source"], "bin/start.sh:5");
    assert_eq!(value(&j, "port"), 5000);
    assert_eq!(values(&j, "pre_start"), ["flask db upgrade", "flask seed --if-empty"]);
    assert_eq!(sources(&j, "pre_start"), ["bin/start.sh:4", "bin/start.sh:4"]);
}
