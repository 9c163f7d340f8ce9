//! Modules through the binary: local module calls with inputs and outputs, `count` and
//! `for_each` on calls, nesting, module instance addresses in plans, state and `-target`, and
//! states written before modules existed. Diagnostics of bad calls are in `diagnostics.rs`.

mod support;

use support::Workdir;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn for_each_count_and_nested_modules_apply_converge_target_and_destroy() {
    // fixtures/modules/teams: module.team (for_each over var.teams) and module.one (count = 2),
    // each calling module.leaf; module.one reads module.team["alpha"]'s output.
    let work = Workdir::fixture("modules/teams");
    let applied = work.expect(&["apply", "--auto-approve"], 0);
    assert!(
        applied.stdout.contains("Apply complete! Resources: 10 added, 0 changed, 0 destroyed."),
        "{}",
        applied.all()
    );
    // Inputs, locals, defaults and outputs flow through two levels of modules.
    assert!(applied.stdout.contains("alpha = \"alpha-a1-x/base\""), "{}", applied.stdout);
    assert!(applied.stdout.contains("ones = \"N0-X/ALPHA-A1-X/BASE,N1-X/ALPHA-A1-X/BASE\""), "{}", applied.stdout);
    assert!(
        applied.stderr.contains("module.team[\"beta\"].module.leaf.trustform_data.deep: Creation complete"),
        "{}",
        applied.stderr
    );

    let replanned = work.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());

    let listed = work.expect(&["state", "list"], 0);
    assert_eq!(
        lines(&listed.stdout),
        [
            "trustform_data.after",
            "trustform_data.base",
            "module.one[0].trustform_data.member",
            "module.one[0].module.leaf.trustform_data.deep",
            "module.one[1].trustform_data.member",
            "module.one[1].module.leaf.trustform_data.deep",
            "module.team[\"alpha\"].trustform_data.member",
            "module.team[\"alpha\"].module.leaf.trustform_data.deep",
            "module.team[\"beta\"].trustform_data.member",
            "module.team[\"beta\"].module.leaf.trustform_data.deep",
        ]
    );
    let shown = work.expect(&["state", "show", "module.one[1].module.leaf.trustform_data.deep"], 0);
    assert!(shown.stdout.contains("input            = \"N1-X/ALPHA-A1-X/BASE\""), "{}", shown.stdout);

    // A changed input changes exactly the instances fed by it; -target of a module instance
    // selects everything in it and nothing else.
    let changed = ["plan", "--var", "teams={ alpha = \"a1\", beta = \"b3\" }"];
    let all = work.expect(&changed, 0);
    assert!(
        all.stdout.contains("# module.team[\"beta\"].trustform_data.member will be updated in-place"),
        "{}",
        all.stdout
    );
    assert!(all.stdout.contains("# trustform_data.after will be updated in-place"), "{}", all.stdout);
    let targeted = work.expect(&[&changed[..], &["-target", "module.team[\"beta\"]"]].concat(), 0);
    let headers: Vec<&str> =
        targeted.stdout.lines().filter(|l| l.trim_start().starts_with("# ")).map(str::trim).collect();
    assert_eq!(
        headers,
        [
            "# module.team[\"beta\"].trustform_data.member will be updated in-place",
            "# module.team[\"beta\"].module.leaf.trustform_data.deep will be updated in-place",
        ],
        "{}",
        targeted.stdout
    );
    // A target without a key covers every instance of the call.
    let every = work.expect(&["plan", "--destroy", "-target", "module.one"], 0);
    assert!(every.stdout.contains("Plan: 0 to add, 0 to change, 4 to destroy."), "{}", every.stdout);

    // The JSON plan names each resource's module instance, as Terraform's does.
    let json = work.expect(&[&changed[..], &["--json"]].concat(), 0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("a JSON plan");
    let member = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "module.team[\"beta\"].trustform_data.member")
        .expect("the member of beta");
    assert_eq!(member["module_address"], "module.team[\"beta\"]");
    assert_eq!(member["name"], "member");

    // A removed for_each key destroys that module instance, whole.
    let removed = work.expect(&["apply", "--auto-approve", "--var", "teams={ alpha = \"a1\" }"], 0);
    assert!(removed.stdout.contains("Resources: 0 added, 1 changed, 2 destroyed."), "{}", removed.all());
    assert!(!work.expect(&["state", "list"], 0).stdout.contains("module.team[\"beta\"]"));

    // `state rm` of a module forgets everything in it.
    let forgotten = work.expect(&["state", "rm", "module.one"], 0);
    assert_eq!(forgotten.stdout.matches("Removed module.one[").count(), 4, "{}", forgotten.stdout);

    let destroyed = work.expect(&["destroy", "--auto-approve", "--var", "teams={ alpha = \"a1\" }"], 0);
    assert!(destroyed.stdout.contains("Destroy complete! Resources: 4 destroyed."), "{}", destroyed.all());
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn a_state_written_before_modules_loads_and_moving_into_a_module_is_no_silent_rename() {
    // A root-only state file as Trustform wrote it before module addresses existed.
    let work = Workdir::fixture("modules/legacy");
    work.write("state/default.tfstate", include_str!("fixtures/modules/legacy/root-only.tfstate.json"));
    let listed = work.expect(&["state", "list"], 0);
    assert_eq!(
        lines(&listed.stdout),
        ["trustform_data.gateway", "trustform_data.workers[0]", "trustform_data.workers[1]"]
    );
    let unchanged = work.expect(&["plan", "--detailed-exitcode", "--refresh=false"], 0);
    assert!(unchanged.stdout.contains("No changes."), "{}", unchanged.all());

    // The same resources moved into a module, without a moved block: new addresses, so the
    // old objects go and new ones come, as in Terraform.
    work.write("main.tf", "module \"gw\" {\n  source = \"./gw\"\n}\n");
    work.write(
        "gw/main.tf",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/modules/legacy/main.tf"))
            .unwrap(),
    );
    let moved = work.expect(&["plan", "--detailed-exitcode", "--refresh=false"], 2);
    for address in ["trustform_data.gateway", "trustform_data.workers[0]", "trustform_data.workers[1]"] {
        assert!(moved.stdout.contains(&format!("# {address} will be destroyed")), "{}", moved.stdout);
        assert!(moved.stdout.contains(&format!("# module.gw.{address} will be created")), "{}", moved.stdout);
    }
}

#[test]
fn depends_on_a_module_and_a_module_depending_on_a_resource_order_the_apply_and_state() {
    let work = Workdir::new()
        .with_file(
            "main.tf",
            r#"resource "trustform_data" "first" {
  input = "first"
}
module "late" {
  source     = "./late"
  depends_on = [trustform_data.first]
}
resource "trustform_data" "last" {
  input      = "last"
  depends_on = [module.late]
}
"#,
        )
        .with_file("late/main.tf", "resource \"trustform_data\" \"inner\" {\n  input = \"inner\"\n}\n");
    // A saved plan of module addresses applies as it was shown.
    work.expect(&["plan", "-out", "modules.plan"], 0);
    let applied = work.expect(&["apply", "modules.plan"], 0);
    assert!(applied.stdout.contains("Resources: 3 added"), "{}", applied.all());
    let state: serde_json::Value =
        serde_json::from_str(&work.expect(&["state", "pull"], 0).stdout).expect("state JSON");
    let dependencies = |address: &str| {
        state["resources"].as_array().unwrap().iter().find(|r| r["address"] == address).unwrap()["dependencies"].clone()
    };
    assert_eq!(dependencies("module.late.trustform_data.inner"), serde_json::json!(["trustform_data.first"]));
    // Through the module, what the module waits for too.
    assert_eq!(
        dependencies("trustform_data.last"),
        serde_json::json!(["trustform_data.first", "module.late.trustform_data.inner"])
    );
    // Destroy goes the other way round: what depends on the module goes first.
    let destroyed = work.expect(&["destroy", "--auto-approve"], 0);
    let order: Vec<&str> = destroyed
        .stderr
        .lines()
        .filter_map(|line| line.split_once(": Destruction complete").map(|(address, _)| address))
        .collect();
    assert_eq!(
        order,
        ["trustform_data.last", "module.late.trustform_data.inner", "trustform_data.first"],
        "{}",
        destroyed.stderr
    );
}

#[test]
fn conditions_in_a_module_are_checked_per_instance_in_the_modules_own_scope() {
    // fixtures/modules/guarded: module.gate (for_each over var.stages) guards its resource with
    // a precondition on its own input and a postcondition on the created object.
    let work = Workdir::fixture("modules/guarded");
    let applied = work.expect(&["apply", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 2 added"), "{}", applied.all());
    assert!(applied.stdout.contains("tags = \"east=gate-kestrel,west=gate-wren\""), "{}", applied.stdout);

    // One instance's input breaks its precondition: the plan fails naming that instance and
    // the condition's line in the module's file, and the other instance is not blamed.
    let refused = work.expect(&["plan", "--var", "stages={ east = \"kestrel\", west = \"owl\" }"], 1);
    let (_, diagnostic) = refused.stderr.split_once("TF0720").expect("a failed precondition");
    assert!(diagnostic.contains("Gate names have at least four letters."), "{}", refused.all());
    assert!(diagnostic.contains("precondition of module.gate[\"west\"].trustform_data.tag"), "{}", refused.all());
    assert!(!diagnostic.contains("module.gate[\"east\"]"), "{}", refused.all());
    assert!(diagnostic.contains("gate/main.tf:14:23"), "{}", refused.all());

    // An input its module's validation refuses names the instance it was given to.
    let invalid = work.expect(&["plan", "--var", "stages={ east = \"Kestrel\", west = \"wren\" }"], 1);
    let (_, diagnostic) = invalid.stderr.split_once("TF0307").expect("a refused input");
    assert!(diagnostic.contains("Gate names are lowercase."), "{}", invalid.all());
    assert!(diagnostic.contains("module.gate[\"east\"]"), "{}", invalid.all());

    let replanned = work.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
}

#[test]
fn an_import_block_in_the_root_brings_an_object_into_a_module_instance() {
    let work = Workdir::new();
    work.write(
        "main.tf",
        r#"
module "svc" {
  source   = "./svc"
  for_each = toset(["kite", "osprey"])
  name     = each.key
}
"#,
    );
    work.write(
        "svc/main.tf",
        r#"
variable "name" {}
resource "aws_iam_role" "this" {
  name = "falcon-${var.name}"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "pods.eks.amazonaws.com" } }]
  })
}
"#,
    );
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    work.expect(&["state", "rm", "--sandbox", "module.svc[\"kite\"].aws_iam_role.this"], 0);
    let mut main = work.read("main.tf");
    main.push_str("\nimport {\n  to = module.svc[\"kite\"].aws_iam_role.this\n  id = \"falcon-kite\"\n}\n");
    work.write("main.tf", &main);
    let planned = work.expect(&["plan", "--sandbox"], 0);
    assert!(planned.stdout.contains("# module.svc[\"kite\"].aws_iam_role.this will be imported"), "{}", planned.all());
    assert!(planned.stdout.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."), "{}", planned.all());
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 1 imported, 0 added"), "{}", applied.all());
    let listed = work.expect(&["state", "list", "--sandbox"], 0);
    assert_eq!(
        lines(&listed.stdout),
        ["module.svc[\"kite\"].aws_iam_role.this", "module.svc[\"osprey\"].aws_iam_role.this"]
    );
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
}

/// A saved plan is bound to every file of the module tree: a module edited after `plan -out`
/// is a changed spec, as a root file is.
#[test]
fn a_saved_plan_is_refused_after_a_called_module_changed() {
    let work = Workdir::fixture("modules/guarded");
    work.expect(&["plan", "-out", "tfplan"], 0);
    let module = work.read("gate/main.tf");
    work.write("gate/main.tf", &module.replace("input = \"gate-${var.name}\"", "input = \"door-${var.name}\""));
    let refused = work.expect(&["apply", "tfplan"], 1);
    assert!(refused.stderr.contains("TF1034"), "{}", refused.all());
    assert!(work.expect(&["state", "list"], 0).stdout.is_empty(), "nothing was applied");
}
