//! IAM customer managed policies and their versions: CreatePolicy, GetPolicy, DeletePolicy,
//! CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
//! TagPolicy, UntagPolicy, ListPolicyTags
//! (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>).
//!
//! The rules clients meet, from the API reference and the versioning guide
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>):
//! at most five versions (`LimitExceeded` for a sixth); the default version cannot be deleted
//! (`DeleteConflict`); a policy is deleted only once it is attached to nothing and has no version
//! but its default (`DeleteConflict`); documents are answered URL-encoded. AttachRolePolicy of a
//! customer managed policy that does not exist is `NoSuchEntity` (in `iam.rs`).

use std::collections::BTreeMap;

use axum::http::StatusCode;

use super::{
    already_exists, delete_conflict, encode_policy, invalid_input, no_such_entity, untag, validate_name, validate_path,
    validate_policy, Answer, IamState,
};
use crate::ids::{iso8601_now, random_id};
use crate::query::{Params, QueryError, Xml};

/// The most versions IAM keeps of one managed policy.
const MAX_VERSIONS: usize = 5;

pub(super) struct ManagedPolicy {
    name: String,
    path: String,
    id: String,
    arn: String,
    description: Option<String>,
    create_date: String,
    update_date: String,
    tags: BTreeMap<String, String>,
    /// Keyed by number: `v1` is 1.
    versions: BTreeMap<u32, Version>,
    default_version: u32,
    /// The number the next version gets: numbers are never reused.
    next_version: u32,
}

struct Version {
    document: String,
    create_date: String,
}

fn policy_not_found(arn: &str) -> QueryError {
    no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

fn version_number(params: &Params) -> Result<u32, QueryError> {
    let id = params.required("VersionId")?;
    id.strip_prefix('v').and_then(|n| n.parse().ok()).ok_or_else(|| {
        QueryError::validation(format!(
            "1 validation error detected: Value '{id}' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        ))
    })
}

impl ManagedPolicy {
    fn write(&self, xml: &mut Xml, attachments: usize, with_description: bool) {
        xml.open("Policy")
            .leaf("PolicyName", &self.name)
            .leaf("DefaultVersionId", &format!("v{}", self.default_version))
            .leaf("PolicyId", &self.id)
            .leaf("Path", &self.path)
            .leaf("Arn", &self.arn)
            .leaf("AttachmentCount", &attachments.to_string())
            .leaf("PermissionsBoundaryUsageCount", "0")
            .leaf("IsAttachable", "true");
        if with_description {
            if let Some(description) = &self.description {
                xml.leaf("Description", description);
            }
        }
        xml.leaf("CreateDate", &self.create_date).leaf("UpdateDate", &self.update_date);
        if !self.tags.is_empty() {
            xml.tags(&self.tags);
        }
        xml.close("Policy");
    }

    fn write_version(&self, xml: &mut Xml, number: u32, version: &Version, with_document: bool) {
        if with_document {
            xml.leaf("Document", &encode_policy(&version.document));
        }
        xml.leaf("VersionId", &format!("v{number}"))
            .leaf("IsDefaultVersion", if number == self.default_version { "true" } else { "false" })
            .leaf("CreateDate", &version.create_date);
    }
}

impl IamState {
    /// Whether `arn` may be attached: an AWS managed policy (account `aws`), or a customer
    /// managed policy that exists.
    pub(super) fn attachable(&self, arn: &str) -> Result<(), QueryError> {
        if arn.split(':').nth(4) == Some("aws") || self.managed_policies.contains_key(arn) {
            Ok(())
        } else {
            Err(policy_not_found(arn))
        }
    }

    fn attachments(&self, arn: &str) -> usize {
        self.roles.values().filter(|role| role.attached_policies.contains(arn)).count()
    }

    fn managed_policy(&mut self, params: &Params) -> Result<&mut ManagedPolicy, QueryError> {
        let arn = params.required("PolicyArn")?;
        self.managed_policies.get_mut(arn).ok_or_else(|| policy_not_found(arn))
    }

    pub(super) fn create_policy(&mut self, account_id: &str, params: &Params) -> Answer {
        let name = params.required("PolicyName")?;
        validate_name(name, "policyName", 128)?;
        let path = params.get("Path").unwrap_or("/");
        validate_path(path)?;
        let document = params.required("PolicyDocument")?;
        validate_policy(document)?;
        let arn = format!("arn:aws:iam::{account_id}:policy{path}{name}");
        if self.managed_policies.values().any(|policy| policy.name.eq_ignore_ascii_case(name) && policy.path == path) {
            return Err(already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let now = iso8601_now();
        let policy = ManagedPolicy {
            name: name.to_owned(),
            path: path.to_owned(),
            id: format!("ANPA{}", random_id(&mut self.rng, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
            arn: arn.clone(),
            description: params.get("Description").filter(|d| !d.is_empty()).map(str::to_owned),
            create_date: now.clone(),
            update_date: now.clone(),
            tags: params.tags()?.into_iter().collect(),
            versions: BTreeMap::from([(1, Version { document: document.to_owned(), create_date: now })]),
            default_version: 1,
            next_version: 2,
        };
        let mut xml = Xml::default();
        policy.write(&mut xml, 0, false);
        self.managed_policies.insert(arn, policy);
        Ok(Some(xml.into_string()))
    }

    pub(super) fn get_policy(&mut self, params: &Params) -> Answer {
        let arn = params.required("PolicyArn")?.to_owned();
        let attachments = self.attachments(&arn);
        let policy = self.managed_policies.get(&arn).ok_or_else(|| policy_not_found(&arn))?;
        let mut xml = Xml::default();
        policy.write(&mut xml, attachments, true);
        Ok(Some(xml.into_string()))
    }

    pub(super) fn delete_policy(&mut self, params: &Params) -> Answer {
        let arn = params.required("PolicyArn")?.to_owned();
        if self.attachments(&arn) > 0 {
            return Err(delete_conflict("Cannot delete a policy attached to entities."));
        }
        let policy = self.managed_policy(params)?;
        if policy.versions.len() > 1 {
            return Err(delete_conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's \
                 versions. The default version is deleted with the policy.",
            ));
        }
        self.managed_policies.remove(&arn);
        Ok(None)
    }

    pub(super) fn create_policy_version(&mut self, params: &Params) -> Answer {
        let document = params.required("PolicyDocument")?;
        validate_policy(document)?;
        let set_as_default = match params.get("SetAsDefault") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(invalid_input(format!("Invalid value for SetAsDefault: {other}"))),
        };
        let policy = self.managed_policy(params)?;
        if policy.versions.len() >= MAX_VERSIONS {
            return Err(QueryError::new(
                StatusCode::CONFLICT,
                "LimitExceeded",
                format!(
                    "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you \
                     must delete an existing version."
                ),
            ));
        }
        let number = policy.next_version;
        policy.next_version += 1;
        let now = iso8601_now();
        policy.versions.insert(number, Version { document: document.to_owned(), create_date: now.clone() });
        if set_as_default {
            policy.default_version = number;
        }
        policy.update_date = now;
        let mut xml = Xml::default();
        xml.open("PolicyVersion");
        if let Some(version) = policy.versions.get(&number) {
            policy.write_version(&mut xml, number, version, false);
        }
        xml.close("PolicyVersion");
        Ok(Some(xml.into_string()))
    }

    pub(super) fn get_policy_version(&mut self, params: &Params) -> Answer {
        let number = version_number(params)?;
        let policy = self.managed_policy(params)?;
        let version = policy.versions.get(&number).ok_or_else(|| {
            no_such_entity(format!("Policy {} version v{number} does not exist or is not attachable.", policy.arn))
        })?;
        let mut xml = Xml::default();
        xml.open("PolicyVersion");
        policy.write_version(&mut xml, number, version, true);
        xml.close("PolicyVersion");
        Ok(Some(xml.into_string()))
    }

    /// ListPolicyVersions: every version (five at most, so one page), oldest first.
    pub(super) fn list_policy_versions(&mut self, params: &Params) -> Answer {
        let policy = self.managed_policy(params)?;
        let mut xml = Xml::default();
        xml.open("Versions");
        for (number, version) in &policy.versions {
            xml.open("member");
            policy.write_version(&mut xml, *number, version, false);
            xml.close("member");
        }
        xml.close("Versions").leaf("IsTruncated", "false");
        Ok(Some(xml.into_string()))
    }

    pub(super) fn delete_policy_version(&mut self, params: &Params) -> Answer {
        let number = version_number(params)?;
        let policy = self.managed_policy(params)?;
        if number == policy.default_version {
            return Err(delete_conflict("Cannot delete the default version of a policy."));
        }
        if policy.versions.remove(&number).is_none() {
            return Err(no_such_entity(format!(
                "Policy {} version v{number} does not exist or is not attachable.",
                policy.arn
            )));
        }
        Ok(None)
    }

    pub(super) fn tag_policy(&mut self, params: &Params) -> Answer {
        let tags = params.tags()?;
        self.managed_policy(params)?.tags.extend(tags);
        Ok(None)
    }

    pub(super) fn untag_policy(&mut self, params: &Params) -> Answer {
        untag(&mut self.managed_policy(params)?.tags, params);
        Ok(None)
    }

    pub(super) fn list_policy_tags(&mut self, params: &Params) -> Answer {
        let policy = self.managed_policy(params)?;
        let mut xml = Xml::default();
        xml.tags(&policy.tags).leaf("IsTruncated", "false");
        Ok(Some(xml.into_string()))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    const DOCUMENT: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
            })
            .collect();
        Params::parse(body.join("&").as_bytes())
    }

    #[test]
    fn five_versions_at_most_the_default_stays_and_delete_needs_no_other_versions() {
        let mut iam = IamState::new(rand::rngs::StdRng::seed_from_u64(0), std::time::Duration::ZERO);
        iam.create_policy("123456789012", &params(&[("PolicyName", "p"), ("PolicyDocument", DOCUMENT)])).unwrap();
        let arn = "arn:aws:iam::123456789012:policy/p";
        let new_version = [("PolicyArn", arn), ("PolicyDocument", DOCUMENT), ("SetAsDefault", "true")];
        for _ in 0..4 {
            iam.create_policy_version(&params(&new_version)).unwrap();
        }
        let error = iam.create_policy_version(&params(&new_version)).unwrap_err();
        assert_eq!(error.code, "LimitExceeded");
        let error = iam.delete_policy_version(&params(&[("PolicyArn", arn), ("VersionId", "v5")])).unwrap_err();
        assert_eq!(error.code, "DeleteConflict", "v5 is the default");
        let error = iam.delete_policy(&params(&[("PolicyArn", arn)])).unwrap_err();
        assert_eq!(error.code, "DeleteConflict");
        for version in ["v1", "v2", "v3", "v4"] {
            iam.delete_policy_version(&params(&[("PolicyArn", arn), ("VersionId", version)])).unwrap();
        }
        iam.delete_policy(&params(&[("PolicyArn", arn)])).unwrap();
        assert_eq!(iam.get_policy(&params(&[("PolicyArn", arn)])).unwrap_err().code, "NoSuchEntity");
        assert_eq!(iam.attachable(arn).unwrap_err().code, "NoSuchEntity");
        assert!(iam.attachable("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
    }
}
