use serde::Serialize;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A line and column, both 1-based; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    pub byte: u32,
}

/// A resolved location in a source file, ready to show to a user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    /// Path as the user gave it (relative to the working directory where possible).
    pub file: Arc<str>,
    pub start: Pos,
    pub end: Pos,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.start.line, self.start.column)
    }
}

/// The text of one loaded file and the byte offsets of its line starts.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: Arc<str>,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: path.into(), text, line_starts }
    }

    /// Converts a byte offset into a 1-based line and character column.
    pub fn pos(&self, byte: usize) -> Pos {
        let byte = byte.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= byte) - 1;
        let line_start = self.line_starts[line];
        let column = self.text.get(line_start..byte).map_or(byte - line_start, |s| s.chars().count());
        Pos { line: line as u32 + 1, column: column as u32 + 1, byte: byte as u32 }
    }

    pub fn span(&self, range: Range<usize>) -> Span {
        Span { file: self.path.clone(), start: self.pos(range.start), end: self.pos(range.end) }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: u32) -> &str {
        let index = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(index) else {
            return "";
        };
        let end = self.line_starts.get(index + 1).map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// Every file loaded for one run, so spans can be resolved and snippets rendered.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }

    /// Blanks `range` of a file (every character but line breaks becomes `*`, byte for byte, so
    /// every offset and line stays where it was): for a secret written in a file, such as a
    /// sensitive variable's value in a `.tfvars` file, which no snippet may show.
    pub fn redact(&mut self, id: FileId, range: Range<usize>) {
        let Some(file) = self.files.get_mut(id.0 as usize) else { return };
        let (start, end) = (range.start.min(file.text.len()), range.end.min(file.text.len()));
        let mut bytes = file.text.as_bytes().to_vec();
        for byte in &mut bytes[start..end] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b'*';
            }
        }
        if let Ok(text) = String::from_utf8(bytes) {
            *file = SourceFile::new(file.path.clone(), text);
        }
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn by_path(&self, path: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| &*f.path == path)
    }

    pub fn span(&self, id: FileId, range: Range<usize>) -> Span {
        self.file(id).span(range)
    }

    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacting_keeps_every_offset_and_line() {
        let mut sources = SourceMap::new();
        let text = "a = 1\ntoken = \"hünter2\"\nb = <<EOT\nx\nEOT\n";
        let id = sources.add("secret.tfvars", text);
        let value = text.find('"').unwrap()..text.rfind('"').unwrap() + 1;
        sources.redact(id, value.clone());
        let heredoc = text.find("<<").unwrap()..text.len() - 1;
        sources.redact(id, heredoc);
        let file = sources.file(id);
        assert_eq!(file.text.len(), text.len());
        assert_eq!(file.line_text(2), "token = **********", "one star per byte");
        assert_eq!(file.line_text(4), "*");
        assert!(!file.text.contains("nter2"));
        assert_eq!(file.pos(value.end).line, SourceFile::new("x", text).pos(value.end).line);
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let file = SourceFile::new("main.tf", "a = 1\nbé = \"x\"\n");
        assert_eq!(file.pos(0), Pos { line: 1, column: 1, byte: 0 });
        let x = file.text.find('"').unwrap();
        assert_eq!(file.pos(x), Pos { line: 2, column: 6, byte: x as u32 });
        assert_eq!(file.line_text(2), "bé = \"x\"");
        assert_eq!(file.span(x..x + 3).to_string(), "main.tf:2:6");
    }

    #[test]
    fn offsets_past_the_end_clamp() {
        let file = SourceFile::new("f", "ab");
        assert_eq!(file.pos(99).column, 3);
        assert_eq!(file.line_text(7), "");
    }
}
