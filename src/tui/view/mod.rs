//! Drawing: `draw(frame, &App)` paints the frame from the state and nothing else. The frame is
//! a header (the step list), the current screen (one module per screen), a status line and a
//! footer with the keys of the screen; dialogs and the help are drawn over it.

mod build;
mod entrypoint;
mod images;
mod options;
mod preview;
mod project;
mod results;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::app::{App, Dialog, EntryFocus, RunState, StatusKind, Step};
use super::message::{FileState, WritePurpose};

/// Paints the whole wizard.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let status_h = u16::from(app.status.is_some());
    let [header, main, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(status_h),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, app, header);

    let project_name = app.root().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(app.theme.dim())
        .title(Line::from(vec![
            Span::styled(format!(" {} ", app.step.number()), app.theme.title()),
            Span::styled(format!("{} ", app.step.title()), app.theme.bold()),
        ]))
        .title(Line::from(Span::styled(format!(" pyslim · {project_name} "), app.theme.dim())).right_aligned());
    let inner = block.inner(main);
    frame.render_widget(block, main);
    match app.step {
        Step::Project => project::draw(frame, app, inner),
        Step::Images => images::draw(frame, app, inner),
        Step::Entrypoint => entrypoint::draw(frame, app, inner),
        Step::Options => options::draw(frame, app, inner),
        Step::Preview => preview::draw(frame, app, inner),
        Step::Build => build::draw(frame, app, inner),
        Step::Results => results::draw(frame, app, inner),
    }

    if let Some((kind, text)) = &app.status {
        let (style, icon) = match kind {
            StatusKind::Info => (app.theme.accent(), "›"),
            StatusKind::Success => (app.theme.ok(), "✓"),
            StatusKind::Error => (app.theme.error(), "✗"),
        };
        let one_line = text.replace('\n', " ");
        frame.render_widget(Paragraph::new(Line::styled(format!(" {icon} {one_line}"), style)), status);
    }
    draw_footer(frame, app, footer);

    if let Some(d) = &app.dialog {
        draw_dialog(frame, app, d, area);
    }
    if app.help {
        draw_help(frame, app, area);
    }
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect) {
    let long = area.width >= 100;
    let mut spans = vec![Span::raw(" ")];
    for (i, s) in Step::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", app.theme.dim()));
        }
        let name = if long && *s == Step::Entrypoint { "Entrypoint" } else { s.short() };
        let text = format!("{} {name}", s.number());
        let style = if *s == app.step {
            app.theme.title().patch(app.theme.selected())
        } else if *s < app.step {
            app.theme.ok()
        } else {
            app.theme.dim()
        };
        spans.push(Span::styled(text, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys of the current screen: (key, what it does). The footer shows them in this order
/// (most important first) and the help lists them all.
pub fn keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut k: Vec<(&'static str, &'static str)> = match app.step {
        Step::Project => vec![("Enter", "next")],
        Step::Images if app.images.custom.is_some() => {
            vec![("Enter", "add image"), ("Tab/↑↓", "field"), ("Space", "toggle shell"), ("Esc", "cancel")]
        }
        Step::Images => vec![
            ("Enter", "accept"),
            ("↑↓/jk", "choose"),
            ("Tab/←→", "builder/runtime"),
            ("c", "custom image"),
            ("Esc", "back"),
        ],
        Step::Entrypoint if app.entry.step_edit.is_some() => {
            vec![("Enter", "keep step"), ("←→ Home End", "move"), ("Esc", "drop edit")]
        }
        Step::Entrypoint if app.entry.focus == EntryFocus::Steps => vec![
            ("Enter", "accept"),
            ("↑↓/jk", "step"),
            ("a", "add before server"),
            ("b", "add build step"),
            ("e", "edit"),
            ("d", "remove"),
            ("J/K", "move down/up"),
            ("Space", "take offered"),
            ("Tab", "next field"),
        ],
        Step::Entrypoint if app.entry.focus == EntryFocus::Candidates => {
            vec![("Enter", "accept"), ("↑↓/jk", "candidate"), ("Tab/e", "edit"), ("BackTab", "steps"), ("Esc", "back")]
        }
        Step::Entrypoint => vec![
            ("Enter", "accept"),
            ("←→ Home End", "move"),
            ("Tab", "next field"),
            ("↑↓", "candidate"),
            ("Esc", "stop editing"),
        ],
        Step::Options => vec![("Enter", "accept"), ("↑↓/jk", "move"), ("Space", "toggle"), ("Esc", "back")],
        Step::Preview => vec![
            ("Enter", "build"),
            ("←→", "variant"),
            ("↑↓/PgUp/PgDn", "scroll"),
            ("w", "write files"),
            ("d", "diff"),
            ("Esc", "back"),
        ],
        Step::Build => match app.build.state {
            RunState::Running | RunState::Cancelling => vec![("Esc", "cancel build")],
            RunState::Finished => vec![("Enter", "results"), ("Esc", "back")],
            _ => vec![("Esc", "back to preview")],
        },
        Step::Results => {
            vec![("e", "export"), ("m", "Markdown"), ("J", "JSON"), ("p", "push"), ("Esc", "back")]
        }
    };
    if app.step == Step::Entrypoint
        && matches!(app.entry.focus, EntryFocus::Candidates | EntryFocus::Steps)
        && app.entry.step_edit.is_none()
        && crate::tui::update::gunicorn_offer(app).is_some()
    {
        k.insert(1, ("s", "serve with gunicorn"));
    }
    let typing = app.step == Step::Entrypoint
        && (matches!(app.entry.focus, EntryFocus::Command | EntryFocus::Port) || app.entry.step_edit.is_some())
        || app.step == Step::Images && app.images.custom.is_some();
    if typing {
        k.push(("F1", "help"));
        k.push(("Ctrl-C", "quit"));
    } else {
        k.push(("?", "help"));
        k.push(("q", "quit"));
    }
    k
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    let keys = keys(app);
    // Help and quit always show: drop middle entries when narrow.
    let (must, rest) = keys.split_at(keys.len().saturating_sub(2));
    let tail: usize = rest.iter().map(|(k, d)| k.chars().count() + d.chars().count() + 3).sum();
    for (key, what) in must {
        let w = key.chars().count() + what.chars().count() + 3;
        if used + w + tail > area.width as usize {
            continue;
        }
        used += w;
        spans.push(Span::styled(*key, app.theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    for (key, what) in rest {
        spans.push(Span::styled(*key, app.theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_help(frame: &mut Frame, app: &App, area: Rect) {
    let mut lines =
        vec![Line::styled(format!("Keys of step {}: {}", app.step.number(), app.step.title()), app.theme.bold())];
    lines.push(Line::raw(""));
    let mut all = keys(app);
    all.retain(|(k, _)| !matches!(*k, "?" | "q" | "F1" | "Ctrl-C"));
    all.extend([
        ("Esc/Backspace", "back one step (Backspace edits inside a text input)"),
        ("? or F1", "this help (F1 while typing)"),
        ("q", "quit (asks first while a build runs)"),
        ("Ctrl-C", "quit now (a running build is stopped and cleaned up)"),
    ]);
    for (k, d) in all {
        lines.push(Line::from(vec![Span::styled(format!("{k:>14}  "), app.theme.key()), Span::raw(d)]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Any key closes this help.", app.theme.dim()));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 72.min(area.width);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let block = Block::bordered().border_type(BorderType::Rounded).border_style(app.theme.focus()).title(" Help ");
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

fn draw_dialog(frame: &mut Frame, app: &App, dialog: &Dialog, area: Rect) {
    let t = &app.theme;
    let (title, mut lines, buttons, yes): (&str, Vec<Line>, [&str; 2], bool) = match dialog {
        Dialog::ConfirmWrite { purpose, files, yes } => {
            let root = app.root();
            let mut lines = vec![Line::raw(format!("Into {}:", root.display())), Line::raw("")];
            for f in files {
                let name = f.path.strip_prefix(&root).unwrap_or(&f.path).display().to_string();
                let (what, style) = match f.state {
                    FileState::New => ("new file", t.ok()),
                    FileState::Unchanged => ("unchanged, not written", t.dim()),
                    FileState::Differs => ("exists: you will be asked before it is replaced", t.warning()),
                    FileState::Unknown => ("", t.text()),
                };
                lines
                    .push(Line::from(vec![Span::styled(format!("  {name:<24}"), t.bold()), Span::styled(what, style)]));
            }
            let title = match purpose {
                WritePurpose::ProjectFiles => " Write the files? ",
                WritePurpose::Export => " Export the comparison? ",
            };
            (title, lines, ["Write", "Cancel"], *yes)
        }
        Dialog::ConfirmReplace { files, index, yes, .. } => {
            let f = &files[*index];
            let lines = vec![
                Line::styled(format!("{} already exists with other content.", f.path.display()), t.warning()),
                Line::raw(""),
                Line::raw("Replace it? The current file is kept as a .pyslim-backup copy."),
            ];
            (" Replace an existing file? ", lines, ["Replace", "Keep mine"], *yes)
        }
        Dialog::ExportFormat { choice } => {
            let root = app.root();
            let lines = vec![
                Line::raw("Export the comparison into the project as"),
                Line::raw(""),
                Line::styled(
                    format!("  {} Markdown  pyslim-comparison.md", if *choice == 0 { "▸" } else { " " }),
                    if *choice == 0 { t.selected() } else { t.text() },
                ),
                Line::styled(
                    format!("  {} JSON      pyslim-comparison.json", if *choice == 1 { "▸" } else { " " }),
                    if *choice == 1 { t.selected() } else { t.text() },
                ),
                Line::raw(""),
                Line::styled(format!("in {}", root.display()), t.dim()),
            ];
            (" Export ", lines, ["Export", "Cancel"], true)
        }
        Dialog::PushTo { variant, source, target } => {
            let lines = vec![
                Line::raw(format!("Push the verified {variant} image {source} to")),
                Line::raw(""),
                Line::from(vec![Span::styled("  ▸ ", t.accent()), Span::styled(target.value(), t.selected())]),
                Line::raw(""),
                Line::styled("Type the registry reference (registry/name:tag); the docker CLI's", t.dim()),
                Line::styled("credentials are used ($DOCKER_CONFIG or ~/.docker/config.json).", t.dim()),
            ];
            (" Push to a registry ", lines, ["Push", "Cancel"], true)
        }
        Dialog::ConfirmQuit { yes } => {
            let lines = vec![
                Line::raw("A build is running."),
                Line::raw("Quit anyway? The build is stopped and its containers removed."),
            ];
            (" Quit? ", lines, ["Quit", "Keep building"], *yes)
        }
    };
    lines.push(Line::raw(""));
    let button = |label: &str, on: bool| {
        let style = if on { t.selected().patch(t.bold()) } else { t.text() };
        Span::styled(format!("[ {label} ]"), style)
    };
    lines.push(Line::from(vec![
        Span::raw("  "),
        button(buttons[0], yes),
        Span::raw("   "),
        button(buttons[1], !yes),
        Span::styled(
            if matches!(dialog, Dialog::PushTo { .. }) {
                "   Enter pushes, Esc cancels"
            } else {
                "   y/n, ←→ and Enter"
            },
            t.dim(),
        ),
    ]));
    let w = 76.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let block =
        Block::bordered().border_type(BorderType::Rounded).border_style(t.focus()).title(Span::styled(title, t.bold()));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

/// A `w`x`h` rectangle in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// Formats a clock duration as `m:ss`.
pub fn elapsed(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

/// A severity icon and style for a compatibility finding.
pub fn check_line(app: &App, c: &crate::plan::Check) -> Line<'static> {
    let (icon, style): (&str, Style) = match c.severity {
        crate::plan::Severity::Error => ("✗ ", app.theme.error()),
        crate::plan::Severity::Warning => ("! ", app.theme.warning()),
    };
    Line::from(vec![Span::styled(icon, style), Span::styled(c.message.clone(), style)])
}
