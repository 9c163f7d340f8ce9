//! What each consumer does to a line, reduced to rules over names and values.
//!
//! Sources, checked against the real programs in `tests/roundtrip.rs` where they can run here:
//!
//! * bash: an unquoted assignment value undergoes tilde expansion, parameter, command and
//!   arithmetic expansion and quote removal, and ends at the first
//!   unquoted blank or operator (`; & | < > ( )`); it is *not* glob- or brace-expanded, so
//!   `* ? [ ] { }` are literal. `!` is only special to interactive input, never to `.`. Tilde
//!   expansion happens only to a `~` that begins the value or follows a `:`: the bash manual,
//!   "Tilde Expansion": "Each variable assignment is checked for unquoted tilde-prefixes
//!   immediately following a ':' or the first '='"; a `~` anywhere else is literal (Azure client
//!   secrets hold them).
//! * python-dotenv (`dotenv_values`): unquoted values lose a ` #...` comment and trailing
//!   Unicode whitespace; `${VAR}` is expanded in every value, single-quoted ones included;
//!   inside single quotes `\\` and `\'` are escapes; the file is read with universal newlines,
//!   so a carriage return becomes a line break.
//! * docker compose (compose-go `dotenv`): unquoted values are cut at `#` (older releases) or
//!   ` #`, trimmed, and `$` is interpolated; single-quoted values are literal except that
//!   `\'` is an escaped quote; older releases strip a leading `export` from names.
//! * kubectl (`--from-env-file`): one line per entry, everything after the first `=` verbatim;
//!   at a line of 65536 bytes or more it silently stops, losing that entry and every later one.

use crate::error::Hazard;

/// The longest `NAME=value` line (without its newline) kubectl reads; longer lines overflow
/// its line scanner.
pub(crate) const KUBECTL_MAX_LINE: usize = 65_535;

/// Punctuation every consumer reads literally in an unquoted value.
const PORTABLE_PUNCTUATION: &str = "_-./:@,+=%!*?[]{}^";

/// Variables bash sets itself: read-only, or recomputed whenever they are read, so sourcing
/// `NAME=value` does not leave `value` in the environment. Each is verified against bash.
pub(crate) const BASH_MANAGED_NAMES: &[&str] = &[
    "BASHOPTS",
    "BASHPID",
    "BASH_ALIASES",
    "BASH_ARGC",
    "BASH_ARGV",
    "BASH_ARGV0",
    "BASH_CMDS",
    "BASH_COMMAND",
    "BASH_LINENO",
    "BASH_SOURCE",
    "BASH_SUBSHELL",
    "BASH_VERSINFO",
    "COMP_WORDBREAKS",
    "DIRSTACK",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "LINENO",
    "OPTIND",
    "PIPESTATUS",
    "PPID",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SRANDOM",
    "UID",
    "_",
];

/// True for `[A-Za-z_][A-Za-z0-9_]*`, the names every consumer accepts.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A valid name close to `name`: other characters become `_`, and a leading digit gets one.
pub(crate) fn suggest_name(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// The hazards that stop `value` from being written unquoted, each with the first character
/// that raises it, in order of appearance. Empty if the value is portable.
pub(crate) fn unquoted_hazards(value: &str) -> Vec<(Hazard, char)> {
    let mut found: Vec<(Hazard, char)> = Vec::new();
    let mut previous = None;
    for c in value.chars() {
        let hazard = match c {
            // The value follows the line's first `=`.
            '~' if matches!(previous, None | Some(':')) => Some(Hazard::Tilde),
            '~' => None,
            _ => unquoted_hazard(c),
        };
        previous = Some(c);
        if let Some(hazard) = hazard {
            if !found.iter().any(|(h, _)| *h == hazard) {
                found.push((hazard, c));
            }
        }
    }
    found
}

fn unquoted_hazard(c: char) -> Option<Hazard> {
    Some(match c {
        _ if c.is_alphanumeric() || PORTABLE_PUNCTUATION.contains(c) => return None,
        '\0' => Hazard::Nul,
        ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' => Hazard::Whitespace,
        '$' | '`' => Hazard::Expansion,
        '\'' | '"' | '\\' => Hazard::Quoting,
        '#' => Hazard::Comment,
        ';' | '&' | '|' | '<' | '>' | '(' | ')' => Hazard::ShellSyntax,
        _ => Hazard::Unlisted,
    })
}

/// The hazards that stop `value` from being written between single quotes for bash,
/// python-dotenv and docker compose. Empty if quoting carries it.
pub(crate) fn quoted_hazards(value: &str) -> Vec<Hazard> {
    [
        (Hazard::Nul, value.contains('\0')),
        (Hazard::SingleQuote, value.contains('\'')),
        (Hazard::CarriageReturn, value.contains('\r')),
        (Hazard::DollarBrace, value.contains("${")),
        (Hazard::DoubleBackslash, value.contains("\\\\")),
        (Hazard::TrailingBackslash, value.ends_with('\\')),
    ]
    .into_iter()
    .filter_map(|(hazard, present)| present.then_some(hazard))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        for good in ["A", "_", "role_arn", "GCP_SA_EMAIL", "a1"] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1A", "role-arn", "a.b", "ü", "a b"] {
            assert!(!is_env_name(bad), "{bad}");
        }
        assert_eq!(suggest_name("role-arn"), "role_arn");
        assert_eq!(suggest_name("1st"), "_1st");
        assert_eq!(suggest_name(""), "_");
    }

    #[test]
    fn unquoted_values_allow_only_what_every_consumer_reads_literally() {
        for ok in [
            "",
            "arn:aws:iam::1:role/x",
            "a@b.c",
            "SGk+/w==",
            "100%",
            "!*?[]{}^",
            "Zürich",
            "-x",
            "=x",
            "Xy8Q~abc.DEF_ghi~jkl-mno",
            "a~",
            "=~x",
            "x/~",
        ] {
            assert_eq!(unquoted_hazards(ok), [], "{ok}");
        }
        let cases: &[(&str, &[(Hazard, char)])] = &[
            ("a b", &[(Hazard::Whitespace, ' ')]),
            ("$HOME", &[(Hazard::Expansion, '$')]),
            ("`id`", &[(Hazard::Expansion, '`')]),
            ("~/x", &[(Hazard::Tilde, '~')]),
            ("~", &[(Hazard::Tilde, '~')]),
            ("/bin:~/bin", &[(Hazard::Tilde, '~')]),
            ("a:~root", &[(Hazard::Tilde, '~')]),
            ("\"q\"", &[(Hazard::Quoting, '"')]),
            ("x#y", &[(Hazard::Comment, '#')]),
            ("a&b", &[(Hazard::ShellSyntax, '&')]),
            ("a\u{a0}", &[(Hazard::Unlisted, '\u{a0}')]),
            ("a\0", &[(Hazard::Nul, '\0')]),
            ("$a b$c\td", &[(Hazard::Expansion, '$'), (Hazard::Whitespace, ' ')]),
        ];
        for (value, expected) in cases {
            assert_eq!(unquoted_hazards(value), *expected, "{value:?}");
        }
    }

    #[test]
    fn quoted_values_refuse_what_single_quotes_cannot_carry_everywhere() {
        assert_eq!(quoted_hazards("a b $HOME #x \"q\" \\n\nline2 ~ `id` ;&|<>()"), []);
        assert_eq!(quoted_hazards("it's"), [Hazard::SingleQuote]);
        assert_eq!(quoted_hazards("a\r\n"), [Hazard::CarriageReturn]);
        assert_eq!(quoted_hazards("${HOME}"), [Hazard::DollarBrace]);
        assert_eq!(quoted_hazards("a\\\\b"), [Hazard::DoubleBackslash]);
        assert_eq!(quoted_hazards("a\\"), [Hazard::TrailingBackslash]);
        assert_eq!(quoted_hazards("\0"), [Hazard::Nul]);
    }
}
