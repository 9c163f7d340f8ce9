# deployment_outputs.env, as seed 000's installer and Helm values read it. AZURE_CLIENT_SECRET is
# deliberately absent: the gateway authenticates to Entra ID with its federated OIDC token.

output "EKS_AWS_ROLE_ARN" {
  description = "The IRSA annotation of the gateway's service account (%%EKS_AWS_ROLE_ARN%% in values-aws.yaml)."
  value       = module.vertex.EKS_AWS_ROLE_ARN
}

output "AWS_REGION_NAME" {
  value = var.aws_region
}

output "VERTEX_PROJECT" {
  description = "The project ID (not the number) litellm's vertex_project takes."
  value       = module.vertex.VERTEX_PROJECT
}

output "VERTEX_LOCATION" {
  value = module.vertex.VERTEX_LOCATION
}

output "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE" {
  value = module.vertex.GOOGLE_WORKLOAD_IDENTITY_AUDIENCE
}

output "GOOGLE_CREDENTIALS_EC2_FILE" {
  value = module.vertex.GOOGLE_CREDENTIALS_EC2_FILE
}

output "GOOGLE_CREDENTIALS_FARGATE_FILE" {
  value = module.vertex.GOOGLE_CREDENTIALS_FARGATE_FILE
}

output "AZURE_TENANT_ID" {
  value = module.azure.AZURE_TENANT_ID
}

output "AZURE_CLIENT_ID" {
  value = module.azure.AZURE_CLIENT_ID
}

output "CIRCLECI_BEDROCK_ROLE_ARN" {
  value = module.ci.CIRCLECI_BEDROCK_ROLE_ARN
}
