//! End-to-end tests of encryption at rest: a canary secret planted in a sensitive variable must
//! appear in no byte of the state file or the saved plan file, and in no line the binary prints
//! at TRACE level, and must still decrypt back; a wrong key is a clear error that leaves the
//! state untouched; a plaintext state migrates to an encrypted one.

mod support;

use support::{Run, Workdir};
use trustform_state::Encryption;

const CANARY: &str = "canary-e2e-5b7d19c0";
const PASSPHRASE: &str = "correct horse battery staple e2e";
const STATE: &str = "state/default.tfstate";

/// A spec whose state and plans are encrypted with `key_provider`'s passphrase, holding the
/// canary in a sensitive variable, a resource and a sensitive output.
fn spec(key_provider: &str, state_extra: &str) -> String {
    format!(
        r#"
variable "token" {{
  sensitive = true
}}
variable "state_passphrase" {{
  sensitive = true
  default   = null
}}
trustform {{
  encryption {{
    {key_provider}
    method "aes_gcm" "main" {{ keys = key_provider.pbkdf2.main }}
    method "unencrypted" "migrate" {{}}
    state {{
      method   = method.aes_gcm.main
      enforced = true
      {state_extra}
    }}
    plan {{
      method   = method.aes_gcm.main
      enforced = true
    }}
  }}
  outputs {{ env_file = "" }}
}}
resource "trustform_data" "a" {{ input = var.token }}
output "token" {{
  value     = trustform_data.a.output
  sensitive = true
}}
"#
    )
}

const FROM_VARIABLE: &str =
    "key_provider \"pbkdf2\" \"main\" {\n      passphrase = var.state_passphrase\n      iterations = 200000\n    }";
const FROM_ENVIRONMENT: &str = "key_provider \"pbkdf2\" \"main\" { iterations = 200000 }";

fn run(work: &Workdir, args: &[&str], passphrase: &str) -> Run {
    work.run_with_env(
        args,
        &[("RUST_LOG", "trace"), ("TRUSTFORM_VAR_token", CANARY), ("TRUSTFORM_VAR_state_passphrase", passphrase)],
    )
}

fn expect(work: &Workdir, args: &[&str], passphrase: &str, code: i32) -> Run {
    let run = run(work, args, passphrase);
    assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
    run
}

fn bytes(work: &Workdir, name: &str) -> Vec<u8> {
    std::fs::read(work.file(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_encrypted(work: &Workdir, name: &str) {
    let file = bytes(work, name);
    assert!(!holds(&file, CANARY), "{name} holds the canary");
    assert!(!holds(&file, PASSPHRASE), "{name} holds the passphrase");
    let envelope: serde_json::Value = serde_json::from_slice(&file).expect("an envelope is JSON");
    assert_eq!(envelope["encryption_version"], "v1", "{name}: {envelope}");
    assert!(envelope["meta"]["key_provider.pbkdf2.main"].is_string(), "{name}: {envelope}");
}

#[test]
fn a_canary_is_in_no_byte_at_rest_or_in_trace_logs_and_decrypts_back() {
    let work = Workdir::new().with_file("main.tf", &spec(FROM_VARIABLE, ""));
    let mut printed = Vec::new();
    printed.push(expect(&work, &["plan", "--out", "tf.plan"], PASSPHRASE, 0));
    assert_encrypted(&work, "tf.plan");
    printed.push(expect(&work, &["show", "tf.plan"], PASSPHRASE, 0));
    let applied = expect(&work, &["apply", "tf.plan"], PASSPHRASE, 0);
    assert!(applied.stdout.contains("1 added"), "{}", applied.stdout);
    printed.push(applied);
    assert_encrypted(&work, STATE);
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["show"], &["output"], &["state", "list"]] {
        printed.push(expect(&work, args, PASSPHRASE, 0));
    }
    assert_encrypted(&work, STATE);
    assert!(printed.iter().any(|run| run.stderr.contains("TRACE")), "the runs logged at TRACE level");
    for run in &printed {
        assert!(!run.all().contains(CANARY), "the canary was printed:\n{}", run.all());
        assert!(!run.all().contains(PASSPHRASE), "the passphrase was printed:\n{}", run.all());
    }

    // What was written is the secret itself, decrypted on the way out.
    assert_eq!(expect(&work, &["output", "token", "--raw"], PASSPHRASE, 0).stdout, CANARY);
    let pulled = expect(&work, &["state", "pull"], PASSPHRASE, 0);
    assert!(pulled.stdout.contains(CANARY), "state pull prints the decrypted state");
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_and_never_overwrites_the_state() {
    let work = Workdir::new().with_file("main.tf", &spec(FROM_VARIABLE, ""));
    expect(&work, &["apply", "--auto-approve"], PASSPHRASE, 0);
    expect(&work, &["plan", "--out", "tf.plan"], PASSPHRASE, 0);
    let state = bytes(&work, STATE);

    let wrong = "a different passphrase entirely";
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan"],
        &["output", "token", "--raw"],
        &["state", "rm", "trustform_data.a"],
    ] {
        let run = expect(&work, args, wrong, 1);
        assert!(
            run.stderr.contains("TF1020") && run.stderr.contains("Failed to read state"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("method.aes_gcm.main: wrong key"), "{args:?}: {}", run.stderr);
        assert!(!run.all().contains(CANARY) && !run.all().contains(wrong), "{args:?}: {}", run.all());
        assert_eq!(bytes(&work, STATE), state, "{args:?} changed the state file");
    }
    let plan = expect(&work, &["apply", "tf.plan"], wrong, 1);
    assert!(plan.stderr.contains("TF1033") && plan.stderr.contains("wrong key"), "{}", plan.stderr);
    assert_eq!(bytes(&work, STATE), state);

    // A passphrase in the spec itself is refused before anything is read.
    work.write("main.tf", &spec("key_provider \"pbkdf2\" \"main\" { passphrase = \"written into the spec\" }", ""));
    let literal = expect(&work, &["plan"], PASSPHRASE, 1);
    assert!(literal.stderr.contains("TF0128") && literal.stderr.contains("main.tf:11:49"), "{}", literal.stderr);
    assert!(literal.stderr.contains("A passphrase must be sensitive"), "{}", literal.stderr);
    assert!(!literal.stderr.contains("TF0126"), "one problem, one diagnostic: {}", literal.stderr);
}

#[test]
fn a_plaintext_state_migrates_with_an_unencrypted_fallback_and_the_environment_passphrase() {
    let work = Workdir::new().with_file(
        "main.tf",
        "variable \"token\" {\n  sensitive = true\n}\nresource \"trustform_data\" \"a\" { input = var.token }\n",
    );
    expect(&work, &["apply", "--auto-approve"], PASSPHRASE, 0);
    assert!(holds(&bytes(&work, STATE), CANARY), "without encryption the state is plaintext");

    let with_env = |args: &[&str], code: i32| {
        let run =
            work.run_with_env(args, &[("TRUSTFORM_VAR_token", CANARY), ("TRUSTFORM_STATE_PASSPHRASE", PASSPHRASE)]);
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        run
    };
    // Encryption without a fallback refuses to read the plaintext state, and says how to migrate.
    work.write("main.tf", &spec(FROM_ENVIRONMENT, ""));
    let refused = with_env(&["plan"], 1);
    assert!(refused.stderr.contains("fallback { method = method.unencrypted.migrate }"), "{}", refused.stderr);

    work.write("main.tf", &spec(FROM_ENVIRONMENT, "fallback { method = method.unencrypted.migrate }"));
    with_env(&["apply", "--auto-approve"], 0);
    assert_encrypted(&work, STATE);
    assert_encrypted(&work, "state/default.tfstate.backup");

    // Migrated: the fallback can go, and the environment's passphrase decrypts it.
    work.write("main.tf", &spec(FROM_ENVIRONMENT, ""));
    let plan = with_env(&["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert_eq!(with_env(&["output", "token", "--raw"], 0).stdout, CANARY);
    let missing = work.run_with_env(&["output"], &[]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(
        missing.stderr.contains("TF0127") && missing.stderr.contains("TRUSTFORM_STATE_PASSPHRASE"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_saved_plan_never_carries_the_state_passphrase_even_unencrypted() {
    let plan_block = "plan {\n      method   = method.aes_gcm.main\n      enforced = true\n    }";
    let spec = spec(FROM_VARIABLE, "");
    assert!(spec.contains(plan_block));
    let work = Workdir::new().with_file("main.tf", &spec.replace(plan_block, ""));
    // The state's `enforced` refuses a plan file that would hold its secrets in plaintext.
    let refused = expect(&work, &["plan", "--out", "tf.plan"], PASSPHRASE, 1);
    assert!(refused.stderr.contains("TF1037") && refused.stderr.contains("enforced"), "{}", refused.stderr);
    assert!(!work.file("tf.plan").exists());
    // Without it, the plan is written in plaintext, with a warning.
    let state_enforced = "method   = method.aes_gcm.main\n      enforced = true";
    assert!(spec.contains(state_enforced));
    let relaxed = spec.replace(plan_block, "").replacen(state_enforced, "method   = method.aes_gcm.main", 1);
    work.write("main.tf", &relaxed);
    let warned = expect(&work, &["plan", "--out", "tf.plan"], PASSPHRASE, 0);
    assert!(
        warned.stderr.contains("TF1037") && warned.stderr.contains("Saved plan would not be encrypted"),
        "{}",
        warned.stderr
    );
    let plan = bytes(&work, "tf.plan");
    assert!(!Encryption::is_encrypted(&plan), "no plan block: the plan file is plaintext");
    assert!(holds(&plan, CANARY), "plaintext plans keep their variables");
    assert!(!holds(&plan, PASSPHRASE), "but never the state's passphrase");
    let applied = expect(&work, &["apply", "tf.plan"], PASSPHRASE, 0);
    assert!(applied.stdout.contains("1 added"), "{}", applied.stdout);
    assert_encrypted(&work, STATE);
}

#[test]
fn rotating_the_key_reads_with_the_fallback_and_rewrites_with_the_new_method() {
    let rotation = |providers: &str, fallback: &str| {
        format!(
            r#"
variable "token" {{
  sensitive = true
}}
variable "state_passphrase" {{
  sensitive = true
  default   = null
}}
trustform {{
  encryption {{
    {providers}
    state {{
      {fallback}
    }}
  }}
  outputs {{ env_file = "" }}
}}
resource "trustform_data" "a" {{ input = var.token }}
"#
        )
    };
    let old = "key_provider \"pbkdf2\" \"old\" {\n      passphrase = var.state_passphrase\n      iterations = 200000\n    }\n    method \"aes_gcm\" \"old\" { keys = key_provider.pbkdf2.old }";
    let new = "key_provider \"pbkdf2\" \"new\" { iterations = 200000 }\n    method \"aes_gcm\" \"new\" { keys = key_provider.pbkdf2.new }";
    let work = Workdir::new().with_file("main.tf", &rotation(old, "method = method.aes_gcm.old"));
    expect(&work, &["apply", "--auto-approve"], PASSPHRASE, 0);
    let meta_keys = |work: &Workdir| {
        let envelope: serde_json::Value = serde_json::from_slice(&bytes(work, STATE)).unwrap();
        envelope["meta"].as_object().unwrap().keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(meta_keys(&work), ["key_provider.pbkdf2.old"]);

    let new_passphrase = "the replacement passphrase, longer";
    let env = [
        ("TRUSTFORM_VAR_token", CANARY),
        ("TRUSTFORM_VAR_state_passphrase", PASSPHRASE),
        ("TRUSTFORM_STATE_PASSPHRASE", new_passphrase),
    ];
    work.write(
        "main.tf",
        &rotation(
            &format!("{old}\n    {new}"),
            "method = method.aes_gcm.new\n    fallback { method = method.aes_gcm.old }",
        ),
    );
    let refreshed = work.run_with_env(&["refresh"], &env);
    assert_eq!(refreshed.code, 0, "{}", refreshed.all());
    assert_eq!(meta_keys(&work), ["key_provider.pbkdf2.new"], "the write used the new method");

    // The old key, and its passphrase, are no longer needed.
    work.write("main.tf", &rotation(new, "method = method.aes_gcm.new"));
    let plan = work.run_with_env(
        &["plan", "--detailed-exitcode"],
        &[("TRUSTFORM_VAR_token", CANARY), ("TRUSTFORM_STATE_PASSPHRASE", new_passphrase)],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(!holds(&bytes(&work, STATE), CANARY) && !holds(&bytes(&work, STATE), new_passphrase));
}
