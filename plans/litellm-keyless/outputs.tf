# deployment_outputs.env, as seed 000's installer and Helm values read it. AZURE_CLIENT_SECRET is
# deliberately absent: the gateway authenticates to Entra ID with its federated OIDC token.

output "EKS_AWS_ROLE_ARN" {
  description = "The IRSA annotation of the gateway's service account (%%EKS_AWS_ROLE_ARN%% in values-aws.yaml)."
  value       = aws_iam_role.gateway.arn
}

output "AWS_REGION_NAME" {
  value = var.aws_region
}

output "VERTEX_PROJECT" {
  description = "The project ID (not the number) litellm's vertex_project takes."
  value       = data.google_project.vertex.project_id
}

output "VERTEX_LOCATION" {
  value = var.vertex_location
}

output "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE" {
  value = google_credential_config.ec2.audience
}

output "GOOGLE_CREDENTIALS_EC2_FILE" {
  value = google_credential_config.ec2.path
}

output "GOOGLE_CREDENTIALS_FARGATE_FILE" {
  value = google_credential_config.eks_fargate.path
}

output "AZURE_TENANT_ID" {
  value = data.azurerm_client_config.current.tenant_id
}

output "AZURE_CLIENT_ID" {
  value = var.azure_client_id
}

output "CIRCLECI_BEDROCK_ROLE_ARN" {
  value = aws_iam_role.circleci_bedrock.arn
}

# Where the master key is and who may read it: never the key itself (TF1320 checks it).
output "LITELLM_MASTER_KEY_VAULT_PATH" {
  value = vault_kv_secret_v2.gateway.path
}

output "VAULT_KUBERNETES_ROLE" {
  value = vault_kubernetes_auth_backend_role.external_secrets.role_name
}

output "VAULT_KUBERNETES_AUTH_PATH" {
  value = vault_auth_backend.kubernetes.path
}
