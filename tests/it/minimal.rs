//! The `minimal` variant against the real Docker daemon and the stand-in images: traced,
//! assembled `FROM scratch`, verified over HTTP, and rebuilt from the trace file by a plain
//! `docker build` with no pyslim in the loop; lazy imports kept by package and by `keep`.
//!
//! Like tests/engine.rs: without a daemon or the stand-ins these tests fail under `CI` and are
//! skipped (with the reason) elsewhere. Images are tagged `pyslim-test/minimal-*` and removed,
//! containers labelled and removed. Each project is traced and built once and every assertion
//! about it shares that build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pyslim::engine::run::{self, VariantJob, VariantOutcome};
use pyslim::engine::trace::PathRun;
use pyslim::engine::{CancellationToken, Engine, EngineError, VerifyRequest};
use pyslim::plan::{BuildPlan, Config, Flavour, Minimal, Variant};
use pyslim::render;
use pyslim::report::MinimalReport;
use pyslim::scan;

use crate::common;

const TEST_LABEL: &str = "org.pyslim.test";
const IMAGES: [&str; 5] = [
    "pyslim-mirror/python:3.13-slim",
    "pyslim-mirror/python:3.11-slim",
    "pyslim-mirror/python:3.13",
    "pyslim-mirror/python:3.11",
    "pyslim-mirror/distroless/python3-debian13:nonroot",
];

fn label_value(test: &str) -> String {
    format!("minimal-{test}-{}", std::process::id())
}

fn labels(test: &str) -> HashMap<String, String> {
    HashMap::from([(TEST_LABEL.to_string(), label_value(test))])
}

/// Removes the test's images and stray containers on drop, also after a failed assertion.
struct Cleanup(&'static str, Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for t in &self.1 {
            let _ = std::process::Command::new("docker").args(["rmi", "-f", t]).output();
        }
        let out = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label={TEST_LABEL}={}", label_value(self.0))])
            .output();
        if let Ok(o) = out {
            for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = std::process::Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
    }
}

fn project(tmp: &Path, from: &str, name: &str) -> PathBuf {
    let src = match from {
        "demo" => Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        f => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(f),
    };
    let root = tmp.join(name);
    common::copy_dir(&src, &root);
    root
}

fn plan_for(root: &Path, overrides: Config) -> (scan::ScanReport, BuildPlan) {
    let report = common::scan(root).expect("scan");
    let o = Config { image_mirror: Some("pyslim-mirror".into()), ..overrides };
    let plan = BuildPlan::resolve(&report, None, &o).expect("plan");
    (report, plan)
}

fn sink() -> pyslim::engine::EventSender {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tx
}

/// Traces (when there is no trace file yet), builds and verifies the minimal variant.
async fn minimal(
    engine: &Engine,
    root: &Path,
    overrides: Config,
    tag: &str,
    test: &str,
) -> (VariantJob, VariantOutcome) {
    let (report, plan) = plan_for(root, overrides);
    let rendered = run::prepare(&plan, &report, Variant::Minimal, engine.builder)
        .unwrap_or_else(|e| panic!("{}: minimal cannot be built: {e}", root.display()));
    let mut job = VariantJob::new(&plan, &report, rendered, Some(tag.to_string()));
    job.labels = labels(test);
    job.verify = Some(Duration::from_secs(90));
    let outcome = match engine.run_variant(&job, &sink(), &CancellationToken::new()).await {
        Ok(o) => o,
        Err(EngineError::BuildFailed { step, message, log_tail, .. }) => {
            panic!("{tag} failed at {step:?}: {message}\n{}", log_tail.join("\n"))
        }
        Err(e) => panic!("{tag}: {e}"),
    };
    let v = outcome.verify.as_ref().expect("verify ran");
    assert!(
        v.ok,
        "{tag} did not start: {}\n{}\n--- Dockerfile\n{}",
        v.detail,
        v.log_tail.join("\n"),
        outcome.dockerfile
    );
    (job, outcome)
}

fn report(o: &VariantOutcome) -> &MinimalReport {
    o.minimal.as_ref().expect("a minimal build reports what it kept")
}

/// Status of each path on a running `image`.
async fn statuses(engine: &Engine, image: &str, paths: &[&str], test: &str) -> HashMap<String, Option<u16>> {
    let run = PathRun {
        image: image.to_string(),
        port: 8000,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        timeout: Duration::from_secs(60),
        labels: labels(test),
        env: Vec::new(),
        network: None,
    };
    let seen = engine.request_paths(&run, &sink(), &CancellationToken::new()).await.unwrap();
    assert!(seen.started, "{image} did not answer: {}", seen.log_tail.join("\n"));
    seen.answers.into_iter().collect()
}

/// The demo: traced on `/` and `/health`, assembled from the trace, verified on both paths;
/// smaller than the distroless base image alone, with no shell, apt or pip in it.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn demo_minimal_is_traced_and_verified() {
    let Some(engine) = common::engine_with(&IMAGES).await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = project(tmp.path(), "demo", "demo-service");
    let cleanup = Cleanup("demo", vec!["pyslim-test/minimal-demo:pyslim".into()]);
    let minimal_cfg = Minimal { trace_paths: vec!["/health".into()], ..Default::default() };
    let overrides = Config { minimal: Some(minimal_cfg.clone()), ..Default::default() };
    let (job, outcome) = minimal(&engine, &root, overrides.clone(), &cleanup.1[0], "demo").await;

    // The trace was written into the project and names what the demo uses.
    let trace = std::fs::read_to_string(root.join(".pyslim/trace.txt")).expect("the trace file is written");
    for want in ["module fastapi", "module uvicorn", "module pydantic", "module encodings", "module asyncio"] {
        assert!(trace.lines().any(|l| l == want), "{want} missing from the trace:\n{trace}");
    }
    assert!(trace.contains("answered GET /, /health"), "{trace}");
    let r = report(&outcome);
    assert!(r.traced && r.trace_written, "{r:?}");
    assert_eq!(r.trace_file.as_deref(), Some(".pyslim/trace.txt"));
    assert!(r.stdlib.dropped.files > 100 && r.stdlib.dropped.bytes > 1_000_000, "stdlib dropped: {:?}", r.stdlib);
    assert!(r.stdlib.kept.files > 50, "{:?}", r.stdlib);
    for d in ["fastapi", "uvicorn", "pydantic", "pydantic_core", "starlette"] {
        assert!(r.distributions_kept.iter().any(|k| k == d), "{d} not kept: {:?}", r.distributions_kept);
    }
    assert!(
        r.stdlib_dropped.iter().any(|m| m == "tkinter" || m == "unittest" || m == "pydoc"),
        "{:?}",
        r.stdlib_dropped
    );
    let health = r.paths.iter().find(|p| p.path == "/health").expect("/health checked on minimal");
    assert_eq!((health.traced, health.minimal), (Some(200), Some(200)), "{health:?}");
    let result = outcome.to_result();
    let json = serde_json::to_value(&result).unwrap();
    assert!(json["minimal"]["stdlib"]["dropped"]["bytes"].as_u64().unwrap() > 0, "{json}");
    let layer_sum: u64 = result.layers.iter().map(|l| l.size_bytes).sum();
    assert_eq!(layer_sum, result.size_bytes, "layers add up to the image size");

    // Smaller than the distroless runtime without any app in it.
    let distroless = engine.docker().inspect_image(IMAGES[4]).await.unwrap().size.unwrap_or(0) as u64;
    assert!(result.size_bytes < distroless, "minimal {} B vs distroless base {distroless} B", result.size_bytes);
    // No shell, no package manager, no pip: only what was assembled.
    for absent in ["/bin/sh", "/usr/bin/apt-get", "/opt/venv/bin/pip"] {
        let f = engine.read_image_file(&job.tag, absent).await.unwrap();
        assert!(f.is_none(), "{absent} is in the minimal image");
    }
    let passwd = engine.read_image_file(&job.tag, "/etc/passwd").await.unwrap().unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("nonroot:x:65532:65532:")), "{passwd}");

    assert!(!engine.image_exists(&format!("{}-trace", job.tag)).await.unwrap(), "the traced full image is removed");
}

/// A route that imports lazily and that the trace never requested: `email.mime.text` is kept
/// because `email` was imported, `csv` is not kept (its route fails on minimal) until
/// `[minimal] keep = ["csv"]` keeps it (and what it imports). Then the committed trace file and
/// the rendered Dockerfile build the same image with the docker CLI alone (classic builder, so
/// the assembly runs again, nothing shared with pyslim's BuildKit cache).
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn lazy_imports_kept_by_package_and_by_keep_and_plain_docker_builds_it() {
    let Some(engine) = common::engine_with(&IMAGES[..1]).await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = project(tmp.path(), "minimal-lazy", "lazy");
    let cleanup = Cleanup(
        "lazy",
        vec![
            "pyslim-test/minimal-lazy:traced".into(),
            "pyslim-test/minimal-lazy:keep".into(),
            "pyslim-test/minimal-lazy:plain".into(),
        ],
    );
    let (_, outcome_traced) = minimal(&engine, &root, Config::default(), &cleanup.1[0], "lazy").await;
    let trace = std::fs::read_to_string(root.join(".pyslim/trace.txt")).unwrap();
    assert!(trace.lines().any(|l| l == "module email"), "{trace}");
    assert!(!trace.lines().any(|l| l == "module csv"), "csv was imported while tracing:\n{trace}");
    assert!(report(&outcome_traced).stdlib_dropped.iter().any(|m| m == "csv"));

    let s = statuses(&engine, &cleanup.1[0], &["/", "/mime", "/csv"], "lazy").await;
    assert_eq!(s["/mime"], Some(200), "a lazily imported module of a kept package works");
    assert_eq!(s["/csv"], Some(500), "a module nothing imported while tracing is not in the image");

    // The same trace with keep: no new trace, the module and its imports are kept.
    let keep =
        Config { minimal: Some(Minimal { keep: vec!["csv".into()], ..Default::default() }), ..Default::default() };
    let (job, outcome) = minimal(&engine, &root, keep, &cleanup.1[1], "lazy").await;
    assert!(job.minimal.as_ref().is_some_and(|m| !m.trace), "an existing trace is reused");
    let r = report(&outcome);
    assert!(!r.trace_written && r.keep == ["csv"], "{r:?}");
    assert!(!r.stdlib_dropped.iter().any(|m| m == "csv" || m == "_csv"), "{:?}", r.stdlib_dropped);
    let s = statuses(&engine, &cleanup.1[1], &["/csv", "/mime"], "lazy").await;
    assert_eq!((s["/csv"], s["/mime"]), (Some(200), Some(200)));

    // Plain Docker: the Dockerfile as `pyslim dockerfile --classic --write` would write it (it
    // reads .pyslim/trace.txt), built by the docker CLI; no trace run, no pyslim engine.
    let (scan_now, plan) = plan_for(&root, Config::default());
    assert!(scan_now.minimal_trace.is_some(), "the scan sees the trace file");
    let rendered = render::render(&plan, &scan_now, Variant::Minimal, Flavour::Classic).unwrap();
    assert!(rendered.dockerfile.contains("COPY .pyslim/trace.txt /tmp/pyslim-trace.txt"));
    std::fs::write(root.join("Dockerfile"), &rendered.dockerfile).unwrap();
    std::fs::write(root.join(".dockerignore"), &rendered.dockerignore).unwrap();
    // and the helper files beside it (the assembly runs from .pyslim/pyslim_helpers/)
    assert!(rendered.dockerfile.contains("COPY .pyslim/pyslim_helpers/ /pyslim/helpers/pyslim_helpers/"));
    for h in &rendered.helpers {
        std::fs::create_dir_all(root.join(&h.path).parent().unwrap()).unwrap();
        std::fs::write(root.join(&h.path), &h.content).unwrap();
    }
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &cleanup.1[2], "--label", &format!("{TEST_LABEL}={}", label_value("lazy")), "."])
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "docker build: {}", String::from_utf8_lossy(&out.stderr));
    let mut v = VerifyRequest::new(Variant::Minimal, cleanup.1[2].clone(), 8000);
    v.labels = labels("lazy");
    let verified = engine.verify(&v, &sink(), &CancellationToken::new()).await.unwrap();
    assert!(
        verified.ok,
        "the plain docker build does not start: {}\n{}",
        verified.detail,
        verified.log_tail.join("\n")
    );
    let manifest = engine.read_image_file(&cleanup.1[2], "/etc/pyslim/minimal.json").await.unwrap().unwrap();
    let plain: MinimalReport = serde_json::from_str(&manifest).unwrap();
    let traced = report(&outcome_traced);
    assert!(plain.traced);
    assert_eq!((plain.stdlib, plain.venv), (traced.stdlib, traced.venv), "same trace, same files");
    let s = statuses(&engine, &cleanup.1[2], &["/", "/mime", "/csv"], "lazy").await;
    assert_eq!((s["/mime"], s["/csv"]), (Some(200), Some(500)), "the same answers as pyslim's build");
}

/// The pip, Poetry and uv fixtures (Python 3.11 and 3.13): traced, built and verified.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn fixtures_minimal_build_and_answer_http() {
    let Some(engine) = common::engine_with(&IMAGES).await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut cleanup = Cleanup("fixtures", Vec::new());
    for (from, python) in [("pip-flask", "3.11"), ("demo", "3.11"), ("uv-fastapi", "3.13")] {
        let name = format!("{from}-{}", python.replace('.', ""));
        let root = project(tmp.path(), from, &name);
        let tag = format!("pyslim-test/minimal-{name}:minimal");
        cleanup.1.push(tag.clone());
        let overrides = Config { python: Some(python.parse().unwrap()), ..Default::default() };
        let (_, outcome) = minimal(&engine, &root, overrides, &tag, "fixtures").await;
        let r = report(&outcome);
        assert!(r.traced && r.stdlib.dropped.files > 0 && r.venv.kept.files > 0, "{name}: {r:?}");
        assert!(outcome.built.size_bytes > 0);
    }
}

/// `pyslim build --variant minimal --verify --json` through the real binary on a stdlib-only
/// service. Codecs are kept one by one: `/cp1252`, requested while tracing, keeps
/// `encodings.cp1252`; `/cp850`, never requested, fails on minimal until `[minimal] keep` names
/// its codec. The stdlib ships without sources (`inspect.getsource` fails, on the traced image
/// too, so verify accepts it) until `[minimal] sources = true`, which makes the image larger.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn codecs_by_name_and_sourceless_stdlib_through_the_binary() {
    let Some(engine) = common::engine_with(&IMAGES[..1]).await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = project(tmp.path(), "minimal-codecs", "codecs");
    let cleanup = Cleanup(
        "codecs",
        vec!["pyslim-test/minimal-codecs:default".into(), "pyslim-test/minimal-codecs:sources".into()],
    );
    let build = |toml: &str, tag: &str| -> serde_json::Value {
        std::fs::write(root.join("pyslim.toml"), toml).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pyslim"))
            .arg("build")
            .arg(&root)
            .args(["--variant", "minimal", "--verify", "--json", "--tag", tag])
            .env("PYSLIM_IMAGE_MIRROR", "pyslim-mirror")
            .output()
            .unwrap();
        assert!(out.status.success(), "{tag}: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["verified"], true, "{json}");
        json
    };
    let path = |json: &serde_json::Value, p: &str| {
        let found = json["minimal"]["paths"].as_array().unwrap().iter().find(|c| c["path"] == p).cloned();
        found.unwrap_or_else(|| panic!("{p} not checked: {json}"))
    };

    let traced = "[minimal]\ntrace_paths = [\"/cp1252\", \"/stdlib-source\"]\n";
    let json = build(traced, &cleanup.1[0]);
    let trace = std::fs::read_to_string(root.join(".pyslim/trace.txt")).unwrap();
    assert!(trace.lines().any(|l| l == "module encodings.cp1252"), "{trace}");
    assert!(!trace.lines().any(|l| l == "module encodings.cp850"), "{trace}");
    assert_eq!(
        (path(&json, "/cp1252")["traced"].as_u64(), path(&json, "/cp1252")["minimal"].as_u64()),
        (Some(200), Some(200))
    );
    assert_eq!(path(&json, "/stdlib-source")["traced"].as_u64(), Some(500), "the traced image is sourceless too");
    let s = statuses(&engine, &cleanup.1[0], &["/", "/cp1252", "/cp850", "/stdlib-source"], "codecs").await;
    assert_eq!((s["/cp1252"], s["/cp850"], s["/stdlib-source"]), (Some(200), Some(500), Some(500)), "{s:?}");

    let kept = format!("{traced}keep = [\"encodings.cp850\"]\nsources = true\n");
    let json_sources = build(&kept, &cleanup.1[1]);
    assert_eq!(json_sources["minimal"]["trace_written"], false, "the trace file is reused");
    assert_eq!(json_sources["minimal"]["keep"], serde_json::json!(["encodings.cp850"]));
    let s = statuses(&engine, &cleanup.1[1], &["/", "/cp1252", "/cp850", "/stdlib-source"], "codecs").await;
    assert_eq!((s["/cp1252"], s["/cp850"], s["/stdlib-source"]), (Some(200), Some(200), Some(200)), "{s:?}");
    let (small, large) = (json["size_bytes"].as_u64().unwrap(), json_sources["size_bytes"].as_u64().unwrap());
    eprintln!("minimal-codecs: sourceless zipped stdlib {small} B, plain files {large} B");
    assert!(small + 3_000_000 < large, "sourceless zipped stdlib {small} B vs plain files {large} B");
}
