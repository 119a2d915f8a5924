//! Report: the comparison of built variants (sizes, layers by role, ratios, verify results) and
//! its text, Markdown and JSON forms. Pure data and formatting; the engine fills it.

use serde::{Deserialize, Serialize};

use crate::plan::Variant;

/// What a layer holds, so the report can say where the bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerRole {
    /// Layers of the base image.
    Base,
    /// The installed dependencies (the venv, or site-packages of a single-stage image).
    Dependencies,
    /// The application source.
    App,
    /// Anything else (users, metadata, system packages).
    Other,
}

impl LayerRole {
    pub const ALL: [LayerRole; 4] = [LayerRole::Base, LayerRole::Dependencies, LayerRole::App, LayerRole::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Dependencies => "dependencies",
            Self::App => "app",
            Self::Other => "other",
        }
    }

    /// Glyph of this role in the terminal bar chart.
    fn glyph(self) -> char {
        match self {
            Self::Base => '█',
            Self::Dependencies => '▓',
            Self::App => '▒',
            Self::Other => '░',
        }
    }
}

/// One image layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layer {
    pub size_bytes: u64,
    pub role: LayerRole,
    /// The instruction that created it (`COPY --from=builder /opt/venv /opt/venv`).
    pub created_by: String,
}

/// The result of building (and verifying) one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantResult {
    pub name: Variant,
    pub image: String,
    pub size_bytes: u64,
    pub layers: Vec<Layer>,
    pub build_seconds: f64,
    /// `None` when verify was not run.
    pub verified: Option<bool>,
    pub verify_detail: Option<String>,
    /// The last HTTP status verify got (a failure's 500 included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Why the image did not start, in one line (`None` when it started or was not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about `error`, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Stable id of the cause (`env-missing`, `no-port`, `http-error`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The container's last log lines when it did not start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    pub dockerfile: String,
    /// The `minimal` variant: what was kept and dropped, and how the trace was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimal: Option<MinimalReport>,
    /// Where the verified image was pushed (`--push`), absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<PushedImage>,
    /// The services started beside the app for verify (a database, a cache), and those left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceResult>,
    /// Seconds the services added to verify: creating, starting and waiting for them, and
    /// removing them afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_seconds: Option<f64>,
}

/// A service started beside the app while it was verified, or left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceResult {
    /// Its host name on the private network (`db`).
    pub name: String,
    /// The image as the plan names it (`postgres:16`).
    pub image: String,
    /// Seconds from its start until it was ready; absent when it never was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_seconds: Option<f64>,
    /// How readiness was proven (`its healthcheck`, `a Postgres startup answered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_by: Option<String>,
    /// Why it was not started (its image cannot be had), with the flag that replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
}

/// An image a registry stored: the reference pushed and the manifest digest it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushedImage {
    pub reference: String,
    pub digest: String,
}

/// A count of files and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub files: u64,
    pub bytes: u64,
}

/// Kept and dropped files of one part of the image (the stdlib, the venv).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptDropped {
    pub kept: Tally,
    pub dropped: Tally,
}

/// One HTTP path requested by the tracing run and again on the minimal image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathCheck {
    pub path: String,
    /// The status on the full image during the trace (`None`: not traced in this run, or no answer).
    pub traced: Option<u16>,
    /// The status on the minimal image (`None`: no answer).
    pub minimal: Option<u16>,
}

/// What the `minimal` variant kept and dropped: the image's own manifest
/// (`/etc/pyslim/minimal.json`, written by the builder), plus how this run traced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MinimalReport {
    /// The image was assembled from a trace (else the whole stdlib and venv were kept).
    pub traced: bool,
    /// The trace file in the project, when there is one.
    pub trace_file: Option<String>,
    /// This run traced the service and wrote the trace file.
    pub trace_written: bool,
    /// Modules kept by `[minimal] keep`.
    pub keep: Vec<String>,
    pub stdlib: KeptDropped,
    pub venv: KeptDropped,
    /// The interpreter, shared libraries and other files outside Python.
    pub system: Tally,
    /// Bytes `strip --strip-unneeded` removed from the kept extension modules.
    pub stripped_bytes: u64,
    pub distributions_kept: Vec<String>,
    pub distributions_dropped: Vec<String>,
    /// Top-level stdlib modules and packages not kept.
    pub stdlib_dropped: Vec<String>,
    /// The interpreter's zip that holds the compiled stdlib (`None`: plain files).
    pub stdlib_zip: Option<String>,
    /// Venv distributions moved into `pyslim-venv.zip` with their sources.
    pub venv_zipped: Vec<String>,
    /// `/` and the `trace_paths`, on the traced image and on the minimal one.
    pub paths: Vec<PathCheck>,
}

impl MinimalReport {
    /// One line: `stdlib 212 of 1310 files (3.1 of 25.6 MB), venv 9 of 11 distributions (...)`.
    pub fn summary(&self) -> String {
        let part = |kd: &KeptDropped| {
            format!(
                "{} of {} files ({} of {})",
                kd.kept.files,
                kd.kept.files + kd.dropped.files,
                human_size(kd.kept.bytes),
                human_size(kd.kept.bytes + kd.dropped.bytes)
            )
        };
        let how = match (&self.trace_file, self.traced, self.trace_written) {
            (Some(f), true, true) => format!("traced now into {f}"),
            (Some(f), true, false) => format!("from {f}"),
            _ => "no trace: whole stdlib and venv kept".to_string(),
        };
        let mut s = format!(
            "{how}; stdlib {}, venv {} ({} of {} distributions), system {} files ({})",
            part(&self.stdlib),
            part(&self.venv),
            self.distributions_kept.len(),
            self.distributions_kept.len() + self.distributions_dropped.len(),
            self.system.files,
            human_size(self.system.bytes)
        );
        if self.stripped_bytes > 0 {
            s.push_str(&format!(", {} stripped", human_size(self.stripped_bytes)));
        }
        if !self.keep.is_empty() {
            s.push_str(&format!("; keep: {}", self.keep.join(", ")));
        }
        s
    }
}

impl VariantResult {
    /// Bytes per layer role.
    pub fn bytes_by_role(&self, role: LayerRole) -> u64 {
        self.layers.iter().filter(|l| l.role == role).map(|l| l.size_bytes).sum()
    }
}

/// A variant that was not built, and why (no distroless for Python 3.12, a failed build).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedVariant {
    pub name: Variant,
    /// The whole message (a failed build names its step).
    pub reason: String,
    /// Stable id of the cause (`no-wheel`, `missing-tool`, `stale-lock`, `plan`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The cause in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The way forward in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The failed step's last log lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

impl SkippedVariant {
    /// A variant the plan's checks rule out (no image for its Python, ...): the reason is the
    /// cause, the checks carry their own remedy in the words.
    pub fn by_plan(name: Variant, reason: String) -> SkippedVariant {
        SkippedVariant {
            name,
            error_kind: Some("plan".into()),
            error: Some(reason.clone()),
            hint: None,
            reason,
            log_tail: Vec::new(),
        }
    }

    /// Whether it was attempted and failed (rather than ruled out by the plan).
    pub fn failed(&self) -> bool {
        self.error_kind.as_deref().is_some_and(|k| k != "plan")
    }

    /// The cause to show: the one-line error, else the whole reason.
    pub fn cause(&self) -> &str {
        self.error.as_deref().unwrap_or(&self.reason)
    }
}

/// A side-by-side comparison of variants.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Comparison {
    pub project: String,
    pub variants: Vec<VariantResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedVariant>,
}

/// Sizes the way `docker images` shows them (decimal units): `86.5 MB`, `1.04 GB`.
pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

impl Comparison {
    /// The naive variant's size, the baseline of the ratios.
    pub fn baseline(&self) -> Option<u64> {
        self.variants.iter().find(|v| v.name == Variant::Naive).map(|v| v.size_bytes).filter(|s| *s > 0)
    }

    /// `9.6x smaller` (or `baseline`, `1.2x larger`, `-` without a naive build).
    pub fn ratio_text(&self, v: &VariantResult) -> String {
        match self.baseline() {
            None => "-".into(),
            Some(_) if v.name == Variant::Naive => "baseline".into(),
            Some(_) if v.size_bytes == 0 => "-".into(),
            Some(base) if base >= v.size_bytes => format!("{:.1}x smaller", base as f64 / v.size_bytes as f64),
            Some(base) => format!("{:.1}x larger", v.size_bytes as f64 / base as f64),
        }
    }
}

fn verified_text(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "not run",
    }
}

/// The terminal view: a table, then a bar chart of sizes split by layer role.
pub fn text(c: &Comparison, bar_width: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!("pyslim compare: {}\n\n", c.project));
    let rows: Vec<[String; 6]> = c
        .variants
        .iter()
        .map(|v| {
            [
                v.name.to_string(),
                human_size(v.size_bytes),
                v.layers.len().to_string(),
                c.ratio_text(v),
                format!("{:.1}s", v.build_seconds),
                verified_text(v.verified).to_string(),
            ]
        })
        .collect();
    let header = ["variant", "size", "layers", "vs naive", "build", "verified"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Names left-aligned, figures right-aligned.
            let cell = if i == 0 || i == 5 { format!("{cell:<w$}") } else { format!("{cell:>w$}") };
            s.push_str(&cell);
            s.push_str(if i < 5 { "  " } else { "\n" });
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header));
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    for s in &c.skipped {
        let name = s.name.to_string();
        if s.failed() {
            out.push_str(&format!("{name:<w$}  FAILED: {}\n", s.cause(), w = widths[0]));
        } else {
            out.push_str(&format!("{name:<w$}  skipped: {}\n", s.reason, w = widths[0]));
        }
        if let Some(h) = &s.hint {
            out.push_str(&format!("{:<w$}  hint: {h}\n", "", w = widths[0].max(name.chars().count())));
        }
    }
    if !c.variants.is_empty() {
        out.push('\n');
        out.push_str(&bars(c, bar_width, widths[0]));
    }
    for v in c.variants.iter().filter(|v| v.verified == Some(false)) {
        if let Some(d) = &v.verify_detail {
            out.push_str(&format!("\n{} did not start: {d}\n", v.name));
        }
        if let Some(e) = &v.error {
            out.push_str(&format!("  cause: {e}\n"));
        }
        if let Some(h) = &v.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
    }
    for v in &c.variants {
        if let Some(m) = &v.minimal {
            out.push_str(&format!("\n{}: {}\n", v.name, m.summary()));
        }
    }
    out
}

/// Unicode bars, one per variant, scaled to the largest; each split into base, dependencies,
/// app and other by glyph, so the chart shows where the bytes are.
pub fn bars(c: &Comparison, width: usize, name_width: usize) -> String {
    let max = c.variants.iter().map(|v| v.size_bytes).max().unwrap_or(0).max(1);
    let mut out = String::new();
    for v in &c.variants {
        let total_cells = (v.size_bytes as f64 / max as f64 * width as f64).round() as usize;
        let mut bar = String::new();
        let mut used = 0;
        let known: u64 = LayerRole::ALL.iter().map(|r| v.bytes_by_role(*r)).sum::<u64>().max(1);
        for (i, role) in LayerRole::ALL.iter().enumerate() {
            let share = v.bytes_by_role(*role) as f64 / known as f64;
            let n = if i == LayerRole::ALL.len() - 1 {
                total_cells.saturating_sub(used)
            } else {
                ((share * total_cells as f64).round() as usize).min(total_cells - used)
            };
            bar.extend(std::iter::repeat_n(role.glyph(), n));
            used += n;
        }
        if total_cells == 0 {
            bar.push('▏');
        }
        let pad = width.saturating_sub(bar.chars().count());
        out.push_str(&format!(
            "{:<nw$}  {bar}{}  {}\n",
            v.name.to_string(),
            " ".repeat(pad),
            human_size(v.size_bytes),
            nw = name_width
        ));
    }
    let legend: Vec<String> = LayerRole::ALL.iter().map(|r| format!("{} {}", r.glyph(), r.as_str())).collect();
    out.push_str(&format!("{:<nw$}  {}\n", "", legend.join("  "), nw = name_width));
    out
}

/// A Markdown table for a pull-request comment.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!("### pyslim: image sizes for `{}`\n\n", c.project);
    out.push_str("| Variant | Size | Dependencies | App | Layers | vs naive | Build | Starts |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|:---:|\n");
    for v in &c.variants {
        let ok = match v.verified {
            Some(true) => "✅",
            Some(false) => "❌",
            None => "–",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {:.1} s | {} |\n",
            v.name,
            human_size(v.size_bytes),
            human_size(v.bytes_by_role(LayerRole::Dependencies)),
            human_size(v.bytes_by_role(LayerRole::App)),
            v.layers.len(),
            c.ratio_text(v),
            v.build_seconds,
            ok
        ));
    }
    for s in &c.skipped {
        let what = if s.failed() { format!("failed: {}", s.cause()) } else { format!("skipped: {}", s.reason) };
        let hint = s.hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {}{} | | | | | | |\n",
            s.name,
            what.replace('|', "\\|"),
            hint.replace('|', "\\|")
        ));
    }
    for v in c.variants.iter().filter(|v| v.verified == Some(false)) {
        if let Some(e) = &v.error {
            let hint = v.hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
            out.push_str(&format!("\n`{}` did not start: {}{}\n", v.name, e.replace('|', "\\|"), hint));
        }
    }
    for v in &c.variants {
        if let Some(m) = &v.minimal {
            out.push_str(&format!("\n`{}`: {}\n", v.name, m.summary()));
        }
    }
    out
}

/// The `--json` object: `{ "project", "variants": [ { "name", "image", "size_bytes", "layers",
/// "build_seconds", "verified", "dockerfile", ... } ], "skipped": [...] }`.
pub fn json(c: &Comparison) -> serde_json::Value {
    serde_json::to_value(c).expect("Comparison has only JSON-representable fields")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: Variant, mb: u64, deps_mb: u64, verified: Option<bool>) -> VariantResult {
        VariantResult {
            name,
            image: format!("pyslim/demo:{name}"),
            size_bytes: mb * 1_000_000,
            layers: vec![
                Layer { size_bytes: (mb - deps_mb - 1) * 1_000_000, role: LayerRole::Base, created_by: "base".into() },
                Layer { size_bytes: deps_mb * 1_000_000, role: LayerRole::Dependencies, created_by: "venv".into() },
                Layer { size_bytes: 1_000_000, role: LayerRole::App, created_by: "COPY src /app".into() },
            ],
            build_seconds: 12.34,
            verified,
            verify_detail: None,
            http_status: None,
            error: None,
            hint: None,
            error_kind: None,
            log_tail: Vec::new(),
            dockerfile: "FROM x\n".into(),
            minimal: None,
            pushed: None,
            services: Vec::new(),
            services_seconds: None,
        }
    }

    fn sample() -> Comparison {
        Comparison {
            project: "demo-service".into(),
            variants: vec![
                v(Variant::Naive, 960, 300, Some(true)),
                v(Variant::Distroless, 100, 40, Some(true)),
                v(Variant::Slim, 400, 60, Some(false)),
            ],
            skipped: vec![SkippedVariant::by_plan(
                Variant::MultistageSlim,
                "no distroless image ships Python 3.12".into(),
            )],
        }
    }

    #[test]
    fn sizes_and_ratios() {
        assert_eq!(human_size(86_500_000), "86.5 MB");
        assert_eq!(human_size(1_040_000_000), "1.04 GB");
        assert_eq!(human_size(999), "999 B");
        let c = sample();
        assert_eq!(c.ratio_text(&c.variants[0]), "baseline");
        assert_eq!(c.ratio_text(&c.variants[1]), "9.6x smaller");
        let no_naive = Comparison { variants: c.variants[1..].to_vec(), ..c.clone() };
        assert_eq!(no_naive.ratio_text(&no_naive.variants[0]), "-");
    }

    #[test]
    fn text_table_and_bars() {
        let t = text(&sample(), 20);
        assert!(t.contains("distroless  100.0 MB       3  9.6x smaller  12.3s  yes"), "{t}");
        assert!(t.contains("multistage-slim"), "{t}");
        assert!(t.contains("skipped: no distroless image ships Python 3.12"), "{t}");
        // The naive bar is full width; the distroless bar about a tenth of it.
        let naive_bar = t.lines().find(|l| l.starts_with("naive") && l.contains('█')).unwrap();
        let dl_bar = t.lines().find(|l| l.starts_with("distroless") && l.contains('█')).unwrap();
        let cells = |l: &str| l.chars().filter(|c| "█▓▒░".contains(*c)).count();
        assert_eq!(cells(naive_bar), 20);
        assert_eq!(cells(dl_bar), 2);
        assert!(t.contains("█ base  ▓ dependencies  ▒ app  ░ other"), "{t}");
    }

    #[test]
    fn markdown_table() {
        let m = markdown(&sample());
        assert!(m.contains("| `distroless` | 100.0 MB | 40.0 MB | 1.0 MB | 3 | 9.6x smaller | 12.3 s | ✅ |"), "{m}");
        assert!(m.contains("| `slim` | 400.0 MB | 60.0 MB | 1.0 MB | 3 | 2.4x smaller | 12.3 s | ❌ |"), "{m}");
        assert!(m.contains("skipped: no distroless"), "{m}");
    }

    #[test]
    fn failures_carry_their_cause_and_hint_in_every_form() {
        let mut c = sample();
        c.skipped.push(SkippedVariant {
            name: Variant::Slim,
            reason: "slim build failed at RUN pip install: exit code: 1".into(),
            error_kind: Some("resolver-conflict".into()),
            error: Some("the dependencies cannot be installed together".into()),
            hint: Some("relax the pins".into()),
            log_tail: vec!["ERROR: ResolutionImpossible".into()],
        });
        c.variants[2].error = Some("the app reads the environment variable SERVER_NAME".into());
        c.variants[2].hint = Some("set it with --env SERVER_NAME=...".into());
        let t = text(&c, 20);
        assert!(t.contains("\nslim        FAILED: the dependencies cannot be installed together\n"), "{t}");
        assert!(t.contains("\n            hint: relax the pins\n"), "{t}");
        assert!(t.contains("  cause: the app reads the environment variable SERVER_NAME\n  hint: set it with"), "{t}");
        let m = markdown(&c);
        assert!(
            m.contains("| `slim` | failed: the dependencies cannot be installed together (relax the pins) |"),
            "{m}"
        );
        let j = json(&c);
        assert_eq!(j["skipped"][1]["error_kind"], "resolver-conflict");
        assert_eq!(j["skipped"][1]["hint"], "relax the pins");
        assert_eq!(j["skipped"][0]["error_kind"], "plan");
        assert_eq!(j["variants"][2]["hint"], "set it with --env SERVER_NAME=...");
        assert!(j["variants"][0].get("error").is_none(), "no error key when it started");
    }

    #[test]
    fn json_shape() {
        let j = json(&sample());
        assert_eq!(j["project"], "demo-service");
        let d = &j["variants"][1];
        assert_eq!(d["name"], "distroless");
        assert_eq!(d["image"], "pyslim/demo:distroless");
        assert_eq!(d["size_bytes"], 100_000_000);
        assert_eq!(d["layers"][1]["role"], "dependencies");
        assert_eq!(d["layers"][1]["size_bytes"], 40_000_000);
        assert_eq!(d["layers"][1]["created_by"], "venv");
        assert_eq!(d["build_seconds"], 12.34);
        assert_eq!(d["verified"], true);
        assert_eq!(d["dockerfile"], "FROM x\n");
        assert_eq!(j["skipped"][0]["name"], "multistage-slim");
    }
}
