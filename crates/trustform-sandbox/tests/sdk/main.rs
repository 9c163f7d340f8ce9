//! The sandbox as the real `aws-sdk-*` clients see it: every call goes through the SDK's own
//! serialisation, error parsing and retry classification.

mod clients;
mod eks;
mod faults;
mod iam;
mod journal;
mod sts;
