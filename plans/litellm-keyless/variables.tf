# Where the gateway runs and what it calls. Real values go in trustform.tfvars (see
# trustform.tfvars.example); `trustform --sandbox` reads sandbox.tfvars instead.

variable "aws_region" {
  description = "The region of the EKS cluster and of Bedrock calls."
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The EKS cluster the gateway runs on, with EKS Pod Identity enabled."
}

variable "namespace" {
  default = "litellm"
}

variable "service_account" {
  description = "The Kubernetes service account of the gateway's pods (the Helm chart's litellm-helm.serviceAccount)."
  default     = "litellm"
}

variable "gateway_role_name" {
  default = "litellm-gateway"
}

variable "bedrock_model_arns" {
  description = "The Bedrock foundation models the gateway and CI may invoke."
  type        = list(string)
  default = [
    "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:*::foundation-model/cohere.command-r-v1:0",
  ]
}

variable "gcp_project" {
  description = "The Google Cloud project ID where Vertex AI is enabled (the ID: VERTEX_PROJECT)."
}

variable "vertex_location" {
  default = "us-central1"
}

variable "azure_subscription_id" {
  description = "The subscription of the Azure OpenAI resource."
}

variable "azure_resource_group" {
  description = "The resource group of the Azure OpenAI resource."
}

variable "azure_location" {
  description = "The Azure region of the gateway's managed identity."
  default     = "westeurope"
}

variable "gateway_roles" {
  description = "The app roles (value = description) users' tokens carry to the gateway's JWT auth (seed 004); with azure_identity_kind = \"application\"."
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

variable "azure_identity_kind" {
  description = "\"managed_identity\" (ARM only) or \"application\" (an Entra ID application through Microsoft Graph, with app roles)."
  default     = "managed_identity"
}

variable "circleci_org_id" {
  description = "The CircleCI organisation whose pipelines run the gateway's tests against Bedrock."
}

variable "circleci_vcs_origin" {
  default = "github.com/BerriAI/litellm"
}

variable "circleci_branches" {
  type    = list(string)
  default = ["main", "litellm_*"]
}

variable "github_repository" {
  description = "OWNER/REPO of the GitHub Actions workflows that may invoke Bedrock by web identity."
  default     = "BerriAI/litellm"
}

variable "vault_kv_mount" {
  description = "The Vault KV v2 mount for the gateway's master key."
  default     = "litellm"
}

variable "vault_auth_path" {
  description = "Where this cluster's Kubernetes auth method is mounted in Vault."
  default     = "eks-litellm"
}

variable "eso_namespace" {
  description = "External Secrets Operator's namespace."
  default     = "external-secrets"
}

variable "eso_service_account" {
  description = "External Secrets Operator's service account (the Helm chart's default)."
  default     = "external-secrets"
}
