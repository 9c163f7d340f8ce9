/// Why one output cannot be written. Messages name the output and say how to fix it; they
/// never contain an output's value, so they are safe to print for sensitive outputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    #[error(
        "Output \"{output}\" is not a valid environment variable name: names are ASCII letters, digits and \
         underscores, and do not start with a digit. Rename the output, for example to \"{suggestion}\"."
    )]
    InvalidName { output: String, suggestion: String },
    #[error(
        "Output \"{output}\" has the name of a variable bash manages itself (read-only, or recomputed whenever it is \
         read), so sourcing the file would not set it. Rename the output."
    )]
    ShellManagedName { output: String },
    #[error(
        "Output \"{output}\" starts with \"export\", which older docker compose releases strip from a name (reading \
         it as \"{}\"). Rename the output.", .output.trim_start_matches("export")
    )]
    ExportPrefix { output: String },
    #[error("Output \"{output}\" is null, and an env file cannot tell null from an empty string. Give the output a value, for example `x == null ? \"\" : x` to write an empty one.")]
    Null { output: String },
    #[error("Output \"{output}\" is not known yet; the env file is written once apply has computed every output.")]
    Unknown { output: String },
    /// The portable format cannot carry the value.
    #[error("Output \"{output}\" contains {}: {}. {}", what(*.character, *.hazard), .hazard.consequence(), portable_fix(*.blocker))]
    Unportable {
        output: String,
        hazard: Hazard,
        /// The first offending character, left out for sensitive outputs.
        character: Option<char>,
        /// Why the dotenv format could not carry it either, if it could not.
        blocker: Option<Hazard>,
    },
    /// No format can carry the value.
    #[error(
        "Output \"{output}\" contains {}: {}. No env file format can carry it to every consumer; change the value.",
        .hazard.members(), .hazard.consequence()
    )]
    Uncarriable { output: String, hazard: Hazard },
    #[error(
        "Output \"{output}\" makes a line of {length} bytes, and `kubectl create secret --from-env-file` silently stops \
         reading at a line over {max} bytes, losing it and every entry after it. Shorten the value, or choose \
         format = \"dotenv\" if kubectl does not read the file.", max = crate::rules::KUBECTL_MAX_LINE
    )]
    LineTooLong { output: String, length: usize },
}

/// Something in a value that a consumer would read differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hazard {
    /// Unquoted: spaces, tabs, line breaks.
    Whitespace,
    /// Unquoted: `$` and backticks.
    Expansion,
    /// Unquoted: `~`.
    Tilde,
    /// Unquoted: `'`, `"` and `\`.
    Quoting,
    /// Unquoted: `#`.
    Comment,
    /// Unquoted: `; & | < > ( )`.
    ShellSyntax,
    /// Unquoted: control characters, Unicode spaces and symbols outside the portable set.
    Unlisted,
    /// Anywhere: NUL.
    Nul,
    /// Single-quoted: `'`.
    SingleQuote,
    /// Single-quoted: `\\`.
    DoubleBackslash,
    /// Single-quoted: a final `\`.
    TrailingBackslash,
    /// Anywhere: `${`.
    DollarBrace,
    /// Single-quoted: a carriage return.
    CarriageReturn,
}

impl Hazard {
    /// What the value contains, naming every character the hazard covers.
    pub fn members(self) -> &'static str {
        match self {
            Hazard::Whitespace => "whitespace (a space, tab or line break)",
            Hazard::Expansion => "'$' or a backtick",
            Hazard::Tilde => "'~' at the start or after ':'",
            Hazard::Quoting => "a quote or a backslash",
            Hazard::Comment => "'#'",
            Hazard::ShellSyntax => "one of ; & | < > ( )",
            Hazard::Unlisted => "a character outside the portable set",
            Hazard::Nul => "a NUL character",
            Hazard::SingleQuote => "a single quote",
            Hazard::DoubleBackslash => "two backslashes in a row",
            Hazard::TrailingBackslash => "a backslash at the end",
            Hazard::DollarBrace => "'${'",
            Hazard::CarriageReturn => "a carriage return",
        }
    }

    /// Which consumer reads it differently, and how.
    pub fn consequence(self) -> &'static str {
        match self {
            Hazard::Whitespace => {
                "bash ends the assignment there and runs the rest as a command, python-dotenv and docker compose trim \
                 it from the ends, and kubectl reads one line per entry"
            }
            Hazard::Expansion => {
                "bash, python-dotenv and docker compose substitute variables there (and bash runs commands in backticks)"
            }
            Hazard::Tilde => "bash replaces a '~' that begins the value or follows ':' with a home directory (a '~' anywhere else is kept)",
            Hazard::Quoting => "bash, python-dotenv and docker compose remove quotes and backslashes, but kubectl keeps them",
            Hazard::Comment => "docker compose cuts the value at a comment",
            Hazard::ShellSyntax => "bash reads it as shell syntax, not as part of the value",
            Hazard::Unlisted => {
                "unquoted values may hold only letters, digits and _ - . / : @ , + = % ! * ? [ ] { } ^ (python-dotenv \
                 and docker compose trim Unicode spaces, for one)"
            }
            Hazard::Nul => "no environment variable can hold it",
            Hazard::SingleQuote => {
                "bash ends a single-quoted value there, and the \\' escape python-dotenv and docker compose accept means \
                 something else to bash"
            }
            Hazard::DoubleBackslash => {
                "python-dotenv reads \\\\ inside single quotes as one backslash, while bash and docker compose keep both"
            }
            Hazard::TrailingBackslash => {
                "python-dotenv and docker compose read the backslash and the closing quote as an escaped quote"
            }
            Hazard::DollarBrace => "python-dotenv expands ${...} even inside single quotes",
            Hazard::CarriageReturn => "python-dotenv reads it as a line break",
        }
    }
}

fn what(character: Option<char>, hazard: Hazard) -> String {
    let Some(c) = character else { return hazard.members().to_owned() };
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' => "a line break".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '\0' => "a NUL character".to_owned(),
        '\'' => "a single quote".to_owned(),
        '"' => "a double quote".to_owned(),
        '\\' => "a backslash".to_owned(),
        '`' => "a backtick".to_owned(),
        c if c.is_control() || c.is_whitespace() => format!("the character U+{:04X}", u32::from(c)),
        c => format!("'{c}'"),
    }
}

fn portable_fix(blocker: Option<Hazard>) -> String {
    match blocker {
        None => "Choose format = \"dotenv\" to quote it, or change the value.".to_owned(),
        Some(h) => format!(
            "Change the value: format = \"dotenv\" cannot carry it either, because it contains {}: {}.",
            h.members(),
            h.consequence()
        ),
    }
}
