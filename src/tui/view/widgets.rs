//! Small drawing helpers shared by the screens: a text input with its cursor.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use super::super::input::TextInput;
use super::super::theme::Theme;

/// Draws `input` in a bordered box titled `title`; when focused, the cursor cell is reversed
/// (visible in any terminal, without colour, and in screen captures).
pub fn input(frame: &mut Frame, area: Rect, input: &TextInput, title: &str, focused: bool, theme: &Theme) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused { theme.focus() } else { theme.dim() })
        .title(Span::styled(format!(" {title} "), if focused { theme.bold() } else { theme.text() }));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let start = if focused { input.scroll_for(width) } else { 0 };
    let chars = input.chars();
    let visible: String = chars.iter().skip(start).take(width).collect();
    let line = if focused {
        let cur = input.cursor() - start;
        let before: String = visible.chars().take(cur).collect();
        let at: String = visible.chars().nth(cur).map(String::from).unwrap_or_else(|| " ".into());
        let after: String = visible.chars().skip(cur + 1).collect();
        Line::from(vec![Span::raw(before), Span::styled(at, theme.cursor()), Span::raw(after)])
    } else {
        Line::raw(visible)
    };
    frame.render_widget(Paragraph::new(line), inner);
}
