use std::fmt;
use std::str::FromStr;

/// How values are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EnvFormat {
    /// `NAME=value`, never quoted: read identically by bash, python-dotenv, docker compose and
    /// kubectl, so only values made of safe characters are accepted.
    #[default]
    Portable,
    /// `NAME='value'` where quoting is needed: read identically by bash, python-dotenv and
    /// docker compose (not kubectl, which would keep the quotes). Carries spaces, `$`, `#`,
    /// quotes other than `'`, and line breaks.
    Dotenv,
}

impl fmt::Display for EnvFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvFormat::Portable => "portable",
            EnvFormat::Dotenv => "dotenv",
        })
    }
}

/// A format name that is neither `portable` nor `dotenv`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "There is no env file format named {0:?}. Use \"portable\" (the default: unquoted NAME=value lines that bash, \
     python-dotenv, docker compose and kubectl all read alike) or \"dotenv\" (values single-quoted where needed, \
     for bash, python-dotenv and docker compose only)."
)]
pub struct UnknownEnvFormat(pub String);

impl FromStr for EnvFormat {
    type Err = UnknownEnvFormat;

    fn from_str(s: &str) -> Result<EnvFormat, UnknownEnvFormat> {
        match s {
            "portable" => Ok(EnvFormat::Portable),
            "dotenv" => Ok(EnvFormat::Dotenv),
            other => Err(UnknownEnvFormat(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_both_formats() {
        for format in [EnvFormat::Portable, EnvFormat::Dotenv] {
            assert_eq!(format.to_string().parse::<EnvFormat>(), Ok(format));
        }
        assert_eq!(EnvFormat::default(), EnvFormat::Portable);
    }

    #[test]
    fn unknown_format_names_the_choices() {
        let err = "Dotenv".parse::<EnvFormat>().unwrap_err().to_string();
        assert!(err.starts_with("There is no env file format named \"Dotenv\". Use \"portable\""), "{err}");
        assert!(err.contains("or \"dotenv\""), "{err}");
    }
}
