//! Screen 3: the command that starts the service (detected candidates and a text input) and
//! the port, with the exact argv the image will run.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::plan;
use crate::tui::app::{App, EntryFocus};
use crate::tui::update::{typed_entrypoint, typed_port};

use super::widgets;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let e = &app.entry;
    let list_h = (e.candidates.len().max(1) as u16 + 3).min(8);
    let [list, inputs, runs, error] = Layout::vertical([
        Constraint::Length(list_h),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Min(0),
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
            Line::from(vec![Span::styled(" The image runs ", t.dim()), Span::styled(json, t.string())])
        }
        (Err(err), _) | (_, Err(err)) => Line::styled(format!(" {err}"), t.warning()),
    };
    let hint =
        Line::styled(format!(" Listens on port {} (EXPOSE and the verify run use it).", e.port.value()), t.dim());
    frame.render_widget(Paragraph::new(vec![runs_line, hint]).wrap(Wrap { trim: false }), runs);

    if let Some(err) = &e.error {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" ✗ {err}"), t.error())).wrap(Wrap { trim: false }),
            error,
        );
    }
}
