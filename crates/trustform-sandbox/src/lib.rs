//! A faithful loopback emulator of the AWS API subset Trustform calls: EKS (`DescribeCluster`
//! and Pod Identity associations, which moto lacks), STS `GetCallerIdentity`, and the IAM role,
//! role policy and OpenID Connect provider operations.
//!
//! All three services share one `http://127.0.0.1:PORT` endpoint, so a real `aws-sdk-*` client
//! with `endpoint_url` set reaches it unchanged. EKS is routed by path (REST-JSON); IAM and STS
//! speak the query protocol on `POST /` and are told apart by the SigV4 credential scope, else by
//! `Action`. Any credentials are accepted and signatures are not checked.
//!
//! Paths, field names, status codes and error shapes follow the public AWS API references, so
//! the adapter code tested here is the code that runs against AWS. [`SandboxConfig`] adds what
//! the real cloud does unpredictably: eventual consistency of new associations, throttling and
//! server errors at a seeded rate, and latency.

mod config;
mod eks;
mod iam;
mod ids;
mod query;
mod server;
mod sts;

pub use config::SandboxConfig;
pub use server::Sandbox;
