# Google Cloud (seed 001): sessions of the gateway's role impersonate a service account that may
# call Vertex AI, through a workload identity pool that trusts the AWS account.

provider "google" {
  project = var.gcp_project
}

data "google_project" "vertex" {
  project_id = var.gcp_project
}

resource "google_service_account" "gateway" {
  project      = var.gcp_project
  account_id   = "litellm-gateway"
  display_name = "LiteLLM gateway (AWS workload identity federation)"
}

resource "google_project_iam_member" "vertex_user" {
  project = var.gcp_project
  role    = "roles/aiplatform.user"
  member  = google_service_account.gateway.member
}

resource "google_iam_workload_identity_pool" "aws" {
  project                   = var.gcp_project
  workload_identity_pool_id = "litellm-aws"
  display_name              = "LiteLLM on AWS"
}

# Google's default AWS mapping: attribute.aws_role is the session's assumed-role ARN.
resource "google_iam_workload_identity_pool_provider" "aws" {
  project                            = var.gcp_project
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "aws-account"
  display_name                       = "AWS account"
  aws {
    account_id = data.aws_caller_identity.current.account_id
  }
}

resource "google_service_account_iam_member" "workload_identity_user" {
  service_account_id = google_service_account.gateway.name
  role               = "roles/iam.workloadIdentityUser"
  member = join("/", [
    "principalSet://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global",
    "workloadIdentityPools/${google_iam_workload_identity_pool.aws.workload_identity_pool_id}",
    "attribute.aws_role/${local.assumed_role_of_gw}",
  ])
}

# The pods run on Fargate or on EC2 nodes: both credential configurations are written, and the
# Helm values mount the one that fits.
resource "google_credential_config" "ec2" {
  path                       = "${path.module}/gcp_aws_external_account.json"
  environment                = "ec2"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.gateway.email
}

resource "google_credential_config" "eks_fargate" {
  path                       = "${path.module}/gcp_aws_external_account.fargate.json"
  environment                = "eks_fargate"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.gateway.email
}
