//! How diagnostics look on a terminal: miette's graphical report, with the file:line:col of
//! the problem, a snippet with the span underlined, and the detail (which ends with the fix).

use crate::ui::Style;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};
use trustform_diag::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

/// Renders every diagnostic, errors first, for standard error.
pub fn render_all(diags: &Diagnostics, sources: &SourceMap, style: Style) -> String {
    let mut sorted = diags.clone();
    sorted.sort();
    sorted.iter().map(|d| render(d, sources, style)).collect()
}

/// Renders one diagnostic.
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut help = diagnostic.detail.clone();
    if let Some(address) = &diagnostic.address {
        help.push_str(&format!("\n(resource: {address})"));
    }
    let mut report_source = None;
    let mut labels = Vec::new();
    if let Some(span) = &diagnostic.span {
        match sources.by_path(&span.file) {
            Some(file) => {
                let start = span.start.byte as usize;
                let len = (span.end.byte as usize).saturating_sub(start);
                labels.push(LabeledSpan::new_primary_with_span(Some("here".into()), (start, len)));
                for related in diagnostic.related.iter().filter(|r| r.file == span.file) {
                    let rs = related.start.byte as usize;
                    labels.push(LabeledSpan::new_with_span(
                        Some("and here".into()),
                        (rs, (related.end.byte as usize).saturating_sub(rs)),
                    ));
                }
                report_source = Some(NamedSource::new(&span.file, file.text.to_string()));
            }
            None => help.push_str(&format!("\n(at {span})")),
        }
        for related in diagnostic.related.iter().filter(|r| r.file != span.file) {
            help.push_str(&format!("\n(also at {related})"));
        }
    }
    let message = match &diagnostic.span {
        Some(span) => format!("{} ({span})", diagnostic.summary),
        None => diagnostic.summary.clone(),
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
        out = format!("{diagnostic}\n{}\n", diagnostic.detail);
    }
    out.push('\n');
    out
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
