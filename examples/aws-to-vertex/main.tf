# Seed 001 end to end: a workload on EKS (Pod Identity) calls Vertex AI keylessly through
# Google workload identity federation. AWS: the pod identity role and its association. Google:
# the service account with roles/aiplatform.user, the pool and its AWS provider, the
# workloadIdentityUser grant to the role's principalSet, and the external_account JSON for EC2
# and for EKS Fargate.

variable "gcp_project" {
  description = "The Google Cloud project ID (VERTEX_PROJECT takes the ID, not the number)."
  default     = "litellm-prod"
}

variable "cluster_name" {
  default = "litellm"
}

variable "namespace" {
  default = "litellm"
}

variable "service_account" {
  default = "litellm-sa"
}

data "aws_caller_identity" "current" {}

data "google_project" "vertex" {
  project_id = var.gcp_project
}

# AWS: the role the gateway's pods assume through EKS Pod Identity.
resource "aws_iam_role" "pod" {
  name = "LitellmPodRole"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
}

resource "aws_eks_pod_identity_association" "gateway" {
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = var.service_account
  role_arn        = aws_iam_role.pod.arn
}

# Google: the service account the role impersonates, allowed to call Vertex AI.
resource "google_service_account" "litellm" {
  project      = var.gcp_project
  account_id   = "litellm-wif-sa"
  display_name = "LiteLLM via AWS workload identity federation"
}

resource "google_project_iam_member" "vertex_user" {
  project = var.gcp_project
  role    = "roles/aiplatform.user"
  member  = google_service_account.litellm.member
}

resource "google_iam_workload_identity_pool" "aws" {
  project                   = var.gcp_project
  workload_identity_pool_id = "aws-pool"
  display_name              = "AWS Pool"
}

resource "google_iam_workload_identity_pool_provider" "aws" {
  project                            = var.gcp_project
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-provider"
  aws {
    account_id = data.aws_caller_identity.current.account_id
  }
}

# The principalSet names the project by number and the role in the assumed-role form that
# Google's default AWS mapping gives attribute.aws_role.
resource "google_service_account_iam_member" "workload_identity_user" {
  service_account_id = google_service_account.litellm.name
  role               = "roles/iam.workloadIdentityUser"
  member = join("/", [
    "principalSet://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global",
    "workloadIdentityPools/${google_iam_workload_identity_pool.aws.workload_identity_pool_id}",
    "attribute.aws_role/arn:aws:sts::${data.aws_caller_identity.current.account_id}:assumed-role/${aws_iam_role.pod.name}",
  ])
}

resource "google_credential_config" "ec2" {
  path                       = "${path.module}/gcp_aws_external_account.json"
  environment                = "ec2"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.litellm.email
}

resource "google_credential_config" "eks_fargate" {
  path                       = "${path.module}/gcp_aws_external_account.fargate.json"
  environment                = "eks_fargate"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.litellm.email
}

output "VERTEX_PROJECT" {
  value = data.google_project.vertex.project_id
}

output "GOOGLE_APPLICATION_CREDENTIALS" {
  value = google_credential_config.ec2.path
}

output "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE" {
  value = google_credential_config.ec2.audience
}

output "EKS_AWS_ROLE_ARN" {
  value = aws_iam_role.pod.arn
}
