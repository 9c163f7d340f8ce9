variable "subscription_id" {
  description = "The subscription holding the Azure OpenAI resource."
}

variable "resource_group" {
  description = "The resource group of the Azure OpenAI resource: the role is assignable there and nowhere else, and the gateway's identity lives there."
}

variable "location" {
  description = "The Azure region of the gateway's managed identity."
  default     = "westeurope"
}

variable "identity_name" {
  description = "The name of the gateway's user-assigned managed identity."
  default     = "litellm-gateway"
}

variable "aws_region" {
  description = "The region of the EKS cluster the gateway runs on."
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The EKS cluster whose OIDC issuer the identity trusts."
}

variable "namespace" {
  description = "The gateway's Kubernetes namespace."
  default     = "litellm"
}

variable "service_account" {
  description = "The gateway's Kubernetes service account."
  default     = "litellm"
}

variable "identity_kind" {
  description = "\"managed_identity\" (ARM only) or \"application\" (Entra ID application through Microsoft Graph, with app roles)."
  default     = "managed_identity"

  validation {
    condition     = contains(["managed_identity", "application"], var.identity_kind)
    error_message = "identity_kind is \"managed_identity\" (ARM only) or \"application\" (Microsoft Graph, with app roles)."
  }
}

variable "gateway_roles" {
  description = "The app roles (value = description) users' tokens carry to the gateway's JWT auth; application identity only."
  type        = map(string)
  default = {
    basic_user = "Calls the gateway's models."
  }
}

variable "gateway_models" {
  description = "The models a user holding one of gateway_roles may call (litellm's role_permissions)."
  type        = list(string)
  default     = ["gpt-4o"]
}

variable "github_repository" {
  description = "ORG/REPO whose GitHub Actions runs on main may act as the gateway's identity; empty for none."
  default     = ""
}

variable "role_name" {
  default = "invoke-only"
}
