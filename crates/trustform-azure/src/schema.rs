//! Resource and data source schemas, with the names and attributes of Terraform's azurerm
//! provider.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use trustform_lang::Type;
use trustform_schema::{Attribute, Block, Nesting, ProviderSchema, ResourceSchema};

pub(crate) const ROLE_DEFINITION: &str = "azurerm_role_definition";
pub(crate) const ROLE_ASSIGNMENT: &str = "azurerm_role_assignment";
pub(crate) const CLIENT_CONFIG: &str = "azurerm_client_config";

pub(crate) static SCHEMA: LazyLock<ProviderSchema> = LazyLock::new(|| {
    ProviderSchema { provider: provider_block(), ..ProviderSchema::default() }
        .resource(role_definition())
        .resource(role_assignment())
        .resource(crate::resources::user_assigned_identity::schema())
        .resource(crate::resources::federated_identity_credential::schema())
        .data_source(client_config())
        .data_source(role_definition_data())
});

fn string() -> Type {
    Type::String
}

fn strings() -> Type {
    Type::set(Type::String)
}

fn provider_block() -> Block {
    Block::new()
        .attr("subscription_id", Attribute::optional(string()).describe("Defaults to ARM_SUBSCRIPTION_ID."))
        .attr("tenant_id", Attribute::optional(string()).describe("Defaults to ARM_TENANT_ID."))
        .attr("client_id", Attribute::optional(string()).describe("Defaults to ARM_CLIENT_ID."))
        .attr("client_secret", Attribute::optional(string()).sensitive().describe("Defaults to ARM_CLIENT_SECRET."))
        .attr("use_oidc", Attribute::optional(Type::Bool).describe("Workload identity federation; ARM_USE_OIDC."))
        .attr("use_msi", Attribute::optional(Type::Bool).describe("Managed identity; ARM_USE_MSI."))
        .attr("oidc_token", Attribute::optional(string()).sensitive().describe("Defaults to ARM_OIDC_TOKEN."))
        .attr("oidc_token_file_path", Attribute::optional(string()).describe("Defaults to ARM_OIDC_TOKEN_FILE_PATH."))
        .attr(
            "resource_manager_endpoint",
            Attribute::optional(string()).describe("Defaults to ARM_RESOURCE_MANAGER_ENDPOINT, then the public cloud."),
        )
}

fn permissions() -> Block {
    Block::new()
        .attr("actions", Attribute::optional(strings()))
        .attr("not_actions", Attribute::optional(strings()))
        .attr("data_actions", Attribute::optional(strings()))
        .attr("not_data_actions", Attribute::optional(strings()))
}

fn role_definition() -> ResourceSchema {
    ResourceSchema::new(
        ROLE_DEFINITION,
        Block::new()
            .attr(
                "role_definition_id",
                Attribute::optional_computed(string()).force_new().describe("A GUID; generated when unset."),
            )
            .attr("name", Attribute::required(string()).describe("The role name, unique in the tenant."))
            .attr("scope", Attribute::required(string()).force_new().describe("Where the definition is written."))
            .attr("description", Attribute::optional(string()))
            .block("permissions", Nesting::List, permissions())
            .attr(
                "assignable_scopes",
                Attribute::optional_computed(strings()).describe("Where the role may be assigned; defaults to [scope]."),
            )
            .attr("role_definition_resource_id", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("`{role_definition_resource_id}|{scope}`.")),
    )
    .import_id("`{role_definition_resource_id}|{scope}`, e.g. `/subscriptions/SUB/providers/Microsoft.Authorization/roleDefinitions/GUID|/subscriptions/SUB`")
}

fn role_assignment() -> ResourceSchema {
    ResourceSchema::new(
        ROLE_ASSIGNMENT,
        Block::new()
            .attr(
                "name",
                Attribute::optional_computed(string())
                    .force_new()
                    .describe("A GUID; derived from scope, role and principal when unset."),
            )
            .attr("scope", Attribute::required(string()).force_new())
            .attr("role_definition_id", Attribute::optional_computed(string()).force_new())
            .attr("role_definition_name", Attribute::optional_computed(string()).force_new())
            .attr("principal_id", Attribute::required(string()).force_new())
            .attr(
                "principal_type",
                Attribute::optional_computed(string()).force_new().describe("User, Group or ServicePrincipal."),
            )
            .attr("description", Attribute::optional(string()))
            .attr("condition", Attribute::optional(string()))
            .attr("condition_version", Attribute::optional_computed(string()))
            .attr("id", Attribute::computed(string()).describe("The assignment's resource id.")),
    )
    .import_id("the assignment's resource id, e.g. `/subscriptions/SUB/providers/Microsoft.Authorization/roleAssignments/GUID`")
}

fn client_config() -> ResourceSchema {
    ResourceSchema::new(
        CLIENT_CONFIG,
        Block::new()
            .attr("client_id", Attribute::computed(string()))
            .attr("tenant_id", Attribute::computed(string()))
            .attr("subscription_id", Attribute::computed(string()))
            .attr("object_id", Attribute::computed(string()).describe("The `oid` claim of a static token, if any."))
            .attr("id", Attribute::computed(string())),
    )
}

fn role_definition_data() -> ResourceSchema {
    let permission = Type::Object(
        ["actions", "not_actions", "data_actions", "not_data_actions"]
            .into_iter()
            .map(|name| (name.to_owned(), Type::list(Type::String)))
            .collect::<BTreeMap<_, _>>(),
        Vec::new(),
    );
    ResourceSchema::new(
        ROLE_DEFINITION,
        Block::new()
            .attr("name", Attribute::optional_computed(string()).describe("The role name, e.g. `Reader`."))
            .attr("role_definition_id", Attribute::optional_computed(string()))
            .attr("scope", Attribute::optional(string()).describe("Defaults to the provider's subscription."))
            .attr("description", Attribute::computed(string()))
            .attr("type", Attribute::computed(string()).describe("BuiltInRole or CustomRole."))
            .attr("permissions", Attribute::computed(Type::list(permission)))
            .attr("assignable_scopes", Attribute::computed(Type::list(Type::String)))
            .attr("id", Attribute::computed(string()).describe("The definition's resource id.")),
    )
}
