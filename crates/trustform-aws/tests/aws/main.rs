//! The AWS adapter against emulators: IAM and STS on moto (the independent check), EKS pod
//! identity on Trustform's sandbox (moto lacks it).

#[path = "../support/mod.rs"]
mod support;

mod eks;
mod iam;
mod undecodable;
