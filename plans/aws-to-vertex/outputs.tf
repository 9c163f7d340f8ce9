# What the gateway's Helm chart and its model list need. Written to deployment_outputs.env.

output "VERTEX_PROJECT" {
  description = "The project ID litellm's vertex_project takes."
  value       = data.google_project.vertex.project_id
}

output "VERTEX_LOCATION" {
  value = var.vertex_location
}

output "EKS_AWS_ROLE_ARN" {
  value = aws_iam_role.gateway.arn
}

output "GCP_SERVICE_ACCOUNT_EMAIL" {
  value = google_service_account.gateway.email
}

output "GOOGLE_WORKLOAD_IDENTITY_AUDIENCE" {
  value = google_credential_config.ec2.audience
}

output "GOOGLE_CREDENTIALS_EC2_FILE" {
  description = "Mount it in the pod and point GOOGLE_APPLICATION_CREDENTIALS at it (EC2 node groups)."
  value       = google_credential_config.ec2.path
}

output "GOOGLE_CREDENTIALS_FARGATE_FILE" {
  description = "The same for Fargate profiles."
  value       = google_credential_config.eks_fargate.path
}
