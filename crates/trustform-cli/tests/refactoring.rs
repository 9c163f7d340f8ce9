//! `moved`, `removed` and `check` blocks and custom conditions, through the binary under
//! `--sandbox`, with names no shipped plan uses. Terraform's behaviour, which each test holds the
//! binary to, is cited in `trustform-lang/src/config/blocks.rs` and the engine's `refactor.rs`
//! and `conditions.rs`.

mod support;

use support::clouds::Clouds;
use support::Workdir;

const PROVIDER: &str = "provider \"aws\" {\n  region = \"us-east-1\"\n}\n";

/// An IAM role for EC2 named `name`, as the block `resource "aws_iam_role" "<label>"` with
/// `extra` inside.
fn role(label: &str, name: &str, extra: &str) -> String {
    format!(
        r#"
resource "aws_iam_role" "{label}" {{
  name = "{name}"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "ec2.amazonaws.com" }} }}]
  }})
{extra}}}
"#
    )
}

fn spec(work: &Workdir, blocks: &[&str]) {
    work.write("main.tf", &format!("{PROVIDER}{}", blocks.concat()));
}

fn apply(work: &Workdir, code: i32) -> support::Run {
    work.expect(&["apply", "--sandbox", "--auto-approve"], code)
}

fn state_list(work: &Workdir) -> Vec<String> {
    work.expect(&["state", "list", "--sandbox"], 0).stdout.lines().map(str::to_owned).collect()
}

fn roles_in_sandbox(work: &Workdir) -> Vec<String> {
    Clouds::of_sandbox(work).inventory().roles
}

/// What `plan` prints on standard output (progress and the sandbox line are on standard error).
fn plan_text(work: &Workdir, code: i32) -> String {
    work.expect(&["plan", "--sandbox", "--detailed-exitcode"], code).stdout
}

#[test]
fn a_renamed_role_moves_in_state_without_being_replaced_and_then_plans_nothing() {
    let work = Workdir::new();
    spec(&work, &[&role("ledger", "ledger-reader", "")]);
    apply(&work, 0);

    spec(
        &work,
        &[
            &role("books", "ledger-reader", ""),
            "\nmoved {\n  from = aws_iam_role.ledger\n  to   = aws_iam_role.books\n}\n",
        ],
    );
    // Moves count as changes for -detailed-exitcode: applying records them.
    let plan = plan_text(&work, 2);
    insta::assert_snapshot!("moved_rename", plan);
    let json = work.expect(&["plan", "--sandbox", "--json"], 0).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let change = &json["resource_changes"][0];
    assert_eq!(change["address"], "aws_iam_role.books");
    assert_eq!(change["previous_address"], "aws_iam_role.ledger");
    assert_eq!(change["change"]["actions"], serde_json::json!(["no-op"]));

    let applied = apply(&work, 0);
    assert!(applied.stdout.contains("Resources: 0 added, 0 changed, 0 destroyed."), "{}", applied.all());
    assert_eq!(state_list(&work), ["aws_iam_role.books"]);
    assert_eq!(roles_in_sandbox(&work), ["ledger-reader"]);
    // The moved block stays in the spec and does nothing more.
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn a_single_role_moves_into_for_each_and_a_changed_argument_shows_where_it_came_from() {
    let work = Workdir::new();
    spec(&work, &[&role("ops", "ops-auditor", "")]);
    apply(&work, 0);

    let keyed = role("ops", "ops-auditor", "  for_each = toset([\"audit\"])\n  description = \"Reads audit logs\"\n");
    spec(&work, &[&keyed, "\nmoved {\n  from = aws_iam_role.ops\n  to   = aws_iam_role.ops[\"audit\"]\n}\n"]);
    let plan = plan_text(&work, 2);
    insta::assert_snapshot!("moved_into_for_each", plan);

    apply(&work, 0);
    assert_eq!(state_list(&work), ["aws_iam_role.ops[\"audit\"]"]);
    assert_eq!(roles_in_sandbox(&work), ["ops-auditor"]);
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn a_saved_plan_carries_its_moves_and_is_refused_once_the_state_moved_on() {
    let work = Workdir::new();
    spec(&work, &[&role("queue", "queue-worker", "")]);
    apply(&work, 0);
    spec(
        &work,
        &[&role("jobs", "queue-worker", ""), "\nmoved {\n  from = aws_iam_role.queue\n  to   = aws_iam_role.jobs\n}\n"],
    );
    work.expect(&["plan", "--sandbox", "--out", "moves.plan"], 0);
    work.expect(&["plan", "--sandbox", "--out", "stale.plan"], 0);

    work.expect(&["apply", "--sandbox", "moves.plan"], 0);
    assert_eq!(state_list(&work), ["aws_iam_role.jobs"]);
    // The second file was made before the move was recorded: its move can no longer be made.
    let stale = work.expect(&["apply", "--sandbox", "stale.plan"], 1);
    assert!(stale.stderr.contains("Saved plan"), "{}", stale.all());
    assert_eq!(state_list(&work), ["aws_iam_role.jobs"]);
}

#[test]
fn removed_with_destroy_false_forgets_the_role_and_leaves_it_in_the_cloud() {
    let work = Workdir::new();
    spec(&work, &[&role("archive", "archive-keeper", "")]);
    apply(&work, 0);

    spec(&work, &["\nremoved {\n  from = aws_iam_role.archive\n  lifecycle {\n    destroy = false\n  }\n}\n"]);
    let plan = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 2);
    insta::assert_snapshot!("removed_forget", plan.stdout);
    assert!(plan.stderr.contains("Some objects will no longer be managed by Trustform"), "{}", plan.all());
    let json = work.expect(&["plan", "--sandbox", "--json"], 0).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["resource_changes"][0]["change"]["actions"], serde_json::json!(["forget"]));
    assert_eq!(json["summary"]["forget"], 1);

    apply(&work, 0);
    assert!(state_list(&work).is_empty());
    assert_eq!(roles_in_sandbox(&work), ["archive-keeper"], "the role stays in the cloud");
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn removed_with_destroy_true_destroys_and_a_removed_block_beside_its_resource_is_an_error() {
    let work = Workdir::new();
    spec(&work, &[&role("scratch", "scratch-runner", "")]);
    apply(&work, 0);

    let removed = "\nremoved {\n  from = aws_iam_role.scratch\n  lifecycle {\n    destroy = true\n  }\n}\n";
    spec(&work, &[&role("scratch", "scratch-runner", ""), removed]);
    let refused = work.expect(&["plan", "--sandbox"], 1);
    assert!(refused.stderr.contains("TF0716"), "{}", refused.all());
    assert!(refused.stderr.contains("Removed resource block still exists (main.tf:13:1)"), "{}", refused.stderr);

    spec(&work, &[removed]);
    let plan = plan_text(&work, 2);
    assert!(plan.contains("# aws_iam_role.scratch will be destroyed"), "{plan}");
    apply(&work, 0);
    assert!(state_list(&work).is_empty());
    assert!(roles_in_sandbox(&work).is_empty());
}

#[test]
fn a_failed_check_assertion_warns_at_plan_and_apply_with_its_place_and_blocks_nothing() {
    let work = Workdir::new();
    let check = r#"
check "caller_kind" {
  assert {
    condition     = startswith(aws_iam_role.cron.unique_id, "AIDA")
    error_message = "Cron jobs run as users."
  }
}
"#;
    spec(&work, &[&role("cron", "cron-runner", ""), check]);
    // Unknown until the role exists: nothing to say at the first plan.
    let first = work.expect(&["plan", "--sandbox"], 0);
    assert!(!first.stderr.contains("TF0725"), "{}", first.all());
    let applied = apply(&work, 0);
    assert!(applied.stderr.contains("Check block assertion failed (main.tf:15:21)"), "{}", applied.stderr);
    assert!(applied.stderr.contains("Cron jobs run as users."), "{}", applied.stderr);
    let again = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(again.stderr.contains("⚠ Check block assertion failed (main.tf:15:21)"), "{}", again.stderr);
}

#[test]
fn a_failed_precondition_blocks_the_plan_and_touches_nothing() {
    let work = Workdir::new();
    let guarded = role(
        "gate",
        "gate-keeper",
        r#"  lifecycle {
    precondition {
      condition     = length(var.stage) <= 4
      error_message = "Stages have at most four letters."
    }
  }
"#,
    );
    spec(&work, &["variable \"stage\" {\n  default = \"production\"\n}\n", &guarded]);
    let plan = work.expect(&["plan", "--sandbox"], 1);
    let diagnostic = plan.stderr.split_once("TF0720").map(|(_, rest)| rest).unwrap_or_default();
    insta::assert_snapshot!("precondition_failed", diagnostic.trim());
    work.expect(&["apply", "--sandbox", "--auto-approve", "--var", "stage=prod"], 0);
    assert_eq!(state_list(&work), ["aws_iam_role.gate"]);
}

#[test]
fn a_failed_postcondition_keeps_the_created_role_in_state_and_the_next_plan_fails_the_same_way() {
    let work = Workdir::new();
    // IAM gives role ids starting with AROA: a condition only the created object can answer.
    let checked = role(
        "relay",
        "relay-sender",
        r#"  lifecycle {
    postcondition {
      condition     = startswith(self.unique_id, "AIDA")
      error_message = "The relay must be a user."
    }
  }
"#,
    );
    spec(&work, &[&checked]);
    let first = work.expect(&["plan", "--sandbox"], 0);
    assert!(first.stdout.contains("Plan: 1 to add"), "{}", first.all());
    let applied = apply(&work, 1);
    assert!(applied.stderr.contains("Resource postcondition failed (main.tf:13:23)"), "{}", applied.stderr);
    assert!(applied.stderr.contains("The relay must be a user."), "{}", applied.stderr);
    // The object exists and is recorded, so nothing is lost and nothing is made twice.
    assert_eq!(state_list(&work), ["aws_iam_role.relay"]);
    assert_eq!(roles_in_sandbox(&work), ["relay-sender"]);
    let again = work.expect(&["plan", "--sandbox"], 1);
    assert!(again.stderr.contains("Resource postcondition failed (main.tf:13:23)"), "{}", again.stderr);
    assert!(!again.stdout.contains("to add"), "{}", again.all());
}

/// A role that exists in the emulated account but in no state: applied, then forgotten.
fn unmanaged_role(work: &Workdir, name: &str) {
    spec(work, &[&role("seed", name, "")]);
    apply(work, 0);
    work.expect(&["state", "rm", "--sandbox", "aws_iam_role.seed"], 0);
}

fn import_block(to: &str, id: &str) -> String {
    format!("\nimport {{\n  to = {to}\n  id = \"{id}\"\n}}\n")
}

#[test]
fn an_import_block_brings_an_existing_role_under_management_and_the_next_plan_is_empty() {
    let work = Workdir::new();
    unmanaged_role(&work, "billing-exporter");
    spec(&work, &[&import_block("aws_iam_role.billing", "billing-exporter"), &role("billing", "billing-exporter", "")]);
    let plan = plan_text(&work, 2);
    insta::assert_snapshot!("import_no_change", plan);
    let json = work.expect(&["plan", "--sandbox", "--json"], 0).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["resource_changes"][0]["change"]["importing"], serde_json::json!({ "id": "billing-exporter" }));
    assert_eq!(json["summary"]["import"], 1);

    let applied = apply(&work, 0);
    assert!(applied.stdout.contains("Resources: 1 imported, 0 added, 0 changed, 0 destroyed."), "{}", applied.all());
    assert!(
        applied.stderr.contains("aws_iam_role.billing: Import complete [id=billing-exporter]"),
        "{}",
        applied.all()
    );
    assert_eq!(state_list(&work), ["aws_iam_role.billing"]);
    assert_eq!(roles_in_sandbox(&work), ["billing-exporter"]);
    // The block stays and does nothing more: the role is managed now.
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn an_import_whose_configuration_differs_is_planned_as_import_and_update_and_a_saved_plan_applies_it() {
    let work = Workdir::new();
    unmanaged_role(&work, "search-indexer");
    let described = role("indexer", "search-indexer", "  description = \"Indexes the catalogue\"\n");
    spec(&work, &[&import_block("aws_iam_role.indexer", "search-indexer"), &described]);
    let plan = work.expect(&["plan", "--sandbox", "--out", "import.plan"], 0).stdout;
    insta::assert_snapshot!("import_and_update", plan);
    let applied = work.expect(&["apply", "--sandbox", "import.plan"], 0);
    assert!(applied.stdout.contains("Resources: 1 imported, 0 added, 1 changed, 0 destroyed."), "{}", applied.all());
    assert_eq!(state_list(&work), ["aws_iam_role.indexer"]);
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn importing_an_id_that_does_not_exist_fails_at_plan_with_the_blocks_place() {
    let work = Workdir::new();
    spec(&work, &[&import_block("aws_iam_role.phantom", "nobody-made-this"), &role("phantom", "nobody-made-this", "")]);
    let plan = work.expect(&["plan", "--sandbox"], 1);
    assert!(plan.stderr.contains("Cannot import non-existent remote object (main.tf:7:8)"), "{}", plan.stderr);
    assert!(plan.stderr.contains("\"nobody-made-this\""), "{}", plan.stderr);
    assert!(state_list(&work).is_empty());
}

#[test]
fn an_import_block_with_for_each_imports_one_role_per_element() {
    let work = Workdir::new();
    let names = "variable \"fleet\" {\n  default = { alpha = \"fleet-alpha\", beta = \"fleet-beta\" }\n}\n";
    spec(&work, &[names, &role("seed", "${each.value}", "  for_each = var.fleet\n")]);
    apply(&work, 0);
    for key in ["alpha", "beta"] {
        work.expect(&["state", "rm", "--sandbox", &format!("aws_iam_role.seed[\"{key}\"]")], 0);
    }
    let import =
        "\nimport {\n  for_each = var.fleet\n  to       = aws_iam_role.fleet[each.key]\n  id       = each.value\n}\n";
    spec(&work, &[names, import, &role("fleet", "${each.value}", "  for_each = var.fleet\n")]);
    let plan = plan_text(&work, 2);
    assert!(plan.contains("# aws_iam_role.fleet[\"alpha\"] will be imported"), "{plan}");
    assert!(plan.contains("# aws_iam_role.fleet[\"beta\"] will be imported"), "{plan}");
    assert!(plan.contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."), "{plan}");
    apply(&work, 0);
    assert_eq!(state_list(&work), ["aws_iam_role.fleet[\"alpha\"]", "aws_iam_role.fleet[\"beta\"]"]);
    assert!(plan_text(&work, 0).contains("No changes."));
}

#[test]
fn a_checks_own_data_source_that_cannot_be_read_is_a_warning_not_an_error() {
    let work = Workdir::new();
    let check = r#"
check "reader_role_defined" {
  data "azurerm_role_definition" "reader" {
    name  = "A Role Nobody Defined"
    scope = "/subscriptions/00000000-0000-0000-0000-000000000000"
  }
  assert {
    condition     = data.azurerm_role_definition.reader.name != ""
    error_message = "The role is defined."
  }
}
"#;
    spec(&work, &["provider \"azurerm\" {\n  features {}\n}\n", &role("probe", "probe-runner", ""), check]);
    let plan = work.expect(&["plan", "--sandbox"], 0);
    assert!(plan.stderr.contains("belongs to check \"reader_role_defined\""), "{}", plan.all());
    assert!(plan.stdout.contains("Plan: 1 to add"), "{}", plan.all());
    apply(&work, 0);
    assert_eq!(state_list(&work), ["aws_iam_role.probe"]);
}

#[test]
fn saved_plans_carry_forgets_and_imports_and_an_import_the_state_made_meanwhile_is_refused() {
    let work = Workdir::new();
    unmanaged_role(&work, "intake-bot");
    spec(&work, &[&role("retired", "retired-bot", "")]);
    apply(&work, 0);

    let forget = "\nremoved {\n  from = aws_iam_role.retired\n  lifecycle {\n    destroy = false\n  }\n}\n";
    spec(&work, &[forget, &import_block("aws_iam_role.intake", "intake-bot"), &role("intake", "intake-bot", "")]);
    work.expect(&["plan", "--sandbox", "--out", "both.plan"], 0);
    work.expect(&["plan", "--sandbox", "--out", "raced.plan"], 0);
    let applied = work.expect(&["apply", "--sandbox", "both.plan"], 0);
    assert!(applied.stdout.contains("Resources: 1 imported, 0 added, 0 changed, 0 destroyed."), "{}", applied.all());
    assert_eq!(state_list(&work), ["aws_iam_role.intake"]);
    assert_eq!(roles_in_sandbox(&work), ["intake-bot", "retired-bot"], "the forgotten role stays");

    // The second file imports what the state now records: applying it would lose that record.
    let raced = work.expect(&["apply", "--sandbox", "raced.plan"], 1);
    assert!(raced.stderr.contains("Saved plan"), "{}", raced.all());
    assert_eq!(state_list(&work), ["aws_iam_role.intake"]);
}

#[test]
fn destroy_after_a_move_destroys_the_object_where_the_move_put_it() {
    let work = Workdir::new();
    spec(&work, &[&role("before", "short-lived", "")]);
    apply(&work, 0);
    spec(
        &work,
        &[
            &role("after", "short-lived", ""),
            "\nmoved {\n  from = aws_iam_role.before\n  to   = aws_iam_role.after\n}\n",
        ],
    );
    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("aws_iam_role.after will be destroyed"), "{}", destroyed.all());
    assert!(destroyed.stdout.contains("Resources: 1 destroyed."), "{}", destroyed.all());
    assert!(state_list(&work).is_empty());
    assert!(roles_in_sandbox(&work).is_empty());
}

#[test]
fn generate_config_out_writes_the_missing_resource_block_which_then_plans_as_a_clean_import() {
    let work = Workdir::new();
    let tagged = role(
        "seed",
        "report-reader",
        "  description = \"Reads ${\"$\"}{reports}\"\n  tags = { owner = \"finance\" }\n",
    );
    spec(&work, &[&tagged]);
    apply(&work, 0);
    work.expect(&["state", "rm", "--sandbox", "aws_iam_role.seed"], 0);

    spec(&work, &[&import_block("aws_iam_role.reports", "report-reader")]);
    let refused = work.expect(&["plan", "--sandbox"], 1);
    assert!(
        refused.stderr.contains("Configuration for import target does not exist (main.tf:5:1)"),
        "{}",
        refused.stderr
    );

    let generated = work.expect(&["plan", "--sandbox", "-generate-config-out=generated.tf"], 0);
    assert!(
        generated.stdout.contains("Wrote the configuration of the import blocks' targets to generated.tf"),
        "{}",
        generated.all()
    );
    insta::assert_snapshot!("generated_config", work.read("generated.tf"));
    // Loaded like any file of the spec, it describes the object exactly.
    let plan = plan_text(&work, 2);
    assert!(plan.contains("# aws_iam_role.reports will be imported"), "{plan}");
    assert!(plan.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."), "{plan}");
    // As Terraform, it never writes into an existing file.
    let again = work.expect(&["plan", "--sandbox", "--generate-config-out", "generated.tf"], 1);
    assert!(again.stderr.contains("Target generated file already exists"), "{}", again.stderr);
}
