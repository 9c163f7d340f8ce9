# AWS: the gateway's role. Its pods get it two ways, both keyless: EKS Pod Identity (the
# container credentials at 169.254.170.2 that Google's external_account reads for Vertex AI)
# and IRSA (the eks.amazonaws.com/role-arn annotation seed 000's Helm values set, which the AWS
# SDK uses for Bedrock). It may invoke the listed Bedrock models.

provider "aws" {
  region = var.aws_region
}

data "aws_caller_identity" "current" {}

data "aws_eks_cluster" "gateway" {
  name = var.cluster_name
}

locals {
  eks_issuer         = data.aws_eks_cluster.gateway.identity[0].oidc[0].issuer
  eks_issuer_host    = trimprefix(local.eks_issuer, "https://")
  gateway_subject    = "system:serviceaccount:${var.namespace}:${var.service_account}"
  assumed_role_of_gw = "arn:aws:sts::${data.aws_caller_identity.current.account_id}:assumed-role/${aws_iam_role.gateway.name}"
}

# The cluster's service account tokens, trusted by IAM for IRSA.
resource "aws_iam_openid_connect_provider" "eks" {
  url            = local.eks_issuer
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "gateway" {
  name        = var.gateway_role_name
  description = "The LLM gateway's pods on ${data.aws_eks_cluster.gateway.name} (${local.gateway_subject})"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EksPodIdentity"
        Effect    = "Allow"
        Principal = { Service = "pods.eks.amazonaws.com" }
        Action    = ["sts:AssumeRole", "sts:TagSession"]
      },
      {
        Sid       = "Irsa"
        Effect    = "Allow"
        Principal = { Federated = aws_iam_openid_connect_provider.eks.arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.eks_issuer_host}:sub" = local.gateway_subject
            "${local.eks_issuer_host}:aud" = "sts.amazonaws.com"
          }
        }
      },
    ]
  })
  tags = {
    app = "litellm"
  }
}

data "aws_iam_policy_document" "bedrock_invoke" {
  statement {
    sid       = "InvokeListedModels"
    effect    = "Allow"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = var.bedrock_model_arns
  }
}

resource "aws_iam_role_policy" "gateway_bedrock" {
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
