# Azure OpenAI (seed 002): the invoke-only custom role on the OpenAI resource group, assigned to
# the gateway application's service principal. The application trusts the gateway's OIDC
# issuer through a federated credential (Entra ID, see README.md), so no client secret exists.

provider "azurerm" {
  subscription_id = var.azure_subscription_id
}

locals {
  azure_subscription = "/subscriptions/${var.azure_subscription_id}"
  azure_group        = "${local.azure_subscription}/resourceGroups/${var.azure_resource_group}"
}

data "azurerm_client_config" "current" {}

resource "azurerm_role_definition" "invoke_only" {
  name        = "litellm-invoke-only"
  scope       = local.azure_subscription
  description = "Invoke Azure OpenAI deployments in ${var.azure_resource_group}; nothing else."

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

  assignable_scopes = [local.azure_group]
}

resource "azurerm_role_assignment" "gateway" {
  scope              = local.azure_group
  role_definition_id = azurerm_role_definition.invoke_only.role_definition_resource_id
  principal_id       = var.azure_principal_id
  principal_type     = "ServicePrincipal"
  description        = "The LLM gateway invokes Azure OpenAI deployments in this group, and nothing else."
}
