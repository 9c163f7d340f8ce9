//! The Vault checks (the hand-off of seed 003's gateway secrets to External Secrets through
//! Vault's Kubernetes auth): who may log in, what they may do with the spec's secrets, and
//! where a generated secret may go.

use super::{finding, text, Spec};
use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_engine::Providers;
use trustform_lang::config::Config;
use trustform_lang::{references, Mode, ModuleStep, ResourceAddr, Target, Value};

const CONFIG: &str = "vault_kubernetes_auth_backend_config";
const ROLE: &str = "vault_kubernetes_auth_backend_role";
const POLICY: &str = "vault_policy";
const SECRET: &str = "vault_kv_secret_v2";
const EKS_CLUSTER: &str = "aws_eks_cluster";

pub(super) fn checks(spec: &Spec<'_>, providers: &Providers, diags: &mut Diagnostics) {
    issuer_matches_cluster(spec, diags);
    roles_are_bound(spec, diags);
    roles_only_read_secrets(spec, diags);
    generated_secrets_stay_secret(spec, providers, diags);
}

/// A list or set of strings; empty when unset or unknown.
fn strings(value: &Value, name: &str) -> Vec<String> {
    value
        .get(name)
        .and_then(Value::as_list)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The OIDC issuer of an `aws_eks_cluster` data source: `identity[0].oidc[0].issuer`.
fn cluster_issuer(cluster: &Value) -> Option<&str> {
    let identity = cluster.get("identity")?.as_list()?.first()?;
    identity.get("oidc")?.as_list()?.first()?.get("issuer")?.as_str()
}

/// TF1317: the Kubernetes auth method trusts an issuer that is not its cluster's.
fn issuer_matches_cluster(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let clusters: Vec<(&ResourceAddr, &Value)> = spec.data(EKS_CLUSTER).collect();
    for (address, config) in spec.resources(CONFIG) {
        let Some(issuer) = text(config, "issuer") else { continue };
        // The cluster the configuration is built from, else the one whose API server it names.
        let depended: Vec<_> = clusters.iter().filter(|(c, _)| spec.dependencies(address).contains(c)).collect();
        let cluster = match depended.as_slice() {
            [one] => Some(**one),
            [] => clusters
                .iter()
                .find(|(_, c)| text(c, "endpoint").is_some_and(|e| Some(e) == text(config, "kubernetes_host")))
                .copied(),
            _ => None,
        };
        let Some((cluster_address, cluster)) = cluster else { continue };
        let Some(expected) = cluster_issuer(cluster) else { continue };
        if issuer.trim_end_matches('/') == expected.trim_end_matches('/') {
            continue;
        }
        diags.push(finding(
            Diagnostic::error(
                "TF1317",
                "Kubernetes auth trusts another issuer than the cluster's",
                format!(
                    "{address} sets issuer = {issuer:?}, but {cluster_address} issues its service-account tokens as \
                     {expected:?}: Vault would check the pods' tokens against the wrong issuer, so External Secrets \
                     cannot log in (or another cluster's tokens are trusted). Set issuer = \
                     {cluster_address}.identity[0].oidc[0].issuer."
                ),
            ),
            spec.attr_span(address, "issuer"),
            address,
            [spec.span(cluster_address)],
        ));
    }
}

/// TF1318: a role any service account, or any namespace, may log in with.
fn roles_are_bound(spec: &Spec<'_>, diags: &mut Diagnostics) {
    for (address, role) in spec.resources(ROLE) {
        for (argument, what) in
            [("bound_service_account_names", "service account"), ("bound_service_account_namespaces", "namespace")]
        {
            let bound = strings(role, argument);
            if !bound.iter().any(|name| name == "*") {
                continue;
            }
            diags.push(finding(
                Diagnostic::error(
                    "TF1318",
                    "Kubernetes auth role bound to every service account",
                    format!(
                        "{address} binds {argument} to \"*\": a pod of any {what} in the cluster can log in as this \
                         role and read what its policies allow. Name the service account and namespace that need \
                         it, e.g. [\"external-secrets\"]."
                    ),
                ),
                spec.attr_span(address, argument),
                address,
                [],
            ));
        }
    }
}

/// Capabilities that only read: anything else can change or destroy a secret.
const READ_ONLY: &[&str] = &["read", "list", "deny"];

/// TF1319: a Kubernetes auth role whose policies let its pods write or delete a secret the spec
/// keeps in Vault. External Secrets (the workloads' reader) needs `read` only.
fn roles_only_read_secrets(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let secrets: Vec<(&ResourceAddr, String)> = spec
        .resources(SECRET)
        .filter_map(|(address, secret)| {
            Some((address, format!("{}/data/{}", text(secret, "mount")?, text(secret, "name")?)))
        })
        .collect();
    if secrets.is_empty() {
        return;
    }
    let policies: BTreeMap<&str, (&ResourceAddr, &str)> = spec
        .resources(POLICY)
        .filter_map(|(address, policy)| Some((text(policy, "name")?, (address, text(policy, "policy")?))))
        .collect();
    for (address, role) in spec.resources(ROLE) {
        for name in strings(role, "token_policies") {
            let Some((policy_address, document)) = policies.get(name.as_str()) else { continue };
            for (pattern, capabilities) in policy_paths(document) {
                let granted: BTreeSet<&str> =
                    capabilities.iter().map(String::as_str).filter(|c| !READ_ONLY.contains(c)).collect();
                if granted.is_empty() {
                    continue;
                }
                let granted = granted.into_iter().collect::<Vec<_>>().join(", ");
                for (secret_address, path) in secrets.iter().filter(|(_, path)| path_matches(&pattern, path)) {
                    diags.push(finding(
                        Diagnostic::error(
                            "TF1319",
                            "Kubernetes auth role may change the spec's secrets",
                            format!(
                                "{address} gets policy {policy_address}, whose path {pattern:?} grants {granted} on {path} \
                                 ({secret_address}): a pod that logs in as this role can overwrite or delete the \
                                 secret, where reading it is all External Secrets needs. Grant capabilities = \
                                 [\"read\"] on that path.",
                            ),
                        ),
                        spec.attr_span(policy_address, "policy"),
                        address,
                        [spec.span(address), spec.span(secret_address)],
                    ));
                }
            }
        }
    }
}

/// The `path "PATTERN" { capabilities = [...] }` rules of an ACL policy, in HCL or JSON.
fn policy_paths(document: &str) -> Vec<(String, Vec<String>)> {
    if let Ok(serde_json::Value::Object(json)) = serde_json::from_str::<serde_json::Value>(document) {
        let Some(paths) = json.get("path").and_then(serde_json::Value::as_object) else { return Vec::new() };
        return paths
            .iter()
            .map(|(pattern, rule)| {
                (
                    pattern.clone(),
                    super::json_strings(rule.get("capabilities")).into_iter().map(str::to_owned).collect(),
                )
            })
            .collect();
    }
    let Ok(body) = hcl_edit::parser::parse_body(document) else { return Vec::new() };
    body.iter()
        .filter_map(|structure| structure.as_block())
        .filter(|block| block.ident.as_str() == "path")
        .filter_map(|block| {
            let pattern = block.labels.first()?.as_str().to_owned();
            let capabilities = block
                .body
                .iter()
                .filter_map(|structure| structure.as_attribute())
                .find(|attribute| attribute.key.as_str() == "capabilities")
                .and_then(|attribute| attribute.value.as_array())
                .map(|items| items.iter().filter_map(|item| item.as_str()).map(str::to_owned).collect())
                .unwrap_or_default();
            Some((pattern, capabilities))
        })
        .collect()
}

/// Whether an ACL path pattern covers `path`: `+` stands for one segment, a trailing `*` for
/// any suffix (Vault's policy syntax).
fn path_matches(pattern: &str, path: &str) -> bool {
    let (pattern, prefix) = match pattern.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (pattern, false),
    };
    let pattern_segments: Vec<&str> = pattern.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    for (index, expected) in pattern_segments.iter().enumerate() {
        let last = index + 1 == pattern_segments.len();
        let Some(actual) = path_segments.get(index) else { return false };
        let fits = match (*expected, last && prefix) {
            ("+", _) => true,
            (stem, true) => actual.starts_with(stem),
            (exact, false) => *actual == exact,
        };
        if !fits {
            return false;
        }
        if last {
            return prefix || path_segments.len() == pattern_segments.len();
        }
    }
    false
}

/// The results of the random provider that are secrets: a password's result (not its fixed id
/// nor its arguments). A `random_id` is an identifier, not a secret (Terraform does not mark
/// it sensitive), so names built from one are not findings.
const GENERATED: &[&str] = &["random_password"];
const NOT_SECRET: &[&str] = &[
    "id",
    "length",
    "keepers",
    "special",
    "upper",
    "lower",
    "numeric",
    "override_special",
    "min_upper",
    "min_lower",
    "min_numeric",
    "min_special",
];

/// TF1320: a generated secret written to an output (so to the env file and the terminal's
/// `output`) or to an argument its provider does not keep secret (a description, a tag, a
/// Kubernetes ConfigMap): it is no longer only in Vault and the state. The secret is followed
/// through locals and through the module tree: a module input given one, and a module output
/// holding one, hold it too, so a spec composed of modules (as `litellm-keyless` is) is judged
/// as if it were written in one file.
fn generated_secrets_stay_secret(spec: &Spec<'_>, providers: &Providers, diags: &mut Diagnostics) {
    let modules = spec.config.modules();
    let tainted = Tainted::of(&modules);
    for (name, output) in &spec.config.outputs {
        let Some(source) = tainted.source(&[], spec.config, &output.value) else { continue };
        diags.push(
            Diagnostic::error(
                "TF1320",
                "Generated secret leaves Vault",
                format!(
                    "output.{name} carries {source}, so the secret is written to deployment_outputs.env and shown by \
                     `trustform output`. Keep it in Vault: write it with a vault_kv_secret_v2 resource and output \
                     that secret's path (and the role that may read it) instead."
                ),
            )
            .with_span(output.span.clone())
            .with_address(format!("output.{name}")),
        );
    }
    for (path, module) in &modules {
        let steps: Vec<ModuleStep> = path.iter().map(|name| ModuleStep { name: name.clone(), key: None }).collect();
        for resource in module.resources.values().filter(|r| r.id.mode == Mode::Managed) {
            let Some(schema) = providers.resource_schema(&resource.id.type_name) else { continue };
            for (argument, attr) in &resource.body.attributes {
                if schema.block.attributes.get(argument).is_none_or(|a| a.sensitive) {
                    continue;
                }
                let Some(source) = tainted.source(path, module, &attr.expr) else { continue };
                let address = resource.id.instance(None).in_module(steps.clone());
                diags.push(finding(
                    Diagnostic::error(
                        "TF1320",
                        "Generated secret leaves Vault",
                        format!(
                            "{address} sets {argument} from {source}, but {argument} is not a secret to its provider: it \
                             is stored and shown in clear (in the cloud's console, its API answers, the plan). Pass the \
                             secret only to a sensitive argument (vault_kv_secret_v2's data_json), and let the workload \
                             read it from Vault."
                        ),
                    ),
                    module.attr_span(&resource.body, attr),
                    &address,
                    [Some(resource.span.clone())],
                ));
            }
        }
    }
}

/// What kind of name holds a secret.
enum Holder {
    Local,
    /// A module's input variable.
    Variable,
    /// A module's output.
    Output,
}

/// The names that hold a generated secret, each keyed by the call path of its module.
#[derive(Default)]
struct Tainted {
    locals: BTreeSet<(Vec<String>, String)>,
    variables: BTreeSet<(Vec<String>, String)>,
    outputs: BTreeSet<(Vec<String>, String)>,
}

impl Tainted {
    /// Follows generated secrets through locals, module inputs and module outputs until
    /// nothing more is reached (a module tree is finite and each step only adds names).
    fn of(modules: &[(Vec<String>, &Config)]) -> Tainted {
        let mut tainted = Tainted::default();
        loop {
            // Each name newly found to hold a secret: what it is, its module's path, its name.
            let mut found: Vec<(Holder, Vec<String>, String)> = Vec::new();
            for (path, module) in modules {
                let key = |name: &str| (path.clone(), name.to_owned());
                for local in module.locals.values() {
                    if !tainted.locals.contains(&key(&local.name))
                        && tainted.source(path, module, &local.expr).is_some()
                    {
                        found.push((Holder::Local, path.clone(), local.name.clone()));
                    }
                }
                for (name, output) in &module.outputs {
                    if !tainted.outputs.contains(&key(name)) && tainted.source(path, module, &output.value).is_some() {
                        found.push((Holder::Output, path.clone(), name.clone()));
                    }
                }
                for (call_name, call) in &module.module_calls {
                    let child = child_path(path, call_name);
                    for (argument, attr) in &call.arguments.attributes {
                        let known = tainted.variables.contains(&(child.clone(), argument.clone()));
                        if !known && tainted.source(path, module, &attr.expr).is_some() {
                            found.push((Holder::Variable, child.clone(), argument.clone()));
                        }
                    }
                }
            }
            if found.is_empty() {
                return tainted;
            }
            for (holder, path, name) in found {
                let set = match holder {
                    Holder::Local => &mut tainted.locals,
                    Holder::Variable => &mut tainted.variables,
                    Holder::Output => &mut tainted.outputs,
                };
                set.insert((path, name));
            }
        }
    }

    /// What in `expr` (written in the module at `path`) carries a generated secret, if anything.
    fn source(&self, path: &[String], module: &Config, expr: &trustform_lang::config::Expr) -> Option<String> {
        let key = |name: &str| (path.to_vec(), name.to_owned());
        references(expr).into_iter().find_map(|reference| match &reference.target {
            Target::Local(name) if self.locals.contains(&key(name)) => Some(format!("local.{name}")),
            Target::Variable(name) if self.variables.contains(&key(name)) => Some(format!("var.{name}")),
            Target::Module { name, output } => {
                let child = child_path(path, name);
                match output {
                    Some(output) if self.outputs.contains(&(child.clone(), output.clone())) => {
                        Some(format!("module.{name}.{output}"))
                    }
                    None if self.outputs.iter().any(|(p, _)| *p == child) => Some(format!("module.{name}")),
                    _ => None,
                }
            }
            Target::Resource(id) if id.mode == Mode::Managed && GENERATED.contains(&id.type_name.as_str()) => {
                let written = module.sources.file(reference.file).text.get(reference.range.clone()).unwrap_or_default();
                let attribute = written.rsplit('.').next().unwrap_or_default();
                (!NOT_SECRET.contains(&attribute)).then(|| format!("{}.{}", id.type_name, id.name))
            }
            _ => None,
        })
    }
}

fn child_path(path: &[String], call: &str) -> Vec<String> {
    let mut child = path.to_vec();
    child.push(call.to_owned());
    child
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_patterns_match_as_vault_matches_them() {
        assert!(path_matches("litellm/data/gateway", "litellm/data/gateway"));
        assert!(path_matches("litellm/data/*", "litellm/data/gateway"));
        assert!(path_matches("litellm/*", "litellm/data/gateway"));
        assert!(path_matches("litellm/+/gateway", "litellm/data/gateway"));
        assert!(path_matches("lite*", "litellm/data/gateway"));
        assert!(!path_matches("litellm/metadata/*", "litellm/data/gateway"));
        assert!(!path_matches("litellm/data", "litellm/data/gateway"));
        assert!(!path_matches("litellm/+", "litellm/data/gateway"));
    }

    #[test]
    fn policies_are_read_in_hcl_and_json() {
        let hcl = "# ESO\npath \"kv/data/gw\" {\n  capabilities = [\"read\", \"update\"]\n}\npath \"kv/metadata/*\" { capabilities = [\"list\"] }\n";
        assert_eq!(
            policy_paths(hcl),
            [
                ("kv/data/gw".into(), vec!["read".into(), "update".into()]),
                ("kv/metadata/*".into(), vec!["list".into()])
            ]
        );
        let json = r#"{"path": {"kv/data/*": {"capabilities": ["create"]}}}"#;
        assert_eq!(policy_paths(json), [("kv/data/*".into(), vec!["create".into()])]);
        assert!(policy_paths("not a { policy").is_empty());
    }
}
