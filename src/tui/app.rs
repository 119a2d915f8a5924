//! The wizard's one state, [`App`]: the step, what the scan found, the user's choices (as a
//! `plan::Config` overlay, so the TUI resolves plans exactly like the CLI), and each screen's
//! own state. Changed only by `update`; read by `view`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crate::catalogue::{self, BaseImage, Family};
use crate::plan::{self, BuildPlan, Check, Config, Flavour, PlanError, Trim, Variant};
use crate::python::PythonVersion;
use crate::render::{self, Rendered};
use crate::report::Comparison;
use crate::scan::ScanReport;

use super::input::TextInput;
use super::message::FileToWrite;
use super::theme::Theme;

/// The wizard's steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Project,
    Images,
    Entrypoint,
    Options,
    Preview,
    Build,
    Results,
}

impl Step {
    pub const ALL: [Step; 7] =
        [Step::Project, Step::Images, Step::Entrypoint, Step::Options, Step::Preview, Step::Build, Step::Results];

    /// 1-based number shown in the header.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// Short name for the header (fits 80 columns with all seven).
    pub fn short(self) -> &'static str {
        match self {
            Step::Project => "Project",
            Step::Images => "Images",
            Step::Entrypoint => "Command",
            Step::Options => "Options",
            Step::Preview => "Preview",
            Step::Build => "Build",
            Step::Results => "Results",
        }
    }

    /// Title of the screen.
    pub fn title(self) -> &'static str {
        match self {
            Step::Project => "Project: what the scan found",
            Step::Images => "Base images: builder and runtime",
            Step::Entrypoint => "Entrypoint and port",
            Step::Options => "Options",
            Step::Preview => "Preview: the Dockerfile",
            Step::Build => "Build and verify",
            Step::Results => "Results: image sizes",
        }
    }

    pub fn next(self) -> Step {
        let i = self.number();
        Self::ALL.get(i).copied().unwrap_or(self)
    }

    pub fn prev(self) -> Step {
        let i = self.number();
        if i >= 2 { Self::ALL[i - 2] } else { self }
    }
}

/// Progress of the background scan.
#[derive(Clone, Debug)]
pub enum ScanState {
    Running,
    Done,
    Failed(String),
}

/// Whether a Docker daemon answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DockerState {
    Checking,
    /// Connected: a description of the daemon.
    Ready(String),
    /// The engine's reason why it cannot build.
    Unavailable(String),
}

/// Which image the images screen edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Builder,
    Runtime,
}

/// The form for an image the catalogue does not know.
#[derive(Clone, Debug)]
pub struct CustomForm {
    pub slot: Slot,
    /// 0 reference, 1 Python version, 2 interpreter path, 3 shell toggle.
    pub field: usize,
    pub reference: TextInput,
    pub python: TextInput,
    pub interpreter: TextInput,
    pub shell: bool,
    pub error: Option<String>,
}

impl CustomForm {
    pub const FIELDS: usize = 4;

    pub fn new(slot: Slot, python: PythonVersion) -> Self {
        Self {
            slot,
            field: 0,
            reference: TextInput::default(),
            python: TextInput::new(&python.to_string()),
            interpreter: TextInput::new(&format!("/usr/local/bin/python{python}")),
            shell: true,
            error: None,
        }
    }
}

/// Screen 2 state.
#[derive(Clone, Debug)]
pub struct ImagesScreen {
    pub focus: Slot,
    /// Images offered as builder (catalogue images with a shell, current Python first).
    pub builder_choices: Vec<BaseImage>,
    /// Images offered as runtime.
    pub runtime_choices: Vec<BaseImage>,
    /// Highlighted row; `choices.len()` is the "custom image" row.
    pub builder_index: usize,
    pub runtime_index: usize,
    pub custom: Option<CustomForm>,
}

impl ImagesScreen {
    pub fn choices(&self, slot: Slot) -> &[BaseImage] {
        match slot {
            Slot::Builder => &self.builder_choices,
            Slot::Runtime => &self.runtime_choices,
        }
    }

    pub fn index(&self, slot: Slot) -> usize {
        match slot {
            Slot::Builder => self.builder_index,
            Slot::Runtime => self.runtime_index,
        }
    }

    /// The highlighted image of a slot (`None` on the "custom image" row).
    pub fn selected(&self, slot: Slot) -> Option<&BaseImage> {
        self.choices(slot).get(self.index(slot))
    }
}

/// Where keys go on the entrypoint screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryFocus {
    Candidates,
    Command,
    Port,
    /// The pre-start and build steps.
    Steps,
}

/// Which list a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Runs in the container before the server (no shell).
    PreStart,
    /// Runs in the build after the source is copied (a shell command).
    Build,
}

/// One row of the steps box: a pre-start step, a build step, or a build step the scan offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRow {
    PreStart(usize),
    Build(usize),
    /// Index into `ScanReport::build_step_candidates` (shown while not already a build step).
    Offered(usize),
}

/// A step being typed: which list, which row (`None` adds one) and the text.
#[derive(Clone, Debug)]
pub struct StepEdit {
    pub kind: StepKind,
    pub index: Option<usize>,
    pub input: TextInput,
}

/// A way to start the service and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub command: String,
    pub source: String,
}

/// Screen 3 state.
#[derive(Clone, Debug)]
pub struct EntryScreen {
    pub focus: EntryFocus,
    pub candidates: Vec<Candidate>,
    pub selected: usize,
    pub command: TextInput,
    pub port: TextInput,
    pub error: Option<String>,
    /// Pre-start command lines, in order (from the plan: flags, pyslim.toml or the scan).
    pub pre_start: Vec<String>,
    /// Build-step shell commands, in order.
    pub build_steps: Vec<String>,
    /// Whether the user changed the steps here (then they override pyslim.toml and the scan).
    pub steps_changed: bool,
    /// Highlighted row of the steps box.
    pub step_cursor: usize,
    pub step_edit: Option<StepEdit>,
}

impl EntryScreen {
    /// The rows of the steps box in order: pre-start steps, build steps, offered build steps.
    pub fn step_rows(&self, scan: &ScanReport) -> Vec<StepRow> {
        let mut rows: Vec<StepRow> = (0..self.pre_start.len()).map(StepRow::PreStart).collect();
        rows.extend((0..self.build_steps.len()).map(StepRow::Build));
        rows.extend(
            scan.build_step_candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| !self.build_steps.contains(&c.value))
                .map(|(i, _)| StepRow::Offered(i)),
        );
        rows
    }
}

/// One row of the options screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionRow {
    NonRoot,
    NoInstallers,
    Bytecode,
    Strip,
    Variant(Variant),
    Flavour,
}

impl OptionRow {
    pub const ALL: [OptionRow; 9] = [
        OptionRow::NonRoot,
        OptionRow::NoInstallers,
        OptionRow::Bytecode,
        OptionRow::Strip,
        OptionRow::Variant(Variant::Naive),
        OptionRow::Variant(Variant::Slim),
        OptionRow::Variant(Variant::MultistageSlim),
        OptionRow::Variant(Variant::Distroless),
        OptionRow::Flavour,
    ];
}

/// Screen 4 state: the choices themselves live in `App::overrides`.
#[derive(Clone, Debug, Default)]
pub struct OptionsScreen {
    pub cursor: usize,
    pub error: Option<String>,
}

/// Screen 5 state.
#[derive(Clone, Debug, Default)]
pub struct PreviewScreen {
    /// The rendered files of each variant to build (or why it cannot be rendered).
    pub rendered: Vec<(Variant, Result<Rendered, String>)>,
    /// Index into `rendered` of the variant shown.
    pub shown: usize,
    pub scroll: u16,
    pub show_diff: bool,
}

impl PreviewScreen {
    pub fn current(&self) -> Option<&(Variant, Result<Rendered, String>)> {
        self.rendered.get(self.shown)
    }
}

/// Where one variant's build is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Queued,
    /// Not built: its images cannot work (the reason).
    Skipped(String),
    /// A base image is being pulled before the build.
    Pulling,
    Building,
    Built,
    Verifying,
    /// Verify ended: whether the service answered.
    Verified(bool),
    Failed(String),
    Cancelled,
}

/// One row of the build screen.
#[derive(Clone, Debug)]
pub struct VariantRow {
    pub variant: Variant,
    pub phase: Phase,
    pub step: usize,
    pub total: usize,
    pub step_name: String,
    pub log: VecDeque<String>,
    pub started: Option<Duration>,
    pub ended: Option<Duration>,
    pub size_bytes: Option<u64>,
    pub detail: Option<String>,
    /// The image being pulled and how far it got.
    pub pull: Option<(String, crate::engine::events::Transfer)>,
}

impl VariantRow {
    pub const LOG_LINES: usize = 40;

    pub fn new(variant: Variant) -> Self {
        Self {
            variant,
            phase: Phase::Queued,
            step: 0,
            total: 0,
            step_name: String::new(),
            log: VecDeque::new(),
            started: None,
            ended: None,
            size_bytes: None,
            detail: None,
            pull: None,
        }
    }

    pub fn push_log(&mut self, line: &str) {
        for l in line.lines() {
            let l = l.trim_end();
            if l.is_empty() {
                continue;
            }
            if self.log.len() == Self::LOG_LINES {
                self.log.pop_front();
            }
            self.log.push_back(l.to_string());
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Pulling | Phase::Building | Phase::Built | Phase::Verifying)
    }
}

/// The build run as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    Idle,
    Running,
    Cancelling,
    Cancelled,
    Finished,
    Failed(String),
}

/// Screen 6 state.
#[derive(Clone, Debug)]
pub struct BuildScreen {
    pub state: RunState,
    pub rows: Vec<VariantRow>,
    pub started: Duration,
    pub ended: Option<Duration>,
    /// Quit once the cancelled build has stopped.
    pub quit_after_cancel: bool,
}

impl Default for BuildScreen {
    fn default() -> Self {
        Self { state: RunState::Idle, rows: Vec::new(), started: Duration::ZERO, ended: None, quit_after_cancel: false }
    }
}

impl BuildScreen {
    pub fn running(&self) -> bool {
        matches!(self.state, RunState::Running | RunState::Cancelling)
    }

    pub fn row_mut(&mut self, v: Variant) -> Option<&mut VariantRow> {
        self.rows.iter_mut().find(|r| r.variant == v)
    }
}

/// A question over the current screen.
#[derive(Clone, Debug)]
pub enum Dialog {
    /// Write these files? (lists what each write would do)
    ConfirmWrite { purpose: super::message::WritePurpose, files: Vec<FileToWrite>, yes: bool },
    /// Replace `files[index]`, which exists with other content?
    ConfirmReplace { purpose: super::message::WritePurpose, files: Vec<FileToWrite>, index: usize, yes: bool },
    /// Which format to export the comparison in (0 Markdown, 1 JSON).
    ExportFormat { choice: usize },
    /// Quit while a build runs?
    ConfirmQuit { yes: bool },
    /// Push the verified image of `variant` (`source`) to the registry reference typed in `target`.
    PushTo { variant: Variant, source: String, target: super::input::TextInput },
}

/// How a status line reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Success,
    Error,
}

/// The wizard's whole state.
#[derive(Clone, Debug)]
pub struct App {
    /// Project folder as given on the command line.
    pub project: PathBuf,
    pub theme: Theme,
    pub step: Step,
    /// Time since the wizard started (from `Msg::Tick`).
    pub clock: Duration,
    pub scan_state: ScanState,
    pub scan: ScanReport,
    pub config: Option<Config>,
    pub existing_dockerfile: Option<String>,
    /// The user's choices (command-line flags first, then what the wizard set): a `Config`
    /// overlay resolved by `BuildPlan::resolve`, exactly like the CLI does.
    pub overrides: Config,
    /// The plan for the current choices, or why there is none.
    pub plan: Option<Result<BuildPlan, String>>,
    pub images: ImagesScreen,
    pub entry: EntryScreen,
    pub options: OptionsScreen,
    pub preview: PreviewScreen,
    pub build: BuildScreen,
    pub results: Option<Comparison>,
    /// A push from the results screen is running.
    pub pushing: bool,
    pub docker: DockerState,
    pub dialog: Option<Dialog>,
    pub help: bool,
    pub status: Option<(StatusKind, String)>,
    pub quit: bool,
}

impl App {
    /// A wizard on `project` with the command line's choices in `overrides`.
    pub fn new(project: PathBuf, overrides: Config, theme: Theme) -> Self {
        Self {
            project,
            theme,
            step: Step::Project,
            clock: Duration::ZERO,
            scan_state: ScanState::Running,
            scan: ScanReport::default(),
            config: None,
            existing_dockerfile: None,
            overrides,
            plan: None,
            images: ImagesScreen {
                focus: Slot::Runtime,
                builder_choices: Vec::new(),
                runtime_choices: Vec::new(),
                builder_index: 0,
                runtime_index: 0,
                custom: None,
            },
            entry: EntryScreen {
                focus: EntryFocus::Candidates,
                candidates: Vec::new(),
                selected: 0,
                command: TextInput::default(),
                port: TextInput::default(),
                error: None,
                pre_start: Vec::new(),
                build_steps: Vec::new(),
                steps_changed: false,
                step_cursor: 0,
                step_edit: None,
            },
            options: OptionsScreen::default(),
            preview: PreviewScreen::default(),
            build: BuildScreen::default(),
            results: None,
            pushing: false,
            docker: DockerState::Checking,
            dialog: None,
            help: false,
            status: None,
            quit: false,
        }
    }

    /// The commands that start the wizard's background work.
    pub fn init(&self) -> Vec<super::message::Command> {
        vec![super::message::Command::Load(self.project.clone()), super::message::Command::CheckDocker]
    }

    /// The choices as they stand: `pyslim.toml` under the wizard's overrides.
    pub fn effective_config(&self) -> Config {
        self.config.clone().unwrap_or_default().overlay(&self.overrides)
    }

    /// Resolves the plan for the current choices.
    pub fn resolve(&self) -> Result<BuildPlan, PlanError> {
        BuildPlan::resolve(&self.scan, self.config.as_ref(), &self.overrides)
    }

    /// Resolves with a placeholder entrypoint when none is known yet: base images, Python and
    /// options do not depend on the command, and a project whose entrypoint was not detected
    /// must still get the recommended images (the command is asked for on step 3).
    pub fn resolve_images(&self) -> Result<BuildPlan, PlanError> {
        match self.resolve() {
            Err(PlanError::NoEntrypoint) => {
                let mut o = self.overrides.clone();
                o.entrypoint = Some(vec!["python".into()]);
                BuildPlan::resolve(&self.scan, self.config.as_ref(), &o)
            }
            other => other,
        }
    }

    pub fn replan(&mut self) {
        self.plan = Some(self.resolve().map_err(|e| e.to_string()));
    }

    /// The Python version the choices point at (for ordering image lists).
    pub fn python(&self) -> PythonVersion {
        self.resolve_images().map(|p| p.python).unwrap_or_else(|_| {
            self.effective_config()
                .python
                .or_else(|| self.scan.python.as_ref().map(|f| f.value))
                .unwrap_or(plan::DEFAULT_PYTHON)
        })
    }

    /// Compatibility findings of the highlighted builder/runtime pair (before building).
    pub fn image_checks(&self) -> Vec<Check> {
        match (self.images.selected(Slot::Builder), self.images.selected(Slot::Runtime)) {
            (Some(b), Some(r)) => BuildPlan::check_images(b, r, &self.scan),
            _ => Vec::new(),
        }
    }

    /// Variants chosen on the options screen, in the canonical order.
    pub fn variants(&self) -> Vec<Variant> {
        let chosen = self.effective_config().variants.unwrap_or_else(|| Variant::ALL.to_vec());
        Variant::ALL.into_iter().filter(|v| chosen.contains(v)).collect()
    }

    pub fn trim(&self) -> Trim {
        self.effective_config().trim.unwrap_or_default()
    }

    pub fn flavour(&self) -> Flavour {
        self.effective_config().flavour.unwrap_or_default()
    }

    pub fn user(&self) -> String {
        self.effective_config().user.unwrap_or_else(|| plan::DEFAULT_USER.to_string())
    }

    pub fn non_root(&self) -> bool {
        let u = self.user();
        !(u == "root" || u == "0" || u.starts_with("0:"))
    }

    /// Renders every chosen variant for the preview.
    pub fn render_all(&self) -> Vec<(Variant, Result<Rendered, String>)> {
        let plan = match &self.plan {
            Some(Ok(p)) => p,
            Some(Err(e)) => return vec![(Variant::Distroless, Err(e.clone()))],
            None => return Vec::new(),
        };
        self.variants()
            .into_iter()
            .map(|v| (v, render::render(plan, &self.scan, v, plan.flavour).map_err(|e| e.to_string())))
            .collect()
    }

    /// Spinner frame for the current clock.
    pub fn spinner(&self) -> &'static str {
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        FRAMES[(self.clock.as_millis() / 100) as usize % FRAMES.len()]
    }

    /// The project root as scanned (absolute), or as given while the scan runs.
    pub fn root(&self) -> PathBuf {
        if self.scan.root.as_os_str().is_empty() { self.project.clone() } else { self.scan.root.clone() }
    }
}

/// Catalogue images for a slot: the plan's Python first, then newest first; builders need a
/// shell and are never distroless.
pub fn image_choices(slot: Slot, python: PythonVersion) -> Vec<BaseImage> {
    let family_rank = |f: Family| match f {
        Family::PythonSlim => 0,
        Family::Distroless => 1,
        Family::Python => 2,
        Family::PythonAlpine => 3,
        Family::Custom => 4,
    };
    let mut v: Vec<BaseImage> = catalogue::all()
        .iter()
        .filter(|i| match slot {
            Slot::Builder => i.shell && i.family != Family::Distroless,
            // Distroless debug tags add a busybox shell for debugging, not for shipping.
            Slot::Runtime => !i.reference.contains(":debug"),
        })
        .cloned()
        .collect();
    v.sort_by_key(|i| {
        let rank = match slot {
            Slot::Builder => match i.family {
                Family::PythonSlim => 0,
                Family::Python => 1,
                _ => 2,
            },
            Slot::Runtime => family_rank(i.family),
        };
        (i.python != python, std::cmp::Reverse(i.python), rank, i.is_eol(), i.reference.clone())
    });
    v
}

/// The steps the plan would use: flags, then pyslim.toml, then the scan's.
pub fn planned_steps(app: &App) -> (Vec<String>, Vec<String>) {
    if let Some(Ok(p)) = &app.plan {
        return (p.pre_start.clone(), p.build_steps.clone());
    }
    let cfg = app.effective_config();
    let pre = cfg.pre_start.unwrap_or_else(|| app.scan.pre_start.iter().map(|f| f.value.clone()).collect());
    let build = cfg.build_steps.unwrap_or_else(|| app.scan.build_steps.iter().map(|f| f.value.clone()).collect());
    (pre, build)
}

/// Where a step came from, for the steps box: the scan fact's source, `pyslim.toml`, the
/// command line, or "added here".
pub fn step_source(app: &App, kind: StepKind, line: &str) -> String {
    let (facts, flags, config) = match kind {
        StepKind::PreStart => (
            &app.scan.pre_start,
            app.overrides.pre_start.as_ref(),
            app.config.as_ref().and_then(|c| c.pre_start.as_ref()),
        ),
        StepKind::Build => (
            &app.scan.build_steps,
            app.overrides.build_steps.as_ref(),
            app.config.as_ref().and_then(|c| c.build_steps.as_ref()),
        ),
    };
    let same = |a: &str| a.trim() == line.trim();
    if let Some(f) = facts.iter().find(|f| same(&f.value)) {
        return f.source.clone();
    }
    if config.is_some_and(|c| c.iter().any(|c| same(c))) {
        return plan::CONFIG_FILE.into();
    }
    if flags.is_some_and(|c| c.iter().any(|c| same(c))) && !app.entry.steps_changed {
        return "command line".into();
    }
    "added here".into()
}

/// Ways to start the service: the plan's (flags, pyslim.toml or scan), the scan's, and the
/// scan's alternatives (other servers the project depends on); deduplicated, the plan's first.
pub fn entry_candidates(app: &App) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |argv: &[String], source: String| {
        let command = crate::scan::command_line(argv);
        if !command.is_empty() && !out.iter().any(|c| c.command == command) {
            out.push(Candidate { command, source });
        }
    };
    let cfg = app.effective_config();
    if let Some(e) = &app.overrides.entrypoint {
        push(e, "command line".into());
    }
    if let Some(e) = app.config.as_ref().and_then(|c| c.entrypoint.as_ref()) {
        push(e, plan::CONFIG_FILE.into());
    }
    if let Some(f) = &app.scan.entrypoint {
        push(&f.value, f.source.clone());
    }
    // The scan's other servers for the same app, moved to the port the plan uses.
    let port = cfg.port.or_else(|| app.scan.port.as_ref().map(|p| p.value)).unwrap_or(plan::DEFAULT_PORT);
    for alt in &app.scan.entrypoint_alternatives {
        push(&plan::with_port(&alt.value, port), alt.source.clone());
    }
    out
}
