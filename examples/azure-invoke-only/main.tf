# Seed 002's `invoke-only` custom role: the least privilege an Azure AD application needs to call
# Azure OpenAI deployments, assignable to one resource group, and its assignment to the
# application's service principal. Point it at a real subscription, or at the Trustform sandbox
# (see README.md).

variable "subscription_id" {
  default = "24ebb700-ec2f-417f-afad-78fe15dcc91f"
}

variable "resource_group" {
  default = "your-openai-group-name"
}

variable "client_id" {
  description = "The Azure AD application (client) id the gateway authenticates as."
  default     = "91a43c21-cf21-4f34-9085-331015ea4f91"
}

variable "principal_id" {
  description = "The object id of the application's service principal, which receives the role."
  default     = "5b0cf6a1-3d4e-4f2a-9c8b-7e6d5c4b3a21"
}

locals {
  subscription = "/subscriptions/${var.subscription_id}"
  group        = "/subscriptions/${var.subscription_id}/resourceGroups/${var.resource_group}"
}

provider "azurerm" {
  subscription_id = var.subscription_id
}

data "azurerm_client_config" "current" {}

resource "azurerm_role_definition" "invoke_only" {
  name        = "invoke-only"
  scope       = local.subscription
  description = ""

  permissions {
    actions     = []
    not_actions = []
    data_actions = [
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/audio/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/search/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/extensions/chat/completions/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/images/generations/action",
    ]
    not_data_actions = []
  }

  assignable_scopes = [local.group]
}

resource "azurerm_role_assignment" "gateway_invoke_only" {
  scope              = local.group
  role_definition_id = azurerm_role_definition.invoke_only.role_definition_resource_id
  principal_id       = var.principal_id
  principal_type     = "ServicePrincipal"
  description        = "The LLM gateway calls Azure OpenAI deployments in this group, and nothing else."
}

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
  value = azurerm_role_assignment.gateway_invoke_only.id
}
