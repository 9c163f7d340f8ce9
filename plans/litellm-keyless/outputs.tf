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

output "AZURE_FEDERATED_TOKEN_FILE" {
  value = module.azure.AZURE_FEDERATED_TOKEN_FILE
}

output "AZURE_TOKEN_AUDIENCE" {
  value = module.azure.AZURE_TOKEN_AUDIENCE
}

output "AZURE_AUTHORITY_HOST" {
  value = module.azure.AZURE_AUTHORITY_HOST
}

# Seed 004: what the gateway's JWT auth reads (litellm-jwtauth.yaml.tpl of
# ../azure-openai-invoke-only renders it from these), the roles empty unless the identity is an
# application with app roles.
output "JWT_PUBLIC_KEY_URL" {
  value = module.azure.JWT_PUBLIC_KEY_URL
}

output "LITELLM_JWT_ALLOWED_ROLES" {
  value = module.azure.LITELLM_JWT_ALLOWED_ROLES
}

output "LITELLM_JWT_MODELS" {
  value = module.azure.LITELLM_JWT_MODELS
}

output "CIRCLECI_BEDROCK_ROLE_ARN" {
  value = module.ci.CIRCLECI_BEDROCK_ROLE_ARN
}

# Where the master key is and who may read it: never the key itself (TF1320 checks it).
output "LITELLM_MASTER_KEY_VAULT_PATH" {
  value = module.vault.LITELLM_MASTER_KEY_VAULT_PATH
}

output "VAULT_KUBERNETES_ROLE" {
  value = module.vault.VAULT_KUBERNETES_ROLE
}

output "VAULT_KUBERNETES_AUTH_PATH" {
  value = module.vault.VAULT_KUBERNETES_AUTH_PATH
}
