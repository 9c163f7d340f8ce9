# The gateway's environment for Azure OpenAI (seed 000, seed 002), keyless: no
# AZURE_CLIENT_SECRET; the projected service account token at AZURE_FEDERATED_TOKEN_FILE takes its
# place (litellm: azure_ad_token "oidc/azure/..."; the Azure SDKs: WorkloadIdentityCredential).
# values-azure.yaml.tpl mounts that token: `trustform render values-azure.yaml.tpl`.

output "AZURE_TENANT_ID" {
  value = data.azurerm_client_config.current.tenant_id
}

output "AZURE_CLIENT_ID" {
  value = local.client_id
}

output "AZURE_FEDERATED_TOKEN_FILE" {
  description = "Where the pod's projected service account token is mounted (values-azure.yaml.tpl)."
  value       = local.token_file
}

output "AZURE_TOKEN_AUDIENCE" {
  description = "The audience the projected token asks for: the federated credential's."
  value       = local.token_audience
}

output "AZURE_AUTHORITY_HOST" {
  value = "https://login.microsoftonline.com/"
}

output "JWT_PUBLIC_KEY_URL" {
  description = "The tenant's signing keys, for a gateway that checks Entra ID tokens (seed 004)."
  value       = "https://login.microsoftonline.com/${data.azurerm_client_config.current.tenant_id}/discovery/v2.0/keys"
}

output "LITELLM_JWT_ALLOWED_ROLES" {
  description = "The app roles users' tokens carry (application identity only), for litellm-jwtauth.yaml.tpl."
  value       = local.use_application ? join(",", keys(var.gateway_roles)) : ""
}

output "LITELLM_JWT_MODELS" {
  description = "The models those users may call, for litellm-jwtauth.yaml.tpl."
  value       = join(",", var.gateway_models)
}

output "AZURE_INVOKE_ONLY_ROLE_ID" {
  value = azurerm_role_definition.invoke_only.role_definition_resource_id
}

output "AZURE_ROLE_ASSIGNMENT_ID" {
  value = azurerm_role_assignment.gateway.id
}
