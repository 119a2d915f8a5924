//! A single-line text input: the text, a cursor in characters, and the editing keys
//! (insert, left/right, home/end, backspace/delete, Ctrl-U/Ctrl-K). Pure state; drawn by
//! `view::widgets::input`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextInput {
    chars: Vec<char>,
    /// Cursor position in characters, `0..=len`.
    cursor: usize,
}

impl TextInput {
    /// An input holding `text` with the cursor at the end.
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let cursor = chars.len();
        Self { chars, cursor }
    }

    pub fn value(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Replaces the text and puts the cursor at the end.
    pub fn set(&mut self, text: &str) {
        *self = Self::new(text);
    }

    pub fn insert(&mut self, c: char) {
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    /// Applies an editing key; returns false when the key is not an editing key (Enter, Esc,
    /// Tab, arrows up/down are left to the screen).
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('a') if ctrl => self.home(),
            KeyCode::Char('e') if ctrl => self.end(),
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => {
                self.chars.truncate(self.cursor);
            }
            KeyCode::Char(_) if ctrl => return false,
            KeyCode::Char(c) => self.insert(c),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            _ => return false,
        }
        true
    }

    /// The visible window of `width` characters that keeps the cursor on screen: the first
    /// visible character index.
    pub fn scroll_for(&self, width: usize) -> usize {
        if width == 0 {
            return self.cursor;
        }
        // One cell is kept for the cursor after the last character.
        self.cursor.saturating_sub(width.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_in_the_middle() {
        let mut i = TextInput::new("uvicorn app:app");
        i.home();
        for _ in 0..7 {
            i.right();
        }
        i.handle_key(key(KeyCode::Char('X')));
        assert_eq!(i.value(), "uvicornX app:app");
        i.handle_key(key(KeyCode::Backspace));
        i.handle_key(key(KeyCode::Delete));
        assert_eq!(i.value(), "uvicornapp:app");
        i.handle_key(key(KeyCode::End));
        i.handle_key(key(KeyCode::Char('!')));
        assert_eq!(i.value(), "uvicornapp:app!");
        i.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(i.value(), "");
        assert!(!i.handle_key(key(KeyCode::Enter)));
    }

    #[test]
    fn unicode_and_bounds() {
        let mut i = TextInput::new("é");
        i.left();
        i.left();
        assert_eq!(i.cursor(), 0);
        i.backspace();
        i.insert('ü');
        assert_eq!(i.value(), "üé");
        i.right();
        i.right();
        i.delete();
        assert_eq!(i.cursor(), 2);
        assert_eq!(TextInput::new("abcdef").scroll_for(4), 3);
    }
}
