# Seed 000's table, Vertex AI column: the gateway on EKS, GKE or AKS, and its CI on GitHub
# Actions, each with a keyless external_account credential file instead of a service account key.
# EKS exchanges its AWS role (seed 001, environment = "eks_fargate"); the clusters exchange a
# projected Kubernetes service account token their OIDC issuer signs (file_source); GitHub
# Actions fetches its ID token from the job's token URL (url_source). All of them impersonate one
# service account that may call Vertex AI.

variable "project" {
  type        = string
  description = "The Google Cloud project ID that serves Vertex AI."
}

variable "aws_account_id" {
  type        = string
  description = "The AWS account of the EKS cluster."
}

variable "aws_role_name" {
  type        = string
  default     = "LitellmVertexPodRole"
  description = "The IAM role the gateway's pods assume on EKS."
}

variable "aks_issuer_url" {
  type        = string
  description = "The AKS cluster's OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl)."
}

variable "gke_issuer_url" {
  type        = string
  description = "The GKE cluster's issuer: https://container.googleapis.com/v1/projects/P/locations/L/clusters/C."
}

variable "github_repository" {
  type        = string
  description = "ORG/REPO whose workflows may call Vertex AI."
}

variable "namespace" {
  type    = string
  default = "litellm"
}

variable "service_account" {
  type    = string
  default = "litellm"
}

locals {
  # The audience both clusters' projected token volumes request, and their pool providers allow.
  token_audience = "https://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global/workloadIdentityPools/litellm-hosts"
  subject        = "system:serviceaccount:${var.namespace}:${var.service_account}"
  # Where the token volume of the Helm values mounts the token, on either cluster.
  token_path = "/var/run/secrets/tokens/gcp/token"
}

provider "google" {
  project = var.project
}

data "google_project" "vertex" {
  project_id = var.project
}

resource "google_project_service" "apis" {
  for_each = toset(["iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com", "aiplatform.googleapis.com"])
  service  = each.value
}

resource "google_service_account" "vertex" {
  depends_on   = [google_project_service.apis]
  account_id   = "litellm-vertex"
  display_name = "LiteLLM gateway and CI (keyless, every host)"
}

resource "google_project_iam_member" "vertex_user" {
  project = var.project
  role    = "roles/aiplatform.user"
  member  = google_service_account.vertex.member
}

resource "google_iam_workload_identity_pool" "hosts" {
  depends_on                = [google_project_service.apis]
  workload_identity_pool_id = "litellm-hosts"
  display_name              = "LiteLLM hosts"
}

resource "google_iam_workload_identity_pool_provider" "eks" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.hosts.workload_identity_pool_id
  workload_identity_pool_provider_id = "eks-pods"
  aws {
    account_id = var.aws_account_id
  }
}

resource "google_iam_workload_identity_pool_provider" "aks" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.hosts.workload_identity_pool_id
  workload_identity_pool_provider_id = "aks-pods"
  attribute_mapping = {
    "google.subject" = "assertion.sub"
  }
  attribute_condition = "assertion.sub == '${local.subject}'"
  oidc {
    issuer_uri        = var.aks_issuer_url
    allowed_audiences = [local.token_audience]
  }
}

resource "google_iam_workload_identity_pool_provider" "gke" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.hosts.workload_identity_pool_id
  workload_identity_pool_provider_id = "gke-pods"
  attribute_mapping = {
    "google.subject" = "assertion.sub"
  }
  attribute_condition = "assertion.sub == '${local.subject}'"
  oidc {
    issuer_uri        = var.gke_issuer_url
    allowed_audiences = [local.token_audience]
  }
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.hosts.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
  }
  attribute_condition = "assertion.repository == '${var.github_repository}'"
  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

# Who may impersonate the service account: the gateway's role on EKS, the gateway's Kubernetes
# service account on either cluster (its subject), and the repository's workflows.
resource "google_service_account_iam_member" "eks" {
  service_account_id = google_service_account.vertex.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global/workloadIdentityPools/${google_iam_workload_identity_pool.hosts.workload_identity_pool_id}/attribute.aws_role/arn:aws:sts::${var.aws_account_id}:assumed-role/${var.aws_role_name}"
}

resource "google_service_account_iam_member" "clusters" {
  service_account_id = google_service_account.vertex.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global/workloadIdentityPools/${google_iam_workload_identity_pool.hosts.workload_identity_pool_id}/subject/${local.subject}"
}

resource "google_service_account_iam_member" "github" {
  service_account_id = google_service_account.vertex.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global/workloadIdentityPools/${google_iam_workload_identity_pool.hosts.workload_identity_pool_id}/attribute.repository/${var.github_repository}"
}

# One credential file per host, for GOOGLE_APPLICATION_CREDENTIALS.
resource "google_credential_config" "eks" {
  path                       = "${path.module}/credentials/eks.json"
  environment                = "eks_fargate"
  workload_identity_provider = google_iam_workload_identity_pool_provider.eks.name
  service_account_email      = google_service_account.vertex.email
}

resource "google_credential_config" "aks" {
  path                       = "${path.module}/credentials/aks.json"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aks.name
  service_account_email      = google_service_account.vertex.email
  file_source {
    path = local.token_path
  }
}

resource "google_credential_config" "gke" {
  path                       = "${path.module}/credentials/gke.json"
  workload_identity_provider = google_iam_workload_identity_pool_provider.gke.name
  service_account_email      = google_service_account.vertex.email
  file_source {
    path = local.token_path
  }
}

# The workflow fills in the two placeholders from ACTIONS_ID_TOKEN_REQUEST_URL and
# ACTIONS_ID_TOKEN_REQUEST_TOKEN at run time (envsubst); the request token is the job's own and
# lives only as long as the job, so it is never in the spec, the state or the repository.
resource "google_credential_config" "github" {
  path                       = "${path.module}/credentials/github.json"
  workload_identity_provider = google_iam_workload_identity_pool_provider.github.name
  service_account_email      = google_service_account.vertex.email
  url_source {
    url     = "$${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=https://iam.googleapis.com/${google_iam_workload_identity_pool_provider.github.name}"
    headers = { Authorization = "bearer $${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" }
    format {
      type                     = "json"
      subject_token_field_name = "value"
    }
  }
}

output "VERTEX_PROJECT" {
  value = var.project
}

output "VERTEX_SERVICE_ACCOUNT" {
  value = google_service_account.vertex.email
}

output "GCP_TOKEN_AUDIENCE" {
  description = "The audience of the projected service account token volume on AKS and GKE."
  value       = local.token_audience
}

output "GCP_TOKEN_PATH" {
  value = local.token_path
}
