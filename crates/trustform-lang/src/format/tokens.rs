//! Splitting already-parsed HCL into the tokens the layout pass arranges.
//!
//! Whitespace is dropped here: the layout decides all of it again. Everything else is kept with
//! its exact source text, so formatting can change nothing but whitespace (and the quotes around
//! bare block labels).

use super::literals::{Literal, LiteralKind};
use super::FormatError;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bracket {
    Brace,
    Square,
    Paren,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ident,
    Number,
    /// A quoted string or string template.
    Quoted,
    /// A heredoc from `<<` through its closing marker.
    Heredoc,
    /// `# ...` or `// ...`, without the newline that ends it.
    LineComment,
    /// `/* ... */`, possibly spanning lines.
    BlockComment,
    Newline,
    Open(Bracket),
    Close(Bracket),
    /// `=`, which assigns attributes and object elements.
    Assign,
    Comma,
    Dot,
    Ellipsis,
    DoubleColon,
    Colon,
    Question,
    FatArrow,
    Minus,
    Bang,
    /// Every other operator: arithmetic, comparison and logical.
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) text: Cow<'a, str>,
}

impl Token<'_> {
    /// +1 for an opening bracket, -1 for a closing one: the unit of indentation.
    pub(super) fn bracket_change(&self) -> isize {
        match self.kind {
            Kind::Open(_) => 1,
            Kind::Close(_) => -1,
            _ => 0,
        }
    }
}

/// Tokenizes `source`, taking each of `literals` (sorted, from the parse tree of `source`) whole.
pub(super) fn tokenize<'a>(source: &'a str, literals: &[Literal]) -> Result<Vec<Token<'a>>, FormatError> {
    let mut tokens = Vec::new();
    let mut literals = literals.iter().peekable();
    let mut pos = 0;
    loop {
        let rest = &source[pos..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r']);
        pos += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            return Ok(tokens);
        }
        if let Some(literal) = literals.next_if(|literal| literal.span.start == pos) {
            let text = &source[literal.span.clone()];
            tokens.push(match literal.kind {
                LiteralKind::Quoted => Token { kind: Kind::Quoted, text: text.into() },
                LiteralKind::Heredoc => Token { kind: Kind::Heredoc, text: text.into() },
                LiteralKind::BareLabel => Token { kind: Kind::Quoted, text: format!("\"{text}\"").into() },
            });
            pos = literal.span.end;
            continue;
        }
        let Some((kind, len)) = scan(trimmed) else {
            // The parser accepted this text, so reaching here means the two disagree about HCL.
            let found = trimmed.chars().next().unwrap_or_default();
            return Err(FormatError::at(source, pos, format!("unexpected character `{found}`")));
        };
        let text = &trimmed[..len];
        let text = if kind == Kind::LineComment { text.trim_end() } else { text };
        tokens.push(Token { kind, text: text.into() });
        pos += len;
    }
}

/// The kind and byte length of the token at the start of `rest`, which holds no leading
/// whitespace and does not start with a literal.
fn scan(rest: &str) -> Option<(Kind, usize)> {
    let mut chars = rest.chars();
    let first = chars.next()?;
    let second = chars.next();
    let token = match (first, second) {
        ('\n', _) => (Kind::Newline, 1),
        ('#', _) | ('/', Some('/')) => (Kind::LineComment, rest.find('\n').unwrap_or(rest.len())),
        ('/', Some('*')) => (Kind::BlockComment, rest[2..].find("*/")? + 4),
        ('.', Some('.')) if rest.starts_with("...") => (Kind::Ellipsis, 3),
        (':', Some(':')) => (Kind::DoubleColon, 2),
        ('=', Some('>')) => (Kind::FatArrow, 2),
        ('=' | '!' | '<' | '>', Some('=')) | ('&', Some('&')) | ('|', Some('|')) => (Kind::Operator, 2),
        ('{', _) => (Kind::Open(Bracket::Brace), 1),
        ('}', _) => (Kind::Close(Bracket::Brace), 1),
        ('[', _) => (Kind::Open(Bracket::Square), 1),
        (']', _) => (Kind::Close(Bracket::Square), 1),
        ('(', _) => (Kind::Open(Bracket::Paren), 1),
        (')', _) => (Kind::Close(Bracket::Paren), 1),
        ('=', _) => (Kind::Assign, 1),
        (',', _) => (Kind::Comma, 1),
        ('.', _) => (Kind::Dot, 1),
        (':', _) => (Kind::Colon, 1),
        ('?', _) => (Kind::Question, 1),
        ('-', _) => (Kind::Minus, 1),
        ('!', _) => (Kind::Bang, 1),
        ('+' | '*' | '/' | '%' | '<' | '>', _) => (Kind::Operator, 1),
        (digit, _) if digit.is_ascii_digit() => (Kind::Number, number_len(rest)),
        (start, _) if is_ident_char(start) && start != '-' => {
            (Kind::Ident, rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len()))
        }
        _ => return None,
    };
    Some(token)
}

/// Outside strings and comments, the parser allows non-ASCII characters only in identifiers, so
/// any of them can be taken as identifier material without a Unicode table.
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-') || !c.is_ascii()
}

/// Digits, an optional fraction and an optional exponent.
fn number_len(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let digits_from = |start: usize| start + bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut end = digits_from(0);
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = digits_from(end + 1);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        if bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
            end = digits_from(end + 1 + sign);
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::literals::literals;

    fn tokens(source: &str) -> Vec<(Kind, String)> {
        let body = hcl_edit::parser::parse_body(source).unwrap();
        let found = tokenize(source, &literals(&body)).unwrap();
        found.into_iter().map(|token| (token.kind, token.text.into_owned())).collect()
    }

    fn kinds_and_texts(expected: &[(Kind, &str)]) -> Vec<(Kind, String)> {
        expected.iter().map(|(kind, text)| (*kind, (*text).to_owned())).collect()
    }

    #[test]
    fn tokens_keep_their_exact_text() {
        use Kind::*;
        let cases: &[(&str, &[(Kind, &str)])] = &[
            ("a=1.5e-3", &[(Ident, "a"), (Assign, "="), (Number, "1.5e-3")]),
            (
                "a = b.0.c",
                &[(Ident, "a"), (Assign, "="), (Ident, "b"), (Dot, "."), (Number, "0"), (Dot, "."), (Ident, "c")],
            ),
            ("a-b = c - d", &[(Ident, "a-b"), (Assign, "="), (Ident, "c"), (Minus, "-"), (Ident, "d")]),
            ("é = ü", &[(Ident, "é"), (Assign, "="), (Ident, "ü")]),
            (
                "a = x >= 1 && !y || z != 2",
                &[
                    (Ident, "a"),
                    (Assign, "="),
                    (Ident, "x"),
                    (Operator, ">="),
                    (Number, "1"),
                    (Operator, "&&"),
                    (Bang, "!"),
                    (Ident, "y"),
                    (Operator, "||"),
                    (Ident, "z"),
                    (Operator, "!="),
                    (Number, "2"),
                ],
            ),
            (
                "a = provider::p::f(xs...)",
                &[
                    (Ident, "a"),
                    (Assign, "="),
                    (Ident, "provider"),
                    (DoubleColon, "::"),
                    (Ident, "p"),
                    (DoubleColon, "::"),
                    (Ident, "f"),
                    (Open(Bracket::Paren), "("),
                    (Ident, "xs"),
                    (Ellipsis, "..."),
                    (Close(Bracket::Paren), ")"),
                ],
            ),
            (
                "a = {for k, v in m : k => v}",
                &[
                    (Ident, "a"),
                    (Assign, "="),
                    (Open(Bracket::Brace), "{"),
                    (Ident, "for"),
                    (Ident, "k"),
                    (Comma, ","),
                    (Ident, "v"),
                    (Ident, "in"),
                    (Ident, "m"),
                    (Colon, ":"),
                    (Ident, "k"),
                    (FatArrow, "=>"),
                    (Ident, "v"),
                    (Close(Bracket::Brace), "}"),
                ],
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(tokens(source), kinds_and_texts(expected), "{source}");
        }
    }

    #[test]
    fn literals_and_comments_are_single_tokens() {
        use Kind::*;
        let source =
            "# lead \t\r\nb x { // c  \r\n  s = \"a # ${b} // c\" /* d\n e */\n  h = <<EOT\n  # kept\nEOT\n}\n";
        assert_eq!(
            tokens(source),
            kinds_and_texts(&[
                (LineComment, "# lead"),
                (Newline, "\n"),
                (Ident, "b"),
                (Quoted, "\"x\""),
                (Open(Bracket::Brace), "{"),
                (LineComment, "// c"),
                (Newline, "\n"),
                (Ident, "s"),
                (Assign, "="),
                (Quoted, "\"a # ${b} // c\""),
                (BlockComment, "/* d\n e */"),
                (Newline, "\n"),
                (Ident, "h"),
                (Assign, "="),
                (Heredoc, "<<EOT\n  # kept\nEOT"),
                (Newline, "\n"),
                (Close(Bracket::Brace), "}"),
                (Newline, "\n"),
            ])
        );
    }

    #[test]
    fn text_the_parser_accepted_but_the_lexer_does_not_know_is_an_error_with_a_position() {
        let error = tokenize("a = 1\nb = ~", &[]).unwrap_err();
        assert_eq!((error.line, error.column, error.offset), (2, 5, 10));
        assert_eq!(error.message, "unexpected character `~`");
    }
}
