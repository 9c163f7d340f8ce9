//! A faithful loopback emulator of the cloud API subset Trustform calls. AWS: EKS
//! (`DescribeCluster` and Pod Identity associations, which moto lacks), STS `GetCallerIdentity`,
//! and the IAM role, role policy and OpenID Connect provider operations. Google Cloud: IAM v1
//! service accounts, their IAM policies, and workload identity pools and providers with their
//! long-running operations, and Cloud Resource Manager v3 `projects.get` and project IAM policies.
//!
//! All services share one `http://127.0.0.1:PORT` endpoint, so a real `aws-sdk-*` client with
//! `endpoint_url` set, or a Google client with its base URL set, reaches it unchanged. Google's
//! APIs are routed by path (`/v1/` IAM, `/v3/` Resource Manager), EKS too (REST-JSON); AWS IAM
//! and STS speak the query protocol on `POST /` and are told apart by the SigV4 credential scope,
//! else by `Action`. Any credentials and bearer tokens are accepted and signatures are not checked.
//!
//! Azure Resource Manager's `Microsoft.Authorization` role definitions and role assignments are
//! served on the same port, under `/subscriptions/...` and `/providers/...`, for a real
//! `azure_mgmt_authorization` client with `.endpoint(...)` set and any bearer token; and
//! `Microsoft.ManagedIdentity` user-assigned identities and their federated credentials (`msi`);
//! and Microsoft Graph applications, service principals and federated credentials under `/v1.0/`
//! (`graph`), for the azuread provider with `msgraph_endpoint` set.
//!
//! Paths, field names, status codes and error shapes follow the public AWS, Google and Azure
//! references, so the adapter code tested here is the code that runs against the clouds.
//! [`SandboxConfig`] adds what the real clouds do unpredictably: eventual consistency of new
//! associations, service accounts, role definitions and principals, long-running operations
//! that take several polls, throttling and server errors at a seeded rate, and latency.
//!
//! Vault (and OpenBao) is served under `/vault/v1/...` ([`vault`]): KV mounts and secrets, ACL
//! policies, auth methods and the Kubernetes auth method's configuration and roles, checked
//! against a real OpenBao server in the tests.
//!
//! [`federation`] serves workload identity federation's exchanges, which `trustform verify`
//! makes: STS `AssumeRoleWithWebIdentity`, EKS Auth `AssumeRoleForPodIdentity`, Google STS
//! `token` and IAM Credentials `generateAccessToken`, and Entra ID's token endpoint with a
//! federated client assertion, judging tokens signed with [`federation::SIGNING_KEY`].
//!
//! [`world`] holds what exists before anything is created: the shipped plans' world, and, with
//! [`SandboxConfig::materialize_on_first_use`], any project, cluster or subscription a spec
//! names, derived from its name.

mod azure;
mod config;
mod eks;
pub mod federation;
mod gcp;
mod graph;
mod iam;
mod ids;
mod journal;
mod msi;
mod query;
mod server;
mod sts;
pub mod vault;
pub mod world;

pub use config::SandboxConfig;
pub use query::{account_key_id, ACCOUNT_KEY_PREFIX};
pub use server::{Offline, Sandbox};
