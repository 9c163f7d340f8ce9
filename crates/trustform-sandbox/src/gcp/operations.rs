//! Long-running operations (`google.longrunning.Operation`) of workload identity pools and
//! providers, and of Service Usage's enable and disable.
//!
//! The change an operation reports is applied when the operation starts, so reads see it at
//! once; the operation itself answers `done` only on the `polls + 1`-th `operations.get`
//! ([`SandboxConfig::gcp_operation_polls`](crate::SandboxConfig::gcp_operation_polls)), which
//! lets tests drive completion without waiting on a clock. The call that starts an operation
//! always answers it running: `{"name": ".../operations/ID"}`, `done` left out as proto3 JSON
//! leaves out `false`.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use serde_json::{json, Value};

use super::{Answer, GcpError, GcpState};
use crate::ids::random_id;

/// The alphabet of Google's operation ids, e.g. `bigar3mekd6qkaqaaaaaaaaaaa`.
const OPERATION_ID_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz234567";

struct StoredOperation {
    /// What the operation answers once done: the resource with its `@type`.
    response: Value,
    polls_left: u32,
}

pub(super) struct Operations {
    polls: u32,
    /// Keyed by full name, with the project number in it.
    operations: BTreeMap<String, StoredOperation>,
}

impl Operations {
    pub(super) fn new(polls: u32) -> Operations {
        Operations { polls, operations: BTreeMap::new() }
    }

    /// Starts an operation on the resource named `parent` that will answer `response`.
    pub(super) fn start(&mut self, rng: &mut StdRng, parent: &str, type_url: &str, resource: Value) -> Value {
        let name = format!("{parent}/operations/{}", random_id(rng, 26, OPERATION_ID_ALPHABET));
        self.start_named(name, type_url, resource)
    }

    /// Starts an operation named `name` (Service Usage's `operations/...` ids name no parent).
    pub(super) fn start_named(&mut self, name: String, type_url: &str, resource: Value) -> Value {
        let mut response = json!({ "@type": type_url });
        if let (Some(response), Value::Object(fields)) = (response.as_object_mut(), resource) {
            response.extend(fields);
        }
        self.operations.insert(name.clone(), StoredOperation { response, polls_left: self.polls });
        json!({ "name": name })
    }

    pub(super) fn poll(&mut self, name: &str) -> Answer {
        let operation = self.operations.get_mut(name).ok_or_else(GcpError::entity_not_found)?;
        if operation.polls_left > 0 {
            operation.polls_left -= 1;
            return Ok(json!({ "name": name }));
        }
        Ok(json!({ "name": name, "done": true, "response": operation.response }))
    }
}

impl GcpState {
    /// `operations.get` on `projects/{project}/{rest}`, the project given by id or number.
    pub(super) fn get_operation(&mut self, project: &str, rest: &[&str]) -> Answer {
        let number = self.project(project).ok_or_else(GcpError::entity_not_found)?.number;
        self.operations.poll(&format!("projects/{number}/{}", rest.join("/")))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn an_operation_is_done_after_the_configured_polls() {
        let mut operations = Operations::new(2);
        let mut rng = StdRng::seed_from_u64(1);
        let started = operations.start(&mut rng, "projects/1/x/y", "type.googleapis.com/T", json!({ "name": "n" }));
        let name = started["name"].as_str().unwrap().to_owned();
        assert_eq!(started, json!({ "name": name }));
        assert_eq!(operations.poll(&name).unwrap().get("done"), None);
        assert_eq!(operations.poll(&name).unwrap().get("done"), None);
        let done = operations.poll(&name).unwrap();
        assert_eq!(done["done"], true);
        assert_eq!(done["response"], json!({ "@type": "type.googleapis.com/T", "name": "n" }));
        assert!(operations.poll("projects/1/x/y/operations/none").is_err());
    }
}
