# Seed 003 without its one-year token: the gateway's master key, the one secret that cannot be
# keyless, is generated straight into Vault and read by External Secrets Operator, which logs in
# with its own service-account token (Kubernetes auth, checked against this cluster's issuer and
# CA). No Vault token and no copy of the key exists outside Vault and the state: the env file
# carries only where the key is and which role reads it, and `trustform render
# --external-secrets` writes the manifests that sync it into the cluster. The Vault server and
# the token that sets this up come from VAULT_ADDR and VAULT_TOKEN (under --sandbox, the
# sandbox's emulated Vault). The same resources as ../vault-handoff, which deploys them alone.

resource "random_password" "master_key" {
  length  = 48
  special = false
}

resource "vault_mount" "kv" {
  path        = var.vault_kv_mount
  type        = "kv"
  description = "LiteLLM gateway secrets"
  options     = { version = "2" }
}

resource "vault_kv_secret_v2" "gateway" {
  mount     = vault_mount.kv.path
  name      = "gateway"
  data_json = jsonencode({ LITELLM_MASTER_KEY = "sk-${random_password.master_key.result}" })
}

# External Secrets may read the gateway's secret, nothing else (TF1319 checks it).
resource "vault_policy" "eso_read" {
  name   = "litellm-eso-read"
  policy = <<-EOT
    path "${vault_mount.kv.path}/data/${vault_kv_secret_v2.gateway.name}" {
      capabilities = ["read"]
    }
  EOT
}

resource "vault_auth_backend" "kubernetes" {
  type = "kubernetes"
  path = var.vault_auth_path
}

# Vault checks the tokens it is shown against the cluster's own issuer (TF1317) and CA.
resource "vault_kubernetes_auth_backend_config" "eks" {
  backend              = vault_auth_backend.kubernetes.path
  kubernetes_host      = data.aws_eks_cluster.gateway.endpoint
  kubernetes_ca_cert   = base64decode(data.aws_eks_cluster.gateway.certificate_authority[0].data)
  issuer               = data.aws_eks_cluster.gateway.identity[0].oidc[0].issuer
  disable_local_ca_jwt = true
}

# Only External Secrets' own service account, in its own namespace (TF1318 checks it).
resource "vault_kubernetes_auth_backend_role" "external_secrets" {
  backend                          = vault_auth_backend.kubernetes.path
  role_name                        = "external-secrets"
  bound_service_account_names      = [var.eso_service_account]
  bound_service_account_namespaces = [var.eso_namespace]
  token_policies                   = [vault_policy.eso_read.name]
  token_ttl                        = 900
}
