//! Screen 2: builder and runtime image from the catalogue (or a custom one), with the
//! compatibility findings of the highlighted pair shown before anything is built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use crate::catalogue::{BaseImage, Family, Libc};
use crate::plan::Severity;
use crate::tui::app::{App, CustomForm, Slot};

use super::{centered, check_line, widgets};

fn describe(i: &BaseImage) -> String {
    let mut parts = vec![format!("Python {}", i.python), i.interpreter.clone()];
    parts.push(if i.shell { "shell".into() } else { "no shell".into() });
    if i.approx_mb > 0 {
        parts.push(format!("~{} MB", i.approx_mb));
    }
    if let Some(eol) = &i.eol {
        parts.push(format!("end-of-life {eol}"));
    }
    parts.join(" · ")
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let checks = app.image_checks();
    let check_lines: Vec<Line> = if checks.is_empty() {
        vec![Line::styled("✓ builder and runtime are compatible", t.ok())]
    } else {
        checks.iter().map(|c| check_line(app, c)).collect()
    };
    // Findings wrap: give them the rows they need, up to a third of the screen.
    let width = area.width.saturating_sub(4).max(1) as usize;
    let needed: usize = check_lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let checks_h = (needed as u16 + 2).min(area.height / 3 + 2).max(3);
    let [slots, list, findings] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(4), Constraint::Length(checks_h)]).areas(area);

    let slot_line = |slot: Slot, label: &str| {
        let focused = app.images.focus == slot;
        let image = app.images.selected(slot);
        let name = image.map(|i| i.reference.clone()).unwrap_or_else(|| "custom image…".into());
        let detail = image.map(describe).unwrap_or_default();
        Line::from(vec![
            Span::styled(if focused { " ▸ " } else { "   " }, t.accent()),
            Span::styled(format!("{label:<8}"), if focused { t.title() } else { t.dim() }),
            Span::styled(name, t.bold()),
            Span::styled(format!("  {detail}"), t.dim()),
        ])
    };
    frame.render_widget(
        Paragraph::new(vec![slot_line(Slot::Builder, "Builder"), slot_line(Slot::Runtime, "Runtime")]),
        slots,
    );

    let slot = app.images.focus;
    let python = app.python();
    let mut rows: Vec<Row> = app
        .images
        .choices(slot)
        .iter()
        .map(|i| {
            let mut note = Vec::new();
            if i.family == Family::Custom {
                note.push(Span::styled("custom ", t.accent()));
            }
            if i.eol.is_some() {
                note.push(Span::styled("EOL ", t.warning()));
            }
            if i.libc == Libc::Musl {
                note.push(Span::styled("musl ", t.warning()));
            }
            Row::new(vec![
                Cell::from(i.reference.clone()),
                Cell::from(Span::styled(i.python.to_string(), if i.python == python { t.ok() } else { t.text() })),
                Cell::from(if i.shell { "yes" } else { "no" }),
                Cell::from(if i.approx_mb > 0 { format!("{:>4} MB", i.approx_mb) } else { String::new() }),
                Cell::from(Line::from(note)),
            ])
        })
        .collect();
    rows.push(Row::new(vec![Cell::from(Span::styled("Custom image… (type a reference)", t.accent()))]));
    let title = match slot {
        Slot::Builder => " Builder images (Tab: runtime) ",
        Slot::Runtime => " Runtime images (Tab: builder) ",
    };
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(vec!["image", "py", "shell", "   size", ""]).style(t.dim()))
    .row_highlight_style(t.selected())
    .block(Block::bordered().border_type(BorderType::Rounded).border_style(t.focus()).title(title));
    let mut state = TableState::default().with_selected(Some(app.images.index(slot)));
    frame.render_stateful_widget(table, list, &mut state);

    let has_error = checks.iter().any(|c| c.severity == Severity::Error);
    let border = if has_error { t.error() } else { t.dim() };
    let block = Block::bordered().border_type(BorderType::Rounded).border_style(border).title(if has_error {
        " Incompatible: fix before building "
    } else {
        " Compatibility "
    });
    frame.render_widget(Paragraph::new(check_lines).block(block).wrap(Wrap { trim: false }), findings);

    if let Some(form) = &app.images.custom {
        draw_custom(frame, app, form, area);
    }
}

fn draw_custom(frame: &mut Frame, app: &App, form: &CustomForm, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 64, 16);
    frame.render_widget(Clear, r);
    let which = match form.slot {
        Slot::Builder => "builder",
        Slot::Runtime => "runtime",
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.focus())
        .title(Span::styled(format!(" Custom {which} image "), t.bold()));
    let inner = block.inner(r).inner(Margin { horizontal: 1, vertical: 0 });
    frame.render_widget(block, r);
    let [a, b, c, d, e] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    let [b1, _] = Layout::horizontal([Constraint::Length(18), Constraint::Min(0)]).areas(b);
    widgets::input(frame, a, &form.reference, "Image reference", form.field == 0, t);
    widgets::input(frame, b1, &form.python, "Python (3.X)", form.field == 1, t);
    widgets::input(frame, c, &form.interpreter, "Interpreter path", form.field == 2, t);
    let shell = Line::from(vec![
        Span::styled(if form.field == 3 { "▸ " } else { "  " }, t.accent()),
        Span::styled(
            format!("[{}] the image has a shell (/bin/sh)", if form.shell { "x" } else { " " }),
            if form.field == 3 { t.selected() } else { t.text() },
        ),
    ]);
    frame.render_widget(Paragraph::new(shell), d);
    let msg = match &form.error {
        Some(e) => Line::styled(format!("✗ {e}"), t.error()),
        None => Line::styled("Enter adds the image; Esc cancels.", t.dim()),
    };
    frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: false }), e);
}
