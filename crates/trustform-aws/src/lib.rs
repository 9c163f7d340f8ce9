//! The AWS adapter: the only crate that imports `aws-config` and the AWS SDKs, and whose SDK
//! types never leave it.
//!
//! [`AwsProvider`] serves `aws_iam_role`, `aws_iam_role_policy`,
//! `aws_iam_role_policy_attachment`, `aws_iam_policy` (customer managed, versioned),
//! `aws_iam_openid_connect_provider`, `aws_eks_pod_identity_association` and `aws_eks_addon`
//! (waited on until `ACTIVE`, and until gone), and the data sources `aws_caller_identity`,
//! `aws_iam_openid_connect_provider` (by `arn` or `url`),
//! `aws_eks_cluster` and `aws_iam_policy_document`, with Terraform's names and attributes.
//!
//! What users depend on, and where it lives:
//! * policy documents come back from IAM URL-encoded and OIDC URLs without `https://`; reads
//!   keep the user's spelling whenever the cloud agrees semantically (`policy`);
//! * SDK errors become the engine's error kinds (`error`), and every call retries under one
//!   policy that also rides out IAM propagation delays after a create (`api`);
//! * plans show the ARNs of roles and OIDC providers, derived from the account the credentials
//!   act in (looked up once per session, `account`) and the names; apply checks the cloud agrees;
//! * `aws_iam_policy_document` renders byte for byte as Terraform does (`policy_document`).

mod account;
mod api;
mod config;
mod error;
pub mod federation;
mod policy;
mod policy_document;
mod provider;
mod resources;
mod schema;

pub use provider::{Aws, AwsProvider};
