//! The emulated clouds an end-to-end test points the binary at: an in-process sandbox (and moto
//! for IAM and STS when asked), reached through the environment a user would set:
//! `AWS_ENDPOINT_URL_<SERVICE>` with static keys, Google's custom endpoints with a fixed access
//! token, and `ARM_RESOURCE_MANAGER_ENDPOINT` with `ARM_ACCESS_TOKEN`.

use super::{Run, Workdir};
use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
use trustform_sandbox::{world, Sandbox, SandboxConfig};
use trustform_test_provider::moto::Moto;

// The shipped world, defined once in `trustform_sandbox::world`; not every test uses each name.
#[allow(unused_imports)]
pub use world::{
    ACCOUNT_ID as ACCOUNT, AZURE_SUBSCRIPTION as ARM_SUBSCRIPTION, AZURE_TENANT as ARM_TENANT, CLUSTER,
    CLUSTER_ISSUER as ISSUER, GCP_PROJECT, GCP_PROJECT_NUMBER,
};
/// The eventual-consistency windows every end-to-end test meets (see
/// `SandboxConfig::consistency_windows`): long enough that each run goes through them, short
/// enough to keep the tests fast.
pub const CONSISTENCY_WINDOW: std::time::Duration = std::time::Duration::from_millis(40);

/// The emulators' endpoints, and a runtime that keeps the sandbox serving while the test
/// thread waits on the binary.
pub struct Clouds {
    pub runtime: tokio::runtime::Runtime,
    pub sandbox: Sandbox,
    iam_sts: String,
    _moto: Option<Moto>,
}

impl Clouds {
    /// IAM and STS on moto, EKS on the sandbox.
    pub fn moto_and_sandbox() -> Clouds {
        let moto = Moto::start();
        let mut clouds = Clouds::sandbox_only(SandboxConfig::default());
        clouds.iam_sts = moto.endpoint().to_owned();
        clouds._moto = Some(moto);
        clouds
    }

    /// Every service on one sandbox, in the shipped world (see `trustform_sandbox::world`).
    pub fn sandbox_only(config: SandboxConfig) -> Clouds {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let config = config.shipped_world().consistency_windows(CONSISTENCY_WINDOW);
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
        let iam_sts = sandbox.endpoint();
        Clouds { runtime, sandbox, iam_sts, _moto: None }
    }

    /// The emulated cloud that `trustform --sandbox` keeps in `work`, reopened from its journal
    /// to look at what is left in it. The world here must be the binary's, or the journal is
    /// refused: that is checked too.
    pub fn of_sandbox(work: &Workdir) -> Clouds {
        Clouds::sandbox_only(world::world().journal(work.file(".trustform/sandbox/journal.jsonl")))
    }

    /// The environment a CI job pointing at these emulators would set. Profiles, shared config
    /// files and instance metadata are switched off so that nothing on the machine leaks in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
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
            ("ARM_ACCESS_TOKEN", "sandbox-token".to_owned()),
            ("ARM_RESOURCE_MANAGER_ENDPOINT", self.sandbox.endpoint()),
            ("ARM_MSGRAPH_ENDPOINT", self.sandbox.endpoint()),
            ("ARM_TENANT_ID", ARM_TENANT.to_owned()),
            ("GOOGLE_CLOUD_PROJECT", GCP_PROJECT.to_owned()),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "sandbox-token".to_owned()),
            ("GOOGLE_IAM_CUSTOM_ENDPOINT", format!("{}/v1/", self.sandbox.endpoint())),
            ("GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT", format!("{}/v3/", self.sandbox.endpoint())),
            ("GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT", format!("{}/v1/", self.sandbox.endpoint())),
        ]
    }

    pub fn run(&self, work: &Workdir, args: &[&str], code: i32) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let run = work.run_with_env(args, &env);
        assert_eq!(run.code, code, "trustform {args:?} exited {}:\n{}", run.code, run.all());
        run
    }

    /// One HTTP/1.1 request to the sandbox, as any client of the emulated APIs makes it: for
    /// the Google and Azure APIs, which the tests have no SDK client of.
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        use std::io::{Read, Write};
        let endpoint = self.sandbox.endpoint();
        let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(address).expect("the sandbox listens");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer sandbox-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        // A chunked answer: keep the JSON between the first `{` and the last `}`.
        let json = match (body.find('{'), body.rfind('}')) {
            (Some(start), Some(end)) if start <= end => serde_json::from_str(&body[start..=end]).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        (status, json)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(&self.iam_sts)
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// An IAM client of one emulated account: the sandbox serves a request signed with its key
    /// id for `account` in that account.
    pub fn iam_of(&self, account: &str) -> aws_sdk_iam::Client {
        let key_id = trustform_sandbox::account_key_id(account);
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(key_id.clone(), key_id, None, None, "test"))
            .endpoint_url(&self.iam_sts)
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    pub fn eks(&self) -> aws_sdk_eks::Client {
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
    pub fn inventory(&self) -> Inventory {
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
pub struct Inventory {
    pub roles: Vec<String>,
    pub oidc_providers: Vec<String>,
    pub associations: Vec<String>,
}

impl Inventory {
    pub fn empty() -> Inventory {
        Inventory { roles: Vec::new(), oidc_providers: Vec::new(), associations: Vec::new() }
    }
}
