//! Screen 3: the command that starts the service (detected candidates and a text input) and
//! the port, with the exact argv the image will run; the steps around it (pre-start commands
//! run before the server without a shell, build steps run after the source is copied, build
//! steps the scan offers) and, for a development server, the offer to serve with gunicorn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::plan;
use crate::tui::app::{App, EntryFocus, StepKind, StepRow, step_source};
use crate::tui::update::{gunicorn_offer, typed_entrypoint, typed_port};

use super::widgets;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let e = &app.entry;
    let list_h = (e.candidates.len().max(1) as u16 + 3).min(if area.height < 30 { 5 } else { 8 });
    // the directories the runtime user writes (the plan's `writable`) get a line when there are any
    let writable: Vec<&str> = match &app.plan {
        Some(Ok(plan)) => plan.writable.iter().map(|w| w.path.as_str()).collect(),
        _ => Vec::new(),
    };
    let [list, inputs, runs, steps, error] = Layout::vertical([
        Constraint::Length(list_h),
        Constraint::Length(3),
        Constraint::Length(if writable.is_empty() { 3 } else { 4 }),
        Constraint::Min(4),
        Constraint::Length(if e.error.is_some() { 2 } else { 0 }),
    ])
    .areas(area);

    let focused = e.focus == EntryFocus::Candidates;
    let rows: Vec<Row> = if e.candidates.is_empty() {
        vec![Row::new(vec![Cell::from(Span::styled("nothing detected: type the command below", t.warning()))])]
    } else {
        e.candidates
            .iter()
            .map(|c| Row::new(vec![Cell::from(c.command.clone()), Cell::from(Span::styled(c.source.clone(), t.dim()))]))
            .collect()
    };
    let table = Table::new(rows, [Constraint::Fill(3), Constraint::Fill(2)])
        .header(Row::new(vec!["command", "from"]).style(t.dim()))
        .row_highlight_style(if focused { t.selected() } else { t.bold() })
        .highlight_symbol(if focused { "▸ " } else { "  " })
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .border_style(if focused { t.focus() } else { t.dim() })
                .title(" Detected commands "),
        );
    let mut state = TableState::default().with_selected((!e.candidates.is_empty()).then_some(e.selected));
    frame.render_stateful_widget(table, list, &mut state);

    let [cmd, port] = Layout::horizontal([Constraint::Min(20), Constraint::Length(12)]).areas(inputs);
    widgets::input(frame, cmd, &e.command, "Command", e.focus == EntryFocus::Command, t);
    widgets::input(frame, port, &e.port, "Port", e.focus == EntryFocus::Port, t);

    // What the image will run: the typed command with the port applied (plan::with_port).
    let runs_line = match (typed_entrypoint(app), typed_port(app)) {
        (Ok(argv), Ok(p)) => {
            let argv = plan::with_port(&argv, p);
            let json = serde_json::to_string(&argv).unwrap_or_default();
            let before = match e.pre_start.len() {
                0 => " The image runs ".to_string(),
                1 => " After 1 pre-start step the image runs ".to_string(),
                n => format!(" After {n} pre-start steps the image runs "),
            };
            Line::from(vec![Span::styled(before, t.dim()), Span::styled(json, t.string())])
        }
        (Err(err), _) | (_, Err(err)) => Line::styled(format!(" {err}"), t.warning()),
    };
    let hint = if gunicorn_offer(app).is_some() {
        Line::from(vec![
            Span::styled(" ⚠ development server: ", t.warning()),
            Span::styled("s", t.key()),
            Span::raw(" serves with gunicorn (installed into the image)"),
        ])
    } else {
        Line::styled(format!(" Listens on port {} (EXPOSE and the verify run use it).", e.port.value()), t.dim())
    };
    let mut lines = vec![runs_line, hint];
    if !writable.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(" Writable by the runtime user: ", t.dim()),
            Span::styled(writable.join(", "), t.string()),
            Span::styled(" (--writable)", t.dim()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), runs);

    draw_steps(frame, app, steps);

    if let Some(err) = &e.error {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" ✗ {err}"), t.error())).wrap(Wrap { trim: false }),
            error,
        );
    }
}

/// The steps box: pre-start steps ("before"), build steps ("build") and offered build steps
/// ("offer"), each with where it came from; the line being typed at the bottom.
fn draw_steps(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let e = &app.entry;
    let focused = e.focus == EntryFocus::Steps;
    let rows = e.step_rows(&app.scan);
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|r| {
            let (label, n, text, source) = match *r {
                StepRow::PreStart(i) => (
                    "before",
                    format!("{}", i + 1),
                    e.pre_start[i].clone(),
                    step_source(app, StepKind::PreStart, &e.pre_start[i]),
                ),
                StepRow::Build(i) => (
                    "build",
                    format!("{}", i + 1),
                    e.build_steps[i].clone(),
                    step_source(app, StepKind::Build, &e.build_steps[i]),
                ),
                StepRow::Offered(i) => {
                    let c = &app.scan.build_step_candidates[i];
                    ("offer", "+".to_string(), c.value.clone(), c.source.clone())
                }
            };
            let style = if matches!(r, StepRow::Offered(_)) { t.dim() } else { t.text() };
            Row::new(vec![
                Cell::from(Span::styled(label, t.dim())),
                Cell::from(n),
                Cell::from(Span::styled(text, style)),
                Cell::from(Span::styled(source, t.dim())),
            ])
        })
        .collect();
    let title = if focused {
        " Steps: a before the server · b build · e edit · d remove · J/K move "
    } else {
        " Steps: before the server (no shell) and at build time "
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused { t.focus() } else { t.dim() })
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (list_area, edit_area) = if e.step_edit.is_some() {
        let [l, ed] = Layout::vertical([Constraint::Min(0), Constraint::Length(3)]).areas(inner);
        (l, Some(ed))
    } else {
        (inner, None)
    };
    let table = Table::new(
        table_rows,
        [Constraint::Length(6), Constraint::Length(2), Constraint::Fill(3), Constraint::Fill(1)],
    )
    .row_highlight_style(if focused { t.selected() } else { t.text() })
    .highlight_symbol(if focused { "▸ " } else { "  " });
    let selected = (focused && !rows.is_empty()).then(|| e.step_cursor.min(rows.len() - 1));
    let mut state = TableState::default().with_selected(selected);
    if rows.is_empty() {
        let how = if focused { "" } else { " (Tab to here)" };
        let lines = vec![
            Line::styled(" None. Commands to run before the server (migrations) and build steps", t.dim()),
            Line::styled(
                format!(" (collectstatic) are added here: a before the server, b at build time{how}."),
                t.dim(),
            ),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), list_area);
    } else {
        frame.render_stateful_widget(table, list_area, &mut state);
    }
    if let (Some(edit), Some(ed)) = (&e.step_edit, edit_area) {
        let title = match (edit.kind, edit.index) {
            (StepKind::PreStart, None) => "New step before the server (no shell: one command)",
            (StepKind::PreStart, Some(_)) => "Step before the server (no shell: one command)",
            (StepKind::Build, None) => "New build step (a shell command)",
            (StepKind::Build, Some(_)) => "Build step (a shell command)",
        };
        widgets::input(frame, ed, &edit.input, title, true, t);
    }
}
