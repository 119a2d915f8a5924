//! Screen 1: what the scan found, each fact with where it came from; a spinner while it runs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::scan::Fact;
use crate::tui::app::{App, ScanState};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    match &app.scan_state {
        ScanState::Running => {
            let text = vec![
                Line::raw(""),
                Line::from(vec![
                    Span::styled(format!(" {} ", app.spinner()), t.accent()),
                    Span::raw(format!("Scanning {} …", app.project.display())),
                ]),
                Line::raw(""),
                Line::styled(" Reading lockfiles, Python hints and the app's source.", t.dim()),
            ];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
            return;
        }
        ScanState::Failed(e) => {
            let text = vec![
                Line::raw(""),
                Line::styled(" ✗ The scan failed:", t.error()),
                Line::styled(format!("   {e}"), t.error()),
                Line::raw(""),
                Line::raw(" q quits; point pyslim at a Python project folder (or use --demo)."),
            ];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
            return;
        }
        ScanState::Done => {}
    }
    let s = &app.scan;
    let missing = || (Span::styled("not found", t.dim()), String::new());
    let fact = |f: &Option<Fact<String>>| match f {
        Some(f) => (Span::styled(f.value.clone(), t.bold()), f.source.clone()),
        None => missing(),
    };
    let mut rows: Vec<(&str, (Span, String))> = vec![
        (
            "Package manager",
            match &s.package_manager {
                Some(f) => (Span::styled(f.value.as_str().to_string(), t.bold()), f.source.clone()),
                None => missing(),
            },
        ),
        ("Lockfile", fact(&s.lockfile)),
        (
            "Python",
            match &s.python {
                Some(f) => (Span::styled(f.value.to_string(), t.bold()), f.source.clone()),
                None => (Span::styled(format!("not found (using {})", app.python()), t.warning()), String::new()),
            },
        ),
        (
            "Framework",
            match &s.framework {
                Some(f) => (Span::styled(f.value.as_str().to_string(), t.bold()), f.source.clone()),
                None => missing(),
            },
        ),
        (
            "App server",
            match &s.app_server {
                Some(f) => (Span::styled(f.value.as_str().to_string(), t.bold()), f.source.clone()),
                None => missing(),
            },
        ),
        ("App", fact(&s.app)),
        (
            "Entrypoint",
            match &s.entrypoint {
                Some(f) => (Span::styled(f.value.join(" "), t.bold()), f.source.clone()),
                None => (Span::styled("not found: you will type it in step 3", t.warning()), String::new()),
            },
        ),
        (
            "Port",
            match &s.port {
                Some(f) => (Span::styled(f.value.to_string(), t.bold()), f.source.clone()),
                None => missing(),
            },
        ),
        (
            "System libraries",
            match &s.system_libs {
                Some(f) if f.value.is_empty() => (Span::styled("none needed", t.ok()), f.source.clone()),
                Some(f) => (
                    Span::styled(
                        f.value
                            .iter()
                            .map(|l| format!("{} (for {})", l.name, l.needed_by))
                            .collect::<Vec<_>>()
                            .join(", "),
                        t.warning(),
                    ),
                    f.source.clone(),
                ),
                None => (Span::styled("none needed", t.ok()), String::new()),
            },
        ),
        (
            "Dependencies",
            if s.dependencies.is_empty() {
                missing()
            } else {
                let names: Vec<&str> = s.dependencies.iter().map(|d| d.name.as_str()).collect();
                (
                    Span::styled(format!("{}: {}", names.len(), names.join(", ")), t.bold()),
                    s.dependencies[0].source.clone(),
                )
            },
        ),
        (
            "Dockerfile",
            match &s.existing_dockerfile {
                Some(f) => (Span::styled("exists (the preview shows a diff)", t.text()), f.source.clone()),
                None => (Span::styled("none yet", t.dim()), String::new()),
            },
        ),
    ];
    if let Some(f) = s.build_deps.as_ref().filter(|f| !f.value.is_empty()) {
        let what: Vec<String> = f.value.iter().map(|d| format!("{} ({})", d.package, d.debian.join(" "))).collect();
        rows.push(("Build deps", (Span::styled(what.join(", "), t.warning()), f.source.clone())));
    }
    if let Some(c) = &s.compose {
        let services: Vec<String> = c.services.iter().map(|v| format!("{} ({})", v.name, v.image)).collect();
        let what = if services.is_empty() {
            format!("app service {}", c.app_service)
        } else {
            format!("app service {}, beside it: {}", c.app_service, services.join(", "))
        };
        rows.push(("Compose", (Span::styled(what, t.text()), c.file.clone())));
    }
    if app.config.is_some() {
        rows.push(("pyslim.toml", (Span::styled("found: its choices are used", t.text()), "pyslim.toml".into())));
    }

    let mut warnings: Vec<Line> = Vec::new();
    for w in &s.warnings {
        warnings.push(Line::from(vec![Span::styled("! ", t.warning()), Span::styled(w.clone(), t.warning())]));
    }
    for f in &s.secrets_in_context {
        warnings.push(Line::styled(
            format!("! {f} would enter the build context (.dockerignore excludes it)"),
            t.warning(),
        ));
    }
    let warn_h = if warnings.is_empty() { 0 } else { (warnings.len() as u16 + 1).min(area.height / 3).max(2) };
    let [path_area, table_area, warn_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(warn_h)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" Folder ", t.dim()),
            Span::raw(app.root().display().to_string()),
        ])),
        path_area,
    );
    // Values as wide as the longest one (up to 60% of the room), sources get the rest.
    let room = table_area.width.saturating_sub(20);
    let longest = rows.iter().map(|(_, (v, _))| v.width() as u16).max().unwrap_or(0);
    let value_w = longest.min(room * 3 / 5).max(10);
    let table = Table::new(
        rows.into_iter().map(|(label, (value, source))| {
            Row::new(vec![
                Cell::from(Span::styled(label, t.accent())),
                Cell::from(value),
                Cell::from(Span::styled(source, t.dim())),
            ])
        }),
        [Constraint::Length(16), Constraint::Length(value_w), Constraint::Fill(1)],
    )
    .header(Row::new(vec!["", "found", "from"]).style(t.dim()))
    .column_spacing(1);
    frame.render_widget(table, table_area.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }));
    if !warnings.is_empty() {
        let mut lines = vec![Line::styled(" Warnings", t.warning().patch(t.bold()))];
        lines.extend(warnings.into_iter().map(|l| {
            let mut spans = vec![Span::raw(" ")];
            spans.extend(l.spans);
            Line::from(spans)
        }));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), warn_area);
    }
}
