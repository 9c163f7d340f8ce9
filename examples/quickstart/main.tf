# Quickstart: the shape of a keyless LLM-gateway deployment (seeds 000-002), wired with the
# built-in trustform_data and trustform_sleep resources so it plans and applies with no cloud
# account. Each trustform_data stands where a real resource will: the names, ARNs, audiences and
# trust policies are the ones the real resources take, derived from one set of variables.

trustform {
  outputs {
    env_file = "deployment_outputs.env"
    format   = "portable"
  }
}

variable "aws_account_id" {
  type    = string
  default = "123456789012"
  validation {
    condition     = length(var.aws_account_id) == 12
    error_message = "aws_account_id must be the 12-digit AWS account id."
  }
}

variable "gcp_project_id" {
  default = "litellm-vertex"
}

variable "gcp_project_number" {
  description = "Audiences and principalSets need the project number, not the id."
  default     = "123456789012"
}

variable "namespace" {
  default = "litellm"
}

variable "models" {
  type    = set(string)
  default = ["claude-sonnet", "gemini-2.5-pro", "gpt-4o"]
}

variable "azure_tenant_id" {
  default = "00000000-0000-0000-0000-000000000001"
}

variable "azure_client_secret" {
  description = "Stands in for the Entra ID app secret of seed 000; masked everywhere but the env file."
  type        = string
  sensitive   = true
  default     = "quickstart-placeholder-secret"
}

locals {
  role_name    = "${var.namespace}-gateway"
  role_arn     = "arn:aws:iam::${var.aws_account_id}:role/${local.role_name}"
  assumed_role = "arn:aws:sts::${var.aws_account_id}:assumed-role/${local.role_name}"
  pool_path    = "projects/${var.gcp_project_number}/locations/global/workloadIdentityPools/${trustform_data.pool.output.id}"
}

# AWS: the role the gateway pods assume through EKS Pod Identity (seed 001).
resource "trustform_data" "gateway_role" {
  input = {
    name = local.role_name
    arn  = local.role_arn
    assume_role_policy = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Service = "pods.eks.amazonaws.com" }
        Action    = ["sts:AssumeRole", "sts:TagSession"]
      }]
    })
  }
}

# IAM is eventually consistent: give the new role a moment before it is used.
resource "trustform_sleep" "role_propagation" {
  create_duration = "200ms"
  triggers        = { role = trustform_data.gateway_role.output.arn }
}

resource "trustform_data" "pod_identity" {
  input = {
    cluster_name    = "litellm"
    namespace       = var.namespace
    service_account = "litellm"
    role_arn        = trustform_data.gateway_role.output.arn
  }
  depends_on = [trustform_sleep.role_propagation]
}

# Google: workload identity pool, its AWS provider, the Vertex AI service account (seed 001).
resource "trustform_data" "pool" {
  input = { id = "aws-${var.namespace}" }
}

resource "trustform_data" "pool_provider" {
  input = {
    name              = "${local.pool_path}/providers/aws"
    aws_account_id    = var.aws_account_id
    attribute_mapping = { "google.subject" = "assertion.arn", "attribute.aws_role" = "assertion.arn.extract('assumed-role/{role}/')" }
  }
}

resource "trustform_data" "vertex_sa" {
  input = { email = "${var.namespace}-vertex@${var.gcp_project_id}.iam.gserviceaccount.com" }
}

resource "trustform_data" "workload_identity_user" {
  input = {
    service_account = trustform_data.vertex_sa.output.email
    role            = "roles/iam.workloadIdentityUser"
    member          = "principalSet://iam.googleapis.com/${local.pool_path}/attribute.aws_role/${local.assumed_role}"
  }
}

resource "trustform_data" "model_grant" {
  for_each = var.models
  input = {
    model  = each.key
    member = "serviceAccount:${trustform_data.vertex_sa.output.email}"
    role   = "roles/aiplatform.user"
  }
}

resource "trustform_data" "model_route" {
  for_each = trustform_data.model_grant
  input    = "${each.key} via ${each.value.output.member}"
}

resource "trustform_data" "credential_config" {
  input = jsonencode({
    type                              = "external_account"
    audience                          = "//iam.googleapis.com/${trustform_data.pool_provider.output.name}"
    subject_token_type                = "urn:ietf:params:aws:token-type:aws4_request"
    service_account_impersonation_url = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${trustform_data.vertex_sa.output.email}:generateAccessToken"
    token_url                         = "https://sts.googleapis.com/v1/token"
    credential_source = {
      environment_id = "aws1"
      region_url     = "http://169.254.169.254/latest/meta-data/placement/availability-zone"
      url            = "http://169.254.169.254/latest/meta-data/iam/security-credentials"
    }
  })
  depends_on = [trustform_data.workload_identity_user]
}

# CI: an OIDC provider and a branch-restricted role for the pipeline (seed 002).
resource "trustform_data" "ci_oidc_provider" {
  input = { url = "https://oidc.circleci.com/org/example-org", client_id_list = ["example-org"] }
}

resource "trustform_data" "ci_role" {
  input = {
    name = "${var.namespace}-ci-bedrock"
    condition = {
      "oidc.circleci.com/org/example-org:sub" = "org/example-org/project/*/user/*/vcs-origin/github.com/example/litellm/vcs-ref/refs/heads/main"
    }
    provider = trustform_data.ci_oidc_provider.output.url
  }
}

resource "trustform_data" "ci_bedrock_policy" {
  input = {
    role   = trustform_data.ci_role.output.name
    action = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
  }
}

resource "trustform_data" "ci_check" {
  input = "${trustform_data.ci_role.output.name} may invoke ${length(trustform_data.ci_bedrock_policy.output.action)} Bedrock actions"
}

# Azure: the invoke-only custom role and its assignments (seed 002).
resource "trustform_data" "azure_role" {
  input = {
    name         = "invoke-only"
    data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"]
  }
}

resource "trustform_data" "azure_assignment" {
  count = 2
  input = {
    role      = trustform_data.azure_role.output.name
    principal = format("00000000-0000-0000-0000-%012d", count.index + 2)
  }
}

output "EKS_AWS_ROLE_ARN" {
  value = trustform_data.gateway_role.output.arn
}

output "VERTEX_PROJECT" {
  value = var.gcp_project_id
}

output "VERTEX_LOCATION" {
  value = "us-central1"
}

output "GOOGLE_WORKLOAD_IDENTITY_PROVIDER" {
  value = trustform_data.pool_provider.output.name
}

output "AZURE_TENANT_ID" {
  value = var.azure_tenant_id
}

output "AZURE_CLIENT_ID" {
  value = trustform_data.azure_assignment[0].output.principal
}

output "AZURE_CLIENT_SECRET" {
  value     = var.azure_client_secret
  sensitive = true
}
