//! How diagnostics look on a terminal: miette's graphical report, with the file:line:col of
//! the problem, a snippet with the span underlined, and the detail (which ends with the fix).

use crate::escape;
use crate::ui::Style;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};
use trustform_diag::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

/// Renders every diagnostic, errors first, for standard error.
pub fn render_all(diags: &Diagnostics, sources: &SourceMap, style: Style) -> String {
    let mut sorted = diags.clone();
    sorted.sort();
    sorted.iter().map(|d| render(d, sources, style)).collect()
}

/// `--compact-warnings`: warnings (with no error among them) as one line each, with the code,
/// the summary, the place and the address, as Terraform's `-compact-warnings` shows only their
/// summaries.
pub fn compact_warnings(diags: &Diagnostics) -> String {
    let mut sorted = diags.clone();
    sorted.sort();
    let mut out = String::from("Warnings:\n\n");
    for diagnostic in &sorted {
        out.push_str(&format!("- {} {}", diagnostic.code, escape::terminal(&diagnostic.summary)));
        if let Some(span) = &diagnostic.span {
            out.push_str(&format!(" ({})", escape::terminal(&span.to_string())));
        }
        if let Some(address) = &diagnostic.address {
            out.push_str(&format!(" [{}]", escape::terminal(address)));
        }
        out.push('\n');
    }
    out.push_str("\nTo see the full warning notes, run Trustform without --compact-warnings.");
    out
}

/// Renders one diagnostic.
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut help = escape::terminal(&diagnostic.detail).into_owned();
    if let Some(address) = &diagnostic.address {
        help.push_str(&format!("\n(resource: {})", escape::terminal(address)));
    }
    let mut report_source = None;
    let mut labels = Vec::new();
    if let Some(span) = &diagnostic.span {
        match sources.by_path(&span.file) {
            Some(file) => {
                let related: Vec<&Span> = diagnostic.related.iter().filter(|r| r.file == span.file).collect();
                let anchors: Vec<usize> =
                    std::iter::once(span).chain(related.iter().copied()).map(|s| s.start.byte as usize).collect();
                let shown = Snippet::new(&file.text, &anchors);
                labels.push(LabeledSpan::new_primary_with_span(Some("here".into()), shown.range(span)));
                for related in related {
                    labels.push(LabeledSpan::new_with_span(Some("and here".into()), shown.range(related)));
                }
                report_source = Some(NamedSource::new(escape::terminal(&span.file), shown.text));
            }
            None => help.push_str(&format!("\n(at {})", escape::terminal(&span.to_string()))),
        }
        for related in diagnostic.related.iter().filter(|r| r.file != span.file) {
            help.push_str(&format!("\n(also at {})", escape::terminal(&related.to_string())));
        }
    }
    let message = match &diagnostic.span {
        Some(span) => format!("{} ({})", escape::terminal(&diagnostic.summary), escape::terminal(&span.to_string())),
        None => escape::terminal(&diagnostic.summary).into_owned(),
    };
    let miette_diag = MietteDiagnostic::new(message)
        .with_code(diagnostic.code)
        .with_severity(severity)
        .with_help(help)
        .with_labels(labels);
    let report = match report_source {
        Some(source) => Report::new(miette_diag).with_source_code(source),
        None => Report::new(miette_diag),
    };
    let theme = match style {
        Style::Plain => GraphicalTheme::unicode_nocolor(),
        Style::Color => GraphicalTheme::unicode(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_wrap_lines(false).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{}\n{}\n", escape::terminal(&diagnostic.to_string()), escape::terminal(&diagnostic.detail));
    }
    out.push('\n');
    out
}

/// The longest line a snippet shows whole, in characters; a longer one is cut to this many
/// around what it points at. miette's graphical handler panics ("Formatting argument out of
/// range") on a line of 65,536 characters or more, and nobody reads one on a terminal anyway.
const MAX_SNIPPET_LINE: usize = 80;
/// How much of a cut line is kept before the position it points at.
const CONTEXT_BEFORE: usize = 40;

/// A file's text as a snippet shows it: long lines cut around the positions diagnostics point
/// at (with `…` where text was left out) and control characters escaped, with the map from
/// the file's byte offsets to the snippet's.
struct Snippet {
    text: String,
    /// For every byte offset of the file (and its end), the offset in `text`.
    offsets: Vec<usize>,
}

impl Snippet {
    fn new(file: &str, anchors: &[usize]) -> Snippet {
        let mut text = String::with_capacity(file.len().min(1 << 20));
        let mut offsets = vec![0; file.len() + 1];
        let mut line_start = 0;
        for line in file.split_inclusive('\n') {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let content = content.strip_suffix('\r').unwrap_or(content);
            let chars: Vec<(usize, char)> = content.char_indices().map(|(i, c)| (line_start + i, c)).collect();
            let (from, to) = if chars.len() <= MAX_SNIPPET_LINE {
                (0, chars.len())
            } else {
                let line_end = line_start + line.len();
                let anchor = anchors.iter().copied().filter(|a| (line_start..line_end).contains(a)).min();
                let at = anchor.map_or(0, |a| chars.partition_point(|(offset, _)| *offset < a));
                let from = at.saturating_sub(CONTEXT_BEFORE).min(chars.len() - MAX_SNIPPET_LINE);
                (from, from + MAX_SNIPPET_LINE)
            };
            if from > 0 {
                text.push('…');
            }
            for (index, (offset, c)) in chars.iter().enumerate() {
                offsets[*offset..*offset + c.len_utf8()].fill(text.len());
                if (from..to).contains(&index) {
                    text.push_str(&escape::terminal(c.encode_utf8(&mut [0; 4])));
                }
            }
            if to < chars.len() {
                text.push('…');
            }
            // The line break (and a carriage return before it) maps to the snippet's.
            let rest = line_start + chars.last().map_or(0, |(offset, c)| offset - line_start + c.len_utf8());
            offsets[rest..line_start + line.len()].fill(text.len());
            if line.ends_with('\n') {
                text.push('\n');
            }
            line_start += line.len();
        }
        offsets[file.len()] = text.len();
        Snippet { text, offsets }
    }

    /// Where `span` is in the snippet, as miette takes it: offset and length.
    fn range(&self, span: &Span) -> (usize, usize) {
        let at = |byte: u32| self.offsets.get(byte as usize).copied().unwrap_or(self.text.len());
        let start = at(span.start.byte);
        (start, at(span.end.byte).saturating_sub(start))
    }
}

/// Version of the JSON shape below; bumped only when a field changes meaning or goes away.
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

/// Diagnostics as JSON, for `validate --json`, `lint --json` and CI annotations: errors first,
/// then by position. Every diagnostic is flat (`file`, `line`, `column`, `end_line`,
/// `end_column`, null when it has no location) so that it maps onto an annotation directly, and
/// lists the other places that take part in `related`.
pub fn to_json(diags: &Diagnostics) -> serde_json::Value {
    let mut sorted = diags.clone();
    sorted.sort();
    serde_json::json!({
        "format_version": DIAGNOSTICS_FORMAT_VERSION,
        "valid": !sorted.has_errors(),
        "error_count": sorted.iter().filter(|d| d.is_error()).count(),
        "warning_count": sorted.iter().filter(|d| !d.is_error()).count(),
        "diagnostics": sorted.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

fn diagnostic_json(diagnostic: &Diagnostic) -> serde_json::Value {
    let mut object = serde_json::json!({
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "summary": diagnostic.summary,
        "detail": diagnostic.detail,
        "address": diagnostic.address,
        "related": diagnostic.related.iter().map(|span| location_json(Some(span))).collect::<Vec<_>>(),
    });
    if let (Some(map), serde_json::Value::Object(location)) =
        (object.as_object_mut(), location_json(diagnostic.span.as_ref()))
    {
        map.extend(location);
    }
    object
}

fn location_json(span: Option<&Span>) -> serde_json::Value {
    serde_json::json!({
        "file": span.map(|s| &*s.file),
        "line": span.map(|s| s.start.line),
        "column": span.map(|s| s.start.column),
        "end_line": span.map(|s| s.end.line),
        "end_column": span.map(|s| s.end.column),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_diag::SourceFile;

    fn diagnostic_at(file: &SourceFile, needle: &str) -> Diagnostic {
        let start = file.text.find(needle).unwrap();
        Diagnostic::error("TF0100", "Invalid HCL syntax", "Fix it.").with_span(file.span(start..start + needle.len()))
    }

    fn rendered(path: &str, text: &str, needle: &str) -> String {
        let mut sources = SourceMap::new();
        let id = sources.add(path, text);
        render(&diagnostic_at(sources.file(id), needle), &sources, Style::Plain)
    }

    #[test]
    fn a_line_too_long_for_miette_is_cut_around_the_problem() {
        for length in [65_535, 65_536, 200_000] {
            let text = format!("locals {{\n  a = \"{}\" @\n}}\n", "x".repeat(length));
            let out = rendered("main.tf", &text, "@");
            assert!(out.contains("main.tf:2:"), "{out}");
            assert!(out.contains("…"), "{out}");
            assert!(out.lines().all(|line| line.chars().count() < 400), "{out}");
            let marked = out.lines().find(|line| line.contains('@')).unwrap();
            assert!(marked.contains("x\" @"), "the problem is in the window: {marked}");
        }
    }

    #[test]
    fn snippet_offsets_follow_cuts_escapes_and_crlf() {
        let text = format!("a\u{1b}]0;t\u{7}b = 1\r\n{}Z{}\r\nend", "y".repeat(500), "w".repeat(500));
        let z = text.find('Z').unwrap();
        let snippet = Snippet::new(&text, &[z]);
        assert!(snippet.text.starts_with("a\\e]0;t\\ab = 1\n…"), "{}", snippet.text);
        assert_eq!(&snippet.text[snippet.offsets[z]..snippet.offsets[z] + 1], "Z");
        assert!(snippet.text.ends_with("…\nend"), "{}", snippet.text);
        assert_eq!(snippet.offsets[text.len()], snippet.text.len());
        assert!(snippet.offsets.windows(2).all(|w| w[0] <= w[1]), "offsets only grow");
    }

    #[test]
    fn messages_and_snippets_from_files_cannot_drive_the_terminal() {
        let text = "locals {\n  a = \"\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}\" @\n}\n";
        let out = rendered("ma\u{1b}in.tf", text, "@");
        assert!(!out.chars().any(escape::is_unsafe), "{out:?}");
        assert!(out.contains("\\e[2J"), "{out}");
    }
}
