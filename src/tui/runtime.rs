//! The runtime: owns the terminal (ratatui's `try_init`/`restore`, whose panic hook restores the
//! terminal before a panic message is printed), one channel of [`Msg`]s fed by an input thread
//! and by background work, and the executor of the [`Command`]s that `update` returns. Slow work
//! (scan, Docker) runs on other threads or tokio tasks holding a sender clone, so input and
//! drawing never wait for it.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::engine::events::BuildEvent;
use crate::engine::run::{self, VariantJob};
use crate::engine::{self, CancellationToken, Engine, EngineError};
use crate::fsutil::{self, WriteOutcome};
use crate::plan::Config;
use crate::report::{Comparison, SkippedVariant};
use crate::scan;

use super::app::App;
use super::message::{BuildJob, Command, FileState, FileToWrite, Loaded, Msg};
use super::update::update;
use super::view;

/// How often the clock advances (spinners, elapsed times).
const TICK: Duration = Duration::from_millis(100);

/// Runs the wizard until the user quits; the terminal is restored on every path.
pub fn run(mut app: App) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(tx.clone(), stop.clone());
    let mut exec = Executor { tx, rt, build: None };
    let result = event_loop(&mut terminal, &mut app, &rx, &mut exec);
    stop.store(true, Ordering::Relaxed);
    // A build still running (an error path) is cancelled and cleaned up before leaving.
    exec.shutdown();
    ratatui::restore();
    let _ = input.join();
    result.map(|()| ExitCode::SUCCESS)
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    exec: &mut Executor,
) -> Result<()> {
    for c in app.init() {
        exec.run(c);
    }
    exec.watch_signals();
    terminal.draw(|f| view::draw(f, app))?;
    loop {
        let msg = rx.recv().context("the input thread stopped")?;
        let mut commands = update(app, msg);
        // Apply what else is queued before drawing once.
        while let Ok(m) = rx.try_recv() {
            commands.extend(update(app, m));
        }
        for c in commands {
            exec.run(c);
        }
        if app.quit {
            return Ok(());
        }
        terminal.draw(|f| view::draw(f, app))?;
    }
}

/// Reads terminal events (key presses, resizes) and sends them with a clock tick.
fn spawn_input(tx: Sender<Msg>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut last_tick = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match event::poll(TICK) {
                Ok(true) => {
                    let msg = match event::read() {
                        Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
                        Ok(Event::Resize(w, h)) => Some(Msg::Resize(w, h)),
                        Ok(_) => None,
                        // The terminal went away (its pty closed): poll keeps saying "readable"
                        // and read keeps failing, so leave like SIGHUP instead of spinning.
                        Err(_) => {
                            let _ = tx.send(Msg::Terminate);
                            return;
                        }
                    };
                    if let Some(m) = msg
                        && tx.send(m).is_err()
                    {
                        return;
                    }
                }
                Ok(false) => {}
                Err(_) => {
                    let _ = tx.send(Msg::Terminate);
                    return;
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                if tx.send(Msg::Tick(start.elapsed())).is_err() {
                    return;
                }
            }
        }
    })
}

/// A running build: how to stop it and how to wait for it.
struct RunningBuild {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

/// Performs commands; answers come back on the channel.
struct Executor {
    tx: Sender<Msg>,
    rt: tokio::runtime::Runtime,
    build: Option<RunningBuild>,
}

impl Executor {
    fn run(&mut self, command: Command) {
        let tx = self.tx.clone();
        match command {
            Command::Load(path) => {
                std::thread::spawn(move || {
                    let _ = tx.send(Msg::Loaded(load(&path)));
                });
            }
            Command::CheckDocker => {
                self.rt.spawn(async move {
                    let _ = tx.send(Msg::Docker(check_docker().await));
                });
            }
            Command::CheckWrite { purpose, files } => {
                let _ = tx.send(Msg::WriteChecked { purpose, files: check_write(files) });
            }
            Command::Write(files) => {
                let _ = tx.send(Msg::Written(write_files(&files)));
            }
            Command::StartBuild(job) => {
                let cancel = CancellationToken::new();
                let handle = self.rt.spawn(build_all(*job, tx, cancel.clone()));
                self.build = Some(RunningBuild { cancel, handle });
            }
            Command::CancelBuild => match &self.build {
                Some(b) if !b.handle.is_finished() => b.cancel.cancel(),
                _ => {
                    let _ = tx.send(Msg::BuildCancelled);
                }
            },
            Command::Push { variant, source, target } => {
                self.rt.spawn(async move {
                    let result = push(variant, &source, &target, &tx).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Pushed(variant, result));
                });
            }
            Command::Quit => {}
        }
    }

    /// Turns SIGTERM and SIGHUP into `Msg::Terminate`, so the terminal is restored and a
    /// running build cleaned up when the wizard is killed or its terminal closes.
    fn watch_signals(&self) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let tx = self.tx.clone();
            self.rt.spawn(async move {
                let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup()))
                else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = hup.recv() => {}
                    }
                    if tx.send(Msg::Terminate).is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Stops a build that is still running and waits (bounded) for its clean-up.
    fn shutdown(&mut self) {
        if let Some(b) = self.build.take()
            && !b.handle.is_finished()
        {
            b.cancel.cancel();
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), b.handle).await });
        }
    }
}

/// Scans the project and reads `pyslim.toml` and the existing Dockerfile.
pub fn load(path: &Path) -> Result<Box<Loaded>, String> {
    let scan = scan::scan(path).map_err(|e| e.to_string())?;
    let config = Config::load(&scan.root).map_err(|e| e.to_string())?;
    let existing_dockerfile = std::fs::read_to_string(scan.root.join("Dockerfile")).ok();
    Ok(Box::new(Loaded { scan, config, existing_dockerfile }))
}

/// Connects to the daemon the way the CLI does; the error is the engine's own message.
pub async fn check_docker() -> Result<String, String> {
    let e = Engine::connect().await.map_err(|e| e.to_string())?;
    Ok(format!("{} at {}", e.server, e.endpoint.host))
}

/// What writing each file would do.
pub fn check_write(files: Vec<FileToWrite>) -> Vec<FileToWrite> {
    files
        .into_iter()
        .map(|mut f| {
            f.state = match std::fs::read(&f.path) {
                Ok(old) if old == f.content.as_bytes() => FileState::Unchanged,
                Ok(_) => FileState::Differs,
                Err(_) => FileState::New,
            };
            f
        })
        .collect()
}

/// Writes through `fsutil::write_file`: a file is replaced only when the user agreed, and then
/// the previous content is kept as a backup. A new file, or a helper file pyslim wrote and nobody
/// edited, is written with `fsutil::refresh_file` (no backup, folders made).
pub fn write_files(files: &[FileToWrite]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for f in files {
        let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let pristine = std::fs::read_to_string(&f.path).is_ok_and(|old| crate::render::helpers::is_pristine(&old));
        let written = if pristine || !f.path.exists() {
            fsutil::refresh_file(&f.path, &f.content)
        } else {
            fsutil::write_file(&f.path, &f.content, f.replace)
        };
        match written.map_err(|e| e.to_string())? {
            WriteOutcome::Created(_) => out.push(format!("wrote {name}")),
            WriteOutcome::Unchanged(_) => out.push(format!("{name} unchanged")),
            WriteOutcome::Refreshed(_) => out.push(format!("refreshed {name}")),
            WriteOutcome::Replaced { backup, .. } => out.push(format!(
                "replaced {name} (backup {})",
                backup.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            )),
        }
    }
    Ok(out)
}

/// Tags the verified image under the registry reference and pushes it, forwarding progress.
async fn push(
    variant: crate::plan::Variant,
    source: &str,
    target: &str,
    tx: &Sender<Msg>,
) -> Result<crate::report::PushedImage, EngineError> {
    let engine = Engine::connect().await?;
    if source != target {
        engine.tag_image(source, target).await?;
    }
    let (etx, forward) = forward_events(tx);
    let result = engine.push(target, variant, &etx, &CancellationToken::new()).await;
    drop(etx);
    let _ = forward.await;
    Ok(crate::report::PushedImage { reference: target.to_string(), digest: result? })
}

/// An engine event channel whose events reach the wizard as `Msg::Build`; the task ends when
/// the sender is dropped (await it to deliver the last events).
fn forward_events(
    tx: &Sender<Msg>,
) -> (tokio::sync::mpsc::UnboundedSender<crate::engine::events::BuildEvent>, tokio::task::JoinHandle<()>) {
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let fwd_tx = tx.clone();
    let forward = tokio::spawn(async move {
        while let Some(ev) = erx.recv().await {
            if fwd_tx.send(Msg::Build(ev)).is_err() {
                break;
            }
        }
    });
    (etx, forward)
}

/// Builds and verifies each variant in turn through the engine, forwarding its events, then
/// sends the comparison. Cancel stops the current step; the engine removes its containers.
async fn build_all(job: BuildJob, tx: Sender<Msg>, cancel: CancellationToken) {
    let result = build_and_compare(&job, &tx, &cancel).await;
    let _ = tx.send(match result {
        Ok(c) => Msg::BuildFinished(Ok(c)),
        Err(EngineError::Cancelled) => Msg::BuildCancelled,
        Err(e) => Msg::BuildFinished(Err(e.to_string())),
    });
}

async fn build_and_compare(
    job: &BuildJob,
    tx: &Sender<Msg>,
    cancel: &CancellationToken,
) -> Result<Comparison, EngineError> {
    let engine = Engine::connect().await?;
    let (etx, forward) = forward_events(tx);
    // a package added for a missing header stays for the later variants
    let (mut plan, scan) = (job.plan.clone(), &job.scan);
    let mut comparison =
        Comparison { project: run::project_name(scan), variants: Vec::new(), skipped: job.skipped.clone() };
    // The same pipeline as `pyslim compare`: check and render for the daemon's builder, build, verify.
    for &variant in &job.variants {
        let rendered = match run::prepare(&plan, scan, variant, engine.builder) {
            Ok(r) => r,
            Err(reason) => {
                let _ =
                    etx.send(BuildEvent::Failed { variant, step: None, message: reason.clone(), log_tail: Vec::new() });
                comparison.skipped.push(SkippedVariant::by_plan(variant, reason));
                continue;
            }
        };
        let make_job = |plan: &crate::plan::BuildPlan, rendered| {
            let mut vjob = VariantJob::new(plan, scan, rendered, None);
            vjob.verify = Some(engine::verify::DEFAULT_TIMEOUT);
            vjob
        };
        let vjob = make_job(&plan, rendered);
        match engine.run_variant_adding_packages(&mut plan, scan, vjob, make_job, &etx, cancel).await {
            Ok(outcome) => comparison.variants.push(outcome.to_result()),
            Err(EngineError::Cancelled) => return Err(EngineError::Cancelled),
            // The daemon or the registry failing fails every variant alike: stop at the first.
            Err(
                e @ (EngineError::Unavailable { .. }
                | EngineError::Api { .. }
                | EngineError::PullFailed { .. }
                | EngineError::Credentials(_)),
            ) => return Err(e),
            // The engine reported the failure as an event; go on with the next variant.
            Err(e) => comparison.skipped.push(run::skipped(variant, &e)),
        }
    }
    drop(etx);
    let _ = forward.await;
    Ok(comparison)
}
