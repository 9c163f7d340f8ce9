//! A faithful loopback emulator of the AWS API subset Trustform calls: EKS (`DescribeCluster`
//! and Pod Identity associations, which moto lacks), STS `GetCallerIdentity`, and the IAM role,
//! role policy and OpenID Connect provider operations.
//!
//! All three services share one `http://127.0.0.1:PORT` endpoint, so a real `aws-sdk-*` client
//! with `endpoint_url` set reaches it unchanged. EKS is routed by path (REST-JSON); IAM and STS
//! speak the query protocol on `POST /` and are told apart by the SigV4 credential scope, else by
//! `Action`. Any credentials are accepted and signatures are not checked.
//!
//! Azure Resource Manager's `Microsoft.Authorization` role definitions and role assignments are
//! served on the same port, under `/subscriptions/...` and `/providers/...`, for a real
//! `azure_mgmt_authorization` client with `.endpoint(...)` set and any bearer token.
//!
//! Paths, field names, status codes and error shapes follow the public AWS and Azure REST
//! references, so the adapter code tested here is the code that runs against the clouds.
//! [`SandboxConfig`] adds what the real clouds do unpredictably: eventual consistency of new
//! associations, role definitions and principals, throttling and server errors at a seeded
//! rate, and latency.

mod azure;
mod config;
mod eks;
mod iam;
mod ids;
mod query;
mod server;
mod sts;

pub use config::SandboxConfig;
pub use server::Sandbox;
