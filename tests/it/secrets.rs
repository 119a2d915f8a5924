//! Build secrets against the real Docker daemon: a CA bundle with a unique marker line reaches
//! pip in the builder (`PIP_CERT`), and the final images' layers, config and history do not
//! contain the marker. Positive control: the classic builder stage alone does contain it, so
//! the search would find it if it leaked.
//!
//! Needs Docker and the stand-in images (`scripts/fixture-images.sh`): without them the test
//! fails when `CI` is set and is skipped with the reason otherwise. Every image is tagged under
//! `pyslim-test/` and removed at the end, also when an assertion fails.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use pyslim::engine::context::SecretSource;
use pyslim::engine::run::{self, VariantJob};
use pyslim::engine::{BuildRequest, Builder, CancellationToken, Engine, EngineError};
use pyslim::plan::{BuildPlan, BuildSecret, Config, Variant};

use crate::common;

const MIRROR: &str = "pyslim-mirror";
const TEST_LABEL: &str = "org.pyslim.test";
const IMAGES: [&str; 2] = ["pyslim-mirror/python:3.13-slim", "pyslim-mirror/distroless/python3-debian13:nonroot"];
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

async fn engine() -> Option<Engine> {
    let engine = common::engine_with(&IMAGES).await?;
    if !Path::new(CA_BUNDLE).is_file() {
        return common::missing(format!("{CA_BUNDLE} is missing (the CA bundle the secret copies)"));
    }
    Some(engine)
}

use common::Tags;

fn inspect(tag: &str, format: &str) -> String {
    let out = Command::new("docker").args(["image", "inspect", "-f", format, tag]).output().unwrap();
    assert!(out.status.success(), "inspect {tag}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A CA bundle that pip really uses (`PIP_CERT`) to reach PyPI from the builder, and which
/// must not be in any final image.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(feature = "docker"), ignore = "needs the Docker daemon: --features docker")]
async fn build_secret_reaches_the_builder_only() {
    let Some(engine) = engine().await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let demo = pyslim::demo::DemoProject::extract().unwrap();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let marker = format!("pyslim-secret-marker-{}-{nanos}", std::process::id());
    let ca = tmp.path().join("corp-ca.pem");
    let mut bundle = std::fs::read_to_string(CA_BUNDLE).unwrap();
    bundle.push_str(&format!("\n# {marker}\n"));
    std::fs::write(&ca, bundle).unwrap();
    let secret: BuildSecret =
        format!("id=ca,src={},target=/run/pyslim-secrets/ca.pem,env=PIP_CERT", ca.display()).parse().unwrap();
    let overrides =
        Config { image_mirror: Some(MIRROR.into()), build_secrets: vec![secret.clone()], ..Default::default() };
    let report = common::scan(&demo.path()).unwrap();
    let plan = BuildPlan::resolve(&report, None, &overrides).unwrap();
    let label = HashMap::from([(TEST_LABEL.to_string(), format!("secrets-{}", std::process::id()))]);
    let mut tags = Tags(Vec::new());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let cancel = CancellationToken::new();
    let pid = std::process::id();

    let mut classic_dockerfile = String::new();
    let mut classic_helpers = Vec::new();
    for (variant, builder) in [(Variant::Distroless, Builder::Buildkit), (Variant::MultistageSlim, Builder::Classic)] {
        let what = format!("{variant} ({builder:?})");
        let engine = engine.with_builder(builder);
        let rendered = run::prepare(&plan, &report, variant, builder).unwrap_or_else(|e| panic!("{what}: {e}"));
        let tag = format!("pyslim-test/secrets-{pid}:{variant}");
        tags.0.push(tag.clone());
        let mut job = VariantJob::new(&plan, &report, rendered, Some(tag.clone()));
        job.labels = label.clone();
        assert_eq!(job.secrets, [SecretSource { id: "ca".into(), path: ca.clone() }]);
        match engine.run_variant(&job, &tx, &cancel).await {
            Ok(_) => {}
            Err(EngineError::BuildFailed { step, message, log_tail, .. }) => panic!(
                "{what} failed at {step:?}: {message}\n{}\n--- Dockerfile\n{}",
                log_tail.join("\n"),
                job.rendered.dockerfile
            ),
            Err(e) => panic!("{what}: {e}"),
        }
        let leaks = common::occurrences(&tag, &marker, tmp.path());
        assert!(leaks.is_empty(), "{what}: the secret is in the final image at {leaks:?}\n{}", job.rendered.dockerfile);
        // (the stand-in base images set PIP_CERT themselves: look for the secret's own path)
        let config = inspect(&tag, "{{json .Config}}");
        assert!(!config.contains(&marker) && !config.contains("/run/pyslim-secrets"), "{what}: config {config}");
        assert_eq!(inspect(&tag, "{{.Config.User}}"), "65532:65532", "{what}: least privilege");
        if builder == Builder::Classic {
            classic_dockerfile = job.rendered.dockerfile.clone();
            classic_helpers = job.rendered.helpers.clone();
        }
    }

    // Positive control: the classic builder stage alone (same steps, from the cache) holds the
    // secret, and the same search finds it there.
    let builder_only = classic_dockerfile.split("\n# The source without the build secrets").next().unwrap();
    assert!(builder_only.contains(" AS builder") && !builder_only.contains(" AS runtime"), "{builder_only}");
    let copies: Vec<&str> = classic_dockerfile.lines().filter(|l| l.contains(".pyslim-secrets/ca ")).collect();
    assert_eq!(copies, ["COPY .pyslim-secrets/ca /run/pyslim-secrets/ca.pem"], "copied once, in the builder");
    let tag = format!("pyslim-test/secrets-{pid}:builder-stage");
    tags.0.push(tag.clone());
    let req = BuildRequest {
        variant: Variant::MultistageSlim,
        context: demo.path(),
        dockerfile: builder_only.to_string(),
        dockerignore: ".venv\n".into(),
        helpers: classic_helpers,
        tag: tag.clone(),
        project: "secrets-test".into(),
        labels: label.clone(),
        no_cache: false,
        secrets: vec![SecretSource { id: "ca".into(), path: ca.clone() }],
        pull: pyslim::plan::PullPolicy::Never,
    };
    engine
        .with_builder(Builder::Classic)
        .build(&req, &tx, &cancel)
        .await
        .unwrap_or_else(|e| panic!("builder stage: {e}"));
    let found = common::occurrences(&tag, &marker, tmp.path());
    assert!(
        found.iter().any(|f| f.ends_with("run/pyslim-secrets/ca.pem")),
        "the builder stage should hold the secret at its target: {found:?}"
    );

    // A missing secret file is a clear error before anything is built.
    let mut req = req;
    req.tag = format!("pyslim-test/secrets-{pid}:missing");
    req.secrets = vec![SecretSource { id: "ca".into(), path: tmp.path().join("nope.pem") }];
    let e = engine.build(&req, &tx, &cancel).await.unwrap_err().to_string();
    assert!(e.contains("build secret `ca`") && e.contains("nope.pem"), "{e}");
    assert!(!engine.image_exists(&req.tag).await.unwrap());
}
