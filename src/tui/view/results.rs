//! Screen 7: image sizes side by side as bars with the size and "Nx smaller" on each, where the
//! bytes are (base, dependencies, app), and whether each image started.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, Wrap};

use crate::report::{Comparison, LayerRole, human_size as size};
use crate::tui::app::App;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let Some(c) = &app.results else {
        frame.render_widget(Paragraph::new(Line::styled(" No results yet: build first.", t.dim())), area);
        return;
    };
    if c.variants.is_empty() {
        draw_all_failed(frame, area, c, t);
        return;
    }
    let notes = notes(c, t);
    let table_h = ((c.variants.len() + notes.len()) as u16 + 3).min(area.height / 2);
    let [chart, table] = Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.dim())
        .title(Span::styled(" Image size ", t.bold()));
    let inner = block.inner(chart);
    frame.render_widget(block, chart);
    draw_bars(frame.buffer_mut(), inner, c, t);

    let wide = area.width >= 110;
    let rows = c.variants.iter().map(|v| {
        let r = [LayerRole::Base, LayerRole::Dependencies, LayerRole::App, LayerRole::Other]
            .map(|role| v.bytes_by_role(role));
        let (started, style) = match v.verified {
            Some(true) => ("✓ yes", t.ok()),
            Some(false) => ("✗ no", t.error()),
            None => ("-", t.dim()),
        };
        let mut cells = vec![
            Cell::from(Span::styled(v.name.as_str(), t.variant(v.name).patch(t.bold()))),
            Cell::from(size(v.size_bytes)),
            Cell::from(size(r[0])),
            Cell::from(size(r[1])),
            Cell::from(size(r[2])),
        ];
        if wide {
            cells.push(Cell::from(size(r[3])));
        }
        cells.push(Cell::from(Span::styled(started, style)));
        cells.push(Cell::from(if v.build_seconds < 10.0 {
            format!("{:.1} s", v.build_seconds)
        } else {
            format!("{:.0} s", v.build_seconds)
        }));
        if wide {
            let said = v.error.clone().or_else(|| v.verify_detail.clone()).unwrap_or_default();
            cells.push(Cell::from(Span::styled(said, if v.error.is_some() { t.error() } else { t.dim() })));
        }
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Length(15),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    let mut header = vec!["variant", "total", "base", "deps", "app"];
    if wide {
        widths.push(Constraint::Length(9));
        header.push("other");
    }
    widths.extend([Constraint::Length(7), Constraint::Length(5)]);
    header.extend(["started", "build"]);
    if wide {
        widths.push(Constraint::Fill(1));
        header.push("verify");
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.dim())
        .title(Span::styled(" Where the bytes are ", t.bold()));
    let inner = block.inner(table);
    frame.render_widget(block, table);
    let [rows_area, skipped_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(notes.len() as u16)]).areas(inner);
    frame.render_widget(Table::new(rows, widths).header(Row::new(header).style(t.dim())), rows_area);
    frame.render_widget(Paragraph::new(notes), skipped_area);
}

/// One line per variant that was not built or did not start, with its cause, and its remedy
/// on the next line.
fn notes<'a>(c: &'a Comparison, t: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let mut push = |name: crate::plan::Variant, what: String, hint: Option<&String>, failed: bool| {
        out.push(Line::from(vec![
            Span::styled(format!("{:<16}", name.as_str()), t.variant(name)),
            Span::styled(what.replace('\n', " "), if failed { t.error() } else { t.warning() }),
        ]));
        if let Some(h) = hint {
            out.push(Line::from(vec![Span::raw(" ".repeat(16)), Span::styled(format!("hint: {h}"), t.dim())]));
        }
    };
    for s in &c.skipped {
        let what = if s.failed() { format!("✗ {}", s.cause()) } else { format!("not built: {}", s.reason) };
        push(s.name, what, s.hint.as_ref(), s.failed());
    }
    for v in c.variants.iter().filter(|v| v.verified == Some(false)) {
        if let Some(e) = &v.error {
            push(v.name, format!("did not start: {e}"), v.hint.as_ref(), true);
        }
    }
    // What minimal kept and dropped, one line each.
    for v in &c.variants {
        if let Some(m) = &v.minimal {
            out.push(Line::from(vec![
                Span::styled(format!("{:<16}", v.name.as_str()), t.variant(v.name)),
                Span::styled(m.summary(), t.dim()),
            ]));
        }
    }
    out
}

/// Nothing was built: no chart, but every variant with its cause and remedy.
fn draw_all_failed(frame: &mut Frame, area: Rect, c: &Comparison, t: &Theme) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.error())
        .title(Span::styled(" No image was built ", t.bold()));
    let mut lines =
        vec![Line::styled("Every variant failed; the cause of each, and what to do:", t.bold()), Line::raw("")];
    for s in &c.skipped {
        let what = if s.failed() { s.cause().to_string() } else { format!("not built: {}", s.reason) };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", s.name.as_str()), t.variant(s.name).patch(t.bold())),
            Span::styled(format!("✗ {}", what.replace('\n', " ")), t.error()),
        ]));
        if let Some(h) = &s.hint {
            lines.push(Line::from(vec![Span::raw("  "), Span::styled(format!("hint: {h}"), t.dim())]));
        }
        lines.push(Line::raw(""));
    }
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// Vertical bars, one per variant, scaled to the largest image: size and ratio above each bar,
/// the variant's name and a started mark under it.
pub fn draw_bars(buf: &mut Buffer, area: Rect, c: &Comparison, t: &Theme) {
    let n = c.variants.len();
    if n == 0 || area.height < 5 || area.width < 10 {
        return;
    }
    let gap = 2u16;
    let col_w = ((area.width.saturating_sub(gap * (n as u16 + 1))) / n as u16).clamp(6, 20);
    let used = col_w * n as u16 + gap * (n as u16 - 1);
    let left = area.x + area.width.saturating_sub(used) / 2;
    let max = c.variants.iter().map(|v| v.size_bytes).max().unwrap_or(1).max(1);
    // Two label rows above the tallest bar, the name and the mark below.
    let bar_max = area.height.saturating_sub(4);
    let bottom = area.y + 2 + bar_max; // first row under the bars
    for (i, v) in c.variants.iter().enumerate() {
        let x = left + i as u16 * (col_w + gap);
        let h = ((v.size_bytes as f64 / max as f64) * bar_max as f64).round().max(1.0) as u16;
        let h = h.min(bar_max);
        let style = t.variant(v.name);
        for row in 0..h {
            let y = bottom - 1 - row;
            for dx in 0..col_w.saturating_sub(2) {
                buf[(x + 1 + dx, y)].set_symbol("█").set_style(style);
            }
        }
        let top = bottom - h;
        let put = |buf: &mut Buffer, y: u16, text: &str, style| {
            let w = text.chars().count() as u16;
            let w = w.min(col_w);
            let cx = x + (col_w - w) / 2;
            buf.set_stringn(cx, y, text, col_w as usize, style);
        };
        put(buf, top - 2, &size(v.size_bytes), t.bold());
        put(buf, top - 1, &c.ratio_text(v), if c.ratio_text(v).ends_with("smaller") { t.ok() } else { t.dim() });
        put(buf, bottom, v.name.as_str(), style.patch(t.bold()));
        let (mark, mstyle) = match v.verified {
            Some(true) => ("✓ started", t.ok()),
            Some(false) => ("✗ no start", t.error()),
            None => ("", t.dim()),
        };
        put(buf, bottom + 1, mark, mstyle);
    }
}
