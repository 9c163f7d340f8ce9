# Seed 001 end to end: the LLM gateway on EKS calls Vertex AI with no key file. Its pods assume
# an IAM role through EKS Pod Identity; Google trusts the AWS account through a workload identity
# pool, and the role's sessions may impersonate a service account that holds
# roles/aiplatform.user. The external_account credential JSON is written for EC2 nodes and for
# EKS Fargate (whose credentials come from 169.254.170.2, with no IMDSv2 token).

provider "aws" {
  region = var.aws_region
}

provider "google" {
  project = var.gcp_project
}

data "aws_caller_identity" "current" {}

data "aws_eks_cluster" "gateway" {
  name = var.cluster_name
}

data "google_project" "vertex" {
  project_id = var.gcp_project
}

locals {
  eks_issuer      = data.aws_eks_cluster.gateway.identity[0].oidc[0].issuer
  eks_issuer_host = trimprefix(local.eks_issuer, "https://")
  gateway_subject = "system:serviceaccount:${var.namespace}:${var.service_account}"
  # Where the credential configurations are written: this directory, or the caller's.
  credentials_dir = coalesce(var.credentials_dir, path.module)
}

# AWS: the role the gateway's pods assume, and the association that hands it to their service
# account. With irsa = true the role also trusts the cluster's service account tokens (the
# eks.amazonaws.com/role-arn annotation, which the AWS SDK uses for Bedrock).
resource "aws_iam_openid_connect_provider" "eks" {
  count          = var.irsa ? 1 : 0
  url            = local.eks_issuer
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
  dynamic "statement" {
    for_each = aws_iam_openid_connect_provider.eks
    content {
      sid     = "Irsa"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [statement.value.arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.eks_issuer_host}:sub"
        values   = [local.gateway_subject]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.eks_issuer_host}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "gateway" {
  name               = var.role_name
  description        = "Assumed by the LLM gateway's pods on ${data.aws_eks_cluster.gateway.name}; impersonates ${var.gcp_service_account_id} on Google Cloud"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_trust.json
  tags = {
    app = "litellm"
  }
}

# With bedrock_model_arns, the role may also invoke those Bedrock models.
data "aws_iam_policy_document" "bedrock_invoke" {
  statement {
    sid       = "InvokeListedModels"
    effect    = "Allow"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = length(var.bedrock_model_arns) > 0 ? var.bedrock_model_arns : ["*"]
  }
}

resource "aws_iam_role_policy" "gateway_bedrock" {
  count  = length(var.bedrock_model_arns) > 0 ? 1 : 0
  role   = aws_iam_role.gateway.name
  name   = "bedrock-invoke"
  policy = data.aws_iam_policy_document.bedrock_invoke.json
}

resource "aws_eks_pod_identity_association" "gateway" {
  cluster_name    = data.aws_eks_cluster.gateway.name
  namespace       = var.namespace
  service_account = var.service_account
  role_arn        = aws_iam_role.gateway.arn
}

# Google: the APIs the federation and the gateway call, enabled before anything uses them. A
# fresh project refuses the pool, the token exchange and Vertex AI until they are. They stay
# enabled on destroy (disable_on_destroy defaults to false): other workloads may use them.
resource "google_project_service" "required" {
  for_each = toset(["iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com", "aiplatform.googleapis.com"])
  project  = var.gcp_project
  service  = each.value
}

# The service account the role impersonates, allowed to call Vertex AI.
resource "google_service_account" "gateway" {
  depends_on   = [google_project_service.required]
  project      = var.gcp_project
  account_id   = var.gcp_service_account_id
  display_name = "LiteLLM gateway (AWS workload identity federation)"
}

resource "google_project_iam_member" "vertex_user" {
  project = var.gcp_project
  role    = "roles/aiplatform.user"
  member  = google_service_account.gateway.member
}

# The pool trusts the AWS account. Google's default AWS attribute mapping is kept: it gives
# attribute.aws_role the session's arn:aws:sts::ACCOUNT:assumed-role/ROLE form.
resource "google_iam_workload_identity_pool" "aws" {
  depends_on                = [google_project_service.required]
  project                   = var.gcp_project
  workload_identity_pool_id = var.pool_id
  display_name              = "AWS"
  description               = "AWS account ${data.aws_caller_identity.current.account_id}"
}

resource "google_iam_workload_identity_pool_provider" "aws" {
  project                            = var.gcp_project
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = var.pool_provider_id
  display_name                       = "AWS account"
  aws {
    account_id = data.aws_caller_identity.current.account_id
  }
}

# Only sessions of the gateway's role may impersonate the service account. The principalSet
# names the project by number and the role in its assumed-role form.
resource "google_service_account_iam_member" "workload_identity_user" {
  service_account_id = google_service_account.gateway.name
  role               = "roles/iam.workloadIdentityUser"
  member = join("/", [
    "principalSet://iam.googleapis.com/projects/${data.google_project.vertex.number}/locations/global",
    "workloadIdentityPools/${google_iam_workload_identity_pool.aws.workload_identity_pool_id}",
    "attribute.aws_role/arn:aws:sts::${data.aws_caller_identity.current.account_id}:assumed-role/${aws_iam_role.gateway.name}",
  ])
}

# The credential configuration the Google client libraries read through
# GOOGLE_APPLICATION_CREDENTIALS: one for EC2 nodes, one for Fargate pods.
resource "google_credential_config" "ec2" {
  path                       = "${local.credentials_dir}/gcp_aws_external_account.json"
  environment                = "ec2"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.gateway.email
}

resource "google_credential_config" "eks_fargate" {
  path                       = "${local.credentials_dir}/gcp_aws_external_account.fargate.json"
  environment                = "eks_fargate"
  workload_identity_provider = google_iam_workload_identity_pool_provider.aws.name
  service_account_email      = google_service_account.gateway.email
}
