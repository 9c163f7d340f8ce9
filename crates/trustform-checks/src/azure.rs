//! The Azure checks (seed 002): a custom role can only be assigned inside its assignable scopes;
//! and a managed identity's federated credential for a Kubernetes workload (seed 000's gateway
//! on EKS) must match the token the pod presents: the cluster's issuer, the gateway's service
//! account, and the audience its projected token volume requests.

use super::shape::is_hole;
use super::{finding, text, Spec};
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_lang::config::{Config, Expr};
use trustform_lang::{references, Mode, ResourceAddr, Target, Value};

const DEFINITION: &str = "azurerm_role_definition";
const ASSIGNMENT: &str = "azurerm_role_assignment";
const CREDENTIAL: &str = "azurerm_federated_identity_credential";
const IDENTITY: &str = "azurerm_user_assigned_identity";
const APPLICATION: &str = "azuread_application";
const EKS_CLUSTER: &str = "aws_eks_cluster";
const POD_IDENTITY: &str = "aws_eks_pod_identity_association";
/// What a Kubernetes service account token's `sub` starts with.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

pub(super) fn checks(spec: &Spec<'_>, diags: &mut Diagnostics) {
    assignable_scope(spec, diags);
    identity_ids_in_their_places(spec, diags);
    gateway_roles_are_app_roles(spec, diags);
    for (address, after) in spec.resources(CREDENTIAL) {
        let Some(subject) = text(after, "subject") else { continue };
        if !subject.starts_with(SERVICE_ACCOUNT_PREFIX) {
            continue;
        }
        let cluster = cluster_of(spec, address);
        if let Some((cluster_address, cluster)) = cluster {
            issuer_is_the_clusters(spec, address, after, cluster_address, cluster, diags);
        }
        subject_is_the_gateways(spec, address, subject, cluster.map(|(_, value)| value), diags);
        audience_is_the_token_volumes(spec, address, after, diags);
    }
}

/// TF1314: a role assignment's scope lies outside its role definition's assignable scopes.
fn assignable_scope(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let definitions: Vec<(&ResourceAddr, &Value)> = spec.resources(DEFINITION).collect();
    for (address, after) in spec.resources(ASSIGNMENT) {
        let Some(scope) = spec.shaped(after, "scope") else { continue };
        let Some((definition, role)) = definition_of(spec, address, after, &definitions) else { continue };
        let Some(assignable) = assignable_scopes(spec, definition, role) else { continue };
        // Judged only when every assignable scope surely does not hold the assignment's.
        if !assignable.iter().all(|parent| contains(parent, &scope) == Some(false)) {
            continue;
        }
        let scope = spec.show(&scope);
        // A management group holds subscriptions the spec does not list: not judged.
        if assignable.iter().any(|parent| parent.to_ascii_lowercase().contains("/providers/microsoft.management/")) {
            continue;
        }
        diags.push(finding(
            Diagnostic::error(
                "TF1314",
                "Role assignment outside the role's assignable scopes",
                format!(
                    "{address} assigns {definition} at {scope:?}, but the role definition is assignable only at {}, \
                     so ARM refuses the assignment. Assign it at one of those scopes or below, or add {scope:?} \
                     (or a parent of it) to the definition's assignable_scopes.",
                    assignable.iter().map(|s| format!("{:?}", spec.show(s))).collect::<Vec<_>>().join(", ")
                ),
            ),
            spec.attr_span(address, "scope"),
            address,
            [spec.attr_span(definition, "assignable_scopes")],
        ));
    }
}

/// The EKS cluster a Kubernetes credential is for: the one it is built from, else the spec's
/// only one.
fn cluster_of<'s>(spec: &Spec<'s>, address: &ResourceAddr) -> Option<(&'s ResourceAddr, &'s Value)> {
    let clusters: Vec<(&ResourceAddr, &Value)> = spec.data(EKS_CLUSTER).collect();
    let depended: Vec<_> = clusters.iter().filter(|(c, _)| spec.dependencies(address).contains(c)).collect();
    match (depended.as_slice(), clusters.as_slice()) {
        ([one], _) => Some(**one),
        ([], [only]) => Some(*only),
        _ => None,
    }
}

/// The OIDC issuer of an `aws_eks_cluster` data source: `identity[0].oidc[0].issuer`.
fn cluster_issuer(cluster: &Value) -> Option<&str> {
    let identity = cluster.get("identity")?.as_list()?.first()?;
    identity.get("oidc")?.as_list()?.first()?.get("issuer")?.as_str()
}

/// TF1326: the credential trusts another issuer than the cluster's, so Entra ID refuses every
/// token the gateway's pods present ("AADSTS700211: No matching federated identity record found
/// for presented assertion issuer"; Entra ID matches issuer, subject and audience exactly and
/// case-sensitively:
/// <https://learn.microsoft.com/entra/identity-platform/reference-breaking-changes#federated-identity-credentials-now-use-case-sensitive-matching>).
fn issuer_is_the_clusters(
    spec: &Spec<'_>,
    address: &ResourceAddr,
    credential: &Value,
    cluster_address: &ResourceAddr,
    cluster: &Value,
    diags: &mut Diagnostics,
) {
    let (Some(issuer), Some(expected)) = (text(credential, "issuer"), cluster_issuer(cluster)) else { return };
    // Entra ID compares the issuer as a string: a trailing slash is a different issuer.
    if issuer == expected {
        return;
    }
    diags.push(finding(
        Diagnostic::error(
            "TF1326",
            "Federated credential trusts another issuer than the cluster's",
            format!(
                "{address} trusts tokens issued by {issuer:?}, but {cluster_address} issues its service account \
                 tokens as {expected:?}; Entra ID compares the two exactly, so every token the pods present is \
                 refused (AADSTS700211). Set issuer = {cluster_address}.identity[0].oidc[0].issuer."
            ),
        ),
        spec.attr_span(address, "issuer"),
        address,
        [spec.span(cluster_address)],
    ));
}

/// TF1327: the subject is not a service account Entra ID can match (it compares exactly: no
/// wildcards), or not one the spec runs the gateway as on that cluster.
fn subject_is_the_gateways(
    spec: &Spec<'_>,
    address: &ResourceAddr,
    subject: &str,
    cluster: Option<&Value>,
    diags: &mut Diagnostics,
) {
    let parts: Vec<&str> = subject.split(':').collect();
    let name = |part: &str| !part.is_empty() && !part.contains(['*', '?']);
    if !matches!(parts.as_slice(), ["system", "serviceaccount", ns, sa] if name(ns) && name(sa)) {
        let detail = format!(
            "{address} trusts the subject {subject:?}, which no service account token carries: Entra ID matches \
             the subject exactly, without wildcards. Write subject = \"system:serviceaccount:NAMESPACE:NAME\" with \
             the gateway's namespace and service account."
        );
        diags.push(finding(
            Diagnostic::error("TF1327", "Federated credential names another service account", detail),
            spec.attr_span(address, "subject"),
            address,
            [],
        ));
        return;
    }
    // Where the spec says the gateway runs: its pod identity associations on the cluster.
    let cluster_name = cluster.and_then(|cluster| text(cluster, "name"));
    let workloads: Vec<(&ResourceAddr, String)> = spec
        .resources(POD_IDENTITY)
        .filter(|(_, association)| {
            cluster_name.is_none() || text(association, "cluster_name").is_none_or(|c| Some(c) == cluster_name)
        })
        .filter_map(|(association_address, association)| {
            let namespace = text(association, "namespace")?;
            let account = text(association, "service_account")?;
            Some((association_address, format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{account}")))
        })
        .collect();
    let Some((workload, runs_as)) = workloads.first() else { return };
    if workloads.iter().any(|(_, runs_as)| runs_as == subject) {
        return;
    }
    let detail = format!(
        "{address} trusts {subject:?}, but {workload} runs the gateway as {runs_as:?}: the pods' tokens carry \
         that subject, and Entra ID refuses them (AADSTS700213). Set subject = \"{runs_as}\", built from the same \
         namespace and service account."
    );
    diags.push(finding(
        Diagnostic::error("TF1327", "Federated credential names another service account", detail),
        spec.attr_span(address, "subject"),
        address,
        [spec.span(workload)],
    ));
}

/// TF1328: the audience the pods' projected token volume requests (the spec says it in an
/// output named `*TOKEN_AUDIENCE`, which the Helm values template puts in the volume) is not one
/// the credential accepts.
fn audience_is_the_token_volumes(spec: &Spec<'_>, address: &ResourceAddr, credential: &Value, diags: &mut Diagnostics) {
    let Some(Value::List(audiences)) = credential.get("audience").map(Value::unmarked) else { return };
    let audiences: Option<Vec<&str>> = audiences.iter().map(Value::as_str).collect();
    let Some(audiences) = audiences else { return };
    for (name, output) in &spec.plan.outputs {
        if !name.to_ascii_uppercase().ends_with("TOKEN_AUDIENCE") {
            continue;
        }
        let Some(requested) = output.after.as_ref().and_then(Value::as_str) else { continue };
        if audiences.contains(&requested) {
            continue;
        }
        diags.push(finding(
            Diagnostic::error(
                "TF1328",
                "Federated credential does not accept the token's audience",
                format!(
                    "The gateway's projected token volume requests the audience {requested:?} (output.{name}), but \
                     {address} accepts only {audiences:?}: Entra ID refuses a token whose aud it does not list \
                     (AADSTS700212). Use one value for both: audience = [{requested:?}], or change output.{name}."
                ),
            ),
            spec.attr_span(address, "audience"),
            address,
            [spec.config.outputs.get(name).map(|output| output.span.clone())],
        ));
    }
}

/// The attribute of a managed identity an expression reads (`client_id`, `principal_id`), with
/// the identity's name as written, when it reads one.
fn identity_attribute(module: &Config, expr: &Expr) -> Option<(String, String)> {
    references(expr).into_iter().find_map(|reference| match &reference.target {
        Target::Resource(id) if id.mode == Mode::Managed && id.type_name == IDENTITY => {
            let written = module.sources.file(reference.file).text.get(reference.range.clone())?;
            let attribute = written.rsplit('.').next()?.to_owned();
            Some((format!("{}.{}", id.type_name, id.name), attribute))
        }
        _ => None,
    })
}

/// TF1329: a managed identity has two ids and each has one use. A role assignment names the
/// principal (`principal_id`, the object id): given the `client_id`, ARM answers
/// `PrincipalNotFound` and the apply retries until its deadline. The workload signs in with the
/// `client_id` (`AZURE_CLIENT_ID`): given the object id, Entra ID finds no application
/// (AADSTS700016).
fn identity_ids_in_their_places(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let mut misplaced: Vec<(String, Option<Span>, String, &str, &str)> = Vec::new();
    // In every module: a composed spec passes the identity around as the single file does.
    for (path, module) in spec.config.modules() {
        let prefix: String = path.iter().map(|name| format!("module.{name}.")).collect();
        for (id, resource) in &module.resources {
            if id.mode != Mode::Managed || id.type_name != ASSIGNMENT {
                continue;
            }
            let Some(attr) = resource.body.attributes.get("principal_id") else { continue };
            let Some((identity, attribute)) = identity_attribute(module, &attr.expr) else { continue };
            if attribute == "client_id" {
                let at = module.attr_span(&resource.body, attr);
                let place = format!("{prefix}{}.{}", id.type_name, id.name);
                misplaced.push((place, at, identity, "client_id", "principal_id"));
            }
        }
        for (name, output) in &module.outputs {
            if !name.to_ascii_uppercase().ends_with("CLIENT_ID") {
                continue;
            }
            let Some((identity, attribute)) = identity_attribute(module, &output.value) else { continue };
            if attribute == "principal_id" {
                let place = if path.is_empty() { format!("output.{name}") } else { format!("{prefix}output.{name}") };
                misplaced.push((place, Some(output.span.clone()), identity, "principal_id", "client_id"));
            }
        }
    }
    for (place, at, identity, given, wanted) in misplaced {
        let consequence = if wanted == "principal_id" {
            "a role assignment names the identity's service principal by its object id; ARM knows no principal \
             with the application (client) id, answers PrincipalNotFound, and the apply retries until its \
             deadline"
        } else {
            "the workload signs in with the application (client) id; Entra ID finds no application with the \
             principal's object id (AADSTS700016)"
        };
        diags.push(
            Diagnostic::error(
                "TF1329",
                "Managed identity id in the wrong place",
                format!("{place} is given {identity}.{given}, but {consequence}. Use {identity}.{wanted}."),
            )
            .with_span(at)
            .with_address(place),
        );
    }
}

/// TF1330: the gateway's JWT auth allows a role (an output `*JWT_ALLOWED_ROLES`, comma
/// separated, which the `litellm_jwtauth` template puts in `user_allowed_roles`) that no
/// application of the spec defines as an app role: no token ever carries it (seed 004).
fn gateway_roles_are_app_roles(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let applications: Vec<(&ResourceAddr, &Value)> = spec.resources(APPLICATION).collect();
    let Some((application, _)) = applications.first() else { return };
    let mut defined = Vec::new();
    for (_, after) in &applications {
        let Some(Value::List(roles)) = after.get("app_role").map(Value::unmarked) else { return };
        for role in roles {
            match role.get("value").map(Value::unmarked) {
                Some(Value::String(value)) => defined.push(value.clone()),
                Some(Value::Unknown) => return,
                _ => {}
            }
        }
    }
    for (name, output) in &spec.plan.outputs {
        if !name.to_ascii_uppercase().ends_with("JWT_ALLOWED_ROLES") {
            continue;
        }
        let Some(allowed) = output.after.as_ref().and_then(Value::as_str) else { continue };
        for role in allowed.split(',').map(str::trim).filter(|role| !role.is_empty()) {
            if defined.iter().any(|value| value == role) {
                continue;
            }
            diags.push(finding(
                Diagnostic::error(
                    "TF1330",
                    "Gateway role is not an app role",
                    format!(
                        "output.{name} lets the gateway's JWT auth allow the role {role:?}, but no azuread_application \
                         of the spec defines an app role with that value (they define {defined:?}), so no token ever \
                         carries it. Add an app_role block with value = {role:?} to {application}, or allow only the \
                         roles it defines."
                    ),
                ),
                spec.config.outputs.get(name).map(|output| output.span.clone()),
                format!("output.{name}"),
                [spec.span(application)],
            ));
        }
    }
}

/// The spec's role definition an assignment names: by resource id or role name when known,
/// else the one definition it depends on.
fn definition_of<'s>(
    spec: &Spec<'s>,
    address: &ResourceAddr,
    after: &Value,
    definitions: &[(&'s ResourceAddr, &'s Value)],
) -> Option<(&'s ResourceAddr, &'s Value)> {
    if let Some(id) = text(after, "role_definition_id") {
        let found = definitions
            .iter()
            .find(|(_, d)| text(d, "role_definition_resource_id").is_some_and(|rid| rid.eq_ignore_ascii_case(id)));
        if found.is_some() {
            return found.copied();
        }
    }
    if let Some(name) = text(after, "role_definition_name") {
        return definitions.iter().find(|(_, d)| text(d, "name") == Some(name)).copied();
    }
    if text(after, "role_definition_id").is_some() {
        return None;
    }
    let mut depended = spec.dependencies(address).iter().filter(|dependency| dependency.type_name() == DEFINITION);
    match (depended.next(), depended.next()) {
        (Some(dependency), None) => definitions.iter().find(|(a, _)| *a == dependency).copied(),
        _ => None,
    }
}

/// The definition's assignable scopes; unset, Azure uses the definition's own scope.
fn assignable_scopes(spec: &Spec<'_>, address: &ResourceAddr, definition: &Value) -> Option<Vec<String>> {
    match definition.get("assignable_scopes").map(Value::unmarked) {
        Some(Value::List(scopes)) if !scopes.is_empty() => scopes.iter().map(|scope| spec.holes.text(scope)).collect(),
        Some(Value::Unknown) if spec.writes(address, "assignable_scopes") => None,
        _ => spec.shaped(definition, "scope").map(|scope| vec![scope]),
    }
}

/// Whether ARM scope `child` is `parent` or lies below it (ids compare case-insensitively);
/// `None` when holes leave it open. One expression is one hole ([`super::shape`]), so the texts
/// agree place for place up to their first difference: a difference between known characters
/// there settles it.
fn contains(parent: &str, child: &str) -> Option<bool> {
    let parent: Vec<char> = parent.trim_end_matches('/').to_lowercase().chars().collect();
    let child: Vec<char> = child.trim_end_matches('/').to_lowercase().chars().collect();
    if parent.is_empty() {
        return Some(true);
    }
    let same = parent.iter().zip(&child).take_while(|(p, c)| p == c).count();
    if same == parent.len() {
        return match child.get(same) {
            None | Some('/') => Some(true),
            Some(c) if is_hole(*c) => None,
            Some(_) => Some(false),
        };
    }
    let differs = |c: Option<&char>| c.is_none_or(|c| !is_hole(*c));
    (!is_hole(parent[same]) && differs(child.get(same))).then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_read_from_the_cluster() {
        let cluster = Value::object([(
            "identity",
            Value::List(vec![Value::object([(
                "oidc",
                Value::List(vec![Value::object([("issuer", "https://oidc.example/id/1".into())])]),
            )])]),
        )]);
        assert_eq!(cluster_issuer(&cluster), Some("https://oidc.example/id/1"));
        assert_eq!(cluster_issuer(&Value::Unknown), None);
    }

    #[test]
    fn scopes_contain_their_descendants_only() {
        let group = "/subscriptions/S/resourceGroups/openai";
        assert_eq!(contains(group, "/subscriptions/s/resourcegroups/OpenAI"), Some(true));
        assert_eq!(
            contains(group, "/subscriptions/S/resourceGroups/openai/providers/Microsoft.CognitiveServices/accounts/a"),
            Some(true)
        );
        assert_eq!(contains(group, "/subscriptions/S/resourceGroups/openai-other"), Some(false));
        assert_eq!(contains(group, "/subscriptions/S"), Some(false));
        assert_eq!(contains("/", "/subscriptions/S"), Some(true));
    }

    #[test]
    fn scopes_with_holes_are_judged_where_the_known_text_settles_it() {
        let sub = '\u{F0000}';
        let other = '\u{F0001}';
        let group = format!("/subscriptions/{sub}/resourceGroups/openai");
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/openai/x")), Some(true));
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/other")), Some(false));
        assert_eq!(
            contains(&group, &format!("/subscriptions/{other}/resourceGroups/openai")),
            None,
            "two subscriptions"
        );
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/openai{other}")), None);
        assert_eq!(contains(&format!("/subscriptions/{sub}"), "/subscriptions/s1"), None);
    }
}
