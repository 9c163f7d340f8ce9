//! Resource and data source schemas, with the Terraform vault provider's names and arguments.

use trustform_lang::Type;
use trustform_schema::{Attribute, Block, Compare, ResourceSchema};

pub(crate) const MOUNT: &str = "vault_mount";
pub(crate) const KV_SECRET_V2: &str = "vault_kv_secret_v2";
pub(crate) const POLICY: &str = "vault_policy";
pub(crate) const AUTH_BACKEND: &str = "vault_auth_backend";
pub(crate) const KUBERNETES_CONFIG: &str = "vault_kubernetes_auth_backend_config";
pub(crate) const KUBERNETES_ROLE: &str = "vault_kubernetes_auth_backend_role";

fn string() -> Type {
    Type::String
}

pub(crate) fn provider_block() -> Block {
    Block::new()
        .attr("address", Attribute::optional(string()).describe("The server's URL; defaults to VAULT_ADDR."))
        .attr(
            "token",
            Attribute::optional(string())
                .sensitive()
                .describe("Defaults to VAULT_TOKEN, then the token helper's file ~/.vault-token."),
        )
        .attr("namespace", Attribute::optional(string()).describe("Defaults to VAULT_NAMESPACE."))
        .attr("skip_tls_verify", Attribute::optional(Type::Bool).describe("Defaults to VAULT_SKIP_VERIFY."))
        .attr("ca_cert_file", Attribute::optional(string()).describe("A PEM bundle; defaults to VAULT_CACERT."))
}

pub(crate) fn mount() -> ResourceSchema {
    ResourceSchema::new(
        MOUNT,
        Block::new()
            .attr("path", Attribute::required(string()).force_new().describe("Where the engine is mounted, e.g. `kv`."))
            .attr(
                "type",
                Attribute::required(string()).force_new().describe("The engine, e.g. `kv` (with options.version = 2)."),
            )
            .attr("description", Attribute::optional(string()))
            .attr("default_lease_ttl_seconds", Attribute::optional_computed(Type::Number))
            .attr("max_lease_ttl_seconds", Attribute::optional_computed(Type::Number))
            .attr(
                "options",
                Attribute::optional(Type::map(string())).describe("Engine options: `{ version = \"2\" }` for KV v2."),
            )
            .attr("local", Attribute::optional(Type::Bool).force_new().default(false))
            .attr("seal_wrap", Attribute::optional_computed(Type::Bool).force_new())
            .attr("external_entropy_access", Attribute::optional(Type::Bool).force_new().default(false))
            .attr("accessor", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The mount path.")),
    )
    .import_id("the mount path, e.g. `kv`")
}

pub(crate) fn kv_secret_v2() -> ResourceSchema {
    ResourceSchema::new(
        KV_SECRET_V2,
        Block::new()
            .attr("mount", Attribute::required(string()).force_new().describe("The KV v2 mount's path."))
            .attr("name", Attribute::required(string()).force_new().describe("The secret's path inside the mount."))
            .attr(
                "data_json",
                Attribute::required(string())
                    .sensitive()
                    .compare(Compare::JsonDocument)
                    .describe("The secret's data: a JSON object, usually jsonencode({...})."),
            )
            .attr(
                "cas",
                Attribute::optional(Type::Number).describe("Check-and-set: the version expected to be current."),
            )
            .attr("options", Attribute::optional(Type::map(string())))
            .attr(
                "delete_all_versions",
                Attribute::optional(Type::Bool)
                    .default(false)
                    .describe("Destroy removes every version and the metadata."),
            )
            .attr(
                "disable_read",
                Attribute::optional(Type::Bool)
                    .default(false)
                    .describe("Never read the data back (no drift detection)."),
            )
            .attr("path", Attribute::computed(string()).describe("`<mount>/data/<name>`."))
            .attr("data", Attribute::computed(Type::map(string())).sensitive())
            .attr("metadata", Attribute::computed(Type::map(string())).describe("The current version's metadata."))
            .attr("id", Attribute::computed(string()).describe("`<mount>/data/<name>`.")),
    )
    .import_id("`<mount>/data/<name>`, e.g. `kv/data/litellm/gateway`")
}

pub(crate) fn policy() -> ResourceSchema {
    ResourceSchema::new(
        POLICY,
        Block::new()
            .attr("name", Attribute::required(string()).force_new())
            .attr("policy", Attribute::required(string()).describe("The policy document, in HCL."))
            .attr("id", Attribute::computed(string()).describe("The policy name.")),
    )
    .import_id("the policy name")
}

pub(crate) fn auth_backend() -> ResourceSchema {
    ResourceSchema::new(
        AUTH_BACKEND,
        Block::new()
            .attr("type", Attribute::required(string()).force_new().describe("The auth method, e.g. `kubernetes`."))
            .attr("path", Attribute::optional_computed(string()).force_new().describe("Defaults to the type."))
            .attr("description", Attribute::optional(string()))
            .attr("local", Attribute::optional(Type::Bool).force_new().default(false))
            .attr("disable_remount", Attribute::optional(Type::Bool).default(false))
            .attr("accessor", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()).describe("The path.")),
    )
    .import_id("the auth method's path, e.g. `kubernetes`")
}

pub(crate) fn kubernetes_config() -> ResourceSchema {
    ResourceSchema::new(
        KUBERNETES_CONFIG,
        Block::new()
            .attr("backend", Attribute::optional(string()).force_new().default("kubernetes"))
            .attr("kubernetes_host", Attribute::required(string()).describe("The cluster's API server URL."))
            .attr("kubernetes_ca_cert", Attribute::optional_computed(string()).describe("The cluster's CA, in PEM."))
            .attr("token_reviewer_jwt", Attribute::optional(string()).sensitive())
            .attr("pem_keys", Attribute::optional(Type::list(string())))
            .attr("issuer", Attribute::optional(string()).describe("The service-account token issuer."))
            .attr("disable_iss_validation", Attribute::optional_computed(Type::Bool))
            .attr("disable_local_ca_jwt", Attribute::optional(Type::Bool).default(false))
            .attr("id", Attribute::computed(string()).describe("`auth/<backend>/config`.")),
    )
    .import_id("`auth/<backend>/config`, e.g. `auth/kubernetes/config`")
}

pub(crate) fn kubernetes_role() -> ResourceSchema {
    let number = || Attribute::optional(Type::Number).default(0);
    ResourceSchema::new(
        KUBERNETES_ROLE,
        Block::new()
            .attr("backend", Attribute::optional(string()).force_new().default("kubernetes"))
            .attr("role_name", Attribute::required(string()).force_new())
            .attr("bound_service_account_names", Attribute::required(Type::set(string())))
            .attr("bound_service_account_namespaces", Attribute::optional(Type::set(string())))
            .attr("bound_service_account_namespace_selector", Attribute::optional(string()))
            .attr("audience", Attribute::optional(string()))
            .attr("alias_name_source", Attribute::optional_computed(string()))
            .attr("token_policies", Attribute::optional(Type::set(string())))
            .attr("token_bound_cidrs", Attribute::optional(Type::set(string())))
            .attr("token_ttl", number())
            .attr("token_max_ttl", number())
            .attr("token_explicit_max_ttl", number())
            .attr("token_period", number())
            .attr("token_num_uses", number())
            .attr("token_no_default_policy", Attribute::optional(Type::Bool).default(false))
            .attr("token_type", Attribute::optional(string()).default("default"))
            .attr("id", Attribute::computed(string()).describe("`auth/<backend>/role/<role_name>`.")),
    )
    .import_id("`auth/<backend>/role/<role_name>`, e.g. `auth/kubernetes/role/external-secrets`")
}

pub(crate) fn kv_secret_v2_data() -> ResourceSchema {
    ResourceSchema::new(
        KV_SECRET_V2,
        Block::new()
            .attr("mount", Attribute::required(string()))
            .attr("name", Attribute::required(string()))
            .attr("version", Attribute::optional(Type::Number).describe("Defaults to the current version."))
            .attr("data_json", Attribute::computed(string()).sensitive())
            .attr("data", Attribute::computed(Type::map(string())).sensitive())
            .attr("path", Attribute::computed(string()))
            .attr("created_time", Attribute::computed(string()))
            .attr("deletion_time", Attribute::computed(string()))
            .attr("destroyed", Attribute::computed(Type::Bool))
            .attr("custom_metadata", Attribute::computed(Type::map(string())))
            .attr("id", Attribute::computed(string())),
    )
}
