# litellm's model list takes these as aws_role_name and aws_region_name.

output "CIRCLECI_BEDROCK_ROLE_ARN" {
  value = aws_iam_role.circleci_bedrock.arn
}

output "GITHUB_BEDROCK_ROLE_ARN" {
  value = aws_iam_role.github_bedrock.arn
}

output "AWS_REGION_NAME" {
  value = var.aws_region
}
