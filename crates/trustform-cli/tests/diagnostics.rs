//! Every bad spec gives diagnostics with file:line:col and a fix, never a panic. Each fixture
//! under `fixtures/diagnostics/` is validated and planned, and the rendered output snapshotted.

mod support;

use std::path::Path;
use support::Workdir;

fn check(case: &str) -> String {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics").join(case);
    let work = Workdir::fixture(&format!("diagnostics/{case}"));
    assert!(source.is_dir(), "{}", source.display());
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "plan of {case} should fail:\n{}", plan.all());
    assert!(!plan.stderr.contains("panicked"), "{}", plan.stderr);
    let validate = work.run(&["validate", "--json"]);
    let json: serde_json::Value =
        serde_json::from_str(&validate.stdout).unwrap_or_else(|e| panic!("{case}: {e}\n{}", validate.all()));
    assert_eq!(json["valid"], false, "{case}: {}", validate.stdout);
    for d in json["diagnostics"].as_array().unwrap() {
        assert!(d["file"].is_string(), "{case}: every diagnostic has a location: {d}");
        assert!(d["line"].as_u64().unwrap() > 0);
        assert!(d["end_line"].as_u64().unwrap() >= d["line"].as_u64().unwrap());
    }
    plan.stderr
}

macro_rules! diagnostic_case {
    ($name:ident) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check(stringify!($name)));
        }
    };
}

diagnostic_case!(cycle);
diagnostic_case!(unknown_reference);
diagnostic_case!(type_error);
diagnostic_case!(missing_required);
diagnostic_case!(unsupported_argument);
diagnostic_case!(syntax_error);
diagnostic_case!(undeclared_variable);
diagnostic_case!(unknown_resource_type);
diagnostic_case!(encryption_block);
diagnostic_case!(for_each_tuple);
diagnostic_case!(invalid_function_argument);
diagnostic_case!(invalid_service_account_id);
diagnostic_case!(moved_cycle);
diagnostic_case!(moved_type_mismatch);
diagnostic_case!(moved_from_still_declared);
diagnostic_case!(removed_still_declared);
diagnostic_case!(condition_incomplete);
diagnostic_case!(import_target_undeclared);
diagnostic_case!(invalid_federated_identity_credential);
diagnostic_case!(module_missing_input);
diagnostic_case!(module_unknown_output);
diagnostic_case!(module_remote_source);
diagnostic_case!(module_cycle);
diagnostic_case!(provider_unknown_alias);
diagnostic_case!(module_root_only_blocks);
