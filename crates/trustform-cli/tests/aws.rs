//! End-to-end tests of the `trustform` binary on `examples/aws-pod-identity` (seed 001's EKS Pod
//! Identity role and seed 002's CircleCI -> Bedrock role): IAM and STS on moto, the independent
//! emulator, with EKS on the sandbox; then everything on the sandbox with a fifth of all
//! requests failing. The binary finds the emulators the way a user points Terraform at one:
//! through `AWS_ENDPOINT_URL_<SERVICE>` and static keys in the environment.

mod support;

use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
use support::{Run, Workdir};
use trustform_sandbox::{Sandbox, SandboxConfig};
use trustform_test_provider::moto::Moto;

const CLUSTER: &str = "litellm";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ACCOUNT: &str = "123456789012";

/// The emulators' endpoints, and a runtime that keeps the sandbox serving while the test
/// thread waits on the binary.
struct Clouds {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
    iam_sts: String,
    _moto: Option<Moto>,
}

impl Clouds {
    /// IAM and STS on moto, EKS on the sandbox.
    fn moto_and_sandbox() -> Clouds {
        let moto = Moto::start();
        let mut clouds = Clouds::sandbox_only(SandboxConfig::default());
        clouds.iam_sts = moto.endpoint().to_owned();
        clouds._moto = Some(moto);
        clouds
    }

    /// Every service on one sandbox.
    fn sandbox_only(config: SandboxConfig) -> Clouds {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let sandbox = runtime.block_on(Sandbox::start(config.cluster(CLUSTER, ISSUER))).expect("the sandbox starts");
        let iam_sts = sandbox.endpoint();
        Clouds { runtime, sandbox, iam_sts, _moto: None }
    }

    /// The environment a CI job pointing at these emulators would set. Profiles, shared config
    /// files and instance metadata are switched off so that nothing on the machine leaks in.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL_IAM", self.iam_sts.clone()),
            ("AWS_ENDPOINT_URL_STS", self.iam_sts.clone()),
            ("AWS_ENDPOINT_URL_EKS", self.sandbox.endpoint()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    fn run(&self, work: &Workdir, args: &[&str], code: i32) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let run = work.run_with_env(args, &env);
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        run
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(&self.iam_sts)
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    fn eks(&self) -> aws_sdk_eks::Client {
        let config = aws_sdk_eks::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(self.sandbox.endpoint())
            .build();
        aws_sdk_eks::Client::from_conf(config)
    }

    /// What exists in the emulated account, listed by a client of our own: role names, OIDC
    /// provider ARNs and pod identity association ids.
    fn inventory(&self) -> Inventory {
        let (iam, eks) = (self.iam(), self.eks());
        self.runtime.block_on(async {
            let roles = iam.list_roles().send().await.expect("ListRoles");
            let providers = iam.list_open_id_connect_providers().send().await.expect("ListOpenIDConnectProviders");
            let associations =
                eks.list_pod_identity_associations().cluster_name(CLUSTER).send().await.expect("ListAssociations");
            let mut roles: Vec<String> = roles.roles().iter().map(|role| role.role_name().to_owned()).collect();
            roles.sort();
            Inventory {
                roles,
                oidc_providers: providers
                    .open_id_connect_provider_list()
                    .iter()
                    .filter_map(|provider| provider.arn().map(str::to_owned))
                    .collect(),
                associations: associations
                    .associations()
                    .iter()
                    .filter_map(|association| association.association_id().map(str::to_owned))
                    .collect(),
            }
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Inventory {
    roles: Vec<String>,
    oidc_providers: Vec<String>,
    associations: Vec<String>,
}

impl Inventory {
    fn empty() -> Inventory {
        Inventory { roles: Vec::new(), oidc_providers: Vec::new(), associations: Vec::new() }
    }
}

/// Applies the example, checks what exists and what the outputs say, and returns the
/// association id.
fn apply_and_check(clouds: &Clouds, work: &Workdir) -> String {
    let apply = clouds.run(work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."), "{}", apply.stdout);

    let inventory = clouds.inventory();
    assert_eq!(inventory.roles, ["litellm-gateway", "litellm-github-unit-tests-circleci"]);
    assert_eq!(
        inventory.oidc_providers,
        [format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.circleci.com/org/c5a99188-154f-4f69-8da2-b442b1bf78dd")]
    );
    assert_eq!(inventory.associations.len(), 1, "{inventory:?}");

    let env = work.read("deployment_outputs.env");
    assert!(env.contains(&format!("AWS_ACCOUNT_ID={ACCOUNT}\n")), "{env}");
    assert!(env.contains(&format!("EKS_AWS_ROLE_ARN=arn:aws:iam::{ACCOUNT}:role/litellm-gateway\n")), "{env}");
    assert!(
        env.contains(&format!("POD_IDENTITY_ASSOCIATION_ID={}\n", inventory.associations[0])),
        "{env}\n{inventory:?}"
    );
    inventory.associations[0].clone()
}

#[test]
fn the_pod_identity_example_applies_on_moto_converges_detects_drift_and_destroys() {
    let clouds = Clouds::moto_and_sandbox();
    let work = Workdir::example("aws-pod-identity");
    apply_and_check(&clouds, &work);

    // IAM hands policies back URL-encoded and reordered, OIDC URLs without their scheme: none
    // of that may show up as a change.
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // Someone edits the gateway role's trust policy in the console.
    let tampered = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let iam = clouds.iam();
    clouds
        .runtime
        .block_on(iam.update_assume_role_policy().role_name("litellm-gateway").policy_document(tampered).send())
        .expect("UpdateAssumeRolePolicy");
    let drift = clouds.run(&work, &["plan", "--detailed-exitcode"], 2);
    assert!(drift.stdout.contains("aws_iam_role.gateway will be updated in-place"), "{}", drift.stdout);
    assert!(drift.stdout.contains("ec2.amazonaws.com"), "{}", drift.stdout);
    assert!(drift.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", drift.stdout);

    // Apply puts it back in place, with UpdateAssumeRolePolicy rather than a replacement.
    let repair = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(repair.stdout.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{}", repair.stdout);
    clouds.run(&work, &["plan", "--detailed-exitcode"], 0);

    let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 6 destroyed."), "{}", destroy.stdout);
    assert_eq!(clouds.inventory(), Inventory::empty());
    assert_eq!(work.expect(&["state", "list"], 0).stdout, "");
}

#[test]
fn the_pod_identity_example_converges_with_a_fifth_of_all_requests_failing() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default().fault_rate(0.2).seed(11));
    let work = Workdir::example("aws-pod-identity");
    let association = apply_and_check(&clouds, &work);

    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    // A retried create never made a second object: the one association is still the one the
    // state knows.
    assert_eq!(clouds.inventory().associations, [association]);

    clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert_eq!(clouds.inventory(), Inventory::empty());
    assert!(clouds.sandbox.request_count() > 0);
}

#[test]
fn removing_every_aws_resource_from_the_spec_destroys_them() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let work = Workdir::example("aws-pod-identity");
    apply_and_check(&clouds, &work);

    // The spec no longer names the aws provider at all; its objects live on only in state,
    // and the provider must still be configured to delete them.
    std::fs::remove_file(work.file("main.tf")).expect("remove the spec");
    work.write("main.tf", "resource \"trustform_data\" \"marker\" {\n  input = \"left\"\n}\n");
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 1 added, 0 changed, 6 destroyed."), "{}", apply.stdout);
    assert_eq!(clouds.inventory(), Inventory::empty());
}
