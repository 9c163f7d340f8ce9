//! Files, hashes and encodings.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};
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

fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The MD5 digest of the string's UTF-8 bytes, as lowercase hex.
pub(super) fn md5(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&<md5::Md5 as md5::Digest>::digest(args.string(0)?.as_bytes()))))
}

/// The SHA-1 digest of the string's UTF-8 bytes, as lowercase hex.
pub(super) fn sha1(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&<sha1::Sha1 as sha1::Digest>::digest(args.string(0)?.as_bytes()))))
}

/// The SHA-512 digest of the string's UTF-8 bytes, as lowercase hex.
pub(super) fn sha512(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&Sha512::digest(args.string(0)?.as_bytes()))))
}

/// The SHA-256 digest of the string's UTF-8 bytes, base64-encoded (not its hex text).
pub(super) fn base64sha256(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(Sha256::digest(args.string(0)?.as_bytes()))))
}

/// The SHA-512 digest of the string's UTF-8 bytes, base64-encoded.
pub(super) fn base64sha512(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(Sha512::digest(args.string(0)?.as_bytes()))))
}

/// Go's `url.QueryEscape`, which terraform's `urlencode` uses: letters, digits and `-_.~`
/// stay, a space becomes `+`, every other byte `%XX`.
pub(super) fn urlencode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out = String::new();
    for byte in args.string(0)?.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    Ok(Value::String(out))
}

fn read_bytes(args: &Args, ctx: &FunctionContext) -> Result<Vec<u8>, FunctionError> {
    let path = args.string(0)?;
    let full = ctx.base_dir.join(path.as_ref());
    std::fs::read(&full).map_err(|e| {
        args.error(
            0,
            format!(
                "cannot read the file {}: {e}. Relative paths start in the spec's directory.",
                args.show(&full.display().to_string())
            ),
        )
    })
}

/// `filebase64(path)`: the file's bytes, base64-encoded.
pub(super) fn filebase64(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(read_bytes(args, ctx)?)))
}

pub(super) fn filemd5(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&<md5::Md5 as md5::Digest>::digest(read_bytes(args, ctx)?))))
}

pub(super) fn filesha256(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&Sha256::digest(read_bytes(args, ctx)?))))
}

pub(super) fn filebase64sha256(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(Sha256::digest(read_bytes(args, ctx)?))))
}

pub(super) fn filesha1(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&<sha1::Sha1 as sha1::Digest>::digest(read_bytes(args, ctx)?))))
}

pub(super) fn filesha512(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(hex(&Sha512::digest(read_bytes(args, ctx)?))))
}

pub(super) fn filebase64sha512(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(STANDARD.encode(Sha512::digest(read_bytes(args, ctx)?))))
}

/// `csvdecode(string)`: RFC 4180 CSV whose first line names the columns, as a list of
/// objects, one per further line (go-cty's stdlib/csv.go).
pub(super) fn csvdecode(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let rows = csv_rows(&text).map_err(|e| args.error(0, e))?;
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        return Err(args.error(0, "missing header line"));
    };
    let mut out = Vec::new();
    for (index, row) in rows.enumerate() {
        if row.len() != header.len() {
            return Err(args.error(0, format!("record on line {}: wrong number of fields", index + 2)));
        }
        out.push(Value::Object(header.iter().cloned().zip(row.into_iter().map(Value::String)).collect()));
    }
    Ok(Value::List(out))
}

/// The records of a CSV text; a field in double quotes may hold commas, newlines and `""`.
fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted = false;
    let mut started = false;
    while let Some(c) = chars.next() {
        started = true;
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.is_empty() => quoted = true,
            '"' => return Err(format!("parse error on line {line}: bare \" in non-quoted field")),
            ',' if !quoted => row.push(std::mem::take(&mut field)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
                started = false;
            }
            other => {
                if other == '\n' {
                    line += 1;
                }
                field.push(other);
            }
        }
    }
    if quoted {
        return Err(format!("parse error on line {line}: extraneous or missing \" in quoted-field"));
    }
    if started {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// `uuid()`: a random (version 4) UUID, new at every call.
pub(super) fn uuid(_: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Ok(Value::String(Uuid::new_v4().hyphenated().to_string()))
}

/// `pathexpand(path)`: a leading `~` replaced by the home directory.
pub(super) fn pathexpand(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let rest = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Ok(Value::String(path.into_owned())),
    };
    let home = std::env::var("HOME")
        .map_err(|_| FunctionError::Failed("the home directory is unknown (HOME is not set)".into()))?;
    Ok(Value::String(format!("{home}{rest}")))
}

/// `fileexists(path)`: whether a regular file exists there; a directory is an error, as in
/// terraform's internal/lang/funcs/filesystem.go.
pub(super) fn fileexists(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let full = ctx.base_dir.join(path.as_ref());
    match std::fs::metadata(&full) {
        Ok(meta) if meta.is_file() => Ok(Value::Bool(true)),
        Ok(_) => {
            Err(args.error(0, format!("{} is not a regular file, but \"dir\"", args.show(&full.display().to_string()))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => {
            Err(args.error(0, format!("failed to stat {}{}", args.show(&full.display().to_string()), args.detail(e))))
        }
    }
}

/// `abspath(path)`: the path made absolute against the working directory, cleaned of `.`
/// and `..` steps as Go's filepath.Abs does.
pub(super) fn abspath(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = std::path::Path::new(args.string(0)?.as_ref()).to_path_buf();
    let joined = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map_err(|e| FunctionError::Failed(format!("the working directory is unknown: {e}")))?
            .join(path)
    };
    let mut clean = std::path::PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(Value::String(clean.display().to_string()))
}

/// `basename(path)`: the last element of the path, as Go's filepath.Base.
pub(super) fn basename(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let trimmed = path.trim_end_matches('/');
    Ok(Value::from(match trimmed {
        "" if path.is_empty() => ".",
        "" => "/",
        t => t.rsplit('/').next().unwrap_or(t),
    }))
}

/// `dirname(path)`: everything but the last element, as Go's filepath.Dir.
pub(super) fn dirname(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let dir = match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => path[..i].trim_end_matches('/').to_owned(),
        None => ".".to_owned(),
    };
    Ok(Value::String(if dir.is_empty() { "/".to_owned() } else { dir }))
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

    /// The examples of developer.hashicorp.com/terraform/language/functions/{md5,sha1,sha512,
    /// base64sha256,base64sha512,urlencode,basename,dirname}.
    #[test]
    fn documented_examples() {
        check(&[
            ("md5", vec!["hello world".into()], r#""5eb63bbbe01eeed093cb22bb8f5acdc3""#),
            ("sha1", vec!["hello world".into()], r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#),
            (
                "sha512",
                vec!["hello world".into()],
                r#""309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f""#,
            ),
            ("base64sha256", vec!["hello world".into()], r#""uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=""#),
            (
                "base64sha512",
                vec!["hello world".into()],
                r#""MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==""#,
            ),
            ("urlencode", vec!["Hello World!".into()], r#""Hello+World%21""#),
            ("urlencode", vec!["☃".into()], r#""%E2%98%83""#),
            (
                "urlencode",
                vec!["foo:bar@localhost?foo=bar&bar=baz".into()],
                r#""foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz""#,
            ),
            ("basename", vec!["foo/bar/baz.txt".into()], r#""baz.txt""#),
            ("dirname", vec!["foo/bar/baz.txt".into()], r#""foo/bar""#),
            ("dirname", vec!["baz.txt".into()], r#"".""#),
        ]);
    }

    /// developer.hashicorp.com/terraform/language/functions/csvdecode
    #[test]
    fn csvdecode_reads_a_header_and_records() {
        check(&[
            (
                "csvdecode",
                vec!["a,b,c\n1,2,3\n4,5,6".into()],
                r#"[{a = "1", b = "2", c = "3"}, {a = "4", b = "5", c = "6"}]"#,
            ),
            (
                "csvdecode",
                vec!["name,note\n\"x, y\",\"say \"\"hi\"\"\"\n".into()],
                r#"[{name = "x, y", note = "say \"hi\""}]"#,
            ),
            (
                "csvdecode",
                vec!["a,b\n1\n".into()],
                "error: Invalid value for argument 1: record on line 2: wrong number of fields",
            ),
        ]);
    }

    #[test]
    fn files_exist_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.txt"), "Hello World").unwrap();
        let ctx = FunctionContext { base_dir: dir.path(), applying: true };
        let run =
            |name: &str, path: &str| call(name, vec![path.into()], &ctx).map(|v| v.render()).map_err(|e| e.to_string());
        assert_eq!(run("fileexists", "hello.txt").unwrap(), "true");
        assert_eq!(run("fileexists", "nope.txt").unwrap(), "false");
        assert!(run("fileexists", ".").unwrap_err().contains("is not a regular file"));
        assert_eq!(run("filebase64", "hello.txt").unwrap(), r#""SGVsbG8gV29ybGQ=""#);
        assert_eq!(run("filemd5", "hello.txt").unwrap(), r#""b10a8db164e0754105b7a99be72e3fe5""#);
        assert_eq!(
            run("filesha256", "hello.txt").unwrap(),
            r#""a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e""#
        );
        assert_eq!(run("filebase64sha256", "hello.txt").unwrap(), r#""pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=""#);
        assert_eq!(run("filesha1", "hello.txt").unwrap(), r#""0a4d55a8d778e5022fab701977c5d840bbc486d0""#);
        assert!(run("filesha512", "hello.txt")
            .unwrap()
            .starts_with(r#""2c74fd17edafd80e8447b0d46741ee243b7eb74dd2149a0ab1b9246fb30382f2"#));
        assert_eq!(run("pathexpand", "/etc/x").unwrap(), r#""/etc/x""#);
        let uuid = call("uuid", vec![], &ctx).unwrap();
        assert_eq!(uuid.as_str().map(str::len), Some(36));
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
        let ctx = FunctionContext { base_dir: dir.path(), applying: true };

        let read = call("file", vec!["policy.json".into()], &ctx).unwrap();
        assert_eq!(read, Value::from("{\"a\": 1}\n"));

        let err = call("file", vec!["missing.json".into()], &ctx).unwrap_err().to_string();
        let missing = dir.path().join("missing.json");
        assert!(err.contains(&format!("cannot read the file {:?}", missing.display().to_string())), "{err}");
        assert!(err.ends_with("Relative paths start in the spec's directory."), "{err}");
    }
}
