variable "gcp_project" {
  description = "The Google Cloud project ID where Vertex AI is enabled (the ID, not the number: VERTEX_PROJECT takes the ID)."
}

variable "aws_region" {
  description = "The AWS region of the EKS cluster."
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The EKS cluster the gateway runs on. EKS Pod Identity must be enabled on it (the eks-pod-identity-agent add-on)."
}

variable "namespace" {
  description = "The Kubernetes namespace of the gateway."
  default     = "litellm"
}

variable "service_account" {
  description = "The Kubernetes service account the gateway's pods run as."
  default     = "litellm"
}

variable "role_name" {
  description = "The IAM role the gateway's pods assume through EKS Pod Identity."
  default     = "LitellmVertexPodRole"
}

variable "gcp_service_account_id" {
  description = "The account id (the part before @) of the Google service account the role impersonates."
  default     = "litellm-wif-sa"
}

variable "pool_id" {
  description = "The workload identity pool that trusts the AWS account."
  default     = "aws-pool"
}

variable "pool_provider_id" {
  default = "aws-provider"
}

variable "vertex_location" {
  description = "The Vertex AI region the gateway calls."
  default     = "us-central1"
}

# Used when another spec calls this one as a module (plans/litellm-keyless does).

variable "irsa" {
  description = "Whether the role also trusts the cluster's IRSA issuer for the gateway's service account (with an IAM OIDC provider for it)."
  type        = bool
  default     = false
}

variable "bedrock_model_arns" {
  description = "Bedrock foundation models the role may invoke; none by default."
  type        = list(string)
  default     = []
}

variable "credentials_dir" {
  description = "Where the credential configuration files are written; this directory by default."
  type        = string
  default     = null
}
