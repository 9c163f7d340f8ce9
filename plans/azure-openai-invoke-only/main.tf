# Seed 002's least-privilege custom role for calling Azure OpenAI (data actions on deployments
# only: completions, chat, embeddings, images, audio, search; no management action; assignable to
# one resource group), assigned to an identity this plan creates for the gateway: a user-assigned
# managed identity that trusts the EKS cluster's service account token through a federated
# credential. No client secret exists anywhere: the gateway's pod presents its projected token
# (audience api://AzureADTokenExchange) and Entra ID exchanges it for an access token.
#
# A user-assigned managed identity is written through ARM alone, so this works in tenants where
# the deployer may not write Microsoft Graph (no Application.ReadWrite permission): the common
# case for a subscription owner.

provider "azurerm" {
  subscription_id = var.subscription_id
}

provider "aws" {
  region = var.aws_region
}

# The cluster the gateway runs on: its OIDC issuer is what the federated credential trusts.
data "aws_eks_cluster" "gateway" {
  name = var.cluster_name
}

provider "azuread" {}

data "azurerm_client_config" "current" {}

locals {
  use_application = var.identity_kind == "application"
  github_issuer   = "https://token.actions.githubusercontent.com"
  github_subject  = "repo:${var.github_repository}:ref:refs/heads/main"
  subscription    = "/subscriptions/${var.subscription_id}"
  group           = "${local.subscription}/resourceGroups/${var.resource_group}"
  eks_issuer      = data.aws_eks_cluster.gateway.identity[0].oidc[0].issuer
  gateway_subject = "system:serviceaccount:${var.namespace}:${var.service_account}"
  # The audience Azure's token exchange expects; the pod's projected token asks for it, and
  # is mounted where values-azure.yaml.tpl puts it (the path AKS's workload identity webhook uses).
  token_audience = "api://AzureADTokenExchange"
  token_file     = "/var/run/secrets/azure/tokens/azure-identity-token"
}

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

# The gateway's identity in Entra ID, one of two kinds (var.identity_kind):
# * "managed_identity" (the default): a user-assigned managed identity, written through ARM alone;
# * "application": an Entra ID application and its service principal, written through Microsoft
#   Graph (needs Application.ReadWrite.OwnedBy), whose app roles are the roles users' tokens carry
#   to the gateway's JWT auth (seed 004).
# Either way its federated credentials trust the gateway's service account on the EKS cluster
# (and, with github_repository set, GitHub Actions runs on main), and no secret exists.

resource "azurerm_user_assigned_identity" "gateway" {
  count               = local.use_application ? 0 : 1
  name                = var.identity_name
  resource_group_name = var.resource_group
  location            = var.location
}

resource "azurerm_federated_identity_credential" "gateway_eks" {
  count               = local.use_application ? 0 : 1
  name                = "litellm-eks"
  resource_group_name = var.resource_group
  parent_id           = azurerm_user_assigned_identity.gateway[0].id
  issuer              = local.eks_issuer
  subject             = local.gateway_subject
  audience            = [local.token_audience]
}

resource "azurerm_federated_identity_credential" "github_actions" {
  count               = !local.use_application && var.github_repository != "" ? 1 : 0
  name                = "github-actions-main"
  resource_group_name = var.resource_group
  parent_id           = azurerm_user_assigned_identity.gateway[0].id
  issuer              = local.github_issuer
  subject             = local.github_subject
  audience            = [local.token_audience]
}

resource "azuread_application" "gateway" {
  count        = local.use_application ? 1 : 0
  display_name = var.identity_name

  dynamic "app_role" {
    for_each = var.gateway_roles
    content {
      allowed_member_types = ["User"]
      description          = app_role.value
      display_name         = app_role.key
      value                = app_role.key
    }
  }
}

resource "azuread_service_principal" "gateway" {
  count     = local.use_application ? 1 : 0
  client_id = azuread_application.gateway[0].client_id
}

resource "azuread_application_federated_identity_credential" "gateway_eks" {
  count          = local.use_application ? 1 : 0
  application_id = azuread_application.gateway[0].id
  display_name   = "litellm-eks"
  issuer         = local.eks_issuer
  subject        = local.gateway_subject
  audiences      = [local.token_audience]
}

resource "azuread_application_federated_identity_credential" "github_actions" {
  count          = local.use_application && var.github_repository != "" ? 1 : 0
  application_id = azuread_application.gateway[0].id
  display_name   = "github-actions-main"
  issuer         = local.github_issuer
  subject        = local.github_subject
  audiences      = [local.token_audience]
}

locals {
  client_id    = one(concat(azurerm_user_assigned_identity.gateway[*].client_id, azuread_application.gateway[*].client_id))
  principal_id = one(concat(azurerm_user_assigned_identity.gateway[*].principal_id, azuread_service_principal.gateway[*].object_id))
}

resource "azurerm_role_assignment" "gateway" {
  scope              = local.group
  role_definition_id = azurerm_role_definition.invoke_only.role_definition_resource_id
  principal_id       = local.principal_id
  principal_type     = "ServicePrincipal"
  description        = "The LLM gateway invokes Azure OpenAI deployments in this group, and nothing else."
}
