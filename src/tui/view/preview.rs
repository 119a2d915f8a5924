//! Screen 5: the Dockerfile of each chosen variant, highlighted and scrollable, or its diff
//! against the project's Dockerfile; whether Docker can build it, and why not.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};
use similar::{ChangeTag, TextDiff};

use crate::tui::app::{App, DockerState};
use crate::tui::highlight;
use crate::tui::theme::Theme;

/// A unified diff of `old` -> `new` as styled lines.
pub fn diff_lines(old: &str, new: &str, theme: &Theme) -> Vec<Line<'static>> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = vec![
        Line::styled("--- Dockerfile (in the project)", theme.removed()),
        Line::styled("+++ Dockerfile (pyslim)", theme.added()),
    ];
    for group in diff.grouped_ops(3) {
        if let (Some(first), Some(last)) = (group.first(), group.last()) {
            let (o, n) = (first.old_range().start, first.new_range().start);
            let (ol, nl) = (last.old_range().end - o, last.new_range().end - n);
            out.push(Line::styled(format!("@@ -{},{ol} +{},{nl} @@", o + 1, n + 1), theme.accent()));
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let text = change.value().trim_end_matches('\n').to_string();
                out.push(match change.tag() {
                    ChangeTag::Delete => Line::styled(format!("-{text}"), theme.removed()),
                    ChangeTag::Insert => Line::styled(format!("+{text}"), theme.added()),
                    ChangeTag::Equal => Line::raw(format!(" {text}")),
                });
            }
        }
    }
    if out.len() == 2 {
        out.push(Line::styled("(identical)", theme.dim()));
    }
    out
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let p = &app.preview;
    let docker = match &app.docker {
        DockerState::Checking => Line::from(vec![
            Span::styled(format!(" {} ", app.spinner()), t.accent()),
            Span::styled("Looking for a Docker daemon…", t.dim()),
        ]),
        DockerState::Ready(d) => {
            Line::from(vec![Span::styled(" ✓ ", t.ok()), Span::styled(format!("Docker ready: {d}"), t.dim())])
        }
        DockerState::Unavailable(e) => Line::from(vec![
            Span::styled(" ✗ Cannot build: ", t.error()),
            Span::styled(e.replace('\n', " "), t.error()),
        ]),
    };
    let docker_h = match &app.docker {
        DockerState::Unavailable(e) => {
            let w = area.width.saturating_sub(2).max(1) as usize;
            ((e.chars().count() + 18).div_ceil(w) as u16).clamp(1, 4)
        }
        _ => 1,
    };
    let current = p.current();
    let checks: Vec<Line> = match (&app.plan, current) {
        (Some(Ok(plan)), Some((v, _))) => {
            plan.checks(*v, &app.scan).iter().map(|c| super::check_line(app, c)).collect()
        }
        _ => Vec::new(),
    };
    let checks_h = (checks.len() as u16).min(3);
    let [tabs, docker_area, checks_area, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(docker_h),
        Constraint::Length(checks_h),
        Constraint::Min(3),
    ])
    .areas(area);

    let recommended = app.plan.as_ref().and_then(|r| r.as_ref().ok()).map(|p| p.variant);
    let mut spans = vec![Span::raw(" ")];
    for (i, (v, r)) in p.rendered.iter().enumerate() {
        let mut name = v.as_str().to_string();
        if Some(*v) == recommended {
            name.push('★');
        }
        let style = if i == p.shown {
            t.selected().patch(t.bold())
        } else if r.is_err() {
            t.error()
        } else {
            t.dim()
        };
        spans.push(Span::styled(format!(" {name} "), style));
        spans.push(Span::raw(" "));
    }
    if recommended.is_some() && area.width >= 70 {
        spans.push(Span::styled("★ recommended", t.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs);
    frame.render_widget(Paragraph::new(docker).wrap(Wrap { trim: false }), docker_area);
    frame.render_widget(Paragraph::new(checks).wrap(Wrap { trim: false }), checks_area);

    let (title, lines): (String, Vec<Line>) = match current {
        None => (" Dockerfile ".into(), vec![Line::styled("Nothing to preview yet.", t.dim())]),
        Some((v, Err(e))) => (format!(" {v}: cannot render "), vec![Line::styled(format!("✗ {e}"), t.error())]),
        Some((v, Ok(r))) => {
            if p.show_diff
                && let Some(old) = &app.existing_dockerfile
            {
                (format!(" {v}: diff against the project's Dockerfile "), diff_lines(old, &r.dockerfile, t))
            } else {
                let extra = if app.existing_dockerfile.is_some() { " (d: diff)" } else { "" };
                (format!(" Dockerfile · {v}{extra} "), highlight::dockerfile(&r.dockerfile, t))
            }
        }
    };
    let total = lines.len() as u16;
    let visible = body.height.saturating_sub(2);
    let scroll = p.scroll.min(total.saturating_sub(visible));
    let position = if total > visible {
        format!(" {}-{} of {} ", scroll + 1, (scroll + visible).min(total), total)
    } else {
        String::new()
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.dim())
        .title(Span::styled(title, t.bold()))
        .title(Line::styled(position, t.dim()).right_aligned());
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), body);
}
