//! Cross-cloud checks: the troubleshooting tables of the seed documents as errors and warnings,
//! found in the planned values before any call is made. The engine runs them (as a
//! `trustform_engine::Check` the CLI gives it) over every normal plan's planned values, and
//! `trustform lint` and `validate` over a plan that contacts no cloud (`Engine::lint`). Each check has a stable code, points at the resource at fault and the one
//! it disagrees with, and says how to fix it. A string known only after apply is judged by its
//! shape ([`shape`]: a template's known text, its holes and the references they come from), so
//! a member written `"principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.aws.name}/..."`
//! is checked at plan and at lint; what a check cannot tell from the known parts is not judged.
//!
//! Workload identity federation into Google Cloud ([`gcp`]):
//!
//! * TF1301: a `principalSet://` or `principal://` member names its project by ID; Google matches
//!   workload identity principals by project **number** only.
//! * TF1302: `attribute.aws_role/arn:aws:iam::ACCT:role/NAME` under a pool provider with Google's
//!   default AWS mapping, which gives `attribute.aws_role` the session's
//!   `arn:aws:sts::ACCT:assumed-role/NAME`: the grant matches no token.
//! * TF1303: the principalSet's AWS account is not the account its pool's AWS provider trusts.
//! * TF1304: an `external_account` credential's audience names the project by ID.
//! * TF1305: `vertex_project` (an output or variable named so, or litellm's key) holds the project
//!   number; Vertex AI wants the project ID.
//! * TF1306: an `attribute.X` of a principalSet or an `attribute_condition` that the pool
//!   provider's mapping (or Google's default) does not map.
//! * TF1307: the service account a credential config impersonates has no
//!   `roles/iam.workloadIdentityUser` grant to the pool's principals.
//! * TF1308: a credential source that mixes the Fargate endpoints (`169.254.170.2`) with the
//!   instance metadata service or with an IMDSv2 session token URL.
//! * TF1309 (warning): the spec runs its workload on EKS Pod Identity but every credential config
//!   reads the EC2 instance metadata service.
//! * TF1316: a credential config's audience names a provider its pool (in the spec) lacks.
//! * TF1321 (warning): a grant to `principalSet://.../workloadIdentityPools/POOL/*`, every
//!   identity of the pool.
//! * TF1322 (warning): an OIDC pool provider with no `attribute_condition` (every token of its
//!   issuer is exchanged), or an AWS one whose pool is granted without naming a role.
//!
//! AWS trust policies ([`aws`]):
//!
//! * TF1310: an IRSA role's `:sub` condition is not `system:serviceaccount:NAMESPACE:NAME`, or
//!   does not name the service account the spec's pod identity association gives the role.
//! * TF1311: an IRSA role's `:aud` condition is not `sts.amazonaws.com`.
//! * TF1312: the role of a pod identity association does not trust `pods.eks.amazonaws.com` with
//!   `sts:AssumeRole` and `sts:TagSession`.
//! * TF1313 (warning): a web identity trust whose conditions admit any organisation, any
//!   repository (project, namespace) or any branch of its issuer, judged by what the conditions
//!   match ([`trust`]: GitHub, GitLab, CircleCI, Bitbucket, HCP Terraform, Google, EKS, AKS, and
//!   any other issuer by the same rules); negative operators narrow nothing.
//!
//! Azure ([`azure`]) and the whole spec:
//!
//! * TF1314: a role assignment's scope lies outside its role definition's assignable scopes.
//! * TF1326: a managed identity's federated credential for a service account trusts another
//!   issuer than its EKS cluster's.
//! * TF1327: its subject is not `system:serviceaccount:NAMESPACE:NAME`, or not the service
//!   account the spec's pod identity association runs the gateway as.
//! * TF1328: its audience is not the one the pods' projected token requests (an output named
//!   `*TOKEN_AUDIENCE`).
//! * TF1329: a managed identity's `client_id` given as a role assignment's `principal_id`, or its
//!   `principal_id` output as a `*CLIENT_ID`.
//! * TF1330: a role the gateway's JWT auth allows (an output `*JWT_ALLOWED_ROLES`) that no
//!   `azuread_application` of the spec defines as an app role.
//! * TF1315 (warning): a spec that federates (pool provider, OIDC provider, pod identity, web
//!   identity trust) also emits a client secret as an output.
//!
//! Vault ([`vault`], seed 003's secrets handed to External Secrets by Kubernetes auth):
//!
//! * TF1317: a Kubernetes auth method's `issuer` is not its EKS cluster's OIDC issuer.
//! * TF1318: a Kubernetes auth role bound to `*` service accounts or namespaces.
//! * TF1319: a Kubernetes auth role's policy grants more than read on a secret the spec writes.
//! * TF1320: a generated secret (a `random_password`'s result) flows into an output (so the env
//!   file) or into an argument its provider does not hold as sensitive.

mod aws;
mod azure;
mod gcp;
mod shape;
mod trust;
mod vault;

use serde_json::{Map, Value as Json};
use shape::Holes;
use std::collections::BTreeMap;
use std::fmt::Display;
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_engine::{Check, CheckInput};
use trustform_lang::config::Config;
use trustform_lang::{Mode, ResourceAddr, Value};
use trustform_plan::Plan;

/// The cross-cloud checks, as the engine runs them (`EngineOptions::checks`).
pub struct CrossCloud;

impl Check for CrossCloud {
    fn check(&self, input: &CheckInput<'_>) -> Diagnostics {
        let plan = input.plan;
        let holes = Holes::new(move |address| plan.change(address)?.after());
        let spec = Spec { config: input.config, variables: input.variables, plan, holes };
        let mut diags = Diagnostics::new();
        gcp::checks(&spec, &mut diags);
        aws::checks(&spec, &mut diags);
        azure::checks(&spec, &mut diags);
        vault::checks(&spec, input.providers, &mut diags);
        emitted_secrets(&spec, &mut diags);
        diags
    }
}

/// Every check of this crate, for `EngineOptions::checks`.
pub fn all() -> Vec<std::sync::Arc<dyn Check>> {
    vec![std::sync::Arc::new(CrossCloud)]
}

/// What the checks read: the configuration (for locations), the variables and the plan.
struct Spec<'s> {
    config: &'s Config,
    variables: &'s BTreeMap<String, Value>,
    plan: &'s Plan,
    /// The holes of the partially known strings read so far.
    holes: Holes<'s>,
}

/// Where a value the checks judge comes from.
#[derive(Clone, Copy)]
enum Origin<'s> {
    Resource(&'s ResourceAddr),
    Output(&'s str),
    Variable(&'s str),
}

impl Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Resource(address) => write!(f, "{address}"),
            Origin::Output(name) => write!(f, "output.{name}"),
            Origin::Variable(name) => write!(f, "var.{name}"),
        }
    }
}

impl<'s> Spec<'s> {
    /// The planned value of every managed resource of `type_name`.
    fn resources(&self, type_name: &'s str) -> impl Iterator<Item = (&'s ResourceAddr, &'s Value)> + 's {
        self.instances(Mode::Managed, type_name)
    }

    /// The planned (or read) value of every data source of `type_name`.
    fn data(&self, type_name: &'s str) -> impl Iterator<Item = (&'s ResourceAddr, &'s Value)> + 's {
        self.instances(Mode::Data, type_name)
    }

    fn instances(&self, mode: Mode, type_name: &'s str) -> impl Iterator<Item = (&'s ResourceAddr, &'s Value)> + 's {
        let plan: &'s Plan = self.plan;
        plan.changes.iter().filter_map(move |change| {
            let after = change.after()?;
            (change.address.resource.mode == mode && change.type_name() == type_name)
                .then_some((&change.address, after))
        })
    }

    /// A string argument, known or partially known (see [`shape`]).
    fn shaped(&self, value: &Value, name: &str) -> Option<String> {
        self.holes.text(value.get(name)?)
    }

    /// A string value, known or partially known (see [`shape`]).
    fn holes_text(&self, value: &Value) -> Option<String> {
        self.holes.text(value)
    }

    /// A string the checks read, as the user would write it: holes as `${REFERENCE}`.
    fn show(&self, text: &str) -> String {
        self.holes.show(text)
    }

    /// The addresses a resource instance depends on.
    fn dependencies(&self, address: &ResourceAddr) -> &'s [ResourceAddr] {
        self.plan.change(address).map(|change| change.dependencies.as_slice()).unwrap_or_default()
    }

    /// The module configuration and block of a resource, in whichever module it is.
    fn block(&self, address: &ResourceAddr) -> Option<(&'s Config, &'s trustform_lang::config::Resource)> {
        let module = self.config.module(&address.module)?;
        Some((module, module.resources.get(&address.resource)?))
    }

    /// The block of a resource.
    fn span(&self, address: &ResourceAddr) -> Option<Span> {
        self.block(address).map(|(_, resource)| resource.span.clone())
    }

    /// One argument of a resource block, or the block when the argument is not written.
    fn attr_span(&self, address: &ResourceAddr, name: &str) -> Option<Span> {
        let (module, resource) = self.block(address)?;
        resource
            .body
            .attributes
            .get(name)
            .and_then(|attr| module.attr_span(&resource.body, attr))
            .or_else(|| Some(resource.span.clone()))
    }

    /// One argument of a nested block of a resource (`url` of `url_source`), or the nested block,
    /// or the resource block when neither is written.
    fn nested_attr_span(&self, address: &ResourceAddr, block: &str, name: &str) -> Option<Span> {
        let resource = self.config.resources.get(&address.resource)?;
        let Some(nested) = resource.body.blocks.iter().find(|nested| nested.kind == block) else {
            return Some(resource.span.clone());
        };
        nested
            .body
            .attributes
            .get(name)
            .and_then(|attr| self.config.attr_span(&nested.body, attr))
            .or_else(|| self.config.body_span(&nested.body))
            .or_else(|| Some(resource.span.clone()))
    }

    /// Whether the resource block writes `name` (rather than leaving a default to the cloud).
    fn writes(&self, address: &ResourceAddr, name: &str) -> bool {
        self.block(address).is_some_and(|(_, resource)| resource.body.attributes.contains_key(name))
    }

    fn origin_span(&self, origin: Origin<'_>) -> Option<Span> {
        match origin {
            Origin::Resource(address) => self.span(address),
            Origin::Output(name) => self.config.outputs.get(name).map(|output| output.span.clone()),
            Origin::Variable(name) => self.config.variables.get(name).map(|variable| variable.span.clone()),
        }
    }

    /// Every planned output value and every planned resource value, with where it comes from.
    fn all_values(&self) -> impl Iterator<Item = (Origin<'s>, &'s Value)> + 's {
        let plan: &'s Plan = self.plan;
        let outputs = plan
            .outputs
            .iter()
            .filter_map(|(name, output)| Some((Origin::Output(name.as_str()), output.after.as_ref()?)));
        let resources =
            plan.changes.iter().filter_map(|change| Some((Origin::Resource(&change.address), change.after()?)));
        outputs.chain(resources)
    }
}

/// A diagnostic that names the resource at fault and the other places taking part.
fn finding(
    diagnostic: Diagnostic,
    at: Option<Span>,
    address: impl Display,
    related: impl IntoIterator<Item = Option<Span>>,
) -> Diagnostic {
    let related: Vec<Span> = related.into_iter().flatten().filter(|span| Some(span) != at.as_ref()).collect();
    diagnostic.with_span(at).with_related(related).with_address(address)
}

fn text<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// Whether `needle` appears in any string or object key inside `value`: a cheap test, without
/// copying anything, that spares [`json_objects`] the values that cannot hold what a check
/// looks for (nearly all of them, in a large plan).
fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(text) => text.contains(needle),
        Value::Partial(shape) => {
            shape.parts().iter().any(|part| matches!(part, trustform_lang::Part::Text(text) if text.contains(needle)))
        }
        Value::List(items) => items.iter().any(|item| mentions(item, needle)),
        Value::Object(map) => map.iter().any(|(key, item)| key.contains(needle) || mentions(item, needle)),
        Value::Sensitive(inner) => mentions(inner, needle),
        _ => false,
    }
}

impl Spec<'_> {
    /// Every JSON object inside `value`, at any depth, including objects in strings that hold
    /// JSON documents (`jsonencode` of a credential config, say), partially known strings and
    /// documents read with their holes ([`shape`]). Unknowns read as null.
    fn json_objects(&self, value: &Value) -> Vec<Map<String, Json>> {
        let mut out = Vec::new();
        collect_objects(&self.shaped_json_of(value), &mut out, 0);
        out
    }

    /// `value` as JSON, each partially known string as its text with holes.
    fn shaped_json_of(&self, value: &Value) -> Json {
        match value {
            Value::Partial(_) => self.holes.text(value).map_or(Json::Null, Json::String),
            Value::List(items) => Json::Array(items.iter().map(|item| self.shaped_json_of(item)).collect()),
            Value::Object(map) => {
                Json::Object(map.iter().map(|(key, item)| (key.clone(), self.shaped_json_of(item))).collect())
            }
            Value::Sensitive(inner) => self.shaped_json_of(inner),
            other => other.to_json(),
        }
    }
}

fn collect_objects(json: &Json, out: &mut Vec<Map<String, Json>>, depth: usize) {
    // Documents inside documents inside documents are not a credential anyone writes.
    if depth > 4 {
        return;
    }
    match json {
        Json::Object(map) => {
            out.push(map.clone());
            for value in map.values() {
                collect_objects(value, out, depth);
            }
        }
        Json::Array(items) => items.iter().for_each(|item| collect_objects(item, out, depth)),
        Json::String(text) if text.trim_start().starts_with('{') => {
            if let Some(parsed) = shaped_json(text) {
                collect_objects(&parsed, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// A JSON document known or partially known (see [`shape`]): a hole inside a string stays in
/// the string; a hole that stands for a whole value (an unknown `jsonencode` met) is read as a
/// string holding only the hole, so the document still parses.
fn shaped_json(text: &str) -> Option<Json> {
    if shape::known(text).is_some() {
        return serde_json::from_str(text).ok();
    }
    let mut quoted = String::with_capacity(text.len() + 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            quoted.push(c);
        } else if shape::is_hole(c) {
            quoted.push('"');
            quoted.push(c);
            quoted.push('"');
        } else {
            in_string = c == '"';
            quoted.push(c);
        }
    }
    serde_json::from_str(&quoted).ok()
}

/// A string or list of strings in a JSON document (policy `Action`, `Principal.Service`, a
/// condition's values); anything else is empty.
fn json_strings(json: Option<&Json>) -> Vec<&str> {
    match json {
        Some(Json::String(text)) => vec![text.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Output names that carry a client secret or a static secret key.
const SECRET_OUTPUT_NAMES: &[&str] = &["CLIENT_SECRET", "SECRET_ACCESS_KEY", "PRIVATE_KEY"];

/// TF1315: a spec that sets up keyless federation and still hands out a long-lived secret.
fn emitted_secrets(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let federation = spec
        .plan
        .changes
        .iter()
        .filter(|change| change.after().is_some() && change.address.resource.mode == Mode::Managed)
        .find(|change| {
            let web_identity = || {
                change
                    .after()
                    .and_then(|after| text(after, "assume_role_policy"))
                    .is_some_and(|policy| policy.contains("sts:AssumeRoleWithWebIdentity"))
            };
            match change.type_name() {
                "google_iam_workload_identity_pool_provider"
                | "aws_iam_openid_connect_provider"
                | "aws_eks_pod_identity_association" => true,
                "aws_iam_role" => web_identity(),
                _ => false,
            }
        });
    let Some(federation) = federation else { return };
    for (name, output) in &spec.config.outputs {
        let upper = name.to_ascii_uppercase();
        if !SECRET_OUTPUT_NAMES.iter().any(|secret| upper.contains(secret)) {
            continue;
        }
        if spec.plan.outputs.get(name).and_then(|o| o.after.as_ref()).is_some_and(Value::is_null) {
            continue;
        }
        diags.push(finding(
            Diagnostic::warning(
                "TF1315",
                "Spec federates but also emits a secret",
                format!(
                    "output.{name} hands out a long-lived secret, while {} sets up keyless federation: whoever \
                     reads deployment_outputs.env can use the secret from anywhere, and it must be rotated by \
                     hand, which defeats keyless identity. Remove the output and let the workload use its \
                     federated identity (for Azure, a federated credential on the application and \
                     AZURE_FEDERATED_TOKEN_FILE instead of AZURE_CLIENT_SECRET).",
                    federation.address
                ),
            ),
            Some(output.span.clone()),
            format!("output.{name}"),
            [spec.span(&federation.address)],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_finds_keys_and_text_at_any_depth_and_nothing_else() {
        let value = Value::object([
            (
                "input",
                Value::object([("litellm", Value::List(vec![Value::object([("vertex_project", Value::from("p"))])]))]),
            ),
            ("doc", Value::from(r#"{"type":"external_account"}"#).mark_if(true)),
            ("n", Value::from(7)),
        ]);
        assert!(mentions(&value, "vertex_project"), "an object key, two levels down");
        assert!(mentions(&value, "external_account"), "inside a sensitive JSON string");
        assert!(!mentions(&value, "workload_identity"));
        assert!(!mentions(&Value::Unknown, "x"));
    }
}
