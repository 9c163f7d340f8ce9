//! End-to-end tests of the `trustform` binary on `plans/azure-openai-invoke-only` (seed 002's
//! `invoke-only` role for Azure OpenAI, assigned to a user-assigned managed identity that trusts
//! the EKS cluster's service account token) against the sandbox's ARM emulator, and of the
//! managed identity types on a spec of their own.
//! The binary finds the emulator the way a user points azurerm at one: through
//! `ARM_RESOURCE_MANAGER_ENDPOINT` and a bearer token in `ARM_ACCESS_TOKEN`.
//! What exists is checked by listing over raw HTTP, independent of the provider.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::clouds::{Clouds, ARM_TENANT, ISSUER};
use support::Workdir;
use trustform_sandbox::SandboxConfig;

const SUBSCRIPTION: &str = "24ebb700-ec2f-417f-afad-78fe15dcc91f";
const MSI_API: &str = "api-version=2023-01-31";

/// The id of a user-assigned identity in the sandbox's subscription.
fn identity_id(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
}

/// Raw ARM reads, independent of the provider.
trait ArmInventory {
    fn arm_get(&self, path_and_query: &str) -> serde_json::Value;
    fn arm_status(&self, path_and_query: &str) -> u16;
    fn arm_inventory(&self) -> (Vec<String>, Vec<String>);
}

impl ArmInventory for Clouds {
    /// One raw GET, repeated while the emulator throttles it.
    fn arm_get(&self, path_and_query: &str) -> serde_json::Value {
        let address = self.sandbox.endpoint().trim_start_matches("http://").to_owned();
        for _ in 0..100 {
            let mut stream = TcpStream::connect(&address).expect("connect to the sandbox");
            let request = format!(
                "GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer inventory\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).expect("send");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("receive");
            let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
            if head.starts_with("HTTP/1.1 429") {
                continue;
            }
            assert!(head.starts_with("HTTP/1.1 200"), "{response}");
            return serde_json::from_str(body).expect("a JSON body");
        }
        panic!("the sandbox throttled 100 requests in a row")
    }

    /// The status of one raw GET: 404 for what does not exist.
    fn arm_status(&self, path_and_query: &str) -> u16 {
        let (status, _) = self.http("GET", path_and_query, "");
        status
    }

    /// Custom role names and role assignment ids in the subscription.
    fn arm_inventory(&self) -> (Vec<String>, Vec<String>) {
        let base = format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization");
        let roles =
            self.arm_get(&format!("{base}/roleDefinitions?api-version=2022-04-01&$filter=type%20eq%20'CustomRole'"));
        let assignments = self.arm_get(&format!("{base}/roleAssignments?api-version=2022-04-01"));
        let names = |list: &serde_json::Value, pointer: &str| -> Vec<String> {
            let mut names: Vec<String> = list["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.pointer(pointer).and_then(serde_json::Value::as_str).map(str::to_owned))
                .collect();
            names.sort();
            names
        };
        (names(&roles, "/properties/roleName"), names(&assignments, "/id"))
    }
}

/// Applies the plan and checks what exists and what the outputs say; returns the
/// assignment's id.
fn apply_and_check(cloud: &Clouds, work: &Workdir) -> String {
    let apply = cloud.run(work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    let (roles, assignments) = cloud.arm_inventory();
    assert_eq!(roles, ["invoke-only"]);
    assert_eq!(assignments.len(), 1, "{assignments:?}");
    let env = work.read("deployment_outputs.env");
    assert!(env.contains(&format!("AZURE_TENANT_ID={ARM_TENANT}\n")), "{env}");
    assert!(env.contains(&format!("AZURE_ROLE_ASSIGNMENT_ID={}\n", assignments[0])), "{env}");
    assert!(!env.contains("SECRET"), "keyless: {env}");

    // The identity the plan made: the env file names it, the role is assigned to it, and it
    // trusts the cluster's service account token.
    let identity = identity_id("litellm-openai", "litellm-gateway");
    let live = cloud.arm_get(&format!("{identity}?{MSI_API}"));
    let client_id = live["properties"]["clientId"].as_str().expect("a client id");
    assert!(env.contains(&format!("AZURE_CLIENT_ID={client_id}\n")), "{env}");
    assert!(env.contains("AZURE_FEDERATED_TOKEN_FILE=/var/run/secrets/azure/tokens/azure-identity-token\n"), "{env}");
    assert!(
        env.contains(&format!(
            "JWT_PUBLIC_KEY_URL=https://login.microsoftonline.com/{ARM_TENANT}/discovery/v2.0/keys\n"
        )),
        "{env}"
    );
    let assignment = cloud.arm_get(&format!("{}?api-version=2022-04-01", assignments[0]));
    assert_eq!(assignment["properties"]["principalId"], live["properties"]["principalId"]);
    let credentials = cloud.arm_get(&format!("{identity}/federatedIdentityCredentials?{MSI_API}"));
    let eks = credentials["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|credential| credential["name"] == "litellm-eks")
        .expect("the EKS credential");
    assert_eq!(eks["properties"]["issuer"], ISSUER);
    assert_eq!(eks["properties"]["subject"], "system:serviceaccount:litellm:litellm");
    assert_eq!(eks["properties"]["audiences"], serde_json::json!(["api://AzureADTokenExchange"]));
    assert_eq!(credentials["value"].as_array().map(Vec::len), Some(2), "EKS and GitHub Actions");
    assignments[0].clone()
}

#[test]
fn the_invoke_only_plan_applies_converges_updates_in_place_and_destroys() {
    let cloud = Clouds::sandbox_only(SandboxConfig::default().azure_definition_delay(Duration::from_millis(500)));
    let work = Workdir::plan_with_sandbox_values("azure-openai-invoke-only");
    let assignment = apply_and_check(&cloud, &work);

    // Sets come back from ARM in its own order, and empty lists as empty: no change either way.
    let plan = cloud.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // azure_core logs every request at debug level, Authorization header included: the token
    // must not be in it, at any level, even with the SDKs' own logs switched on.
    let mut env = cloud.env();
    env.push(("TRUSTFORM_LOG", "trace".to_owned()));
    env.push(("TRUSTFORM_LOG_SDK_BODIES", "1".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let traced = work.run_with_env(&["plan"], &env);
    assert_eq!(traced.code, 0, "{}", traced.all());
    assert!(traced.stderr.contains("roleAssignments"), "no request was logged:\n{}", traced.stderr);
    assert!(!traced.all().contains("sandbox-token"), "the bearer token was logged:\n{}", traced.all());
    // What azure_core logs in its place is the SDK's placeholder credential.
    assert!(traced.stderr.contains("attached-by-the-transport"), "{}", traced.stderr);

    // One data action less: the role is updated in place, and the assignment stays.
    let spec = work.read("main.tf");
    let edited = spec.replace("      \"Microsoft.CognitiveServices/accounts/OpenAI/images/generations/action\",\n", "");
    assert_ne!(spec, edited);
    work.write("main.tf", &edited);
    let change = cloud.run(&work, &["plan", "--detailed-exitcode"], 2);
    assert!(
        change.stdout.contains("azurerm_role_definition.invoke_only will be updated in-place"),
        "{}",
        change.stdout
    );
    assert!(change.stdout.contains("images/generations/action"), "{}", change.stdout);
    assert!(change.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", change.stdout);
    let update = cloud.run(&work, &["apply", "--auto-approve"], 0);
    assert!(update.stdout.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{}", update.stdout);
    cloud.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert_eq!(cloud.arm_inventory().1, std::slice::from_ref(&assignment));

    // Every object imports back into a state the spec agrees with.
    let role_id = format!("{}|/subscriptions/{SUBSCRIPTION}", role_resource_id(&work));
    let identity = identity_id("litellm-openai", "litellm-gateway");
    let credential = format!("{identity}/federatedIdentityCredentials/litellm-eks");
    for (address, id) in [
        ("azurerm_role_assignment.gateway", assignment.as_str()),
        ("azurerm_role_definition.invoke_only", role_id.as_str()),
        ("azurerm_user_assigned_identity.gateway[0]", identity.as_str()),
        ("azurerm_federated_identity_credential.gateway_eks[0]", credential.as_str()),
    ] {
        cloud.run(&work, &["state", "rm", address], 0);
        cloud.run(&work, &["import", address, id], 0);
    }
    let plan = cloud.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    let destroy = cloud.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 5 destroyed."), "{}", destroy.stdout);
    assert_eq!(cloud.arm_inventory(), (Vec::new(), Vec::new()));
    assert_eq!(cloud.arm_status(&format!("{identity}?{MSI_API}")), 404);
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

/// The role's resource id, from the env file the apply wrote.
fn role_resource_id(work: &Workdir) -> String {
    let env = work.read("deployment_outputs.env");
    let line = env.lines().find_map(|line| line.strip_prefix("AZURE_INVOKE_ONLY_ROLE_ID="));
    line.expect("the env file names the role").to_owned()
}

#[test]
fn the_invoke_only_plan_converges_with_a_new_principal_and_a_fifth_of_requests_throttled() {
    // The identity's principal stays unknown to role assignments for three seconds.
    let config = SandboxConfig::default().azure_principal_delay(Duration::from_secs(3)).throttle_rate(0.2).seed(7);
    let cloud = Clouds::sandbox_only(config);
    let work = Workdir::plan_with_sandbox_values("azure-openai-invoke-only");
    let assignment = apply_and_check(&cloud, &work);

    let plan = cloud.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    // Retried PUTs never made a second assignment: the one that exists is the one in state.
    assert_eq!(cloud.arm_inventory().1, [assignment]);

    cloud.run(&work, &["destroy", "--auto-approve"], 0);
    assert_eq!(cloud.arm_inventory(), (Vec::new(), Vec::new()));
}

#[test]
fn a_role_granting_data_actions_at_a_management_group_is_a_plan_error() {
    let cloud = Clouds::sandbox_only(SandboxConfig::default());
    let spec = r#"
resource "azurerm_role_definition" "platform_invoke" {
  name  = "platform-invoke"
  scope = "/providers/Microsoft.Management/managementGroups/platform"

  permissions {
    data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"]
  }
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    let plan = cloud.run(&work, &["plan"], 1);
    assert!(plan.all().contains("Data actions at management group scope"), "{}", plan.all());
    assert!(plan.all().contains("azurerm_role_definition.platform_invoke"), "{}", plan.all());
    assert_eq!(cloud.sandbox.request_count(), 0, "a plan-time error must stop before any call");
}

/// The managed identity types on a spec of their own (names no shipped plan uses): an identity,
/// two federated credentials written one at a time, and a built-in role assigned to the new
/// principal through its replication window; re-planned empty, a subject changed in place,
/// destroyed to nothing.
#[test]
fn a_managed_identity_with_two_credentials_applies_changes_in_place_and_destroys() {
    let config = SandboxConfig::default()
        .azure_principal_delay(Duration::from_millis(800))
        .azure_credential_write_time(Duration::from_millis(200));
    let cloud = Clouds::sandbox_only(config);
    let spec = format!(
        r#"
provider "azurerm" {{
  subscription_id = "{SUBSCRIPTION}"
}}

resource "azurerm_user_assigned_identity" "router" {{
  name                = "mesh-router"
  resource_group_name = "mesh-identities"
  location            = "North Europe"
  tags                = {{ team = "edge" }}
}}

resource "azurerm_federated_identity_credential" "workload" {{
  for_each            = {{ blue = "router-blue", green = "router-green" }}
  name                = "mesh-${{each.key}}"
  resource_group_name = azurerm_user_assigned_identity.router.resource_group_name
  parent_id           = azurerm_user_assigned_identity.router.id
  issuer              = "https://oidc.mesh.example/cluster-7"
  subject             = "system:serviceaccount:mesh:${{each.value}}"
  audience            = ["api://AzureADTokenExchange"]
}}

resource "azurerm_role_assignment" "router_reads" {{
  scope                = "/subscriptions/{SUBSCRIPTION}/resourceGroups/mesh-identities"
  role_definition_name = "Reader"
  principal_id         = azurerm_user_assigned_identity.router.principal_id
  principal_type       = "ServicePrincipal"
}}

output "ROUTER_CLIENT_ID" {{
  value = azurerm_user_assigned_identity.router.client_id
}}
"#
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    let apply = cloud.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 4 added, 0 changed, 0 destroyed."), "{}", apply.all());
    let identity = identity_id("mesh-identities", "mesh-router");
    let live = cloud.arm_get(&format!("{identity}?{MSI_API}"));
    assert_eq!(live["location"], "northeurope");
    assert!(work.read("deployment_outputs.env").contains(live["properties"]["clientId"].as_str().unwrap()));
    let plan = cloud.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    work.write("main.tf", &spec.replace("router-green", "router-green-v2"));
    let change = cloud.run(&work, &["apply", "--auto-approve"], 0);
    assert!(change.stdout.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{}", change.all());
    let green = cloud.arm_get(&format!("{identity}/federatedIdentityCredentials/mesh-green?{MSI_API}"));
    assert_eq!(green["properties"]["subject"], "system:serviceaccount:mesh:router-green-v2");

    let destroy = cloud.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Resources: 4 destroyed."), "{}", destroy.all());
    assert_eq!(cloud.arm_status(&format!("{identity}?{MSI_API}")), 404);
    assert_eq!(cloud.arm_inventory(), (Vec::new(), Vec::new()));
    let plan = cloud.run(&work, &["plan", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("4 to add"), "{}", plan.stdout);
}

/// What ARM would refuse is a plan error naming the resource, before any call.
#[test]
fn a_federated_credential_arm_would_refuse_is_a_plan_error() {
    let cloud = Clouds::sandbox_only(SandboxConfig::default());
    let spec = r#"
resource "azurerm_federated_identity_credential" "ci" {
  name                = "ci"
  resource_group_name = "mesh-identities"
  parent_id           = "/subscriptions/24ebb700-ec2f-417f-afad-78fe15dcc91f/resourceGroups/mesh-identities"
  issuer              = "http://token.ci.example"
  subject             = "repo:mesh/router:ref:refs/heads/main"
  audience            = ["api://AzureADTokenExchange"]
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    let plan = cloud.run(&work, &["plan"], 1);
    for summary in
        ["Invalid federated credential name", "Issuer is not an https URL", "Parent is not a user-assigned identity"]
    {
        assert!(plan.all().contains(summary), "{summary}: {}", plan.all());
    }
    assert!(plan.all().contains("azurerm_federated_identity_credential.ci"), "{}", plan.all());
    assert_eq!(cloud.sandbox.request_count(), 0, "a plan-time error must stop before any call");
}

/// TF1326 at plan time, when the cluster's issuer is read: a federated credential that trusts
/// another issuer than the EKS cluster the gateway runs on is refused before any write, with
/// the expression to use; built from the data source, the same spec plans clean.
#[test]
fn a_credential_trusting_another_issuer_than_the_clusters_is_refused_at_plan() {
    let cloud = Clouds::sandbox_only(SandboxConfig::default());
    let spec = |issuer: &str| {
        format!(
            r#"provider "azurerm" {{
  subscription_id = "{SUBSCRIPTION}"
}}

data "aws_eks_cluster" "litellm" {{
  name = "litellm"
}}

resource "azurerm_user_assigned_identity" "edge" {{
  name                = "edge-gateway"
  resource_group_name = "edge"
  location            = "eastus2"
}}

resource "azurerm_federated_identity_credential" "edge" {{
  name                = "edge-eks"
  resource_group_name = "edge"
  parent_id           = azurerm_user_assigned_identity.edge.id
  issuer              = {issuer}
  subject             = "system:serviceaccount:edge:gateway"
  audience            = ["api://AzureADTokenExchange"]
}}
"#
        )
    };
    let wrong =
        Workdir::new().with_file("main.tf", &spec("\"https://oidc.eks.us-east-1.amazonaws.com/id/0THERC1USTER\""));
    let refused = cloud.run(&wrong, &["plan"], 1);
    // From the diagnostic on: the AWS SDK's warnings before it carry timestamps.
    let diagnostic = &refused.stderr[refused.stderr.find("TF1326").expect("TF1326")..];
    insta::assert_snapshot!(diagnostic.replace(ISSUER, "ISSUER"));
    let right = Workdir::new().with_file("main.tf", &spec("data.aws_eks_cluster.litellm.identity[0].oidc[0].issuer"));
    let planned = cloud.run(&right, &["plan"], 0);
    assert!(!planned.all().contains("TF1326"), "{}", planned.all());
}
