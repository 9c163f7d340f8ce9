//! The one escaping of text that came from a file, a state or a cloud's response before it
//! reaches a terminal. A terminal obeys control characters: an object key or an error message
//! holding `ESC ] 0 ;` retitles the window, `ESC [ 2 J` clears the screen, and bidirectional
//! overrides make text read differently from what it is (CVE-2021-42574, "Trojan Source").
//! Every such character is shown as a visible escape instead: `\e`, `\u{202e}`.

use std::borrow::Cow;

/// Whether `c` would be obeyed rather than shown: C0 controls but tab and line feed, DEL, C1
/// controls, and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// How an unsafe character is shown.
fn escaped(c: char, out: &mut String) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\r' => out.push_str("\\r"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\0' => out.push_str("\\0"),
        other => out.push_str(&format!("\\u{{{:x}}}", other as u32)),
    }
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The same for output that carries Trustform's own colours: SGR sequences (`ESC [ 1;31 m`),
/// which only change colour and weight, are kept; every other unsafe character is escaped. What
/// the print macros apply to everything written to standard output and standard error, under
/// the stricter [`terminal`] that text from files, states and responses gets where it is
/// formatted.
pub fn keeping_colours(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            if let Some(length) = sgr_length(rest) {
                out.push_str(&rest[..length]);
                rest = &rest[length..];
                continue;
            }
        }
        if is_unsafe(c) {
            escaped(c, &mut out);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// JSON text with every unsafe character that JSON allows raw in a string (DEL, C1 controls,
/// bidi overrides) written as its `\uXXXX` escape instead: the same document for a parser,
/// nothing a terminal obeys. The C0 controls are escaped by every JSON writer already.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The length of the SGR sequence `text` starts with: `ESC [`, digits and semicolons, `m`.
fn sgr_length(text: &str) -> Option<usize> {
    let parameters = text.strip_prefix("\u{1b}[")?;
    let digits = parameters.find(|c: char| !c.is_ascii_digit() && c != ';')?;
    (parameters[digits..].starts_with('m')).then_some(2 + digits + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(terminal("plain text\twith tab\n"), "plain text\twith tab\n");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("\u{1b}]0;pwned\u{7}"), "\\e]0;pwned\\a");
        assert_eq!(terminal("\u{1b}[2J\u{1b}[H"), "\\e[2J\\e[H");
        assert_eq!(terminal("a\rb\u{0}c\u{7f}d\u{9b}e"), "a\\rb\\0c\\u{7f}d\\u{9b}e");
        assert_eq!(terminal("admin\u{202e}txt.exe"), "admin\\u{202e}txt.exe");
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(!terminal(&format!("x{c}y")).contains(c), "{:x}", c as u32);
        }
        assert_eq!(terminal("é ü 日本 ✓"), "é ü 日本 ✓");
    }

    #[test]
    fn json_keeps_its_meaning_and_loses_its_controls() {
        let value = serde_json::json!({"key\u{1b}]0;x\u{7}": "a\u{202e}b\u{85}c\u{7f}"});
        let text = serde_json::to_string(&value).unwrap();
        let safe = json(&text);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
        assert!(matches!(json("{\"a\": 1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn colours_are_kept_and_everything_else_escaped() {
        let coloured = "\u{1b}[1;31m-\u{1b}[0m destroy";
        assert_eq!(keeping_colours(coloured), coloured);
        assert_eq!(keeping_colours("\u{1b}[2J"), "\\e[2J");
        assert_eq!(keeping_colours("\u{1b}]0;title\u{7}"), "\\e]0;title\\a");
        assert_eq!(keeping_colours("\u{1b}[31"), "\\e[31");
        assert_eq!(keeping_colours("\u{1b}"), "\\e");
        assert_eq!(keeping_colours("ok\u{202e}"), "ok\\u{202e}");
    }
}
