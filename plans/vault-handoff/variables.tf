variable "aws_region" {
  description = "The region of the EKS cluster."
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The EKS cluster the gateway and External Secrets run in."
  default     = "litellm"
}

variable "kv_mount" {
  description = "The KV v2 mount for the gateway's secrets."
  default     = "litellm"
}

variable "auth_path" {
  description = "Where the cluster's Kubernetes auth method is mounted in Vault."
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
