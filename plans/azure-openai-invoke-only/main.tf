# Seed 002's least-privilege custom role for calling Azure OpenAI: data actions on deployments
# only (completions, chat, embeddings, images, audio, search), no management actions, assignable
# to one resource group; and its assignment to the gateway application's service principal.
#
# The application and its federated credential (the trust in the gateway's OIDC issuer) live in
# Entra ID, which Microsoft Graph manages; create them as README.md shows. No client secret is
# made or emitted: the gateway presents its OIDC token (litellm's azure_ad_token: "oidc/...").

provider "azurerm" {
  subscription_id = var.subscription_id
}

locals {
  subscription = "/subscriptions/${var.subscription_id}"
  group        = "${local.subscription}/resourceGroups/${var.resource_group}"
}

data "azurerm_client_config" "current" {}

resource "azurerm_role_definition" "invoke_only" {
  name        = var.role_name
  scope       = local.subscription
  description = "Invoke Azure OpenAI deployments in ${var.resource_group}; nothing else."

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

resource "azurerm_role_assignment" "gateway" {
  scope              = local.group
  role_definition_id = azurerm_role_definition.invoke_only.role_definition_resource_id
  principal_id       = var.principal_id
  principal_type     = "ServicePrincipal"
  description        = "The LLM gateway invokes Azure OpenAI deployments in this group, and nothing else."
}
