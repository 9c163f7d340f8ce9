//! IAM, query protocol: roles, inline and attached role policies, customer managed policies and
//! their versions (`policies.rs`), OpenID Connect providers.
//!
//! Like real IAM, policy documents are answered URL-encoded and OIDC provider URLs without their
//! `https://` scheme, so clients exercise the normalisation they need against the real service.
//!
//! IAM is eventually consistent
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>):
//! for [`SandboxConfig::aws_iam_propagation_delay`](crate::SandboxConfig::aws_iam_propagation_delay)
//! after its create, a role or OIDC provider named as a principal in a trust policy makes
//! `CreateRole` and `UpdateAssumeRolePolicy` answer `MalformedPolicyDocument` "Invalid principal
//! in policy" (hashicorp/terraform-provider-aws#1388, #12436), and a new role is `NoSuchEntity` to
//! `PutRolePolicy` and `AttachRolePolicy` (hashicorp/terraform-provider-aws#18435).

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::rngs::StdRng;
use std::time::Duration;
use time::OffsetDateTime;

use crate::ids::{iso8601_now, random_id};
use crate::query::{invalid_action, Params, QueryError, Xml};
use crate::server::Shared;

mod policies;

/// Everything but RFC 3986's unreserved characters is escaped, as IAM does.
const POLICY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// IAM's default and largest page size for list operations.
const MAX_ITEMS: usize = 1000;
const DEFAULT_MAX_ITEMS: usize = 100;

const DEFAULT_MAX_SESSION_DURATION: u32 = 3600;

pub(crate) struct IamState {
    roles: BTreeMap<String, Role>,
    /// Keyed by ARN.
    oidc_providers: BTreeMap<String, OidcProvider>,
    /// Customer managed policies, keyed by ARN.
    managed_policies: BTreeMap<String, policies::ManagedPolicy>,
    rng: StdRng,
    propagation_delay: Duration,
}

struct Role {
    name: String,
    path: String,
    id: String,
    arn: String,
    create_date: String,
    assume_role_policy: String,
    description: Option<String>,
    max_session_duration: u32,
    permissions_boundary: Option<String>,
    tags: BTreeMap<String, String>,
    inline_policies: BTreeMap<String, String>,
    attached_policies: BTreeSet<String>,
    /// Before this, other IAM operations do not know the role yet.
    propagated_at: OffsetDateTime,
}

struct OidcProvider {
    /// Without the `https://` scheme, as IAM stores and returns it.
    url: String,
    client_ids: Vec<String>,
    thumbprints: Vec<String>,
    create_date: String,
    tags: BTreeMap<String, String>,
    /// Before this, trust policies naming the provider are refused.
    propagated_at: OffsetDateTime,
}

type Answer = Result<Option<String>, QueryError>;

fn no_such_entity(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::NOT_FOUND, "NoSuchEntity", message)
}

fn already_exists(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::CONFLICT, "EntityAlreadyExists", message)
}

fn delete_conflict(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::CONFLICT, "DeleteConflict", message)
}

fn invalid_input(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::BAD_REQUEST, "InvalidInput", message)
}

fn pattern_error(value: &str, member: &str, pattern: &str) -> QueryError {
    QueryError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    ))
}

/// Role and policy names: `[\w+=,.@-]+`, 1 to `max` characters.
fn validate_name(value: &str, member: &str, max: usize) -> Result<(), QueryError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if value.is_empty() || value.chars().count() > max || !value.chars().all(allowed) {
        return Err(pattern_error(value, member, r"[\w+=,.@-]+"));
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), QueryError> {
    let printable = path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if !path.starts_with('/') || !path.ends_with('/') || !printable || path.len() > 512 {
        return Err(pattern_error(path, "path", r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"));
    }
    Ok(())
}

/// IAM's grammar check, reduced to what a client can get wrong: the document must be a JSON
/// object with a `Statement`.
fn validate_policy(document: &str) -> Result<(), QueryError> {
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(document);
    match parsed {
        Ok(serde_json::Value::Object(object)) if object.contains_key("Statement") => Ok(()),
        Ok(_) => Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "MalformedPolicyDocument",
            "Policy document must contain a Statement.",
        )),
        Err(_) => Err(QueryError::new(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", "Syntax errors in policy.")),
    }
}

fn validate_policy_arn(arn: &str) -> Result<(), QueryError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && !account.is_empty()
                && resource.strip_prefix("policy/").is_some_and(|name| !name.is_empty())
    );
    if valid {
        Ok(())
    } else {
        Err(invalid_input(format!("ARN {arn} is not valid.")))
    }
}

/// The `AWS` and `Federated` principals of a policy document's statements, as (type, ARN);
/// principals given as a single string or a list alike.
fn trust_principals(document: &str) -> Vec<(&'static str, String)> {
    let Ok(parsed) = serde_json::from_str::<serde_json::Value>(document) else {
        return Vec::new();
    };
    let statements = match &parsed["Statement"] {
        serde_json::Value::Array(statements) => statements.iter().collect(),
        statement => vec![statement],
    };
    let mut principals = Vec::new();
    for statement in statements {
        for kind in ["AWS", "Federated"] {
            match &statement["Principal"][kind] {
                serde_json::Value::String(arn) => principals.push((kind, arn.clone())),
                serde_json::Value::Array(arns) => {
                    principals.extend(arns.iter().filter_map(|arn| arn.as_str()).map(|arn| (kind, arn.to_owned())))
                }
                _ => {}
            }
        }
    }
    principals
}

fn encode_policy(document: &str) -> String {
    utf8_percent_encode(document, POLICY_ESCAPES).to_string()
}

fn max_session_duration(params: &Params) -> Result<Option<u32>, QueryError> {
    let Some(raw) = params.get("MaxSessionDuration") else {
        return Ok(None);
    };
    raw.parse()
        .ok()
        .filter(|seconds| (3600..=43200).contains(seconds))
        .map(Some)
        .ok_or_else(|| {
            QueryError::validation(format!(
                "1 validation error detected: Value '{raw}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200"
            ))
        })
}

/// One page of `items` after `marker`, with the marker for the next page if there is one.
fn paginate<'a>(
    items: impl IntoIterator<Item = &'a String>,
    params: &Params,
) -> Result<(Vec<&'a String>, Option<String>), QueryError> {
    let max_items = match params.get("MaxItems") {
        None => DEFAULT_MAX_ITEMS,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|max| (1..=MAX_ITEMS).contains(max))
            .ok_or_else(|| {
                QueryError::validation(format!(
                    "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and {MAX_ITEMS}"
                ))
            })?,
    };
    let marker = params.get("Marker");
    let mut rest = items.into_iter().filter(|item| marker.is_none_or(|marker| item.as_str() >= marker));
    let page: Vec<&String> = rest.by_ref().take(max_items).collect();
    Ok((page, rest.next().cloned()))
}

fn page_xml<'a>(
    list: &str,
    page: Vec<&'a String>,
    next: Option<String>,
    item: impl Fn(&mut Xml, &'a String),
) -> String {
    let mut xml = Xml::default();
    xml.open(list);
    for entry in page {
        xml.open("member");
        item(&mut xml, entry);
        xml.close("member");
    }
    xml.close(list);
    xml.leaf("IsTruncated", if next.is_some() { "true" } else { "false" });
    if let Some(marker) = next {
        xml.leaf("Marker", &marker);
    }
    xml.into_string()
}

impl Role {
    /// The `<Role>` element of CreateRole and GetRole.
    fn write(&self, xml: &mut Xml) {
        xml.open("Role");
        self.write_summary(xml);
        if let Some(boundary) = &self.permissions_boundary {
            xml.open("PermissionsBoundary")
                .leaf("PermissionsBoundaryType", "Policy")
                .leaf("PermissionsBoundaryArn", boundary)
                .close("PermissionsBoundary");
        }
        if !self.tags.is_empty() {
            xml.tags(&self.tags);
        }
        xml.open("RoleLastUsed").close("RoleLastUsed");
        xml.close("Role");
    }

    /// The fields ListRoles returns: everything but the permissions boundary, tags and last use.
    fn write_summary(&self, xml: &mut Xml) {
        xml.leaf("Path", &self.path)
            .leaf("RoleName", &self.name)
            .leaf("RoleId", &self.id)
            .leaf("Arn", &self.arn)
            .leaf("CreateDate", &self.create_date)
            .leaf("AssumeRolePolicyDocument", &encode_policy(&self.assume_role_policy));
        if let Some(description) = &self.description {
            xml.leaf("Description", description);
        }
        xml.leaf("MaxSessionDuration", &self.max_session_duration.to_string());
    }
}

/// UntagRole and UntagOpenIDConnectProvider: the `TagKeys` removed; absent keys are no error.
fn untag(tags: &mut BTreeMap<String, String>, params: &Params) {
    for key in params.list("TagKeys") {
        tags.remove(&key);
    }
}

impl IamState {
    pub(crate) fn new(rng: StdRng, propagation_delay: Duration) -> IamState {
        IamState {
            roles: BTreeMap::new(),
            oidc_providers: BTreeMap::new(),
            managed_policies: BTreeMap::new(),
            rng,
            propagation_delay,
        }
    }

    fn role(&mut self, params: &Params) -> Result<&mut Role, QueryError> {
        let name = params.required("RoleName")?;
        self.roles.get_mut(name).ok_or_else(|| no_such_entity(format!("The role with name {name} cannot be found.")))
    }

    /// The role, once IAM's other operations know it: a role created a moment ago is not found.
    fn propagated_role(&mut self, params: &Params) -> Result<&mut Role, QueryError> {
        let role = self.role(params)?;
        if role.propagated_at > crate::ids::now() {
            return Err(no_such_entity(format!("The role with name {} cannot be found.", role.name)));
        }
        Ok(role)
    }

    /// Refuses a trust policy naming a role or OIDC provider of this account that IAM has not
    /// propagated yet, in IAM's words.
    fn check_principals(&self, document: &str) -> Result<(), QueryError> {
        let now = crate::ids::now();
        let not_yet = |arn: &str| {
            let role = arn.split_once(":role/").and_then(|(_, path)| path.rsplit('/').next());
            let role = role.and_then(|name| self.roles.get(name)).filter(|role| role.arn == arn);
            let provider = self.oidc_providers.get(arn);
            role.map(|role| role.propagated_at)
                .or(provider.map(|provider| provider.propagated_at))
                .is_some_and(|at| at > now)
        };
        match trust_principals(document).into_iter().find(|(_, arn)| not_yet(arn)) {
            Some((kind, arn)) => Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "MalformedPolicyDocument",
                format!("Invalid principal in policy: \"{kind}\":\"{arn}\""),
            )),
            None => Ok(()),
        }
    }

    fn oidc_provider(&mut self, params: &Params) -> Result<&mut OidcProvider, QueryError> {
        let arn = oidc_provider_arn(params)?;
        self.oidc_providers.get_mut(arn).ok_or_else(|| oidc_provider_not_found(arn))
    }

    fn create_role(&mut self, account_id: &str, params: &Params) -> Answer {
        let name = params.required("RoleName")?;
        validate_name(name, "roleName", 64)?;
        let path = params.get("Path").unwrap_or("/");
        validate_path(path)?;
        let document = params.required("AssumeRolePolicyDocument")?;
        validate_policy(document)?;
        self.check_principals(document)?;
        let max_session_duration = max_session_duration(params)?.unwrap_or(DEFAULT_MAX_SESSION_DURATION);
        let permissions_boundary = params.get("PermissionsBoundary").map(str::to_owned);
        if let Some(boundary) = &permissions_boundary {
            validate_policy_arn(boundary)?;
        }
        let tags = params.tags()?.into_iter().collect();
        // IAM names are unique regardless of case.
        if self.roles.keys().any(|existing| existing.eq_ignore_ascii_case(name)) {
            return Err(already_exists(format!("Role with name {name} already exists.")));
        }
        let role = Role {
            name: name.to_owned(),
            path: path.to_owned(),
            id: format!("AROA{}", random_id(&mut self.rng, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
            arn: format!("arn:aws:iam::{account_id}:role{path}{name}"),
            create_date: iso8601_now(),
            assume_role_policy: document.to_owned(),
            description: params.get("Description").map(str::to_owned),
            max_session_duration,
            permissions_boundary,
            tags,
            inline_policies: BTreeMap::new(),
            attached_policies: BTreeSet::new(),
            propagated_at: crate::ids::now() + self.propagation_delay,
        };
        let mut xml = Xml::default();
        role.write(&mut xml);
        self.roles.insert(name.to_owned(), role);
        Ok(Some(xml.into_string()))
    }

    fn get_role(&mut self, params: &Params) -> Answer {
        let mut xml = Xml::default();
        self.role(params)?.write(&mut xml);
        Ok(Some(xml.into_string()))
    }

    /// ListRoles, in name order, filtered by `PathPrefix` (default `/`) and paginated.
    fn list_roles(&self, params: &Params) -> Answer {
        let prefix = params.get("PathPrefix").unwrap_or("/");
        let matching = self.roles.values().filter(|role| role.path.starts_with(prefix)).map(|role| &role.name);
        let (page, next) = paginate(matching, params)?;
        Ok(Some(page_xml("Roles", page, next, |xml, name| {
            if let Some(role) = self.roles.get(name.as_str()) {
                role.write_summary(xml);
            }
        })))
    }

    fn update_assume_role_policy(&mut self, params: &Params) -> Answer {
        let document = params.required("PolicyDocument")?;
        validate_policy(document)?;
        self.check_principals(document)?;
        self.role(params)?.assume_role_policy = document.to_owned();
        Ok(None)
    }

    fn update_role(&mut self, params: &Params) -> Answer {
        let duration = max_session_duration(params)?;
        let role = self.role(params)?;
        if let Some(description) = params.get("Description") {
            role.description = Some(description.to_owned()).filter(|d| !d.is_empty());
        }
        if let Some(duration) = duration {
            role.max_session_duration = duration;
        }
        Ok(Some(String::new()))
    }

    fn delete_role(&mut self, params: &Params) -> Answer {
        let role = self.role(params)?;
        if !role.inline_policies.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        if !role.attached_policies.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must detach all policies first."));
        }
        let name = role.name.clone();
        self.roles.remove(&name);
        Ok(None)
    }

    fn tag_role(&mut self, params: &Params) -> Answer {
        let tags = params.tags()?;
        self.role(params)?.tags.extend(tags);
        Ok(None)
    }

    fn untag_role(&mut self, params: &Params) -> Answer {
        untag(&mut self.role(params)?.tags, params);
        Ok(None)
    }

    fn put_role_policy(&mut self, params: &Params) -> Answer {
        let policy_name = params.required("PolicyName")?;
        validate_name(policy_name, "policyName", 128)?;
        let document = params.required("PolicyDocument")?;
        validate_policy(document)?;
        self.propagated_role(params)?.inline_policies.insert(policy_name.to_owned(), document.to_owned());
        Ok(None)
    }

    fn get_role_policy(&mut self, params: &Params) -> Answer {
        let policy_name = params.required("PolicyName")?;
        let role = self.role(params)?;
        let document = role
            .inline_policies
            .get(policy_name)
            .ok_or_else(|| no_such_entity(format!("The role policy with name {policy_name} cannot be found.")))?;
        let mut xml = Xml::default();
        xml.leaf("RoleName", &role.name)
            .leaf("PolicyName", policy_name)
            .leaf("PolicyDocument", &encode_policy(document));
        Ok(Some(xml.into_string()))
    }

    fn delete_role_policy(&mut self, params: &Params) -> Answer {
        let policy_name = params.required("PolicyName")?;
        let role = self.role(params)?;
        role.inline_policies
            .remove(policy_name)
            .ok_or_else(|| no_such_entity(format!("The role policy with name {policy_name} cannot be found.")))?;
        Ok(None)
    }

    fn list_role_policies(&mut self, params: &Params) -> Answer {
        let role = self.role(params)?;
        let (page, next) = paginate(role.inline_policies.keys(), params)?;
        Ok(Some(page_xml("PolicyNames", page, next, |xml, name| {
            // List members of plain strings are bare text inside <member>.
            xml.text(name);
        })))
    }

    fn attach_role_policy(&mut self, params: &Params) -> Answer {
        let policy_arn = params.required("PolicyArn")?;
        validate_policy_arn(policy_arn)?;
        self.attachable(policy_arn)?;
        self.propagated_role(params)?.attached_policies.insert(policy_arn.to_owned());
        Ok(None)
    }

    fn detach_role_policy(&mut self, params: &Params) -> Answer {
        let policy_arn = params.required("PolicyArn")?;
        validate_policy_arn(policy_arn)?;
        if !self.role(params)?.attached_policies.remove(policy_arn) {
            return Err(no_such_entity(format!("Policy {policy_arn} was not found.")));
        }
        Ok(None)
    }

    fn list_attached_role_policies(&mut self, params: &Params) -> Answer {
        let role = self.role(params)?;
        let (page, next) = paginate(role.attached_policies.iter(), params)?;
        Ok(Some(page_xml("AttachedPolicies", page, next, |xml, arn| {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            xml.leaf("PolicyName", name).leaf("PolicyArn", arn);
        })))
    }

    fn create_oidc_provider(&mut self, account_id: &str, params: &Params) -> Answer {
        let url = params.required("Url")?;
        let Some(bare) = url.strip_prefix("https://").filter(|rest| !rest.is_empty()) else {
            return Err(invalid_input(format!("Invalid URL {url}: the URL must begin with https://")));
        };
        // Stored as given after the scheme: a trailing slash stays in the URL and the ARN, a
        // provider of its own (aws/aws-sam-cli#7432; moto does the same).
        let bare = bare.to_owned();
        let thumbprints = params.list("ThumbprintList");
        validate_thumbprints(&thumbprints)?;
        let arn = format!("arn:aws:iam::{account_id}:oidc-provider/{bare}");
        if self.oidc_providers.contains_key(&arn) {
            return Err(already_exists(format!("Provider with url https://{bare} already exists.")));
        }
        let provider = OidcProvider {
            url: bare,
            client_ids: dedup(params.list("ClientIDList")),
            thumbprints,
            create_date: iso8601_now(),
            tags: params.tags()?.into_iter().collect(),
            propagated_at: crate::ids::now() + self.propagation_delay,
        };
        let mut xml = Xml::default();
        xml.leaf("OpenIDConnectProviderArn", &arn);
        if !provider.tags.is_empty() {
            xml.tags(&provider.tags);
        }
        self.oidc_providers.insert(arn, provider);
        Ok(Some(xml.into_string()))
    }

    fn get_oidc_provider(&mut self, params: &Params) -> Answer {
        let provider = self.oidc_provider(params)?;
        let mut xml = Xml::default();
        xml.leaf("Url", &provider.url)
            .members("ClientIDList", &provider.client_ids)
            .members("ThumbprintList", &provider.thumbprints)
            .leaf("CreateDate", &provider.create_date);
        if !provider.tags.is_empty() {
            xml.tags(&provider.tags);
        }
        Ok(Some(xml.into_string()))
    }

    fn delete_oidc_provider(&mut self, params: &Params) -> Answer {
        let arn = oidc_provider_arn(params)?;
        self.oidc_providers.remove(arn).ok_or_else(|| oidc_provider_not_found(arn))?;
        Ok(None)
    }

    fn list_oidc_providers(&self) -> Answer {
        let mut xml = Xml::default();
        xml.open("OpenIDConnectProviderList");
        for arn in self.oidc_providers.keys() {
            xml.open("member").leaf("Arn", arn).close("member");
        }
        xml.close("OpenIDConnectProviderList");
        Ok(Some(xml.into_string()))
    }

    fn update_oidc_thumbprints(&mut self, params: &Params) -> Answer {
        let thumbprints = params.list("ThumbprintList");
        validate_thumbprints(&thumbprints)?;
        self.oidc_provider(params)?.thumbprints = thumbprints;
        Ok(None)
    }

    fn add_oidc_client_id(&mut self, params: &Params) -> Answer {
        let client_id = params.required("ClientID")?.to_owned();
        let provider = self.oidc_provider(params)?;
        // Adding an ID that is already there succeeds without duplicating it, as in IAM.
        if !provider.client_ids.contains(&client_id) {
            provider.client_ids.push(client_id);
        }
        Ok(None)
    }

    fn remove_oidc_client_id(&mut self, params: &Params) -> Answer {
        let client_id = params.required("ClientID")?;
        // Removing an absent ID succeeds, as in IAM.
        self.oidc_provider(params)?.client_ids.retain(|existing| existing != client_id);
        Ok(None)
    }

    fn tag_oidc_provider(&mut self, params: &Params) -> Answer {
        let tags = params.tags()?;
        self.oidc_provider(params)?.tags.extend(tags);
        Ok(None)
    }

    fn untag_oidc_provider(&mut self, params: &Params) -> Answer {
        untag(&mut self.oidc_provider(params)?.tags, params);
        Ok(None)
    }
}

fn oidc_provider_not_found(arn: &str) -> QueryError {
    no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

/// The provider ARN parameter; IAM rejects one that is not an OIDC provider ARN as invalid input
/// rather than as missing.
fn oidc_provider_arn(params: &Params) -> Result<&str, QueryError> {
    let arn = params.required("OpenIDConnectProviderArn")?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && !account.is_empty()
                && resource.strip_prefix("oidc-provider/").is_some_and(|url| !url.is_empty())
    );
    if valid {
        Ok(arn)
    } else {
        Err(invalid_input(format!("ARN {arn} is not valid.")))
    }
}

/// Thumbprints are 40 hex digits (a SHA-1); IAM takes at most five.
fn validate_thumbprints(thumbprints: &[String]) -> Result<(), QueryError> {
    if thumbprints.len() > 5 {
        return Err(QueryError::validation(
            "1 validation error detected: Value at 'thumbprintList' failed to satisfy constraint: Member must have length less than or equal to 5",
        ));
    }
    for thumbprint in thumbprints {
        if thumbprint.len() != 40 || !thumbprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(QueryError::validation(format!(
                "1 validation error detected: Value '{thumbprint}' at 'thumbprintList.member' failed to satisfy constraint: Member must have length greater than or equal to 40"
            )));
        }
    }
    Ok(())
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|item| seen.insert(item.clone())).collect()
}

/// What the token exchanges read of IAM (`federation`): only what has propagated.
impl IamState {
    /// The name and trust policy of the role with this ARN.
    pub(crate) fn trust_of(&self, arn: &str) -> Option<(String, String)> {
        let now = crate::ids::now();
        self.roles
            .values()
            .find(|role| role.arn == arn && role.propagated_at <= now)
            .map(|role| (role.name.clone(), role.assume_role_policy.clone()))
    }

    /// The client ids (audiences) of the OpenID Connect provider with this ARN.
    pub(crate) fn oidc_audiences(&self, arn: &str) -> Option<Vec<String>> {
        let now = crate::ids::now();
        self.oidc_providers.get(arn).filter(|provider| provider.propagated_at <= now).map(|p| p.client_ids.clone())
    }
}

/// Serves one IAM action in the account `account_id` (the request's, see
/// [`crate::query::signing_account`]); each account has its own roles and OIDC providers.
pub(crate) fn dispatch(shared: &Shared, account_id: &str, action: &str, params: &Params) -> Answer {
    let mut accounts = shared.iam();
    if !accounts.contains_key(account_id) {
        let fresh = shared.new_account_iam(account_id);
        accounts.insert(account_id.to_owned(), fresh);
    }
    let Some(iam) = accounts.get_mut(account_id) else { return Err(invalid_action(action, params.get("Version"))) };
    match action {
        "CreateRole" => iam.create_role(account_id, params),
        "GetRole" => iam.get_role(params),
        "ListRoles" => iam.list_roles(params),
        "UpdateAssumeRolePolicy" => iam.update_assume_role_policy(params),
        "UpdateRole" => iam.update_role(params),
        "DeleteRole" => iam.delete_role(params),
        "TagRole" => iam.tag_role(params),
        "UntagRole" => iam.untag_role(params),
        "PutRolePolicy" => iam.put_role_policy(params),
        "GetRolePolicy" => iam.get_role_policy(params),
        "DeleteRolePolicy" => iam.delete_role_policy(params),
        "ListRolePolicies" => iam.list_role_policies(params),
        "AttachRolePolicy" => iam.attach_role_policy(params),
        "DetachRolePolicy" => iam.detach_role_policy(params),
        "ListAttachedRolePolicies" => iam.list_attached_role_policies(params),
        "CreatePolicy" => iam.create_policy(account_id, params),
        "GetPolicy" => iam.get_policy(params),
        "DeletePolicy" => iam.delete_policy(params),
        "CreatePolicyVersion" => iam.create_policy_version(params),
        "GetPolicyVersion" => iam.get_policy_version(params),
        "ListPolicyVersions" => iam.list_policy_versions(params),
        "DeletePolicyVersion" => iam.delete_policy_version(params),
        "TagPolicy" => iam.tag_policy(params),
        "UntagPolicy" => iam.untag_policy(params),
        "ListPolicyTags" => iam.list_policy_tags(params),
        "CreateOpenIDConnectProvider" => iam.create_oidc_provider(account_id, params),
        "GetOpenIDConnectProvider" => iam.get_oidc_provider(params),
        "DeleteOpenIDConnectProvider" => iam.delete_oidc_provider(params),
        "ListOpenIDConnectProviders" => iam.list_oidc_providers(),
        "UpdateOpenIDConnectProviderThumbprint" => iam.update_oidc_thumbprints(params),
        "AddClientIDToOpenIDConnectProvider" => iam.add_oidc_client_id(params),
        "RemoveClientIDFromOpenIDConnectProvider" => iam.remove_oidc_client_id(params),
        "TagOpenIDConnectProvider" => iam.tag_oidc_provider(params),
        "UntagOpenIDConnectProvider" => iam.untag_oidc_provider(params),
        _ => Err(invalid_action(action, params.get("Version"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_encoded_like_iam_does() {
        assert_eq!(encode_policy(r#"{"Effect": "Allow"}"#), "%7B%22Effect%22%3A%20%22Allow%22%7D");
    }

    #[test]
    fn trust_principals_are_read_from_strings_and_lists() {
        let document = r#"{"Statement": [
            {"Principal": {"AWS": "arn:aws:iam::1:role/a", "Service": "eks.amazonaws.com"}},
            {"Principal": {"Federated": ["arn:aws:iam::1:oidc-provider/x", "arn:aws:iam::1:oidc-provider/y"]}}
        ]}"#;
        assert_eq!(
            trust_principals(document),
            vec![
                ("AWS", "arn:aws:iam::1:role/a".to_owned()),
                ("Federated", "arn:aws:iam::1:oidc-provider/x".to_owned()),
                ("Federated", "arn:aws:iam::1:oidc-provider/y".to_owned()),
            ]
        );
        assert!(trust_principals("{").is_empty());
    }

    #[test]
    fn policies_need_json_with_a_statement() {
        assert!(validate_policy(r#"{"Version":"2012-10-17","Statement":[]}"#).is_ok());
        assert_eq!(validate_policy("{").unwrap_err().code, "MalformedPolicyDocument");
        assert_eq!(validate_policy(r#"{"Version":"2012-10-17"}"#).unwrap_err().code, "MalformedPolicyDocument");
    }

    #[test]
    fn names_and_paths_follow_the_iam_patterns() {
        assert!(validate_name("app-role_1+=,.@", "roleName", 64).is_ok());
        assert!(validate_name("has space", "roleName", 64).is_err());
        assert!(validate_name(&"a".repeat(65), "roleName", 64).is_err());
        assert!(validate_path("/").is_ok());
        assert!(validate_path("/service/").is_ok());
        assert!(validate_path("service/").is_err());
        assert!(validate_path("/service").is_err());
    }

    #[test]
    fn pages_resume_at_the_marker() {
        let items: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        let params = Params::parse(b"MaxItems=2");
        let (page, next) = paginate(&items, &params).unwrap();
        assert_eq!(page, vec!["a", "b"]);
        assert_eq!(next.as_deref(), Some("c"));
        let params = Params::parse(b"MaxItems=2&Marker=c");
        let (page, next) = paginate(&items, &params).unwrap();
        assert_eq!(page, vec!["c"]);
        assert_eq!(next, None);
        assert!(paginate(&items, &Params::parse(b"MaxItems=0")).is_err());
    }

    #[test]
    fn thumbprints_are_sha1_hex() {
        assert!(validate_thumbprints(&["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_owned()]).is_ok());
        assert!(validate_thumbprints(&["abc".to_owned()]).is_err());
    }
}
