//! Styles of the wizard in one place, so `NO_COLOR` is honoured everywhere: without colour the
//! meaning is carried by symbols (✗, !, ✓) and modifiers (bold, reversed) that stay visible.

use ratatui::style::{Color, Modifier, Style};

use crate::plan::Variant;

/// The wizard's palette; `color == false` drops every colour and keeps the modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    pub const fn colored() -> Self {
        Self { color: true }
    }

    pub const fn plain() -> Self {
        Self { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn text(&self) -> Style {
        Style::new()
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn dim(&self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new() }
    }
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// The selected row of a list: reversed, so it shows without colour too.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// A key name in the footer and the help.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// The border of the focused panel or input.
    pub fn focus(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn cursor(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    // Dockerfile highlighting.
    pub fn instruction(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
    pub fn comment(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::ITALIC)
    }
    pub fn string(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn flag(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn variable(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn added(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn removed(&self) -> Style {
        self.fg(Color::Red)
    }

    /// Bar colour of a variant in the results chart.
    pub fn variant(&self, v: Variant) -> Style {
        self.fg(match v {
            Variant::Naive => Color::Red,
            Variant::Slim => Color::Yellow,
            Variant::MultistageSlim => Color::Blue,
            Variant::Distroless => Color::Green,
            Variant::Minimal => Color::Cyan,
        })
    }
}
