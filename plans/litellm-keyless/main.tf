# Seeds 000, 001 and 002 for one LLM gateway, composed of the other shipped plans as modules,
# each configuring its own providers (Terraform allows that for a module called once, without
# count, for_each or depends_on):
#
# * ../aws-to-vertex: the gateway's role, usable by EKS Pod Identity (the container credentials
#   Google's external_account reads for Vertex AI) and, with irsa = true, by IRSA (the
#   eks.amazonaws.com/role-arn annotation of seed 000's Helm values, which the AWS SDK uses for
#   Bedrock), allowed to invoke the listed Bedrock models; the Google service account, workload
#   identity pool and provider, and both credential configurations, written here;
# * ../ci-oidc-bedrock: CircleCI and GitHub Actions pipelines invoke Bedrock by web identity;
# * ../azure-openai-invoke-only: the gateway's Azure identity (a managed identity, or an Entra ID
#   application), trusting the cluster's service account token through a federated credential,
#   and the invoke-only custom role assigned to it (keyless: no client secret);
# * ../vault-handoff: the master key, the one secret that cannot be keyless, generated straight
#   into Vault and read by External Secrets over Kubernetes auth (seed 003 without its token).

module "vertex" {
  source = "../aws-to-vertex"

  aws_region             = var.aws_region
  cluster_name           = var.cluster_name
  namespace              = var.namespace
  service_account        = var.service_account
  role_name              = var.gateway_role_name
  gcp_project            = var.gcp_project
  vertex_location        = var.vertex_location
  gcp_service_account_id = "litellm-gateway"
  pool_id                = "litellm-aws"
  pool_provider_id       = "aws-account"
  irsa                   = true
  bedrock_model_arns     = var.bedrock_model_arns
  credentials_dir        = path.module
}

module "ci" {
  source = "../ci-oidc-bedrock"

  aws_region          = var.aws_region
  circleci_org_id     = var.circleci_org_id
  circleci_vcs_origin = var.circleci_vcs_origin
  circleci_branches   = var.circleci_branches
  github_repository   = var.github_repository
  bedrock_model_arns  = var.bedrock_model_arns
}

module "azure" {
  source = "../azure-openai-invoke-only"

  subscription_id = var.azure_subscription_id
  resource_group  = var.azure_resource_group
  location        = var.azure_location
  identity_kind   = var.azure_identity_kind
  gateway_roles   = var.gateway_roles
  gateway_models  = var.gateway_models
  aws_region      = var.aws_region
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = var.service_account
  role_name       = "litellm-invoke-only"
}

module "vault" {
  source = "../vault-handoff"

  aws_region          = var.aws_region
  cluster_name        = var.cluster_name
  kv_mount            = var.vault_kv_mount
  auth_path           = var.vault_auth_path
  eso_namespace       = var.eso_namespace
  eso_service_account = var.eso_service_account
}
