# CI (seed 002): the gateway's CircleCI pipelines run its tests against Bedrock by web identity,
# from the listed branches only.

locals {
  circleci_issuer = "oidc.circleci.com/org/${var.circleci_org_id}"
}

resource "aws_iam_openid_connect_provider" "circleci" {
  url            = "https://${local.circleci_issuer}"
  client_id_list = [var.circleci_org_id]
}

resource "aws_iam_role" "circleci_bedrock" {
  name = "litellm-circleci-bedrock"
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
