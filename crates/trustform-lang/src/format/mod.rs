//! Canonical formatting of HCL source (`trustform fmt`), laid out the way `terraform fmt` does.
//!
//! Formatting changes whitespace and nothing else, except that bare block labels get the quotes
//! `terraform fmt` gives them. The source is parsed with hcl-edit first, so invalid input is
//! refused with its position instead of being rearranged. The parse tree supplies the extent of
//! every string and heredoc, which are copied byte for byte; the remaining text is split into
//! tokens and arranged line by line with the rules of HashiCorp's `hclwrite` (see `layout`).
//!
//! On top of `terraform fmt`, blank lines are normalised (at most one in a row, none at the start
//! or end of the file, none right after an opening bracket or right before a closing one) and a
//! block or object left empty closes up to `name {}`. The output ends with exactly one newline,
//! and formatting it again changes nothing.

mod layout;
mod literals;
mod tokens;

use thiserror::Error;

/// Rewrites `text`, a whole HCL file, in canonical layout.
///
/// # Errors
///
/// Returns a [`FormatError`] locating the first syntax error when `text` is not valid HCL.
pub fn format_source(text: &str) -> Result<String, FormatError> {
    let body = hcl_edit::parser::parse_body(text).map_err(|error| FormatError {
        message: error.message().to_owned(),
        line: error.location().line(),
        column: error.location().column(),
        offset: error.location().offset(),
    })?;
    let tokens = tokens::tokenize(text, &literals::literals(&body))?;
    Ok(layout::layout(tokens))
}

/// The source could not be formatted because it is not valid HCL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at line {line}, column {column}")]
pub struct FormatError {
    /// What the parser found wrong, e.g. "invalid expression; expected `\"`, `[` or `{`".
    pub message: String,
    /// One-based line of the error.
    pub line: usize,
    /// One-based column of the error, counted in characters.
    pub column: usize,
    /// Zero-based byte offset of the error, for building a source span.
    pub offset: usize,
}

impl FormatError {
    /// An error at byte `offset` of `source`, with its line and column worked out.
    fn at(source: &str, offset: usize, message: String) -> Self {
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        FormatError {
            message,
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// Runs every `fixtures/NAME.in.tf` and compares the result with `fixtures/NAME.out.tf`.
    #[test]
    fn fixtures_format_to_their_expected_output() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/format/fixtures");
        let mut inputs: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().ends_with(".in.tf"))
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "no fixtures in {}", dir.display());
        for input_path in inputs {
            let name = input_path.file_name().unwrap().to_string_lossy().trim_end_matches(".in.tf").to_owned();
            let input = fs::read_to_string(&input_path).unwrap();
            let expected = fs::read_to_string(dir.join(format!("{name}.out.tf"))).unwrap();

            let formatted = format_source(&input).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(formatted, expected, "{name}: formatted input differs from {name}.out.tf");
            assert_eq!(format_source(&formatted).unwrap(), formatted, "{name}: formatting is not idempotent");
            assert_eq!(
                without_whitespace_or_quotes(&formatted),
                without_whitespace_or_quotes(&input),
                "{name}: formatting changed more than whitespace"
            );
        }
    }

    fn without_whitespace_or_quotes(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace() && *c != '"').collect()
    }

    #[test]
    fn windows_line_endings_become_unix_ones() {
        let formatted = format_source("b {\r\n  a=1 # why \r\n}\r\n").unwrap();
        assert_eq!(formatted, "b {\n  a = 1 # why\n}\n");
    }

    #[test]
    fn invalid_hcl_is_an_error_with_its_position() {
        let error = format_source("resource \"a\" \"b\" {\n  name = \n}\n").unwrap_err();
        assert_eq!((error.line, error.column, error.offset), (2, 10, 28));
        assert!(error.message.starts_with("invalid expression"), "{}", error.message);
        assert_eq!(error.to_string(), format!("{} at line 2, column 10", error.message));

        let unclosed = format_source("b {\n  a = 1\n").unwrap_err();
        assert_eq!((unclosed.line, unclosed.column), (2, 9));
    }

    #[test]
    fn error_positions_count_characters_not_bytes() {
        let error = FormatError::at("é = 1\nüü = ~", 14, "unexpected character `~`".to_owned());
        assert_eq!((error.line, error.column), (2, 6));
    }
}
