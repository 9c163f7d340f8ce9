//! Resource and data source schemas, with Terraform's names and attributes.

use std::collections::BTreeMap;
use trustform_lang::Type;
use trustform_schema::{Attribute, Block, Compare, Nesting, ResourceSchema};

pub(crate) const IAM_ROLE: &str = "aws_iam_role";
pub(crate) const IAM_ROLE_POLICY: &str = "aws_iam_role_policy";
pub(crate) const IAM_POLICY: &str = "aws_iam_policy";
pub(crate) const IAM_ROLE_POLICY_ATTACHMENT: &str = "aws_iam_role_policy_attachment";
pub(crate) const IAM_OIDC_PROVIDER: &str = "aws_iam_openid_connect_provider";
pub(crate) const EKS_POD_IDENTITY_ASSOCIATION: &str = "aws_eks_pod_identity_association";
pub(crate) const EKS_ADDON: &str = "aws_eks_addon";
pub(crate) const CALLER_IDENTITY: &str = "aws_caller_identity";
pub(crate) const EKS_CLUSTER: &str = "aws_eks_cluster";
pub(crate) const IAM_POLICY_DOCUMENT: &str = "aws_iam_policy_document";

fn string() -> Type {
    Type::String
}

fn tags() -> Attribute {
    Attribute::optional(Type::map(Type::String)).describe("Key-value tags on the object.")
}

fn policy_json(description: &'static str) -> Attribute {
    Attribute::required(string()).compare(Compare::JsonDocument).describe(description)
}

pub(crate) fn provider_block() -> Block {
    Block::new()
        .attr("region", Attribute::optional(string()).describe("Defaults to AWS_REGION or the profile's region."))
        .attr("profile", Attribute::optional(string()).describe("A named profile; defaults to AWS_PROFILE."))
        .attr("access_key", Attribute::optional(string()).describe("Static credentials, with secret_key."))
        .attr("secret_key", Attribute::optional(string()).sensitive().describe("Static credentials, with access_key."))
        .attr(
            "allowed_account_ids",
            Attribute::optional(Type::set(string()))
                .describe("The accounts the credentials may be for; any other is refused before anything is planned."),
        )
        .attr(
            "skip_requesting_account_id",
            Attribute::optional(Type::Bool)
                .describe("Skips the STS GetCallerIdentity call at configure; ARNs are then unknown until apply."),
        )
        .block(
            "endpoints",
            Nesting::Single,
            Block::new()
                .attr("iam", Attribute::optional(string()).describe("Overrides AWS_ENDPOINT_URL_IAM."))
                .attr("sts", Attribute::optional(string()).describe("Overrides AWS_ENDPOINT_URL_STS."))
                .attr("eks", Attribute::optional(string()).describe("Overrides AWS_ENDPOINT_URL_EKS.")),
        )
}

pub(crate) fn iam_role() -> ResourceSchema {
    ResourceSchema::new(
        IAM_ROLE,
        Block::new()
            .attr(
                "name",
                Attribute::optional_computed(string()).force_new().describe("Generated from name_prefix when unset."),
            )
            .attr("name_prefix", Attribute::optional(string()).force_new())
            .attr("path", Attribute::optional(string()).force_new().default("/"))
            .attr("assume_role_policy", policy_json("The trust policy, as JSON."))
            .attr("description", Attribute::optional(string()))
            .attr("max_session_duration", Attribute::optional(Type::Number).default(3600))
            .attr("permissions_boundary", Attribute::optional(string()).describe("ARN of the boundary policy."))
            .attr("tags", tags())
            .attr("arn", Attribute::computed(string()))
            .attr("unique_id", Attribute::computed(string()))
            .attr("create_date", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The role name.")),
    )
    .import_id("the role name, e.g. `litellm-pod`")
}

pub(crate) fn iam_role_policy() -> ResourceSchema {
    ResourceSchema::new(
        IAM_ROLE_POLICY,
        Block::new()
            .attr("role", Attribute::required(string()).force_new())
            .attr("name", Attribute::required(string()).force_new())
            .attr("policy", policy_json("The inline policy, as JSON."))
            .attr("id", Attribute::computed(string()).describe("`role:name`.")),
    )
    .import_id("`role_name:policy_name`")
}

/// `aws_iam_policy`, a customer managed policy, as the Terraform AWS provider's
/// `internal/service/iam/policy.go` defines it: IAM has no call that changes a policy's name,
/// path or description, so those replace it; the document changes by a new default version.
pub(crate) fn iam_policy() -> ResourceSchema {
    ResourceSchema::new(
        IAM_POLICY,
        Block::new()
            .attr(
                "name",
                Attribute::optional_computed(string()).force_new().describe("Generated from name_prefix when unset."),
            )
            .attr("name_prefix", Attribute::optional(string()).force_new())
            .attr("path", Attribute::optional(string()).force_new().default("/"))
            .attr("description", Attribute::optional(string()).force_new())
            .attr("policy", policy_json("The policy document, as JSON: its default version."))
            .attr("tags", tags())
            .attr("arn", Attribute::computed(string()))
            .attr("policy_id", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The policy's ARN.")),
    )
    .import_id("the policy's ARN, e.g. `arn:aws:iam::123456789012:policy/bedrock-invoke`")
}

pub(crate) fn iam_role_policy_attachment() -> ResourceSchema {
    ResourceSchema::new(
        IAM_ROLE_POLICY_ATTACHMENT,
        Block::new()
            .attr("role", Attribute::required(string()).force_new())
            .attr("policy_arn", Attribute::required(string()).force_new())
            .attr("id", Attribute::computed(string()).describe("`role/policy_arn`.")),
    )
    .import_id("`role_name/policy_arn`")
}

pub(crate) fn iam_openid_connect_provider() -> ResourceSchema {
    ResourceSchema::new(
        IAM_OIDC_PROVIDER,
        Block::new()
            .attr("url", Attribute::required(string()).force_new().describe("The issuer, with https://."))
            .attr("client_id_list", Attribute::required(Type::set(string())))
            .attr(
                "thumbprint_list",
                Attribute::optional_computed(Type::set(string())).describe("IAM finds them itself when unset."),
            )
            .attr("tags", tags())
            .attr("arn", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The provider's ARN.")),
    )
    .import_id("the provider's ARN, e.g. `arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/ID`")
}

/// `data "aws_iam_openid_connect_provider"`, found by exactly one of `arn` and `url` (the
/// Terraform AWS provider's `website/docs/d/iam_openid_connect_provider.html.markdown`).
pub(crate) fn iam_openid_connect_provider_data() -> ResourceSchema {
    ResourceSchema::new(
        IAM_OIDC_PROVIDER,
        Block::new()
            .attr("arn", Attribute::optional_computed(string()).describe("The provider's ARN; or give url."))
            .attr("url", Attribute::optional_computed(string()).describe("The issuer, with https://; or give arn."))
            .attr("client_id_list", Attribute::computed(Type::list(string())))
            .attr("thumbprint_list", Attribute::computed(Type::list(string())))
            .attr("tags", Attribute::computed(Type::map(Type::String)))
            .attr("id", Attribute::computed(string()).describe("The provider's ARN.")),
    )
}

pub(crate) fn eks_pod_identity_association() -> ResourceSchema {
    ResourceSchema::new(
        EKS_POD_IDENTITY_ASSOCIATION,
        Block::new()
            .attr("cluster_name", Attribute::required(string()).force_new())
            .attr("namespace", Attribute::required(string()).force_new())
            .attr("service_account", Attribute::required(string()).force_new())
            .attr("role_arn", Attribute::required(string()))
            .attr(
                "target_role_arn",
                Attribute::optional(string())
                    .describe("A role in another account that role_arn assumes for the pods (role chaining)."),
            )
            .attr(
                "disable_session_tags",
                Attribute::optional_computed(Type::Bool)
                    .describe("Whether EKS leaves out the session tags; false when unset."),
            )
            .attr("tags", tags())
            .attr("association_arn", Attribute::computed(string()))
            .attr("association_id", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The association id.")),
    )
    .import_id("`cluster_name,association_id`")
}

/// `aws_eks_addon`, as terraform-provider-aws's `internal/service/eks/addon.go` defines it
/// (without `pod_identity_association`, which the pod identity agent itself does not take).
pub(crate) fn eks_addon() -> ResourceSchema {
    let resolve = || Attribute::optional(string()).describe("`NONE`, `OVERWRITE` or `PRESERVE` (updates only).");
    ResourceSchema::new(
        EKS_ADDON,
        Block::new()
            .attr("cluster_name", Attribute::required(string()).force_new())
            .attr(
                "addon_name",
                Attribute::required(string()).force_new().describe("`eks-pod-identity-agent`, `vpc-cni`, ..."),
            )
            .attr(
                "addon_version",
                Attribute::optional_computed(string()).describe("EKS's default version for the cluster when unset."),
            )
            .attr("service_account_role_arn", Attribute::optional(string()))
            .attr("configuration_values", Attribute::optional(string()).describe("JSON the add-on's schema accepts."))
            .attr("resolve_conflicts_on_create", resolve())
            .attr("resolve_conflicts_on_update", resolve())
            .attr(
                "preserve",
                Attribute::optional(Type::Bool).describe("Keep the add-on's software on the cluster on destroy."),
            )
            .attr("tags", tags())
            .attr("arn", Attribute::computed(string()))
            .attr("created_at", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("`cluster_name:addon_name`.")),
    )
    .import_id("`cluster_name:addon_name`, e.g. `litellm:eks-pod-identity-agent`")
}

pub(crate) fn caller_identity() -> ResourceSchema {
    ResourceSchema::new(
        CALLER_IDENTITY,
        Block::new()
            .attr("account_id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("user_id", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The account id.")),
    )
}

pub(crate) fn eks_cluster() -> ResourceSchema {
    let oidc = Type::Object(BTreeMap::from([("issuer".to_owned(), string())]), Vec::new());
    let identity = Type::Object(BTreeMap::from([("oidc".to_owned(), Type::list(oidc))]), Vec::new());
    ResourceSchema::new(
        EKS_CLUSTER,
        Block::new()
            .attr("name", Attribute::required(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("endpoint", Attribute::computed(string()))
            .attr("version", Attribute::computed(string()))
            .attr("platform_version", Attribute::computed(string()))
            .attr("status", Attribute::computed(string()))
            .attr("role_arn", Attribute::computed(string()))
            .attr("created_at", Attribute::computed(string()))
            .attr(
                "identity",
                Attribute::computed(Type::list(identity)).describe("`identity[0].oidc[0].issuer` is the IRSA issuer."),
            )
            .attr(
                "certificate_authority",
                Attribute::computed(Type::list(Type::Object(
                    BTreeMap::from([("data".to_owned(), string())]),
                    Vec::new(),
                )))
                .describe("`certificate_authority[0].data`: the base64 of the cluster CA's PEM."),
            )
            .attr("id", Attribute::computed(string()).describe("The cluster name.")),
    )
}

pub(crate) fn iam_policy_document() -> ResourceSchema {
    let principals = Block::new()
        .attr("type", Attribute::required(string()).describe("AWS, Service, Federated, CanonicalUser or *."))
        .attr("identifiers", Attribute::required(Type::set(string())));
    let condition = Block::new()
        .attr("test", Attribute::required(string()).describe("StringEquals, StringLike, ..."))
        .attr("variable", Attribute::required(string()))
        .attr("values", Attribute::required(Type::list(string())));
    let statement = Block::new()
        .attr("sid", Attribute::optional(string()))
        .attr("effect", Attribute::optional(string()).default("Allow"))
        .attr("actions", Attribute::optional(Type::set(string())))
        .attr("not_actions", Attribute::optional(Type::set(string())))
        .attr("resources", Attribute::optional(Type::set(string())))
        .attr("not_resources", Attribute::optional(Type::set(string())))
        .block("principals", Nesting::Set, principals.clone())
        .block("not_principals", Nesting::Set, principals)
        .block("condition", Nesting::Set, condition);
    ResourceSchema::new(
        IAM_POLICY_DOCUMENT,
        Block::new()
            .attr("version", Attribute::optional(string()).default("2012-10-17"))
            .attr("policy_id", Attribute::optional(string()))
            .block("statement", Nesting::List, statement)
            .attr(
                "json",
                Attribute::computed(string()).compare(Compare::JsonDocument).describe("The policy, indented."),
            )
            .attr("minified_json", Attribute::computed(string()).compare(Compare::JsonDocument))
            .attr("id", Attribute::computed(string()).describe("A hash of the JSON.")),
    )
    .local()
}
