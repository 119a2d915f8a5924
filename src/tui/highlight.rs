//! A small Dockerfile highlighter for the preview: instructions, comments, quoted strings,
//! `--flags` and `$VARIABLES`. Line-based, like the format; continuation lines (after `\`) are
//! highlighted as arguments.

use ratatui::text::{Line, Span};

use super::theme::Theme;

const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
    "AS",
];

/// Highlights a whole Dockerfile, one `Line` per source line.
pub fn dockerfile(text: &str, theme: &Theme) -> Vec<Line<'static>> {
    text.lines().map(|l| line(l, theme)).collect()
}

/// Highlights one line.
pub fn line(src: &str, theme: &Theme) -> Line<'static> {
    let trimmed = src.trim_start();
    if trimmed.starts_with('#') {
        return Line::from(Span::styled(src.to_string(), theme.comment()));
    }
    let mut spans = Vec::new();
    let indent = &src[..src.len() - trimmed.len()];
    if !indent.is_empty() {
        spans.push(Span::raw(indent.to_string()));
    }
    let (first, rest) = match trimmed.find(char::is_whitespace) {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    };
    if INSTRUCTIONS.contains(&first.to_ascii_uppercase().as_str()) && indent.is_empty() {
        spans.push(Span::styled(first.to_string(), theme.instruction()));
        spans.extend(arguments(rest, theme));
    } else {
        spans.extend(arguments(trimmed, theme));
    }
    Line::from(spans)
}

/// Splits arguments into styled spans: strings, flags, variables, ` AS ` and plain text.
fn arguments(text: &str, theme: &Theme) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let flush = |plain: &mut String, out: &mut Vec<Span<'static>>| {
        if !plain.is_empty() {
            out.push(Span::raw(std::mem::take(plain)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let at_word_start = i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '[' || chars[i - 1] == ',';
        if c == '"' || c == '\'' {
            flush(&mut plain, &mut out);
            let mut s = String::from(c);
            i += 1;
            while i < chars.len() {
                s.push(chars[i]);
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    s.push(chars[i]);
                } else if chars[i] == c {
                    break;
                }
                i += 1;
            }
            out.push(Span::styled(s, theme.string()));
            i += 1;
        } else if c == '-' && at_word_start && chars.get(i + 1).is_some_and(|n| *n == '-' || n.is_ascii_alphabetic()) {
            flush(&mut plain, &mut out);
            let mut s = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
                s.push(chars[i]);
                i += 1;
            }
            out.push(Span::styled(s, theme.flag()));
        } else if c == '$' {
            flush(&mut plain, &mut out);
            let mut s = String::from('$');
            i += 1;
            if chars.get(i) == Some(&'{') {
                while i < chars.len() {
                    s.push(chars[i]);
                    i += 1;
                    if s.ends_with('}') {
                        break;
                    }
                }
            } else {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    s.push(chars[i]);
                    i += 1;
                }
            }
            out.push(Span::styled(s, theme.variable()));
        } else if at_word_start && text[byte_index(&chars, i)..].to_ascii_uppercase().starts_with("AS ") && i > 0 {
            flush(&mut plain, &mut out);
            out.push(Span::styled(chars[i..i + 2].iter().collect::<String>(), theme.instruction()));
            i += 2;
        } else {
            plain.push(c);
            i += 1;
        }
    }
    flush(&mut plain, &mut out);
    out
}

fn byte_index(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(l: &Line<'_>) -> Vec<String> {
        l.spans.iter().map(|s| s.content.to_string()).collect()
    }

    #[test]
    fn splits_instruction_flags_strings_and_variables() {
        let t = Theme::colored();
        let l = line("COPY --from=builder /opt/venv /opt/venv", &t);
        assert_eq!(parts(&l), ["COPY", " ", "--from", "=builder /opt/venv /opt/venv"]);
        assert_eq!(l.spans[0].style, t.instruction());
        assert_eq!(l.spans[2].style, t.flag());
        let l = line(r#"CMD ["uvicorn", "app:app"]"#, &t);
        assert!(l.spans.iter().any(|s| s.content == "\"uvicorn\"" && s.style == t.string()));
        let l = line("ENV PATH=\"${VENV}/bin:$PATH\"", &t);
        assert!(l.spans.iter().any(|s| s.style == t.string()));
        let l = line("RUN echo $HOME", &t);
        assert!(l.spans.iter().any(|s| s.content == "$HOME" && s.style == t.variable()));
        let l = line("FROM python:3.13-slim AS builder", &t);
        assert!(l.spans.iter().any(|s| s.content == "AS" && s.style == t.instruction()));
        let l = line("# a comment", &t);
        assert_eq!(l.spans[0].style, t.comment());
        let l = line("    && rm -rf /x", &t);
        assert_eq!(parts(&l).concat(), "    && rm -rf /x");
    }
}
