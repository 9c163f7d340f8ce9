//! `trustform render` promises that what it writes reads back byte-identically in a YAML parser,
//! or is refused. PyYAML (what Helm's Python tooling and most CI scripts read values files with)
//! is a YAML 1.1 reader: it folds carriage returns, NEL (U+0085) and the Unicode separators
//! like newlines and refuses unescaped controls such as BEL, so every filled template is read
//! back through it (the tests' own Python environment, `trustform_test_provider::python`).

use std::collections::BTreeMap;
use std::process::Command;
use trustform_lang::Value;
use trustform_outputs::fill_placeholders;

/// What PyYAML's `safe_load` reads at key `v` of `document`, as JSON text.
fn pyyaml_reads(document: &str) -> Result<serde_json::Value, String> {
    let out = Command::new(trustform_test_provider::python::python())
        .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())['v']))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().expect("stdin").write_all(document.as_bytes())?;
            child.wait_with_output()
        })
        .expect("the tests' python runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

#[test]
fn every_value_render_writes_reads_back_identically_in_pyyaml() {
    let values = [
        "plain",
        "carriage\rreturn",
        "crlf\r\nline",
        "next\u{85}line",
        "bell\u{7}",
        "escape\u{1b}[2J",
        "line\u{2028}separator\u{2029}",
        "c1\u{9b}control",
        "delete\u{7f}",
        "bom\u{feff}",
        "tab\tinside",
        "it's \"quoted\"",
        "ünïcode ✓",
    ];
    let templates = ["v: '%%V%%'\n", "v: \"%%V%%\"\n", "v: %%V%%\n", "v: prefix %%V%%\n"];
    let mut written = 0;
    for value in values {
        let outputs: BTreeMap<String, Value> = [("V".to_owned(), Value::from(value))].into();
        for template in templates {
            match fill_placeholders(template, &outputs) {
                Ok(rendered) => {
                    written += 1;
                    let read = pyyaml_reads(&rendered.text)
                        .unwrap_or_else(|e| panic!("{template:?} {value:?}: PyYAML refused {:?}: {e}", rendered.text));
                    let read = match read {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let want = if template.contains("prefix") { format!("prefix {value}") } else { value.to_owned() };
                    assert_eq!(read, want, "{template:?} wrote {:?}", rendered.text);
                }
                Err(errors) => assert!(!errors.iter().any(|e| e.to_string().contains(value)), "{errors:?}"),
            }
        }
        let double = fill_placeholders("v: \"%%V%%\"\n", &outputs);
        assert!(double.is_ok(), "double quotes can write {value:?}");
    }
    assert!(written >= 30, "{written}");
}
