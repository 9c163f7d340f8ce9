//! The sandbox as the real generated Google clients (`google-iam1`,
//! `google-cloudresourcemanager3`) see it: every call goes through the client's own URL
//! templates, JSON (de)serialisation and error parsing.

mod clients;
mod faults;
mod resource_manager;
mod service_accounts;
mod workload_identity;
