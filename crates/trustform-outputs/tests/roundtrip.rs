//! Round trips through the real consumers of `deployment_outputs.env`.
//!
//! Accepted values must read back byte-identically in bash (`set -a; . FILE; set +a`),
//! python-dotenv (`dotenv_values`) and, for the portable format, kubectl
//! (`create secret generic --from-env-file`). Rejected values are written the way the refused
//! format would have written them, to show that a consumer really reads them differently.
//!
//! docker compose needs a Docker engine, which this machine does not run; its rules come from
//! compose-go's `dotenv` parser and are stated in `src/rules.rs`. kubectl is used when it is
//! installed and skipped (with a note on stderr) when it is not; bash and python-dotenv are
//! required.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use trustform_lang::Value;
use trustform_outputs::{render_env, EnvError, EnvFormat};

fn write_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("deployment_outputs.env");
    std::fs::write(&path, text).unwrap();
    path
}

/// The environment after `set -a; . FILE; set +a` in a bash started with an empty
/// environment, read back with `env -0` so values may hold line breaks.
fn bash_read(path: &Path) -> BTreeMap<String, String> {
    let out = Command::new("bash")
        .env_clear()
        .args(["-c", "set -a; . \"$1\"; set +a; env -0", "bash"])
        .arg(path)
        .output()
        .expect("bash must be installed");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split('\0')
        .filter_map(|entry| entry.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// `dotenv_values(FILE)`: `None` for a name without a value.
fn dotenv_read(path: &Path, env: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
    let out = Command::new(trustform_test_provider::python::python())
        .args([
            "-c",
            "import json, sys\nfrom dotenv import dotenv_values\nsys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))",
        ])
        .arg(path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "python-dotenv failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The data of `kubectl create secret generic --from-env-file FILE`, or `None` if kubectl is
/// not installed.
fn kubectl_read(path: &Path) -> Option<BTreeMap<String, String>> {
    if Command::new("kubectl").args(["version", "--client"]).output().map_or(true, |o| !o.status.success()) {
        eprintln!("kubectl is not installed: skipping the kubectl half of this round trip");
        return None;
    }
    let out = Command::new("kubectl")
        .args(["create", "secret", "generic", "roundtrip", "--dry-run=client", "-o", "json"])
        .arg(format!("--from-env-file={}", path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    let secret: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = secret.get("data").and_then(serde_json::Value::as_object).cloned().unwrap_or_default();
    Some(
        data.into_iter()
            .map(|(name, value)| {
                let bytes = STANDARD.decode(value.as_str().unwrap()).unwrap();
                (name, String::from_utf8(bytes).unwrap())
            })
            .collect(),
    )
}

fn outputs(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// Each output's expected text: strings as they are, numbers and bools as `tostring`.
fn expected(outputs: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    outputs
        .iter()
        .map(|(name, value)| {
            let text = match value.unmarked() {
                Value::String(s) => s.clone(),
                collection @ (Value::List(_) | Value::Object(_)) => collection.to_json().to_string(),
                other => other.render(),
            };
            (name.clone(), text)
        })
        .collect()
}

fn assert_reads_back(consumer: &str, read: &BTreeMap<String, String>, want: &BTreeMap<String, String>) {
    for (name, value) in want {
        assert_eq!(read.get(name), Some(value), "{consumer} read {name} differently");
    }
}

fn portable_values() -> BTreeMap<String, Value> {
    outputs(&[
        ("ROLE_ARN", "arn:aws:iam::123456789012:role/litellm-gateway".into()),
        ("AUDIENCE", "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws/providers/aws".into()),
        (
            "PRINCIPAL_SET",
            "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws/attribute.aws_role/arn:aws:sts::123456789012:assumed-role/litellm".into(),
        ),
        ("TOKEN_URL", "https://sts.googleapis.com:443/v1/token?scope=cloud-platform,openid".into()),
        ("SA_EMAIL", "litellm@my-project.iam.gserviceaccount.com".into()),
        ("CA_BUNDLE", "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUI+/w==".into()),
        ("EMPTY", "".into()),
        ("PUNCTUATION", "_-./:@,+=%!*?[]{}^".into()),
        ("LEADING_EQUALS", "==x".into()),
        ("LEADING_DASH", "-n".into()),
        ("COLONS", "a:b::c:".into()),
        ("UNICODE", "Zürich-東京".into()),
        ("PORT", Value::from(8080)),
        ("RATIO", Value::from_json(&serde_json::json!(0.5))),
        ("ENABLED", true.into()),
        ("DB_PASSWORD", Value::from("s3cr3t+/=").sensitive()),
        // Azure client secrets hold '~'; bash expands only one that begins the value or follows
        // ':' (the bash manual, "Tilde Expansion"), so these are literal everywhere.
        ("AZURE_CLIENT_SECRET", Value::from("Xy8Q~abc.DEF_ghi~jkl-mno~").sensitive()),
        ("TILDE_AFTER_LATER_EQUALS", "a~b=~c/~".into()),
        ("NUMBERS", Value::List(vec![Value::from(1), Value::from(2)])),
        ("NOTHING_LISTED", Value::List(vec![])),
    ])
}

#[test]
fn portable_values_read_back_identically_in_bash_python_dotenv_and_kubectl() {
    let outputs = portable_values();
    let text = render_env(&outputs, EnvFormat::Portable).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &text);
    let want = expected(&outputs);

    assert_reads_back("bash", &bash_read(&path), &want);
    let dotenv: BTreeMap<String, String> =
        dotenv_read(&path, &[]).into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    assert_reads_back("python-dotenv", &dotenv, &want);
    if let Some(kubectl) = kubectl_read(&path) {
        assert_eq!(kubectl, want, "kubectl read the file differently");
    }
}

#[test]
fn dotenv_values_read_back_identically_in_bash_and_python_dotenv() {
    let outputs = outputs(&[
        ("SPACED", "two words".into()),
        ("PADDED", "  padded  ".into()),
        ("DOLLARS", "$HOME and $(id) and `id` and $".into()),
        ("HASHES", "x #not a comment".into()),
        ("DOUBLE_QUOTES", "say \"hi\"".into()),
        ("BACKSLASHES", "C:\\dir\\file and \\n and \\t".into()),
        ("PEM", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into()),
        ("TAB", "a\tb".into()),
        ("SHELL", ";&|<>()~/x".into()),
        ("POLICY", r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow"}],"Version":"2012-10-17"}"#.into()),
        ("NBSP", "a\u{a0}".into()),
        ("PLAIN", "arn:aws:iam::123456789012:role/x".into()),
        ("EMPTY", "".into()),
        ("API_KEY", Value::from("sk-live $ecret with spaces").sensitive()),
        ("ROLE_ARNS", Value::List(vec!["arn:aws:iam::1:role/a".into(), "arn:aws:iam::1:role/b c".into()])),
        (
            "CLUSTERS",
            Value::object([
                ("prod", Value::object([("issuer", Value::from("https://oidc.eks/x")), ("nodes", Value::from(3))])),
                ("dev", Value::Null),
            ]),
        ),
    ]);
    let text = render_env(&outputs, EnvFormat::Dotenv).unwrap();
    assert!(text.contains("ROLE_ARNS='[\"arn:aws:iam::1:role/a\",\"arn:aws:iam::1:role/b c\"]'\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &text);
    let want = expected(&outputs);

    assert_reads_back("bash", &bash_read(&path), &want);
    let dotenv: BTreeMap<String, String> =
        dotenv_read(&path, &[]).into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    assert_reads_back("python-dotenv", &dotenv, &want);
}

/// Writes `NAME=value` unquoted, as the portable format would have if it did not refuse.
fn naive_unquoted(entries: &[(&str, &str)]) -> String {
    entries.iter().map(|(name, value)| format!("{name}={value}\n")).collect()
}

/// Writes `NAME='value'`, as the dotenv format would have if it did not refuse.
fn naive_quoted(entries: &[(&str, &str)]) -> String {
    entries.iter().map(|(name, value)| format!("{name}='{value}'\n")).collect()
}

fn assert_rejected(entries: &[(&str, &str)], format: EnvFormat) {
    for (name, value) in entries {
        let result = render_env(&outputs(&[(name, (*value).into())]), format);
        assert!(result.is_err(), "{name}={value:?} should be refused in the {format} format");
    }
}

#[test]
fn values_the_portable_format_refuses_really_read_differently() {
    let bash_misreads = [
        ("SPACE", "two words"),
        ("DOLLAR", "a$HOME"),
        ("BACKTICK", "a`echo b`"),
        ("TILDE", "~/x"),
        ("TILDE_AFTER_COLON", "a:~/x"),
        ("QUOTES", "'q'"),
        ("BACKSLASH", "a\\b"),
        ("SEMICOLON", "a;b"),
        ("PIPE", "a|b"),
    ];
    assert_rejected(&bash_misreads, EnvFormat::Portable);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &naive_unquoted(&bash_misreads));
    let bash = bash_read(&path);
    for (name, value) in bash_misreads {
        assert_ne!(bash.get(name).map(String::as_str), Some(value), "bash read {name} as written");
    }

    let dotenv_misreads =
        [("TRAILING_SPACE", "x "), ("TRAILING_NBSP", "x\u{a0}"), ("SPACED_HASH", "x #y"), ("QUOTED", "\"q\"")];
    assert_rejected(&dotenv_misreads, EnvFormat::Portable);
    let path = write_file(dir.path(), &naive_unquoted(&dotenv_misreads));
    let dotenv = dotenv_read(&path, &[]);
    for (name, value) in dotenv_misreads {
        assert_ne!(dotenv.get(name).cloned().flatten().as_deref(), Some(value), "python-dotenv read {name} as written");
    }
}

#[test]
fn kubectl_stops_reading_at_a_line_that_is_too_long() {
    let long = "x".repeat(65_535);
    let too_long = outputs(&[("A_FIRST", "kept".into()), ("LONG", long.clone().into()), ("Z_LAST", "lost".into())]);
    let errors = render_env(&too_long, EnvFormat::Portable).unwrap_err();
    assert!(matches!(errors.as_slice(), [EnvError::LineTooLong { output, length: 65_540 }] if output == "LONG"));

    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &naive_unquoted(&[("A_FIRST", "kept"), ("LONG", &long), ("Z_LAST", "lost")]));
    if let Some(kubectl) = kubectl_read(&path) {
        let names: Vec<&str> = kubectl.keys().map(String::as_str).collect();
        assert_eq!(names, ["A_FIRST"], "kubectl should silently lose the long line and everything after it");
    }

    // One byte shorter fits, and kubectl reads every entry whole.
    let fits = "x".repeat(65_535 - "LONG=".len());
    let ok = outputs(&[("A_FIRST", "kept".into()), ("LONG", fits.clone().into()), ("Z_LAST", "kept".into())]);
    let path = write_file(dir.path(), &render_env(&ok, EnvFormat::Portable).unwrap());
    if let Some(kubectl) = kubectl_read(&path) {
        assert_eq!(kubectl, expected(&ok));
    }
}

#[test]
fn values_the_dotenv_format_refuses_really_read_differently() {
    let dir = tempfile::tempdir().unwrap();

    // A single quote cannot be written inside single quotes: bash sees an unterminated string.
    assert_rejected(&[("APOSTROPHE", "it's")], EnvFormat::Dotenv);
    let path = write_file(dir.path(), &naive_quoted(&[("APOSTROPHE", "it's")]));
    assert_ne!(bash_read(&path).get("APOSTROPHE").map(String::as_str), Some("it's"));

    let dotenv_misreads = [
        ("DOUBLE_BACKSLASH", "a\\\\b"),
        ("EXPANDS", "${TF_PROOF}"),
        ("CARRIAGE_RETURN", "a\rb"),
        ("TRAILING_BACKSLASH", "ends\\"),
        ("NEXT", "v"),
    ];
    assert_rejected(&dotenv_misreads[..4], EnvFormat::Dotenv);
    let path = write_file(dir.path(), &naive_quoted(&dotenv_misreads));
    let dotenv = dotenv_read(&path, &[("TF_PROOF", "expanded")]);
    for (name, value) in &dotenv_misreads[..4] {
        assert_ne!(
            dotenv.get(*name).cloned().flatten().as_deref(),
            Some(*value),
            "python-dotenv read {name} as written"
        );
    }
    // bash, by contrast, reads the same quoted lines literally: the refusal is about dotenv.
    let bash = bash_read(&path);
    for (name, value) in &dotenv_misreads[..4] {
        assert_eq!(bash.get(*name).map(String::as_str), Some(*value), "bash read {name} differently");
    }
}

#[test]
fn names_bash_manages_itself_are_refused_because_bash_does_not_keep_them() {
    let managed = ["RANDOM", "SECONDS", "UID", "EUID", "PPID", "BASHPID", "SHELLOPTS", "LINENO", "OPTIND", "_"];
    let dir = tempfile::tempdir().unwrap();
    for name in managed {
        let errors = render_env(&outputs(&[(name, "abc".into())]), EnvFormat::Portable).unwrap_err();
        assert!(matches!(errors.as_slice(), [EnvError::ShellManagedName { .. }]), "{name}: {errors:?}");
        let path = write_file(dir.path(), &naive_unquoted(&[(name, "abc")]));
        assert_ne!(bash_read(&path).get(name).map(String::as_str), Some("abc"), "bash kept {name}");
    }
    // Ordinary variables, even ones bash knows about, round-trip and are accepted.
    let ordinary = outputs(&[
        ("HOME", "/x".into()),
        ("BASH_ENV", "/y".into()),
        ("HISTFILE", "/z".into()),
        ("TMPDIR", "/t".into()),
    ]);
    let path = write_file(dir.path(), &render_env(&ordinary, EnvFormat::Portable).unwrap());
    assert_reads_back("bash", &bash_read(&path), &expected(&ordinary));
}
