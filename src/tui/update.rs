//! The wizard's logic: `update(&mut App, Msg) -> Vec<Command>`. Pure: no I/O, no clock, no
//! terminal. Side effects (scan, Docker, writes) are returned as [`Command`]s for the runtime,
//! whose answers come back as messages. Decisions about images, plans and Dockerfiles are the
//! library's (`plan`, `render`); this module only routes the user's choices to it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::catalogue::BaseImage;
use crate::engine::events::BuildEvent;
use crate::plan::{self, CustomImage, Flavour, Severity, Variant};
use crate::python::PythonVersion;
use crate::report;
use crate::scan::AppServer;

use super::app::{
    App, CustomForm, Dialog, DockerState, EntryFocus, OptionRow, Phase, RunState, ScanState, Slot, StatusKind, Step,
    StepEdit, StepKind, StepRow, VariantRow, entry_candidates, image_choices, planned_steps,
};
use super::input::TextInput;
use super::message::{BuildJob, Command, FileState, FileToWrite, Loaded, Msg, WritePurpose};

/// Applies one message to the state; returns the side effects to run.
pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Resize(..) => Vec::new(),
        Msg::Tick(t) => {
            app.clock = t;
            Vec::new()
        }
        Msg::Loaded(result) => {
            on_loaded(app, result);
            Vec::new()
        }
        Msg::Docker(result) => {
            app.docker = match result {
                Ok(d) => DockerState::Ready(d),
                Err(e) => DockerState::Unavailable(e),
            };
            Vec::new()
        }
        Msg::Build(event) => {
            on_build_event(app, event);
            Vec::new()
        }
        Msg::Pushed(variant, result) => {
            app.pushing = false;
            app.status = Some(match result {
                Ok(p) => {
                    let text = format!("Pushed {} ({})", p.reference, p.digest);
                    if let Some(c) = &mut app.results
                        && let Some(v) = c.variants.iter_mut().find(|v| v.name == variant)
                    {
                        v.pushed = Some(p);
                    }
                    (StatusKind::Success, text)
                }
                Err(e) => (StatusKind::Error, e.replace('\n', " ")),
            });
            Vec::new()
        }
        Msg::BuildFinished(result) => {
            app.build.ended = Some(app.clock);
            match result {
                Ok(comparison) => {
                    app.build.state = RunState::Finished;
                    app.results = Some(comparison);
                    if app.step == Step::Build {
                        app.step = Step::Results;
                        app.status = None;
                    }
                }
                Err(e) => {
                    app.build.state = RunState::Failed(e.clone());
                    for r in app.build.rows.iter_mut().filter(|r| r.phase == Phase::Queued || r.is_active()) {
                        r.phase = Phase::Cancelled;
                    }
                    app.status = Some((StatusKind::Error, format!("build failed: {e}")));
                }
            }
            Vec::new()
        }
        Msg::BuildCancelled => {
            app.build.state = RunState::Cancelled;
            app.build.ended = Some(app.clock);
            for r in app.build.rows.iter_mut().filter(|r| r.phase == Phase::Queued || r.is_active()) {
                r.phase = Phase::Cancelled;
                r.ended = Some(app.clock);
            }
            app.status = Some((StatusKind::Info, "Build cancelled: builds stopped, containers removed.".into()));
            if app.build.quit_after_cancel {
                app.quit = true;
                return vec![Command::Quit];
            }
            Vec::new()
        }
        Msg::WriteChecked { purpose, files } => {
            if files.iter().all(|f| f.state == FileState::Unchanged) {
                app.status = Some((StatusKind::Success, format!("Already up to date: {}", file_names(&files))));
            } else {
                app.dialog = Some(Dialog::ConfirmWrite { purpose, files, yes: true });
            }
            Vec::new()
        }
        Msg::Terminate => quit_now(app),
        Msg::Written(result) => {
            app.status = Some(match result {
                Ok(lines) if lines.is_empty() => (StatusKind::Info, "Nothing written.".into()),
                Ok(lines) => (StatusKind::Success, lines.join("; ")),
                Err(e) => (StatusKind::Error, e),
            });
            Vec::new()
        }
    }
}

fn file_names(files: &[FileToWrite]) -> String {
    files
        .iter()
        .map(|f| f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

fn on_loaded(app: &mut App, result: Result<Box<Loaded>, String>) {
    let loaded = match result {
        Ok(l) => l,
        Err(e) => {
            app.scan_state = ScanState::Failed(e);
            return;
        }
    };
    let Loaded { scan, config, existing_dockerfile } = *loaded;
    app.scan = scan;
    app.config = config;
    app.existing_dockerfile = existing_dockerfile;
    app.scan_state = ScanState::Done;
    app.replan();

    // Base images: the recommended pair highlighted in lists ordered for this project's Python.
    let python = app.python();
    app.images.builder_choices = image_choices(Slot::Builder, python);
    app.images.runtime_choices = image_choices(Slot::Runtime, python);
    if let Ok(p) = app.resolve_images() {
        app.images.builder_index = place(&mut app.images.builder_choices, &p.builder);
        app.images.runtime_index = place(&mut app.images.runtime_choices, &p.runtime);
    }

    // Entrypoint, port and the steps around them.
    let (pre_start, build_steps) = planned_steps(app);
    app.entry.pre_start = pre_start;
    app.entry.build_steps = build_steps;
    app.entry.steps_changed = false;
    app.entry.candidates = entry_candidates(app);
    app.entry.selected = 0;
    let first = app.entry.candidates.first().map(|c| c.command.clone()).unwrap_or_default();
    app.entry.command.set(&first);
    let port = match &app.plan {
        Some(Ok(p)) => p.port,
        _ => app
            .effective_config()
            .port
            .or_else(|| app.scan.port.as_ref().map(|f| f.value))
            .unwrap_or(plan::DEFAULT_PORT),
    };
    app.entry.port.set(&port.to_string());
}

/// Index of `image` in `choices`, inserting it first when the list lacks it (a custom image).
fn place(choices: &mut Vec<BaseImage>, image: &BaseImage) -> usize {
    match choices.iter().position(|c| c.reference == image.reference) {
        Some(i) => i,
        None => {
            choices.insert(0, image.clone());
            0
        }
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return quit_now(app);
    }
    if app.help {
        app.help = false;
        return Vec::new();
    }
    if app.dialog.is_some() {
        return dialog_key(app, key);
    }
    if key.code == KeyCode::F(1) {
        app.help = true;
        return Vec::new();
    }
    let handled = match app.step {
        Step::Project => None,
        Step::Images => images_key(app, key),
        Step::Entrypoint => entry_key(app, key),
        Step::Options => options_key(app, key),
        Step::Preview => preview_key(app, key),
        Step::Build => build_key(app, key),
        Step::Results => results_key(app, key),
    };
    if let Some(cmds) = handled {
        return cmds;
    }
    match key.code {
        KeyCode::Char('q') => {
            if app.build.running() {
                app.dialog = Some(Dialog::ConfirmQuit { yes: false });
                Vec::new()
            } else {
                app.quit = true;
                vec![Command::Quit]
            }
        }
        KeyCode::Char('?') => {
            app.help = true;
            Vec::new()
        }
        KeyCode::Esc | KeyCode::Backspace => {
            back(app);
            Vec::new()
        }
        KeyCode::Enter => accept(app),
        _ => Vec::new(),
    }
}

/// Ctrl-C: leave now; a running build is cancelled first (its containers removed).
fn quit_now(app: &mut App) -> Vec<Command> {
    if app.build.running() {
        app.build.quit_after_cancel = true;
        app.build.state = RunState::Cancelling;
        return vec![Command::CancelBuild];
    }
    app.quit = true;
    vec![Command::Quit]
}

fn back(app: &mut App) {
    app.status = None;
    match app.step {
        Step::Project => {
            app.status = Some((StatusKind::Info, "This is the first step; q quits.".into()));
        }
        Step::Build if app.build.running() => {}
        _ => app.step = app.step.prev(),
    }
}

fn accept(app: &mut App) -> Vec<Command> {
    app.status = None;
    match app.step {
        Step::Project => {
            match &app.scan_state {
                ScanState::Running => app.status = Some((StatusKind::Info, "Still scanning the project…".into())),
                ScanState::Failed(e) => app.status = Some((StatusKind::Error, format!("cannot continue: {e}"))),
                ScanState::Done => app.step = Step::Images,
            }
            Vec::new()
        }
        Step::Images => {
            accept_images(app);
            Vec::new()
        }
        Step::Entrypoint => {
            accept_entry(app);
            Vec::new()
        }
        Step::Options => {
            if app.variants().is_empty() {
                app.options.error = Some("choose at least one variant to build".into());
            } else {
                enter_preview(app);
            }
            Vec::new()
        }
        Step::Preview => start_build(app),
        Step::Build => {
            match &app.build.state {
                RunState::Finished if app.results.is_some() => app.step = Step::Results,
                RunState::Running => {
                    app.status = Some((StatusKind::Info, "Building… Esc cancels the build.".into()));
                }
                _ => app.status = Some((StatusKind::Info, "Esc goes back to the preview to build again.".into())),
            }
            Vec::new()
        }
        Step::Results => {
            app.status = Some((StatusKind::Info, "e exports the comparison; q quits.".into()));
            Vec::new()
        }
    }
}

// ---- 2. Base images -------------------------------------------------------------------------

fn move_index(index: usize, len: usize, key: KeyCode) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match key {
        KeyCode::Up | KeyCode::Char('k') => index.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => (index + 1).min(last),
        KeyCode::PageUp => index.saturating_sub(10),
        KeyCode::PageDown => (index + 10).min(last),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => last,
        _ => return None,
    })
}

fn images_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    if app.images.custom.is_some() {
        custom_form_key(app, key);
        return Some(Vec::new());
    }
    let slot = app.images.focus;
    match key.code {
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right | KeyCode::Char('h') | KeyCode::Char('l') => {
            app.images.focus = match slot {
                Slot::Builder => Slot::Runtime,
                Slot::Runtime => Slot::Builder,
            };
            return Some(Vec::new());
        }
        KeyCode::Char('c') => {
            app.images.custom = Some(CustomForm::new(slot, app.python()));
            return Some(Vec::new());
        }
        KeyCode::Enter if app.images.selected(slot).is_none() => {
            app.images.custom = Some(CustomForm::new(slot, app.python()));
            return Some(Vec::new());
        }
        _ => {}
    }
    // One more row than images: "Custom image…".
    let len = app.images.choices(slot).len() + 1;
    let index = move_index(app.images.index(slot), len, key.code)?;
    match slot {
        Slot::Builder => app.images.builder_index = index,
        Slot::Runtime => app.images.runtime_index = index,
    }
    Some(Vec::new())
}

fn accept_images(app: &mut App) {
    let (Some(builder), Some(runtime)) =
        (app.images.selected(Slot::Builder).cloned(), app.images.selected(Slot::Runtime).cloned())
    else {
        app.status = Some((StatusKind::Error, "choose a builder and a runtime image".into()));
        return;
    };
    if let Some(c) = app.image_checks().into_iter().find(|c| c.severity == Severity::Error) {
        app.status = Some((StatusKind::Error, format!("These images cannot work together: {}", c.message)));
        return;
    }
    let previous = app.overrides.clone();
    app.overrides.builder = Some(builder.reference.clone());
    app.overrides.runtime = Some(runtime.reference.clone());
    // The runtime carries the interpreter the venv runs on: its Python is the project's.
    app.overrides.python = Some(runtime.python);
    if let Err(e) = app.resolve_images() {
        app.overrides = previous;
        app.status = Some((StatusKind::Error, e.to_string()));
        return;
    }
    app.replan();
    app.step = Step::Entrypoint;
}

fn custom_form_key(app: &mut App, key: KeyEvent) {
    let Some(form) = app.images.custom.as_mut() else { return };
    match key.code {
        KeyCode::Esc => {
            app.images.custom = None;
            return;
        }
        KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % CustomForm::FIELDS,
        KeyCode::BackTab | KeyCode::Up => form.field = (form.field + CustomForm::FIELDS - 1) % CustomForm::FIELDS,
        KeyCode::Enter => {
            submit_custom(app);
            return;
        }
        KeyCode::Char(' ') if form.field == 3 => form.shell = !form.shell,
        _ => {
            let input: Option<&mut TextInput> = match form.field {
                0 => Some(&mut form.reference),
                1 => Some(&mut form.python),
                2 => Some(&mut form.interpreter),
                _ => None,
            };
            if let Some(i) = input {
                i.handle_key(key);
            }
        }
    }
    form.error = None;
}

fn submit_custom(app: &mut App) {
    let Some(form) = app.images.custom.as_mut() else { return };
    let reference = form.reference.value().trim().to_string();
    let python: Result<PythonVersion, _> = form.python.value().parse();
    let interpreter = form.interpreter.value().trim().to_string();
    let error = if reference.is_empty() {
        Some("type the image reference, e.g. registry.example/team/python:3.13".to_string())
    } else if let Err(e) = &python {
        Some(e.to_string())
    } else if !interpreter.starts_with('/') {
        Some("the interpreter path must be absolute, e.g. /usr/bin/python3.13".to_string())
    } else {
        None
    };
    if let Some(e) = error {
        form.error = Some(e);
        return;
    }
    let Ok(python) = python else { return };
    let custom =
        CustomImage { reference: reference.clone(), python, interpreter: interpreter.clone(), shell: form.shell };
    let slot = form.slot;
    let image = BaseImage::custom(&reference, python, &interpreter, form.shell);
    app.overrides.custom_images.retain(|c| c.reference != reference);
    app.overrides.custom_images.push(custom);
    let list = match slot {
        Slot::Builder => &mut app.images.builder_choices,
        Slot::Runtime => &mut app.images.runtime_choices,
    };
    list.retain(|i| i.reference != reference);
    list.insert(0, image);
    match slot {
        Slot::Builder => app.images.builder_index = 0,
        Slot::Runtime => app.images.runtime_index = 0,
    }
    app.images.custom = None;
    app.status = Some((StatusKind::Success, format!("Added custom image {reference} (Python {python})")));
}

// ---- 3. Entrypoint and port -----------------------------------------------------------------

fn entry_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    if app.entry.step_edit.is_some() {
        step_edit_key(app, key);
        return Some(Vec::new());
    }
    if app.entry.focus != EntryFocus::Command
        && app.entry.focus != EntryFocus::Port
        && key.code == KeyCode::Char('s')
        && gunicorn_offer(app).is_some()
    {
        serve_with_gunicorn(app);
        return Some(Vec::new());
    }
    if app.entry.focus == EntryFocus::Steps {
        return steps_key(app, key);
    }
    let e = &mut app.entry;
    match (e.focus, key.code) {
        (_, KeyCode::Enter) => return None,
        (EntryFocus::Candidates, KeyCode::Tab | KeyCode::Char('e') | KeyCode::Char('i')) => {
            e.focus = EntryFocus::Command;
        }
        (EntryFocus::Candidates, KeyCode::BackTab) => e.focus = EntryFocus::Steps,
        (EntryFocus::Candidates, code) => {
            let i = move_index(e.selected, e.candidates.len(), code)?;
            e.selected = i;
            if let Some(c) = e.candidates.get(i) {
                let text = c.command.clone();
                e.command.set(&text);
            }
        }
        (EntryFocus::Command, KeyCode::Tab) => e.focus = EntryFocus::Port,
        (EntryFocus::Port, KeyCode::Tab) => e.focus = EntryFocus::Steps,
        (EntryFocus::Command, KeyCode::BackTab) => e.focus = EntryFocus::Candidates,
        (EntryFocus::Port, KeyCode::BackTab) => e.focus = EntryFocus::Command,
        (EntryFocus::Command | EntryFocus::Port, KeyCode::Esc) => e.focus = EntryFocus::Candidates,
        (EntryFocus::Command | EntryFocus::Port, KeyCode::Up | KeyCode::Down) => {
            let i = move_index(e.selected, e.candidates.len(), key.code)?;
            e.selected = i;
            if let Some(c) = e.candidates.get(i) {
                let text = c.command.clone();
                e.command.set(&text);
            }
        }
        (EntryFocus::Command, _) => {
            if !e.command.handle_key(key) {
                return None;
            }
        }
        (EntryFocus::Port, code) => {
            // The port holds digits only.
            if let KeyCode::Char(c) = code
                && !c.is_ascii_digit()
                && !key.modifiers.contains(KeyModifiers::CONTROL)
            {
                return Some(Vec::new());
            }
            if !e.port.handle_key(key) {
                return None;
            }
        }
        (EntryFocus::Steps, _) => return None,
    }
    e.error = None;
    Some(Vec::new())
}

/// The gunicorn command that can replace a development server (Django's runserver, flask run)
/// in the typed command, when the scan knows the app; `None` when there is nothing to offer.
pub fn gunicorn_offer(app: &App) -> Option<Vec<String>> {
    let argv = typed_entrypoint(app).ok()?;
    if !plan::runs_dev_server(&argv) {
        return None;
    }
    let port = typed_port(app).unwrap_or(plan::DEFAULT_PORT);
    plan::add_server(AppServer::Gunicorn, Some(&argv), &app.scan, port).ok().map(|(a, _)| a)
}

/// `s`: the command becomes gunicorn's for the same app, and the plan installs gunicorn when
/// the project does not depend on it (`--add-server gunicorn`).
fn serve_with_gunicorn(app: &mut App) {
    let Some(argv) = gunicorn_offer(app) else { return };
    let line = crate::scan::command_line(&argv);
    app.entry.command.set(&line);
    app.overrides.add_server = Some(AppServer::Gunicorn);
    app.entry.error = None;
    app.status = Some((StatusKind::Info, format!("Serving with gunicorn: {line} (installed into the image)")));
}

/// Keys of the steps box: move, add (a: before the server, b: at build time), edit, remove,
/// reorder (J/K), take an offered build step (Space/+).
fn steps_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    let rows = app.entry.step_rows(&app.scan);
    let cursor = app.entry.step_cursor.min(rows.len().saturating_sub(1));
    let row = rows.get(cursor).copied();
    let e = &mut app.entry;
    match key.code {
        KeyCode::Enter => return None,
        KeyCode::Tab => e.focus = EntryFocus::Candidates,
        KeyCode::BackTab => e.focus = EntryFocus::Port,
        KeyCode::Esc => e.focus = EntryFocus::Candidates,
        KeyCode::Char('a') => {
            e.step_edit = Some(StepEdit { kind: StepKind::PreStart, index: None, input: TextInput::default() });
        }
        KeyCode::Char('b') => {
            e.step_edit = Some(StepEdit { kind: StepKind::Build, index: None, input: TextInput::default() });
        }
        KeyCode::Char('e') | KeyCode::F(2) => match row {
            Some(StepRow::PreStart(i)) => {
                let input = TextInput::new(&e.pre_start[i]);
                e.step_edit = Some(StepEdit { kind: StepKind::PreStart, index: Some(i), input });
            }
            Some(StepRow::Build(i)) => {
                let input = TextInput::new(&e.build_steps[i]);
                e.step_edit = Some(StepEdit { kind: StepKind::Build, index: Some(i), input });
            }
            Some(StepRow::Offered(_)) | None => {}
        },
        KeyCode::Char(' ') | KeyCode::Char('+') => {
            if let Some(StepRow::Offered(i)) = row
                && let Some(c) = app.scan.build_step_candidates.get(i)
            {
                e.build_steps.push(c.value.clone());
                e.steps_changed = true;
            }
        }
        KeyCode::Char('d') | KeyCode::Delete => {
            match row {
                Some(StepRow::PreStart(i)) => {
                    e.pre_start.remove(i);
                }
                Some(StepRow::Build(i)) => {
                    e.build_steps.remove(i);
                }
                _ => return Some(Vec::new()),
            }
            e.steps_changed = true;
            e.step_cursor = cursor.min(e.step_rows(&app.scan).len().saturating_sub(1));
        }
        KeyCode::Char('K') | KeyCode::Char('J') => {
            let up = key.code == KeyCode::Char('K');
            let (list, i) = match row {
                Some(StepRow::PreStart(i)) => (&mut e.pre_start, i),
                Some(StepRow::Build(i)) => (&mut e.build_steps, i),
                _ => return Some(Vec::new()),
            };
            let j = if up { i.checked_sub(1) } else { (i + 1 < list.len()).then_some(i + 1) };
            if let Some(j) = j {
                list.swap(i, j);
                e.steps_changed = true;
                e.step_cursor = if up { cursor - 1 } else { cursor + 1 };
            }
        }
        code => e.step_cursor = move_index(cursor, rows.len(), code)?,
    }
    e.error = None;
    Some(Vec::new())
}

/// Typing a step: Enter keeps it (a pre-start step must split without shell operators), Esc
/// drops the edit.
fn step_edit_key(app: &mut App, key: KeyEvent) {
    let Some(edit) = app.entry.step_edit.as_mut() else { return };
    match key.code {
        KeyCode::Esc => app.entry.step_edit = None,
        KeyCode::Enter => {
            let text = edit.input.value().trim().to_string();
            if text.is_empty() {
                app.entry.step_edit = None;
                return;
            }
            if edit.kind == StepKind::PreStart
                && let Err(err) = plan::split_pre_start(&text)
            {
                app.entry.error = Some(err.to_string());
                return;
            }
            let (kind, index) = (edit.kind, edit.index);
            let e = &mut app.entry;
            let list = match kind {
                StepKind::PreStart => &mut e.pre_start,
                StepKind::Build => &mut e.build_steps,
            };
            let at = match index {
                Some(i) if i < list.len() => {
                    list[i] = text;
                    i
                }
                _ => {
                    list.push(text);
                    list.len() - 1
                }
            };
            e.step_cursor = match kind {
                StepKind::PreStart => at,
                StepKind::Build => e.pre_start.len() + at,
            };
            e.steps_changed = true;
            e.step_edit = None;
            e.error = None;
        }
        _ => {
            edit.input.handle_key(key);
            app.entry.error = None;
        }
    }
}

/// The argv typed in the command input, split like a POSIX shell.
pub fn typed_entrypoint(app: &App) -> Result<Vec<String>, String> {
    let text = app.entry.command.value();
    let argv = shlex::split(&text).ok_or_else(|| "the command has unbalanced quotes".to_string())?;
    if argv.is_empty() {
        return Err("type the command that starts the service, e.g. uvicorn app:app --host 0.0.0.0".into());
    }
    Ok(argv)
}

/// The port typed in the port input.
pub fn typed_port(app: &App) -> Result<u16, String> {
    let text = app.entry.port.value();
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("`{text}` is not a port (1-65535)")),
    }
}

fn accept_entry(app: &mut App) {
    let argv = match typed_entrypoint(app) {
        Ok(a) => a,
        Err(e) => {
            app.entry.error = Some(e);
            app.entry.focus = EntryFocus::Command;
            return;
        }
    };
    let port = match typed_port(app) {
        Ok(p) => p,
        Err(e) => {
            app.entry.error = Some(e);
            app.entry.focus = EntryFocus::Port;
            return;
        }
    };
    // gunicorn chosen with `s` and then replaced by another command: nothing to add
    if app.overrides.add_server.is_some_and(|sv| !plan::runs_program(&argv, sv.as_str())) {
        app.overrides.add_server = None;
    }
    app.overrides.entrypoint = Some(argv);
    app.overrides.port = Some(port);
    if app.entry.steps_changed {
        app.overrides.pre_start = Some(app.entry.pre_start.clone());
        app.overrides.build_steps = Some(app.entry.build_steps.clone());
    }
    app.replan();
    if let Some(Err(e)) = &app.plan {
        app.entry.error = Some(e.clone());
        return;
    }
    app.entry.focus = EntryFocus::Candidates;
    app.step = Step::Options;
}

// ---- 4. Options -----------------------------------------------------------------------------

fn options_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    match key.code {
        KeyCode::Char(' ') | KeyCode::Char('x') => {
            toggle_option(app, OptionRow::ALL[app.options.cursor]);
        }
        code => {
            app.options.cursor = move_index(app.options.cursor, OptionRow::ALL.len(), code)?;
        }
    }
    Some(Vec::new())
}

/// Flips one option in the overrides and re-plans.
pub fn toggle_option(app: &mut App, row: OptionRow) {
    app.options.error = None;
    match row {
        OptionRow::NonRoot => {
            let configured = app.config.as_ref().and_then(|c| c.user.clone());
            app.overrides.user = Some(if app.non_root() {
                "root".into()
            } else {
                configured.filter(|u| u != "root" && u != "0").unwrap_or_else(|| plan::DEFAULT_USER.into())
            });
        }
        OptionRow::NoInstallers | OptionRow::Bytecode | OptionRow::Strip => {
            let mut t = app.trim();
            match row {
                OptionRow::NoInstallers => t.keep_installers = !t.keep_installers,
                OptionRow::Bytecode => t.bytecode = !t.bytecode,
                _ => t.strip = !t.strip,
            }
            app.overrides.trim = Some(t);
        }
        OptionRow::Variant(v) => {
            let mut vs = app.variants();
            if vs.contains(&v) {
                vs.retain(|x| *x != v);
            } else {
                vs.push(v);
            }
            let ordered: Vec<Variant> = Variant::ALL.into_iter().filter(|x| vs.contains(x)).collect();
            app.overrides.variants = Some(ordered);
        }
        OptionRow::Flavour => {
            app.overrides.flavour = Some(match app.flavour() {
                Flavour::Buildkit => Flavour::Classic,
                Flavour::Classic => Flavour::Buildkit,
            });
        }
    }
    app.replan();
}

// ---- 5. Preview -----------------------------------------------------------------------------

/// Renders the chosen variants and shows the recommended one.
pub fn enter_preview(app: &mut App) {
    app.replan();
    app.preview.rendered = app.render_all();
    let recommended = match &app.plan {
        Some(Ok(p)) => Some(p.variant),
        _ => None,
    };
    app.preview.shown = app.preview.rendered.iter().position(|(v, _)| Some(*v) == recommended).unwrap_or(0);
    app.preview.scroll = 0;
    app.step = Step::Preview;
}

fn preview_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    let p = &mut app.preview;
    let n = p.rendered.len().max(1);
    match key.code {
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => {
            p.shown = (p.shown + 1) % n;
            p.scroll = 0;
        }
        KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => {
            p.shown = (p.shown + n - 1) % n;
            p.scroll = 0;
        }
        KeyCode::Down | KeyCode::Char('j') => p.scroll = p.scroll.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => p.scroll = p.scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => p.scroll = p.scroll.saturating_add(10),
        KeyCode::PageUp => p.scroll = p.scroll.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => p.scroll = 0,
        KeyCode::Char('d') => {
            if app.existing_dockerfile.is_some() {
                p.show_diff = !p.show_diff;
                p.scroll = 0;
            } else {
                app.status = Some((StatusKind::Info, "The project has no Dockerfile to compare with.".into()));
            }
        }
        KeyCode::Char('w') => return Some(write_project_files(app)),
        _ => return None,
    }
    Some(Vec::new())
}

/// Offers Dockerfile, .dockerignore, pyslim.toml and the helper files of the shown variant for writing.
fn write_project_files(app: &mut App) -> Vec<Command> {
    let Some(Ok(plan)) = &app.plan else {
        app.status = Some((StatusKind::Error, "there is no plan to write (see the messages above)".into()));
        return Vec::new();
    };
    let Some((variant, rendered)) = app.preview.current() else { return Vec::new() };
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => {
            app.status = Some((StatusKind::Error, format!("cannot write the {variant} Dockerfile: {e}")));
            return Vec::new();
        }
    };
    let mut config = plan.to_config();
    config.variant = Some(*variant);
    let root = app.root();
    let file = |name: &str, content: String| FileToWrite {
        path: root.join(name),
        content,
        state: FileState::Unknown,
        replace: false,
    };
    let mut files = vec![
        file("Dockerfile", rendered.dockerfile.clone()),
        file(".dockerignore", rendered.dockerignore.clone()),
        file(plan::CONFIG_FILE, config.to_toml()),
    ];
    // the helper files the Dockerfile copies (.pyslim/pyslim_helpers/)
    files.extend(rendered.helpers.iter().map(|h| file(&h.path, h.content.clone())));
    vec![Command::CheckWrite { purpose: WritePurpose::ProjectFiles, files }]
}

/// Starts building the chosen variants; variants whose images cannot work are skipped with
/// the reason, and without a daemon nothing starts and the engine's reason is shown.
fn start_build(app: &mut App) -> Vec<Command> {
    let plan = match &app.plan {
        Some(Ok(p)) => p.clone(),
        Some(Err(e)) => {
            app.status = Some((StatusKind::Error, format!("cannot build: {e}")));
            return Vec::new();
        }
        None => return Vec::new(),
    };
    if let DockerState::Unavailable(e) = &app.docker {
        app.status = Some((StatusKind::Error, format!("Cannot build: {e}")));
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut variants = Vec::new();
    let mut skipped = Vec::new();
    for v in app.variants() {
        let mut row = VariantRow::new(v);
        let errors: Vec<String> = plan
            .checks(v, &app.scan)
            .into_iter()
            .filter(|c| c.severity == Severity::Error)
            .map(|c| c.message)
            .collect();
        if errors.is_empty() {
            variants.push(v);
        } else {
            row.phase = Phase::Skipped(errors.join("; "));
            skipped.push(report::SkippedVariant::by_plan(v, errors.join("; ")));
        }
        rows.push(row);
    }
    if variants.is_empty() {
        app.status = Some((StatusKind::Error, "none of the chosen variants can be built (see the preview)".into()));
        return Vec::new();
    }
    app.build.rows = rows;
    app.build.state = RunState::Running;
    app.build.started = app.clock;
    app.build.ended = None;
    app.build.quit_after_cancel = false;
    app.results = None;
    app.step = Step::Build;
    let flavour = plan.flavour;
    vec![Command::StartBuild(Box::new(BuildJob { plan, scan: app.scan.clone(), variants, flavour, skipped }))]
}

// ---- 6. Build -------------------------------------------------------------------------------

fn build_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    match (key.code, &app.build.state) {
        (KeyCode::Esc | KeyCode::Backspace, RunState::Running) => {
            app.build.state = RunState::Cancelling;
            app.status = Some((StatusKind::Info, "Cancelling: stopping builds and removing containers…".into()));
            Some(vec![Command::CancelBuild])
        }
        (KeyCode::Esc | KeyCode::Backspace, RunState::Cancelling) => Some(Vec::new()),
        _ => None,
    }
}

fn on_build_event(app: &mut App, event: BuildEvent) {
    // A push from the results screen reports on the status line (its variant's row is done).
    if let BuildEvent::Push { tag, transfer, .. } = &event {
        let bytes = if transfer.bytes_total > 0 {
            format!(", {} of {}", report::human_size(transfer.bytes_done), report::human_size(transfer.bytes_total))
        } else {
            String::new()
        };
        app.status = Some((
            StatusKind::Info,
            format!("Pushing {tag}: {}/{} layers{bytes}…", transfer.layers_done, transfer.layers_total),
        ));
        return;
    }
    let clock = app.clock;
    let Some(row) = app.build.row_mut(event.variant()) else { return };
    match event {
        BuildEvent::Pull { image, transfer, .. } => {
            if row.started.is_none() {
                row.started = Some(clock);
            }
            row.phase = Phase::Pulling;
            row.pull = Some((image, transfer));
        }
        BuildEvent::Pulled { image, transfer, seconds, .. } => {
            row.pull = None;
            row.push_log(&if transfer.layers_total == 0 {
                format!("pulled {image}: every layer already in the daemon, {seconds:.1} s")
            } else {
                format!(
                    "pulled {image}: {} layers, {} in {seconds:.1} s",
                    transfer.layers_total,
                    crate::report::human_size(transfer.bytes_total)
                )
            });
        }
        // Pushes from the results screen report through `Msg::Pushed`; the rows are done by then.
        BuildEvent::Push { .. } | BuildEvent::Pushed { .. } => {}
        BuildEvent::Started { steps, .. } => {
            row.pull = None;
            row.phase = Phase::Building;
            row.started = Some(clock);
            row.total = steps;
        }
        BuildEvent::Step { index, total, name, .. } => {
            if row.started.is_none() {
                row.started = Some(clock);
                row.phase = Phase::Building;
            }
            row.step = index;
            row.total = total;
            row.step_name = name;
        }
        BuildEvent::Log { line, .. } => row.push_log(&line),
        BuildEvent::Built { size_bytes, .. } => {
            row.phase = Phase::Built;
            row.size_bytes = Some(size_bytes);
            row.step = row.total;
        }
        BuildEvent::Failed { step, message, log_tail, .. } => {
            for l in &log_tail {
                row.push_log(l);
            }
            row.phase = Phase::Failed(match step {
                Some(s) => format!("{message} (at {s})"),
                None => message,
            });
            row.ended = Some(clock);
        }
        BuildEvent::VerifyStarted { .. } => row.phase = Phase::Verifying,
        BuildEvent::ServiceStarting { .. } | BuildEvent::ServiceReady { .. } | BuildEvent::ServiceLeftOut { .. } => {
            row.push_log(&event.service_text().unwrap_or_default());
        }
        BuildEvent::Verified { ok, detail, log_tail, .. } => {
            if !ok {
                for l in &log_tail {
                    row.push_log(l);
                }
            }
            row.phase = Phase::Verified(ok);
            row.detail = Some(detail);
            row.ended = Some(clock);
        }
    }
}

// ---- 7. Results -----------------------------------------------------------------------------

fn results_key(app: &mut App, key: KeyEvent) -> Option<Vec<Command>> {
    match key.code {
        KeyCode::Char('e') => {
            app.dialog = Some(Dialog::ExportFormat { choice: 0 });
            Some(Vec::new())
        }
        KeyCode::Char('m') => Some(export(app, 0)),
        KeyCode::Char('J') => Some(export(app, 1)),
        KeyCode::Char('p') => {
            open_push(app);
            Some(Vec::new())
        }
        _ => None,
    }
}

/// Offers to push the recommended variant's image (or, when it did not start, the smallest
/// one that did): only a verified image is pushed.
fn open_push(app: &mut App) {
    if app.pushing {
        app.status = Some((StatusKind::Info, "A push is already running.".into()));
        return;
    }
    let Some(c) = &app.results else { return };
    let wanted = app.plan.as_ref().and_then(|p| p.as_ref().ok()).map(|p| p.variant);
    let verified = |v: &&crate::report::VariantResult| v.verified == Some(true);
    let pick = c
        .variants
        .iter()
        .filter(verified)
        .find(|v| Some(v.name) == wanted)
        .or_else(|| c.variants.iter().filter(verified).min_by_key(|v| v.size_bytes));
    let Some(v) = pick else {
        app.status =
            Some((StatusKind::Error, "Nothing to push: only an image that started (verified) is pushed.".into()));
        return;
    };
    let mirror = app.plan.as_ref().and_then(|p| p.as_ref().ok()).and_then(|p| p.image_mirror.clone());
    app.dialog = Some(Dialog::PushTo {
        variant: v.name,
        source: v.image.clone(),
        target: TextInput::new(&push_suggestion(&v.image, mirror.as_deref())),
    });
}

/// Where a push goes unless the user types otherwise: the image mirror's registry when it has
/// one (a team's registry), else a placeholder registry to edit.
pub fn push_suggestion(image: &str, mirror: Option<&str>) -> String {
    let registry = mirror.and_then(crate::engine::registry::registry_host).unwrap_or("registry.example");
    format!("{registry}/{image}")
}

/// Offers the comparison for writing into the project: 0 Markdown, 1 JSON.
fn export(app: &mut App, format: usize) -> Vec<Command> {
    let Some(c) = &app.results else { return Vec::new() };
    let (name, content) = if format == 0 {
        ("pyslim-comparison.md", report::markdown(c))
    } else {
        let json = serde_json::to_string_pretty(&report::json(c)).unwrap_or_default();
        ("pyslim-comparison.json", json + "\n")
    };
    let file = FileToWrite { path: app.root().join(name), content, state: FileState::Unknown, replace: false };
    vec![Command::CheckWrite { purpose: WritePurpose::Export, files: vec![file] }]
}

// ---- Dialogs --------------------------------------------------------------------------------

fn dialog_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(dialog) = app.dialog.take() else { return Vec::new() };
    // The push dialog is a text input: letters edit the reference instead of answering.
    if let Dialog::PushTo { variant, source, mut target } = dialog {
        return match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let reference = target.value().trim().to_string();
                if let Err(e) = crate::engine::registry::push_target(&reference) {
                    app.status = Some((StatusKind::Error, e.to_string()));
                    app.dialog = Some(Dialog::PushTo { variant, source, target });
                    return Vec::new();
                }
                app.pushing = true;
                app.status = Some((StatusKind::Info, format!("Pushing {reference}…")));
                vec![Command::Push { variant, source, target: reference }]
            }
            _ => {
                target.handle_key(key);
                app.dialog = Some(Dialog::PushTo { variant, source, target });
                Vec::new()
            }
        };
    }
    let toggle = matches!(
        key.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('h') | KeyCode::Char('l')
    );
    let answer = match key.code {
        KeyCode::Char('y') => Some(true),
        KeyCode::Char('n') | KeyCode::Esc => Some(false),
        KeyCode::Enter => None,
        _ => {
            if !toggle && !matches!(dialog, Dialog::ExportFormat { .. }) {
                app.dialog = Some(dialog);
                return Vec::new();
            }
            None
        }
    };
    match dialog {
        Dialog::ConfirmWrite { purpose, files, yes } => {
            if toggle {
                app.dialog = Some(Dialog::ConfirmWrite { purpose, files, yes: !yes });
                return Vec::new();
            }
            if !answer.unwrap_or(yes) {
                app.status = Some((StatusKind::Info, "Nothing written.".into()));
                return Vec::new();
            }
            next_replace(app, purpose, files, 0)
        }
        Dialog::ConfirmReplace { purpose, mut files, index, yes } => {
            if toggle {
                app.dialog = Some(Dialog::ConfirmReplace { purpose, files, index, yes: !yes });
                return Vec::new();
            }
            files[index].replace = answer.unwrap_or(yes);
            next_replace(app, purpose, files, index + 1)
        }
        Dialog::ExportFormat { choice } => match key.code {
            KeyCode::Up | KeyCode::Down | KeyCode::Char('k') | KeyCode::Left | KeyCode::Right => {
                app.dialog = Some(Dialog::ExportFormat { choice: 1 - choice });
                Vec::new()
            }
            KeyCode::Enter => export(app, choice),
            KeyCode::Char('m') => export(app, 0),
            KeyCode::Char('j') | KeyCode::Char('J') => export(app, 1),
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => Vec::new(),
            _ => {
                app.dialog = Some(Dialog::ExportFormat { choice });
                Vec::new()
            }
        },
        // Handled above, before the yes/no keys.
        Dialog::PushTo { .. } => Vec::new(),
        Dialog::ConfirmQuit { yes } => {
            if toggle {
                app.dialog = Some(Dialog::ConfirmQuit { yes: !yes });
                return Vec::new();
            }
            if answer.unwrap_or(yes) { quit_now(app) } else { Vec::new() }
        }
    }
}

/// Asks about the next file that would replace an existing one, or writes when none is left.
fn next_replace(app: &mut App, purpose: WritePurpose, files: Vec<FileToWrite>, from: usize) -> Vec<Command> {
    if let Some(index) = (from..files.len()).find(|&i| files[i].state == FileState::Differs) {
        // Replacing a user's file defaults to "no": Enter alone never overwrites.
        app.dialog = Some(Dialog::ConfirmReplace { purpose, files, index, yes: false });
        return Vec::new();
    }
    let to_write: Vec<FileToWrite> = files
        .into_iter()
        .filter(|f| f.state == FileState::New || (f.state == FileState::Differs && f.replace))
        .collect();
    if to_write.is_empty() {
        app.status = Some((StatusKind::Info, "Nothing written.".into()));
        return Vec::new();
    }
    vec![Command::Write(to_write)]
}
