//! `pyslim build` and `pyslim compare`: progress display and result formats over `engine`.
//! Progress is a bar per build on a terminal (plain lines otherwise), always on stderr, so
//! stdout carries only the result (text, JSON or Markdown). Ctrl-C and SIGTERM cancel: the
//! engine removes what it started before pyslim exits with code 130.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{PlanArgs, ProjectArgs, PullArgs};
use crate::engine::events::{BuildEvent, StepState, Transfer, shorten, step_label};
use crate::engine::run::{self, VariantJob};
use crate::engine::{CancellationToken, Engine, EngineError};
use crate::plan::Variant;
use crate::report::{self, Comparison, LayerRole, SkippedVariant, VariantResult};

/// Exit code when a built image did not start (or, in compare, a variant failed to build or start); 2 stays clap's usage error.
const EXIT_NOT_VERIFIED: u8 = 3;
/// Exit code after Ctrl-C / SIGTERM (128 + SIGINT).
const EXIT_CANCELLED: u8 = 130;

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub pull: PullArgs,
    /// Tag for the image (default pyslim/<project>:<variant>); with --push it must name a
    /// registry: registry.example/team/app:1, 127.0.0.1:5000/app:1.
    #[arg(long)]
    pub tag: Option<String>,
    /// After the image passed verify (implied), push it under --tag with the docker CLI's
    /// credentials; prints the pushed digest. An image that did not start is not pushed.
    #[arg(long)]
    pub push: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run the image and check that it answers HTTP on its port (exit code 3 if it does not).
    #[arg(long)]
    pub verify: bool,
    /// Seconds the service gets to answer when verifying (and each --service to be ready).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Build without the layer cache (a cold build, e.g. to measure build time).
    #[arg(long)]
    pub no_cache: bool,
    /// minimal: trace the service again and rewrite .pyslim/trace.txt (traced anyway when missing).
    #[arg(long)]
    pub trace: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub pull: PullArgs,
    /// Variants to build, comma separated (default: `variants` of pyslim.toml, else all five:
    /// naive,slim,multistage-slim,distroless,minimal; minimal first traces the service in a full image).
    #[arg(long, value_delimiter = ',')]
    pub variants: Option<Vec<crate::plan::Variant>>,
    /// Print one JSON object instead of a table.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print a Markdown table (for a pull-request comment).
    #[arg(long)]
    pub markdown: bool,
    /// Do not run the images (by default each one must answer HTTP).
    #[arg(long)]
    pub no_verify: bool,
    /// Seconds each service gets to answer when verifying (and each --service to be ready).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Build without the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// minimal: trace the service again and rewrite .pyslim/trace.txt (traced anyway when missing).
    #[arg(long)]
    pub trace: bool,
}

pub fn build(mut args: BuildArgs) -> Result<ExitCode> {
    let project = args.project.open()?;
    args.plan.pull = args.pull.pull;
    let (scan, mut plan) = super::load_plan(&project, &args.plan)?;
    let variant = plan.variant;
    if args.verify {
        warn_verify_env(&plan, &scan);
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let engine = Engine::connect().await?;
        let rendered = match run::prepare(&plan, &scan, variant, engine.builder) {
            Ok(r) => r,
            Err(reason) => bail!("cannot build the {variant} variant: {reason}"),
        };
        let make_job = |plan: &crate::plan::BuildPlan, rendered| {
            let mut job = VariantJob::new(plan, &scan, rendered, args.tag.clone());
            // Push implies verify: only an image that started is pushed.
            job.verify = (args.verify || args.push).then(|| Duration::from_secs(args.timeout));
            job.no_cache = args.no_cache;
            retrace(&mut job, args.trace);
            job.push = args.push;
            job
        };
        let job = make_job(&plan, rendered);
        if args.push {
            // Refused before anything is built: a tag without a registry would go to Docker Hub.
            crate::engine::registry::push_target(&job.tag)?;
        }
        let cancel = cancel_on_signals();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let display = tokio::spawn(show_progress(rx));
        eprintln!("building {variant} with {} ({}) at {}", engine.server, builder_name(&engine), engine.endpoint);
        let outcome = engine.run_variant_adding_packages(&mut plan, &scan, job, make_job, &tx, &cancel).await;
        drop(tx);
        let _ = display.await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(EngineError::Cancelled) => {
                eprintln!("cancelled; containers started by pyslim were removed");
                return Ok(ExitCode::from(EXIT_CANCELLED));
            }
            Err(
                e @ (EngineError::BuildFailed { .. }
                | EngineError::MissingBaseImage { .. }
                | EngineError::PullFailed { .. }),
            ) if args.json => {
                // The JSON reader gets the cause and the remedy too, not only stderr.
                let failed = run::skipped(variant, &e);
                let mut out = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut out, &failed)?;
                writeln!(out)?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let result = outcome.to_result();
        if args.push && result.verified == Some(false) {
            eprintln!("not pushed: {} did not start, so it stays local", result.image);
        }
        let mut out = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer_pretty(&mut out, &result)?;
            writeln!(out)?;
        } else {
            write!(out, "{}", summary(&result))?;
        }
        Ok(if result.verified == Some(false) { ExitCode::from(EXIT_NOT_VERIFIED) } else { ExitCode::SUCCESS })
    })
}

pub fn compare(mut args: CompareArgs) -> Result<ExitCode> {
    let project = args.project.open()?;
    args.plan.pull = args.pull.pull;
    let (scan, mut plan) = super::load_plan(&project, &args.plan)?;
    let variants = args.variants.clone().unwrap_or_else(|| plan.variants.clone());
    if !args.no_verify {
        warn_verify_env(&plan, &scan);
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let engine = Engine::connect().await?;
        let cancel = cancel_on_signals();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let display = tokio::spawn(show_progress(rx));
        eprintln!(
            "comparing {} variant(s) with {} ({}) at {}",
            variants.len(),
            engine.server,
            builder_name(&engine),
            engine.endpoint
        );
        let mut comparison = Comparison { project: run::project_name(&scan), ..Default::default() };
        let mut failed = false;
        for variant in variants {
            let rendered = match run::prepare(&plan, &scan, variant, engine.builder) {
                Ok(r) => r,
                Err(reason) => {
                    eprintln!("skipping {variant}: {reason}");
                    comparison.skipped.push(SkippedVariant::by_plan(variant, reason));
                    continue;
                }
            };
            let make_job = |plan: &crate::plan::BuildPlan, rendered| {
                let mut job = VariantJob::new(plan, &scan, rendered, None);
                job.verify = (!args.no_verify).then(|| Duration::from_secs(args.timeout));
                job.no_cache = args.no_cache;
                retrace(&mut job, args.trace);
                job
            };
            let job = make_job(&plan, rendered);
            match engine.run_variant_adding_packages(&mut plan, &scan, job, make_job, &tx, &cancel).await {
                Ok(o) => {
                    failed |= o.verify.as_ref().is_some_and(|v| !v.ok);
                    comparison.variants.push(o.to_result());
                }
                Err(EngineError::Cancelled) => {
                    drop(tx);
                    let _ = display.await;
                    eprintln!("cancelled; containers started by pyslim were removed");
                    return Ok(ExitCode::from(EXIT_CANCELLED));
                }
                // The daemon or the registry failing fails every variant alike: stop at the first.
                Err(
                    e @ (EngineError::Unavailable { .. }
                    | EngineError::Api { .. }
                    | EngineError::PullFailed { .. }
                    | EngineError::Credentials(_)),
                ) => {
                    drop(tx);
                    let _ = display.await;
                    return Err(e.into());
                }
                Err(e) => {
                    failed = true;
                    comparison.skipped.push(run::skipped(variant, &e));
                }
            }
        }
        drop(tx);
        let _ = display.await;
        let mut out = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer_pretty(&mut out, &report::json(&comparison))?;
            writeln!(out)?;
        } else if args.markdown {
            write!(out, "{}", report::markdown(&comparison))?;
        } else {
            write!(out, "{}", report::text(&comparison, 40))?;
        }
        Ok(if failed { ExitCode::from(EXIT_NOT_VERIFIED) } else { ExitCode::SUCCESS })
    })
}

/// `--trace`: a minimal job traces again; otherwise it traces only when there is no trace file.
fn retrace(job: &mut VariantJob, asked: bool) {
    if let Some(m) = job.minimal.as_mut() {
        m.trace |= asked;
        if m.trace {
            eprintln!(
                "minimal: tracing the service; this run writes {} (pyslim's own file: commit it)",
                m.trace_file.display()
            );
        }
    }
}

/// Before verifying: the variables the service needs at start that the run does not set.
fn warn_verify_env(plan: &crate::plan::BuildPlan, scan: &crate::scan::ScanReport) {
    for c in plan.verify_env_checks(scan) {
        eprintln!("warning: {}", c.message);
    }
}

fn builder_name(engine: &Engine) -> &'static str {
    match engine.builder {
        crate::engine::Builder::Buildkit => "BuildKit",
        crate::engine::Builder::Classic => "classic builder",
    }
}

/// A token that Ctrl-C or SIGTERM cancels.
fn cancel_on_signals() -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        eprintln!("\ncancelling: stopping the build and removing containers...");
        token.cancel();
    });
    cancel
}

/// One-paragraph result of `pyslim build`.
fn summary(r: &VariantResult) -> String {
    let roles: Vec<String> = LayerRole::ALL
        .iter()
        .map(|role| (role, r.bytes_by_role(*role)))
        .filter(|(_, b)| *b > 0)
        .map(|(role, b)| format!("{} {}", role.as_str(), report::human_size(b)))
        .collect();
    let mut s = format!(
        "{}: {} in {} layers ({}), built in {:.1}s\n",
        r.image,
        report::human_size(r.size_bytes),
        r.layers.len(),
        roles.join(", "),
        r.build_seconds
    );
    match (r.verified, &r.verify_detail) {
        (Some(true), Some(d)) => s.push_str(&format!("verified: {d}\n")),
        (Some(false), Some(d)) => s.push_str(&format!("NOT verified: {d}\n")),
        _ => {}
    }
    if let Some(m) = &r.minimal {
        s.push_str(&format!("minimal: {}\n", m.summary()));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("cause: {e}\n"));
    }
    if let Some(h) = &r.hint {
        s.push_str(&format!("hint: {h}\n"));
    }
    if let Some(p) = &r.pushed {
        s.push_str(&format!("pushed: {} ({})\n", p.reference, p.digest));
    }
    s
}

/// Renders progress events on stderr until the channel closes.
async fn show_progress(mut rx: tokio::sync::mpsc::UnboundedReceiver<BuildEvent>) {
    let tty = std::io::stderr().is_terminal();
    let mut view = if tty { View::Bars(Bars::default()) } else { View::Plain(HashMap::new()) };
    while let Some(ev) = rx.recv().await {
        match &mut view {
            View::Plain(layers_done) => plain(&ev, layers_done),
            View::Bars(b) => b.show(&ev),
        }
    }
}

enum View {
    /// Layers done per pulled or pushed image, so each completed layer prints one line.
    Plain(HashMap<String, usize>),
    Bars(Bars),
}

/// `2/5 layers, 31.4 MB/60.2 MB`.
fn transfer_text(t: &Transfer) -> String {
    if t.layers_total == 0 && t.layers_done == 0 {
        // The daemon had every layer (another tag of the same image): it lists none.
        return "every layer already in the daemon".into();
    }
    let bytes = if t.bytes_total > 0 {
        format!(", {}/{}", report::human_size(t.bytes_done), report::human_size(t.bytes_total))
    } else {
        String::new()
    };
    format!("{}/{} layers{bytes}", t.layers_done, t.layers_total)
}

/// Plain lines, like `docker build --progress=plain`.
fn plain(ev: &BuildEvent, layers_done: &mut HashMap<String, usize>) {
    match ev {
        BuildEvent::Pull { variant, image, transfer } | BuildEvent::Push { variant, tag: image, transfer } => {
            let verb = if matches!(ev, BuildEvent::Pull { .. }) { "pulling" } else { "pushing" };
            match layers_done.insert(image.clone(), transfer.layers_done) {
                None => eprintln!("==> {variant}: {verb} {image}"),
                Some(before) if before != transfer.layers_done => {
                    eprintln!("    {image}: {}", transfer_text(transfer));
                }
                Some(_) => {}
            }
        }
        BuildEvent::Pulled { variant, image, transfer, seconds } => {
            layers_done.remove(image);
            eprintln!("==> {variant}: pulled {image} ({}) in {seconds:.1}s", transfer_text(transfer));
        }
        BuildEvent::Pushed { variant, tag, digest, transfer, seconds } => {
            layers_done.remove(tag);
            eprintln!("==> {variant}: pushed {tag} ({}) in {seconds:.1}s: {digest}", transfer_text(transfer));
        }
        BuildEvent::Started { variant, tag, steps } => eprintln!("==> {variant}: building {tag} ({steps} steps)"),
        BuildEvent::Step { variant, index, total, name, state } => match state {
            StepState::Running => eprintln!("[{variant} {index}/{total}] {}", step_label(name)),
            StepState::Cached => eprintln!("[{variant} {index}/{total}] CACHED {}", step_label(name)),
            StepState::Done => {}
            StepState::Failed => eprintln!("[{variant} {index}/{total}] FAILED {}", step_label(name)),
        },
        BuildEvent::Log { line, .. } => eprintln!("    {line}"),
        BuildEvent::Built { variant, tag, size_bytes, seconds, .. } => {
            eprintln!("==> {variant}: built {tag}, {} in {seconds:.1}s", report::human_size(*size_bytes));
        }
        BuildEvent::Failed { variant, step, message, log_tail } => failed(*variant, step, message, log_tail),
        BuildEvent::VerifyStarted { variant, container } => eprintln!("==> {variant}: verifying in {container}"),
        BuildEvent::Verified { variant, ok, detail, log_tail } => verified(*variant, *ok, detail, log_tail),
        BuildEvent::ServiceStarting { variant, .. }
        | BuildEvent::ServiceReady { variant, .. }
        | BuildEvent::ServiceLeftOut { variant, .. } => {
            eprintln!("==> {variant}: {}", ev.service_text().unwrap_or_default());
        }
    }
}

fn failed(variant: Variant, step: &Option<String>, message: &str, log_tail: &[String]) {
    let at = step.as_ref().map(|s| format!(" at {}", step_label(s))).unwrap_or_default();
    eprintln!("==> {variant}: FAILED{at}: {message}");
    for l in log_tail {
        eprintln!("    | {l}");
    }
}

fn verified(variant: Variant, ok: bool, detail: &str, log_tail: &[String]) {
    if ok {
        eprintln!("==> {variant}: verified ({detail})");
    } else {
        eprintln!("==> {variant}: did NOT start: {detail}");
        for l in log_tail {
            eprintln!("    | {l}");
        }
    }
}

/// A progress bar per build, finished steps printed above it.
#[derive(Default)]
struct Bars {
    multi: Option<MultiProgress>,
    bars: HashMap<Variant, ProgressBar>,
    current: HashMap<Variant, String>,
    /// Byte bars of pulls and pushes, by image reference.
    transfers: HashMap<String, ProgressBar>,
}

impl Bars {
    fn multi(&mut self) -> &MultiProgress {
        self.multi.get_or_insert_with(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
    }

    fn println(&mut self, line: String) {
        let _ = self.multi().println(line);
    }

    /// The byte bar of a pull or push, created on its first event.
    fn transfer_bar(&mut self, v: Variant, verb: &str, image: &str) -> ProgressBar {
        if let Some(pb) = self.transfers.get(image) {
            return pb.clone();
        }
        let style = ProgressStyle::with_template(
            "{spinner} {prefix:.bold} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let pb = self.multi().add(ProgressBar::new(0));
        pb.set_style(style);
        pb.set_prefix(format!("{v} {verb}"));
        pb.enable_steady_tick(Duration::from_millis(120));
        self.transfers.insert(image.to_string(), pb.clone());
        pb
    }

    fn show(&mut self, ev: &BuildEvent) {
        let v = ev.variant();
        match ev {
            BuildEvent::Pull { image, transfer, .. } | BuildEvent::Push { tag: image, transfer, .. } => {
                let verb = if matches!(ev, BuildEvent::Pull { .. }) { "pull" } else { "push" };
                let pb = self.transfer_bar(v, verb, image);
                pb.set_length(transfer.bytes_total);
                pb.set_position(transfer.bytes_done);
                pb.set_message(format!("{} {image}", transfer_text(transfer)));
            }
            BuildEvent::Pulled { image, transfer, seconds, .. } => {
                if let Some(pb) = self.transfers.remove(image) {
                    pb.finish_and_clear();
                }
                self.println(format!("✓ {v}: pulled {image} ({}) in {seconds:.1}s", transfer_text(transfer)));
            }
            BuildEvent::Pushed { tag, digest, transfer, seconds, .. } => {
                if let Some(pb) = self.transfers.remove(tag) {
                    pb.finish_and_clear();
                }
                self.println(format!("✓ {v}: pushed {tag} ({}) in {seconds:.1}s: {digest}", transfer_text(transfer)));
            }
            BuildEvent::Started { tag, steps, .. } => {
                let style = ProgressStyle::with_template("{spinner} {prefix:.bold} [{bar:24}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                let pb = self.multi().add(ProgressBar::new(*steps as u64));
                pb.set_style(style);
                pb.set_prefix(v.to_string());
                pb.set_message(format!("building {tag}"));
                pb.enable_steady_tick(Duration::from_millis(120));
                self.bars.insert(v, pb);
            }
            BuildEvent::Step { index, total, name, state, .. } => {
                let Some(pb) = self.bars.get(&v).cloned() else { return };
                pb.set_length(*total as u64);
                match state {
                    StepState::Running => {
                        self.current.insert(v, format!("[{index}/{total}] {name}"));
                        pb.set_message(format!("[{index}/{total}] {name}"));
                    }
                    StepState::Cached | StepState::Done => {
                        pb.set_position((*index as u64).max(pb.position()));
                        let mark = if *state == StepState::Cached { " (cached)" } else { "" };
                        self.println(format!("  ✓ {v} [{index}/{total}] {}{mark}", shorten(name, 90)));
                    }
                    StepState::Failed => self.println(format!("  ✗ {v} [{index}/{total}] {}", shorten(name, 90))),
                }
            }
            BuildEvent::Log { line, .. } => {
                if let Some(pb) = self.bars.get(&v) {
                    let step = self.current.get(&v).cloned().unwrap_or_default();
                    pb.set_message(format!("{} │ {}", shorten(&step, 40), shorten(line, 80)));
                }
            }
            BuildEvent::Built { tag, size_bytes, seconds, .. } => {
                if let Some(pb) = self.bars.remove(&v) {
                    pb.finish_and_clear();
                }
                self.println(format!("✓ {v}: built {tag}, {} in {seconds:.1}s", report::human_size(*size_bytes)));
            }
            BuildEvent::Failed { step, message, log_tail, .. } => {
                if let Some(pb) = self.bars.remove(&v) {
                    pb.finish_and_clear();
                }
                for (_, pb) in self.transfers.drain() {
                    pb.finish_and_clear();
                }
                self.multi().suspend(|| failed(v, step, message, log_tail));
            }
            BuildEvent::VerifyStarted { container, .. } => {
                let pb = self.multi().add(ProgressBar::new_spinner());
                pb.set_message(format!("{v}: waiting for {container} to answer HTTP"));
                pb.enable_steady_tick(Duration::from_millis(120));
                self.bars.insert(v, pb);
            }
            BuildEvent::Verified { ok, detail, log_tail, .. } => {
                if let Some(pb) = self.bars.remove(&v) {
                    pb.finish_and_clear();
                }
                let (ok, detail, tail) = (*ok, detail.clone(), log_tail.clone());
                self.multi().suspend(|| verified(v, ok, &detail, &tail));
            }
            BuildEvent::ServiceStarting { .. }
            | BuildEvent::ServiceReady { .. }
            | BuildEvent::ServiceLeftOut { .. } => {
                let mark = if matches!(ev, BuildEvent::ServiceLeftOut { .. }) { "!" } else { "✓" };
                let text = ev.service_text().unwrap_or_default();
                if matches!(ev, BuildEvent::ServiceStarting { .. }) {
                    self.println(format!("  {v}: {text}"));
                } else {
                    self.println(format!("{mark} {v}: {text}"));
                }
            }
        }
    }
}
