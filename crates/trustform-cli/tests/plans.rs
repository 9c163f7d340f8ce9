//! The shipped plans (`plans/*`), applied with `--sandbox` exactly as the README tells a newcomer
//! to: each applies, plans to nothing on a second invocation, and destroys to an empty cloud.
//! Also the sandbox's own life cycle: persistence between invocations, `sandbox reset`,
//! `sandbox serve` shared with other clients, and a sandbox already in use.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use support::clouds::{Clouds, Inventory, ACCOUNT, ARM_SUBSCRIPTION, ARM_TENANT, GCP_PROJECT_NUMBER};
use support::Workdir;

/// The `NAME=value` lines of an env file.
fn env_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn value_of(text: &str, name: &str) -> Option<String> {
    env_lines(text).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Applies the plan in the sandbox, plans again (nothing to do), destroys, and checks that the
/// emulated AWS account holds nothing afterwards. Returns the env file the apply wrote.
fn round_trip(work: &Workdir, resources: usize) -> String {
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(
        applied.stdout.contains(&format!("Apply complete! Resources: {resources} added, 0 changed, 0 destroyed.")),
        "{}",
        applied.all()
    );
    assert!(
        applied.stderr.contains("Sandbox: emulated AWS, Google Cloud, Azure and Vault on http://127.0.0.1:"),
        "{}",
        applied.all()
    );
    // Silent otherwise: no SDK warning, no cross-cloud check fires on a shipped plan.
    assert!(!applied.stderr.contains("WARN") && !applied.stderr.contains("Warning"), "{}", applied.stderr);
    // Sandbox outputs go under the sandbox, never where a real apply writes them.
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    assert!(!work.file("deployment_outputs.env").exists());

    // A second process sees the same cloud and the same state.
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
    // The sandbox's state is its own: the real backend's file is never written.
    assert!(!work.file("state/default.tfstate").exists());
    assert!(work.file(".trustform/sandbox/terraform.tfstate").exists());

    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains(&format!("Resources: {resources} destroyed.")), "{}", destroyed.all());
    let cloud = Clouds::of_sandbox(work);
    assert_eq!(cloud.inventory(), Inventory::empty(), "destroy left objects behind");
    env
}

#[test]
fn litellm_keyless_writes_seed_000s_outputs_from_the_readmes_first_command() {
    let work = Workdir::plan("litellm-keyless");
    // The README's first command, run from the directory above the plan.
    let parent = work.path().parent().unwrap().to_owned();
    let name = work.path().file_name().unwrap().to_str().unwrap().to_owned();
    let first = std::process::Command::new(env!("CARGO_BIN_EXE_trustform"))
        .current_dir(&parent)
        .args(["apply", "--sandbox", &name, "--auto-approve"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("WARN") && !stderr.contains("Warning"), "no warning on a shipped plan: {stderr}");
    assert!(
        stderr.contains(&format!("Wrote 19 output(s) to {name}/.trustform/sandbox/outputs/deployment_outputs.env")),
        "{stderr}"
    );

    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/litellm-gateway");
    assert_eq!(value_of(&env, "EKS_AWS_ROLE_ARN"), Some(role.clone()));
    assert_eq!(value_of(&env, "VERTEX_PROJECT").as_deref(), Some("litellm-prod"));
    assert_eq!(value_of(&env, "AZURE_TENANT_ID").as_deref(), Some(ARM_TENANT));
    // The Azure identity is the spec's own (module.azure), not a client id typed in: the
    // managed identity the emulated ARM holds, federated with the cluster's issuer.
    let identity = Clouds::of_sandbox(&work).http(
        "GET",
        &format!("/subscriptions/{ARM_SUBSCRIPTION}/resourceGroups/litellm-openai/providers/Microsoft.ManagedIdentity/userAssignedIdentities/litellm-gateway?api-version=2023-01-31"),
        "",
    );
    assert_eq!(identity.0, 200, "{identity:?}");
    assert_eq!(value_of(&env, "AZURE_CLIENT_ID").as_deref(), identity.1["properties"]["clientId"].as_str());
    assert_eq!(
        value_of(&env, "AZURE_FEDERATED_TOKEN_FILE").as_deref(),
        Some("/var/run/secrets/azure/tokens/azure-identity-token")
    );
    assert_eq!(
        value_of(&env, "JWT_PUBLIC_KEY_URL"),
        Some(format!("https://login.microsoftonline.com/{ARM_TENANT}/discovery/v2.0/keys"))
    );
    assert_eq!(
        value_of(&env, "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE"),
        Some(format!(
            "//iam.googleapis.com/projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/litellm-aws/providers/aws-account"
        ))
    );
    assert_eq!(value_of(&env, "AZURE_CLIENT_SECRET"), None, "keyless: no client secret is emitted");
    // The master key went to Vault: the env file says where, and holds no token and no key.
    assert_eq!(value_of(&env, "LITELLM_MASTER_KEY_VAULT_PATH").as_deref(), Some("litellm/data/gateway"));
    assert_eq!(value_of(&env, "VAULT_KUBERNETES_ROLE").as_deref(), Some("external-secrets"));
    assert!(!env.contains("sk-") && !env.contains("VAULT_TOKEN") && !env.contains("sandbox-token"), "{env}");
    let manifests = work.expect(&["render", "--sandbox", "--external-secrets", "--namespace", "litellm"], 0);
    assert!(manifests.stdout.contains("kind: ExternalSecret"), "{}", manifests.all());
    assert!(!manifests.stdout.contains("sk-") && !manifests.stdout.contains("sandbox-token"), "{}", manifests.stdout);

    // Both credential configurations, for EC2 nodes and for Fargate.
    let fargate: serde_json::Value =
        serde_json::from_str(&work.read(".trustform/sandbox/outputs/gcp_aws_external_account.fargate.json")).unwrap();
    assert_eq!(fargate["type"], "external_account");
    assert_eq!(fargate["credential_source"]["url"], "http://169.254.170.2/v2/credentials");
    let ec2: serde_json::Value =
        serde_json::from_str(&work.read(".trustform/sandbox/outputs/gcp_aws_external_account.json")).unwrap();
    assert!(!work.file("gcp_aws_external_account.json").exists(), "written under the sandbox only");
    assert_eq!(ec2["credential_source"]["url"], "http://169.254.169.254/latest/meta-data/iam/security-credentials");

    // Seed 000's Helm values, rendered from the outputs.
    let rendered = work.expect(&["render", "--sandbox", "values-aws.yaml.tpl"], 0);
    assert!(rendered.stdout.contains(&format!("eks.amazonaws.com/role-arn: '{role}'")), "{}", rendered.all());

    // The gateway role trusts both EKS Pod Identity and the cluster's IRSA issuer.
    let cloud_role = {
        let cloud = Clouds::of_sandbox(&work);
        let iam = cloud.iam();
        let role = cloud.runtime.block_on(iam.get_role().role_name("litellm-gateway").send()).unwrap();
        role.role().unwrap().assume_role_policy_document().unwrap().to_owned()
    };
    // IAM returns policy documents URL-encoded.
    let trust = percent_encoding::percent_decode_str(&cloud_role).decode_utf8_lossy().into_owned();
    assert!(trust.contains("pods.eks.amazonaws.com"), "{trust}");
    assert!(trust.contains("system:serviceaccount:litellm:litellm"), "{trust}");

    // It is the other plans, called as modules: every resource is in one of them.
    let listed = work.expect(&["state", "list", "--sandbox"], 0);
    let modules: std::collections::BTreeSet<&str> = listed
        .stdout
        .lines()
        .map(|address| address.split('.').take(2).collect::<Vec<_>>())
        .map(|parts| {
            if parts[0] == "module" {
                match parts[1] {
                    "vertex" => "vertex",
                    "ci" => "ci",
                    "azure" => "azure",
                    "vault" => "vault",
                    other => panic!("{other}"),
                }
            } else {
                panic!("a root resource: {parts:?}")
            }
        })
        .collect();
    assert_eq!(modules.into_iter().collect::<Vec<_>>(), ["azure", "ci", "vault", "vertex"]);
    assert!(listed.stdout.contains("module.vertex.aws_iam_openid_connect_provider.eks[0]\n"), "{}", listed.stdout);

    // The journal was closed by the check above; the rest of the round trip reopens it.
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 32 destroyed."), "{}", destroyed.all());
    assert_eq!(Clouds::of_sandbox(&work).inventory(), Inventory::empty());
}

#[test]
fn aws_to_vertex_round_trips_in_the_sandbox() {
    let work = Workdir::plan("aws-to-vertex");
    let env = round_trip(&work, 13);
    assert_eq!(value_of(&env, "VERTEX_PROJECT").as_deref(), Some("litellm-prod"));
    assert_eq!(value_of(&env, "EKS_AWS_ROLE_ARN"), Some(format!("arn:aws:iam::{ACCOUNT}:role/LitellmVertexPodRole")));
}

#[test]
fn ci_oidc_bedrock_round_trips_in_the_sandbox() {
    let work = Workdir::plan("ci-oidc-bedrock");
    let env = round_trip(&work, 6);
    assert_eq!(
        value_of(&env, "CIRCLECI_BEDROCK_ROLE_ARN"),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/litellm-circleci-bedrock"))
    );
    assert_eq!(
        value_of(&env, "GITHUB_BEDROCK_ROLE_ARN"),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/litellm-github-actions-bedrock"))
    );
}

#[test]
fn azure_openai_invoke_only_round_trips_in_the_sandbox() {
    let work = Workdir::plan("azure-openai-invoke-only");
    let planned = work.expect(&["plan", "--sandbox"], 0);
    insta::assert_snapshot!("azure_openai_invoke_only_plan", planned.stdout);
    // The identity the gateway needs is created, not typed in: its client id and the projected
    // token's path and audience come out of the apply, and no secret does.
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 5 added"), "{}", applied.all());
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    let client_id = value_of(&env, "AZURE_CLIENT_ID").expect("AZURE_CLIENT_ID");
    assert!(client_id.len() == 36 && client_id != "91a43c21-cf21-4f34-9085-331015ea4f91", "{client_id}");
    assert!(!env.contains("SECRET"), "{env}");
    let rendered = work.expect(&["render", "--sandbox", "values-azure.yaml.tpl"], 0);
    assert!(rendered.stdout.contains(&format!("AZURE_CLIENT_ID: {client_id}\n")), "{}", rendered.all());
    assert!(rendered.stdout.contains("audience: 'api://AzureADTokenExchange'"), "{}", rendered.all());
    assert!(
        rendered.stdout.contains("AZURE_FEDERATED_TOKEN_FILE: /var/run/secrets/azure/tokens/azure-identity-token"),
        "{}",
        rendered.all()
    );
    work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);

    let env = round_trip(&work, 5);
    assert_eq!(value_of(&env, "AZURE_TENANT_ID").as_deref(), Some(ARM_TENANT));
    let assignment = value_of(&env, "AZURE_ROLE_ASSIGNMENT_ID").unwrap();
    assert!(assignment.contains("/resourceGroups/litellm-openai/providers/Microsoft.Authorization/roleAssignments/"));
}

/// The Graph way: an Entra ID application with the gateway's app roles (seed 004), its service
/// principal receiving the role, its federated credentials; the JWT auth settings rendered from
/// the same roles.
#[test]
fn azure_openai_invoke_only_as_an_application_round_trips_with_its_jwt_settings() {
    let work = Workdir::plan("azure-openai-invoke-only");
    work.write("application.auto.tfvars", "identity_kind = \"application\"\ngateway_roles = { basic_user = \"Chats\", power_user = \"Chats and embeds\" }\n");
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 6 added"), "{}", applied.all());
    assert!(applied.all().contains("azuread_service_principal.gateway[0]: Creation complete"), "{}", applied.all());
    let env = work.read(".trustform/sandbox/outputs/deployment_outputs.env");
    assert_eq!(value_of(&env, "LITELLM_JWT_ALLOWED_ROLES").as_deref(), Some("basic_user,power_user"));
    assert!(!env.contains("SECRET"), "{env}");
    let rendered = work.expect(&["render", "--sandbox", "litellm-jwtauth.yaml.tpl"], 0);
    assert!(rendered.stdout.contains("user_allowed_roles: [basic_user,power_user]\n"), "{}", rendered.all());
    assert!(
        rendered.stdout.contains(&format!(
            "JWT_PUBLIC_KEY_URL: https://login.microsoftonline.com/{ARM_TENANT}/discovery/v2.0/keys"
        )),
        "{}",
        rendered.all()
    );
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 6 destroyed."), "{}", destroyed.all());
}

#[test]
fn vault_handoff_round_trips_in_the_sandbox_with_only_paths_in_the_env_file() {
    let work = Workdir::plan("vault-handoff");
    let env = round_trip(&work, 7);
    assert_eq!(
        env,
        "LITELLM_MASTER_KEY_VAULT_PATH=litellm/data/gateway\nVAULT_KUBERNETES_AUTH_PATH=eks-litellm\nVAULT_KUBERNETES_ROLE=external-secrets\n"
    );
}

#[test]
fn sandbox_reset_forgets_the_cloud_and_its_state() {
    let work = Workdir::plan("ci-oidc-bedrock");
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert_eq!(Clouds::of_sandbox(&work).inventory().roles.len(), 2);

    let reset = work.expect(&["sandbox", "reset"], 0);
    assert!(reset.stdout.contains("Sandbox reset"), "{}", reset.all());
    assert_eq!(Clouds::of_sandbox(&work).inventory(), Inventory::empty());
    let plan = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("6 to add"), "{}", plan.all());
}

#[test]
fn a_sandbox_in_use_by_another_command_is_refused_with_a_way_out() {
    let work = Workdir::plan("ci-oidc-bedrock");
    std::fs::create_dir_all(work.file(".trustform/sandbox")).unwrap();
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(work.file(".trustform/sandbox/lock"))
        .unwrap();
    lock.lock().unwrap();
    let refused = work.expect(&["plan", "--sandbox"], 1);
    assert!(refused.stderr.contains("in use by another trustform command"), "{}", refused.all());
    assert!(refused.stderr.contains("trustform sandbox serve"), "{}", refused.all());
}

#[test]
fn sandbox_serve_is_shared_by_sandbox_commands_and_other_clients() {
    let work = Workdir::plan("ci-oidc-bedrock");
    let mut serve = work.command(&["sandbox", "serve", "--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    // The first line names the endpoint once it listens: the synchronisation point.
    let first = lines.next().unwrap().unwrap();
    let endpoint = first.split(" on ").nth(1).unwrap().trim_end_matches('.').to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{first}");

    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stderr.contains(&format!("using the emulated clouds served at {endpoint}")), "{}", applied.all());

    // Another client, pointed at the served endpoint, sees what the apply made.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new("x", "y", None, None, "test"))
            .endpoint_url(&endpoint)
            .build(),
    );
    let roles = runtime.block_on(iam.list_roles().send()).unwrap();
    // A web page cannot drive it: a browser's request carries an Origin, or a Host of its own.
    let address = endpoint.trim_start_matches("http://");
    for headers in
        [format!("Host: {address}\r\nOrigin: https://attacker.example\r\n"), "Host: attacker.example\r\n".to_owned()]
    {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let request = format!("POST / HTTP/1.1\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\nConnection: close\r\n\r\nAction=ListRoles");
        std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 403"), "{headers}: {response}");
    }
    let mut names: Vec<&str> = roles.roles().iter().map(|role| role.role_name()).collect();
    names.sort();
    assert_eq!(names, ["litellm-circleci-bedrock", "litellm-github-actions-bedrock"]);

    // Ctrl-C stops it; the cloud stays, and the next command hosts it itself.
    // SAFETY: kill(2) on the child's pid, which has not been reaped yet.
    unsafe { libc::kill(serve.id() as libc::pid_t, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(serve.wait().unwrap().success());
    assert!(rest.iter().any(|line| line.starts_with("Sandbox stopped")), "{rest:?}");
    assert!(!work.file(".trustform/sandbox/serve.json").exists());
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stderr.contains("Sandbox: emulated AWS"), "{}", replanned.all());
}

#[test]
fn state_and_import_see_the_same_sandbox_cloud_as_apply() {
    let work = Workdir::plan("ci-oidc-bedrock");
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    let listed = work.expect(&["state", "list", "--sandbox"], 0);
    assert!(listed.stdout.contains("aws_iam_role.github_bedrock"), "{}", listed.all());

    // Forgotten by the state, the role is still in the emulated cloud: import brings it back.
    work.expect(&["state", "rm", "--sandbox", "aws_iam_role.github_bedrock"], 0);
    let imported =
        work.expect(&["import", "--sandbox", "aws_iam_role.github_bedrock", "litellm-github-actions-bedrock"], 0);
    assert!(imported.all().contains("Import"), "{}", imported.all());
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
}

#[test]
fn a_sandbox_apply_killed_mid_run_converges_on_the_next_apply() {
    let work = Workdir::plan("ci-oidc-bedrock");
    let mut apply = work
        .command(&["apply", "--sandbox", "--auto-approve", "--parallelism", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(apply.stderr.take().unwrap()).lines();
    // One change at a time, so the role's create is the only one in flight: everything before
    // it is saved. Kill the run there, before or after the request reached the cloud, whichever
    // the scheduler makes it. (Objects whose ids the cloud chooses are found by natural key:
    // see `kill.rs`.)
    let mut killed = false;
    for line in lines.map_while(Result::ok) {
        if line.starts_with("aws_iam_role.github_bedrock: Creating") {
            apply.kill().unwrap();
            killed = true;
            break;
        }
    }
    apply.wait().unwrap();
    assert!(killed, "the apply never started the role's create");

    // The killed run's lock died with it: a plain apply goes ahead, with no force-unlock.
    let again = work.run(&["apply", "--sandbox", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(!again.stderr.contains("force-unlock"), "{}", again.all());
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());
    let cloud = Clouds::of_sandbox(&work).inventory();
    assert_eq!(cloud.roles, ["litellm-circleci-bedrock", "litellm-github-actions-bedrock"], "no role twice, none lost");
    assert_eq!(cloud.oidc_providers.len(), 2);
}

#[test]
fn a_role_created_by_a_run_killed_before_saving_it_is_adopted_not_created_twice() {
    let work = Workdir::plan("ci-oidc-bedrock");
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    // What a run killed between IAM's answer to CreateRole and the state write leaves: the
    // record written before the request, with the planned values only.
    let path = work.file(".trustform/sandbox/terraform.tfstate");
    let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let role = state["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|resource| resource["address"] == "aws_iam_role.github_bedrock")
        .unwrap();
    role["status"] = "creating".into();
    for computed in ["arn", "create_date", "unique_id", "assume_role_policy"] {
        role["attributes"][computed] = serde_json::Value::Null;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    // Found by its name: saved, not created again (which IAM would refuse).
    let plan = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("Objects created by an interrupted apply"), "{}", plan.all());
    assert!(plan.stdout.contains("  aws_iam_role.github_bedrock\n"), "{}", plan.all());
    assert!(plan.stdout.contains("No changes to remote objects."), "{}", plan.all());
    assert!(!plan.stdout.contains("changed outside of Trustform"), "{}", plan.all());
    work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(!saved.contains("\"creating\""), "the adopted role is saved as ready:\n{saved}");
    assert_eq!(
        Clouds::of_sandbox(&work).inventory().roles,
        ["litellm-circleci-bedrock", "litellm-github-actions-bedrock"]
    );
}
