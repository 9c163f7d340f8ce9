//! How diagnostics look on a terminal: miette's graphical report, with the file:line:col of
//! the problem, a snippet with the span underlined, and the detail (which ends with the fix).

use crate::ui::Style;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};
use trustform_diag::{Diagnostic, Diagnostics, Severity, SourceMap};

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

/// Diagnostics as JSON, for `--json` consumers and CI annotations.
pub fn to_json(diags: &Diagnostics) -> serde_json::Value {
    let mut sorted = diags.clone();
    sorted.sort();
    serde_json::json!({
        "valid": !sorted.has_errors(),
        "error_count": sorted.iter().filter(|d| d.is_error()).count(),
        "warning_count": sorted.iter().filter(|d| !d.is_error()).count(),
        "diagnostics": sorted,
    })
}
