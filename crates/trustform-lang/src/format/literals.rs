//! Where the parse tree says strings, heredocs and block labels lie.
//!
//! The tokenizer never looks inside a string or heredoc: templates nest expressions, strings and
//! further heredocs, and hcl-edit has already worked out where each one ends. Taking those extents
//! from the tree keeps the formatter's lexer small and guarantees that it agrees with the parser.

use hcl_edit::expr::Expression;
use hcl_edit::structure::{BlockLabel, Body};
use hcl_edit::visit::{visit_expr, Visit};
use hcl_edit::Span;
use std::ops::Range;

/// A stretch of source the tokenizer takes as a single token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Literal {
    pub(super) kind: LiteralKind,
    pub(super) span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LiteralKind {
    /// A quoted string or string template, copied byte for byte.
    Quoted,
    /// A heredoc from `<<` through its closing marker, copied byte for byte.
    Heredoc,
    /// A block label written as a bare identifier, which `terraform fmt` quotes.
    BareLabel,
}

/// Every literal in `body`, in source order. Literals nested inside a template are part of the
/// enclosing literal and are not listed.
pub(super) fn literals(body: &Body) -> Vec<Literal> {
    let mut collector = Collector::default();
    collector.visit_body(body);
    collector.found.sort_by_key(|literal| literal.span.start);
    collector.found
}

#[derive(Default)]
struct Collector {
    found: Vec<Literal>,
}

impl Collector {
    fn push(&mut self, kind: LiteralKind, span: Option<Range<usize>>) {
        if let Some(span) = span {
            self.found.push(Literal { kind, span });
        }
    }
}

impl Visit for Collector {
    fn visit_expr(&mut self, expr: &Expression) {
        match expr {
            Expression::String(_) | Expression::StringTemplate(_) => self.push(LiteralKind::Quoted, expr.span()),
            Expression::HeredocTemplate(_) => self.push(LiteralKind::Heredoc, expr.span()),
            _ => visit_expr(self, expr),
        }
    }

    fn visit_block_label(&mut self, label: &BlockLabel) {
        match label {
            BlockLabel::String(string) => self.push(LiteralKind::Quoted, string.span()),
            BlockLabel::Ident(ident) => self.push(LiteralKind::BareLabel, ident.span()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(source: &str) -> Vec<(LiteralKind, &str)> {
        let body = hcl_edit::parser::parse_body(source).unwrap();
        literals(&body).into_iter().map(|literal| (literal.kind, &source[literal.span])).collect()
    }

    #[test]
    fn strings_heredocs_and_labels_are_found_whole_and_in_order() {
        let source = "resource aws_iam_role \"x\" {\n  a = \"p ${f(\"}\")} q\"\n  b = <<-EOT\n    ${\"x\"}\n    EOT\n  c = { \"k\" = [\"v\"][0] }\n}\n";
        assert_eq!(
            found(source),
            [
                (LiteralKind::BareLabel, "aws_iam_role"),
                (LiteralKind::Quoted, "\"x\""),
                (LiteralKind::Quoted, "\"p ${f(\"}\")} q\""),
                (LiteralKind::Heredoc, "<<-EOT\n    ${\"x\"}\n    EOT"),
                (LiteralKind::Quoted, "\"k\""),
                (LiteralKind::Quoted, "\"v\""),
            ]
        );
    }
}
