//! Arranging tokens into canonical lines, following HashiCorp's `hclwrite` formatter.
//!
//! Line breaks stay where the author put them; only the whitespace within and around lines is
//! decided here, in the same passes `hclwrite` makes:
//!
//! 1. blank lines are normalised and empty braces closed up to `{}` (Trustform additions:
//!    `terraform fmt` keeps every blank line and line break);
//! 2. each line is indented two spaces per bracket level left open by the lines above it;
//! 3. each line is split into up to three cells: the *lead*, an *assignment* cell from the `=`
//!    of an attribute or object element whose value ends on that line, and a trailing line
//!    *comment*; tokens within a cell are spaced by a fixed table ([`space_between`]);
//! 4. the assignment cells of consecutive lines, then their comment cells, are aligned in a
//!    column one space past the widest cell before them.
//!
//! Some of `hclwrite`'s choices look odd in isolation (a `}, {` line is indented like the lines
//! around it, `k => - v` reads as subtraction); they are kept so that a file formatted by either
//! tool is left unchanged by the other.

use super::tokens::{Bracket, Kind, Token};
use std::ops::Range;

const INDENT: usize = 2;

pub(super) fn layout(tokens: Vec<Token<'_>>) -> String {
    let lines = join_empty_braces(normalize_blank_lines(split_lines(tokens)));
    let mut lines: Vec<Line<'_>> = lines.into_iter().map(Line::new).collect();
    indent(&mut lines);
    for line in &mut lines {
        line.space_cells();
    }
    align(&mut lines, |line| line.assign);
    align(&mut lines, |line| line.comment);
    render(&lines)
}

/// One output line: its tokens and the spaces before each of them.
struct Line<'a> {
    tokens: Vec<Token<'a>>,
    /// Spaces before each token; the first entry is the indentation.
    spaces: Vec<usize>,
    /// Where the assignment cell starts, if the line has one.
    assign: Option<usize>,
    /// Where the trailing comment cell starts, if code precedes a line comment.
    comment: Option<usize>,
}

impl<'a> Line<'a> {
    fn new(tokens: Vec<Token<'a>>) -> Self {
        let comment = match tokens.last() {
            Some(last) if last.kind == Kind::LineComment && tokens.len() > 1 => Some(tokens.len() - 1),
            _ => None,
        };
        let code = &tokens[..comment.unwrap_or(tokens.len())];
        // Only the first `=` counts, and only when the value closes every bracket it opens: an
        // attribute whose value continues on later lines takes no part in alignment.
        let assign = code
            .iter()
            .skip(1)
            .position(|token| token.kind == Kind::Assign)
            .map(|index| index + 1)
            .filter(|&at| net_brackets(&code[at..]) == 0);
        let spaces = vec![0; tokens.len()];
        Line { tokens, spaces, assign, comment }
    }

    fn is_blank(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Spaces tokens within the lead and assignment cells. The first token of each cell is
    /// placed by indentation or alignment instead.
    fn space_cells(&mut self) {
        let code_end = self.comment.unwrap_or(self.tokens.len());
        let lead_end = self.assign.unwrap_or(code_end);
        for cell in [0..lead_end, lead_end..code_end] {
            for index in cell.start + 1..cell.end {
                let before = (index >= cell.start + 2).then(|| &self.tokens[index - 2]);
                let spaced = space_between(before, &self.tokens[index - 1], &self.tokens[index]);
                self.spaces[index] = usize::from(spaced);
            }
        }
    }

    /// Columns taken by the tokens in `range`, counting the spaces before each.
    fn width(&self, range: Range<usize>) -> usize {
        range.map(|index| self.spaces[index] + self.tokens[index].text.chars().count()).sum()
    }
}

fn split_lines(tokens: Vec<Token<'_>>) -> Vec<Vec<Token<'_>>> {
    let mut lines = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        if token.kind == Kind::Newline {
            lines.push(std::mem::take(&mut current));
        } else {
            current.push(token);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Keeps a blank line only where it separates two lines and neither follows an opening bracket
/// nor precedes a closing one; runs of blank lines become one.
fn normalize_blank_lines(lines: Vec<Vec<Token<'_>>>) -> Vec<Vec<Token<'_>>> {
    let mut kept: Vec<Vec<Token<'_>>> = Vec::with_capacity(lines.len());
    let mut blank_pending = false;
    for line in lines {
        if line.is_empty() {
            blank_pending = true;
            continue;
        }
        let separates = kept.last().is_some_and(|previous| !ends_with_opener(previous)) && !starts_with_closer(&line);
        if blank_pending && separates {
            kept.push(Vec::new());
        }
        blank_pending = false;
        kept.push(line);
    }
    kept
}

/// Pulls a closing brace that stands alone on its line up to the line ending with the opening
/// brace, so that an empty block or object reads `name {}`.
fn join_empty_braces(lines: Vec<Vec<Token<'_>>>) -> Vec<Vec<Token<'_>>> {
    const OPEN: Kind = Kind::Open(Bracket::Brace);
    const CLOSE: Kind = Kind::Close(Bracket::Brace);
    let mut joined: Vec<Vec<Token<'_>>> = Vec::with_capacity(lines.len());
    for line in lines {
        let closes_alone =
            matches!(line.as_slice(), [close] | [close, Token { kind: Kind::LineComment, .. }] if close.kind == CLOSE);
        match joined.last_mut() {
            Some(previous) if closes_alone && previous.last().is_some_and(|last| last.kind == OPEN) => {
                previous.extend(line);
            }
            _ => joined.push(line),
        }
    }
    joined
}

fn ends_with_opener(line: &[Token<'_>]) -> bool {
    line.iter().rev().find(|token| token.kind != Kind::LineComment).is_some_and(|token| token.bracket_change() > 0)
}

fn starts_with_closer(line: &[Token<'_>]) -> bool {
    line.first().is_some_and(|token| token.bracket_change() < 0)
}

fn net_brackets(tokens: &[Token<'_>]) -> isize {
    tokens.iter().map(Token::bracket_change).sum()
}

/// Indents every line by the bracket levels left open above it. A line that opens several
/// brackets at once adds one level, which the lines closing those brackets take away again.
fn indent(lines: &mut [Line<'_>]) {
    let mut levels: Vec<isize> = Vec::new();
    for line in lines.iter_mut().filter(|line| !line.is_blank()) {
        let net = net_brackets(&line.tokens);
        let mut closed = -net;
        while closed > 0 {
            let Some(opened) = levels.last_mut() else { break };
            if closed >= *opened {
                closed -= *opened;
                levels.pop();
            } else {
                *opened -= closed;
                closed = 0;
            }
        }
        line.spaces[0] = INDENT * levels.len();
        if net > 0 {
            levels.push(net);
        }
    }
}

/// Aligns one kind of cell over each run of consecutive lines that have it, one column past the
/// widest text before the cell. `cell` gives the index where a line's cell starts.
fn align(lines: &mut [Line<'_>], cell: impl Fn(&Line<'_>) -> Option<usize>) {
    for run in lines.chunk_by_mut(|a, b| cell(a).is_some() == cell(b).is_some()) {
        let starts: Vec<(usize, usize)> =
            run.iter().filter_map(|line| cell(line).map(|at| (at, line.width(0..at)))).collect();
        let Some(column) = starts.iter().map(|&(_, width)| width).max() else { continue };
        for (line, (at, width)) in run.iter_mut().zip(starts) {
            line.spaces[at] = column - width + 1;
        }
    }
}

/// Whether `hclwrite` puts a space between `subject` and the `after` that follows it on the same
/// cell; `before` precedes `subject` in that cell, if anything does. The arms are tried in order.
fn space_between(before: Option<&Token<'_>>, subject: &Token<'_>, after: &Token<'_>) -> bool {
    use Kind::*;
    match (subject.kind, after.kind) {
        (Ident, Open(Bracket::Paren)) | (Ident, DoubleColon) | (DoubleColon, Ident) => false,
        (Dot, _) | (_, Dot) | (_, Comma) | (_, Ellipsis) => false,
        (Comma, _) => true,
        // `[for x in [a, b] : x]`: without this, `in[a, b]` would read like an index.
        (Ident, _) if subject.text == "in" && before.is_some_and(|token| token.kind == Ident) => true,
        (Ident | Number | Close(_), Open(Bracket::Square)) => false,
        (Bang, _) => false,
        (Minus, _) => !before.is_none_or(|token| starts_operand(token.kind)),
        (Open(Bracket::Brace), Close(Bracket::Brace)) => false,
        (Open(Bracket::Brace), _) | (_, Close(Bracket::Brace)) => true,
        (Open(_), _) | (_, Close(_)) => false,
        _ => true,
    }
}

/// Whether a `-` after a token of this kind is a negation rather than a subtraction.
fn starts_operand(kind: Kind) -> bool {
    use Kind::*;
    matches!(kind, Open(_) | Assign | Colon | Comma | Question | Operator | Minus | Bang)
}

fn render(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for line in lines {
        for (token, &spaces) in line.tokens.iter().zip(&line.spaces) {
            out.extend(std::iter::repeat_n(' ', spaces));
            out.push_str(&token.text);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::format_source;

    /// Each case is `(input, expected)`; the expected text must itself be a fixed point.
    fn check(cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            let formatted = format_source(input).unwrap();
            assert_eq!(formatted, *expected, "formatting {input:?}");
            assert_eq!(format_source(expected).unwrap(), *expected, "reformatting {expected:?}");
        }
    }

    #[test]
    fn tokens_are_spaced_like_hclwrite() {
        check(&[
            ("a=1", "a = 1\n"),
            ("a=b.c", "a = b.c\n"),
            ("a=b[c]", "a = b[c]\n"),
            ("a=b()[c]", "a = b()[c]\n"),
            ("a=[\"hello\"][0]", "a = [\"hello\"][0]\n"),
            ("a=( x+2 )", "a = (x + 2)\n"),
            ("a=( x*-2 )", "a = (x * -2)\n"),
            ("a=(-2+1)", "a = (-2 + 1)\n"),
            ("a=foo(1, -2,x*y, b,c)", "a = foo(1, -2, x * y, b, c)\n"),
            ("a = x - -1", "a = x - -1\n"),
            ("a = [- 1, !  b, ! c]", "a = [-1, !b, !c]\n"),
            ("a = x ? - 1 : y>=2&&z", "a = x ? -1 : y >= 2 && z\n"),
            ("a = { for k , v in m : k=>v... }", "a = { for k, v in m : k => v... }\n"),
            ("a = [for x in [1,2]: x if x!=1]", "a = [for x in [1, 2] : x if x != 1]\n"),
            ("a = foo . * . bar [ * ] . baz", "a = foo.*.bar[*].baz\n"),
            ("a = provider :: p :: f ( xs ... )", "a = provider::p::f(xs...)\n"),
            ("a = { }", "a = {}\n"),
            ("a = {x=1,y=\"s\"}", "a = { x = 1, y = \"s\" }\n"),
            ("a = { k : 1 }", "a = { k : 1 }\n"),
            ("b{}", "b {}\n"),
            ("b   \"x\"    y{ a=1 }", "b \"x\" \"y\" { a = 1 }\n"),
            ("a = x /* why */ + 1", "a = x /* why */ + 1\n"),
        ]);
    }

    #[test]
    fn string_contents_are_never_respaced() {
        check(&[
            ("a=\"hello ${ name }\"", "a = \"hello ${ name }\"\n"),
            ("a=\"${~ x ~}  %{ if y }z%{ endif }\"", "a = \"${~ x ~}  %{ if y }z%{ endif }\"\n"),
            ("a = \"  \t\"", "a = \"  \t\"\n"),
        ]);
    }

    #[test]
    fn indentation_follows_bracket_nesting() {
        check(&[
            ("b {\na = 1\n}", "b {\n  a = 1\n}\n"),
            ("a = foo(\n1,\n- 2,\nx*y,\n)", "a = foo(\n  1,\n  -2,\n  x * y,\n)\n"),
            ("a = [\n[\nx\n]\n]", "a = [\n  [\n    x\n  ]\n]\n"),
            ("a = [[\nx\n]]", "a = [[\n  x\n]]\n"),
            // Brackets opened together close as one level, even when they close apart.
            ("a = [[\n[\nx\n]]\n]", "a = [[\n  [\n    x\n  ]]\n]\n"),
            ("a = [{\nx = 1\n}, {\ny = 2\n}]", "a = [{\n  x = 1\n  }, {\n  y = 2\n}]\n"),
            ("\t\t\tb {\n\t\t\t\tc {\n\t\t\t\t\td = 1\n\t\t\t\t}\n\t}", "b {\n  c {\n    d = 1\n  }\n}\n"),
            // The line that closes a bracket is indented like the one that opened it.
            ("b {\nx = (y ?\n1 :\n2)\n}", "b {\n  x = (y ?\n    1 :\n  2)\n}\n"),
        ]);
    }

    #[test]
    fn assignments_align_over_runs_of_single_line_attributes() {
        check(&[
            ("a = 1\nbungle = 2", "a      = 1\nbungle = 2\n"),
            ("a = 1\n\nbungle = 2", "a = 1\n\nbungle = 2\n"),
            ("a = 1\n# why\nbungle = 2", "a = 1\n# why\nbungle = 2\n"),
            ("a = 1\nb {}\nbungle = 2", "a = 1\nb {}\nbungle = 2\n"),
            ("a = 1\nbb = [\n1,\n]\nccc = 2", "a = 1\nbb = [\n  1,\n]\nccc = 2\n"),
            ("a = 1\nbb = [1]\nccc = { x = 1 }", "a   = 1\nbb  = [1]\nccc = { x = 1 }\n"),
            ("x = {\na = 1\nbbb = 2\n}", "x = {\n  a   = 1\n  bbb = 2\n}\n"),
            // A block opened on one line has no assignment cell to align.
            ("b { c = 1 }\nlong = 2", "b { c = 1 }\nlong = 2\n"),
            // The heredoc is one logical line in hclwrite too, so it stays in the run.
            ("a = 1\nlong = <<EOT\nx\nEOT\nbb = 2", "a    = 1\nlong = <<EOT\nx\nEOT\nbb   = 2\n"),
        ]);
    }

    #[test]
    fn trailing_comments_align_over_runs_of_commented_lines() {
        check(&[
            ("a = 1 # foo\nbungle = 2", "a      = 1 # foo\nbungle = 2\n"),
            ("a = 1 # foo\nbungle = \"bonce\" # baz", "a      = 1       # foo\nbungle = \"bonce\" # baz\n"),
            (
                "foo {} # here we go\na = 1 # foo\nbungle = \"bonce\" # baz",
                "foo {}           # here we go\na      = 1       # foo\nbungle = \"bonce\" # baz\n",
            ),
            (
                "a=\"apple\"# foo\nbungle=(# woo parens\n\"bonce\"\n)# baz\nzebra=\"striped\"# baz",
                "a = \"apple\" # foo\nbungle = (  # woo parens\n  \"bonce\"\n)                 # baz\nzebra = \"striped\" # baz\n",
            ),
            ("a = 1 // x\n\nb = 22 // y", "a = 1 // x\n\nb = 22 // y\n"),
        ]);
    }

    #[test]
    fn blank_lines_are_normalised() {
        check(&[
            ("\n\n\na = 1\n\n\n\nb = 2\n\n\n", "a = 1\n\nb = 2\n"),
            ("b {\n\n\na = 1\n\n}\n", "b {\n  a = 1\n}\n"),
            ("b { # why\n\n  a = [\n\n    1\n\n  ]\n}", "b { # why\n  a = [\n    1\n  ]\n}\n"),
            ("# one\n\n# two\n", "# one\n\n# two\n"),
            ("a = 1", "a = 1\n"),
            ("", ""),
            ("\n \n\t\n", ""),
        ]);
    }

    #[test]
    fn empty_braces_close_up() {
        check(&[
            ("b {\n}", "b {}\n"),
            ("b {\n\n}\nc = 1", "b {}\nc = 1\n"),
            ("a = {\n} # none\nbb = 1", "a  = {} # none\nbb = 1\n"),
            ("b { # why\n}", "b { # why\n}\n"),
            ("b {\n  # nothing yet\n}", "b {\n  # nothing yet\n}\n"),
            ("a = [\n]", "a = [\n]\n"),
        ]);
    }

    #[test]
    fn cells_come_from_the_first_assignment_and_a_final_line_comment() {
        let line = |source: &str| {
            let tokens = crate::format::tokens::tokenize(source, &[]).unwrap();
            let line = Line::new(tokens);
            (line.assign, line.comment)
        };
        assert_eq!(line("a = b # c"), (Some(1), Some(3)));
        assert_eq!(line("a = { b = c }"), (Some(1), None));
        assert_eq!(line("a = {"), (None, None));
        assert_eq!(line("b { c = 1 }"), (None, None));
        assert_eq!(line("# c"), (None, None));
        assert_eq!(line("a = b /* c */"), (Some(1), None));
        assert_eq!(line("= b"), (None, None));
    }
}
