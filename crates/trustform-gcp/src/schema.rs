//! Resource and data source schemas, with the Terraform google provider's names and attributes.

use trustform_lang::Type;
use trustform_schema::{Attribute, Block, Nesting, ResourceSchema};

pub(crate) const SERVICE_ACCOUNT: &str = "google_service_account";
pub(crate) const PROJECT_IAM_MEMBER: &str = "google_project_iam_member";
pub(crate) const PROJECT_IAM_BINDING: &str = "google_project_iam_binding";
pub(crate) const SERVICE_ACCOUNT_IAM_MEMBER: &str = "google_service_account_iam_member";
pub(crate) const POOL: &str = "google_iam_workload_identity_pool";
pub(crate) const POOL_PROVIDER: &str = "google_iam_workload_identity_pool_provider";
pub(crate) const CREDENTIAL_CONFIG: &str = "google_credential_config";
pub(crate) const PROJECT: &str = "google_project";
pub(crate) const PROJECT_SERVICE: &str = "google_project_service";

fn string() -> Type {
    Type::String
}

fn project_argument() -> Attribute {
    Attribute::optional_computed(string()).force_new().describe("Defaults to the provider's project.")
}

pub(crate) fn provider_block() -> Block {
    Block::new()
        .attr("project", Attribute::optional(string()).describe("Defaults to GOOGLE_CLOUD_PROJECT."))
        .attr(
            "iam_custom_endpoint",
            Attribute::optional(string()).describe("The IAM API's base URL, with or without `v1/`."),
        )
        .attr(
            "resource_manager_custom_endpoint",
            Attribute::optional(string()).describe("The Cloud Resource Manager API's base URL, with or without `v3/`."),
        )
        .attr(
            "service_usage_custom_endpoint",
            Attribute::optional(string()).describe("The Service Usage API's base URL, with or without `v1/`."),
        )
        .attr(
            "access_token",
            Attribute::optional(string()).sensitive().describe(
                "A bearer token; defaults to GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials.",
            ),
        )
}

pub(crate) fn service_account() -> ResourceSchema {
    ResourceSchema::new(
        SERVICE_ACCOUNT,
        Block::new()
            .attr("account_id", Attribute::required(string()).force_new().describe("The part of the email before `@`."))
            .attr("project", project_argument())
            .attr("display_name", Attribute::optional(string()))
            .attr("description", Attribute::optional(string()))
            .attr(
                "email",
                Attribute::computed(string())
                    .describe("ACCOUNT_ID@PROJECT.iam.gserviceaccount.com, known at plan time."),
            )
            .attr("member", Attribute::computed(string()).describe("`serviceAccount:EMAIL`, for IAM members."))
            .attr("name", Attribute::computed(string()).describe("projects/PROJECT/serviceAccounts/EMAIL"))
            .attr("unique_id", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The name.")),
    )
    .import_id("`projects/PROJECT/serviceAccounts/EMAIL` or the email")
}

fn member_block(target: &'static str, describe: &'static str) -> Block {
    let target_attribute = if target == "project" {
        project_argument()
    } else {
        Attribute::required(string()).force_new().describe(describe)
    };
    Block::new()
        .attr(target, target_attribute)
        .attr("role", Attribute::required(string()).force_new().describe("`roles/aiplatform.user`, say."))
        .attr(
            "member",
            Attribute::required(string()).force_new().describe("`serviceAccount:EMAIL`, `principalSet://...`, ..."),
        )
        .attr("id", Attribute::computed(string()).describe("`TARGET/ROLE/MEMBER`."))
}

pub(crate) fn project_iam_member() -> ResourceSchema {
    ResourceSchema::new(PROJECT_IAM_MEMBER, member_block("project", ""))
        .import_id("`PROJECT ROLE MEMBER`, separated by spaces")
}

pub(crate) fn service_account_iam_member() -> ResourceSchema {
    ResourceSchema::new(
        SERVICE_ACCOUNT_IAM_MEMBER,
        member_block("service_account_id", "The service account's name, projects/PROJECT/serviceAccounts/EMAIL."),
    )
    .import_id("`projects/PROJECT/serviceAccounts/EMAIL ROLE MEMBER`, separated by spaces")
}

pub(crate) fn project_iam_binding() -> ResourceSchema {
    ResourceSchema::new(
        PROJECT_IAM_BINDING,
        Block::new()
            .attr("project", project_argument())
            .attr("role", Attribute::required(string()).force_new())
            .attr(
                "members",
                Attribute::required(Type::set(string()))
                    .describe("Every member of the role: members not listed are removed."),
            )
            .attr("id", Attribute::computed(string()).describe("`PROJECT/ROLE`.")),
    )
    .import_id("`PROJECT ROLE`, separated by a space")
}

fn lifecycle_attributes(block: Block) -> Block {
    block
        .attr("display_name", Attribute::optional(string()))
        .attr("description", Attribute::optional(string()))
        .attr("disabled", Attribute::optional(Type::Bool).default(false))
        .attr(
            "state",
            Attribute::computed(string())
                .describe("ACTIVE, or DELETED for a soft-deleted one (planned back to ACTIVE)."),
        )
        .attr(
            "name",
            Attribute::computed(string()).describe("The resource name Google gives, with the project number."),
        )
}

pub(crate) fn pool() -> ResourceSchema {
    let block = Block::new()
        .attr("workload_identity_pool_id", Attribute::required(string()).force_new())
        .attr("project", project_argument());
    ResourceSchema::new(
        POOL,
        lifecycle_attributes(block).attr(
            "id",
            Attribute::computed(string()).describe("projects/PROJECT/locations/global/workloadIdentityPools/POOL"),
        ),
    )
    .import_id("`projects/PROJECT/locations/global/workloadIdentityPools/POOL`, `PROJECT/POOL` or `POOL`")
}

pub(crate) fn pool_provider() -> ResourceSchema {
    let aws = Block::new().attr("account_id", Attribute::required(string()).describe("The AWS account trusted."));
    let oidc = Block::new()
        .attr("issuer_uri", Attribute::required(string()))
        .attr("allowed_audiences", Attribute::optional(Type::list(string())))
        .attr("jwks_json", Attribute::optional(string()));
    let block = Block::new()
        .attr("workload_identity_pool_id", Attribute::required(string()).force_new())
        .attr("workload_identity_pool_provider_id", Attribute::required(string()).force_new())
        .attr("project", project_argument())
        .attr(
            "attribute_mapping",
            Attribute::optional_computed(Type::map(string()))
                .describe("Google's default AWS mapping when unset on an AWS provider."),
        )
        .attr("attribute_condition", Attribute::optional(string()))
        .block("aws", Nesting::Single, aws)
        .block("oidc", Nesting::Single, oidc);
    ResourceSchema::new(
        POOL_PROVIDER,
        lifecycle_attributes(block).attr(
            "id",
            Attribute::computed(string())
                .describe("projects/PROJECT/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"),
        ),
    )
    .import_id("`projects/PROJECT/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`")
}

/// The `format` of a file or URL subject token: `text` (the whole body) or `json` (one field).
fn subject_token_format() -> Block {
    Block::new().attr("type", Attribute::optional(string()).default("text").describe("`text` or `json`.")).attr(
        "subject_token_field_name",
        Attribute::optional(string()).describe("With `json`: the field holding the token (`value` for GitHub)."),
    )
}

pub(crate) fn credential_config() -> ResourceSchema {
    let file_source = Block::new()
        .attr(
            "path",
            Attribute::required(string())
                .describe("Where the workload reads its OIDC token: a projected service account token, say."),
        )
        .block("format", Nesting::Single, subject_token_format());
    let url_source = Block::new()
        .attr("url", Attribute::required(string()).describe("Where the workload fetches its OIDC token."))
        .attr("headers", Attribute::optional(Type::map(string())).describe("Headers sent with the request."))
        .block("format", Nesting::Single, subject_token_format());
    ResourceSchema::new(
        CREDENTIAL_CONFIG,
        Block::new()
            .attr("path", Attribute::required(string()).force_new().describe("Where to write the JSON (mode 0600)."))
            .attr(
                "environment",
                Attribute::optional(string()).describe(
                    "An AWS workload: `ec2` or `eks_fargate`. Exactly one of `environment`, `file_source` and \
                     `url_source`.",
                ),
            )
            .block("file_source", Nesting::Single, file_source)
            .block("url_source", Nesting::Single, url_source)
            .attr(
                "subject_token_type",
                Attribute::optional_computed(string()).describe(
                    "The token's type: AWS's for `environment`, else `urn:ietf:params:oauth:token-type:jwt` (or \
                     `id_token`, `saml2`).",
                ),
            )
            .attr(
                "workload_identity_provider",
                Attribute::required(string())
                    .describe("The pool provider's `name` (projects/NUMBER/...): the audience comes from it."),
            )
            .attr(
                "service_account_email",
                Attribute::required(string()).describe("The service account to impersonate."),
            )
            .attr("audience", Attribute::computed(string()))
            .attr("service_account_impersonation_url", Attribute::computed(string()))
            .attr(
                "content",
                Attribute::computed(string())
                    .sensitive()
                    .describe("The external_account JSON written (sensitive: refresh reads the file back)."),
            )
            .attr("id", Attribute::computed(string()).describe("The path.")),
    )
}

pub(crate) fn project() -> ResourceSchema {
    ResourceSchema::new(
        PROJECT,
        Block::new()
            .attr("project_id", Attribute::optional_computed(string()).describe("Defaults to the provider's project."))
            .attr(
                "number",
                Attribute::computed(string()).describe("The project number audiences and principalSets need."),
            )
            .attr("name", Attribute::computed(string()).describe("The display name."))
            .attr("id", Attribute::computed(string()).describe("projects/PROJECT_ID")),
    )
}

pub(crate) fn project_service() -> ResourceSchema {
    ResourceSchema::new(
        PROJECT_SERVICE,
        Block::new()
            .attr(
                "service",
                Attribute::required(string()).force_new().describe("The API to enable: `iam.googleapis.com`, say."),
            )
            .attr("project", project_argument())
            .attr(
                "disable_on_destroy",
                Attribute::optional(Type::Bool).default(false).describe(
                    "Disable the API when the resource is destroyed. Defaults to false (the Terraform google \
                     provider defaults to true): other specs and workloads in the project may use the API.",
                ),
            )
            .attr(
                "disable_dependent_services",
                Attribute::optional(Type::Bool)
                    .default(false)
                    .describe("On destroy, also disable the enabled services that depend on this one."),
            )
            .attr(
                "check_if_service_has_usage_on_destroy",
                Attribute::optional(Type::Bool)
                    .default(false)
                    .describe("On destroy, refuse to disable an API used in the last 30 days."),
            )
            .attr("id", Attribute::computed(string()).describe("`PROJECT/SERVICE`.")),
    )
    .import_id("`PROJECT/SERVICE`")
}
