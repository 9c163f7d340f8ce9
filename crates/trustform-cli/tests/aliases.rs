//! Provider aliases through the binary: two aliased `provider "aws"` blocks for two accounts,
//! a module given one of them with `providers = { ... }`, each applied against its own emulated
//! account under `--sandbox`, the configuration recorded in state and used to delete a resource
//! whose block is gone.

mod support;

use support::clouds::Clouds;
use support::Workdir;

const MAIN: &str = "111111111111";
const BEDROCK: &str = "222222222222";

/// Whether the emulated account holds the role.
fn role_exists(clouds: &Clouds, account: &str, name: &str) -> bool {
    let iam = clouds.iam_of(account);
    match clouds.runtime.block_on(iam.get_role().role_name(name).send()) {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()) => false,
        Err(e) => panic!("GetRole {name} in {account}: {e:?}"),
    }
}

#[test]
fn two_aliased_aws_providers_apply_to_two_accounts_and_the_recorded_alias_destroys() {
    // fixtures/aliases/two-accounts: the default aws provider for 111111111111, aws.bedrock
    // for 222222222222 (allowed_account_ids), a data source on each, and module.invoker given
    // aws.bedrock for its role.
    let work = Workdir::fixture("aliases/two-accounts");
    // Each configuration derives ARNs in its own account at plan time.
    let planned = work.expect(&["plan", "--sandbox"], 0);
    assert!(
        planned.stdout.contains(&format!("invoker_arn     = \"arn:aws:iam::{BEDROCK}:role/zq-bedrock-invoker\"")),
        "{}",
        planned.stdout
    );
    assert!(planned.stdout.contains(&format!("\"arn:aws:iam::{MAIN}:role/zq-gateway\"")), "{}", planned.stdout);
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 2 added, 0 changed, 0 destroyed."), "{}", applied.all());
    assert!(applied.stdout.contains(&format!("main_account = \"{MAIN}\"")), "{}", applied.stdout);
    assert!(applied.stdout.contains(&format!("bedrock_account = \"{BEDROCK}\"")), "{}", applied.stdout);
    assert!(
        applied.stdout.contains(&format!("invoker_arn = \"arn:aws:iam::{BEDROCK}:role/zq-bedrock-invoker\"")),
        "{}",
        applied.stdout
    );
    {
        let clouds = Clouds::of_sandbox(&work);
        assert!(role_exists(&clouds, MAIN, "zq-gateway"));
        assert!(!role_exists(&clouds, BEDROCK, "zq-gateway"));
        assert!(role_exists(&clouds, BEDROCK, "zq-bedrock-invoker"));
        assert!(!role_exists(&clouds, MAIN, "zq-bedrock-invoker"));
    }

    // The configuration each object was made through is recorded.
    let state: serde_json::Value =
        serde_json::from_str(&work.expect(&["state", "pull", "--sandbox"], 0).stdout).expect("state JSON");
    let provider_of = |address: &str| {
        state["resources"].as_array().unwrap().iter().find(|r| r["address"] == address).map(|r| r["provider"].clone())
    };
    assert_eq!(provider_of("module.invoker.aws_iam_role.invoker"), Some("aws.bedrock".into()));
    assert_eq!(provider_of("data.aws_caller_identity.bedrock"), Some("aws.bedrock".into()));
    assert_eq!(provider_of("aws_iam_role.gateway"), Some("aws".into()));
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());

    // The module call goes: its role is read and deleted through aws.bedrock, the configuration
    // the state recorded, in the account it was made in.
    let main = work.read("main.tf");
    let start = main.find("module \"invoker\"").unwrap();
    let end = start + main[start..].find("\n}\n").unwrap() + 3;
    let without = format!("{}{}", &main[..start], &main[end..])
        .replace("output \"invoker_arn\" { value = module.invoker.arn }\n", "");
    work.write("main.tf", &without);
    let removed = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(removed.stdout.contains("# module.invoker.aws_iam_role.invoker will be destroyed"), "{}", removed.stdout);
    assert!(removed.stdout.contains("Resources: 0 added, 0 changed, 1 destroyed."), "{}", removed.all());
    {
        let clouds = Clouds::of_sandbox(&work);
        assert!(!role_exists(&clouds, BEDROCK, "zq-bedrock-invoker"));
        assert!(role_exists(&clouds, MAIN, "zq-gateway"));
    }

    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 1 destroyed."), "{}", destroyed.all());
}
