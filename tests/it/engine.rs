//! Engine tests against the real Docker daemon (no mocks) and the offline stand-in base images
//! (`scripts/fixture-images.sh`, used through the image mirror `pyslim-mirror`).
//!
//! Without a daemon or the images these tests fail with a clear message when `CI` is set and
//! are skipped (with the reason printed) otherwise. Docker time is kept small: each project is
//! built once per variant and one test function asserts everything about those builds.
//! Every image is tagged under `pyslim-test/` and labelled `org.pyslim.test=1`, every container
//! labelled `org.pyslim.test=1`; all are removed at the end, also when an assertion fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pyslim::engine::events::{BuildEvent, StepState};
use pyslim::engine::run::{self, VariantJob};
use pyslim::engine::{BuildRequest, Builder, CancellationToken, Engine, EngineError, VerifyRequest};
use pyslim::plan::{BuildPlan, Config, PullPolicy, Variant};
use pyslim::render::Rendered;
use pyslim::report::{self, Comparison, LayerRole};
use pyslim::scan;

use crate::common;

const MIRROR: &str = "pyslim-mirror";
const TEST_LABEL: &str = "org.pyslim.test";
const IMAGES: [&str; 6] = [
    "pyslim-mirror/python:3.13",
    "pyslim-mirror/python:3.13-slim",
    "pyslim-mirror/distroless/python3-debian13:nonroot",
    "pyslim-mirror/python:3.11",
    "pyslim-mirror/python:3.11-slim",
    "pyslim-mirror/distroless/python3-debian12:nonroot",
];

/// The test label's value: unique per test and process, so one test's cleanup never touches
/// another's containers (tests run in parallel).
fn label_value(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

fn labels(test: &str) -> HashMap<String, String> {
    HashMap::from([(TEST_LABEL.to_string(), label_value(test))])
}

/// A connected engine, or `None` (test skipped) when Docker or the stand-in images are missing
/// outside CI. In CI a missing daemon or image fails the test.
async fn engine() -> Option<Engine> {
    common::engine_with(&IMAGES).await
}

/// Removes a test's images and stray containers on drop (also when an assertion panics).
struct Tags(&'static str, Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for t in &self.1 {
            let _ = std::process::Command::new("docker").args(["rmi", "-f", t]).output();
        }
        // Containers of verify runs are removed by the engine; remove strays of a panic, loudly.
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

fn events() -> (pyslim::engine::EventSender, tokio::task::JoinHandle<Vec<BuildEvent>>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let h = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = rx.recv().await {
            all.push(e);
        }
        all
    });
    (tx, h)
}

async fn test_containers(engine: &Engine, test: &str) -> Vec<String> {
    engine.containers_with_labels(&[&format!("{TEST_LABEL}={}", label_value(test))]).await.unwrap()
}

/// pyslim's Dockerfile for `variant`; every variant these tests build must be buildable.
fn rendered(plan: &BuildPlan, scan: &scan::ScanReport, variant: Variant, engine: &Engine, label: &str) -> Rendered {
    run::prepare(plan, scan, variant, engine.builder)
        .unwrap_or_else(|reason| panic!("pyslim cannot build {label}'s {variant} variant: {reason}"))
}

/// Builds and verifies `job`; any failure panics with the step, the log tail and the Dockerfile.
async fn build_verified(
    engine: &Engine,
    job: &VariantJob,
    tx: &pyslim::engine::EventSender,
    cancel: &CancellationToken,
    label: &str,
) -> run::VariantOutcome {
    let variant = job.rendered.variant;
    let outcome = match engine.run_variant(job, tx, cancel).await {
        Ok(o) => o,
        Err(EngineError::BuildFailed { step, message, log_tail, .. }) => panic!(
            "{label} {variant} failed at {step:?}: {message}\n{}\n--- Dockerfile\n{}",
            log_tail.join("\n"),
            job.rendered.dockerfile
        ),
        Err(e) => panic!("{label} {variant}: {e}"),
    };
    let v = outcome.verify.as_ref().expect("verify ran");
    assert!(
        v.ok,
        "{label} {variant} did not start: {}\n{}\n--- Dockerfile\n{}",
        v.detail,
        v.log_tail.join("\n"),
        outcome.dockerfile
    );
    outcome
}

fn plan_for(root: &Path, overrides: Config) -> (scan::ScanReport, BuildPlan) {
    let report = common::scan(root).expect("scan");
    let mut o = overrides;
    o.image_mirror = Some(MIRROR.into());
    if report.entrypoint.is_none() && o.entrypoint.is_none() {
        o.entrypoint = Some(["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"].map(String::from).to_vec());
    }
    let config = Config::load(&report.root).expect("pyslim.toml");
    let plan = BuildPlan::resolve(&report, config.as_ref(), &o).expect("plan");
    (report, plan)
}

fn step_states(events: &[BuildEvent], variant: Variant) -> Vec<(String, StepState)> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Step { variant: v, name, state, .. } if *v == variant => Some((name.clone(), *state)),
            _ => None,
        })
        .collect()
}

fn is_install(step: &str) -> bool {
    let s = step.to_lowercase();
    ["pip install", "poetry install", "uv sync", "uv pip install", "pipenv install", "pdm install"]
        .iter()
        .any(|k| s.contains(k))
}

/// The demo: every variant builds, starts and answers HTTP; sizes and layer roles make sense;
/// the comparison formats; a source edit rebuilds with the dependency step cached.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn demo_variants_build_verify_compare_and_cache() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo-service");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"), &root);
    let (report, plan) = plan_for(&root, Config::default());
    let mut tags = Tags("demo", Vec::new());
    let (tx, collected) = events();
    let cancel = CancellationToken::new();
    let mut comparison = Comparison { project: run::project_name(&report), ..Default::default() };
    let mut jobs = HashMap::new();
    for variant in Variant::ALL {
        let rendered = rendered(&plan, &report, variant, &engine, "the demo");
        let mut job = VariantJob::new(&plan, &report, rendered, Some(format!("pyslim-test/demo:{variant}")));
        job.labels = labels("demo");
        job.verify = Some(Duration::from_secs(90));
        tags.1.push(job.tag.clone());
        let outcome = build_verified(&engine, &job, &tx, &cancel, "demo").await;
        comparison.variants.push(outcome.to_result());
        jobs.insert(variant, (job, outcome));
    }
    assert!(test_containers(&engine, "demo").await.is_empty(), "verify left containers behind");

    // Labels and sizes.
    let docker = engine.docker();
    for (variant, (job, outcome)) in &jobs {
        let inspect = docker.inspect_image(&job.tag).await.unwrap();
        let l = inspect.config.and_then(|c| c.labels).unwrap_or_default();
        assert_eq!(l.get("org.pyslim.variant").map(String::as_str), Some(variant.as_str()));
        assert_eq!(l.get("org.pyslim.project").map(String::as_str), Some("demo-service"));
        assert!(outcome.built.size_bytes > 0);
        let layer_sum: u64 = outcome.built.layers.iter().map(|l| l.size_bytes).sum();
        assert_eq!(layer_sum, outcome.built.size_bytes, "{variant}: layers must add up to the image size");
    }
    let size = |v: Variant| jobs[&v].1.built.size_bytes;
    assert!(size(Variant::Distroless) < size(Variant::MultistageSlim), "distroless must be the smallest");
    assert!(size(Variant::Distroless) < size(Variant::Slim));
    assert!(size(Variant::Slim) < size(Variant::Naive));
    let dl = &jobs[&Variant::Distroless].1.built;
    for role in [LayerRole::Base, LayerRole::Dependencies, LayerRole::App] {
        assert!(dl.layers.iter().any(|l| l.role == role), "distroless has no {role:?} layer: {:#?}", dl.layers);
    }
    let base = docker.inspect_image("pyslim-mirror/distroless/python3-debian13:nonroot").await.unwrap();
    let base_bytes: u64 = dl.layers.iter().filter(|l| l.role == LayerRole::Base).map(|l| l.size_bytes).sum();
    assert_eq!(base_bytes, base.size.unwrap() as u64, "base layers are exactly the runtime image");

    // The comparison's three forms.
    let text = report::text(&comparison, 40);
    assert!(text.contains("distroless") && text.contains("x smaller") && text.contains('█'), "{text}");
    let md = report::markdown(&comparison);
    assert_eq!(md.lines().filter(|l| l.starts_with("| `")).count(), Variant::ALL.len(), "{md}");
    let json = report::json(&comparison);
    assert_eq!(json["variants"].as_array().unwrap().len(), Variant::ALL.len());
    // minimal says what it kept, in every form
    assert!(md.contains("`minimal`: traced now into .pyslim/trace.txt; stdlib "), "{md}");
    assert!(json["variants"][4]["minimal"]["stdlib"]["kept"]["files"].as_u64().unwrap() > 0, "{json}");
    assert_eq!(json["variants"][3]["verified"], true);
    eprintln!("{text}");

    // A source edit: the dependency install step comes from the cache, and the result still runs.
    let app = root.join(report.source_dir.as_deref().unwrap_or("src")).join("app.py");
    let app = if app.exists() { app } else { root.join("src/app.py") };
    let mut source = std::fs::read_to_string(&app).unwrap();
    // A unique edit: BuildKit remembers every content it has seen, also from earlier test runs.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    source.push_str(&format!("\n# edited by the cache test {nanos}\n"));
    std::fs::write(&app, source).unwrap();
    let (job, first) = &jobs[&Variant::Distroless];
    let (tx2, collected2) = events();
    let again = engine.run_variant(job, &tx2, &cancel).await.expect("warm rebuild");
    drop(tx2);
    let ev2 = collected2.await.unwrap();
    assert!(again.verify.as_ref().is_some_and(|v| v.ok), "warm rebuild must still start");
    assert_ne!(again.built.image_id, first.built.image_id, "the edit must change the image");
    assert!(
        again.built.cached_steps.iter().any(|s| is_install(s)),
        "the install step must be cached after a source edit; cached: {:?}\nsteps: {:#?}",
        again.built.cached_steps,
        step_states(&ev2, Variant::Distroless)
    );
    // ...while the source copy ran again (the cold/warm timing is scripts/bench.sh's job).
    let copies: Vec<_> = step_states(&ev2, Variant::Distroless)
        .into_iter()
        .filter(|(n, s)| n.starts_with("COPY") && !n.contains("--from") && *s == StepState::Done)
        .collect();
    assert!(!copies.is_empty(), "the source COPY must rerun: {:#?}", step_states(&ev2, Variant::Distroless));

    drop(tx);
    let ev = collected.await.unwrap();
    for variant in Variant::ALL {
        assert!(ev.iter().any(|e| matches!(e, BuildEvent::Started { variant: v, .. } if *v == variant)));
        assert!(ev.iter().any(|e| matches!(e, BuildEvent::Built { variant: v, .. } if *v == variant)));
        assert!(ev.iter().any(|e| matches!(e, BuildEvent::Verified { variant: v, ok: true, .. } if *v == variant)));
        assert!(step_states(&ev, variant).iter().any(|(_, s)| *s == StepState::Done || *s == StepState::Cached));
    }
    assert!(test_containers(&engine, "demo").await.is_empty());
    drop(tags);
}

/// Builds a tiny context from a Dockerfile and files, with the test labels.
fn request(test: &str, variant: Variant, dir: &Path, dockerfile: &str, tag: &str) -> BuildRequest {
    BuildRequest {
        variant,
        context: dir.to_path_buf(),
        dockerfile: dockerfile.to_string(),
        dockerignore: String::new(),
        helpers: Vec::new(),
        tag: tag.to_string(),
        project: "engine-test".into(),
        labels: labels(test),
        no_cache: false,
        secrets: Vec::new(),
        pull: PullPolicy::Never,
    }
}

/// The pitfall pyslim exists for: a venv made by the `python:` image's /usr/local/bin/python
/// and copied to distroless points at an interpreter that is not there, so the image does not
/// start. The same venv made with the runtime's interpreter path (pyslim's fix) starts.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn distroless_venv_without_interpreter_fix_fails_verify() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>pyslim</h1>\n").unwrap();
    let runtime = format!(
        "FROM {MIRROR}/distroless/python3-debian13:nonroot\nCOPY --from=builder /opt/venv /opt/venv\n\
         COPY index.html /app/index.html\nWORKDIR /app\n\
         ENTRYPOINT [\"/opt/venv/bin/python\", \"-m\", \"http.server\", \"8000\"]\n"
    );
    let naive =
        format!("FROM {MIRROR}/python:3.13-slim AS builder\nRUN python -m venv --without-pip /opt/venv\n{runtime}");
    let fixed = format!(
        "FROM {MIRROR}/python:3.13-slim AS builder\n\
         RUN [ -e /usr/bin/python3.13 ] || ln -s /usr/local/bin/python3.13 /usr/bin/python3.13; \
         /usr/bin/python3.13 -m venv --without-pip /opt/venv\n{runtime}"
    );
    let tags = Tags("pitfall", vec!["pyslim-test/pitfall:naive".into(), "pyslim-test/pitfall:fixed".into()]);
    let (tx, _h) = events();
    let cancel = CancellationToken::new();
    let mut outcomes = Vec::new();
    for (df, tag) in [(&naive, &tags.1[0]), (&fixed, &tags.1[1])] {
        let built =
            engine.build(&request("pitfall", Variant::Distroless, dir.path(), df, tag), &tx, &cancel).await.unwrap();
        let mut req = VerifyRequest::new(Variant::Distroless, built.tag.clone(), 8000);
        req.timeout = Duration::from_secs(20);
        req.labels = labels("pitfall");
        outcomes.push(engine.verify(&req, &tx, &cancel).await.unwrap());
    }
    let (broken, ok) = (&outcomes[0], &outcomes[1]);
    assert!(!broken.ok, "the venv without the fix must not start: {broken:?}");
    assert!(
        broken.detail.contains("exited") || broken.detail.contains("did not start"),
        "the failure says why: {broken:?}"
    );
    assert!(ok.ok, "the venv with the runtime's interpreter path must start: {ok:?}");
    assert!(test_containers(&engine, "pitfall").await.is_empty(), "verify must remove its containers");
    drop(tags);
}

/// A build that fails (a requirement that does not exist) names the failing step and its last
/// log lines, on both builders, and leaves no containers, no tag and no dangling images.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn failed_build_reports_step_and_leaves_nothing() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "pyslim-no-such-package-7f3a==0.0.1\n").unwrap();
    let marker = format!("pyslim-fail-{}", std::process::id());
    let df = format!(
        "FROM {MIRROR}/python:3.13-slim\nWORKDIR /app\nRUN echo {marker} > /marker\nCOPY requirements.txt .\n\
         RUN echo {marker} && pip install --no-cache-dir --retries 0 --timeout 15 -r requirements.txt\nCMD [\"python\"]\n"
    );
    let dangling_before = dangling_images();
    for builder in [Builder::Buildkit, Builder::Classic] {
        let engine = engine.with_builder(builder);
        let tag = format!("pyslim-test/fails:{builder:?}").to_lowercase();
        let _tags = Tags("fails", vec![tag.clone()]);
        let (tx, h) = events();
        let err =
            engine.build(&request("fails", Variant::Slim, dir.path(), &df, &tag), &tx, &CancellationToken::new()).await;
        drop(tx);
        let ev = h.await.unwrap();
        let Err(EngineError::BuildFailed { step, message, log_tail, .. }) = err else {
            panic!("{builder:?}: expected a build failure, got {err:?}")
        };
        let step = step.unwrap_or_default();
        assert!(step.contains("pip install"), "{builder:?}: failing step named: {step:?} ({message})");
        assert!(
            log_tail
                .iter()
                .any(|l| l.contains("pyslim-no-such-package-7f3a") || l.contains("No matching distribution")),
            "{builder:?}: last log lines shown: {log_tail:#?}"
        );
        assert!(ev.iter().any(|e| matches!(e, BuildEvent::Failed { .. })));
        assert!(ev.iter().any(|e| matches!(e, BuildEvent::Step { state: StepState::Failed, .. })), "{builder:?}");
        assert!(!engine.image_exists(&tag).await.unwrap(), "{builder:?}: no half-tagged image");
        let leftovers = std::process::Command::new("docker")
            .args(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"])
            .output()
            .unwrap();
        let leftovers = String::from_utf8_lossy(&leftovers.stdout);
        assert!(
            !leftovers.lines().any(|l| l.contains(&marker)),
            "{builder:?}: build containers left behind:\n{leftovers}"
        );
    }
    let new_dangling: Vec<String> = dangling_images().into_iter().filter(|i| !dangling_before.contains(i)).collect();
    for id in &new_dangling {
        let h = std::process::Command::new("docker").args(["history", "--no-trunc", id]).output().unwrap();
        assert!(!String::from_utf8_lossy(&h.stdout).contains(&marker), "dangling image {id} from the failed build");
    }
}

fn dangling_images() -> Vec<String> {
    let o = std::process::Command::new("docker")
        .args(["images", "-q", "--no-trunc", "--filter", "dangling=true"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).split_whitespace().map(String::from).collect()
}

/// A base image that is not present locally is a clear error, without a pull, when the pull
/// policy is `never` (the remedy names `--pull missing`).
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn missing_base_image_is_a_clear_error() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let df = format!("FROM {MIRROR}/python:3.99-missing AS builder\nRUN true\n");
    let (tx, _h) = events();
    let err = engine
        .build(
            &request("missing", Variant::Slim, dir.path(), &df, "pyslim-test/missing:x"),
            &tx,
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::MissingBaseImage { .. }), "{msg}");
    assert!(msg.contains("pyslim-mirror/python:3.99-missing") && msg.contains("--pull missing"), "{msg}");
}

/// Cancelling during a build stops it without leftovers; cancelling during verify removes the
/// container.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn cancel_stops_build_and_verify_and_cleans_up() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let tags = Tags("cancel", vec!["pyslim-test/cancel:sleepy".into(), "pyslim-test/cancel:build".into()]);

    // Verify of a service that never listens, cancelled once the container runs.
    let df = format!(
        "FROM {MIRROR}/distroless/python3-debian13:nonroot\nENTRYPOINT [\"/usr/bin/python3.13\", \"-c\", \"import time; time.sleep(600)\"]\n"
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    engine.build(&request("cancel", Variant::Distroless, dir.path(), &df, &tags.1[0]), &tx, &cancel).await.unwrap();
    let mut req = VerifyRequest::new(Variant::Distroless, tags.1[0].clone(), 8000);
    req.labels = labels("cancel");
    let c2 = cancel.clone();
    let watcher = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if matches!(e, BuildEvent::VerifyStarted { .. }) {
                tokio::time::sleep(Duration::from_secs(2)).await;
                c2.cancel();
            }
        }
    });
    let started = std::time::Instant::now();
    let r = engine.verify(&req, &tx, &cancel).await;
    assert!(matches!(r, Err(EngineError::Cancelled)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "cancel must be prompt");
    assert!(test_containers(&engine, "cancel").await.is_empty(), "the verify container must be removed on cancel");
    drop(tx);
    watcher.await.unwrap();

    // A classic build with a long step, cancelled while it runs.
    let marker = format!("pyslim-cancel-{}", std::process::id());
    let df = format!("FROM {MIRROR}/python:3.13-slim\nRUN echo {marker} && sleep 120\n");
    let classic = engine.with_builder(Builder::Classic);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let watcher = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if let BuildEvent::Log { line, .. } = &e
                && line.contains("pyslim-cancel")
            {
                c2.cancel();
            }
        }
    });
    let r = classic.build(&request("cancel", Variant::Slim, dir.path(), &df, &tags.1[1]), &tx, &cancel).await;
    assert!(matches!(r, Err(EngineError::Cancelled)), "{r:?}");
    drop(tx);
    watcher.await.unwrap();
    // The daemon stops the build when the client goes away; give it a moment.
    let mut left = String::new();
    for _ in 0..40 {
        let o = std::process::Command::new("docker")
            .args(["ps", "-a", "--no-trunc", "--format", "{{.Command}}"])
            .output()
            .unwrap();
        left =
            String::from_utf8_lossy(&o.stdout).lines().filter(|l| l.contains(&marker)).collect::<Vec<_>>().join("\n");
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(left.is_empty(), "build container left after cancel: {left}");
    assert!(!engine.image_exists(&tags.1[1]).await.unwrap());
    drop(tags);
}

/// Fixture projects (pip, Poetry, uv; Python 3.11 and 3.13): the recommended variant
/// (distroless on 3.13, multistage-slim on 3.11) builds and answers HTTP.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn fixtures_build_and_answer_http() {
    let Some(engine) = engine().await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let projects = fixture_projects(tmp.path());
    let mut tags = Tags("fixtures", Vec::new());
    let cancel = CancellationToken::new();
    let mut built = 0;
    for (name, root, python, variants) in &projects {
        let (report, plan) = plan_for(root, Config { python: Some(python.parse().unwrap()), ..Default::default() });
        // One or two variants per fixture keep Docker time modest.
        for variant in variants.iter().map(|v| v.unwrap_or(plan.variant)) {
            let rendered = rendered(&plan, &report, variant, &engine, name);
            let mut job = VariantJob::new(&plan, &report, rendered, Some(format!("pyslim-test/{name}:{variant}")));
            job.labels = labels("fixtures");
            job.verify = Some(Duration::from_secs(90));
            tags.1.push(job.tag.clone());
            let (tx, _h) = events();
            build_verified(&engine, &job, &tx, &cancel, name).await;
            built += 1;
        }
    }
    eprintln!("fixtures: {built} images built and verified");
    assert!(test_containers(&engine, "fixtures").await.is_empty());
    drop(tags);
}

/// (name, root, python, variants) of the fixture projects, copies of tests/fixtures/* (real
/// lockfiles) and the demo. `None` in variants = the plan's recommended one.
fn fixture_projects(tmp: &Path) -> Vec<(String, PathBuf, String, Vec<Option<Variant>>)> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let wanted = [
        ("pip-flask", "3.11", vec![None, Some(Variant::Slim)]),
        // Poetry on 3.11: the demo (tests/fixtures/poetry*-fastapi have locks older than their
        // pyproject.toml, which `poetry export` refuses).
        ("demo", "3.11", vec![None]),
        ("uv-fastapi", "3.11", vec![None]),
        ("uv-fastapi", "3.13", vec![None]),
    ];
    for (name, python, variants) in wanted {
        let present = match name {
            "demo" => Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
            _ => fixtures.join(name),
        };
        let to = tmp.join(format!("{name}-{}", python.replace('.', "")));
        common::copy_dir(&present, &to);
        out.push((format!("{name}-{}", python.replace('.', "")), to, python.to_string(), variants));
    }
    out
}

/// No daemon: the real binary says which endpoint it tried and how to fix it, exit code 1.
#[test]
fn no_daemon_is_a_clear_error_from_the_binary() {
    for cmd in ["build", "compare"] {
        let out = assert_cmd::Command::cargo_bin("pyslim")
            .unwrap()
            .args([cmd, "--demo", "--entrypoint", "uvicorn app:app --host 0.0.0.0"])
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .env("PYSLIM_IMAGE_MIRROR", MIRROR)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {stderr}");
        assert!(
            stderr.contains("cannot reach the Docker daemon at unix:///nonexistent.sock (from DOCKER_HOST)"),
            "{stderr}"
        );
        assert!(stderr.contains("hint:"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
