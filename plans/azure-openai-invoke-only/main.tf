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

locals {
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

# The gateway's identity in Entra ID: AZURE_CLIENT_ID is its client_id.
resource "azurerm_user_assigned_identity" "gateway" {
  name                = var.identity_name
  resource_group_name = var.resource_group
  location            = var.location
}

# Trust the gateway's Kubernetes service account on the EKS cluster.
resource "azurerm_federated_identity_credential" "gateway_eks" {
  name                = "litellm-eks"
  resource_group_name = var.resource_group
  parent_id           = azurerm_user_assigned_identity.gateway.id
  issuer              = local.eks_issuer
  subject             = local.gateway_subject
  audience            = [local.token_audience]
}

# CI (GitHub Actions on the default branch) runs the gateway's smoke tests as the same identity,
# with the job's OIDC token; no secret in the repository. Off when github_repository is empty.
resource "azurerm_federated_identity_credential" "github_actions" {
  count               = var.github_repository == "" ? 0 : 1
  name                = "github-actions-main"
  resource_group_name = var.resource_group
  parent_id           = azurerm_user_assigned_identity.gateway.id
  issuer              = "https://token.actions.githubusercontent.com"
  subject             = "repo:${var.github_repository}:ref:refs/heads/main"
  audience            = [local.token_audience]
}

resource "azurerm_role_assignment" "gateway" {
  scope              = local.group
  role_definition_id = azurerm_role_definition.invoke_only.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.gateway.principal_id
  principal_type     = "ServicePrincipal"
  description        = "The LLM gateway invokes Azure OpenAI deployments in this group, and nothing else."
}
