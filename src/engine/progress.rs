//! Turns the daemon's progress dialects into [`BuildEvent`]s: the classic builder's JSON
//! stream (`Step 3/12 : RUN ...`, ` ---> Using cache`), the same stream from Podman, whose
//! Buildah numbers steps per stage (`[2/2] STEP 4/10: COPY ...`, `--> Using cache <id>`), and
//! BuildKit's status stream (vertexes started/completed/cached/errored, logs). Pure state machines: no I/O, unit-tested on text.

use std::collections::{HashMap, VecDeque};

use bollard::moby::buildkit::v1::StatusResponse;

use super::events::{BuildEvent, StepState};
use crate::plan::Variant;

/// How many log lines a failure report keeps.
pub const LOG_TAIL: usize = 20;

/// How many log lines a failure's diagnosis reads: the cause (`pg_config executable not
/// found`) often scrolls out of the last 20 under pip's own summary.
pub const DIAGNOSIS_TAIL: usize = 300;

/// Counts the instructions of a Dockerfile (what the classic builder numbers as steps).
pub fn count_steps(dockerfile: &str) -> usize {
    count_instructions(dockerfile, |_| true)
}

/// Counts the instructions BuildKit shows as steps (`FROM`, `RUN`, `COPY`, `ADD`, `WORKDIR`);
/// metadata instructions (`ENV`, `USER`, `CMD`, ...) have no vertex.
pub fn count_buildkit_steps(dockerfile: &str) -> usize {
    count_instructions(dockerfile, |word| {
        ["FROM", "RUN", "COPY", "ADD", "WORKDIR"].iter().any(|k| k.eq_ignore_ascii_case(word))
    })
}

fn count_instructions(dockerfile: &str, counts: impl Fn(&str) -> bool) -> usize {
    let mut n = 0;
    let mut continued = false;
    for line in dockerfile.lines() {
        let t = line.trim();
        if continued {
            continued = t.ends_with('\\');
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if counts(t.split_whitespace().next().unwrap_or_default()) {
            n += 1;
        }
        continued = t.ends_with('\\');
        // Heredocs (`RUN <<EOF`) are rare in pyslim's output and would over-count; accepted.
    }
    n
}

/// Last log lines, kept for failure reports.
#[derive(Clone, Debug, Default)]
pub struct Tail {
    lines: VecDeque<String>,
}

impl Tail {
    pub fn push(&mut self, line: String) {
        if self.lines.len() == DIAGNOSIS_TAIL {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
    /// The last [`LOG_TAIL`] lines (what a failure report shows).
    pub fn to_vec(&self) -> Vec<String> {
        self.lines.iter().skip(self.lines.len().saturating_sub(LOG_TAIL)).cloned().collect()
    }
    /// The last [`DIAGNOSIS_TAIL`] lines (what a diagnosis reads).
    pub fn all(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

/// Progress of a classic-builder build.
#[derive(Debug)]
pub struct ClassicProgress {
    variant: Variant,
    current: Option<(usize, usize, String)>,
    current_cached: bool,
    /// Names of steps that were served from the cache.
    pub cached: Vec<String>,
    /// Intermediate image ids this build created (not cache hits), oldest first.
    pub created_images: Vec<String>,
    pub tail: Tail,
    pending: String,
    /// Buildah (Podman) numbers steps per stage: the stage now, and the steps of the stages before.
    stage: Option<usize>,
    stage_steps: usize,
    stage_offset: usize,
}

impl ClassicProgress {
    pub fn new(variant: Variant) -> Self {
        Self {
            variant,
            current: None,
            current_cached: false,
            cached: Vec::new(),
            created_images: Vec::new(),
            tail: Tail::default(),
            pending: String::new(),
            stage: None,
            stage_steps: 0,
            stage_offset: 0,
        }
    }

    /// The step that is running now (`RUN pip install ...`).
    pub fn current_step(&self) -> Option<String> {
        self.current.as_ref().map(|(i, n, name)| format!("Step {i}/{n} : {name}"))
    }

    /// Feeds one `stream` string (may hold several lines or half a line).
    pub fn feed(&mut self, chunk: &str, out: &mut Vec<BuildEvent>) {
        self.pending.push_str(chunk);
        while let Some(pos) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=pos).collect();
            self.line(line.trim_end_matches(['\n', '\r']), out);
        }
    }

    fn finish_current(&mut self, out: &mut Vec<BuildEvent>) {
        if let Some((index, total, name)) = self.current.take() {
            let state = if self.current_cached { StepState::Cached } else { StepState::Done };
            out.push(BuildEvent::Step { variant: self.variant, index, total, name, state });
        }
        self.current_cached = false;
    }

    /// `[2/2] STEP 4/10: COPY . /app/` (or without the stage) as a build-wide step number,
    /// its running total, and the instruction.
    fn buildah_step(&mut self, line: &str) -> Option<(usize, usize, String)> {
        let (stage, rest) = match line.strip_prefix('[') {
            Some(r) => {
                let (frac, rest) = r.split_once("] ")?;
                (frac.split_once('/')?.0.trim().parse::<usize>().ok()?, rest)
            }
            None => (1, line),
        };
        let (frac, name) = rest.strip_prefix("STEP ")?.split_once(": ")?;
        let (i, n) = frac.split_once('/')?;
        let (i, n) = (i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?);
        if self.stage != Some(stage) {
            if self.stage.is_some() {
                self.stage_offset += self.stage_steps;
            }
            self.stage = Some(stage);
        }
        self.stage_steps = n;
        Some((self.stage_offset + i, self.stage_offset + n, name.trim().to_string()))
    }

    fn line(&mut self, line: &str, out: &mut Vec<BuildEvent>) {
        let docker = line.strip_prefix("Step ").and_then(|rest| {
            let (frac, name) = rest.split_once(" : ")?;
            let (i, n) = frac.split_once('/')?;
            Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?, name))
        });
        let step = match docker {
            Some((i, n, name)) => Some((i, n, name.to_string())),
            None => self.buildah_step(line),
        };
        if let Some((i, n, name)) = step {
            self.finish_current(out);
            let name = name.trim().to_string();
            out.push(BuildEvent::Step {
                variant: self.variant,
                index: i,
                total: n,
                name: name.clone(),
                state: StepState::Running,
            });
            self.current = Some((i, n, name));
            return;
        }
        // Docker: ` ---> Using cache`; Buildah: `--> Using cache <id>`.
        if line.trim() == "---> Using cache" || line.trim().starts_with("--> Using cache") {
            self.current_cached = true;
            if let Some((_, _, name)) = &self.current {
                self.cached.push(name.clone());
            }
            return;
        }
        if let Some(id) = line.trim().strip_prefix("---> ").or_else(|| line.trim().strip_prefix("--> ")) {
            // ` ---> 3f2a...`: the step's image (or ` ---> Running in <container>`).
            if !id.starts_with("Running in") && !id.contains(' ') && !self.current_cached {
                self.created_images.push(id.to_string());
            }
            return;
        }
        if line.starts_with("Removing intermediate container") {
            return;
        }
        if line.starts_with("Successfully built") || line.starts_with("Successfully tagged") {
            self.finish_current(out);
            return;
        }
        if line.trim().is_empty() {
            return;
        }
        self.tail.push(line.to_string());
        out.push(BuildEvent::Log { variant: self.variant, line: line.to_string() });
    }

    /// The build failed with `message`: the running step fails.
    pub fn fail(&mut self, message: &str, out: &mut Vec<BuildEvent>) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end(), out);
        }
        let step = self.current_step();
        if let Some((index, total, name)) = self.current.take() {
            out.push(BuildEvent::Step { variant: self.variant, index, total, name, state: StepState::Failed });
        }
        self.tail.push(message.to_string());
        step
    }

    /// The stream ended successfully.
    pub fn finish(&mut self, out: &mut Vec<BuildEvent>) {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end(), out);
        }
        self.finish_current(out);
    }
}

#[derive(Debug)]
struct Vertex {
    index: usize,
    name: String,
    state: Option<StepState>,
    partial: String,
}

/// Progress of a BuildKit build: vertexes become steps in order of first appearance.
#[derive(Debug)]
pub struct BuildkitProgress {
    variant: Variant,
    total: usize,
    vertexes: HashMap<String, Vertex>,
    next: usize,
    /// Names of steps that were served from the cache.
    pub cached: Vec<String>,
    /// The first step that failed, and its error.
    pub failed: Option<(String, String)>,
    pub tail: Tail,
    tails: HashMap<String, Tail>,
}

impl BuildkitProgress {
    /// `total` is the expected number of steps (instructions); it grows if more appear.
    pub fn new(variant: Variant, total: usize) -> Self {
        Self {
            variant,
            total,
            vertexes: HashMap::new(),
            next: 0,
            cached: Vec::new(),
            failed: None,
            tail: Tail::default(),
            tails: HashMap::new(),
        }
    }

    /// Whether a vertex is a Dockerfile step (`[builder 3/6] RUN ...`) rather than bookkeeping.
    fn is_step(name: &str) -> bool {
        name.starts_with('[') && !name.starts_with("[internal]")
    }

    /// The name without the `[stage i/n] ` prefix.
    fn instruction(name: &str) -> String {
        match name.split_once("] ") {
            Some((_, rest)) if name.starts_with('[') => rest.to_string(),
            _ => name.to_string(),
        }
    }

    /// The last log lines of the failed step (or of the build when unknown).
    pub fn failure_tail(&self) -> Vec<String> {
        self.failed
            .as_ref()
            .and_then(|(digest, _)| self.tails.get(digest))
            .map(Tail::to_vec)
            .unwrap_or_else(|| self.tail.to_vec())
    }

    /// The longer tail of the failed step, for its diagnosis.
    pub fn failure_log(&self) -> Vec<String> {
        self.failed
            .as_ref()
            .and_then(|(digest, _)| self.tails.get(digest))
            .map(Tail::all)
            .unwrap_or_else(|| self.tail.all())
    }

    /// The name of the failed step, if any.
    pub fn failed_step(&self) -> Option<String> {
        self.failed.as_ref().and_then(|(d, _)| self.vertexes.get(d)).map(|v| v.name.clone())
    }

    /// Applies one status message.
    pub fn apply(&mut self, status: &StatusResponse, out: &mut Vec<BuildEvent>) {
        for v in &status.vertexes {
            if !self.vertexes.contains_key(&v.digest) {
                if !Self::is_step(&v.name) {
                    // Bookkeeping vertexes (`[internal] load metadata`, `exporting to image`).
                    if v.started.is_some() && v.completed.is_none() {
                        out.push(BuildEvent::Log { variant: self.variant, line: v.name.clone() });
                    }
                    if !v.error.is_empty() && self.failed.is_none() {
                        self.failed = Some((v.digest.clone(), v.error.clone()));
                        self.vertexes.insert(
                            v.digest.clone(),
                            Vertex { index: 0, name: v.name.clone(), state: None, partial: String::new() },
                        );
                    }
                    continue;
                }
                self.next += 1;
                self.total = self.total.max(self.next);
                self.vertexes.insert(
                    v.digest.clone(),
                    Vertex { index: self.next, name: v.name.clone(), state: None, partial: String::new() },
                );
            }
            let state = if !v.error.is_empty() {
                if self.failed.is_none() {
                    self.failed = Some((v.digest.clone(), v.error.clone()));
                }
                Some(StepState::Failed)
            } else if v.cached {
                Some(StepState::Cached)
            } else if v.completed.is_some() {
                Some(StepState::Done)
            } else if v.started.is_some() {
                Some(StepState::Running)
            } else {
                None
            };
            let total = self.total;
            let Some(entry) = self.vertexes.get_mut(&v.digest) else { continue };
            if entry.index == 0 {
                continue;
            }
            if let Some(s) = state
                && entry.state != Some(s)
                && !matches!(entry.state, Some(StepState::Cached | StepState::Done | StepState::Failed))
            {
                entry.state = Some(s);
                if s == StepState::Cached {
                    self.cached.push(Self::instruction(&entry.name));
                }
                out.push(BuildEvent::Step {
                    variant: self.variant,
                    index: entry.index,
                    total,
                    name: Self::instruction(&entry.name),
                    state: s,
                });
            }
        }
        for log in &status.logs {
            let text = String::from_utf8_lossy(&log.msg);
            let tail = self.tails.entry(log.vertex.clone()).or_default();
            let partial = self.vertexes.get_mut(&log.vertex).map(|v| &mut v.partial);
            let mut buf = partial.as_deref().cloned().unwrap_or_default();
            buf.push_str(&text);
            let mut lines: Vec<&str> = buf.split('\n').collect();
            let rest = lines.pop().unwrap_or_default().to_string();
            for l in lines {
                let l = l.trim_end_matches('\r');
                if l.trim().is_empty() {
                    continue;
                }
                tail.push(l.to_string());
                self.tail.push(l.to_string());
                out.push(BuildEvent::Log { variant: self.variant, line: l.to_string() });
            }
            if let Some(v) = self.vertexes.get_mut(&log.vertex) {
                v.partial = rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex as BkVertex, VertexLog};

    #[test]
    fn counts_instructions() {
        let df = "# syntax comment\nFROM a AS b\nRUN x \\\n  && y\n\nCOPY . /app\nCMD [\"x\"]\n";
        assert_eq!(count_steps(df), 4);
        assert_eq!(count_buildkit_steps(df), 3);
    }

    #[test]
    fn classic_stream_to_events() {
        let mut p = ClassicProgress::new(Variant::Slim);
        let mut ev = Vec::new();
        p.feed("Step 1/3 : FROM python:3.13-slim\n ---> a2935dd325b7\n", &mut ev);
        p.feed("Step 2/3 : RUN pip install -r requirements.txt\n", &mut ev);
        p.feed(" ---> Using cache\n ---> 1111aaaa2222\n", &mut ev);
        p.feed("Step 3/3 : COPY . /app\n ---> Running in", &mut ev);
        p.feed(" 1234\nhello\n ---> 3333bbbb4444\nSuccessfully built 3333bbbb4444\n", &mut ev);
        p.finish(&mut ev);
        let steps: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Step { index, state, .. } => Some((*index, *state)),
                _ => None,
            })
            .collect();
        use StepState::*;
        assert_eq!(steps, [(1, Running), (1, Done), (2, Running), (2, Cached), (3, Running), (3, Done)]);
        assert_eq!(p.cached, ["RUN pip install -r requirements.txt"]);
        assert_eq!(p.created_images, ["a2935dd325b7", "3333bbbb4444"]);
        assert!(ev.contains(&BuildEvent::Log { variant: Variant::Slim, line: "hello".into() }));
    }

    #[test]
    fn podman_stream_to_events() {
        let mut p = ClassicProgress::new(Variant::Distroless);
        let mut ev = Vec::new();
        p.feed("[1/2] STEP 1/3: FROM pyslim-mirror/python:3.13-slim AS builder\n", &mut ev);
        p.feed("[1/2] STEP 2/3: RUN pip install -r requirements.txt\n--> Using cache 4d1a2bc\n--> 4d1a2bc\n", &mut ev);
        p.feed("[1/2] STEP 3/3: COPY . /app\nhello\n--> a8a0150ed98\n", &mut ev);
        p.feed("[2/2] STEP 1/2: FROM pyslim-mirror/distroless/python3-debian13:nonroot AS runtime\n", &mut ev);
        p.feed("[2/2] STEP 2/2: COPY --from=builder /opt/venv /opt/venv\n", &mut ev);
        p.feed("[2/2] COMMIT docker.io/pyslim/demo:distroless\n--> 6ffd7a5e6ed\n", &mut ev);
        p.finish(&mut ev);
        let steps: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Step { index, total, state, .. } => Some((*index, *total, *state)),
                _ => None,
            })
            .collect();
        use StepState::*;
        assert_eq!(
            steps,
            [
                (1, 3, Running),
                (1, 3, Done),
                (2, 3, Running),
                (2, 3, Cached),
                (3, 3, Running),
                (3, 3, Done),
                (4, 5, Running),
                (4, 5, Done),
                (5, 5, Running),
                (5, 5, Done)
            ]
        );
        assert_eq!(p.cached, ["RUN pip install -r requirements.txt"]);
        assert_eq!(p.created_images, ["a8a0150ed98", "6ffd7a5e6ed"]);
        assert_eq!(p.current_step(), None);
        assert!(ev.contains(&BuildEvent::Log { variant: Variant::Distroless, line: "hello".into() }));
    }

    #[test]
    fn classic_failure_names_the_step() {
        let mut p = ClassicProgress::new(Variant::Naive);
        let mut ev = Vec::new();
        p.feed(
            "Step 4/9 : RUN pip install nope\n ---> Running in 12\nERROR: No matching distribution found for nope\n",
            &mut ev,
        );
        let step = p.fail("The command '/bin/sh -c pip install nope' returned a non-zero code: 1", &mut ev);
        assert_eq!(step.as_deref(), Some("Step 4/9 : RUN pip install nope"));
        assert!(p.tail.to_vec()[0].contains("No matching distribution"));
        assert!(matches!(ev.last(), Some(BuildEvent::Step { state: StepState::Failed, index: 4, .. })));
    }

    #[test]
    fn buildkit_status_to_events() {
        let mut p = BuildkitProgress::new(Variant::Distroless, 2);
        let mut ev = Vec::new();
        let v = |d: &str, name: &str| BkVertex { digest: d.into(), name: name.into(), ..Default::default() };
        let mut s = StatusResponse::default();
        s.vertexes.push(BkVertex {
            started: Some(Default::default()),
            ..v("i", "[internal] load build definition from Dockerfile")
        });
        s.vertexes.push(BkVertex {
            started: Some(Default::default()),
            completed: Some(Default::default()),
            cached: true,
            ..v("a", "[builder 2/4] RUN pip install x")
        });
        s.vertexes.push(BkVertex { started: Some(Default::default()), ..v("b", "[stage-1 3/3] COPY src /app") });
        p.apply(&s, &mut ev);
        let mut s = StatusResponse::default();
        s.logs.push(VertexLog { vertex: "b".into(), msg: b"line one\nline ".to_vec(), ..Default::default() });
        s.logs.push(VertexLog { vertex: "b".into(), msg: b"two\n".to_vec(), ..Default::default() });
        s.vertexes.push(BkVertex {
            started: Some(Default::default()),
            error: "exit code: 1".into(),
            ..v("b", "[stage-1 3/3] COPY src /app")
        });
        p.apply(&s, &mut ev);
        assert_eq!(p.cached, ["RUN pip install x"]);
        assert_eq!(p.failed_step().as_deref(), Some("[stage-1 3/3] COPY src /app"));
        assert_eq!(p.failure_tail(), ["line one", "line two"]);
        let states: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Step { index, state, .. } => Some((*index, *state)),
                _ => None,
            })
            .collect();
        assert_eq!(states, [(1, StepState::Cached), (2, StepState::Running), (2, StepState::Failed)]);
    }
}
