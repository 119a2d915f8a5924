//! The wizard without a terminal: messages go through the real `update`, frames are drawn by the
//! real view into ratatui's TestBackend. Build progress is fed as the `BuildEvent` messages the
//! engine sends (the real message path); file writes run the runtime's real executors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use insta::assert_snapshot;
use pyslim::engine::events::{BuildEvent, StepState, Transfer};
use pyslim::plan::{Config, Variant};
use pyslim::python::PythonVersion;
use pyslim::report::{Comparison, Layer, LayerRole, PushedImage, SkippedVariant, VariantResult};
use pyslim::scan::{AppServer, Dependency, Fact, Framework, PackageManager, ScanReport};
use pyslim::tui::app::{Dialog, EntryFocus, OptionRow, Phase, RunState, Slot};
use pyslim::tui::message::{Command, FileState, Loaded, Msg};
use pyslim::tui::{App, Step, Theme, runtime, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

const ROOT: &str = "/home/dev/demo-service";

/// What the scan reports for the embedded demo (FastAPI + Poetry, Python 3.13), written out so
/// the screens are stable while the detectors evolve.
fn demo_scan(root: &Path) -> ScanReport {
    let argv = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    ScanReport {
        root: root.to_path_buf(),
        package_manager: Some(Fact::new(PackageManager::Poetry, "poetry.lock")),
        lockfile: Some(Fact::new("poetry.lock".to_string(), "poetry.lock")),
        python: Some(Fact::new(PythonVersion::new(3, 13), ".python-version")),
        framework: Some(Fact::new(Framework::Fastapi, "src/app.py:7 (FastAPI())")),
        app_server: Some(Fact::new(AppServer::Uvicorn, "src/app.py:23 (uvicorn.run)")),
        app: Some(Fact::new("app:app".to_string(), "src/app.py:7")),
        entrypoint: Some(Fact::new(argv("uvicorn app:app --host 0.0.0.0 --port 8000"), "src/app.py:23 (uvicorn.run)")),
        port: Some(Fact::new(8000, "src/app.py:23 (port=8000)")),
        system_libs: Some(Fact::new(Vec::new(), "poetry.lock")),
        dependencies: ["fastapi", "uvicorn"]
            .iter()
            .map(|n| Dependency { name: n.to_string(), requirement: n.to_string(), source: "pyproject.toml".into() })
            .collect(),
        dependency_files: vec!["pyproject.toml".into(), "poetry.lock".into()],
        source_dir: Some("src".into()),
        warnings: vec!["tests/ would enter the build context; .dockerignore leaves it out".into()],
        ..Default::default()
    }
}

fn loaded_app_at(root: &Path, existing_dockerfile: Option<&str>) -> App {
    let mut app = App::new(root.to_path_buf(), Config::default(), Theme::colored());
    update(
        &mut app,
        Msg::Loaded(Ok(Box::new(Loaded {
            scan: demo_scan(root),
            config: None,
            existing_dockerfile: existing_dockerfile.map(String::from),
        }))),
    );
    update(&mut app, Msg::Docker(Ok("28.2.2 at unix:///var/run/docker.sock".into())));
    app
}

fn loaded_app() -> App {
    loaded_app_at(Path::new(ROOT), None)
}

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| view::draw(f, app)).expect("draw");
    t
}

fn screen_text(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

/// Snapshots a screen at 80x24 and at 120x40.
fn snap(name: &str, app: &App) {
    for (w, h) in [(80, 24), (120, 40)] {
        let t = draw(app, w, h);
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"/tmp/[^\s│]*", "[TMP]");
        // `tests/snapshots/tui__NAME_WxH.snap`, the names of the time this area was a binary of its own
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| assert_snapshot!(format!("tui__{name}_{w}x{h}"), t.backend()));
    }
}

fn mb(n: f64) -> u64 {
    (n * 1_000_000.0) as u64
}

fn variant_result(name: Variant, base: f64, deps: f64, app: f64, verified: bool) -> VariantResult {
    VariantResult {
        name,
        image: format!("pyslim/demo-service:{name}"),
        size_bytes: mb(base + deps + app),
        layers: vec![
            Layer { size_bytes: mb(base), role: LayerRole::Base, created_by: "base image".into() },
            Layer { size_bytes: mb(deps), role: LayerRole::Dependencies, created_by: "venv".into() },
            Layer { size_bytes: mb(app), role: LayerRole::App, created_by: "COPY src /app".into() },
        ],
        build_seconds: 12.0,
        verified: Some(verified),
        verify_detail: Some(if verified { "HTTP 200 after 1.2 s".into() } else { "no answer in 60 s".into() }),
        http_status: None,
        error: None,
        hint: None,
        error_kind: None,
        log_tail: Vec::new(),
        dockerfile: String::new(),
        minimal: None,
        pushed: None,
        services: Vec::new(),
        services_seconds: None,
    }
}

fn comparison() -> Comparison {
    Comparison {
        project: "demo-service".into(),
        variants: vec![
            variant_result(Variant::Naive, 1010.0, 31.0, 0.01, true),
            variant_result(Variant::Slim, 150.0, 30.0, 0.01, true),
            variant_result(Variant::MultistageSlim, 150.0, 14.0, 0.01, true),
            variant_result(Variant::Distroless, 52.2, 14.0, 0.01, true),
        ],
        skipped: Vec::new(),
    }
}

/// Walks with Enter from the loaded project to the build screen; returns the build command.
fn enter_to_build(app: &mut App) -> Vec<Command> {
    for _ in 0..4 {
        key(app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Preview, "{:?}", app.status);
    key(app, KeyCode::Enter)
}

fn started_build_app() -> App {
    let mut app = loaded_app();
    let cmds = enter_to_build(&mut app);
    assert!(cmds.iter().any(|c| matches!(c, Command::StartBuild(_))));
    update(&mut app, Msg::Tick(Duration::from_secs(3)));
    for (v, step, name) in
        [(Variant::Naive, 4, "RUN pip install poetry"), (Variant::Slim, 2, "COPY pyproject.toml poetry.lock ./")]
    {
        update(&mut app, Msg::Build(BuildEvent::Started { variant: v, tag: format!("pyslim/demo:{v}"), steps: 8 }));
        update(
            &mut app,
            Msg::Build(BuildEvent::Step {
                variant: v,
                index: step,
                total: 8,
                name: name.into(),
                state: StepState::Running,
            }),
        );
        update(&mut app, Msg::Build(BuildEvent::Log { variant: v, line: "Collecting fastapi>=0.115".into() }));
    }
    update(&mut app, Msg::Tick(Duration::from_secs(17)));
    app
}

// ---- snapshots of every screen --------------------------------------------------------------

#[test]
fn snapshot_project_scanning_and_found() {
    let mut app = App::new(PathBuf::from(ROOT), Config::default(), Theme::colored());
    snap("project_scanning", &app);
    app = loaded_app();
    snap("project", &app);
}

#[test]
fn snapshot_images_and_custom_form() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Images);
    snap("images", &app);
    key(&mut app, KeyCode::Char('c'));
    typed(&mut app, "corp/python:hardened");
    snap("images_custom", &app);
}

#[test]
fn snapshot_entrypoint_options_preview() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Entrypoint);
    key(&mut app, KeyCode::Tab);
    snap("entrypoint", &app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Options);
    snap("options", &app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Preview);
    snap("preview", &app);
}

#[test]
fn snapshot_build_and_results() {
    let app = started_build_app();
    snap("build", &app);
    let mut app = app;
    update(&mut app, Msg::BuildFinished(Ok(comparison())));
    assert_eq!(app.step, Step::Results);
    snap("results", &app);
}

#[test]
fn snapshot_help_and_no_docker() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Char('?'));
    snap("help", &app);
    let mut app = loaded_app();
    update(
        &mut app,
        Msg::Docker(Err(
            "cannot reach the Docker daemon at unix:///nonexistent.sock (from DOCKER_HOST): No such file or directory"
                .into(),
        )),
    );
    for _ in 0..4 {
        key(&mut app, KeyCode::Enter);
    }
    snap("preview_no_docker", &app);
}

// ---- the flow, key by key -------------------------------------------------------------------

#[test]
fn enter_walks_from_the_first_screen_to_the_results_chart() {
    let mut app = loaded_app();
    let mut start = Vec::new();
    for _ in 0..5 {
        start = key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Build);
    let job = start
        .into_iter()
        .find_map(|c| match c {
            Command::StartBuild(job) => Some(job),
            _ => None,
        })
        .expect("Enter on the preview starts the build");
    assert_eq!(job.variants, Variant::ALL.to_vec());
    assert_eq!(job.plan.entrypoint.join(" "), "uvicorn app:app --host 0.0.0.0 --port 8000");
    for v in Variant::ALL {
        update(&mut app, Msg::Build(BuildEvent::Started { variant: v, tag: v.to_string(), steps: 5 }));
        update(
            &mut app,
            Msg::Build(BuildEvent::Built {
                variant: v,
                tag: v.to_string(),
                image_id: "sha".into(),
                size_bytes: 1,
                seconds: 1.0,
            }),
        );
        update(&mut app, Msg::Build(BuildEvent::VerifyStarted { variant: v, container: "c".into() }));
        update(
            &mut app,
            Msg::Build(BuildEvent::Verified { variant: v, ok: true, detail: "HTTP 200".into(), log_tail: Vec::new() }),
        );
        assert_eq!(app.build.rows.iter().find(|r| r.variant == v).map(|r| &r.phase), Some(&Phase::Verified(true)));
    }
    update(&mut app, Msg::BuildFinished(Ok(comparison())));
    assert_eq!(app.step, Step::Results);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("15.7x smaller"), "{text}");
    assert!(text.contains("1.04 GB"), "{text}");
}

#[test]
fn esc_and_backspace_go_back_one_step() {
    let mut app = loaded_app();
    for _ in 0..4 {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Preview);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.step, Step::Options);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.step, Step::Entrypoint);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.step, Step::Images);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.step, Step::Project);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.step, Step::Project, "the first step stays");
}

#[test]
fn the_entrypoint_is_edited_in_a_real_text_input() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Entrypoint);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.entry.focus, EntryFocus::Command);
    // Backspace edits inside the input instead of going back.
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.step, Step::Entrypoint);
    typed(&mut app, "0 --workers 2");
    key(&mut app, KeyCode::Home);
    for _ in 0.."uvicorn".len() {
        key(&mut app, KeyCode::Delete);
    }
    // granian: a server that takes --host/--port (the plan rewrites only a server's own flags)
    typed(&mut app, "granian");
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    typed(&mut app, "q?");
    assert_eq!(app.entry.command.value(), "granian app:app --host 0.0.0.0 --port 8000 --workersq? 2");
    assert!(!app.quit && !app.help, "q and ? are text while typing");
    for _ in 0..2 {
        key(&mut app, KeyCode::Left);
        key(&mut app, KeyCode::Delete);
    }
    // Port field: digits only.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.entry.focus, EntryFocus::Port);
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "x81");
    assert_eq!(app.entry.port.value(), "8081");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Options, "{:?}", app.entry.error);
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    assert_eq!(plan.port, 8081);
    assert_eq!(plan.entrypoint.join(" "), "granian app:app --host 0.0.0.0 --port 8081 --workers 2");
}

#[test]
fn an_unbalanced_command_is_refused_with_the_reason() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('e'));
    typed(&mut app, " \"oops");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Entrypoint);
    assert!(screen_text(&app, 80, 24).contains("unbalanced quotes"));
}

#[test]
fn services_given_to_the_wizard_are_shown_and_saved() {
    let mut overrides = Config::default();
    overrides.verify.services = vec![pyslim::plan::ServiceSpec::from_flag("db=postgres:16").unwrap()];
    let mut app = App::new(PathBuf::from(ROOT), overrides, Theme::colored());
    update(
        &mut app,
        Msg::Loaded(Ok(Box::new(Loaded { scan: demo_scan(Path::new(ROOT)), config: None, existing_dockerfile: None }))),
    );
    for _ in 0..3 {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Options);
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("Services beside the app while verifying"), "{text}");
    assert!(text.contains("db = postgres:16"), "{text}");
    // pyslim.toml keeps it as given, like the other choices
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    let saved = toml::to_string(&plan.to_config()).unwrap();
    assert!(saved.contains("[[verify.services]]") && saved.contains("image = \"postgres:16\""), "{saved}");
    assert!(!saved.contains("POSTGRES_PASSWORD"), "the kind's defaults are not written: {saved}");
}

#[test]
fn the_compose_files_services_are_shown_used_and_not_saved() {
    let mut scan = demo_scan(Path::new(ROOT));
    scan.compose = Some(pyslim::scan::compose::ComposeFacts {
        file: "compose.yaml".into(),
        app_service: "web".into(),
        services: vec![pyslim::scan::compose::ComposeService {
            name: "db".into(),
            image: "postgres:16".into(),
            source: "compose.yaml: services.db".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    let mut app = App::new(PathBuf::from(ROOT), Config::default(), Theme::colored());
    update(&mut app, Msg::Loaded(Ok(Box::new(Loaded { scan, config: None, existing_dockerfile: None }))));
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("Compose") && text.contains("app service web, beside it: db (postgres:16)"), "{text}");
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    assert_eq!(plan.services.len(), 1);
    let saved = toml::to_string(&plan.to_config()).unwrap();
    assert!(!saved.contains("verify"), "compose is read again at every run, not saved: {saved}");
}

#[test]
fn options_toggle_into_the_plan() {
    let mut app = loaded_app();
    for _ in 0..3 {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Options);
    key(&mut app, KeyCode::Char(' ')); // non-root off
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char(' ')); // bytecode on
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('x')); // strip off (on by default)
    for _ in 0..2 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char(' ')); // slim off
    assert_eq!(pyslim::tui::app::OptionRow::ALL[app.options.cursor], OptionRow::Variant(Variant::Slim));
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Char(' ')); // classic flavour
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    assert_eq!(plan.user, "root");
    assert!(plan.trim.bytecode && !plan.trim.strip && !plan.trim.keep_installers);
    assert_eq!(plan.variants, vec![Variant::Naive, Variant::MultistageSlim, Variant::Distroless, Variant::Minimal]);
    assert_eq!(plan.flavour, pyslim::plan::Flavour::Classic);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("[ ] Run as a non-root user"), "{text}");
    // Every variant off: Enter refuses.
    let mut app2 = loaded_app();
    for _ in 0..3 {
        key(&mut app2, KeyCode::Enter);
    }
    for _ in 0..4 {
        key(&mut app2, KeyCode::Down);
    }
    for _ in 0..pyslim::plan::Variant::ALL.len() {
        key(&mut app2, KeyCode::Char(' '));
        key(&mut app2, KeyCode::Down);
    }
    key(&mut app2, KeyCode::Enter);
    assert_eq!(app2.step, Step::Options);
    let text = screen_text(&app2, 80, 24);
    assert!(text.contains("choose at least one variant"), "{text}");
    // Root warning reaches the preview from the library's checks.
    key(&mut app, KeyCode::Enter);
    assert!(screen_text(&app, 120, 40).contains("runs as root"));
}

#[test]
fn an_incompatible_pair_is_flagged_in_red_before_building() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Images);
    assert_eq!(app.images.focus, Slot::Runtime);
    let eol = app
        .images
        .runtime_choices
        .iter()
        .position(|i| i.reference == "gcr.io/distroless/python3-debian12:nonroot")
        .expect("catalogue has distroless debian12");
    for _ in 0..eol - app.images.runtime_index {
        key(&mut app, KeyCode::Down);
    }
    assert_eq!(
        app.images.selected(Slot::Runtime).map(|i| i.reference.as_str()),
        Some("gcr.io/distroless/python3-debian12:nonroot")
    );
    let t = draw(&app, 120, 40);
    let buf = t.backend().buffer();
    let text = t.backend().to_string();
    assert!(text.contains("Python mismatch"), "{text}");
    assert!(text.contains("end-of-life"), "{text}");
    // The ✗ of the mismatch finding is red (and bold); the EOL warning is yellow.
    let mut red = 0;
    let mut yellow = 0;
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if cell.symbol() == "✗" && cell.fg == Color::Red {
                red += 1;
            }
            if cell.symbol() == "!" && cell.fg == Color::Yellow {
                yellow += 1;
            }
        }
    }
    assert!(red >= 1, "no red ✗ on screen:\n{text}");
    assert!(yellow >= 1, "no yellow warning on screen:\n{text}");
    // Enter refuses to go on with a pair that cannot work.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Images);
    assert!(screen_text(&app, 120, 40).contains("cannot work together"));
    // Under NO_COLOR the finding keeps its ✗ and no colour is drawn at all.
    app.theme = Theme::plain();
    let t = draw(&app, 120, 40);
    let buf = t.backend().buffer();
    assert!(buf.content().iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    assert!(t.backend().to_string().contains("✗ Python mismatch"));
}

#[test]
fn a_custom_image_is_typed_in_with_its_python_and_interpreter() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('c'));
    typed(&mut app, "corp/python:hardened");
    key(&mut app, KeyCode::Tab);
    for _ in 0..4 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "3.x");
    key(&mut app, KeyCode::Enter);
    assert!(app.images.custom.as_ref().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("3.x")));
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "13");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char(' ')); // no shell
    key(&mut app, KeyCode::Enter);
    assert!(app.images.custom.is_none());
    assert_eq!(app.images.selected(Slot::Runtime).map(|i| i.reference.as_str()), Some("corp/python:hardened"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Entrypoint, "{:?}", app.status);
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    assert_eq!(plan.runtime.reference, "corp/python:hardened");
    assert!(!plan.runtime.shell);
    assert_eq!(plan.to_config().custom_images.len(), 1);
}

#[test]
fn esc_cancels_a_running_build_cleanly() {
    let mut app = started_build_app();
    assert!(app.build.running());
    // Esc does not leave the screen while building: it cancels.
    let cmds = key(&mut app, KeyCode::Esc);
    assert!(matches!(cmds.as_slice(), [Command::CancelBuild]));
    assert_eq!(app.build.state, RunState::Cancelling);
    assert_eq!(app.step, Step::Build);
    assert!(screen_text(&app, 80, 24).contains("Cancelling"));
    // Events still in flight are harmless; the engine confirms the stop.
    update(&mut app, Msg::Build(BuildEvent::Log { variant: Variant::Naive, line: "late line".into() }));
    update(&mut app, Msg::BuildCancelled);
    assert_eq!(app.build.state, RunState::Cancelled);
    assert!(app.build.rows.iter().all(|r| matches!(r.phase, Phase::Cancelled)));
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("containers removed"), "{text}");
    assert!(!app.quit);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.step, Step::Preview);
}

#[test]
fn quitting_during_a_build_asks_first_then_stops_it() {
    let mut app = started_build_app();
    let cmds = key(&mut app, KeyCode::Char('q'));
    assert!(cmds.is_empty());
    assert!(matches!(app.dialog, Some(Dialog::ConfirmQuit { yes: false })));
    assert!(screen_text(&app, 80, 24).contains("A build is running"));
    // Enter keeps the default answer: keep building.
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none() && !app.quit);
    key(&mut app, KeyCode::Char('q'));
    let cmds = key(&mut app, KeyCode::Char('y'));
    assert!(matches!(cmds.as_slice(), [Command::CancelBuild]));
    let cmds = update(&mut app, Msg::BuildCancelled);
    assert!(matches!(cmds.as_slice(), [Command::Quit]));
    assert!(app.quit);
}

#[test]
fn a_failed_variant_shows_its_step_and_log_tail() {
    let mut app = started_build_app();
    update(
        &mut app,
        Msg::Build(BuildEvent::Failed {
            variant: Variant::Slim,
            step: Some("RUN poetry install".into()),
            message: "exit code 1".into(),
            log_tail: vec!["ERROR: No matching distribution found for fastapi".into()],
        }),
    );
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("exit code 1 (at RUN poetry install)"), "{text}");
    assert!(text.contains("No matching distribution"), "{text}");
}

#[test]
fn without_docker_the_wizard_previews_and_says_why_it_cannot_build() {
    let mut app = loaded_app();
    let reason = "cannot reach the Docker daemon at unix:///nonexistent.sock (from DOCKER_HOST)";
    update(&mut app, Msg::Docker(Err(reason.into())));
    for _ in 0..4 {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Preview);
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "no build starts without a daemon");
    assert_eq!(app.step, Step::Preview);
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("Cannot build"), "{text}");
    assert!(text.contains("nonexistent.sock"), "{text}");
}

/// A slim build that failed compiling greenlet, as `engine::run::skipped` reports it.
fn failed_build(name: Variant) -> SkippedVariant {
    SkippedVariant {
        name,
        reason: format!("{name} build failed at RUN pip install: exit code 1"),
        error_kind: Some("no-wheel".into()),
        error: Some("greenlet has no wheel for Python 3.13, and building it from source failed".into()),
        hint: Some("choose a Python that greenlet has wheels for with --python X.Y".into()),
        log_tail: vec!["ERROR: Failed building wheel for greenlet".into()],
    }
}

#[test]
fn results_when_every_variant_failed_list_the_causes_not_an_empty_chart() {
    let mut app = loaded_app();
    let all = [Variant::Naive, Variant::Slim, Variant::MultistageSlim, Variant::Distroless];
    app.results = Some(Comparison {
        variants: Vec::new(),
        skipped: all.iter().map(|v| failed_build(*v)).collect(),
        ..comparison()
    });
    app.step = Step::Results;
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen_text(&app, w, h);
        assert!(text.contains("No image was built"), "{text}");
        assert!(!text.contains("Image size"), "no empty chart: {text}");
        for v in all {
            assert!(text.contains(&format!("{v} ✗ greenlet has no wheel")), "{v} at {w}x{h}: {text}");
        }
        assert!(text.contains("hint: choose a Python that greenlet"), "{text}");
    }
}

#[test]
fn results_screen_from_a_comparison() {
    let mut app = loaded_app();
    app.results = Some(Comparison { skipped: vec![failed_build(Variant::Slim)], ..comparison() });
    app.results.as_mut().expect("set").variants.retain(|v| v.name != Variant::Slim);
    app.results.as_mut().expect("set").variants[2].verified = Some(false);
    app.step = Step::Results;
    let t = draw(&app, 120, 40);
    let text = t.backend().to_string();
    for s in ["naive", "multistage-slim", "distroless", "baseline", "6.3x smaller", "15.7x smaller", "66.2 MB"] {
        assert!(text.contains(s), "{s} missing:\n{text}");
    }
    assert!(text.contains("✗ greenlet has no wheel for Python 3.13"), "{text}");
    assert!(text.contains("hint: choose a Python that greenlet has wheels for"), "{text}");
    assert!(!text.contains("exit code 1 at RUN"), "the cause replaces the step: {text}");
    assert!(text.contains("✗ no"), "{text}");
    // What minimal kept and dropped is one line under the table.
    let mut m = variant_result(Variant::Minimal, 19.6, 10.5, 0.07, true);
    m.minimal = Some(pyslim::report::MinimalReport {
        traced: true,
        trace_file: Some(".pyslim/trace.txt".into()),
        stdlib: pyslim::report::KeptDropped {
            kept: pyslim::report::Tally { files: 730, bytes: 13_300_000 },
            dropped: pyslim::report::Tally { files: 527, bytes: 12_300_000 },
        },
        ..Default::default()
    });
    app.results.as_mut().expect("set").variants.push(m);
    let text = draw(&app, 120, 40).backend().to_string();
    assert!(
        text.contains("minimal         from .pyslim/trace.txt; stdlib 730 of 1257 files (13.3 MB of 25.6 MB)"),
        "{text}"
    );
    // The bars are drawn in the variant colours.
    let buf = t.backend().buffer();
    assert!(buf.content().iter().any(|c| c.symbol() == "█" && c.fg == Color::Green));
    assert!(buf.content().iter().any(|c| c.symbol() == "█" && c.fg == Color::Red));
}

#[test]
fn preview_writes_files_only_after_confirmation_and_asks_before_replacing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("Dockerfile"), "FROM python:3.13\nCMD [\"python\", \"app.py\"]\n").expect("write");
    let mut app = loaded_app_at(root, Some("FROM python:3.13\nCMD [\"python\", \"app.py\"]\n"));
    for _ in 0..4 {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.step, Step::Preview);
    if app.preview.current().is_some_and(|(_, r)| r.is_err()) {
        eprintln!("skipped: render::render does not produce Dockerfiles yet");
        return;
    }
    // d shows the diff against the existing Dockerfile.
    key(&mut app, KeyCode::Char('d'));
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("-CMD [\"python\", \"app.py\"]"), "{text}");
    key(&mut app, KeyCode::Char('d'));

    let cmds = key(&mut app, KeyCode::Char('w'));
    let [Command::CheckWrite { purpose, files }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert!(!root.join(".dockerignore").exists(), "nothing written before confirmation");
    let files = runtime::check_write(files.clone());
    let states: Vec<FileState> = files.iter().map(|f| f.state).collect();
    assert_eq!(states[..3], [FileState::Differs, FileState::New, FileState::New]);
    // then the helper files the shown Dockerfile copies (.pyslim/pyslim_helpers/), new
    let helpers = app.preview.current().and_then(|(_, r)| r.as_ref().ok()).map(|r| r.helpers.len()).unwrap_or(0);
    assert_eq!(files.len(), 3 + helpers);
    assert!(files[3..].iter().all(|f| f.state == FileState::New && f.path.starts_with(root.join(".pyslim"))));
    update(&mut app, Msg::WriteChecked { purpose: *purpose, files });
    assert!(matches!(app.dialog, Some(Dialog::ConfirmWrite { .. })));
    assert!(screen_text(&app, 120, 40).contains("you will be asked"));
    // Enter writes; the existing Dockerfile needs its own yes (Enter alone keeps it).
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.dialog, Some(Dialog::ConfirmReplace { .. })));
    let cmds = key(&mut app, KeyCode::Enter);
    let [Command::Write(files)] = cmds.as_slice() else { panic!("{cmds:?}") };
    update(&mut app, Msg::Written(runtime::write_files(files)));
    assert!(root.join(".dockerignore").is_file() && root.join("pyslim.toml").is_file());
    assert!(std::fs::read_to_string(root.join("Dockerfile")).expect("read").contains("app.py"), "kept");
    if helpers > 0 {
        assert!(root.join(".pyslim/pyslim_helpers/__init__.py").is_file(), "the helper files are written too");
    }
    // Again, now saying yes to the replacement: the old file is kept as a backup.
    let cmds = key(&mut app, KeyCode::Char('w'));
    let [Command::CheckWrite { purpose, files }] = cmds.as_slice() else { panic!("{cmds:?}") };
    update(&mut app, Msg::WriteChecked { purpose: *purpose, files: runtime::check_write(files.clone()) });
    key(&mut app, KeyCode::Enter);
    let cmds = key(&mut app, KeyCode::Char('y'));
    let [Command::Write(files)] = cmds.as_slice() else { panic!("{cmds:?}") };
    update(&mut app, Msg::Written(runtime::write_files(files)));
    assert!(root.join("Dockerfile.pyslim-backup").is_file());
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("replaced Dockerfile")), "{:?}", app.status);
}

#[test]
fn results_export_markdown_and_json_into_the_project() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = loaded_app_at(dir.path(), None);
    app.results = Some(comparison());
    app.step = Step::Results;
    key(&mut app, KeyCode::Char('e'));
    assert!(matches!(app.dialog, Some(Dialog::ExportFormat { choice: 0 })));
    let cmds = key(&mut app, KeyCode::Enter);
    let [Command::CheckWrite { purpose, files }] = cmds.as_slice() else { panic!("{cmds:?}") };
    update(&mut app, Msg::WriteChecked { purpose: *purpose, files: runtime::check_write(files.clone()) });
    let cmds = key(&mut app, KeyCode::Char('y'));
    let [Command::Write(files)] = cmds.as_slice() else { panic!("{cmds:?}") };
    update(&mut app, Msg::Written(runtime::write_files(files)));
    let md = std::fs::read_to_string(dir.path().join("pyslim-comparison.md")).expect("markdown written");
    assert!(md.contains("15.7x smaller"), "{md}");
    // JSON; a second export of the same content is "already up to date".
    for _ in 0..2 {
        let cmds = key(&mut app, KeyCode::Char('J'));
        let [Command::CheckWrite { purpose, files }] = cmds.as_slice() else { panic!("{cmds:?}") };
        update(&mut app, Msg::WriteChecked { purpose: *purpose, files: runtime::check_write(files.clone()) });
        if app.dialog.is_some() {
            let cmds = key(&mut app, KeyCode::Enter);
            let [Command::Write(files)] = cmds.as_slice() else { panic!("{cmds:?}") };
            update(&mut app, Msg::Written(runtime::write_files(files)));
        }
    }
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("up to date")), "{:?}", app.status);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pyslim-comparison.json")).expect("json"))
            .expect("valid JSON");
    assert_eq!(json["variants"][3]["name"], "distroless");
}

/// A base image the daemon lacks is pulled before the build: the row says so, the gauge follows
/// the bytes, the label the layers, and the pull is logged when done.
#[test]
fn snapshot_pull_progress_on_the_build_screen() {
    let mut app = started_build_app();
    let image = "127.0.0.1:5000/mirror/distroless/python3-debian13:nonroot".to_string();
    let transfer = Transfer { layers_done: 1, layers_total: 3, bytes_done: mb(31.4), bytes_total: mb(52.2) };
    update(&mut app, Msg::Build(BuildEvent::Pull { variant: Variant::Distroless, image: image.clone(), transfer }));
    snap("build_pulling", &app);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("pulling base image"), "{text}");
    assert!(text.contains("1/3 layers · 31.4 MB of 52.2 MB"), "{text}");
    let done = Transfer { layers_done: 3, bytes_done: mb(52.2), ..transfer };
    update(
        &mut app,
        Msg::Build(BuildEvent::Pulled { variant: Variant::Distroless, image, transfer: done, seconds: 2.5 }),
    );
    update(
        &mut app,
        Msg::Build(BuildEvent::Started {
            variant: Variant::Distroless,
            tag: "pyslim/demo:distroless".into(),
            steps: 9,
        }),
    );
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("pulled 127.0.0.1:5000/mirror/distroless/python3-debian13:nonroot: 3 layers"), "{text}");
}

/// `p` on the results screen offers to push the recommended verified image to the mirror's
/// registry; the reference is edited in a text input, a tag without a registry is refused,
/// Enter asks the runtime to push, and the digest lands in the status line and the results.
#[test]
fn results_push_action_pushes_the_verified_image() {
    let mut app = loaded_app();
    app.overrides.image_mirror = Some("127.0.0.1:5000/mirror".into());
    update(&mut app, Msg::BuildFinished(Ok(comparison())));
    app.plan = Some(app.resolve().map_err(|e| e.to_string()));
    app.step = Step::Results;
    assert!(screen_text(&app, 80, 24).contains("p push"), "the footer shows the key");
    key(&mut app, KeyCode::Char('p'));
    let Some(Dialog::PushTo { variant, source, target }) = &app.dialog else { panic!("{:?}", app.dialog) };
    assert_eq!(*variant, Variant::Distroless);
    assert_eq!(source, "pyslim/demo-service:distroless");
    assert_eq!(target.value(), "127.0.0.1:5000/pyslim/demo-service:distroless");
    snap("results_push", &app);

    // Letters edit the reference (no y/n answers); a reference without a registry is refused.
    for _ in 0.."127.0.0.1:5000/".len() {
        key(&mut app, KeyCode::Home);
        key(&mut app, KeyCode::Delete);
    }
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("names no registry")), "{:?}", app.status);
    key(&mut app, KeyCode::Home);
    typed(&mut app, "registry.example/team/");
    let cmds = key(&mut app, KeyCode::Enter);
    let [Command::Push { variant, source, target }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert_eq!((*variant, source.as_str()), (Variant::Distroless, "pyslim/demo-service:distroless"));
    assert_eq!(target, "registry.example/team/pyslim/demo-service:distroless");

    let transfer = Transfer { layers_done: 1, layers_total: 3, bytes_done: mb(10.0), bytes_total: mb(63.1) };
    update(&mut app, Msg::Build(BuildEvent::Push { variant: Variant::Distroless, tag: target.clone(), transfer }));
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("1/3 layers, 10.0 MB of 63.1 MB")), "{:?}", app.status);
    let pushed = PushedImage { reference: target.clone(), digest: "sha256:0123abcd".into() };
    update(&mut app, Msg::Pushed(Variant::Distroless, Ok(pushed.clone())));
    assert!(screen_text(&app, 120, 40).contains("Pushed registry.example/team/pyslim/demo-service:distroless"));
    let results = app.results.as_ref().expect("results");
    assert_eq!(
        results.variants.iter().find(|v| v.name == Variant::Distroless).and_then(|v| v.pushed.clone()),
        Some(pushed)
    );

    // Only a verified image is pushed.
    for v in &mut app.results.as_mut().expect("results").variants {
        v.verified = Some(false);
    }
    key(&mut app, KeyCode::Char('p'));
    assert!(app.dialog.is_none());
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("only an image that started")), "{:?}", app.status);
}

#[test]
fn help_shows_the_keys_of_the_current_screen() {
    let mut app = loaded_app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("custom image"), "{text}");
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
    assert_eq!(app.step, Step::Images, "the key that closes the help does nothing else");
}

#[test]
fn a_failed_scan_says_why_and_enter_stays() {
    let mut app = App::new(PathBuf::from("/nonexistent"), Config::default(), Theme::colored());
    update(&mut app, Msg::Loaded(Err("project folder /nonexistent does not exist".into())));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Project);
    assert!(screen_text(&app, 80, 24).contains("does not exist"));
    assert!(matches!(key(&mut app, KeyCode::Char('q')).as_slice(), [Command::Quit]));
}

#[test]
fn the_real_scan_of_the_demo_loads_through_the_runtime() {
    let demo = pyslim::demo::DemoProject::extract().expect("demo");
    let loaded = runtime::load(&demo.path()).expect("scan runs");
    let mut app = App::new(demo.path(), Config::default(), Theme::colored());
    update(&mut app, Msg::Loaded(Ok(loaded)));
    assert!(matches!(app.scan_state, pyslim::tui::app::ScanState::Done));
    // Draws at the smallest supported size whatever the scan found.
    let _ = screen_text(&app, 80, 24);
}

#[test]
fn sigterm_stops_a_running_build_before_leaving() {
    let mut app = started_build_app();
    let cmds = update(&mut app, Msg::Terminate);
    assert!(matches!(cmds.as_slice(), [Command::CancelBuild]));
    assert!(!app.quit, "waits for the clean-up");
    let cmds = update(&mut app, Msg::BuildCancelled);
    assert!(matches!(cmds.as_slice(), [Command::Quit]));
    let mut idle = loaded_app();
    assert!(matches!(update(&mut idle, Msg::Terminate).as_slice(), [Command::Quit]));
}

/// A Django project served by runserver, with a migration to run before the server, a
/// collectstatic build step, a Procfile `release:` line offered as a build step and its SQLite
/// folder writable by the runtime user.
fn django_app() -> App {
    let root = Path::new("/home/dev/shop");
    let argv = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let scan = ScanReport {
        root: root.to_path_buf(),
        package_manager: Some(Fact::new(PackageManager::Pip, "requirements.txt")),
        python: Some(Fact::new(PythonVersion::new(3, 13), ".python-version")),
        framework: Some(Fact::new(Framework::Django, "manage.py (Django)")),
        app: Some(Fact::new("shop.wsgi:application".to_string(), "shop/settings.py:12")),
        entrypoint: Some(Fact::new(argv("python manage.py runserver 0.0.0.0:8000"), "manage.py")),
        port: Some(Fact::new(8000, "django default")),
        pre_start: vec![Fact::new("python manage.py migrate --noinput".to_string(), "Procfile:1 (web:)")],
        build_steps: vec![Fact::new(
            "python manage.py collectstatic --noinput".to_string(),
            "shop/settings.py:30 (STATIC_ROOT)",
        )],
        build_step_candidates: vec![Fact::new("python manage.py compilemessages".to_string(), "Procfile:2 (release:)")],
        build_env: vec![Fact::new("SECRET_KEY=build-placeholder".to_string(), "shop/settings.py:5")],
        writable: vec![Fact::new("/app".to_string(), "shop/settings.py:40 (DATABASES NAME: BASE_DIR / db.sqlite3)")],
        dependencies: vec![Dependency {
            name: "django".into(),
            requirement: "django>=5".into(),
            source: "requirements.txt".into(),
        }],
        dependency_files: vec!["requirements.txt".into()],
        ..Default::default()
    };
    let mut app = App::new(root.to_path_buf(), Config::default(), Theme::colored());
    update(&mut app, Msg::Loaded(Ok(Box::new(Loaded { scan, config: None, existing_dockerfile: None }))));
    update(&mut app, Msg::Docker(Ok("28.2.2 at unix:///var/run/docker.sock".into())));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Entrypoint, "{:?}", app.status);
    app
}

#[test]
fn snapshot_entrypoint_with_steps_and_the_gunicorn_offer() {
    let mut app = django_app();
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("s serves with gunicorn"), "{text}");
    assert!(text.contains("After 1 pre-start step the image runs"), "{text}");
    assert!(text.contains("Writable by the runtime user: /app (--writable)"), "{text}");
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.entry.focus, EntryFocus::Steps);
    snap("entrypoint_steps", &app);
    key(&mut app, KeyCode::Char('a'));
    typed(&mut app, "python manage.py check --deploy");
    snap("entrypoint_step_edit", &app);
}

#[test]
fn steps_are_added_edited_moved_removed_and_reach_the_plan() {
    let mut app = django_app();
    // the scan's steps are shown with their sources; Enter through keeps them
    assert_eq!(app.entry.pre_start, ["python manage.py migrate --noinput"]);
    assert_eq!(app.entry.build_steps, ["python manage.py collectstatic --noinput"]);

    // s: serve with gunicorn instead of runserver
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.entry.command.value(), "gunicorn -b 0.0.0.0:8000 shop.wsgi:application");

    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.entry.focus, EntryFocus::Steps);
    // a pre-start step with a shell operator is refused with the reason, then fixed
    key(&mut app, KeyCode::Char('a'));
    typed(&mut app, "python manage.py check; echo ok");
    key(&mut app, KeyCode::Enter);
    assert!(app.entry.error.as_deref().is_some_and(|e| e.contains("shell operator")), "{:?}", app.entry.error);
    assert!(app.entry.step_edit.is_some());
    for _ in 0.."; echo ok".len() {
        key(&mut app, KeyCode::Backspace);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.entry.pre_start, ["python manage.py migrate --noinput", "python manage.py check"]);
    // K moves the new step first
    key(&mut app, KeyCode::Char('K'));
    assert_eq!(app.entry.pre_start[0], "python manage.py check");
    // the offered release step is taken with Space (rows: 2 before, 1 build, 1 offered)
    for _ in 0..3 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(app.entry.build_steps.len(), 2);
    // e edits the first build step; d removes the check step
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('e'));
    typed(&mut app, " --clear");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.entry.pre_start, ["python manage.py migrate --noinput"]);

    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Options, "{:?}", app.entry.error);
    let plan = app.plan.clone().expect("plan").expect("plan resolves");
    assert_eq!(plan.entrypoint.join(" "), "gunicorn -b 0.0.0.0:8000 shop.wsgi:application");
    assert_eq!(plan.pre_start, ["python manage.py migrate --noinput"]);
    assert_eq!(
        plan.build_steps,
        ["python manage.py collectstatic --noinput --clear", "python manage.py compilemessages"]
    );
    assert_eq!(plan.extra_requirements[0].requirement, "gunicorn");
    assert_eq!(plan.build_env, [("SECRET_KEY".to_string(), "build-placeholder".to_string())]);

    // the preview shows the launcher, the build steps and gunicorn's install
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.step, Step::Preview);
    let (_, rendered) = app.preview.current().expect("a variant").clone();
    let df = rendered.expect("renders").dockerfile;
    assert!(df.contains("\"-I\", \"/pyslim/launch.py\"") && df.contains("python manage.py migrate --noinput"), "{df}");
    assert!(df.contains("collectstatic --noinput --clear") && df.contains("# gunicorn: added by --add-server"), "{df}");
}
