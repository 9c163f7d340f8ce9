//! Diagnostics shared by every stage of Trustform.
//!
//! Every stage returns its result *and* a [`Diagnostics`] list instead of stopping at the first
//! problem. A [`Diagnostic`] has a stable `code`, a fixed `summary`, a `detail` written as full
//! sentences that end with the fix, and, where the problem is in the user's spec, a [`Span`] that
//! names the file, line and column. Rendering for terminals lives in the CLI; this crate only keeps
//! the data and the [`SourceMap`] that turns byte offsets into lines and columns.

mod source;

pub use source::{FileId, Pos, SourceFile, SourceMap, Span};

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Errors stop the command before any cloud call; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a spec, a state file or while talking to a cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier such as `TF1001`, documented and safe to match on in CI.
    pub code: &'static str,
    /// Fixed short sentence ("Reference to undeclared resource"), never interpolated.
    pub summary: String,
    /// Full sentences explaining the problem, ending with how to fix it.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// Further locations that take part in the problem (every node of a cycle, say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Span>,
    /// The resource address the problem concerns, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, summary, detail)
    }

    pub fn warning(code: &'static str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, summary, detail)
    }

    fn new(severity: Severity, code: &'static str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            summary: summary.into(),
            detail: detail.into(),
            span: None,
            related: Vec::new(),
            address: None,
        }
    }

    pub fn with_span(mut self, span: impl Into<Option<Span>>) -> Self {
        self.span = span.into();
        self
    }

    pub fn with_related(mut self, related: impl IntoIterator<Item = Span>) -> Self {
        self.related.extend(related);
        self
    }

    pub fn with_address(mut self, address: impl fmt::Display) -> Self {
        self.address = Some(address.to_string());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `error[TF1001] main.tf:3:7: Summary`. The CLI renders the full form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]", self.code)?;
        if let Some(span) = &self.span {
            write!(f, " {span}")?;
        }
        write!(f, ": {}", self.summary)
    }
}

/// An ordered collection of diagnostics, accumulated across a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }

    /// Sorts errors first, then by file position, so output is stable across runs.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.span.cmp(&b.span)).then_with(|| a.code.cmp(b.code))
        });
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}
