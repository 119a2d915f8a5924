//! Screen 6: one row per variant with its phase, current step, a gauge, elapsed time and the
//! tail of its log.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use crate::report::human_size as size;
use crate::tui::app::{App, Phase, RunState, VariantRow};

use super::elapsed;

fn phase(app: &App, row: &VariantRow) -> (String, Style) {
    let t = &app.theme;
    match &row.phase {
        Phase::Queued => ("· queued".into(), t.dim()),
        Phase::Skipped(_) => ("− skipped".into(), t.warning()),
        Phase::Pulling => (format!("{} pulling base image", app.spinner()), t.accent()),
        Phase::Building => (format!("{} building", app.spinner()), t.accent()),
        Phase::Built => ("✓ built".into(), t.ok()),
        Phase::Verifying => (format!("{} starting the image", app.spinner()), t.accent()),
        Phase::Verified(true) => ("✓ built, started".into(), t.ok()),
        Phase::Verified(false) => ("✗ built, did not start".into(), t.error()),
        Phase::Failed(_) => ("✗ failed".into(), t.error()),
        Phase::Cancelled => ("■ cancelled".into(), t.warning()),
    }
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let b = &app.build;
    let total_time = b.ended.unwrap_or(app.clock).saturating_sub(b.started);
    let summary = match &b.state {
        RunState::Idle => Line::styled(" Nothing is building.", t.dim()),
        RunState::Running => Line::from(vec![
            Span::styled(format!(" {} ", app.spinner()), t.accent()),
            Span::raw(format!(
                "Building and verifying {} variant(s) · {} · Esc cancels",
                b.rows.iter().filter(|r| !matches!(r.phase, Phase::Skipped(_))).count(),
                elapsed(total_time)
            )),
        ]),
        RunState::Cancelling => Line::styled(
            format!(" {} Cancelling: stopping the build and removing containers…", app.spinner()),
            t.warning(),
        ),
        RunState::Cancelled => {
            Line::styled(" ■ Cancelled: builds stopped, containers removed. Esc: back to the preview.", t.warning())
        }
        RunState::Finished => {
            Line::styled(format!(" ✓ Done in {} · Enter shows the results", elapsed(total_time)), t.ok())
        }
        RunState::Failed(e) => Line::styled(format!(" ✗ {}", e.replace('\n', " ")), t.error()),
    };
    let [top, rows_area] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(summary), top);

    let areas = Layout::vertical(row_heights(b.rows.as_slice(), rows_area.height)).split(rows_area);
    for (row, r) in b.rows.iter().zip(areas.iter()) {
        draw_row(frame, app, row, *r);
    }
}

/// Every row gets its title and one status line; the rows that are building (or failed, to show
/// why) share the rest for their log tails.
fn row_heights(rows: &[VariantRow], height: u16) -> Vec<Constraint> {
    let n = rows.len() as u16;
    let wants_log = |r: &VariantRow| r.is_active() || matches!(r.phase, Phase::Failed(_) | Phase::Verified(false));
    let growing = rows.iter().filter(|r| wants_log(r)).count() as u16;
    if growing == 0 {
        return vec![Constraint::Length((height / n.max(1)).clamp(2, 4)); rows.len()];
    }
    let extra = height.saturating_sub(2 * n) / growing;
    rows.iter().map(|r| Constraint::Length(if wants_log(r) { 2 + extra.min(12) } else { 2 })).collect()
}

fn draw_row(frame: &mut Frame, app: &App, row: &VariantRow, area: Rect) {
    let t = &app.theme;
    if area.height == 0 {
        return;
    }
    let (phase_text, phase_style) = phase(app, row);
    let time = match (row.started, row.ended) {
        (Some(s), Some(e)) => elapsed(e.saturating_sub(s)),
        (Some(s), None) => elapsed(app.clock.saturating_sub(s)),
        _ => String::new(),
    };
    let size_text = row.size_bytes.map(size).unwrap_or_default();
    let [line1, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let [name_a, gauge_a, info_a] =
        Layout::horizontal([Constraint::Length(18), Constraint::Fill(1), Constraint::Length(40)]).areas(line1);
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {}", row.variant), t.variant(row.variant).patch(t.bold()))),
        name_a,
    );
    let ratio = if row.total > 0 { (row.step as f64 / row.total as f64).clamp(0.0, 1.0) } else { 0.0 };
    let ratio = match row.phase {
        Phase::Built | Phase::Verifying | Phase::Verified(_) => 1.0,
        _ => ratio,
    };
    let label = if row.total > 0 { format!("{:>2}/{:<2}", row.step, row.total) } else { "  -  ".into() };
    // While pulling, the gauge shows the download's bytes and the label its layers.
    let (ratio, label) = match (&row.phase, &row.pull) {
        (Phase::Pulling, Some((_, tr))) => (
            if tr.bytes_total > 0 { (tr.bytes_done as f64 / tr.bytes_total as f64).clamp(0.0, 1.0) } else { 0.0 },
            format!("{:>2}/{:<2}", tr.layers_done, tr.layers_total),
        ),
        _ => (ratio, label),
    };
    let gauge =
        LineGauge::default().ratio(ratio).label(label).filled_style(t.variant(row.variant)).unfilled_style(t.dim());
    frame.render_widget(gauge, gauge_a);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" {phase_text:<22}"), phase_style),
            Span::styled(format!("{time:>5} "), t.dim()),
            Span::styled(size_text, t.bold()),
        ])),
        info_a,
    );
    if rest.height == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    match &row.phase {
        Phase::Skipped(why) => lines.push(Line::styled(format!("   {why}"), t.warning())),
        Phase::Failed(why) => lines.push(Line::styled(format!("   {}", why.replace('\n', " ")), t.error())),
        Phase::Pulling => {
            if let Some((image, tr)) = &row.pull {
                // Numbers first: a long mirrored reference is what gets cut on a narrow terminal.
                lines.push(Line::from(vec![
                    Span::styled("   pull ", t.dim()),
                    Span::styled(
                        format!(
                            "{}/{} layers · {} of {} · ",
                            tr.layers_done,
                            tr.layers_total,
                            size(tr.bytes_done),
                            size(tr.bytes_total)
                        ),
                        t.text(),
                    ),
                    Span::styled(image.clone(), t.dim()),
                ]));
            }
        }
        _ => {
            if !row.step_name.is_empty() {
                lines.push(Line::from(vec![
                    Span::styled("   step ", t.dim()),
                    Span::styled(row.step_name.split_whitespace().collect::<Vec<_>>().join(" "), t.text()),
                ]));
            }
            if let Some(d) = &row.detail {
                lines.push(Line::styled(format!("   {d}"), t.dim()));
            }
        }
    }
    let room = (rest.height as usize).saturating_sub(lines.len());
    let skip = row.log.len().saturating_sub(room);
    for l in row.log.iter().skip(skip) {
        lines.push(Line::styled(format!("   │ {l}"), t.dim()));
    }
    frame.render_widget(Paragraph::new(lines), rest);
}
