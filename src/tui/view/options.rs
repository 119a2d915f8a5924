//! Screen 4: run-as user, trimming, the variants to build and compare, Dockerfile flavour, and
//! the services started beside the app while it is verified.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::plan::{Flavour, Severity, Variant};
use crate::tui::app::{App, OptionRow};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let trim = app.trim();
    let variants = app.variants();
    let plan = app.plan.as_ref().and_then(|p| p.as_ref().ok());
    let mut lines: Vec<Line> = Vec::new();
    let wide = area.width >= 100;
    for (i, row) in OptionRow::ALL.iter().enumerate() {
        let header = match row {
            OptionRow::NonRoot => Some("Security"),
            OptionRow::NoInstallers => Some("Trim the runtime image"),
            OptionRow::Variant(Variant::Naive) => Some("Variants to build and compare"),
            OptionRow::Flavour => Some("Dockerfile flavour"),
            _ => None,
        };
        if let Some(h) = header {
            if !lines.is_empty() && area.height > 20 {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(format!(" {h}"), t.accent()));
        }
        let box_ = |on: bool| if on { "[x]" } else { "[ ]" };
        let (mark, label, note): (String, String, String) = match row {
            OptionRow::NonRoot => (
                box_(app.non_root()).into(),
                format!("Run as a non-root user ({})", if app.non_root() { app.user() } else { "root now".into() }),
                "least privilege; distroless's nonroot uid".into(),
            ),
            OptionRow::NoInstallers => (
                box_(!trim.keep_installers).into(),
                "Leave pip, setuptools and wheel out of the runtime venv".into(),
                "not needed to run".into(),
            ),
            OptionRow::Bytecode => {
                (box_(trim.bytecode).into(), "Precompile bytecode (.pyc)".into(), "faster start, larger image".into())
            }
            OptionRow::Strip => {
                (box_(trim.strip).into(), "Strip extension modules".into(), "smaller, no debug symbols".into())
            }
            OptionRow::Variant(v) => {
                (box_(variants.contains(v)).into(), format!("{:<16}", v.as_str()), v.describe().to_string())
            }
            OptionRow::Flavour => {
                let bk = app.flavour() == Flavour::Buildkit;
                (
                    String::new(),
                    format!(
                        "({}) BuildKit, cache mounts   ({}) classic builder",
                        if bk { "•" } else { " " },
                        if bk { " " } else { "•" }
                    ),
                    "Space switches".into(),
                )
            }
        };
        let selected = i == app.options.cursor;
        let mut spans = vec![
            Span::styled(if selected { " ▸ " } else { "   " }, t.accent()),
            Span::styled(
                if mark.is_empty() { label.clone() } else { format!("{mark} {label}") },
                if selected { t.selected() } else { t.text() },
            ),
        ];
        if wide || selected || matches!(row, OptionRow::Variant(_)) {
            spans.push(Span::styled(format!("  {note}"), t.dim()));
        }
        // A variant that cannot be built with these choices says why, in red.
        if let (OptionRow::Variant(v), Some(p)) = (row, plan)
            && variants.contains(v)
            && let Some(c) = p.checks(*v, &app.scan).into_iter().find(|c| c.severity == Severity::Error)
        {
            lines.push(Line::from(spans));
            lines.push(Line::styled(format!("       ✗ {}", c.message), t.error()));
            continue;
        }
        lines.push(Line::from(spans));
    }
    // The services started beside the app while it is verified (`--service`, [[verify.services]]).
    if let Some(p) = plan.filter(|p| !p.services.is_empty()) {
        if area.height > 20 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(" Services beside the app while verifying", t.accent()));
        for s in &p.services {
            let aliases =
                if s.aliases.is_empty() { String::new() } else { format!(" (also {})", s.aliases.join(", ")) };
            lines.push(Line::from(vec![
                Span::styled(format!("   {} = {}{aliases}", s.name, s.image), t.text()),
                Span::styled("  from --service or [[verify.services]] in pyslim.toml".to_string(), t.dim()),
            ]));
        }
    }
    let error_h = u16::from(app.options.error.is_some()) * 2;
    let [list, error] = Layout::vertical([Constraint::Min(1), Constraint::Length(error_h)]).areas(area);
    // Long notes are cut at the edge rather than wrapped, so rows stay one line each.
    frame.render_widget(Paragraph::new(lines), list);
    if let Some(e) = &app.options.error {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" ✗ {e}"), t.error())).wrap(Wrap { trim: false }),
            error,
        );
    }
}
