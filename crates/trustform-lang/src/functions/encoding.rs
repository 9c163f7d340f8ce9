//! Files, hashes and encodings.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use uuid::Uuid;

/// The contents of a UTF-8 text file; a relative path resolves in the spec's directory.
pub(super) fn file(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let full = ctx.base_dir.join(path.as_ref());
    std::fs::read_to_string(&full).map(Value::String).map_err(|e| {
        args.error(
            0,
            format!(
                "cannot read the file {}: {e}. Relative paths start in the spec's directory.",
                args.show(&full.display().to_string())
            ),
        )
    })
}

/// The SHA-256 digest of the string's UTF-8 bytes, as lowercase hex.
pub(super) fn sha256(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let digest = Sha256::digest(args.string(0)?.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(Value::String(hex))
}

pub(super) fn base64encode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(args.string(0)?.as_bytes())))
}

pub(super) fn base64decode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let bytes = STANDARD
        .decode(text.as_bytes())
        .map_err(|e| args.error(0, format!("the string is not valid padded base64{}.", args.detail(e))))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.error(0, "the decoded bytes are not UTF-8 text, and base64decode() can only return text."))
}

/// A name-based (SHA-1, version 5) UUID, as Terraform's `uuidv5`: the namespace is `dns`,
/// `url`, `oid`, `x500` or a UUID of its own.
pub(super) fn uuidv5(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let namespace = args.string(0)?;
    let name = args.string(1)?;
    let namespace = match namespace.as_ref() {
        "dns" => Uuid::NAMESPACE_DNS,
        "url" => Uuid::NAMESPACE_URL,
        "oid" => Uuid::NAMESPACE_OID,
        "x500" => Uuid::NAMESPACE_X500,
        other => Uuid::parse_str(other).map_err(|_| {
            args.error(
                0,
                format!(
                    "the namespace must be \"dns\", \"url\", \"oid\", \"x500\" or a UUID, but got {}.",
                    args.show(other)
                ),
            )
        })?,
    };
    Ok(Value::String(Uuid::new_v5(&namespace, name.as_bytes()).hyphenated().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use super::super::{call, FunctionContext};
    use crate::Value;

    #[test]
    fn hashes_and_base64() {
        check(&[
            ("sha256", vec!["hello world".into()], r#""b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9""#),
            ("base64encode", vec!["Hello, 世界".into()], r#""SGVsbG8sIOS4lueVjA==""#),
            ("base64decode", vec!["SGVsbG8sIOS4lueVjA==".into()], r#""Hello, 世界""#),
            ("base64decode", vec!["SGVsbG8".into()], "error: Invalid value for argument 1: the string is not valid padded base64: Invalid padding."),
            ("base64decode", vec!["/w==".into()], "error: Invalid value for argument 1: the decoded bytes are not UTF-8 text, and base64decode() can only return text."),
        ]);
    }

    #[test]
    fn uuidv5_matches_rfc_4122_vectors() {
        // Expected values computed independently with Python's uuid.uuid5.
        check(&[
            ("uuidv5", vec!["dns".into(), "www.terraform.io".into()], r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#),
            ("uuidv5", vec!["url".into(), "https://www.terraform.io/".into()], r#""9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5""#),
            ("uuidv5", vec!["oid".into(), "1.3.6.1.4".into()], r#""af9d40a5-7a36-5c07-b23a-851cd99fbfa5""#),
            (
                "uuidv5",
                vec!["x500".into(), "CN=Terraform,OU=HashiCorp,O=HashiCorp,L=San Francisco,ST=California,C=US".into()],
                r#""2e84f3e6-0745-5716-8120-64f2894215a7""#,
            ),
            (
                "uuidv5",
                vec!["6ba7b810-9dad-11d1-80b4-00c04fd430c8".into(), "www.terraform.io".into()],
                r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#,
            ),
            (
                "uuidv5",
                vec!["web".into(), "x".into()],
                "error: Invalid value for argument 1: the namespace must be \"dns\", \"url\", \"oid\", \"x500\" or a UUID, but got \"web\".",
            ),
        ]);
    }

    #[test]
    fn file_reads_relative_to_the_spec_directory_and_names_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.json"), "{\"a\": 1}\n").unwrap();
        let ctx = FunctionContext { base_dir: dir.path() };

        let read = call("file", vec!["policy.json".into()], &ctx).unwrap();
        assert_eq!(read, Value::from("{\"a\": 1}\n"));

        let err = call("file", vec!["missing.json".into()], &ctx).unwrap_err().to_string();
        let missing = dir.path().join("missing.json");
        assert!(err.contains(&format!("cannot read the file {:?}", missing.display().to_string())), "{err}");
        assert!(err.ends_with("Relative paths start in the spec's directory."), "{err}");
    }
}
