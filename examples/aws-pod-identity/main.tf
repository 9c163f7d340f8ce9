# Seed 001's EKS Pod Identity role for the gateway and seed 002's CircleCI -> Amazon Bedrock role,
# on AWS. Point it at a real account, or at moto + the Trustform sandbox (see README.md).

variable "cluster_name" {
  default = "litellm"
}

variable "namespace" {
  default = "litellm"
}

variable "service_account" {
  default = "litellm"
}

variable "circleci_org_id" {
  description = "The CircleCI organisation id: the OIDC issuer path and the token audience."
  default     = "c5a99188-154f-4f69-8da2-b442b1bf78dd"
}

variable "repository" {
  default = "github.com/BerriAI/litellm"
}

locals {
  circleci_issuer = "oidc.circleci.com/org/${var.circleci_org_id}"
  bedrock_models = [
    "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:*::foundation-model/cohere.command-r-v1:0",
  ]
}

data "aws_caller_identity" "current" {}

data "aws_eks_cluster" "gateway" {
  name = var.cluster_name
}

# EKS Pod Identity (seed 001): the pods of the gateway's service account assume this role.
data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "gateway" {
  name               = "${var.namespace}-gateway"
  description        = "Assumed by the LLM gateway's pods on ${data.aws_eks_cluster.gateway.name}"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_trust.json
  tags = {
    app = "litellm"
  }
}

resource "aws_iam_role_policy" "gateway_bedrock" {
  role = aws_iam_role.gateway.name
  name = "bedrock-invoke"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
      Resource = local.bedrock_models
    }]
  })
}

# The EKS Pod Identity Agent runs on every node and hands pods their association's credentials:
# without it the association exists and the pods get nothing.
resource "aws_eks_addon" "pod_identity_agent" {
  cluster_name = data.aws_eks_cluster.gateway.name
  addon_name   = "eks-pod-identity-agent"
}

resource "aws_eks_pod_identity_association" "gateway" {
  depends_on      = [aws_eks_addon.pod_identity_agent]
  cluster_name    = data.aws_eks_cluster.gateway.name
  namespace       = var.namespace
  service_account = var.service_account
  role_arn        = aws_iam_role.gateway.arn
}

# CircleCI -> Bedrock (seed 002): web identity, main and litellm_* branches only.
resource "aws_iam_openid_connect_provider" "circleci" {
  url            = "https://${local.circleci_issuer}"
  client_id_list = [var.circleci_org_id]
}

resource "aws_iam_role" "circleci_bedrock" {
  name = "litellm-github-unit-tests-circleci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.circleci.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.circleci_issuer}:aud" = var.circleci_org_id }
        "ForAnyValue:StringLike" = {
          "${local.circleci_issuer}:sub" = [
            "org/${var.circleci_org_id}/project/*/user/*/vcs-origin/${var.repository}/vcs-ref/refs/heads/main",
            "org/${var.circleci_org_id}/project/*/user/*/vcs-origin/${var.repository}/vcs-ref/refs/heads/litellm_*",
          ]
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "circleci_bedrock" {
  role = aws_iam_role.circleci_bedrock.name
  name = "bedrock-invoke"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "VisualEditor0"
      Effect   = "Allow"
      Action   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
      Resource = local.bedrock_models
    }]
  })
}

output "EKS_AWS_ROLE_ARN" {
  value = aws_iam_role.gateway.arn
}

output "AWS_ACCOUNT_ID" {
  value = data.aws_caller_identity.current.account_id
}

output "CIRCLECI_BEDROCK_ROLE_ARN" {
  value = aws_iam_role.circleci_bedrock.arn
}

output "POD_IDENTITY_ASSOCIATION_ID" {
  value = aws_eks_pod_identity_association.gateway.association_id
}
