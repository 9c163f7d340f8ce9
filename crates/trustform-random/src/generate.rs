//! Generation from the operating system's CSPRNG, following Terraform's random provider:
//! `internal/random/string.go` (the character sets, the `min_*` characters first, the rest from
//! every enabled set, then a shuffle) and `internal/provider/resource_id.go` (the encodings).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::TryRngCore;

const NUMERIC: &str = "0123456789";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Terraform's default special characters.
pub(crate) const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

/// The arguments of a `random_password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswordParams {
    pub length: usize,
    pub upper: bool,
    pub lower: bool,
    pub numeric: bool,
    pub special: bool,
    pub override_special: Option<String>,
    pub min_upper: usize,
    pub min_lower: usize,
    pub min_numeric: usize,
    pub min_special: usize,
}

impl PasswordParams {
    fn special_set(&self) -> &str {
        self.override_special.as_deref().filter(|s| !s.is_empty()).unwrap_or(SPECIAL)
    }

    /// What makes these arguments impossible to satisfy, as a full sentence with the fix.
    pub(crate) fn problem(&self) -> Option<String> {
        let minimums = self.min_upper + self.min_lower + self.min_numeric + self.min_special;
        if self.length == 0 {
            return Some("length must be at least 1.".to_owned());
        }
        if minimums > self.length {
            return Some(format!(
                "length ({}) is less than the sum of min_upper, min_lower, min_numeric and min_special ({minimums}); raise length or lower the minimums.",
                self.length
            ));
        }
        if !(self.upper || self.lower || self.numeric || self.special) {
            return Some("upper, lower, numeric and special are all false, so there is no character to choose from; enable at least one.".to_owned());
        }
        if !self.special_set().is_ascii() {
            return Some("override_special holds characters outside ASCII; use ASCII characters only.".to_owned());
        }
        None
    }
}

/// The operating system's random generator could not be read.
#[derive(Debug)]
pub(crate) struct RandomnessUnavailable(String);

impl std::fmt::Display for RandomnessUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the operating system's random number generator failed ({})", self.0)
    }
}

fn random_bytes(count: usize) -> Result<Vec<u8>, RandomnessUnavailable> {
    let mut bytes = vec![0; count];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| RandomnessUnavailable(e.to_string()))?;
    Ok(bytes)
}

/// A uniform index below `bound` (which is at least 1), by rejection sampling: no modulo bias.
fn index_below(bound: usize) -> Result<usize, RandomnessUnavailable> {
    let bound = bound as u64;
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let draw = OsRng.try_next_u64().map_err(|e| RandomnessUnavailable(e.to_string()))?;
        if draw < zone {
            return Ok((draw % bound) as usize);
        }
    }
}

fn pick(set: &[u8], count: usize, out: &mut Vec<u8>) -> Result<(), RandomnessUnavailable> {
    for _ in 0..count {
        out.push(set[index_below(set.len())?]);
    }
    Ok(())
}

/// A password as Terraform's `CreateString` makes it; `params` has passed [`PasswordParams::problem`].
pub(crate) fn password(params: &PasswordParams) -> Result<String, RandomnessUnavailable> {
    let special = params.special_set();
    let mut all = String::new();
    for (enabled, set) in
        [(params.upper, UPPER), (params.lower, LOWER), (params.numeric, NUMERIC), (params.special, special)]
    {
        if enabled {
            all.push_str(set);
        }
    }
    let mut chars = Vec::with_capacity(params.length);
    for (set, minimum) in [
        (NUMERIC, params.min_numeric),
        (LOWER, params.min_lower),
        (UPPER, params.min_upper),
        (special, params.min_special),
    ] {
        pick(set.as_bytes(), minimum, &mut chars)?;
    }
    let rest = params.length.saturating_sub(chars.len());
    pick(all.as_bytes(), rest, &mut chars)?;
    // Fisher-Yates, so the `min_*` characters do not sit at the front.
    for i in (1..chars.len()).rev() {
        let j = index_below(i + 1)?;
        chars.swap(i, j);
    }
    Ok(chars.into_iter().map(char::from).collect())
}

/// The four encodings of a `random_id`, each with `prefix` in front, as Terraform writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdEncodings {
    pub b64_url: String,
    pub b64_std: String,
    pub hex: String,
    pub dec: String,
}

pub(crate) fn id(byte_length: usize, prefix: &str) -> Result<IdEncodings, RandomnessUnavailable> {
    Ok(encode_id(&random_bytes(byte_length)?, prefix))
}

pub(crate) fn encode_id(bytes: &[u8], prefix: &str) -> IdEncodings {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    IdEncodings {
        b64_url: format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)),
        b64_std: format!("{prefix}{}", STANDARD.encode(bytes)),
        hex: format!("{prefix}{hex}"),
        dec: format!("{prefix}{}", decimal(bytes)),
    }
}

/// The big-endian unsigned integer in `bytes`, in decimal without padding (Go's `big.Int`
/// `String`): repeated division of the base-256 digits by 10.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut out = Vec::new();
    while !digits.is_empty() {
        let mut remainder = 0u32;
        for digit in &mut digits {
            let current = remainder * 256 + u32::from(*digit);
            *digit = (current / 10) as u8;
            remainder = current % 10;
        }
        out.push(b'0' + remainder as u8);
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
    }
    if out.is_empty() {
        return "0".to_owned();
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(length: usize) -> PasswordParams {
        PasswordParams {
            length,
            upper: true,
            lower: true,
            numeric: true,
            special: true,
            override_special: None,
            min_upper: 0,
            min_lower: 0,
            min_numeric: 0,
            min_special: 0,
        }
    }

    #[test]
    fn encodings_match_terraform_for_known_bytes() {
        // Terraform's documented import id `p-9hUg` is the URL-safe base64 of these four bytes;
        // the other encodings as Python's base64 and int.from_bytes compute them.
        let ids = encode_id(&[0xa7, 0xef, 0x61, 0x52], "");
        assert_eq!(ids.b64_url, "p-9hUg");
        assert_eq!(ids.b64_std, "p+9hUg==");
        assert_eq!(ids.hex, "a7ef6152");
        assert_eq!(ids.dec, "2817483090");
        assert_eq!(encode_id(&[0xa7, 0xef, 0x61, 0x52], "my-prefix-").hex, "my-prefix-a7ef6152");
        let ids = encode_id(&[0xfb, 0xff, 0x00, 0x01], "");
        assert_eq!((ids.b64_url.as_str(), ids.b64_std.as_str()), ("-_8AAQ", "+/8AAQ=="));
        assert_eq!(ids.dec, "4227792897");
        assert_eq!(encode_id(&[0, 0], "").dec, "0");
        assert_eq!(encode_id(&[0, 1, 0], "").dec, "256");
    }

    #[test]
    fn passwords_have_the_length_and_the_minimums_asked_for() {
        let mut asked = params(24);
        asked.min_upper = 5;
        asked.min_numeric = 6;
        asked.min_special = 4;
        for _ in 0..50 {
            let generated = password(&asked).unwrap();
            assert_eq!(generated.len(), 24);
            assert!(generated.chars().filter(char::is_ascii_uppercase).count() >= 5, "{generated}");
            assert!(generated.chars().filter(char::is_ascii_digit).count() >= 6, "{generated}");
            assert!(generated.chars().filter(|c| SPECIAL.contains(*c)).count() >= 4, "{generated}");
        }
    }

    #[test]
    fn disabled_sets_and_override_special_are_respected() {
        let mut asked = params(64);
        asked.upper = false;
        asked.numeric = false;
        asked.override_special = Some("-_".to_owned());
        let generated = password(&asked).unwrap();
        assert!(generated.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '_'), "{generated}");
        let mut no_special = params(64);
        no_special.special = false;
        assert!(password(&no_special).unwrap().chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn two_passwords_differ_and_the_minimums_are_not_all_in_front() {
        let mut asked = params(32);
        asked.min_numeric = 8;
        let first = password(&asked).unwrap();
        assert_ne!(first, password(&asked).unwrap());
        let fronts_all_digits = (0..20).all(|_| password(&asked).unwrap()[..8].chars().all(|c| c.is_ascii_digit()));
        assert!(!fronts_all_digits, "the minimum characters are shuffled in");
    }

    #[test]
    fn impossible_arguments_are_named_with_the_fix() {
        let mut asked = params(4);
        asked.min_upper = 3;
        asked.min_numeric = 2;
        assert!(asked.problem().unwrap().contains("raise length or lower the minimums"));
        let mut nothing = params(8);
        (nothing.upper, nothing.lower, nothing.numeric, nothing.special) = (false, false, false, false);
        assert!(nothing.problem().unwrap().contains("enable at least one"));
        assert!(params(0).problem().unwrap().contains("at least 1"));
        let mut unicode = params(8);
        unicode.override_special = Some("é".to_owned());
        assert!(unicode.problem().unwrap().contains("ASCII"));
        assert_eq!(params(8).problem(), None);
    }

    #[test]
    fn indexes_cover_the_whole_range() {
        let mut seen = [false; 7];
        for _ in 0..500 {
            seen[index_below(7).unwrap()] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
