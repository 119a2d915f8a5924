//! Property-based fuzzing of every parser the scan runs (requirements with includes, pyproject,
//! poetry.lock, uv.lock, Pipfile(.lock), pdm.lock, Procfile, Dockerfile, .python-version,
//! runtime.txt, .tool-versions, .dockerignore, Python source) and of the renderer fed by them.
//!
//! Inputs are mutations of realistic files (bytes inserted, deleted, replaced; lines duplicated or
//! cut) plus raw junk. The property: scanning never panics and always returns a report; planning
//! and rendering what the scan found never panic either. `scripts/fuzz.sh` runs a long bounded
//! session (`PROPTEST_CASES`); a crash found there becomes a regression case in `regressions()`.

use std::path::Path;

use proptest::prelude::*;
use pyslim::plan::{BuildPlan, Config, Flavour, Variant};

/// Realistic seeds, one per file name the scan reads.
const SEEDS: &[(&str, &str)] = &[
    (
        "requirements.txt",
        "-r base.txt\n-c constraints.txt\nfastapi==0.115.0 ; python_version >= \"3.9\"\nuvicorn[standard]>=0.30\npsycopg2>=2.9\n--index-url https://pypi.org/simple\ngit+https://example.invalid/x.git#egg=x\n",
    ),
    ("base.txt", "gunicorn==22.0\n-r requirements.txt\n"),
    ("constraints.txt", "flask<4\n"),
    (
        "pyproject.toml",
        "[project]\nname = \"svc\"\nversion = \"0.1\"\nrequires-python = \">=3.11,<3.14\"\ndependencies = [\"fastapi>=0.115\", \"uvicorn\"]\n[tool.poetry]\npackage-mode = false\n[tool.poetry.dependencies]\npython = \"^3.11\"\nflask = \"^3\"\n[tool.poetry.group.dev.dependencies]\npytest = \"^8\"\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
    ),
    (
        "poetry.lock",
        "[[package]]\nname = \"pydantic-core\"\nversion = \"2.27.2\"\noptional = false\npython-versions = \">=3.8\"\ngroups = [\"main\"]\nfiles = [\n    {file = \"pydantic_core-2.27.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl\", hash = \"sha256:00\"},\n]\n\n[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.11,<3.14\"\ncontent-hash = \"00\"\n",
    ),
    (
        "uv.lock",
        "version = 1\nrequires-python = \">=3.12\"\n\n[[package]]\nname = \"uvicorn\"\nversion = \"0.30.0\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://files/uvloop-0.21.0-cp312-cp312-manylinux_2_17_x86_64.whl\" }]\n",
    ),
    (
        "Pipfile",
        "[packages]\ndjango = \"*\"\ngunicorn = \"*\"\n[dev-packages]\npytest = \"*\"\n[requires]\npython_version = \"3.12\"\n",
    ),
    (
        "Pipfile.lock",
        "{\"_meta\": {\"requires\": {\"python_version\": \"3.12\"}}, \"default\": {\"django\": {\"version\": \"==5.1\"}}, \"develop\": {}}",
    ),
    ("pdm.lock", "[metadata]\ngroups = [\"default\"]\n[[package]]\nname = \"litestar\"\nversion = \"2.12\"\n"),
    ("Procfile", "web: gunicorn app:app -b 0.0.0.0:$PORT --workers 2\nworker: celery -A tasks worker\n"),
    (
        "Dockerfile",
        "FROM python:3.10-slim AS base\nARG PORT=8000\nENV APP_PORT=${PORT}\nEXPOSE $APP_PORT\nCMD [\"uvicorn\", \"app:app\", \"--host\", \"0.0.0.0\"]\n",
    ),
    (".python-version", "# pinned\n3.12.4\n\n"),
    ("runtime.txt", "python-3.11.4\n"),
    (".tool-versions", "nodejs 20.1.0\npython 3.12.1\n"),
    (".dockerignore", "**/*.pyc\n!keep.pyc\n.env\n/data/**\n"),
    (
        "app.py",
        "import uvicorn\nfrom fastapi import FastAPI\nfrom flask import Flask\n\napp = FastAPI()\n\ndef create_app():\n    return Flask(__name__)\n\nif __name__ == \"__main__\":\n    uvicorn.run(\"app:app\", host=\"0.0.0.0\", port=int(\"8080\"))\n",
    ),
    ("manage.py", "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"mysite.settings\")\n"),
    (
        "mysite/settings.py",
        "WSGI_APPLICATION = 'mysite.wsgi.application'\nASGI_APPLICATION = \"mysite.asgi.application\"\n",
    ),
    ("gunicorn.conf.py", "bind = \"0.0.0.0:9000\"\nworkers = 2\n"),
    ("setup.py", "from setuptools import setup\nsetup(name='x', install_requires=['flask>=3', 'gunicorn'])\n"),
];

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
    DuplicateLine(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), prop::sample::select(b"\"'[]{}=:\n\\#$,.<>*\x00\xff".to_vec()))
            .prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Insert(i, bytes) => {
                let at = i % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Replace(i, c) => {
                if !b.is_empty() {
                    let at = i % b.len();
                    b[at] = *c;
                }
            }
            Edit::DuplicateLine(i) => {
                let text = b.clone();
                let lines: Vec<&[u8]> = text.split(|c| *c == b'\n').collect();
                let line = lines[i % lines.len()];
                b.extend_from_slice(b"\n");
                b.extend_from_slice(line);
            }
            Edit::Truncate(i) => b.truncate(i % len),
        }
    }
    b
}

/// One generated project: for each seed file, absent, the seed, a mutation, or raw junk.
fn project() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let per_file = (0..SEEDS.len())
        .map(|i| {
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(SEEDS[i].1.as_bytes().to_vec())),
                4 => prop::collection::vec(edit(), 1..6).prop_map(move |e| Some(apply(SEEDS[i].1.as_bytes(), &e))),
                1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Some),
            ]
            .prop_map(move |c| c.map(|c| (i, c)))
            .boxed()
        })
        .collect::<Vec<_>>();
    per_file.prop_map(|v| v.into_iter().flatten().collect())
}

fn write_project(dir: &Path, files: &[(usize, Vec<u8>)]) {
    for (i, content) in files {
        let path = dir.join(SEEDS[*i].0);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Scan, plan and render every variant: must not panic; errors are fine.
fn exercise(dir: &Path) {
    let report = pyslim::scan::scan(dir).expect("a readable folder always scans");
    let json = serde_json::to_string(&report).expect("a report always serializes");
    assert!(json.starts_with('{'));
    for overrides in
        [Config::default(), Config { entrypoint: Some(vec!["python".into(), "app.py".into()]), ..Default::default() }]
    {
        if let Ok(plan) = BuildPlan::resolve(&report, None, &overrides) {
            for v in Variant::ALL {
                let _ = plan.checks(v, &report);
                for f in [Flavour::Buildkit, Flavour::Classic] {
                    let _ = pyslim::render::render(&plan, &report, v, f);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn scan_plan_render_never_panic(files in project()) {
        let dir = tempfile::tempdir().unwrap();
        write_project(dir.path(), &files);
        exercise(dir.path());
    }

    #[test]
    fn config_parser_never_panics(text in "[a-z_\\[\\]=\" 0-9.:\\n]{0,200}") {
        let _ = Config::parse(&text);
    }
}

/// Crashes found by long fuzz sessions, kept as regression cases.
#[test]
fn regressions() {
    let cases: &[&[(&str, &[u8])]] = &[
        // every seed file at once, unmodified
        &[],
        // a requirements include that points at itself, and one with a NUL byte
        &[("requirements.txt", b"-r requirements.txt\n"), ("base.txt", b"fla\x00sk\n")],
        // pyproject with a dependency list of the wrong type
        &[("pyproject.toml", b"[project]\nname = 1\ndependencies = \"fastapi\"\nrequires-python = 3\n")],
        // Procfile with only a prefix, Dockerfile with only a continuation
        &[("Procfile", b"web:"), ("Dockerfile", b"CMD \\\n")],
        // Python source that is not UTF-8 and a half-open call
        &[("app.py", b"app = FastAPI(\xff\nuvicorn.run(app, port=")],
    ];
    for (n, case) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        if case.is_empty() {
            for (name, content) in SEEDS {
                let p = dir.path().join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, content).unwrap();
            }
        }
        for (name, content) in *case {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        eprintln!("regression case {n}");
        exercise(dir.path());
    }
}
