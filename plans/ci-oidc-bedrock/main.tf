# Seed 002: CI pipelines call Amazon Bedrock with their own OIDC tokens, never with an IAM
# user's keys. Each CI system gets an OIDC provider in IAM and a role it may assume by web
# identity, only from the listed branches, allowed to invoke the listed models and nothing else.

provider "aws" {
  region = var.aws_region
}

locals {
  circleci_issuer = "oidc.circleci.com/org/${var.circleci_org_id}"
  github_issuer   = "token.actions.githubusercontent.com"
}

data "aws_iam_policy_document" "bedrock_invoke" {
  statement {
    sid       = "InvokeListedModels"
    effect    = "Allow"
    actions   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = var.bedrock_model_arns
  }
}

# CircleCI v2 (litellm's oidc/circleci_v2/): the audience is the organisation id.
resource "aws_iam_openid_connect_provider" "circleci" {
  url            = "https://${local.circleci_issuer}"
  client_id_list = [var.circleci_org_id]
}

resource "aws_iam_role" "circleci_bedrock" {
  name        = "litellm-circleci-bedrock"
  description = "CircleCI pipelines of ${var.circleci_vcs_origin} on ${join(", ", var.circleci_branches)} invoke Bedrock"
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
            for branch in var.circleci_branches :
            "org/${var.circleci_org_id}/project/*/user/*/vcs-origin/${var.circleci_vcs_origin}/vcs-ref/refs/heads/${branch}"
          ]
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "circleci_bedrock" {
  role   = aws_iam_role.circleci_bedrock.name
  name   = "bedrock-invoke"
  policy = data.aws_iam_policy_document.bedrock_invoke.json
}

# GitHub Actions (litellm's oidc/github/AUDIENCE): the audience is sts.amazonaws.com, the
# subject names the repository and the ref.
resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://${local.github_issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "github_bedrock" {
  name        = "litellm-github-actions-bedrock"
  description = "GitHub Actions workflows of ${var.github_repository} on ${join(", ", var.github_branches)} invoke Bedrock"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.github.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.github_issuer}:aud" = "sts.amazonaws.com" }
        StringLike = {
          "${local.github_issuer}:sub" = [for branch in var.github_branches : "repo:${var.github_repository}:ref:refs/heads/${branch}"]
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "github_bedrock" {
  role   = aws_iam_role.github_bedrock.name
  name   = "bedrock-invoke"
  policy = data.aws_iam_policy_document.bedrock_invoke.json
}
