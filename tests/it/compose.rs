//! The project's compose file (issue 17): `pyslim scan` finds it (the project folder, the
//! repository root above, `docker/`), merges its override, interpolates `${VAR}` from `.env`,
//! picks the app's service and reads its environment and the services it depends on; the plan
//! turns them into verify's sidecars and environment unless the user set their own; and a
//! verify run starts them with no flags.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pyslim::plan::{BuildPlan, Config, Overrides, ServiceSpec, VerifyConfig};
use pyslim::scan::ScanReport;
use pyslim::scan::compose::ComposeFacts;

use crate::common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn scan_fixture(name: &str) -> ScanReport {
    common::scan(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn compose(r: &ScanReport) -> &ComposeFacts {
    r.compose.as_ref().unwrap_or_else(|| panic!("no compose facts: {:?}", r.warnings))
}

fn env<'a>(c: &'a ComposeFacts, name: &str) -> Option<(&'a str, &'a str)> {
    c.env.iter().find(|e| e.value.0 == name).map(|e| (e.value.1.as_str(), e.source.as_str()))
}

#[test]
fn a_compose_file_at_the_root_gives_the_apps_env_and_its_database() {
    let r = scan_fixture("compose-root");
    let c = compose(&r);
    assert_eq!((c.file.as_str(), c.app_service.as_str()), ("compose.yaml", "web"));
    // `${SHOP_DB_USER:-app}` takes its default, `${SHOP_DB_PASSWORD:?...}` the .env value
    let (url, source) = env(c, "DATABASE_URL").unwrap();
    assert_eq!(url, "postgresql://app:s3cret@db/shop");
    assert_eq!(source, "compose.yaml: services.web.environment");
    // `environment` wins over `env_file`; the env file's own variables count; `$$` is a `$`
    assert_eq!(env(c, "FLASK_DEBUG").unwrap().0, "0");
    assert_eq!(env(c, "MAIL_FROM").unwrap(), ("shop@example.com", "compose.yaml: services.web.env_file web.env"));
    assert_eq!(env(c, "PRICE").unwrap().0, "$5");
    assert_eq!(c.port.as_ref().map(|p| p.value), Some(5000));
    assert_eq!(c.command.as_ref().unwrap().value, ["flask", "run", "--host", "0.0.0.0"]);
    assert_eq!(c.secrets[0].value, "stripe_key");
    assert_eq!(c.secrets[0].source, "secrets/stripe.txt");
    // only what the app depends on: the db, not adminer (which depends on the db itself)
    assert_eq!(c.services.len(), 1, "{:?}", c.services);
    let db = &c.services[0];
    assert_eq!((db.name.as_str(), db.image.as_str()), ("db", "postgres:16"));
    assert_eq!(db.env["POSTGRES_USER"], "app");
    assert_eq!(db.env["POSTGRES_PASSWORD"], "s3cret");
    assert_eq!(db.healthcheck.as_deref(), Some(&["CMD-SHELL".to_string(), "pg_isready -U app -d shop".into()][..]));
    assert_eq!(db.source, "compose.yaml: services.db");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // the text names the variables, never their values
    let json = r.to_json();
    assert_eq!(json["compose"]["app_service"], "web");
    assert_eq!(json["compose"]["services"][0]["image"], "postgres:16");
    // the JSON too: names and sources, no value (s3cret, shop@example.com) anywhere
    assert!(
        json["compose"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "MAIL_FROM" && e["source"] == "compose.yaml: services.web.env_file web.env")
    );
    assert_eq!(
        json["compose"]["services"][0]["env"],
        serde_json::json!(["POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"])
    );
    let text = json.to_string();
    assert!(!text.contains("s3cret") && !text.contains("shop@example.com"), "{text}");
}

#[test]
fn the_scan_text_shows_names_and_sources_never_values() {
    let out = Command::new(env!("CARGO_BIN_EXE_pyslim"))
        .args(["scan"])
        .arg(fixture("compose-root"))
        .env("PYSLIM_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("compose         compose.yaml"), "{text}");
    assert!(text.contains("app service   web"), "{text}");
    assert!(text.contains("db (postgres:16)"), "{text}");
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert!(!text.contains("s3cret"), "a value was printed:\n{text}");
}

#[test]
fn a_service_in_a_subfolder_finds_the_compose_file_at_the_repository_root() {
    for r in [scan_fixture("compose-monorepo"), scan_fixture("compose-monorepo/api")] {
        assert!(r.root.ends_with("compose-monorepo/api"), "{}", r.root.display());
        let c = compose(&r);
        assert_eq!((c.file.as_str(), c.app_service.as_str()), ("../compose.yaml", "api"));
        assert_eq!(env(c, "CACHE_TTL").unwrap().0, "60");
        assert_eq!(c.port.as_ref().map(|p| p.value), Some(8000));
        let cache = &c.services[0];
        assert_eq!((cache.name.as_str(), cache.image.as_str()), ("cache", "redis:7"));
        assert_eq!(cache.aliases, ["redis-host"], "the link's alias");
        assert_eq!(cache.source, "../compose.yaml: services.cache");
        assert_eq!(c.services.len(), 1, "the docs service is not a dependency: {:?}", c.services);
    }
}

#[test]
fn an_override_file_is_merged_into_the_base() {
    let r = scan_fixture("compose-override");
    let c = compose(&r);
    assert_eq!(c.overrides, ["docker-compose.override.yml"]);
    assert_eq!(env(c, "DATABASE_URL").unwrap().0, "postgresql://postgres:dev@db/app");
    assert_eq!(env(c, "LOG_LEVEL").unwrap().0, "info", "kept from the base file");
    assert_eq!(c.port.as_ref().map(|p| p.value), Some(8000), "ports are appended: the base's first");
    let db = &c.services[0];
    assert_eq!((db.image.as_str(), db.env["POSTGRES_PASSWORD"].as_str()), ("postgres:16", "dev"));
}

#[test]
fn a_compose_file_under_docker_builds_the_project_from_dot_dot() {
    let r = scan_fixture("compose-docker-dir");
    let c = compose(&r);
    assert_eq!((c.file.as_str(), c.app_service.as_str()), ("docker/compose.yml", "api"));
    assert_eq!(c.services[0].image, "mongo:7");
    assert_eq!(env(c, "MONGO_URL").unwrap().1, "docker/compose.yml: services.api.environment");
}

#[test]
fn a_compose_file_without_the_apps_service_is_a_warning() {
    let r = scan_fixture("compose-no-app");
    assert!(r.compose.is_none());
    assert!(r.warnings.iter().any(|w| w.contains("compose.yaml: no service builds this project")), "{:?}", r.warnings);
    // a fixture without a compose file has no compose facts and no such warning
    let plain = scan_fixture("pip-flask");
    assert!(plain.compose.is_none() && !plain.warnings.iter().any(|w| w.contains("compose")));
}

#[test]
fn the_plan_starts_the_compose_services_unless_the_user_names_their_own() {
    let r = scan_fixture("compose-root");
    let plan = BuildPlan::resolve(&r, None, &Overrides::default()).unwrap();
    assert_eq!(plan.services.len(), 1);
    assert_eq!(plan.services[0].name, "db");
    assert_eq!(plan.services[0].env["POSTGRES_PASSWORD"], "s3cret", "compose's env, not the kind's defaults");
    assert_eq!(plan.verify_env["DATABASE_URL"], "postgresql://app:s3cret@db/shop");
    // the app reads DATABASE_URL at start: compose sets it, so no warning asks for it
    assert!(plan.verify_env_checks(&r).is_empty(), "{:?}", plan.verify_env_checks(&r));
    // nothing compose-derived is saved into pyslim.toml
    let saved = plan.to_config();
    assert!(saved.verify.is_empty(), "{:?}", saved.verify);

    // the user's values win: [verify] env over compose's, --service over compose's services
    let config = Config {
        verify: VerifyConfig { env: [("FLASK_DEBUG".to_string(), "1".to_string())].into(), ..Default::default() },
        ..Default::default()
    };
    let flags = Overrides {
        verify: VerifyConfig {
            services: vec![ServiceSpec::from_flag("db=postgres:17").unwrap()],
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = BuildPlan::resolve(&r, Some(&config), &flags).unwrap();
    assert_eq!(plan.verify_env["FLASK_DEBUG"], "1");
    assert_eq!(plan.verify_env["MAIL_FROM"], "shop@example.com");
    assert_eq!(plan.services.len(), 1);
    assert_eq!(plan.services[0].image, "postgres:17");
    assert_eq!(plan.services[0].env["POSTGRES_PASSWORD"], "app", "the kind's defaults for a flag's service");
    // compose's DATABASE_URL names compose's db: the flag's service offers its own address
    assert!(!plan.verify_env.contains_key("DATABASE_URL"));
    assert!(plan.service_app_env()["DATABASE_URL"].contains("@db:5432"));

    // --no-compose (or [verify] compose = false): nothing from the compose file
    let off = Overrides { verify: VerifyConfig { compose: Some(false), ..Default::default() }, ..Default::default() };
    let plan = BuildPlan::resolve(&r, None, &off).unwrap();
    assert!(plan.services.is_empty() && plan.verify_env.is_empty());
    assert!(!plan.verify_env_checks(&r).is_empty(), "DATABASE_URL is unset again");
    let file: Config = toml::from_str("[verify]\ncompose = false\n").unwrap();
    let plan = BuildPlan::resolve(&r, Some(&file), &Overrides::default()).unwrap();
    assert!(plan.services.is_empty() && plan.verify_env.is_empty());
    assert_eq!(plan.to_config().verify.compose, Some(false), "the file's own setting is kept");
}

/// `pyslim build --verify` with the stand-ins' mirror and no other flags; the JSON report.
fn build_no_flags(p: &Path, tag: &str) -> serde_json::Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyslim"));
    c.env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror").env("NO_COLOR", "1");
    for var in ["DOCKER_CONTEXT", "PYSLIM_BUILDER", "PYSLIM_VERIFY_FROM"] {
        c.env_remove(var);
    }
    c.args(["build", "--variant", "multistage-slim", "--verify", "--json", "--tag", tag, "--pull", "never"]).arg(p);
    let out = c.stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {err}"));
    assert_eq!(v["verified"], true, "{err}");
    let _ = Command::new("docker").args(["rmi", tag]).output();
    v
}

/// The sidecar-postgres app: its compose `db` is built from `./db` (an init script adds the
/// app's database) and ready by its compose healthcheck.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn a_compose_database_built_from_its_folder_verifies_with_no_flags() {
    if !common::docker_images_ready(&["pyslim-mirror/python:3.13-slim", "pyslim-mirror/postgres:16"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = common::fixture_copy(tmp.path(), "sidecar-postgres");
    let v = build_no_flags(&p, "pyslim-test/compose-pg:ms");
    assert_eq!(v["services"][0]["ready_by"], "its healthcheck, then a Postgres startup answered", "{v}");
}

/// The sidecar-redis app with a compose file instead of flags: it stops at start without Redis.
#[test]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
fn an_app_that_needs_its_compose_redis_verifies_with_no_flags() {
    if !common::docker_images_ready(&["pyslim-mirror/python:3.13-slim", "pyslim-mirror/redis:7"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = common::fixture_copy(tmp.path(), "compose-redis");
    let v = build_no_flags(&p, "pyslim-test/compose-redis:ms");
    assert_eq!(v["services"][0]["ready_by"], "PING answered PONG", "{v}");
}
