# The gateway's environment for Azure OpenAI (seed 000, seed 002): no AZURE_CLIENT_SECRET, the
# gateway's OIDC token takes its place.

output "AZURE_TENANT_ID" {
  value = data.azurerm_client_config.current.tenant_id
}

output "AZURE_CLIENT_ID" {
  value = var.client_id
}

output "AZURE_INVOKE_ONLY_ROLE_ID" {
  value = azurerm_role_definition.invoke_only.role_definition_resource_id
}

output "AZURE_ROLE_ASSIGNMENT_ID" {
  value = azurerm_role_assignment.gateway.id
}
